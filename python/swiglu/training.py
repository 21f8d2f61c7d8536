"""The backward of a feed-forward block, compiled: glu.ffn_grad / glu.mlp_grad.

    spec = swiglu.FFNSpec(d_model=64, d_ff=176, activation="silu")
    grad = swiglu.training.compile_grad(spec, dropout=0.1)   # --glu-cpu-pipeline
    g = grad(x, dy, seed=7, w_gate=wg, w_up=wu, w_down=wd)
    g["x"], g["w_gate"], g["w_up"], g["w_down"]              # numpy arrays

The compiled function recomputes the hidden from x (and the dropout mask
from the seed): the forward keeps nothing d_ff-wide. See docs/training.md.
"""

import numpy as np

from ._capi import SwigluError
from .ffn import CompiledFunction, Library, compile_function, numpy_dtype


def _tensor(shape, dtype):
    return "tensor<%sx%s>" % ("x".join(str(d) for d in shape), dtype)


def pre_names(spec):
    """The kept pre-activations the backward takes with keep_pre=True."""
    return ("gate_pre", "up_pre") if spec.gated else ("up_pre",)


def grad_mlir(spec, dropout=0.0, name="ffn_grad", keep_pre=False):
    """`@name(x: [?, d_model], dy: [?, d_out], weights..., [seed: i64],
    [pre-activations: [?, d_ff] f32])` -> (dx, one gradient per weight and
    bias, in spec.operands() order)."""
    if not 0.0 <= dropout < 1.0:
        raise SwigluError("dropout must be in [0, 1), got %r" % (dropout,))
    x_type = "tensor<?x%dx%s>" % (spec.d_model, spec.dtype)
    dy_type = "tensor<?x%dx%s>" % (spec.out_features, spec.dtype)
    ops = spec.operands()
    args = ["%%x: %s" % x_type, "%%dy: %s" % dy_type]
    args += ["%%%s: %s" % (n, _tensor(s, d)) for n, s, d, _ in ops]
    if dropout:
        args.append("%seed: tensor<i64>")
    pre_type = "tensor<?x%dxf32>" % spec.d_ff
    if keep_pre:
        args += ["%%%s: %s" % (n, pre_type) for n in pre_names(spec)]
    result_types = [x_type] + [_tensor(s, d) for _, s, d, _ in ops]
    pieces = ["glu.%s %s %%x : %s grad %%dy : %s" % (
        "ffn_grad" if spec.gated else "mlp_grad", spec.activation, x_type, dy_type)]
    pieces += ["%s %%%s : %s" % (kw, n, _tensor(s, d)) for n, s, d, kw in ops]
    if dropout:
        pieces.append("seed %seed : tensor<i64>")
    if keep_pre:
        pieces += ["%s %%%s : %s" % (n, n, pre_type) for n in pre_names(spec)]
    if spec.packing:
        pieces.append("packing " + spec.packing)
    if spec.layout != "out_in":
        pieces.append("layout " + spec.layout)
    attrs = ["%s = %r : f32" % (k, float(v)) for k, v in
             (("beta", spec.beta), ("alpha", spec.alpha), ("limit", spec.limit),
              ("dropout", dropout or None)) if v is not None]
    attr_dict = (" {%s}" % ", ".join(attrs)) if attrs else ""
    n = len(result_types)
    types = ", ".join(result_types)
    return ("func.func @%s(%s) -> (%s) {\n  %%r:%d = %s%s\n      -> %s\n"
            "  return %s : %s\n}\n" % (
                name, ", ".join(args), types, n, "\n      ".join(pieces), attr_dict,
                types, ", ".join("%%r#%d" % i for i in range(n)), types))


class CompiledGrad:
    """A compiled glu.ffn_grad/glu.mlp_grad: `grads = f(x, dy, seed=0,
    **weights)`, a dict keyed "x" and like the weights."""

    def __init__(self, spec, object_code, dropout=0.0, keep_pre=False):
        self.spec = spec
        self.dropout = dropout
        self.keep_pre = keep_pre
        self._operands = spec.operands()
        self._library = Library(object_code)
        ranks = [2, 2] + [len(s) for _, s, _, _ in self._operands] + ([0] if dropout else [])
        ranks += [2] * len(pre_names(spec)) if keep_pre else []
        self._names = ["x"] + [n for n, _, _, _ in self._operands]
        self._dtypes = [numpy_dtype(spec.dtype)] + [numpy_dtype(d) for _, _, d, _ in self._operands]
        self._function = CompiledFunction(self._library, "ffn_grad", ranks,
                                          [2] + [len(s) for _, s, _, _ in self._operands])

    def __call__(self, x, dy, seed=0, **weights):
        """`weights` also holds the pre-activations (gate_pre, up_pre:
        [tokens, d_ff] float32) when compiled with keep_pre."""
        spec = self.spec
        x = np.asarray(x)
        batch = x.shape[:-1]
        arrays = [np.ascontiguousarray(x.reshape(-1, spec.d_model), dtype=self._dtypes[0]),
                  np.ascontiguousarray(np.asarray(dy).reshape(-1, spec.out_features),
                                       dtype=self._dtypes[0])]
        for (name, shape, _, _), dtype in zip(self._operands, self._dtypes[1:]):
            if name not in weights:
                raise TypeError("missing array %s" % name)
            a = np.ascontiguousarray(weights[name], dtype=dtype)
            if a.shape != tuple(shape):
                raise ValueError("%s must have shape %s, got %s" % (name, tuple(shape), a.shape))
            arrays.append(a)
        if self.dropout:
            arrays.append(np.array(np.uint64(int(seed) & (2**64 - 1)).view(np.int64)))
        if self.keep_pre:
            for name in pre_names(spec):
                arrays.append(np.ascontiguousarray(
                    np.asarray(weights[name]).reshape(-1, spec.d_ff), dtype=np.float32))
        out = self._function.call(arrays, self._dtypes)
        out[0] = out[0].reshape(batch + (spec.d_model,))
        return dict(zip(self._names, out))


def compile_grad(spec, dropout=0.0, target="cpu", options=None, keep_pre=False):
    """Compiles the backward of `spec` (an FFNSpec) with dropout `dropout`
    after the gating: 'cpu' is --glu-cpu-pipeline (with `options`),
    'cpu-reference' the reference pipeline. `keep_pre`: the function takes
    the forward's pre-activations instead of recomputing them.
    options="round-hidden=true" (either target): a bf16 block rounds the
    hidden, dg and du to bf16 as PyTorch's bf16 autograd does, and every
    GEMM of the backward runs AVX512-BF16 dot products where the CPU has
    them (reference_grad's round_bf16=True; docs/training.md)."""
    if target not in ("cpu", "cpu-reference"):
        raise SwigluError("target must be 'cpu' or 'cpu-reference', got %r" % (target,))
    full = "%s{%s}" % (target, options) if options else target
    code = compile_function(grad_mlir(spec, dropout, keep_pre=keep_pre), "ffn_grad", None, full)
    return CompiledGrad(spec, code, dropout, keep_pre)


def dropout_mlir(shape, dtype="f32", p=0.1, name="dropout"):
    """`@name(h: shape, seed: i64) -> shape`: glu.dropout."""
    t = _tensor(shape, dtype)
    return ("func.func @%s(%%h: %s, %%seed: tensor<i64>) -> %s {\n"
            "  %%y = glu.dropout %%h, %%seed {p = %r : f32} : %s, tensor<i64>\n"
            "  return %%y : %s\n}\n" % (name, t, t, float(p), t, t))


def compile_dropout(shape, dtype="f32", p=0.1, target="cpu"):
    """glu.dropout compiled: `y = f(h, seed)`."""
    code = compile_function(dropout_mlir(shape, dtype, p), "dropout", None, target)
    fn = CompiledFunction(Library(code), "dropout", [len(shape), 0], len(shape))
    npd = numpy_dtype(dtype)

    def run(h, seed):
        s = np.array(np.uint64(int(seed) & (2**64 - 1)).view(np.int64))
        return fn.call([np.ascontiguousarray(h, dtype=npd), s], npd)
    return run
