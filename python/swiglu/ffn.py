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
import os
import pathlib
import shutil
import subprocess
import tempfile

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

    def mlir(self, name="ffn"):
        """The block as a function `@name(x: [?, d_model], weights...) -> [?, d_out]`."""
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
        return ("func.func @%s(%s) -> %s {\n  %%y = %s%s -> %s\n  return %%y : %s\n}\n"
                % (name, ", ".join(args), y_type, "\n      ".join(pieces), attr_dict,
                   y_type, y_type))

    def compile(self, fuse=True):
        """Compiles the block for this CPU; `fuse` streams the hidden through
        the down projection (glu-fuse-ffn) instead of materializing it."""
        passes = "builtin.module(glu-fuse-ffn)" if fuse else None
        return CompiledFFN(self, compile_function(self.mlir("ffn"), "ffn", passes))


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


class CompiledFunction:
    """A function compiled by swigluCompileModule and loaded: calls take and
    return numpy arrays (rank and element type fixed by the signature)."""

    def __init__(self, object_code, name, arg_ranks, result_rank):
        self._dir = tempfile.TemporaryDirectory(prefix="swiglu-")
        d = pathlib.Path(self._dir.name)
        (d / "f.o").write_bytes(object_code)
        # libm (expf, erff, tanhf) and libc (malloc, free) resolve from the
        # process at load time; memrefCopy from MLIR's runtime library.
        runtime = "/usr/lib/llvm-22/lib"
        proc = subprocess.run(
            [_linker(), "-shared", "-o", str(d / "f.so"), str(d / "f.o"),
             "-L" + runtime, "-rpath", runtime, "-lmlir_c_runner_utils"],
            capture_output=True, text=True)
        if proc.returncode != 0:
            raise SwigluError("linking the compiled code failed: " + proc.stderr.strip())
        self._so = ctypes.CDLL(str(d / "f.so"))
        self._fn = getattr(self._so, "_mlir_ciface_" + name)
        self._arg_types = [_descriptor_type(r) for r in arg_ranks]
        self._result_type = _descriptor_type(result_rank)
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

    def call(self, arrays, result_dtype):
        """Calls with C-contiguous `arrays`; returns the result as a new array."""
        descs = [self._describe(a, t) for a, t in zip(arrays, self._arg_types)]
        result = self._result_type()
        self._fn(ctypes.byref(result), *[ctypes.byref(d) for d in descs])
        rank = len(result.sizes) if hasattr(result, "sizes") else 0
        shape = tuple(result.sizes[i] for i in range(rank))
        strides = tuple(result.strides[i] * result_dtype.itemsize for i in range(rank))
        count = int(np.prod(shape)) if shape else 1
        base = result.aligned + result.offset * result_dtype.itemsize
        if count == 0:
            out = np.empty(shape, result_dtype)
        else:
            extent = sum((n - 1) * s for n, s in zip(shape, strides)) + result_dtype.itemsize
            raw = (ctypes.c_uint8 * extent).from_address(base)
            out = np.ndarray(shape, result_dtype, buffer=raw, strides=strides).copy()
        # The result is a fresh allocation the caller owns, unless the
        # function returned one of its arguments.
        if result.allocated and result.allocated not in {a.ctypes.data for a in arrays}:
            self._free(result.allocated)
        return out


def compile_function(mlir_text, name, passes=None):
    """Compiles function `name` of `mlir_text` (ranked tensors in and one
    ranked tensor out) for this CPU."""
    ctx = _capi.Context()
    try:
        code = ctx.compile(mlir_text, "cpu", passes)
    finally:
        ctx.close()
    return code


class CompiledFFN:
    """A compiled FFNSpec: `y = ffn(x, w_gate=..., w_up=..., w_down=..., ...)`
    with x of shape [..., d_model] in the spec's dtype and each weight and bias
    of exactly the spec's shape and dtype; returns [..., d_out]."""

    def __init__(self, spec, object_code):
        self.spec = spec
        self._operands = spec.operands()
        ranks = [2] + [len(shape) for _, shape, _, _ in self._operands]
        self._function = CompiledFunction(object_code, "ffn", ranks, 2)

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

    def __call__(self, x, **weights):
        spec = self.spec
        names = [n for n, _, _, _ in self._operands]
        unknown = sorted(set(weights) - set(names))
        missing = [n for n in names if n not in weights]
        if unknown or missing:
            raise TypeError("expected the arrays %s; %s" % (
                ", ".join(names),
                "; ".join(filter(None, ["missing: " + ", ".join(missing) if missing else "",
                                        "unexpected: " + ", ".join(unknown) if unknown else ""]))))
        if not isinstance(x, np.ndarray) or x.ndim < 1 or x.shape[-1] != spec.d_model:
            raise ValueError("x must be an array of shape [..., %d], got %s" % (
                spec.d_model, getattr(x, "shape", type(x).__name__)))
        x = self._check("x", x, None, spec.dtype)
        batch = x.shape[:-1]
        arrays = [np.ascontiguousarray(x.reshape(-1, spec.d_model))]
        for name, shape, dtype, _ in self._operands:
            arrays.append(self._check(name, weights[name], shape, dtype))
        y = self._function.call(arrays, numpy_dtype(spec.dtype))
        return y.reshape(batch + (spec.out_features,))
