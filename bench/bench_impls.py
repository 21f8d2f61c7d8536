"""The implementations of bench/ffn_bench.py's rows: ours (fast pipeline f32,
bf16, AVX2; the reference lowering), OpenBLAS (C, through ctypes), numpy,
IREE and PyTorch (eager, torch.compile). Imported only by the per-thread-count
worker processes, after OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and, for the
AVX2 PyTorch row, ATEN_CPU_CAPABILITY are in the environment.

Each implementation has: key, label, slow (first call timed, few repetitions),
reason (None when usable, else why its row has no number), config (a line for
the header, or None), and prepare(group, T) -> (callable returning y [T, D] as
numpy, note). Optional: reference(group, T) (its own float64 result),
tolerance, weight_scale (bytes of weights relative to f32), isa ("avx2" for
the rows limited to AVX2, compared with each other)."""

import ctypes
import glob
import importlib.metadata
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np

from bench_report import TOLERANCE, TORCH_AVX2_ENV, plural, short


def package_version(name):
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


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


AVX2_OPTIONS = "target-cpu=x86-64-v3 vector-bits=256 micro-vectors=2"


class Ours:
    """Our compiler through the Python package. kind 'fast' is
    --glu-cpu-pipeline on f32 (weights packed once by the emitted packing
    function, outside the timing); 'bf16' the same block with bf16
    activations and weights (AVX512-BF16 dot products where the CPU has them),
    'bf16-rh' with the hidden rounded to bf16 too; 'avx2' the f32 block for
    x86-64-v3 (AVX2 + FMA, 256-bit vectors, the 6x2 micro-kernel); 'reference'
    the reference lowering: plain linalg -> loops, what upstream MLIR gives
    without our kernels (one thread). The fast pipeline's kernels are compiled
    for `threads` workers (its `threads` option)."""

    def __init__(self, kind, threads):
        self.kind = kind
        self.threads = threads
        self.key = {"fast": "ours", "bf16": "ours-bf16", "bf16-rh": "ours-bf16-rh",
                    "avx2": "ours-avx2", "reference": "ours-reference"}[kind]
        self.label = {"fast": "ours (glu-cpu-pipeline), f32",
                      "bf16": "ours, bf16 x and weights",
                      "bf16-rh": "ours, bf16, round-hidden",
                      "avx2": "ours, AVX2 (vector-bits=256, micro-vectors=2), f32",
                      "reference": "upstream linalg lowering (ours, reference pipeline)"}[kind]
        self.isa = "avx2" if kind == "avx2" else None
        self.slow = kind == "reference"  # plain loops: first call timed, few calls
        self.bf16 = kind.startswith("bf16")
        self.tolerance = 1e-2 if self.bf16 else TOLERANCE
        self.weight_scale = 0.5 if self.bf16 else 1.0
        self.options = None
        if kind != "reference":
            self.options = " ".join(["threads=%d" % threads]
                                    + (["round-hidden=true"] if kind == "bf16-rh" else [])
                                    + ([AVX2_OPTIONS] if kind == "avx2" else []))
        self.config = ("compile(options=%r)" % self.options) if self.options else None
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
                                    fuse=False, options=self.options)
            compile_s = time.perf_counter() - start
            weights = dict(w_gate=group.wg, w_up=group.wu, w_down=group.wd)
            if dtype == "bf16":
                weights = {k: self._bf16(v) for k, v in weights.items()}
            if self.kind == "reference":
                ffn = lambda x, c=compiled, w=weights: c(x, **w)
                note += "; one thread; compiled in %.2f s" % compile_s
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
        return call, "%s; %s" % (plural(self.threads, "thread"), "sgemv" if t == 1 else "sgemm")


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
        return call, plural(self.threads, "thread") if self.threads else \
            "threads from OPENBLAS_NUM_THREADS"


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
    """PyTorch eager or torch.compile; `isa` 'avx2': eager in a process with
    TORCH_AVX2_ENV, checked through torch.backends.cpu.get_cpu_capability()."""
    slow = False

    def __init__(self, compiled, threads, isa=None):
        self.compiled = compiled
        self.isa = isa
        self.key = "torch-compile" if compiled else "torch-eager"
        self.label = "torch.compile" if compiled else "PyTorch eager"
        if isa == "avx2":
            self.key += "-avx2"
            self.label += ", AVX2"
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
        try:
            capability = torch.backends.cpu.get_cpu_capability()
        except AttributeError:
            capability = "?"
        self.config = "torch %s, %s, ATen CPU capability %s%s" % (
            torch.__version__, plural(torch.get_num_threads(), "thread"), capability,
            "".join("; %s=%s" % (k, os.environ[k]) for k in TORCH_AVX2_ENV if k in os.environ))
        if isa == "avx2" and capability != "AVX2":
            self.reason = "ATEN_CPU_CAPABILITY=avx2 not in effect (capability %s)" % capability

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


