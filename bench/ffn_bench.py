#!/usr/bin/env python3
"""Benchmark of a SwiGLU FFN block (f32, PyTorch [out, in] weights) on the CPU:
ours against PyTorch eager (the first baseline), OpenBLAS (C), numpy, IREE,
torch.compile and upstream MLIR's linalg lowering, on one thread and on all
CPUs, with the machine's FMA peaks and memory read bandwidth measured in the
same run, and a plot of GFLOP/s against tokens. Run it through
`bash bench/run.sh`, which makes the environment and builds the C pieces; see
bench/README.md.

Processes: this one (the driver) measures the ceilings (bench/peak.c), then
runs itself once per thread count as a worker (--worker-threads N), with
OMP_NUM_THREADS/OPENBLAS_NUM_THREADS/MKL_NUM_THREADS = N in its environment
before any library loads, our kernels compiled for N workers, torch, numpy's
OpenBLAS, the C OpenBLAS and IREE's task topology set to N. With --avx2 a
second worker per thread count runs "PyTorch eager, AVX2" with
ATEN_CPU_CAPABILITY=avx2 (and MKL's and oneDNN's limits), which torch reads
only when it loads. Workers write their rows as JSON; the driver writes the
tables, RESULTS.md and the plot.

Timing (in a worker): every implementation gets a first call (its output
checked against numpy float64) and a second one that sizes its repetitions;
the timed calls then run in a few passes over the implementations, each pass
starting every implementation with an untimed call (on 2 cores the idle BLAS
threads of one library would otherwise slow the next one's first call); the
median is reported. The reference lowering is ~100x slower than BLAS, so its
first call is timed too and it repeats only within --ours-budget-s; any row
whose estimated call time (from its rate on a smaller shape) exceeds
--max-call-s is skipped, saying so.
"""

import argparse
import datetime
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from bench_report import (TOLERANCE, TORCH_AVX2_ENV, ceilings_table, flops,  # noqa: E402
                          fmt_ms, shape_table, shape_title, short, summary_table,
                          threads_title, write_plot)

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_RESULTS = ROOT / "bench" / "RESULTS.md"
DEFAULT_PLOT = ROOT / "bench" / "results-gflops.png"

FULL_SHAPES = [(128, 1024, 2816), (512, 1024, 2816), (2048, 1024, 2816),
               (128, 2048, 5632), (512, 2048, 5632), (2048, 2048, 5632),
               (1, 4096, 11008)]
QUICK_SHAPES = [(128, 1024, 2816), (512, 1024, 2816), (1, 4096, 11008)]
SWEEP_TOKENS = [1, 4, 16, 64, 128, 256, 512, 1024, 2048]
ROW_KEYS = ["ours", "ours-bf16", "ours-bf16-rh", "ours-avx2", "ours-reference", "torch-eager",
            "torch-eager-avx2", "openblas", "numpy", "iree", "torch-compile"]

np = None  # imported in a worker, after the thread count is in the environment


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="tokens 128 and 512 at (1024, 2816) and decode; shorter budgets")
    p.add_argument("--shapes", help="T:D:F,... instead of the default set (T=1 is decode)")
    p.add_argument("--sweep", action="store_true",
                   help="tokens %s at (1024, 2816), or at the (D, F) of --shapes: the plot's "
                        "curves" % ",".join(map(str, SWEEP_TOKENS)))
    p.add_argument("--threads", default="1,all",
                   help="comma-separated thread counts, one set of tables each; 'all' is "
                        "os.cpu_count() (default 1,all)")
    p.add_argument("--avx2", action="store_true",
                   help="add 'ours, AVX2' (target-cpu=x86-64-v3) and 'PyTorch eager, AVX2' "
                        "(ATEN_CPU_CAPABILITY=avx2) rows")
    p.add_argument("--budget-s", type=float, default=None,
                   help="timed seconds per implementation and shape (default 1.5, quick 0.6)")
    p.add_argument("--min-reps", type=int, default=3)
    p.add_argument("--max-reps", type=int, default=25)
    p.add_argument("--passes", type=int, default=3,
                   help="timed calls are spread over this many passes over the implementations")
    p.add_argument("--ours-budget-s", type=float, default=2.0,
                   help="seconds of timed calls for the reference lowering (the first call counts)")
    p.add_argument("--max-call-s", type=float, default=10.0,
                   help="skip a row whose estimated time per call exceeds this")
    p.add_argument("--only", help="comma-separated row keys: " + ",".join(ROW_KEYS)
                   + " (an AVX2 key implies --avx2)")
    p.add_argument("--openblas-lib", help="libopenblas_ffn.so built by run.sh")
    p.add_argument("--openblas-error", help="file with the build error of the OpenBLAS library")
    p.add_argument("--peak-bin", help="the peak program built by run.sh")
    p.add_argument("--iree-error", help="file with the install error of IREE")
    p.add_argument("--plot-error", help="file with the install error of matplotlib")
    p.add_argument("--swiglu-opt", default=str(ROOT / "build" / "bin" / "swiglu-opt"))
    p.add_argument("--compiler-info", default="", help="C compiler of the C pieces (for the header)")
    p.add_argument("--llvm-cpu", default="", help="LLVM's name of the host CPU (for the header)")
    p.add_argument("--command", default="python bench/ffn_bench.py " + " ".join(argv),
                   help="the command line to record in the results")
    p.add_argument("--results", default=str(DEFAULT_RESULTS),
                   help="where to write the results (markdown); '' for nowhere")
    p.add_argument("--plot", default=None,
                   help="the PNG plot of GFLOP/s against tokens; '' for none (default: "
                        "bench/results-gflops.png with the default --results, else "
                        "<results without .md>-gflops.png)")
    p.add_argument("--seed", type=int, default=0)
    # Internal: the driver runs itself as a worker per thread count.
    p.add_argument("--worker-threads", type=int, help=argparse.SUPPRESS)
    p.add_argument("--worker-out", help=argparse.SUPPRESS)
    p.add_argument("--worker-isa", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.budget_s is None:
        args.budget_s = 0.6 if args.quick else 1.5
    if args.shapes:
        args.shape_list = []
        for item in args.shapes.split(","):
            t, d, f = (int(v) for v in item.split(":"))
            args.shape_list.append((t, d, f))
    else:
        args.shape_list = QUICK_SHAPES if args.quick else FULL_SHAPES
    if args.sweep:
        dfs = [(1024, 2816)] if not args.shapes else \
            list(dict.fromkeys((d, f) for _, d, f in args.shape_list))
        args.shape_list = [(t, d, f) for d, f in dfs for t in SWEEP_TOKENS]
    args.only = set(args.only.split(",")) if args.only else None
    if args.only:
        unknown = args.only - set(ROW_KEYS)
        if unknown:
            p.error("unknown row keys in --only: %s" % ",".join(sorted(unknown)))
        args.avx2 = args.avx2 or bool(args.only & {"ours-avx2", "torch-eager-avx2"})
    counts = []
    for item in args.threads.split(","):
        n = os.cpu_count() if item.strip() == "all" else int(item)
        if n < 1:
            p.error("--threads: thread counts are at least 1")
        if n not in counts:
            counts.append(n)
    args.thread_counts = counts
    if args.plot is None:
        if not args.results:
            args.plot = ""
        elif pathlib.Path(args.results).resolve() == DEFAULT_RESULTS:
            args.plot = str(DEFAULT_PLOT)
        else:
            args.plot = str(pathlib.Path(args.results).with_suffix("")) + "-gflops.png"
    return args


def wanted(args, key):
    return args.only is None or key in args.only


# ---------------------------------------------------------------------------
# The machine: CPU, load, ceilings (bench/peak.c)
# ---------------------------------------------------------------------------


def cpu_busy_fraction(interval=0.5):
    """Share of all CPUs busy over `interval` seconds (other people's work)."""
    def read():
        with open("/proc/stat") as fh:
            fields = [int(v) for v in fh.readline().split()[1:]]
        idle = fields[3] + fields[4]  # idle + iowait
        return idle, sum(fields)
    try:
        i0, t0 = read()
        time.sleep(interval)
        i1, t1 = read()
        return 1.0 - (i1 - i0) / max(1, t1 - t0)
    except OSError:
        return None


class OtherLoad:
    """CPU time spent by other processes since construction, as a share of
    all CPUs: /proc/stat's busy time minus this process's and its (finished)
    children's."""

    def __init__(self):
        self.start = self._sample()

    @staticmethod
    def _sample():
        try:
            with open("/proc/stat") as fh:
                v = [int(x) for x in fh.readline().split()[1:]]
        except OSError:
            return None
        busy = (v[0] + v[1] + v[2] + v[5] + v[6]) / os.sysconf("SC_CLK_TCK")
        own = sum(os.times()[:4])
        return busy, own, time.monotonic()

    def share(self):
        end = self._sample()
        if not self.start or not end:
            return None
        busy, own, wall = (e - s for e, s in zip(end, self.start))
        return max(0.0, (busy - own) / (wall * os.cpu_count()))


def cpu_description(llvm_cpu=""):
    """'model name (vendor family F model M stepping S; LLVM: name); ISA: ...'
    from the first processor of /proc/cpuinfo."""
    info = {}
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if not line.strip():
                    break
                key, _, value = line.partition(":")
                info[key.strip()] = value.strip()
    except OSError:
        pass
    name = info.get("model name") or platform.processor() or "unknown CPU"
    ids = ["%s %s" % (k, info[k2]) for k, k2 in (("family", "cpu family"), ("model", "model"),
                                                  ("stepping", "stepping")) if k2 in info]
    ident = ", ".join(([info["vendor_id"]] if "vendor_id" in info else []) + ids
                      + (["LLVM: " + llvm_cpu] if llvm_cpu else []))
    flags = set(info.get("flags", "").split())
    isa = [label for flag, label in (("avx2", "AVX2"), ("fma", "FMA"), ("avx512f", "AVX-512F"),
                                     ("avx512_bf16", "AVX512-BF16"),
                                     ("avx512_fp16", "AVX512-FP16"), ("amx_tile", "AMX"))
           if flag in flags]
    return "%s (%s)%s" % (name, ident or "no identification",
                          ("; " + ", ".join(isa)) if isa else "")


def run_peak(binary, what, threads, reps=7):
    """(median, max, None) of `peak what threads`, or (None, None, reason)."""
    if not binary or not os.path.exists(binary):
        return None, None, "peak program not built"
    try:
        proc = subprocess.run([binary, what, str(threads), str(reps)], capture_output=True,
                              text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return None, None, "peak %s timed out" % what
    if proc.returncode != 0:
        return None, None, "peak %s failed: %s" % (what, short(proc.stderr))
    _, median, best = proc.stdout.split()
    return float(median), float(best), None


# ---------------------------------------------------------------------------
# Measurement (in a worker)
# ---------------------------------------------------------------------------


class Row:
    def __init__(self, impl):
        self.impl = impl
        self.seconds = None  # median
        self.n = 0
        self.error = None  # max rel error vs float64
        self.wrong = False
        self.note = ""
        self.status = None  # why there is no number

    def as_dict(self):
        return dict(key=self.impl.key, label=self.impl.label, seconds=self.seconds, n=self.n,
                    error=self.error, wrong=self.wrong, note=self.note, status=self.status,
                    weight_scale=getattr(self.impl, "weight_scale", 1.0),
                    isa=getattr(self.impl, "isa", None))


def measure_shape(impls, group, t, ref, args, rates):
    """One row per implementation: a checked first call each, then the timed
    calls in `args.passes` passes over the implementations (spreading each
    one's samples over the time the shape takes, so that a change of the
    machine's load hits every row alike); each pass starts an implementation
    with an untimed call, which absorbs the previous library's idle threads."""
    fl = flops(t, group.d, group.f)
    kind = "decode" if t == 1 else "prefill"
    rows, live = [], []
    for impl in impls:
        row = Row(impl)
        rows.append(row)
        if impl.reason:
            row.status = impl.reason
            continue
        rate = rates.get((impl.key, kind))
        if rate and fl / rate > args.max_call_s:
            row.status = "skipped: ~%.0f s/call estimated from %.2f GFLOP/s on a smaller " \
                         "shape (> --max-call-s %g)" % (fl / rate, rate / 1e9, args.max_call_s)
            continue
        try:
            call, row.note = impl.prepare(group, t)
            start = time.perf_counter()
            y = call()
            first = time.perf_counter() - start
        except Exception as e:  # noqa: BLE001 - the row says why, the benchmark goes on
            row.status = "failed: %s" % short(e, 160)
            continue
        own = impl.reference(group, t) if hasattr(impl, "reference") else None
        r64 = ref if own is None else own
        y = np.asarray(y, dtype=np.float64).reshape(r64.shape)
        scale = float(np.max(np.abs(r64))) or 1.0
        row.error = float(np.max(np.abs(y - r64))) / scale
        row.wrong = not np.isfinite(row.error) or row.error > getattr(impl, "tolerance",
                                                                      TOLERANCE)
        del y, own, r64
        if impl.slow:
            # Our reference code generation: the first call counts, and it
            # repeats only within its own budget, in the first pass.
            samples = [first]
            per_pass = [max(0, min(args.max_reps, int(args.ours_budget_s / first)) - 1)]
        else:
            samples = []
            try:  # a second, untimed-for-the-table call: the first may include setup
                start = time.perf_counter()
                call()
                per_call = time.perf_counter() - start
            except Exception as e:  # noqa: BLE001
                row.status = "failed: %s" % short(e, 160)
                continue
            reps = min(args.max_reps, max(args.min_reps, int(args.budget_s / per_call)))
            passes = max(1, min(args.passes, reps))
            per_pass = [reps // passes + (1 if i < reps % passes else 0) for i in range(passes)]
        live.append((row, call, samples, per_pass))
    for p in range(max([len(pp) for _, _, _, pp in live] + [0])):
        for row, call, samples, per_pass in live:
            if p >= len(per_pass) or per_pass[p] == 0 or row.status:
                continue
            try:
                if not row.impl.slow:
                    call()  # untimed
                for _ in range(per_pass[p]):
                    start = time.perf_counter()
                    call()
                    samples.append(time.perf_counter() - start)
            except Exception as e:  # noqa: BLE001
                row.status = "failed: %s" % short(e, 160)
    for row, call, samples, _ in live:
        if row.status:
            continue
        row.seconds = statistics.median(samples)
        row.n = len(samples)
        key = (row.impl.key, kind)
        rates[key] = max(rates.get(key, 0), fl / row.seconds)
    return rows


def worker_main(args):
    """Measures every shape with args.worker_threads threads; writes
    {"threads", "configs", "results"} to args.worker_out after each shape."""
    n = args.worker_threads
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)  # the driver set them too; before any library loads
    global np
    import numpy
    np = numpy
    sys.path.insert(0, str(ROOT / "python"))
    from bench_impls import IREE, Group, Numpy, OpenBLAS, Ours, Torch

    if args.worker_isa == "avx2":
        impls = [Torch(False, n, isa="avx2")]
    else:
        impls = [Ours("fast", n), Ours("bf16", n), Ours("bf16-rh", n)]
        if args.avx2:
            impls.append(Ours("avx2", n))
        impls += [Ours("reference", n), OpenBLAS(args.openblas_lib, args.openblas_error, n),
                  Numpy(n), IREE(n, args.swiglu_opt, args.iree_error),
                  Torch(False, n), Torch(True, n)]
    impls = [i for i in impls if wanted(args, i.key)]
    out = {"threads": n, "configs": [[i.label, i.config] for i in impls
                                     if getattr(i, "config", None)], "results": []}
    rates, group = {}, None
    for t, d, f in args.shape_list:
        if group is None or (group.d, group.f) != (d, f):
            group = None  # free the previous weights first
            group = Group(d, f, args.seed)
        ref = group.reference(t)
        rows = measure_shape(impls, group, t, ref, args, rates)
        out["results"].append([t, d, f, [r.as_dict() for r in rows]])
        pathlib.Path(args.worker_out).write_text(json.dumps(out))
        print("  [%s] %s: %s" % (threads_title(n, os.cpu_count()), shape_title(t, d, f), "; ".join(
            "%s %s" % (r.impl.key, fmt_ms(r.seconds) + " ms" if r.seconds else "—")
            for r in rows)), flush=True)
    return 0


# ---------------------------------------------------------------------------
# The driver
# ---------------------------------------------------------------------------


def run_worker(argv, threads, isa=None):
    """Runs this script as a worker for `threads` (and `isa`); returns
    ({(T, D, F): rows}, configs, None) or with the failure's description
    last (the results then hold what the worker wrote before it failed)."""
    env = dict(os.environ)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    for var in TORCH_AVX2_ENV:
        env.pop(var, None)
    if isa == "avx2":
        env.update(TORCH_AVX2_ENV)
    with tempfile.TemporaryDirectory(prefix="swiglu-bench-") as tmp:
        out = os.path.join(tmp, "rows.json")
        cmd = [sys.executable, os.path.abspath(__file__), *argv, "--worker-threads",
               str(threads), "--worker-out", out] + (["--worker-isa", isa] if isa else [])
        proc = subprocess.run(cmd, env=env)
        data = json.loads(pathlib.Path(out).read_text()) if os.path.exists(out) else {}
    results = {(t, d, f): rows for t, d, f, rows in data.get("results", [])}
    failure = None if proc.returncode == 0 else "the worker process exited with status %d" % (
        proc.returncode)
    return results, data.get("configs", []), failure


def main(argv):
    args = parse_args(argv)
    if args.worker_threads:
        return worker_main(args)
    wall_start = time.perf_counter()
    out = []

    def emit(line=""):
        print(line, flush=True)
        out.append(line)

    cpus = os.cpu_count()
    others = OtherLoad()
    busy = cpu_busy_fraction()
    # Ceilings first. The FMA peak of N cores is taken as N x the one-thread
    # rate: a co-tenant on one CPU halves an N-thread measurement but not
    # what a core can do; the N-thread figure is printed too.
    ceilings = {"fma": {}, "bw": {}}
    if args.avx2:
        ceilings["fma256"] = {}
    for n in sorted(set([1] + args.thread_counts)):
        for what in ceilings:
            if what != "bw" or n in args.thread_counts:
                ceilings[what][n] = run_peak(args.peak_bin, what, n)
    peaks = {n: {None: n * ceilings["fma"][1][0] if ceilings["fma"][1][0] else None}
             for n in args.thread_counts}
    if args.avx2:
        for n in args.thread_counts:
            one = ceilings["fma256"][1][0]
            peaks[n]["avx2"] = n * one if one else None

    emit("# SwiGLU FFN benchmark, f32, PyTorch layout ([out, in] weights)")
    emit()
    emit("- command: `%s`" % args.command)
    emit("- date: %s" % datetime.datetime.now().strftime("%Y-%m-%d %H:%M"))
    emit("- CPU: %s" % cpu_description(args.llvm_cpu))
    emit("- machine: %d CPUs, %.0f GB; thread counts: %s; CPUs busy with other processes just "
         "before the run: %s" % (
             cpus, os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9,
             ", ".join(map(str, args.thread_counts)),
             "%.0f%%" % (100 * busy) if busy is not None else "?"))
    if args.compiler_info:
        emit("- C pieces: %s" % args.compiler_info)
    emit("- ceilings, measured at the start of this run (bench/peak.c: independent FMA chains; "
         "the sum of a 1 GiB array); the peak of N threads is N × the one-thread peak:")
    emit()
    for line in ceilings_table(args.thread_counts, ceilings, cpus):
        emit(line)
    emit()
    emit("Columns: ms/call: median of n calls; GFLOP/s with 2·T·3·D·F FLOPs; %% peak: share of "
         "the FMA peak of the table's thread count (AVX2 rows: of the AVX2 peak); **× PyTorch: "
         "speed relative to PyTorch eager = its time / the row's time (2.00× = twice as fast "
         "as PyTorch, 0.50× = twice as slow)**%s; for decode, GB/s of weights streamed and "
         "%% of the read bandwidth; max rel err: max|y − y64| / max|y64| against numpy float64 "
         "on the same inputs (WRONG above %g; bf16 rows against their bf16-rounded inputs, "
         "above 1e-2)." % (", the AVX2 rows relative to PyTorch eager, AVX2" if args.avx2
                           else "", TOLERANCE))
    emit()
    plot_line = len(out)  # the plot's link goes here, once it is drawn
    emit()

    results, failed, torch_avx2 = {}, [], args.avx2 and wanted(args, "torch-eager-avx2")
    main_keys = set(ROW_KEYS) - {"torch-eager-avx2"}
    for n in args.thread_counts:
        emit("## %s" % threads_title(n, cpus))
        emit()
        res, configs, failure = ({}, [], None)
        if args.only is None or args.only & main_keys:
            res, configs, failure = run_worker(argv, n)
            if failure:
                failed.append("%s: %s" % (threads_title(n, cpus), failure))
        if torch_avx2:
            res2, configs2, failure2 = run_worker(argv, n, "avx2")
            configs += configs2
            for shape in args.shape_list:
                rows = res2.get(shape) or [dict(
                    key="torch-eager-avx2", label="PyTorch eager, AVX2", seconds=None, n=0,
                    error=None, wrong=False, note="", isa="avx2",
                    status=failure2 or "no result")]
                res.setdefault(shape, []).extend(rows)
        results[n] = res
        for label, config in configs:
            emit("- %s: %s" % (label, config))
        if failure:
            emit("- **%s**; the shapes after the last table below were not measured" % failure)
        emit()
        for t, d, f in args.shape_list:
            if (t, d, f) in res:
                for line in shape_table(t, d, f, res[(t, d, f)], peaks[n],
                                        ceilings["bw"][n][1]):
                    emit(line)
                emit()
        emit("### Summary, %s: ms per call (speed × PyTorch eager)" % threads_title(n, cpus))
        emit()
        for line in summary_table(args.shape_list, res):
            emit(line)
        emit()

    emit("## Checks")
    emit()
    wrong = [(n, shape, r["label"]) for n, res in results.items() for shape, rows in res.items()
             for r in rows if r["wrong"]]
    emit("- correctness: %s" % ("every implementation that ran matches float64 (max rel err "
                                "≤ %g)" % TOLERANCE if not wrong else "WRONG: " + "; ".join(
                                    "%s at %s, %s" % (label, shape_title(*shape),
                                                      threads_title(n, cpus))
                                    for n, shape, label in wrong)))
    if failed:
        emit("- worker processes that failed: %s" % "; ".join(failed))
    fma_end = run_peak(args.peak_bin, "fma", 1)
    share = others.share()
    emit("- FMA peak of 1 thread again at the end: %s GFLOP/s; CPU time of other processes "
         "during the run: %s of the machine%s" % (
             "—" if fma_end[0] is None else "%.1f" % fma_end[0],
             "?" if share is None else "%.0f%%" % (100 * share),
             " (a co-tenant: expect noisy, slower multi-threaded rows)"
             if share is not None and share > 0.1 else ""))
    emit("- wall time of the benchmark (after setup): %.0f s" % (time.perf_counter() - wall_start))

    if args.plot:
        why = write_plot(args.plot, results, args.thread_counts, peaks, cpus,
                         "SwiGLU FFN, f32: GFLOP/s against tokens; %s%s" % (
                             cpu_description().split(" (")[0],
                             " (%s)" % args.llvm_cpu if args.llvm_cpu else ""))
        if why and args.plot_error and os.path.exists(args.plot_error):
            why = "matplotlib install failed: " + short(pathlib.Path(args.plot_error).read_text())
        if why:
            line = "- plot skipped: %s" % why
        else:
            rel = os.path.relpath(args.plot, os.path.dirname(os.path.abspath(args.results))) \
                if args.results else args.plot
            line = "![GFLOP/s against tokens](%s)" % rel
        print(line if why else "(plot written to %s)" % os.path.relpath(args.plot, os.getcwd()))
        out[plot_line] = line + "\n"
    if args.results:
        pathlib.Path(args.results).write_text(
            "<!-- written by bench/ffn_bench.py: the last run of bench/run.sh -->\n"
            + "\n".join(out) + "\n")
        print("\n(written to %s)" % os.path.relpath(args.results, os.getcwd()))
    return 1 if wrong else 2 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
