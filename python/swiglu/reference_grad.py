"""Numpy reference of the training ops: glu.ffn_grad, glu.mlp_grad and
glu.dropout (docs/training.md).

Written from the formulas (the chain rule on the definitions of glu.ffn and
glu.mlp in reference.py), not from the compiler's lowering. float64
throughout, like reference.py: callers round the results once.

With h = G(g, u) the gating (act(g)·u, or clamped SwiGLU), g = x·Wg + bg,
u = x·Wu + bu and y = D(h)·Wd + bd, D the dropout after the gating:

    dh  = D(dy·Wdᵀ)          (the same mask, times 1/(1-p))
    dg  = dh ⊙ ∂G/∂g,        du = dh ⊙ ∂G/∂u
    dx  = dg·Wgᵀ + du·Wuᵀ,   dWg = xᵀ·dg,  dWu = xᵀ·du,  dWd = D(h)ᵀ·dy
    dbg = Σ dg,  dbu = Σ du,  dbd = Σ dy   (sums over the tokens)

With round_bf16=True (the compiler's round-hidden: PyTorch's bf16
autograd), the dropped-out hidden D(h), dg and du are rounded to bfloat16
(round to nearest even, ml_dtypes) as soon as they are computed, and
everything after reads the rounded values: dx, dWg, dWu, dWd and the bias
sums.

Dropout: element i (row-major index in the [tokens, F] hidden) is kept iff
the first word of Philox4x32-10(counter = (lo32(i), hi32(i), 0, 0),
key = (lo32(seed), hi32(seed))) is >= floor(p·2^32); kept elements are
scaled by 1/(1-p) rounded to float32.
"""

import math

import numpy as np

from . import reference as ref
from .reference import DEFAULT_ALPHA, DEFAULT_BETA, DEFAULT_LIMIT

# ---------------------------------------------------------------------------
# Philox4x32-10 (Salmon, Moraes, Dror, Shaw: "Parallel random numbers: as
# easy as 1, 2, 3", SC 2011; the constants of Random123 and curand)
# ---------------------------------------------------------------------------

PHILOX_M0, PHILOX_M1 = 0xD2511F53, 0xCD9E8D57
PHILOX_W0, PHILOX_W1 = 0x9E3779B9, 0xBB67AE85
_MASK32 = np.uint64(0xFFFFFFFF)


def _mulhilo(a, b):
    """(hi, lo) 32-bit halves of the 64-bit product of uint32 arrays."""
    prod = a.astype(np.uint64) * np.uint64(b)
    return (prod >> np.uint64(32)).astype(np.uint32), (prod & _MASK32).astype(np.uint32)


def philox4x32_10(counter, key):
    """Philox4x32 with 10 rounds. `counter`: four uint32 arrays (or ints),
    `key`: two; returns the four uint32 output words (arrays)."""
    c = [np.asarray(w, dtype=np.uint64).astype(np.uint32) for w in counter]
    shape = np.broadcast_shapes(*(w.shape for w in c))
    c = [np.broadcast_to(w, shape).copy() for w in c]
    k0, k1 = (int(w) & 0xFFFFFFFF for w in key)
    for r in range(10):
        hi0, lo0 = _mulhilo(c[0], PHILOX_M0)
        hi1, lo1 = _mulhilo(c[2], PHILOX_M1)
        c = [hi1 ^ c[1] ^ np.uint32(k0), lo1, hi0 ^ c[3] ^ np.uint32(k1), lo0]
        if r < 9:
            k0 = (k0 + PHILOX_W0) & 0xFFFFFFFF
            k1 = (k1 + PHILOX_W1) & 0xFFFFFFFF
    return c


def dropout_threshold(p):
    """Elements whose Philox word is below this are dropped: floor(p·2^32),
    p the float32 attribute."""
    return int(math.floor(float(np.float32(p)) * 4294967296.0))


def dropout_scale(p):
    """1/(1-p) rounded to float32, as the compiled code multiplies by it."""
    return float(np.float32(1.0 / (1.0 - float(np.float32(p)))))


def dropout_words(seed, count, start=0):
    """The Philox words of elements start .. start+count-1 for `seed`."""
    index = np.arange(start, start + count, dtype=np.uint64)
    seed = int(seed) & 0xFFFFFFFFFFFFFFFF
    lo = (index & _MASK32).astype(np.uint32)
    hi = (index >> np.uint64(32)).astype(np.uint32)
    zero = np.zeros_like(lo)
    return philox4x32_10((lo, hi, zero, zero), (seed & 0xFFFFFFFF, seed >> 32))[0]


def dropout_factor(seed, shape, p):
    """float64 array of `shape`: 1/(1-p) (as float32) where kept, 0 where
    dropped; element i is the row-major index i."""
    if p == 0:
        return np.ones(shape)
    count = int(np.prod(shape)) if len(shape) else 1
    keep = dropout_words(seed, count) >= np.uint32(dropout_threshold(p)) \
        if dropout_threshold(p) < 2**32 else np.zeros(count, bool)
    return np.where(keep, dropout_scale(p), 0.0).reshape(shape)


def dropout(h, seed, p):
    """glu.dropout: h times the dropout factor (float64)."""
    h = ref._f64(h)
    return h * dropout_factor(seed, h.shape, p)


def bf16_round(a):
    """`a` rounded to bfloat16 (to nearest even), as float64."""
    import ml_dtypes
    return np.asarray(a, np.float64).astype(ml_dtypes.bfloat16).astype(np.float64)


# ---------------------------------------------------------------------------
# Derivatives of the activations and the gating
# ---------------------------------------------------------------------------

_erf = np.frompyfunc(math.erf, 1, 1)


def activation_derivative(kind, x, beta=DEFAULT_BETA):
    """act'(x) (float64) for the activations of one value."""
    x = ref._f64(x)
    if kind == "sigmoid":
        s = ref.sigmoid(x)
        return s * (1.0 - s)
    if kind == "identity":
        return np.ones_like(x)
    if kind == "relu":
        return np.where(x > 0, 1.0, 0.0)  # torch: 0 at 0
    if kind == "gelu_erf":
        cdf = 0.5 * (1.0 + np.asarray(_erf(x / math.sqrt(2.0)), dtype=np.float64))
        pdf = np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
        return cdf + x * pdf
    if kind == "gelu_tanh":
        k, c = math.sqrt(2.0 / math.pi), 0.044715
        t = np.tanh(k * (x + c * x ** 3))
        return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * k * (1.0 + 3.0 * c * x * x)
    if kind in ("silu", "swish"):
        b = 1.0 if kind == "silu" else beta
        s = ref.sigmoid(b * x)
        return s * (1.0 + b * x * (1.0 - s))
    raise ValueError("no derivative of one value for %r" % (kind,))


def gating_derivatives(kind, g, u, beta=DEFAULT_BETA, alpha=DEFAULT_ALPHA,
                       limit=DEFAULT_LIMIT):
    """(h, ∂h/∂g, ∂h/∂u) of the gating h = G(g, u), float64. Clamped
    SwiGLU's clamps pass the gradient on the closed interval, as
    torch.clamp's backward does."""
    g, u = ref._f64(g), ref._f64(u)
    if kind != "clamped_swiglu":
        a = ref.activation(kind, g, beta)
        return a * u, activation_derivative(kind, g, beta) * u, a
    gc = np.minimum(g, limit)
    uc = np.clip(u, -limit, limit)
    s = ref.sigmoid(alpha * gc)
    glu = gc * s
    dglu = s * (1.0 + alpha * gc * (1.0 - s))
    dg = np.where(g <= limit, dglu * (uc + 1.0), 0.0)
    du = np.where((u >= -limit) & (u <= limit), glu, 0.0)
    return glu * (uc + 1.0), dg, du


# ---------------------------------------------------------------------------
# The blocks, forward with dropout and backward
# ---------------------------------------------------------------------------


def _tokens(a):
    a = ref._f64(a)
    return a.reshape(-1, a.shape[-1])


def _weight_grad(inp, out, layout):
    """dW for a projection reading inp [M, K] with output gradient out [M, N]."""
    return out.T @ inp if layout == "out_in" else inp.T @ out


def _back(dout, w, layout):
    """dout [M, N] through a weight [N, K] (out_in) or [K, N] (in_out)."""
    w = ref._f64(w)
    return dout @ w if layout == "out_in" else dout @ w.T


def _merge(a, b, packing):
    """Inverse of reference._split along the last axis."""
    if packing == "concat":
        return np.concatenate([a, b], axis=-1)
    out = np.empty(a.shape[:-1] + (2 * a.shape[-1],))
    out[..., 0::2], out[..., 1::2] = a, b
    return out


def ffn(x, act, *, w_down, w_gate=None, w_up=None, w_gate_up=None,
        b_gate=None, b_up=None, b_gate_up=None, b_down=None, layout="out_in",
        packing="concat", beta=DEFAULT_BETA, alpha=DEFAULT_ALPHA,
        limit=DEFAULT_LIMIT, dropout_p=0.0, seed=0):
    """glu.ffn with dropout after the gating (reference.ffn when p = 0)."""
    g, u = ref._gate_and_up(_tokens(x), w_gate, w_up, w_gate_up, b_gate, b_up,
                            b_gate_up, layout, packing)
    h = ref.gating(act, g, u, beta, alpha, limit) * dropout_factor(seed, g.shape, dropout_p)
    y = ref._add_bias(ref.project(h, w_down, layout), b_down)
    return y.reshape(np.shape(x)[:-1] + (y.shape[-1],))


def ffn_grad(x, dy, act, *, w_down, w_gate=None, w_up=None, w_gate_up=None,
             b_gate=None, b_up=None, b_gate_up=None, b_down=None,
             layout="out_in", packing="concat", beta=DEFAULT_BETA,
             alpha=DEFAULT_ALPHA, limit=DEFAULT_LIMIT, dropout_p=0.0, seed=0,
             round_bf16=False):
    """glu.ffn_grad: a dict of float64 gradients keyed like the arguments
    ("x", "w_gate", "w_up" or "w_gate_up", "w_down", then the biases given).
    `round_bf16`: D(h), dg and du rounded to bfloat16 (round-hidden)."""
    rnd = bf16_round if round_bf16 else (lambda a: a)
    x2, dy2 = _tokens(x), _tokens(dy)
    merged = w_gate_up is not None
    g, u = ref._gate_and_up(x2, w_gate, w_up, w_gate_up, b_gate, b_up,
                            b_gate_up, layout, packing)
    if merged:
        w_gate, w_up = ref.split_merged(w_gate_up, layout, packing)
    factor = dropout_factor(seed, g.shape, dropout_p)
    h, dhdg, dhdu = gating_derivatives(act, g, u, beta, alpha, limit)
    dh = _back(dy2, w_down, layout) * factor
    dg, du = rnd(dh * dhdg), rnd(dh * dhdu)
    grads = {"x": (_back(dg, w_gate, layout) + _back(du, w_up, layout)).reshape(np.shape(x))}
    if merged:
        dgu = _merge(dg, du, packing)
        grads["w_gate_up"] = _weight_grad(x2, dgu, layout)
    else:
        grads["w_gate"] = _weight_grad(x2, dg, layout)
        grads["w_up"] = _weight_grad(x2, du, layout)
    grads["w_down"] = _weight_grad(rnd(h * factor), dy2, layout)
    if b_gate is not None:
        grads["b_gate"] = dg.sum(0)
    if b_up is not None:
        grads["b_up"] = du.sum(0)
    if b_gate_up is not None:
        grads["b_gate_up"] = _merge(dg, du, packing).sum(0)
    if b_down is not None:
        grads["b_down"] = dy2.sum(0)
    return grads


def mlp(x, act, *, w_up, w_down, b_up=None, b_down=None, layout="out_in",
        beta=DEFAULT_BETA, dropout_p=0.0, seed=0):
    """glu.mlp with dropout after the activation."""
    pre = ref._add_bias(ref.project(_tokens(x), w_up, layout), b_up)
    h = ref.activation(act, pre, beta) * dropout_factor(seed, pre.shape, dropout_p)
    y = ref._add_bias(ref.project(h, w_down, layout), b_down)
    return y.reshape(np.shape(x)[:-1] + (y.shape[-1],))


def mlp_grad(x, dy, act, *, w_up, w_down, b_up=None, b_down=None,
             layout="out_in", beta=DEFAULT_BETA, dropout_p=0.0, seed=0,
             round_bf16=False):
    """glu.mlp_grad: dict with "x", "w_up", "w_down" and the biases given.
    `round_bf16`: D(h) and the pre-activation's gradient rounded to
    bfloat16 (round-hidden)."""
    rnd = bf16_round if round_bf16 else (lambda a: a)
    x2, dy2 = _tokens(x), _tokens(dy)
    pre = ref._add_bias(ref.project(x2, w_up, layout), b_up)
    factor = dropout_factor(seed, pre.shape, dropout_p)
    h = ref.activation(act, pre, beta)
    dh = _back(dy2, w_down, layout) * factor
    dp = rnd(dh * activation_derivative(act, pre, beta))
    grads = {"x": _back(dp, w_up, layout).reshape(np.shape(x)),
             "w_up": _weight_grad(x2, dp, layout),
             "w_down": _weight_grad(rnd(h * factor), dy2, layout)}
    if b_up is not None:
        grads["b_up"] = dp.sum(0)
    if b_down is not None:
        grads["b_down"] = dy2.sum(0)
    return grads
