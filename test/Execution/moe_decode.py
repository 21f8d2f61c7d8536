#!/usr/bin/env python3
"""glu.moe on 1 to 8 tokens (the grouped decode kernel of
convert-glu-to-cpu-kernels) against the numpy reference
(python/swiglu/reference_moe.py, float64 from the op's definition) and
against the per-expert path (`moe-decode-tokens=0`), which must give the
same bits: both run the same panel functions on the same rows and add each
token's experts in increasing order.

Cases: every activation, 1..8 tokens, experts without tokens (E = 16 with
k = 2 on one token), exact ties in the router, precomputed routing with ids
outside [0, E) and an expert chosen several times by one token (more rows
than a slot holds with tile-tokens=6, so an expert spans several slots),
separate and merged (concat, interleaved) gate/up, both layouts, biases,
bf16 weights and activations, 1 to 3 threads. Prints one line per case and
`ALL OK`.
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from moe import Case, TOL, build  # noqa: E402

from swiglu import reference_moe as ref  # noqa: E402
from swiglu.ffn import CompiledFunction, Library, compile_function, numpy_dtype  # noqa: E402

ACTIVATIONS = ["sigmoid", "identity", "relu", "gelu_erf", "gelu_tanh", "silu", "swish",
               "clamped_swiglu"]
BETA = 1.5

CASES = []
for i, act in enumerate(ACTIVATIONS):
    extra = {"alpha": 1.702, "limit": 7.0} if act == "clamped_swiglu" else {}
    CASES.append(Case("%s_t%d" % (act, i + 1), experts=8, k=2, d=32, f=48, act=act,
                      renormalize=True, tokens=i + 1, **extra))
CASES += [
    # Most experts without a token.
    Case("empty_experts_t1", experts=16, k=2, d=32, f=40, tokens=1),
    Case("qwen_like_bf16", experts=16, k=4, d=64, f=24, merged="concat", dtype="bf16",
         tokens=5, renormalize=True),
    Case("gpt_oss_t3", experts=4, k=2, d=32, f=40, act="clamped_swiglu",
         scoring="topk_softmax", merged="interleaved", layout="in_out", biases=True,
         alpha=1.702, limit=7.0, tokens=3),
    Case("deepseek_in_out_t8", experts=16, k=4, d=32, f=24, scoring="sigmoid", bias=True,
         groups=4, topk_groups=2, group_score="top2_sum", renormalize=True, scaling=2.5,
         layout="in_out", tokens=8),
    Case("ties_t4", experts=6, k=3, d=16, f=16, renormalize=True, tokens=4,
         logits=np.array([[1, 1, 1, 1, 1, 1], [0, 2, 2, 0, 2, 1],
                          [3, 3, 1, 1, 3, 3], [5, 4, 4, 4, 4, 5]], np.float32)),
    # -1 and E select nothing; expert 3 gets 7 rows from tokens 0 and 3,
    # more than one slot of 6 rows; a token with no valid entry.
    Case("precomputed_t6", experts=4, k=4, d=16, f=24, act="gelu_tanh", routed=False,
         tokens=6, biases=True,
         ids=np.array([[3, 3, 3, 1], [2, 2, -1, 0], [4, 1, 0, 2], [3, 3, 3, 3],
                       [-1, 4, -1, 4], [0, 1, 2, 3]], np.int32)),
    Case("bf16_separate_biases_t2", experts=8, k=2, d=32, f=40, act="gelu_erf",
         dtype="bf16", biases=True, tokens=2),
]


def with_beta(text, c):
    if c.act != "swish":
        return text
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if "glu.moe swish" in line:
            at = line.rindex(" -> ")
            lines[i] = line[:at] + " {beta = %r : f32}" % BETA + line[at:]
    return "\n".join(lines)


def run(c, text, inputs, target):
    npdt = numpy_dtype(c.dtype)
    lib = Library(compile_function(text, "moe", target=target))
    args = list(inputs)
    assert lib.has("moe_pack_weights"), "the stacked weights are packed at load time"
    mats = [i for i, a in enumerate(inputs) if a.ndim == 3]
    pack = CompiledFunction(lib, "moe_pack_weights", [3] * len(mats), [4, 4])
    packed = pack.call([inputs[i] for i in mats], [npdt, npdt])
    args = inputs[:mats[0]] + packed + \
        [a for i, a in enumerate(inputs) if i > mats[0] and i not in mats]
    n_out = 3 if c.routed else 1
    fn = CompiledFunction(lib, "moe", [a.ndim for a in args], [2] * n_out)
    dts = ([np.dtype(np.int32), np.dtype(np.float32)] if c.routed else []) + [npdt]
    out = fn.call(args, dts if n_out > 1 else dts[0])
    out = out if isinstance(out, list) else [out]
    return out


def main():
    failed = False
    for n, c in enumerate(CASES):
        rng = np.random.default_rng(100 + n)
        text, inputs, weights = build(c, rng)
        text = with_beta(text, c)
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
        if c.act == "swish":
            extra["beta"] = BETA
        y_ref = ref.moe(inputs[0], ids_ref, w_ref, c.act, layout=c.layout,
                        packing=c.merged or "concat", **weights, **extra)
        threads = 1 + n % 3
        opts = "threads=%d tile-tokens=6" % threads
        grouped = run(c, text, inputs, "cpu{%s}" % opts)
        per_expert = run(c, text, inputs, "cpu{%s moe-decode-tokens=0}" % opts)
        y = np.asarray(grouped[-1], np.float64)
        why = []
        if c.routed and not np.array_equal(grouped[0], ids_ref):
            why.append("expert ids %s != %s" % (grouped[0].tolist(), ids_ref.tolist()))
        rel = float(np.abs(y - y_ref).max() / np.abs(y_ref).max())
        if rel > TOL[c.dtype]:
            why.append("max_rel %.1e > %.0e" % (rel, TOL[c.dtype]))
        if not np.array_equal(np.asarray(grouped[-1]).view(np.uint8),
                              np.asarray(per_expert[-1]).view(np.uint8)):
            diff = np.abs(y - np.asarray(per_expert[-1], np.float64)).max()
            why.append("differs from the per-expert path by %.1e" % diff)
        failed |= bool(why)
        print("%s %s (%d threads): max_rel %.1e%s" % (
            "FAIL" if why else "OK", c.name, threads, rel,
            ("; " + "; ".join(why)) if why else ""))
    print("ALL OK" if not failed else "FAILED")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
