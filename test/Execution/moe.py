#!/usr/bin/env python3
"""glu.route and glu.moe against the numpy reference (python/swiglu/
reference_moe.py, float64 from the ops' definitions), through the C API with
the reference pipeline and the fast CPU pipeline.

Each case is one function `(x, logits, [selection_bias], weights...) ->
(expert_ids, routing weights, y)`: glu.route then glu.moe, the routers of
Mixtral, Qwen3-MoE, DeepSeek-V3 and GPT-OSS scaled down, exact ties in the
logits, and a case with precomputed routing (`(x, ids, w, weights...) -> y`)
with ids outside [0, E) and an expert chosen twice. The expert ids must
equal the reference's; weights and y must be within the tolerances below.
With the fast pipeline the expert weights are packed once by
`moe_pack_weights` (all experts, stacked). Prints one line per (case,
pipeline) and `ALL OK`.
"""

import sys

import numpy as np

from swiglu import reference
from swiglu import reference_moe as ref
from swiglu.ffn import CompiledFunction, Library, compile_function, numpy_dtype

TOL = {"f32": 2e-5, "bf16": 1e-2}  # max|y - ref| / max|ref|
W_TOL = 1e-5                       # routing weights, absolute (f32 math)


class Case:
    def __init__(self, name, *, experts, k, d, f, act="silu", scoring="softmax",
                 renormalize=False, scaling=None, bias=False, groups=None,
                 topk_groups=None, group_score=None, merged=None, layout="out_in",
                 biases=False, dtype="f32", tokens=7, logits=None, routed=True,
                 ids=None, alpha=None, limit=None):
        self.__dict__.update(locals())
        del self.__dict__["self"]


CASES = [
    Case("mixtral", experts=8, k=2, d=32, f=48, renormalize=True),
    Case("qwen3_moe", experts=16, k=4, d=32, f=24, merged="concat", dtype="bf16",
         tokens=9),
    Case("deepseek_v3", experts=16, k=4, d=32, f=24, scoring="sigmoid", bias=True,
         groups=4, topk_groups=2, group_score="top2_sum", renormalize=True,
         scaling=2.5, layout="in_out", tokens=6),
    Case("deepseek_v2_groups_max", experts=8, k=2, d=16, f=24, scoring="softmax",
         groups=4, topk_groups=2, group_score="max", tokens=5),
    Case("gpt_oss", experts=4, k=2, d=32, f=40, act="clamped_swiglu",
         scoring="topk_softmax", merged="interleaved", layout="in_out", biases=True,
         alpha=1.702, limit=7.0),
    # Exact ties: integer logits, equal within a row; ties go to the lower id.
    Case("ties_softmax", experts=6, k=3, d=16, f=16, renormalize=True, tokens=4,
         logits=np.array([[1, 1, 1, 1, 1, 1], [0, 2, 2, 0, 2, 1],
                          [3, 3, 1, 1, 3, 3], [5, 4, 4, 4, 4, 5]], np.float32)),
    Case("ties_sigmoid", experts=6, k=2, d=16, f=16, scoring="sigmoid", tokens=3,
         logits=np.array([[0, 0, 0, 0, 0, 0], [-1, 2, -1, 2, 2, -1],
                          [1, 0, 1, 0, 1, 0]], np.float32)),
    # Precomputed routing: -1 and E select nothing, an expert chosen twice
    # counts twice.
    Case("precomputed", experts=4, k=3, d=16, f=24, act="gelu_tanh", routed=False,
         tokens=4, biases=True,
         ids=np.array([[0, 3, 1], [2, 2, -1], [4, 1, 0], [3, 3, 3]], np.int32)),
]


def ttype(shape, dt):
    return "tensor<%sx%s>" % ("x".join("?" if s is None else str(s) for s in shape), dt)


def build(c, rng):
    """The function's text, its inputs and the reference's arguments."""
    npdt = numpy_dtype(c.dtype)
    E, D, F, T, K = c.experts, c.d, c.f, c.tokens, c.k
    args, inputs, sig = [], [], []

    def arg(name, a, shape_text):
        args.append(name)
        inputs.append(a)
        sig.append("%%%s: %s" % (name, shape_text))

    x = rng.standard_normal((T, D)).astype(npdt)
    arg("x", x, ttype((None, D), c.dtype))
    if c.routed:
        logits = c.logits if c.logits is not None else \
            rng.standard_normal((T, E)).astype(np.float32)
        arg("logits", logits, ttype((None, E), "f32"))
        if c.bias:
            arg("bias", (rng.standard_normal(E) * 0.1).astype(np.float32),
                ttype((E,), "f32"))
    else:
        arg("ids", c.ids, ttype((None, K), "i32"))
        arg("w", rng.uniform(0.1, 1.0, (T, K)).astype(np.float32), ttype((None, K), "f32"))
    scale = 1 / np.sqrt(D)
    shp = (lambda o, i: (E, o, i)) if c.layout == "out_in" else (lambda o, i: (E, i, o))
    weights = {}

    def weight(name, key, shape, s):
        a = (rng.standard_normal(shape) * s).astype(npdt)
        weights[key] = a
        arg(name, a, ttype(shape, c.dtype))
        return "%s %%%s : %s" % (name, name, ttype(shape, c.dtype))

    parts = []
    if c.merged:
        parts.append(weight("gate_up", "w_gate_up", shp(2 * F, D), scale))
    else:
        parts.append(weight("gate", "w_gate", shp(F, D), scale))
        parts.append(weight("up", "w_up", shp(F, D), scale))
    parts.append(weight("down", "w_down", shp(D, F), 1 / np.sqrt(F)))
    if c.biases:
        if c.merged:
            parts.append(weight("gate_up_bias", "b_gate_up", (E, 2 * F), 0.1))
        else:
            parts.append(weight("gate_bias", "b_gate", (E, F), 0.1))
            parts.append(weight("up_bias", "b_up", (E, F), 0.1))
        parts.append(weight("down_bias", "b_down", (E, D), 0.1))
    if c.merged:
        parts.append("packing " + c.merged)
    if c.layout != "out_in":
        parts.append("layout " + c.layout)
    attrs = []
    if c.alpha is not None:
        attrs.append("alpha = %r : f32" % c.alpha)
    if c.limit is not None:
        attrs.append("limit = %r : f32" % c.limit)
    body = []
    ret_types = []
    if c.routed:
        route = "glu.route %s %%logits : %s top_k %d" % (c.scoring, ttype((None, E), "f32"), K)
        if c.bias:
            route += " selection_bias %%bias : %s" % ttype((E,), "f32")
        if c.groups:
            route += " groups %d topk_groups %d" % (c.groups, c.topk_groups)
            if c.group_score:
                route += " group_score " + c.group_score
        rattrs = (["renormalize"] if c.renormalize else []) + \
            (["scaling = %r : f32" % c.scaling] if c.scaling else [])
        if rattrs:
            route += " {%s}" % ", ".join(rattrs)
        body.append("  %%ids, %%w = %s -> %s, %s" % (route, ttype((None, K), "i32"),
                                                  ttype((None, K), "f32")))
        ret_types = [ttype((None, K), "i32"), ttype((None, K), "f32")]
    body.append("  %%y = glu.moe %s %%x : %s experts %%ids : %s weights %%w : %s %s%s -> %s" % (
        c.act, ttype((None, D), c.dtype), ttype((None, K), "i32"), ttype((None, K), "f32"),
        " ".join(parts), " {%s}" % ", ".join(attrs) if attrs else "",
        ttype((None, D), c.dtype)))
    rets = (["%ids", "%w"] if c.routed else []) + ["%y"]
    ret_types.append(ttype((None, D), c.dtype))
    text = ("func.func @moe(%s) -> (%s) attributes {llvm.emit_c_interface} {\n%s\n"
            "  return %s : %s\n}\n" % (", ".join(sig), ", ".join(ret_types), "\n".join(body),
                                       ", ".join(rets), ", ".join(ret_types)))
    return text, inputs, weights


def main():
    failed = False
    for c in CASES:
        rng = np.random.default_rng(11)
        text, inputs, weights = build(c, rng)
        npdt = numpy_dtype(c.dtype)
        if c.routed:
            ids_ref, w_ref = ref.route(
                inputs[1], c.k, c.scoring,
                selection_bias=inputs[2] if c.bias else None,
                renormalize=c.renormalize, scaling=c.scaling, groups=c.groups,
                topk_groups=c.topk_groups, group_score=c.group_score or "top2_sum")
        else:
            ids_ref, w_ref = c.ids, inputs[2]
        extra = {}
        if c.alpha is not None:
            extra = {"alpha": c.alpha, "limit": c.limit}
        y_ref = ref.moe(inputs[0], ids_ref, w_ref, c.act, layout=c.layout,
                        packing=c.merged or "concat", **weights, **extra)
        for target in ("cpu-reference", "cpu{threads=2}"):
            lib = Library(compile_function(text, "moe", target=target))
            args = list(inputs)
            packed_at_load = lib.has("moe_pack_weights")
            if packed_at_load:
                # The fast pipeline packs every expert's weights once: the
                # stacked weights (rank 3) in, two panel sets (rank 4) out,
                # which the function takes where the first weight was.
                mats = [i for i, a in enumerate(inputs) if a.ndim == 3]
                pack = CompiledFunction(lib, "moe_pack_weights", [3] * len(mats), [4, 4])
                packed = pack.call([inputs[i] for i in mats], [npdt, npdt])
                args = inputs[:mats[0]] + packed + \
                    [a for i, a in enumerate(inputs) if i > mats[0] and i not in mats]
            ranks = [a.ndim for a in args]
            n_out = 3 if c.routed else 1
            fn = CompiledFunction(lib, "moe", ranks, [2] * n_out)
            dts = ([np.dtype(np.int32), np.dtype(np.float32)] if c.routed else []) + [npdt]
            out = fn.call(args, dts if n_out > 1 else dts[0])
            out = out if isinstance(out, list) else [out]
            y = np.asarray(out[-1], np.float64)
            why = []
            if c.routed:
                if not np.array_equal(out[0], ids_ref):
                    why.append("expert ids %s != %s" % (out[0].tolist(), ids_ref.tolist()))
                werr = float(np.abs(out[1] - w_ref).max())
                if werr > W_TOL:
                    why.append("routing weights off by %.1e" % werr)
            rel = float(np.abs(y - y_ref).max() / np.abs(y_ref).max())
            if rel > TOL[c.dtype]:
                why.append("max_rel %.1e > %.0e" % (rel, TOL[c.dtype]))
            failed |= bool(why)
            print("%s %s %s%s: max_rel %.1e%s" % (
                "FAIL" if why else "OK", c.name, target,
                " (packed at load)" if packed_at_load else "", rel,
                ("; " + "; ".join(why)) if why else ""))
    print("ALL OK" if not failed else "FAILED")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
