"""Numpy reference of glu.route and glu.moe (mixture of experts).

Written from the ops' definitions in include/glu/Dialect/GLU/IR/GLUOps.td,
not from the compiler's lowering; float64 throughout, like reference.py
(whose glu.ffn reference gives each expert's block).
"""

import numpy as np

from .reference import DEFAULT_ALPHA, DEFAULT_BETA, DEFAULT_LIMIT, _f64, ffn

__all__ = ["route", "moe"]

SCORINGS = ("softmax", "sigmoid", "topk_softmax")


def _softmax(a):
    e = np.exp(a - a.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def route(logits, top_k, scoring="softmax", *, selection_bias=None,
          renormalize=False, scaling=None, groups=None, topk_groups=None,
          group_score="top2_sum"):
    """glu.route: (expert_ids [T, k] int64, weights [T, k] float64).

    1. scores: softmax or sigmoid of the logits, or the logits (topk_softmax);
    2. keys = scores + selection_bias;
    3. with `groups`: groups of E/groups consecutive experts ranked by their
       best key (`max`) or the sum of their best two (`top2_sum`); experts
       outside the `topk_groups` best groups get key -inf;
    4. ids: the k largest keys, largest first, ties to the lower index;
    5. weights: the scores of the chosen (softmax of the chosen logits for
       topk_softmax), divided by their sum with `renormalize`, times
       `scaling`.
    """
    if scoring not in SCORINGS:
        raise ValueError("scoring must be one of %s" % (SCORINGS,))
    l = _f64(logits)
    t, e = l.shape
    if scoring == "softmax":
        s = _softmax(l)
    elif scoring == "sigmoid":
        s = 1.0 / (1.0 + np.exp(-l))
    else:
        s = l.copy()
    keys = s + (_f64(selection_bias) if selection_bias is not None else 0.0)
    if groups:
        per = e // groups
        g = keys.reshape(t, groups, per)
        if group_score == "max":
            gs = g.max(axis=-1)
        else:
            gs = np.sort(g, axis=-1)[..., -2:].sum(axis=-1)
        # The best groups, ties to the lower group index (stable sort).
        best = np.argsort(-gs, axis=-1, kind="stable")[:, :topk_groups]
        keep = np.zeros((t, groups), bool)
        np.put_along_axis(keep, best, True, axis=-1)
        keys = np.where(np.repeat(keep, per, axis=-1), keys, -np.inf)
    ids = np.argsort(-keys, axis=-1, kind="stable")[:, :top_k]
    w = np.take_along_axis(s, ids, axis=-1)
    if scoring == "topk_softmax":
        w = _softmax(w)
    if renormalize:
        w = w / w.sum(axis=-1, keepdims=True)
    if scaling is not None:
        w = w * scaling
    return ids.astype(np.int64), w


def moe(x, expert_ids, weights, act, *, w_down, w_gate=None, w_up=None,
        w_gate_up=None, b_gate=None, b_up=None, b_gate_up=None, b_down=None,
        layout="out_in", packing="concat", beta=DEFAULT_BETA,
        alpha=DEFAULT_ALPHA, limit=DEFAULT_LIMIT):
    """glu.moe: out[t] = sum_j weights[t, j] * FFN_e(x[t]), e = ids[t, j];
    an id outside [0, E) contributes nothing. Stacked weights [E, ...]."""
    x = _f64(x)
    ids = np.asarray(expert_ids)
    w = _f64(weights)
    n_experts = w_down.shape[0]
    out = None
    for e in range(n_experts):
        rows = [(t, j) for t in range(ids.shape[0]) for j in range(ids.shape[1])
                if ids[t, j] == e]
        pick = lambda a: None if a is None else a[e]
        y = ffn(x, act, w_down=w_down[e], w_gate=pick(w_gate), w_up=pick(w_up),
                w_gate_up=pick(w_gate_up), b_gate=pick(b_gate), b_up=pick(b_up),
                b_gate_up=pick(b_gate_up), b_down=pick(b_down), layout=layout,
                packing=packing, beta=beta, alpha=alpha, limit=limit)
        if out is None:
            out = np.zeros_like(y)
        for t, j in rows:
            out[t] += w[t, j] * y[t]
    return out
