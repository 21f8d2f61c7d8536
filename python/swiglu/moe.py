"""Describe a mixture-of-experts block, get its glu IR, compile it, call it.

    import numpy as np, swiglu
    spec = swiglu.MoESpec(d_model=64, d_ff=96, experts=8, top_k=2, renormalize=True)
    moe = spec.compile()                          # glu.route + glu.moe, CPU
    bound = moe.bind(w_gate=wg, w_up=wu, w_down=wd)   # [E, F, D], [E, F, D], [E, D, F]
    y = bound(x, logits)                          # x [T, D], router logits [T, E] f32

The block is `glu.route` on the router logits (softmax, sigmoid or
topk_softmax scoring, the k best experts, optionally renormalized and
scaled) followed by `glu.moe` (each token's chosen experts' gated blocks,
weighted and summed), through the fast CPU pipeline (`glu-moe-to-experts`:
every expert's weights packed once by `bind`). Weights are PyTorch's
nn.Linear layout stacked over the experts: `w_gate`, `w_up` `[E, F, D]`,
`w_down` `[E, D, F]`. The router's own projection (`logits = x·Wrᵀ`) stays
with the caller, who usually needs the logits too (Hugging Face returns them
for the load-balancing loss).
"""

import ctypes
import dataclasses
import weakref

import numpy as np

from ._capi import SwigluError
from .ffn import (ACTIVATIONS, DTYPES, CompiledFunction, Library, compile_function,
                  numpy_dtype)

SCORINGS = ("softmax", "sigmoid", "topk_softmax")


@dataclasses.dataclass(frozen=True)
class MoESpec:
    """A routed mixture of `experts` gated blocks, `top_k` per token."""

    d_model: int
    d_ff: int
    experts: int
    top_k: int
    activation: str = "silu"
    dtype: str = "f32"          # x, the weights and the result; logits are f32
    scoring: str = "softmax"
    renormalize: bool = False
    scaling: float = None
    beta: float = None
    alpha: float = None
    limit: float = None

    def __post_init__(self):
        for name in ("d_model", "d_ff", "experts", "top_k"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise SwigluError("%s must be a positive integer, got %r" % (name, value))
        if self.top_k > self.experts:
            raise SwigluError("top_k (%d) cannot exceed experts (%d)" % (self.top_k,
                                                                          self.experts))
        if self.activation not in ACTIVATIONS:
            raise SwigluError("unknown activation %r (expected one of %s)" % (
                self.activation, ", ".join(ACTIVATIONS)))
        if self.dtype not in DTYPES:
            raise SwigluError("unknown dtype %r (expected one of %s)" % (
                self.dtype, ", ".join(DTYPES)))
        if self.scoring not in SCORINGS:
            raise SwigluError("unknown scoring %r (expected one of %s)" % (
                self.scoring, ", ".join(SCORINGS)))

    def weight_shapes(self):
        E, F, D = self.experts, self.d_ff, self.d_model
        return {"w_gate": (E, F, D), "w_up": (E, F, D), "w_down": (E, D, F)}

    def mlir(self, name="moe"):
        """`@name(x: [?, D], logits: [?, E] f32, w_gate, w_up, w_down) -> [?, D]`."""
        dt, D, E, k = self.dtype, self.d_model, self.experts, self.top_k
        t = lambda shape, ty: "tensor<%sx%s>" % ("x".join(map(str, shape)), ty)
        x_type, l_type = "tensor<?x%dx%s>" % (D, dt), "tensor<?x%dxf32>" % E
        ids_type, w_type = "tensor<?x%dxi32>" % k, "tensor<?x%dxf32>" % k
        shapes = self.weight_shapes()
        route_attrs = []
        if self.renormalize:
            route_attrs.append("renormalize")
        if self.scaling is not None:
            route_attrs.append("scaling = %r : f32" % float(self.scaling))
        act_attrs = ["%s = %r : f32" % (a, float(v)) for a, v in
                     (("beta", self.beta), ("alpha", self.alpha), ("limit", self.limit))
                     if v is not None]
        braces = lambda attrs: (" {%s}" % ", ".join(attrs)) if attrs else ""
        return (
            "func.func @{name}(%x: {x}, %logits: {l}, %w_gate: {g}, %w_up: {u}, %w_down: {d})"
            " -> {x} {{\n"
            "  %ids, %w = glu.route {scoring} %logits : {l} top_k {k}{ra} -> {it}, {wt}\n"
            "  %y = glu.moe {act} %x : {x} experts %ids : {it} weights %w : {wt}\n"
            "      gate %w_gate : {g} up %w_up : {u} down %w_down : {d}{aa} -> {x}\n"
            "  return %y : {x}\n}}\n").format(
                name=name, x=x_type, l=l_type, g=t(shapes["w_gate"], dt),
                u=t(shapes["w_up"], dt), d=t(shapes["w_down"], dt), scoring=self.scoring,
                k=k, ra=braces(route_attrs), it=ids_type, wt=w_type, act=self.activation,
                aa=braces(act_attrs))

    def compile(self, options=None, openmp=None):
        """Compiles the block with the fast CPU pipeline (`options`: its
        options as a string, e.g. 'threads=2'; `openmp`: see
        swiglu.ffn.openmp_runtime)."""
        target = "cpu{%s}" % options if options else "cpu"
        return CompiledMoE(self, compile_function(self.mlir("moe"), "moe", None, target),
                           openmp)


def _descriptor_at(type_, address, rows, cols):
    desc = type_()
    desc.allocated = desc.aligned = address
    desc.offset = 0
    desc.sizes[0], desc.sizes[1] = rows, cols
    desc.strides[0], desc.strides[1] = cols, 1
    return desc


class CompiledMoE:
    """A compiled MoESpec: `bind(w_gate=..., w_up=..., w_down=...)` packs
    every expert's weights once and returns a BoundMoE."""

    def __init__(self, spec, object_code, openmp=None):
        self.spec = spec
        library = Library(object_code, openmp)
        self.openmp = library.openmp
        if not library.has("moe_pack_weights"):
            raise SwigluError("the compiled MoE block has no moe_pack_weights")
        self._pack = CompiledFunction(library, "moe_pack_weights", [3, 3, 3], [4, 4])
        self._function = CompiledFunction(library, "moe", [2, 2, 4, 4], 2)

    def bind(self, **weights):
        spec = self.spec
        shapes = spec.weight_shapes()
        unknown, missing = sorted(set(weights) - set(shapes)), sorted(set(shapes) - set(weights))
        if unknown or missing:
            raise TypeError("expected the arrays w_gate, w_up, w_down; %s" % "; ".join(
                filter(None, ["missing: " + ", ".join(missing) if missing else "",
                              "unexpected: " + ", ".join(unknown) if unknown else ""])))
        want = numpy_dtype(spec.dtype)
        arrays = []
        for name in ("w_gate", "w_up", "w_down"):
            a = weights[name]
            if not isinstance(a, np.ndarray):
                raise TypeError("%s must be a numpy array, got %s" % (name, type(a).__name__))
            if a.dtype != want:
                raise TypeError("%s must have dtype %s (%s), got %s" % (
                    name, want, spec.dtype, a.dtype))
            if tuple(a.shape) != shapes[name]:
                raise ValueError("%s must have shape %s ([experts, out, in]), got %s" % (
                    name, shapes[name], tuple(a.shape)))
            arrays.append(np.ascontiguousarray(a))
        panels = self._pack.call(arrays, [want, want])
        return BoundMoE(self, panels)


class BoundMoE:
    """A CompiledMoE with its experts packed: `y = bound(x, logits)` on numpy
    arrays, or `bound.call_pointer(x_address, logits_address, tokens)` on
    C-contiguous buffers the caller keeps alive during the call (x of the
    spec's dtype, logits f32): returns a new [tokens, d_model] array over the
    buffer the compiled code allocated."""

    def __init__(self, compiled, panels):
        self.compiled = compiled
        self.spec = compiled.spec
        self._panels = panels  # keeps the packed weights alive
        fn = compiled._function
        self._fn = fn
        self._panel_refs = [ctypes.byref(fn._describe(p, t))
                            for p, t in zip(panels, fn._arg_types[2:])]
        self._dtype = numpy_dtype(self.spec.dtype)

    def __call__(self, x, logits):
        spec = self.spec
        if not isinstance(x, np.ndarray) or x.ndim != 2 or x.shape[1] != spec.d_model:
            raise ValueError("x must be a [tokens, %d] array, got %s" % (
                spec.d_model, getattr(x, "shape", type(x).__name__)))
        if x.dtype != self._dtype:
            raise TypeError("x must have dtype %s (%s), got %s" % (self._dtype, spec.dtype,
                                                                   x.dtype))
        if not isinstance(logits, np.ndarray) or logits.shape != (x.shape[0], spec.experts) \
                or logits.dtype != np.float32:
            raise ValueError("logits must be a float32 [%d, %d] array, got %s %s" % (
                x.shape[0], spec.experts, getattr(logits, "dtype", ""),
                getattr(logits, "shape", type(logits).__name__)))
        x, logits = np.ascontiguousarray(x), np.ascontiguousarray(logits)
        return self.call_pointer(x.ctypes.data, logits.ctypes.data, x.shape[0])

    def call_pointer(self, x_address, logits_address, tokens):
        spec = self.spec
        types = self._fn._arg_types
        x = _descriptor_at(types[0], x_address, tokens, spec.d_model)
        logits = _descriptor_at(types[1], logits_address, tokens, spec.experts)
        result = self._fn._result_type()
        self._fn._fn(ctypes.byref(result), ctypes.byref(x), ctypes.byref(logits),
                     *self._panel_refs)
        return self._fn._take(result, self._dtype, ())


__all__ = ["BoundMoE", "CompiledMoE", "MoESpec", "SCORINGS"]
