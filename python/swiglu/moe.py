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
    routing: str = "logits"     # or "precomputed": (expert ids, weights) per token
    scoring: str = "softmax"    # glu.route's, with routing "logits"
    renormalize: bool = False
    scaling: float = None
    layout: str = "out_in"      # each expert's matrices: [out, in] or [in, out]
    packing: str = None         # None: separate gate/up; "concat"/"interleaved": merged
    bias: bool = False
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
        if self.routing not in ("logits", "precomputed"):
            raise SwigluError("routing must be 'logits' or 'precomputed', got %r" % (
                self.routing,))
        if self.layout not in ("out_in", "in_out"):
            raise SwigluError("layout must be 'out_in' or 'in_out', got %r" % (self.layout,))
        if self.packing not in (None, "concat", "interleaved"):
            raise SwigluError("packing must be None, 'concat' or 'interleaved', got %r" % (
                self.packing,))

    def operands(self):
        """(name, shape, glu keyword) of the stacked weights and biases, in
        the order the compiled function takes them (matrices, then biases)."""
        E, F, D = self.experts, self.d_ff, self.d_model
        m = lambda n_out, n_in: (E, n_out, n_in) if self.layout == "out_in" \
            else (E, n_in, n_out)  # noqa: E731
        if self.packing:
            ops = [("w_gate_up", m(2 * F, D), "gate_up")]
        else:
            ops = [("w_gate", m(F, D), "gate"), ("w_up", m(F, D), "up")]
        ops.append(("w_down", m(D, F), "down"))
        if self.bias:
            if self.packing:
                ops.append(("b_gate_up", (E, 2 * F), "gate_up_bias"))
            else:
                ops += [("b_gate", (E, F), "gate_bias"), ("b_up", (E, F), "up_bias")]
            ops.append(("b_down", (E, D), "down_bias"))
        return ops

    def weight_shapes(self):
        return {n: shape for n, shape, _ in self.operands()}

    def mlir(self, name="moe"):
        """`@name(x: [?, D], routing..., weights...) -> [?, D]`, routing
        being the router logits `[?, E]` f32, or expert ids `[?, k]` i64
        and their weights `[?, k]` f32 (routing 'precomputed')."""
        dt, D, E, k = self.dtype, self.d_model, self.experts, self.top_k
        t = lambda shape: "tensor<%sx%s>" % ("x".join(map(str, shape)), dt)  # noqa: E731
        x_type = "tensor<?x%dx%s>" % (D, dt)
        braces = lambda attrs: (" {%s}" % ", ".join(attrs)) if attrs else ""  # noqa: E731
        if self.routing == "logits":
            ids_type, w_type = "tensor<?x%dxi32>" % k, "tensor<?x%dxf32>" % k
            l_type = "tensor<?x%dxf32>" % E
            route_attrs = ["renormalize"] if self.renormalize else []
            if self.scaling is not None:
                route_attrs.append("scaling = %r : f32" % float(self.scaling))
            args = ["%%x: %s" % x_type, "%%logits: %s" % l_type]
            route = "  %%ids, %%w = glu.route %s %%logits : %s top_k %d%s -> %s, %s\n" % (
                self.scoring, l_type, k, braces(route_attrs), ids_type, w_type)
        else:
            ids_type, w_type = "tensor<?x%dxi64>" % k, "tensor<?x%dxf32>" % k
            args = ["%%x: %s" % x_type, "%%ids: %s" % ids_type, "%%w: %s" % w_type]
            route = ""
        ops = self.operands()
        args += ["%%%s: %s" % (n, t(shape)) for n, shape, _ in ops]
        pieces = ["%s %%%s : %s" % (kw, n, t(shape)) for n, shape, kw in ops]
        if self.packing:
            pieces.append("packing " + self.packing)
        if self.layout != "out_in":
            pieces.append("layout " + self.layout)
        act_attrs = ["%s = %r : f32" % (a, float(v)) for a, v in
                     (("beta", self.beta), ("alpha", self.alpha), ("limit", self.limit))
                     if v is not None]
        return ("func.func @%s(%s) -> %s {\n%s"
                "  %%y = glu.moe %s %%x : %s experts %%ids : %s weights %%w : %s\n"
                "      %s%s -> %s\n  return %%y : %s\n}\n") % (
                    name, ", ".join(args), x_type, route, self.activation, x_type,
                    ids_type, w_type, "\n      ".join(pieces), braces(act_attrs),
                    x_type, x_type)

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
    """A compiled MoESpec: `bind(**weights)` (the names of
    `spec.operands()`) packs every expert's matrices once and returns a
    BoundMoE."""

    def __init__(self, spec, object_code, openmp=None):
        self.spec = spec
        library = Library(object_code, openmp)
        self.openmp = library.openmp
        if not library.has("moe_pack_weights"):
            raise SwigluError("the compiled MoE block has no moe_pack_weights")
        ops = spec.operands()
        self._matrices = [n for n, shape, _ in ops if n.startswith("w_")]
        self._biases = [n for n, shape, _ in ops if n.startswith("b_")]
        self._pack = CompiledFunction(library, "moe_pack_weights",
                                      [3] * len(self._matrices), [4, 4])
        routing = [2, 2] if spec.routing == "logits" else [2, 2, 2]
        self._function = CompiledFunction(library, "moe", routing[:1] + routing[1:] +
                                          [4, 4] + [2] * len(self._biases), 2)

    def bind(self, **weights):
        spec = self.spec
        shapes = spec.weight_shapes()
        unknown, missing = sorted(set(weights) - set(shapes)), [
            n for n in shapes if n not in weights]
        if unknown or missing:
            raise TypeError("expected the arrays %s; %s" % (", ".join(shapes), "; ".join(
                filter(None, ["missing: " + ", ".join(missing) if missing else "",
                              "unexpected: " + ", ".join(unknown) if unknown else ""]))))
        want = numpy_dtype(spec.dtype)
        arrays = {}
        for name, shape in shapes.items():
            a = weights[name]
            if not isinstance(a, np.ndarray):
                raise TypeError("%s must be a numpy array, got %s" % (name, type(a).__name__))
            if a.dtype != want:
                raise TypeError("%s must have dtype %s (%s), got %s" % (
                    name, want, spec.dtype, a.dtype))
            if tuple(a.shape) != shape:
                raise ValueError("%s must have shape %s (layout %s), got %s" % (
                    name, shape, spec.layout, tuple(a.shape)))
            arrays[name] = np.ascontiguousarray(a)
        panels = self._pack.call([arrays[n] for n in self._matrices], [want, want])
        return BoundMoE(self, panels, [arrays[n] for n in self._biases])


class BoundMoE:
    """A CompiledMoE with its experts packed: `y = bound(x, logits)` (or
    `bound(x, ids, weights)` with routing 'precomputed') on numpy arrays, or
    `bound.call_pointer(tokens, x_address, *routing_addresses)` on
    C-contiguous buffers the caller keeps alive during the call (x of the
    spec's dtype, logits and weights f32, ids int64): returns a new
    [tokens, d_model] array over the buffer the compiled code allocated."""

    def __init__(self, compiled, panels, biases):
        self.compiled = compiled
        self.spec = compiled.spec
        self._arrays = panels + biases  # keeps them alive
        fn = compiled._function
        self._fn = fn
        routing = 1 if self.spec.routing == "logits" else 2
        self._weight_refs = [ctypes.byref(fn._describe(a, t)) for a, t in
                             zip(self._arrays, fn._arg_types[1 + routing:])]
        self._dtype = numpy_dtype(self.spec.dtype)

    def __call__(self, x, *routing):
        spec = self.spec
        if not isinstance(x, np.ndarray) or x.ndim != 2 or x.shape[1] != spec.d_model:
            raise ValueError("x must be a [tokens, %d] array, got %s" % (
                spec.d_model, getattr(x, "shape", type(x).__name__)))
        if x.dtype != self._dtype:
            raise TypeError("x must have dtype %s (%s), got %s" % (self._dtype, spec.dtype,
                                                                   x.dtype))
        t = x.shape[0]
        if spec.routing == "logits":
            want = [("logits", (t, spec.experts), np.float32)]
        else:
            want = [("ids", (t, spec.top_k), np.int64), ("weights", (t, spec.top_k),
                                                          np.float32)]
        if len(routing) != len(want):
            raise TypeError("routing %r takes %s after x" % (
                spec.routing, ", ".join(n for n, _, _ in want)))
        for a, (name, shape, dtype) in zip(routing, want):
            if not isinstance(a, np.ndarray) or a.shape != shape or a.dtype != dtype:
                raise ValueError("%s must be a %s %s array, got %s %s" % (
                    name, np.dtype(dtype), list(shape), getattr(a, "dtype", ""),
                    getattr(a, "shape", type(a).__name__)))
        x = np.ascontiguousarray(x)
        routing = [np.ascontiguousarray(a) for a in routing]
        return self.call_pointer(t, x.ctypes.data, *[a.ctypes.data for a in routing])

    def call_pointer(self, tokens, x_address, *routing_addresses):
        spec = self.spec
        types = self._fn._arg_types
        cols = [spec.d_model] + ([spec.experts] if spec.routing == "logits"
                                 else [spec.top_k, spec.top_k])
        descs = [_descriptor_at(types[i], address, tokens, cols[i])
                 for i, address in enumerate((x_address,) + routing_addresses)]
        result = self._fn._result_type()
        self._fn._fn(ctypes.byref(result), *[ctypes.byref(d) for d in descs],
                     *self._weight_refs)
        return self._fn._take(result, self._dtype, ())


__all__ = ["BoundMoE", "CompiledMoE", "MoESpec", "SCORINGS"]
