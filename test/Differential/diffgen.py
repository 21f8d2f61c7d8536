#!/usr/bin/env python3
"""Differential testing of the glu compiler: seeded random cases.

Every case is drawn from one integer seed: the op (glu.ffn, glu.mlp,
glu.gate_up, glu.gate), the activation (every one, with a random swish β or
clamped SwiGLU α/limit), the element types (f32/f16/bf16, weights of another
type, acc_type), the layout, separate or merged gate/up weights and their
packing, which biases are present, the shapes (1, primes such as 7, 37, 129,
powers of two; 0 to 3 batch dims, i.e. rank 1 to 4) and which dims are
dynamic; then a pipeline from PIPELINES with its options (random tile sizes).
The case is built, run and checked by test/Execution/run_cases.py's own
machinery (the same .npy operands, swiglu-run, the independent float64 numpy
reference of python/swiglu/reference.py and the same per-element error
bound): nothing of it is copied here.

  diffgen.py --seed S --cases N [--pipeline NAME ...] [--workdir DIR]

runs the cases with seeds S, S+1, ..., S+N-1. Each line names the case's
seed and the command that replays exactly that case:

  PASS seed=<s> pipeline=<p> <case> worst=<w> time=<t>s
  FAIL seed=<s> pipeline=<p> <case> <why>
       replay: <command>

followed by `ALL <n> CASES PASSED` or `<k> OF <n> CASES FAILED; failing
seeds: ...` (exit code 1). A failing case keeps its files (case.mlir,
case.opt.mlir, the .npy operands and command.sh) in <workdir>/<case>/.

The pipeline is drawn from its own random stream after the case, so adding
a pipeline to PIPELINES does not change the cases of existing seeds (only
which pipeline a seed draws when --pipeline is not given), and a pipeline's
options depend only on the seed and the pipeline's name: `--seed S --cases 1
--pipeline P` always rebuilds the same case through the same passes.
"""

import argparse
import os
import random
import sys
import tempfile
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "python"))
sys.path.insert(0, os.path.join(ROOT, "test", "Execution"))

import run_cases as rc  # noqa: E402  (the execution tests' driver)

# ---------------------------------------------------------------------------
# Pipelines: name -> function(rng) returning either the list of swiglu-opt
# arguments applied before swiglu-run (run_cases.py's --passes: a packing
# function that the passes emit is run first, on the original weights), or
# a dict {"passes": [...], "runner": [...]} whose "runner" arguments are
# given to every swiglu-run call (run_cases.RUNNER_ARGS, e.g. swiglu-run's
# --pipeline). To add a pipeline, add a line.
# ---------------------------------------------------------------------------


def _tile(rng):
    return rng.choice([1, 2, 3, 5, 8, 64])


def _chunk(rng):
    return rng.choice([1, 7, 16, 32, 37, 256])


PIPELINES = {
    # The reference lowering only (swiglu-run's --glu-cpu-reference-pipeline).
    "reference": lambda rng: [],
    "fuse-activation": lambda rng: [
        "--glu-fuse-activation=tile-tokens=%d tile-ff=%d" % (_tile(rng),
                                                             _chunk(rng))],
    "fuse-ffn": lambda rng: [
        "--glu-fuse-ffn=tile-tokens=%d chunk-ff=%d" % (_tile(rng), _chunk(rng))],
    # raise, merge-gate-up (+ the packing function), fuse-ffn,
    # fuse-activation, canonicalize.
    "fuse": lambda rng: [
        "--glu-fuse=tile-tokens=%d chunk-ff=%d packing=%s" % (
            _tile(rng), _chunk(rng), rng.choice(rc.PACKINGS))],
    # The reference lowering raised back (glu-raise, first pass of glu-fuse)
    # and fused: glu-raise must recognize every variant it lowers to.
    "lower-raise-fuse": lambda rng: [
        "--convert-glu-to-linalg",
        "--glu-fuse=tile-tokens=%d chunk-ff=%d packing=%s" % (
            _tile(rng), _chunk(rng), rng.choice(rc.PACKINGS))],
    # The fast CPU pipeline: kernels with random tiles, weights packed at
    # load time by @case_pack_weights (run_cases runs it first) ...
    "cpu": lambda rng: {
        "passes": ["--convert-glu-to-cpu-kernels=%s" % _cpu_options(rng)],
        "runner": ["--pipeline=glu-cpu-pipeline"]},
    # ... or on every call, through swiglu-run's pipeline alone.
    "cpu-per-call": lambda rng: {
        "runner": ["--pipeline=glu-cpu-pipeline{pack-at-load=false %s}"
                   % _cpu_options(rng)]},
}


def _cpu_options(rng):
    mr = rng.choice([1, 2, 3, 6, 8])
    return "vector-bits=%d micro-rows=%d k-chunk=%d tile-tokens=%d threads=%d" % (
        rng.choice([512, 512, 256, 128]), mr, rng.choice([1, 2, 7, 64, 512]),
        mr * rng.choice([1, 2, 5, 16]), rng.choice([1, 2, 3]))

# ---------------------------------------------------------------------------
# Case generation
# ---------------------------------------------------------------------------

OPS = ["ffn", "ffn", "ffn", "mlp", "gate_up", "gate"]  # ffn drawn most often
SIZES = [1, 2, 3, 7, 8, 16, 37, 64, 129]
BATCH_SIZES = [1, 2, 3, 5, 7, 37]
BETAS = [1.0, 0.5, 1.5, 2.0, 0.25, -1.0]
ALPHAS = [1.702, 1.0, 0.5, 3.0]
LIMITS = [7.0, 3.0, 1.0, 0.5, 20.0]
MAX_TOKENS = 160  # keeps a case well under a second of work


def _activation(rng, op):
    acts = [a for a in rc.ref.ACTIVATIONS
            if not (op == "mlp" and a == "clamped_swiglu")]
    act = rng.choice(acts)
    attrs = {}
    if act == "swish" and rng.random() < 0.7:
        attrs["beta"] = rng.choice(BETAS)
    if act == "clamped_swiglu":
        if rng.random() < 0.6:
            attrs["alpha"] = rng.choice(ALPHAS)
        if rng.random() < 0.6:
            attrs["limit"] = rng.choice(LIMITS)
    return act, attrs


def _types(rng):
    dtype = rng.choice(rc.DTYPES)
    wdtype = rng.choice(rc.DTYPES) if rng.random() < 0.3 else None
    if wdtype == dtype:
        wdtype = None
    accs = [None, None, "f32", "f64"]
    if dtype != "f32" and wdtype is None:
        accs.append(dtype)  # acc_type = the element type (all operands)
    return dtype, wdtype, rng.choice(accs)


def _batch(rng):
    rank = rng.choice([0, 1, 1, 1, 2, 2, 3])  # batch dims: rank 1 to 4
    while True:
        batch = tuple(rng.choice(BATCH_SIZES) for _ in range(rank))
        tokens = 1
        for b in batch:
            tokens *= b
        if tokens <= MAX_TOKENS:
            return batch


def draw_case(seed):
    """The rc.Case of a seed (deterministic)."""
    rng = random.Random(seed)
    op = rng.choice(OPS)
    act, attrs = _activation(rng, op)
    dtype, wdtype, acc = _types(rng)
    desc = [op, act] + ["%s%g" % (k[0], v) for k, v in sorted(attrs.items())]
    desc += [dtype] + (["w" + wdtype] if wdtype else []) + (
        ["acc" + acc] if acc else [])
    kw = dict(attrs=attrs, dtype=dtype, wdtype=wdtype, acc_type=acc)
    if op == "gate":
        rank = rng.randint(1, 4)
        shape = tuple(rng.choice(BATCH_SIZES) for _ in range(rank))
        while _prod(shape) > 4 * MAX_TOKENS:
            shape = shape[1:]
        dyn = tuple(i for i in range(len(shape)) if rng.random() < 0.4)
        kw.update(gate_shape=shape, gate_dyn=dyn)
        desc.append("x".join(("?" if i in dyn else str(d))
                             for i, d in enumerate(shape)))
    else:
        layout = rng.choice(rc.LAYOUTS)
        packing = None
        if op == "gate_up":
            packing = rng.choice(rc.PACKINGS)
        elif op == "ffn" and rng.random() < 0.5:
            packing = rng.choice(rc.PACKINGS)
        batch = _batch(rng)
        d_model, d_ff = rng.choice(SIZES), rng.choice(SIZES)
        d_out = rng.choice(SIZES) if (op in ("ffn", "mlp")
                                       and rng.random() < 0.3) else None
        every = rc.all_biases(op, packing)
        mode = rng.choice(["none", "all", "some"])
        if mode == "all":
            biases = every
        elif mode == "some":
            biases = tuple(b for b in every if rng.random() < 0.5)
        else:
            biases = ()
        dyn = rng.choice(["none", "batch", "batch", "all", "mixed"])
        wdyn = rng.random() < 0.2
        kw.update(layout=layout, packing=packing, biases=biases, batch=batch,
                  d_model=d_model, d_ff=d_ff, d_out=d_out, dyn=dyn, wdyn=wdyn,
                  print_defaults=rng.random() < 0.2,
                  pre_std=rng.choice([1.0, 3.0, 3.0, 6.0]))
        desc += [layout, packing or "separate",
                 "b" + ("".join(b[0] if b != "gate_up_bias" else "m"
                                for b in biases) or "-"),
                 "x".join(map(str, batch)) or "rank1",
                 "d%df%d" % (d_model, d_ff) + ("o%d" % d_out if d_out else ""),
                 "dyn-" + dyn + ("-w" if wdyn else "")]
    name = "diff.%d.%s" % (seed, ".".join(desc))
    return rc.Case(name, op, act, **kw)


def _prod(shape):
    p = 1
    for d in shape:
        p *= d
    return p


def draw_pipeline(seed, names):
    """(pipeline name, swiglu-opt arguments, swiglu-run arguments) of a seed:
    the name from `names` (a stream of its own), the options from the seed
    and that name."""
    name = random.Random("pipeline-%d" % seed).choice(sorted(names))
    opts = PIPELINES[name](random.Random(zlib.crc32(
        ("%d/%s" % (seed, name)).encode())))
    if isinstance(opts, dict):
        return name, list(opts.get("passes", [])), list(opts.get("runner", []))
    return name, list(opts), []


def set_runner_args(args):
    """Makes run_cases give `args` to every swiglu-run call."""
    if hasattr(rc, "RUNNER_ARGS"):
        rc.RUNNER_ARGS[:] = args
    elif args:
        raise RuntimeError("this run_cases.py cannot pass swiglu-run "
                           "arguments (no RUNNER_ARGS): %s" % " ".join(args))


# ---------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------


def default_runner():
    """swiglu-run from PATH (lit puts the build's tools there), else the
    build/ of this checkout."""
    import shutil
    found = shutil.which("swiglu-run")
    if found:
        return found
    built = os.path.join(ROOT, "build", "bin", "swiglu-run")
    return built if os.path.exists(built) else None


def replay_command(seed, pipeline, runner):
    cmd = "%s %s --seed %d --cases 1 --pipeline %s" % (
        sys.executable, os.path.abspath(__file__), seed, pipeline)
    return cmd + " --swiglu-run %s" % os.path.abspath(runner)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=None,
                    help="seed of the first case (default: random)")
    ap.add_argument("--cases", type=int, default=20,
                    help="number of cases (seeds S .. S+N-1)")
    ap.add_argument("--pipeline", action="append", default=[],
                    choices=sorted(PIPELINES),
                    help="draw the pipeline only from these (repeatable; "
                         "default: all of %s)" % ", ".join(PIPELINES))
    ap.add_argument("--workdir", default=None,
                    help="directory for the cases' files (default: a "
                         "temporary one, kept if a case fails)")
    ap.add_argument("--swiglu-run", default=None,
                    help="swiglu-run to use (default: build/bin, else PATH); "
                         "swiglu-opt is taken from the same directory")
    ap.add_argument("--time-limit", type=float, default=None,
                    help="stop starting new cases after this many seconds")
    ap.add_argument("--timeout", type=int, default=300,
                    help="seconds per tool call")
    ap.add_argument("--print-mlir", action="store_true",
                    help="only print the cases' MLIR and pipelines")
    args = ap.parse_args(argv)
    if args.cases < 1:
        ap.error("--cases must be at least 1")
    seed0 = args.seed if args.seed is not None else random.SystemRandom(
    ).randrange(2 ** 31)
    names = args.pipeline or list(PIPELINES)

    if args.print_mlir:
        for s in range(seed0, seed0 + args.cases):
            case = draw_case(s)
            pname, opts, rargs = draw_pipeline(s, names)
            print("// seed=%d pipeline=%s %s" % (s, pname, " ".join(
                opts + ["(swiglu-run %s)" % " ".join(rargs)] if rargs else opts)))
            print(rc.build_mlir(case, rc.build_operands(case)))
        return 0

    runner = args.swiglu_run
    if runner and os.sep not in runner:  # a command name: resolve it
        import shutil
        runner = shutil.which(runner) or runner
    runner = rc.find_runner(runner or default_runner())
    workdir = args.workdir or tempfile.mkdtemp(prefix="glu-diff-")
    os.makedirs(workdir, exist_ok=True)
    print("# diffgen: seeds %d..%d, pipelines %s; swiglu-run %s; workdir %s"
          % (seed0, seed0 + args.cases - 1, ",".join(sorted(names)), runner,
             workdir), flush=True)
    t0 = time.time()
    failed, run = [], 0
    for s in range(seed0, seed0 + args.cases):
        if args.time_limit is not None and time.time() - t0 > args.time_limit:
            break
        case = draw_case(s)
        pname, opts, rargs = draw_pipeline(s, names)
        t1 = time.time()
        try:
            set_runner_args(rargs)
            ok, lines = rc.run_case(case, runner, workdir, False, args.timeout,
                                    False, opts)
        except Exception as e:  # a generator or reference bug: report it
            ok, lines = False, ["FAIL %s python exception %s: %s" % (
                case.name, type(e).__name__, e)]
        run += 1
        first = lines[0].split(" ", 2)  # PASS|FAIL <name> <rest>
        rest = first[2] if len(first) > 2 else ""
        if ok:
            worst = rest.split("worst=")[1].split()[0] if "worst=" in rest \
                else "?"
            print("PASS seed=%d pipeline=%s %s worst=%s time=%.2fs" % (
                s, pname, case.name, worst, time.time() - t1), flush=True)
        else:
            failed.append(s)
            print("FAIL seed=%d pipeline=%s %s %s" % (s, pname, case.name,
                                                      rest), flush=True)
            print("     passes: %s" % (" ".join(repr(o) for o in opts)
                                       or "(none)"))
            if rargs:
                print("     swiglu-run arguments: %s" % " ".join(rargs))
            print("     files: %s" % os.path.join(workdir, case.name))
        print("     replay: %s" % replay_command(s, pname, runner),
              flush=True)
    dt = time.time() - t0
    if failed:
        print("%d OF %d CASES FAILED (%.1fs); failing seeds: %s" % (
            len(failed), run, dt, " ".join(map(str, failed))))
        return 1
    if not args.workdir:
        import shutil
        shutil.rmtree(workdir, ignore_errors=True)
    print("ALL %d CASES PASSED (%.1fs)" % (run, dt))
    return 0


if __name__ == "__main__":
    sys.exit(main())
