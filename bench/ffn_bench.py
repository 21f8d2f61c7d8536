#!/usr/bin/env python3
"""Benchmark of a SwiGLU FFN block (f32, PyTorch [out, in] weights) on the CPU:
ours (fused, unfused) against OpenBLAS (C), numpy, IREE and PyTorch, all in
one process on the same arrays, with the machine's FMA peak and memory read
bandwidth measured in the same run. Run it through `bash bench/run.sh`,
which makes the environment and builds the C pieces; see bench/README.md.

Timing: every implementation gets a first call (its output checked against
numpy float64) and a second one that sizes its repetitions; the timed calls
then run in a few passes over the implementations, each pass starting every
implementation with an untimed call (on 2 cores the idle BLAS threads of one
library would otherwise slow the next one's first call); the median is
reported. Our reference code generation is ~100x slower than BLAS, so its
first call is timed too and it repeats only within --ours-budget-s; any row
whose estimated call time (from its rate on a smaller shape) exceeds
--max-call-s is skipped, saying so.
"""

import argparse
import ctypes
import datetime
import glob
import importlib.metadata
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent

FULL_SHAPES = [(128, 1024, 2816), (512, 1024, 2816), (2048, 1024, 2816),
               (128, 2048, 5632), (512, 2048, 5632), (2048, 2048, 5632),
               (1, 4096, 11008)]
QUICK_SHAPES = [(128, 1024, 2816), (512, 1024, 2816), (1, 4096, 11008)]
TOLERANCE = 1e-4  # max |y - ref| / max |ref| against float64; f32 gives ~1e-6

np = None  # imported in main(), after the thread count is in the environment


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="tokens 128 and 512 at (1024, 2816) and decode; shorter budgets")
    p.add_argument("--shapes", help="T:D:F,... instead of the default set (T=1 is decode)")
    p.add_argument("--threads", type=int, default=2, help="threads of every library (default 2)")
    p.add_argument("--budget-s", type=float, default=None,
                   help="timed seconds per implementation and shape (default 1.5, quick 0.6)")
    p.add_argument("--min-reps", type=int, default=3)
    p.add_argument("--max-reps", type=int, default=25)
    p.add_argument("--passes", type=int, default=3,
                   help="timed calls are spread over this many passes over the implementations")
    p.add_argument("--ours-budget-s", type=float, default=2.0,
                   help="seconds of timed calls for our rows (the first call counts)")
    p.add_argument("--max-call-s", type=float, default=10.0,
                   help="skip a row whose estimated time per call exceeds this")
    p.add_argument("--only", help="comma-separated row keys: ours,ours-bf16,ours-bf16-rh,ours-reference,"
                                  "openblas,numpy,iree,torch-eager,torch-compile")
    p.add_argument("--openblas-lib", help="libopenblas_ffn.so built by run.sh")
    p.add_argument("--openblas-error", help="file with the build error of the OpenBLAS library")
    p.add_argument("--peak-bin", help="the peak program built by run.sh")
    p.add_argument("--iree-error", help="file with the install error of IREE")
    p.add_argument("--swiglu-opt", default=str(ROOT / "build" / "bin" / "swiglu-opt"))
    p.add_argument("--compiler-info", default="", help="C compiler of the C pieces (for the header)")
    p.add_argument("--command", default="python bench/ffn_bench.py " + " ".join(argv),
                   help="the command line to record in the results")
    p.add_argument("--results", default=str(ROOT / "bench" / "RESULTS.md"),
                   help="where to write the results (markdown); '' for nowhere")
    p.add_argument("--seed", type=int, default=0)
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
    return args


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------


def flops(t, d, f):
    return 2.0 * t * (2 * d * f + f * d)


def weight_bytes(d, f):
    return 3.0 * d * f * 4


def short(message, limit=90):
    message = " ".join(str(message).split())
    return message if len(message) <= limit else message[:limit - 3] + "..."


def fmt_ms(seconds):
    ms = seconds * 1e3
    if ms >= 100:
        return "%.0f" % ms
    if ms >= 10:
        return "%.1f" % ms
    return "%.2f" % ms


def fmt_ratio(r):
    if r is None:
        return "—"
    return ("%.2f×" % r) if r < 10 else ("%.0f×" % r)


def fmt_num(v, digits=1):
    return "—" if v is None else ("%.*f" % (digits, v))


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
    all CPUs: /proc/stat's busy time minus this process's and its children's."""

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


def cpu_model():
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def package_version(name):
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


# ---------------------------------------------------------------------------
# Machine ceilings (bench/peak.c)
# ---------------------------------------------------------------------------


def run_peak(binary, what, threads, reps=7):
    """(median, max) of `peak what threads`, or (None, None) with a reason."""
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
# Implementations. Each: key, label, reason (None when usable), and
# prepare(group, T) -> (callable returning y [T, D] as numpy, note).
# ---------------------------------------------------------------------------


class Group:
    """The arrays of one (d_model, d_ff): weights in PyTorch layout, inputs
    per token count, float64 copies for the reference."""

    def __init__(self, d, f, seed):
        self.d, self.f = d, f
        rng = np.random.default_rng(seed)
        # Scaled so that every stage is O(1): x ~ N(0,1), W ~ N(0, 1/fan_in).
        self.wg = rng.standard_normal((f, d), dtype=np.float32) * np.float32(d ** -0.5)
        self.wu = rng.standard_normal((f, d), dtype=np.float32) * np.float32(d ** -0.5)
        self.wd = rng.standard_normal((d, f), dtype=np.float32) * np.float32(f ** -0.5)
        self._rng = rng
        self._x = {}
        self._w64 = None
        self.wgu = None  # merged [gate ‖ up], made by who needs it

    def x(self, t):
        if t not in self._x:
            self._x[t] = self._rng.standard_normal((t, self.d), dtype=np.float32)
        return self._x[t]

    def merged(self):
        if self.wgu is None:
            self.wgu = np.ascontiguousarray(np.concatenate([self.wg, self.wu], axis=0))
        return self.wgu

    def reference(self, t):
        if self._w64 is None:
            self._w64 = tuple(w.astype(np.float64) for w in (self.wg, self.wu, self.wd))
        wg, wu, wd = self._w64
        x = self.x(t).astype(np.float64)
        g = x @ wg.T
        with np.errstate(over="ignore"):
            h = g / (1.0 + np.exp(-g)) * (x @ wu.T)
        return h @ wd.T


class Ours:
    """Our compiler through the Python package. kind 'fast' is
    --glu-cpu-pipeline on f32 (weights packed once by the emitted packing
    function, outside the timing); 'bf16' the same block with bf16
    activations and weights (AVX512-BF16 dot products where the CPU has them);
    'reference' the reference lowering: plain linalg → loops, what upstream
    MLIR gives without our kernels."""

    def __init__(self, kind):
        self.kind = kind
        self.key = {"fast": "ours", "bf16": "ours-bf16", "bf16-rh": "ours-bf16-rh",
                    "reference": "ours-reference"}[kind]
        self.label = {"fast": "ours (glu-cpu-pipeline), f32",
                      "bf16": "ours, bf16 x and weights",
                      "bf16-rh": "ours, bf16, round-hidden",
                      "reference": "upstream linalg lowering (ours, reference pipeline)"}[kind]
        self.slow = kind == "reference"  # plain loops: first call timed, few calls
        self.bf16 = kind.startswith("bf16")
        self.tolerance = 1e-2 if self.bf16 else TOLERANCE
        self.weight_scale = 0.5 if self.bf16 else 1.0
        self._compiled = {}
        try:
            import swiglu
            self._swiglu = swiglu
            self.reason = None
        except Exception as e:  # noqa: BLE001 - the row says why
            self.reason = "cannot import swiglu: %s" % short(e)

    def _bf16(self, a):
        import ml_dtypes
        return np.ascontiguousarray(a.astype(ml_dtypes.bfloat16))

    def reference(self, group, t):
        """The float64 result on the inputs this row really gets (bf16-rounded
        for the bf16 row), or None for the shared f32 reference."""
        if not self.bf16:
            return None
        wg, wu, wd = (self._bf16(w).astype(np.float64) for w in (group.wg, group.wu, group.wd))
        x = self._bf16(group.x(t)).astype(np.float64)
        g = x @ wg.T
        with np.errstate(over="ignore"):
            h = g / (1.0 + np.exp(-g)) * (x @ wu.T)
        if self.kind == "bf16-rh":
            h = self._bf16(h).astype(np.float64)
        return h @ wd.T

    def prepare(self, group, t):
        key = (group.d, group.f)
        dtype = "bf16" if self.bf16 else "f32"
        note = "separate gate/up weights"
        if key not in self._compiled:
            self._compiled.clear()
            start = time.perf_counter()
            spec = self._swiglu.FFNSpec(d_model=group.d, d_ff=group.f, activation="silu",
                                        dtype=dtype, layout="out_in")
            compiled = spec.compile(target="cpu-reference" if self.kind == "reference" else "cpu",
                                    fuse=False,
                                    options="round-hidden=true" if self.kind == "bf16-rh" else None)
            compile_s = time.perf_counter() - start
            weights = dict(w_gate=group.wg, w_up=group.wu, w_down=group.wd)
            if dtype == "bf16":
                weights = {k: self._bf16(v) for k, v in weights.items()}
            if self.kind == "reference":
                ffn = lambda x, c=compiled, w=weights: c(x, **w)
                note += "; compiled in %.2f s" % compile_s
            else:
                start = time.perf_counter()
                ffn = compiled.bind(**weights)
                note += "; compiled in %.2f s, weights packed once in %.2f s" % (
                    compile_s, time.perf_counter() - start)
            self._compiled[key] = (ffn, note)
        ffn, note = self._compiled[key]
        x = group.x(t)
        if dtype == "bf16":
            x = self._bf16(x)
            return (lambda: ffn(x).astype(np.float32)), note
        return (lambda: ffn(x)), note


class OpenBLAS:
    key, label, slow = "openblas", "OpenBLAS C (merged gate/up)", False

    def __init__(self, path, error_file, threads):
        self.reason = None
        self.config = None
        if not path or not os.path.exists(path):
            why = "not built"
            if error_file and os.path.exists(error_file):
                why = "build failed: " + short(pathlib.Path(error_file).read_text())
            self.reason = why
            return
        try:
            self._lib = ctypes.CDLL(path)
            self._lib.ffn_set_threads.argtypes = [ctypes.c_int]
            self._lib.ffn_blas_config.restype = ctypes.c_char_p
            self._lib.ffn_swiglu_f32.argtypes = [ctypes.c_int] * 3 + [ctypes.c_void_p] * 6
            self._lib.ffn_swiglu_f32.restype = None
            self.threads = self._lib.ffn_set_threads(threads)
            self.config = self._lib.ffn_blas_config().decode()
        except (OSError, AttributeError) as e:
            self.reason = "cannot load %s: %s" % (path, short(e))

    def prepare(self, group, t):
        x, wgu, wd = group.x(t), group.merged(), group.wd
        d, f = group.d, group.f
        gu = np.empty((t, 2 * f), np.float32)
        h = np.empty((t, f), np.float32)
        y = np.empty((t, d), np.float32)
        arrays = (x, wgu, wd, gu, h, y)  # the closure keeps them alive
        fn, ptrs = self._lib.ffn_swiglu_f32, [a.ctypes.data for a in arrays]

        def call():
            fn(t, d, f, *ptrs)
            return arrays[-1]
        return call, "%d threads%s" % (self.threads, "; sgemv" if t == 1 else "; sgemm")


class Numpy:
    key, label, slow = "numpy", "numpy (bundled OpenBLAS)", False

    def __init__(self, threads):
        self.reason = None
        self.config = "numpy %s" % np.__version__
        # numpy's own OpenBLAS (scipy-openblas): its runtime kernel and threads.
        libs = glob.glob(os.path.join(os.path.dirname(np.__file__) + ".libs", "libscipy_openblas*.so"))
        self.threads = None
        for path in libs:
            try:
                lib = ctypes.CDLL(path)
                for suffix in ("64_", ""):
                    getter = getattr(lib, "scipy_openblas_get_config" + suffix, None)
                    if getter is None:
                        continue
                    getter.restype = ctypes.c_char_p
                    core = getattr(lib, "scipy_openblas_get_corename" + suffix)
                    core.restype = ctypes.c_char_p
                    setter = getattr(lib, "scipy_openblas_set_num_threads" + suffix)
                    setter.argtypes = [ctypes.c_int]
                    setter(threads)
                    self.threads = threads
                    self.config += ", %s (kernels: %s)" % (getter().decode(), core().decode())
                    break
            except OSError:
                pass

    def prepare(self, group, t):
        x, wg, wu, wd = group.x(t), group.wg, group.wu, group.wd

        def call():
            g = x @ wg.T
            with np.errstate(over="ignore"):
                h = g / (1.0 + np.exp(-g)) * (x @ wu.T)
            return h @ wd.T
        return call, ("%d threads" % self.threads) if self.threads else "threads from OPENBLAS_NUM_THREADS"


class IREE:
    key, slow = "iree", False

    def __init__(self, threads, swiglu_opt, error_file):
        self.label = "IREE llvm-cpu"
        self.reason = None
        self.config = None
        self.swiglu_opt = swiglu_opt
        self.threads = threads
        try:
            import iree.runtime as rt
        except Exception as e:  # noqa: BLE001
            why = "iree.runtime not importable: %s" % short(e, 60)
            if error_file and os.path.exists(error_file):
                why = "IREE install failed: " + short(pathlib.Path(error_file).read_text(), 120)
            self.reason = why
            return
        self.rt = rt
        compiler = pathlib.Path(sys.executable).parent / "iree-compile"
        self.compiler = str(compiler)
        version = package_version("iree-base-compiler")
        self.label = "IREE %s llvm-cpu" % (version or "")
        if not compiler.exists():
            self.reason = "iree-compile not found next to %s" % sys.executable
            return
        if not os.access(swiglu_opt, os.X_OK):
            self.reason = "no swiglu-opt at %s to lower the glu IR to linalg" % swiglu_opt
            return
        # Flag names changed across IREE versions: check the installed one.
        help_text = subprocess.run([self.compiler, "--help"], capture_output=True,
                                   text=True).stdout
        if "--iree-hal-target-device=" in help_text:
            self.flags = ["--iree-hal-target-device=local",
                          "--iree-hal-local-target-device-backends=llvm-cpu"]
        else:
            self.flags = ["--iree-hal-target-backends=llvm-cpu"]
        self.flags.append("--iree-llvmcpu-target-cpu=host")
        try:
            rt.flags.parse_flags("--task_topology_max_group_count=%d" % threads)
            self.cfg = rt.Config("local-task")
        except Exception as e:  # noqa: BLE001
            self.reason = "IREE runtime setup failed: %s" % short(e)
            return
        self.config = "iree-base-compiler %s, iree-base-runtime %s; %s; local-task, " \
                      "--task_topology_max_group_count=%d" % (
                          version, package_version("iree-base-runtime"), " ".join(self.flags),
                          threads)
        self._group = None

    def _linalg(self, group, t):
        import swiglu
        glu = swiglu.FFNSpec(d_model=group.d, d_ff=group.f).mlir("ffn").replace("?x", "%dx" % t)
        proc = subprocess.run([self.swiglu_opt, "--convert-glu-to-linalg", "--canonicalize"],
                              input=glu, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError("swiglu-opt --convert-glu-to-linalg failed: " + short(proc.stderr))
        return proc.stdout

    def prepare(self, group, t):
        rt = self.rt
        start = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="swiglu-bench-iree-") as tmp:
            src, vmfb = os.path.join(tmp, "ffn.mlir"), os.path.join(tmp, "ffn.vmfb")
            pathlib.Path(src).write_text(self._linalg(group, t))
            proc = subprocess.run([self.compiler, *self.flags, src, "-o", vmfb],
                                  capture_output=True, text=True, timeout=600)
            if proc.returncode != 0:
                raise RuntimeError("iree-compile failed: " + short(proc.stderr, 200))
            data = pathlib.Path(vmfb).read_bytes()
        compile_s = time.perf_counter() - start
        ctx = rt.SystemContext(config=self.cfg)
        ctx.add_vm_module(rt.VmModule.copy_buffer(ctx.instance, data))
        fn = ctx.modules.module["ffn"]
        if self._group is not group:  # weights on the device once per group
            self._weights = None
            self._weights = [rt.asdevicearray(self.cfg.device, w)
                             for w in (group.wg, group.wu, group.wd)]
            self._group = group
        weights, x = self._weights, group.x(t)
        return (lambda: fn(x, *weights).to_host()), \
            "static T=%d, separate gate/up; compiled in %.1f s" % (t, compile_s)


class Torch:
    slow = False

    def __init__(self, compiled, threads):
        self.compiled = compiled
        self.key = "torch-compile" if compiled else "torch-eager"
        self.label = "torch.compile" if compiled else "PyTorch eager"
        self.config = None
        try:
            import torch
        except ImportError:
            self.reason = "not installed"
            return
        except Exception as e:  # noqa: BLE001
            self.reason = "import torch failed: %s" % short(e)
            return
        self.reason = None
        self.torch = torch
        torch.set_num_threads(threads)
        self.config = "torch %s, %d threads" % (torch.__version__, torch.get_num_threads())

    def prepare(self, group, t):
        torch = self.torch
        F = torch.nn.functional
        x = torch.from_numpy(group.x(t))
        wg, wu, wd = (torch.from_numpy(w) for w in (group.wg, group.wu, group.wd))

        def ffn(x):
            return F.linear(F.silu(F.linear(x, wg)) * F.linear(x, wu), wd)
        fn = torch.compile(ffn, dynamic=False) if self.compiled else ffn

        def call():
            with torch.inference_mode():
                return fn(x).numpy()
        return call, ""


# ---------------------------------------------------------------------------
# Measurement
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


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------


def shape_title(t, d, f):
    if t == 1:
        return "decode T=1, d_model=%d, d_ff=%d" % (d, f)
    return "prefill T=%d, d_model=%d, d_ff=%d" % (t, d, f)


def shape_table(t, d, f, rows, peak, bw):
    decode = t == 1
    fl = flops(t, d, f)
    by_key = {r.impl.key: r for r in rows}
    ob = by_key.get("openblas")
    iree = by_key.get("iree")
    head = ["implementation", "ms/call", "n", "GFLOP/s", "% peak", "× OpenBLAS", "× IREE"]
    if decode:
        head += ["GB/s (weights)", "% bw"]
    head += ["max rel err", "note"]
    lines = ["### %s — %.2f GFLOP/call%s" % (
        shape_title(t, d, f), fl / 1e9,
        (", %.0f MB of weights" % (weight_bytes(d, f) / 1e6)) if decode else ""), "",
        "| " + " | ".join(head) + " |",
        "|" + "|".join("---" if i in (0, len(head) - 1) else "--:" for i in range(len(head))) + "|"]
    for r in rows:
        if r.seconds is None:
            cells = [r.impl.label, "—", "", "", "", "", ""]
            if decode:
                cells += ["", ""]
            cells += ["", r.status]
        else:
            gflops = fl / r.seconds / 1e9
            cells = [r.impl.label, fmt_ms(r.seconds), str(r.n), "%.1f" % gflops,
                     fmt_num(100 * gflops / peak if peak else None),
                     fmt_ratio(r.seconds / ob.seconds if ob and ob.seconds else None),
                     fmt_ratio(r.seconds / iree.seconds if iree and iree.seconds else None)]
            if decode:
                gbs = weight_bytes(d, f) * getattr(r.impl, "weight_scale", 1.0) / r.seconds / 1e9
                cells += ["%.1f" % gbs, fmt_num(100 * gbs / bw if bw else None)]
            err = "%.1e" % r.error
            if r.wrong:
                err = "**%s WRONG**" % err
            cells += [err, r.note]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def summary_table(shapes, results):
    head = ["implementation"] + ["%s %d×%d T=%d" % ("decode" if t == 1 else "prefill", d, f, t)
                                 for t, d, f in shapes]
    lines = ["| " + " | ".join(head) + " |", "|---" + "|--:" * len(shapes) + "|"]
    keys = [r.impl.key for r in results[shapes[0]]]
    for i, key in enumerate(keys):
        cells = [results[shapes[0]][i].impl.label]
        for shape in shapes:
            rows = {r.impl.key: r for r in results[shape]}
            r, ob = rows[key], rows.get("openblas")
            if r.seconds is None:
                cells.append("—")
                continue
            cell = fmt_ms(r.seconds) + " ms"
            if ob is not None and ob.seconds and key != "openblas":
                cell += " (%s)" % fmt_ratio(r.seconds / ob.seconds)
            if r.wrong:
                cell += " WRONG"
            cells.append(cell)
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def main(argv):
    args = parse_args(argv)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    global np
    import numpy
    np = numpy
    sys.path.insert(0, str(ROOT / "python"))

    wall_start = time.perf_counter()
    out = []

    def emit(line=""):
        print(line, flush=True)
        out.append(line)

    others = OtherLoad()
    busy = cpu_busy_fraction()
    # Ceilings first. The FMA peak of N cores is taken as N x the one-thread
    # rate: a co-tenant on one CPU halves an N-thread measurement but not
    # what a core can do; the N-thread figure is printed too.
    fma1 = run_peak(args.peak_bin, "fma", 1)
    fma = run_peak(args.peak_bin, "fma", args.threads)
    bw = run_peak(args.peak_bin, "bw", args.threads)
    peak = args.threads * fma1[0] if fma1[0] else None
    bandwidth = bw[1]  # a ceiling: the best of the repetitions

    impls = [Ours("fast"), Ours("bf16"), Ours("bf16-rh"), Ours("reference"),
             OpenBLAS(args.openblas_lib, args.openblas_error, args.threads),
             Numpy(args.threads),
             IREE(args.threads, args.swiglu_opt, args.iree_error),
             Torch(False, args.threads), Torch(True, args.threads)]
    if args.only:
        wanted = set(args.only.split(","))
        impls = [i for i in impls if i.key in wanted]

    emit("# SwiGLU FFN benchmark, f32, PyTorch layout ([out, in] weights)")
    emit()
    emit("- command: `%s`" % args.command)
    emit("- date: %s" % datetime.datetime.now().strftime("%Y-%m-%d %H:%M"))
    emit("- machine: %s, %d CPUs, %.0f GB; %d threads per library; CPUs busy with other "
         "processes just before the run: %s" % (
             cpu_model(), os.cpu_count(),
             os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9, args.threads,
             "%.0f%%" % (100 * busy) if busy is not None else "?"))
    emit("- FP32 FMA peak (bench/peak.c, independent AVX-512 FMA chains): **%s GFLOP/s** = "
         "%d × %s on 1 thread; %d threads measured together: %s%s" % (
             fmt_num(peak), args.threads, fmt_num(fma1[0]), args.threads, fmt_num(fma[0]),
             (" — " + (fma1[2] or fma[2])) if (fma1[2] or fma[2]) else ""))
    emit("- memory read bandwidth (bench/peak.c, sum of a 1 GiB array, %d threads): "
         "**%s GB/s** (best of 7; median %s)%s" % (args.threads, fmt_num(bandwidth),
                                                   fmt_num(bw[0]),
                                                   (" — " + bw[2]) if bw[2] else ""))
    for impl in impls:
        config = getattr(impl, "config", None)
        if config:
            emit("- %s: %s" % (impl.label, config))
    if args.compiler_info:
        emit("- C pieces: %s" % args.compiler_info)
    emit("- ms/call: median of n calls; %% peak and %% bw: shares of the ceilings above; "
         "× OpenBLAS / × IREE: time ratios (2.00× = twice as slow); max rel err: "
         "max|y − y64| / max|y64| against numpy float64 on the same inputs (WRONG above %g)."
         % TOLERANCE)
    emit()

    results = {}
    rates = {}
    group = None
    for t, d, f in args.shape_list:
        if group is None or (group.d, group.f) != (d, f):
            group = None  # free the previous weights first
            group = Group(d, f, args.seed)
        ref = group.reference(t)
        rows = measure_shape(impls, group, t, ref, args, rates)
        results[(t, d, f)] = rows
        for line in shape_table(t, d, f, rows, peak, bandwidth):
            emit(line)
        emit()
    group = None

    emit("## Summary: ms per call (time relative to OpenBLAS)")
    emit()
    for line in summary_table(args.shape_list, results):
        emit(line)
    emit()
    wrong = [(shape, r.impl.label) for shape, rows in results.items() for r in rows if r.wrong]
    emit("- correctness: %s" % ("every implementation that ran matches float64 (max rel err "
                                "≤ %g)" % TOLERANCE if not wrong else "WRONG: " + "; ".join(
                                    "%s at %s" % (label, shape_title(*shape))
                                    for shape, label in wrong)))
    fma_end = run_peak(args.peak_bin, "fma", 1)
    share = others.share()
    emit("- FMA peak of 1 thread again at the end: %s GFLOP/s; CPU time of other processes "
         "during the run: %s of the machine%s" % (
             fmt_num(fma_end[0]), "?" if share is None else "%.0f%%" % (100 * share),
             " (a co-tenant: expect noisy, slower multi-threaded rows)"
             if share is not None and share > 0.1 else ""))
    emit("- wall time of the benchmark (after setup): %.0f s" % (time.perf_counter() - wall_start))

    if args.results:
        pathlib.Path(args.results).write_text(
            "<!-- written by bench/ffn_bench.py: the last run of bench/run.sh -->\n"
            + "\n".join(out) + "\n")
        print("\n(written to %s)" % os.path.relpath(args.results, os.getcwd()))
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
