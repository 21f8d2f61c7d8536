"""Describe a feed-forward block, get its glu IR, compile it, call it.

    import numpy as np, swiglu
    spec = swiglu.FFNSpec(d_model=64, d_ff=176, activation="silu")
    ffn = spec.compile()                       # CPU, through libSwigluCAPI.so
    y = ffn(x, w_gate=wg, w_up=wu, w_down=wd)  # numpy in, numpy out

The compiled block is an ELF object (swigluCompileModule) linked into a
shared library with lld and called through its C entry point with memref
descriptors built over the numpy buffers (no copies of C-contiguous inputs).
"""

import ctypes
import dataclasses
import functools
import os
import pathlib
import shutil
import subprocess
import tempfile
import weakref

import numpy as np

from . import _capi
from ._capi import SwigluError

try:
    import ml_dtypes
except ImportError:  # bf16 needs ml_dtypes
    ml_dtypes = None

ACTIVATIONS = ("sigmoid", "identity", "relu", "gelu_erf", "gelu_tanh", "silu",
               "swish", "clamped_swiglu")
DTYPES = ("f32", "f16", "bf16")


def numpy_dtype(dtype):
    """The numpy dtype of an MLIR element type name."""
    if dtype == "f32":
        return np.dtype(np.float32)
    if dtype == "f16":
        return np.dtype(np.float16)
    if dtype == "bf16":
        if ml_dtypes is None:
            raise SwigluError("bf16 needs the ml_dtypes package")
        return np.dtype(ml_dtypes.bfloat16)
    raise SwigluError("unknown dtype %r (expected one of %s)" % (dtype, DTYPES))


@dataclasses.dataclass(frozen=True)
class FFNSpec:
    """A feed-forward block: gated (`glu.ffn`) or not (`glu.mlp`).

    Weights follow `layout`: 'out_in' is PyTorch's nn.Linear ([out, in]),
    'in_out' is [in, out]. A gated block takes `w_gate` and `w_up`, or one
    merged `w_gate_up` when `packing` is 'concat' or 'interleaved'. `bias`
    adds a bias to every projection.
    """

    d_model: int
    d_ff: int
    activation: str = "silu"
    gated: bool = True
    dtype: str = "f32"
    weight_dtype: str = None  # default: dtype
    layout: str = "out_in"
    packing: str = None  # None: separate gate/up weights
    bias: bool = False
    d_out: int = None  # default: d_model
    beta: float = None
    alpha: float = None
    limit: float = None

    def __post_init__(self):
        for name in ("d_model", "d_ff"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise SwigluError("%s must be a positive integer, got %r" % (name, value))
        if self.d_out is not None and (not isinstance(self.d_out, int) or self.d_out < 1):
            raise SwigluError("d_out must be a positive integer, got %r" % (self.d_out,))
        if self.activation not in ACTIVATIONS:
            raise SwigluError("unknown activation %r (expected one of %s)" % (
                self.activation, ", ".join(ACTIVATIONS)))
        if not self.gated and self.activation == "clamped_swiglu":
            raise SwigluError("clamped_swiglu gates an up projection: it needs gated=True")
        if not self.gated and self.packing:
            raise SwigluError("packing applies to a gated block's merged gate/up weight")
        for name in ("dtype", "weight_dtype"):
            value = getattr(self, name)
            if value is not None and value not in DTYPES:
                raise SwigluError("unknown %s %r (expected one of %s)" % (
                    name, value, ", ".join(DTYPES)))
        if self.layout not in ("out_in", "in_out"):
            raise SwigluError("layout must be 'out_in' or 'in_out', got %r" % (self.layout,))
        if self.packing not in (None, "concat", "interleaved"):
            raise SwigluError("packing must be None, 'concat' or 'interleaved', got %r"
                              % (self.packing,))

    # -- shapes -------------------------------------------------------------

    @property
    def out_features(self):
        return self.d_out or self.d_model

    def _matrix(self, n_out, n_in):
        return (n_out, n_in) if self.layout == "out_in" else (n_in, n_out)

    def operands(self):
        """(name, shape, dtype, glu keyword) of every weight and bias, in the
        order the compiled function takes them after x."""
        D, F, O = self.d_model, self.d_ff, self.out_features
        w, x = self.weight_dtype or self.dtype, self.dtype
        ops = []
        if not self.gated:
            ops += [("w_up", self._matrix(F, D), w, "up"),
                    ("w_down", self._matrix(O, F), w, "down")]
            if self.bias:
                ops += [("b_up", (F,), x, "up_bias"), ("b_down", (O,), x, "down_bias")]
            return ops
        if self.packing:
            ops.append(("w_gate_up", self._matrix(2 * F, D), w, "gate_up"))
        else:
            ops += [("w_gate", self._matrix(F, D), w, "gate"),
                    ("w_up", self._matrix(F, D), w, "up")]
        ops.append(("w_down", self._matrix(O, F), w, "down"))
        if self.bias:
            if self.packing:
                ops.append(("b_gate_up", (2 * F,), x, "gate_up_bias"))
            else:
                ops += [("b_gate", (F,), x, "gate_bias"), ("b_up", (F,), x, "up_bias")]
            ops.append(("b_down", (O,), x, "down_bias"))
        return ops

    # -- IR -----------------------------------------------------------------

    def mlir(self, name="ffn", into=False):
        """The block as a function `@name(x: [?, d_model], weights...) -> [?, d_out]`,
        or with `into`, in destination-passing style: `@name(x, weights...,
        out: memref<?x d_out>)`, the result written into the caller's `out`
        (the kernels store into it directly: no allocation, no copy)."""
        def tensor(shape, dtype):
            return "tensor<%sx%s>" % ("x".join(str(d) for d in shape), dtype)

        x_type = "tensor<?x%dx%s>" % (self.d_model, self.dtype)
        y_type = "tensor<?x%dx%s>" % (self.out_features, self.dtype)
        ops = self.operands()
        args = ["%%x: %s" % x_type] + ["%%%s: %s" % (n, tensor(s, d)) for n, s, d, _ in ops]
        pieces = ["glu.%s %s %%x : %s" % ("ffn" if self.gated else "mlp",
                                          self.activation, x_type)]
        pieces += ["%s %%%s : %s" % (kw, n, tensor(s, d)) for n, s, d, kw in ops]
        if self.packing:
            pieces.append("packing " + self.packing)
        if self.layout != "out_in":
            pieces.append("layout " + self.layout)
        attrs = ["%s = %r : f32" % (k, float(v)) for k, v in
                 (("beta", self.beta), ("alpha", self.alpha), ("limit", self.limit))
                 if v is not None]
        attr_dict = (" {%s}" % ", ".join(attrs)) if attrs else ""
        if into:
            out_type = "memref<?x%dx%s>" % (self.out_features, self.dtype)
            return ("func.func @%s(%s, %%out: %s) {\n  %%y = %s%s -> %s\n"
                    "  bufferization.materialize_in_destination %%y in restrict writable "
                    "%%out : (%s, %s) -> ()\n  return\n}\n"
                    % (name, ", ".join(args), out_type, "\n      ".join(pieces), attr_dict,
                       y_type, y_type, out_type))
        return ("func.func @%s(%s) -> %s {\n  %%y = %s%s -> %s\n  return %%y : %s\n}\n"
                % (name, ", ".join(args), y_type, "\n      ".join(pieces), attr_dict,
                   y_type, y_type))

    def compile(self, target="cpu", fuse=True, options=None, openmp=None):
        """Compiles the block for this CPU. `target` 'cpu' is the fast
        pipeline (--glu-cpu-pipeline: packed weights, vector kernels,
        threads), with its `options` as a string (e.g. 'threads=2
        round-hidden=true'); 'cpu-reference' the reference lowering, where
        `fuse` streams the hidden through the down projection
        (glu-fuse-ffn). `openmp` picks the OpenMP runtime the code runs its
        threads on (see openmp_runtime: 'auto', 'libomp' or 'gomp')."""
        if target not in ("cpu", "cpu-reference"):
            raise SwigluError("target must be 'cpu' or 'cpu-reference', got %r" % (target,))
        if options and target != "cpu":
            raise SwigluError("options apply to the 'cpu' target only")
        passes = ("builtin.module(glu-fuse-ffn)"
                  if fuse and target == "cpu-reference" else None)
        # A tuning cache of swiglu.tune, when SWIGLU_TUNING_CACHE names one
        # and the options do not name another.
        cache = os.environ.get("SWIGLU_TUNING_CACHE")
        if target == "cpu" and cache and "tuning-cache=" not in (options or ""):
            options = ((options or "") + " tuning-cache=" + cache).strip()
        full = "%s{%s}" % (target, options) if options else target
        return CompiledFFN(self, compile_function(self.mlir("ffn", into=True), "ffn",
                                                  passes, full),
                           target, openmp)

    def gpu_bundle(self, directory, chip="sm_90"):
        """Writes a GPU kernel bundle for the block to `directory` (created if
        needed), in the format of `swiglu-gpu-compile` and the launcher
        `swiglu-gpu-run` (README, GPU): `kernels.ptx` from --glu-gpu-pipeline
        (no CUDA needed), `kernels.cubin` when ptxas is found, and
        `manifest.json` with the launch records of @ffn. Returns the path of
        the manifest."""
        import json
        directory = pathlib.Path(directory)
        text = self.mlir("ffn")
        ctx = _capi.Context()
        try:
            ptx = ctx.compile(text, "gpu-ptx:" + chip).decode()
            entries = json.loads(ctx.compile(text, "gpu-manifest:" + chip).decode())
        finally:
            ctx.close()
        if ".entry" not in ptx or "ffn" not in entries:
            raise SwigluError("the GPU pipeline produced no kernels for @ffn")
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "kernels.ptx").write_text(ptx)
        cubin = None
        ptxas = os.environ.get("SWIGLU_PTXAS") or shutil.which("ptxas") or (
            "/usr/local/cuda/bin/ptxas" if os.path.exists("/usr/local/cuda/bin/ptxas") else None)
        if ptxas:
            proc = subprocess.run([ptxas, "-arch=" + chip, "-O3", str(directory / "kernels.ptx"),
                                   "-o", str(directory / "kernels.cubin")],
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                raise SwigluError("ptxas failed: " + proc.stderr.strip())
            cubin = "kernels.cubin"
        manifest = {
            "format": "swiglu-gpu-bundle", "version": 1, "chip": chip,
            "features": "+ptx80", "pipeline_options": "", "ptx": "kernels.ptx",
            "cubin": cubin,
            "abi": "kernel parameters in order: a buffer argument is 5 parameters "
                   "(ptr allocated, ptr aligned, i64 offset = 0, i64 elements, "
                   "i64 stride = 1), a size:<name> argument one i64",
            "entries": entries}
        path = directory / "manifest.json"
        tmp = directory / "manifest.json.tmp"
        tmp.write_text(json.dumps(manifest, indent=2) + "\n")
        os.replace(tmp, path)
        return path


# ---------------------------------------------------------------------------
# Compiled functions
# ---------------------------------------------------------------------------


def _descriptor_type(rank):
    """ctypes struct of a rank-`rank` memref descriptor."""
    fields = [("allocated", ctypes.c_void_p), ("aligned", ctypes.c_void_p),
              ("offset", ctypes.c_int64)]
    if rank:
        fields += [("sizes", ctypes.c_int64 * rank), ("strides", ctypes.c_int64 * rank)]
    return type("MemRef%dD" % rank, (ctypes.Structure,), {"_fields_": fields})


def _linker():
    for candidate in (os.environ.get("SWIGLU_LINKER"), "/usr/lib/llvm-22/bin/ld.lld",
                      shutil.which("ld.lld-22"), shutil.which("ld.lld")):
        if candidate and os.path.exists(candidate):
            return candidate
    raise SwigluError("no ld.lld found (install lld-22 or set SWIGLU_LINKER)")


OPENMP_RUNTIMES = ("auto", "libomp", "gomp")


def _loaded(soname):
    """Whether a library of this soname is already loaded in the process."""
    try:
        ctypes.CDLL(soname, mode=os.RTLD_NOLOAD | os.RTLD_LAZY)
        return True
    except OSError:
        return False


def gomp_bridge_path():
    """libSwigluGompBridge.so, next to libSwigluCAPI.so."""
    return _capi.library_path().parent / "libSwigluGompBridge.so"


def openmp_runtime(choice=None):
    """The OpenMP runtime compiled code is linked with: `choice`, else
    $SWIGLU_OPENMP, else 'auto'. 'libomp' is LLVM's runtime (its own thread
    pool); 'gomp' runs the parallel regions on the threads of the libgomp the
    process has (PyTorch's), through libSwigluGompBridge.so; 'auto' is
    'gomp' when libgomp is already loaded (after `import torch`), else
    'libomp'."""
    choice = choice or os.environ.get("SWIGLU_OPENMP") or "auto"
    if choice not in OPENMP_RUNTIMES:
        raise SwigluError("the OpenMP runtime must be one of %s, got %r" % (
            ", ".join(repr(r) for r in OPENMP_RUNTIMES), choice))
    if choice == "auto":
        choice = "gomp" if _loaded("libgomp.so.1") and gomp_bridge_path().exists() \
            else "libomp"
    elif choice == "gomp" and not gomp_bridge_path().exists():
        raise SwigluError("openmp='gomp' needs %s (build the project)" % gomp_bridge_path())
    return choice


class Library:
    """An object file from swigluCompileModule, linked into a shared library
    and loaded. `openmp` chooses the OpenMP runtime (openmp_runtime)."""

    def __init__(self, object_code, openmp=None):
        self.openmp = openmp_runtime(openmp)
        self._dir = tempfile.TemporaryDirectory(prefix="swiglu-")
        d = pathlib.Path(self._dir.name)
        (d / "f.o").write_bytes(object_code)
        # libm (expf, erff, tanhf) and libc (malloc, free) resolve from the
        # process at load time; memrefCopy from MLIR's runtime library, the
        # OpenMP entry points of the fast pipeline from libomp or the bridge.
        runtime = "/usr/lib/llvm-22/lib"
        if self.openmp == "gomp":
            bridge = gomp_bridge_path()
            openmp_args = [str(bridge), "-rpath", str(bridge.parent)]
        else:
            openmp_args = ["-lomp"]
        proc = subprocess.run(
            [_linker(), "-shared", "-o", str(d / "f.so"), str(d / "f.o"),
             "-L" + runtime, "-rpath", runtime, "--as-needed", "-lmlir_c_runner_utils"]
            + openmp_args,
            capture_output=True, text=True)
        if proc.returncode != 0:
            raise SwigluError("linking the compiled code failed: " + proc.stderr.strip())
        self.so = ctypes.CDLL(str(d / "f.so"))

    def has(self, name):
        return hasattr(self.so, "_mlir_ciface_" + name)


class CompiledFunction:
    """A compiled function of a Library: calls take and return numpy arrays
    (ranks and element types fixed by the signature). A function of no
    results (`result_ranks` []) is one in destination-passing style: `call`
    then returns None, its results being written into its memref
    arguments."""

    def __init__(self, library, name, arg_ranks, result_ranks):
        if isinstance(library, (bytes, bytearray)):
            library = Library(library)
        self._library = library
        if isinstance(result_ranks, int):
            result_ranks = [result_ranks]
        self._single = len(result_ranks) == 1
        self._fn = getattr(library.so, "_mlir_ciface_" + name)
        self._arg_types = [_descriptor_type(r) for r in arg_ranks]
        result_types = [_descriptor_type(r) for r in result_ranks]
        self._result_type = None
        if not result_types:
            self._fn.argtypes = [ctypes.POINTER(t) for t in self._arg_types]
            self._fn.restype = None
        elif self._single:
            self._result_type = result_types[0]
        else:
            self._result_type = type("Results", (ctypes.Structure,), {
                "_fields_": [("r%d" % i, t) for i, t in enumerate(result_types)]})
        if self._result_type is not None:
            self._fn.argtypes = [ctypes.POINTER(self._result_type)] + [
                ctypes.POINTER(t) for t in self._arg_types]
            self._fn.restype = None
        self._free = ctypes.CDLL(None).free
        self._free.argtypes = [ctypes.c_void_p]

    @staticmethod
    def _describe(array, type_):
        desc = type_()
        ptr = array.ctypes.data
        desc.allocated = desc.aligned = ptr
        desc.offset = 0
        for i, n in enumerate(array.shape):
            desc.sizes[i] = n
            desc.strides[i] = array.strides[i] // array.itemsize
        return desc

    def _take(self, result, dtype, arrays):
        """The result `result` (a descriptor) as an array: the buffer the
        function allocated, wrapped without a copy and freed when the array
        is, or a copy where the function returned one of its arguments."""
        rank = len(result.sizes) if hasattr(result, "sizes") else 0
        shape = tuple(result.sizes[i] for i in range(rank))
        strides = tuple(result.strides[i] * dtype.itemsize for i in range(rank))
        count = int(np.prod(shape)) if shape else 1
        base = result.aligned + result.offset * dtype.itemsize
        # The result is a fresh allocation the caller owns, unless the
        # function returned one of its arguments.
        owned = bool(result.allocated) and \
            result.allocated not in {a.ctypes.data for a in arrays}
        if count == 0:
            if owned:
                self._free(result.allocated)
            return np.empty(shape, dtype)
        extent = sum((n - 1) * s for n, s in zip(shape, strides)) + dtype.itemsize
        raw = (ctypes.c_uint8 * extent).from_address(base)
        out = np.ndarray(shape, dtype, buffer=raw, strides=strides)
        if not owned:
            return out.copy()
        # `out` keeps `raw` alive; the buffer is freed with the last of them.
        weakref.finalize(raw, self._free, result.allocated)
        return out

    def call(self, arrays, result_dtype):
        """Calls with C-contiguous `arrays`; returns the result as a new array
        (a list of arrays for several results; `result_dtype` is then a list
        too)."""
        descs = [self._describe(a, t) for a, t in zip(arrays, self._arg_types)]
        if self._result_type is None:
            self._fn(*[ctypes.byref(d) for d in descs])
            return None
        result = self._result_type()
        self._fn(ctypes.byref(result), *[ctypes.byref(d) for d in descs])
        if self._single:
            return self._take(result, result_dtype, arrays)
        return [self._take(getattr(result, "r%d" % i), dt, arrays)
                for i, dt in enumerate(result_dtype)]


def compile_function(mlir_text, name, passes=None, target="cpu-reference"):
    """Compiles `mlir_text` (whose function `name` takes ranked tensors and
    returns one) for this CPU; returns the object code."""
    ctx = _capi.Context()
    try:
        code = ctx.compile(mlir_text, target, passes)
    finally:
        ctx.close()
    return code


class CompiledFFN:
    """A compiled FFNSpec: `y = ffn(x, w_gate=..., w_up=..., w_down=..., ...)`
    with x of shape [..., d_model] in the spec's dtype and each weight and bias
    of exactly the spec's shape and dtype; returns [..., d_out].

    With the fast target the weights are packed for the kernels: `bind(...)`
    packs them once and returns a callable `y = bound(x)`; calling the
    CompiledFFN itself packs them on every call."""

    def __init__(self, spec, object_code, target="cpu-reference", openmp=None):
        self.spec = spec
        self._operands = spec.operands()
        library = Library(object_code, openmp)
        self.openmp = library.openmp  # the OpenMP runtime it was linked with
        # convert-glu-to-cpu-kernels packs every weight matrix (rank 2) in
        # @ffn_pack_weights; the function takes the panels (rank 3) first.
        self._matrices = [i for i, (_, shape, _, _) in enumerate(self._operands)
                          if len(shape) == 2] if library.has("ffn_pack_weights") else []
        if self._matrices:
            packed = 2 if spec.gated and not spec.packing else 1
            packed = len(self._matrices) - packed + 1
            self._pack = CompiledFunction(library, "ffn_pack_weights",
                                          [2] * len(self._matrices), [3] * packed)
            self._packed_count = packed
            rest = [len(shape) for i, (_, shape, _, _) in enumerate(self._operands)
                    if i not in self._matrices]
            ranks = [2] + [3] * packed + rest
        else:
            ranks = [2] + [len(shape) for _, shape, _, _ in self._operands]
        # Destination passing (FFNSpec.mlir(into=True)): the result's buffer
        # is the last argument.
        self._function = CompiledFunction(library, "ffn", ranks + [2], [])

    def _check(self, name, array, shape, dtype):
        if not isinstance(array, np.ndarray):
            raise TypeError("%s must be a numpy array, got %s" % (name, type(array).__name__))
        want = numpy_dtype(dtype)
        if array.dtype != want:
            raise TypeError("%s must have dtype %s (%s), got %s" % (name, want, dtype, array.dtype))
        if shape is not None and tuple(array.shape) != tuple(shape):
            hint = ""
            if len(shape) == 2:
                hint = " (layout %s: %s)" % (self.spec.layout,
                                             "[out, in]" if self.spec.layout == "out_in" else "[in, out]")
            raise ValueError("%s must have shape %s%s, got %s" % (
                name, tuple(shape), hint, tuple(array.shape)))
        return np.ascontiguousarray(array)

    def _weights(self, weights):
        """The checked weight and bias arrays, in the function's order, with
        the matrices packed when the kernels want them packed."""
        names = [n for n, _, _, _ in self._operands]
        unknown = sorted(set(weights) - set(names))
        missing = [n for n in names if n not in weights]
        if unknown or missing:
            raise TypeError("expected the arrays %s; %s" % (
                ", ".join(names),
                "; ".join(filter(None, ["missing: " + ", ".join(missing) if missing else "",
                                        "unexpected: " + ", ".join(unknown) if unknown else ""]))))
        arrays = [self._check(name, weights[name], shape, dtype)
                  for name, shape, dtype, _ in self._operands]
        if not self._matrices:
            return arrays
        mats = [arrays[i] for i in self._matrices]
        packed_types = []
        for i in self._matrices:
            dtype = numpy_dtype(self._operands[i][2])
            packed_types.append(dtype)
        if self.spec.gated and not self.spec.packing and packed_types[0] != packed_types[1]:
            packed_types[0] = np.dtype(np.float32)
        if self.spec.gated and not self.spec.packing:
            packed_types = [packed_types[0]] + packed_types[2:]
        packed = self._pack.call(mats, packed_types if self._packed_count > 1
                                 else packed_types[0])
        if self._packed_count == 1:
            packed = [packed]
        rest = [a for i, a in enumerate(arrays) if i not in self._matrices]
        return packed + rest

    def _run(self, x, weight_arrays):
        spec = self.spec
        if not isinstance(x, np.ndarray) or x.ndim < 1 or x.shape[-1] != spec.d_model:
            raise ValueError("x must be an array of shape [..., %d], got %s" % (
                spec.d_model, getattr(x, "shape", type(x).__name__)))
        x = self._check("x", x, None, spec.dtype)
        batch = x.shape[:-1]
        x2 = np.ascontiguousarray(x.reshape(-1, spec.d_model))
        y = np.empty((x2.shape[0], spec.out_features), numpy_dtype(spec.dtype))
        self._function.call([x2] + weight_arrays + [y], None)
        return y.reshape(batch + (spec.out_features,))

    def __call__(self, x, **weights):
        return self._run(x, self._weights(weights))

    def bind(self, **weights):
        """Checks and packs the weights once; returns a `BoundFFN`, called as
        `f(x) -> y`."""
        return BoundFFN(self, self._weights(weights))


class BoundFFN:
    """A CompiledFFN with its weights checked and packed: `y = f(x)` on numpy
    arrays, or `f.call_into(x_address, tokens, out_address)` on C-contiguous
    buffers the caller owns: x [tokens, d_model] and out [tokens, d_out], of
    the spec's dtype (the PyTorch front end's path: the result is written
    into a tensor it allocated; no numpy array, the weights' memref
    descriptors built once).

    `call_into` goes through the _swiglu_call extension where it is built
    (`native` is True: a few hundred nanoseconds a call on top of the
    block), else through ctypes (about 2 us); the results are the same."""

    def __init__(self, compiled, arrays):
        self.compiled = compiled
        self.spec = compiled.spec
        self._arrays = arrays  # keeps the packed panels alive
        fn = compiled._function
        self._fn = fn._fn
        self._descs = [fn._describe(a, t) for a, t in zip(arrays, fn._arg_types[1:-1])]
        self._refs = tuple(ctypes.byref(d) for d in self._descs)
        self._x_type = fn._arg_types[0]
        self._out_type = fn._arg_types[-1]
        self._dtype = numpy_dtype(self.spec.dtype)
        # The descriptors' addresses, for the extension (kept alive with them).
        self._desc_addresses = (ctypes.c_void_p * max(1, len(self._descs)))(
            *[ctypes.addressof(d) for d in self._descs])
        native = _capi.native_call()
        self.native = native is not None
        if native is not None:
            # An instance attribute in place of the method: one C call.
            self.call_into = functools.partial(
                native, ctypes.cast(self._fn, ctypes.c_void_p).value,
                ctypes.addressof(self._desc_addresses), len(self._descs),
                self.spec.d_model, self.spec.out_features)

    def __call__(self, x):
        return self.compiled._run(x, self._arrays)

    def _descriptor(self, type_, address, rows, columns):
        desc = type_()
        desc.allocated = desc.aligned = address
        desc.sizes[0], desc.sizes[1] = rows, columns
        desc.strides[0], desc.strides[1] = columns, 1
        return desc

    def call_into(self, x_address, tokens, out_address):
        """Runs the block on `tokens` rows at `x_address` and writes the
        [tokens, d_out] result at `out_address` (both C-contiguous, of the
        spec's dtype, not overlapping, kept alive by the caller during the
        call). The descriptors of x and out are built per call, so that
        threads may share one BoundFFN. (Through ctypes; where the extension
        is built, an instance attribute of the same signature replaces it.)"""
        self._fn(ctypes.byref(self._descriptor(self._x_type, x_address, tokens,
                                               self.spec.d_model)),
                 *self._refs,
                 ctypes.byref(self._descriptor(self._out_type, out_address, tokens,
                                               self.spec.out_features)))
