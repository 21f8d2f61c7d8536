"""swiglu-tune: measure the CPU kernels' tile configurations for a block on
this machine and keep the fastest in a tuning cache that --glu-cpu-pipeline
reads (its option `tuning-cache=<file>`).

    python -m swiglu.tune --d-model 1024 --d-ff 2816 [--dtype f32] ...

A configuration is (micro-rows, micro-vectors, k-chunk, tile-tokens): the
register tile MR x NR (NR = micro-vectors vectors), the K chunk that stays
in L2 while a token block reuses it, and the tokens of a block whose hidden
stays in a worker's cache. The search is staged, a handful of compilations
in all: the register tiles that fit the target's registers (with the
defaults for the rest), then k-chunk around the best, then tile-tokens.
Every candidate is compiled and its weights packed once; the timed calls
then go round the candidates in several passes (a noisy neighbour slows
them alike) and each gets the median of its calls. The winner meets the
defaults once more, side by side, and is kept only if it is more than 2 %
faster (else the entry records the defaults): a cache does not make a block
slower than no cache on the machine it was tuned on.

The cache (default ~/.cache/swiglu/tuning.json, or $SWIGLU_TUNING_CACHE) is
JSON keyed by `<cpu>/v<vector bits>|<op>|<x type>x<weight type>|<d_model>x<d_ff>`
(lib/Conversion/GLUToCPU/TuningCache.h): the pipeline looks an op up by its
own CPU, types and shape; without an entry the defaults apply, so compiled
code is a function of the cache's content. `FFNSpec.compile()` passes
$SWIGLU_TUNING_CACHE when it is set; swiglu-compile and the C API take
`tuning-cache=<file>` among the pipeline options.
"""

import argparse
import datetime
import json
import os
import statistics
import sys
import time

import numpy as np

from . import _capi
from ._files import write_json
from .ffn import FFNSpec, numpy_dtype

DEFAULT = {"micro-rows": 6, "micro-vectors": None, "k-chunk": 512,
           "tile-tokens": 96}


def default_cache_path():
    return os.environ.get("SWIGLU_TUNING_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")),
        "swiglu", "tuning.json")


def register_tiles(vector_bits):
    """(micro-rows, micro-vectors) that fit the registers: MR x NR
    accumulators + NR weight vectors + one broadcast within 32 registers
    (AVX-512) or 16 (AVX2, SSE). NR even: a gate/up panel is half gate, half
    up."""
    if vector_bits == 512:
        # 24 + 4 + 1, 24 + 6 + 1, 16 + 2 + 1 (fewer weight loads per FMA
        # than broadcasts), 16 + 4 + 1 (more room: no spills around the
        # epilogue).
        return [(6, 4), (4, 6), (8, 2), (4, 4)]
    return [(6, 2), (4, 2), (3, 4), (2, 4)]


def key_of(target, spec):
    op = "ffn" if spec.gated else "mlp"
    return "%s|%s|%sx%s|%dx%d" % (target["tuning_key"], op, spec.dtype,
                                  spec.weight_dtype or spec.dtype,
                                  spec.d_model, spec.d_ff)


def load_cache(path):
    if not os.path.exists(path):
        return {"version": 1, "entries": {}}
    with open(path) as f:
        cache = json.load(f)
    if cache.get("version") != 1 or not isinstance(cache.get("entries"), dict):
        raise _capi.SwigluError("%s is not a tuning cache (version 1)" % path)
    return cache


def save_cache(path, cache):
    """Written to a temporary file in the same directory, then renamed: a
    failed run leaves the old cache whole."""
    write_json(path, cache, ".tuning-")


class Candidate:
    def __init__(self, spec, config, base_options, weights):
        self.config = config
        options = " ".join([base_options] + ["%s=%d" % kv for kv in config.items()])
        self.fn = spec.compile(options=options.strip()).bind(**weights)
        self.times = []

    def name(self):
        return " ".join("%s=%d" % kv for kv in self.config.items())


def measure(candidates, x, budget_s, passes=5):
    """Median seconds a call of each candidate, the calls spread over
    `passes` rounds over all candidates."""
    for c in candidates:
        c.fn(x)  # untimed: first touch of its panels and scratch
        t0 = time.perf_counter()
        c.fn(x)
        c.first = time.perf_counter() - t0
    per_pass = budget_s / passes / max(1, len(candidates))
    for _ in range(passes):
        for c in candidates:
            c.fn(x)
            reps = max(1, min(20, int(per_pass / max(c.first, 1e-6))))
            for _ in range(reps):
                t0 = time.perf_counter()
                c.fn(x)
                c.times.append(time.perf_counter() - t0)
    return [statistics.median(c.times) for c in candidates]


def tune(spec, tokens, threads, base_options, budget_s, log=print):
    """The fastest configuration of `spec` for `tokens` tokens, and the
    measurements: (config, best_s, default_s, target)."""
    opts = " ".join(o for o in [base_options, "threads=%d" % threads] if o)
    target = _capi.describe_cpu_target(opts)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((tokens, spec.d_model)).astype(numpy_dtype(spec.dtype))
    weights = {}
    for name, shape, dtype, _ in spec.operands():
        scale = 1.0 / np.sqrt(shape[-1])
        weights[name] = (rng.standard_normal(shape) * scale).astype(numpy_dtype(dtype))

    default = dict(DEFAULT)
    default["micro-vectors"] = 4 if target["vector_bits"] == 512 else 2
    # The pipeline's automatic token block (tile-tokens=0): three times as
    # tall where 16-bit weights are widened to f32, i.e. without bf16 dot
    # products (convert-glu-to-cpu-kernels).
    weights16 = (spec.weight_dtype or spec.dtype) in ("bf16", "f16")
    dot = spec.dtype == "bf16" and (spec.weight_dtype or "bf16") == "bf16" and \
        target["vector_bits"] == 512 and "+avx512bf16" in target["features"].split(",") and \
        "bf16-dot=off" not in opts
    if weights16 and not dot:
        default["tile-tokens"] = 3 * DEFAULT["tile-tokens"]
    stages = [
        [dict(default, **{"micro-rows": mr, "micro-vectors": nv})
         for mr, nv in register_tiles(target["vector_bits"])],
        lambda best: [dict(best, **{"k-chunk": kc}) for kc in (256, 512, 1024)],
        lambda best: [dict(best, **{"tile-tokens": mb})
                      for mb in (48, 96, 192, 288) if mb >= best["micro-rows"]],
    ]
    if default not in stages[0]:
        stages[0].insert(0, default)
    best, best_s, default_s = default, None, None
    seen = {}
    for stage in stages:
        configs = stage if isinstance(stage, list) else stage(best)
        configs = [c for c in configs if json.dumps(c, sort_keys=True) not in seen]
        if not configs:
            continue
        candidates = [Candidate(spec, c, opts, weights) for c in configs]
        # The incumbent runs again in every stage: its rate is compared with
        # the others' under the same conditions.
        if best_s is not None:
            candidates.append(Candidate(spec, best, opts, weights))
        seconds = measure(candidates, x, budget_s / len(stages))
        for c, s in zip(candidates, seconds):
            seen[json.dumps(c.config, sort_keys=True)] = s
            log("  %-60s %8.3f ms" % (c.name(), s * 1e3))
            if c.config == default:
                default_s = s
        i = min(range(len(candidates)), key=lambda j: seconds[j])
        best, best_s = candidates[i].config, seconds[i]
        del candidates
    if best != default:
        # The last word: the winner against the defaults, side by side.
        duel = [Candidate(spec, default, opts, weights),
                Candidate(spec, best, opts, weights)]
        default_s, best_s = measure(duel, x, budget_s / len(stages))
        log("  defaults %.3f ms, %s %.3f ms" % (default_s * 1e3, duel[1].name(),
                                                best_s * 1e3))
    # Within 2 % of the defaults is noise: keep the defaults.
    if default_s is not None and best_s > 0.98 * default_s:
        best, best_s = default, default_s
    return best, best_s, default_s, target


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="python -m swiglu.tune",
        description=__doc__.split("\n\n")[0])
    ap.add_argument("--d-model", type=int, required=True)
    ap.add_argument("--d-ff", type=int, required=True)
    ap.add_argument("--dtype", default="f32")
    ap.add_argument("--weight-dtype", default=None)
    ap.add_argument("--activation", default="silu")
    ap.add_argument("--mlp", action="store_true",
                    help="a plain FFN (glu.mlp) instead of a gated one")
    ap.add_argument("--tokens", type=int, default=512,
                    help="tokens of the timed calls (prefill: 128-2048)")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--options", default="",
                    help="other pipeline options, e.g. 'target-features=-avx512bf16'")
    ap.add_argument("--budget-s", type=float, default=30.0,
                    help="seconds of timed calls in all (compilation extra)")
    ap.add_argument("--cache", default=default_cache_path())
    args = ap.parse_args(argv)
    spec = FFNSpec(d_model=args.d_model, d_ff=args.d_ff, activation=args.activation,
                   gated=not args.mlp, dtype=args.dtype,
                   weight_dtype=args.weight_dtype)
    cache = load_cache(args.cache)
    start = time.time()
    print("tuning %s %dx%d %s, %d tokens, %d threads" % (
        "mlp" if args.mlp else "ffn", args.d_model, args.d_ff, args.dtype,
        args.tokens, args.threads), flush=True)
    best, best_s, default_s, target = tune(spec, args.tokens, args.threads,
                                           args.options, args.budget_s,
                                           log=lambda s: print(s, flush=True))
    key = key_of(target, spec)
    flop = 2 * args.tokens * args.d_model * args.d_ff * (3 if spec.gated else 2)
    entry = dict(best)
    entry.update({
        "gflops": round(flop / best_s / 1e9, 1),
        "default_gflops": round(flop / default_s / 1e9, 1) if default_s else None,
        "tokens": args.tokens, "threads": args.threads,
        "date": datetime.date.today().isoformat()})
    cache["entries"][key] = entry
    save_cache(args.cache, cache)
    print("%s: %s (%.1f GFLOP/s; defaults %.1f GFLOP/s), %.0f s" % (
        key, " ".join("%s=%d" % (k, best[k]) for k in DEFAULT), entry["gflops"],
        entry["default_gflops"] or float("nan"), time.time() - start))
    print("written to %s; use it with the pipeline option tuning-cache=%s "
          "(FFNSpec.compile() does when SWIGLU_TUNING_CACHE names it)" % (
              args.cache, args.cache))
    return 0


if __name__ == "__main__":
    sys.exit(main())
