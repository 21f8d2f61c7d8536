"""Numpy reference of the `glu` dialect.

Written from the formulas of include/glu/Dialect/GLU/IR/GLUOps.td (the
definition of the dialect), *not* from the compiler's lowering, so that the
execution tests compare two independent implementations.

Conventions
-----------
* Every function takes arrays of any float type (f32, f16, ml_dtypes'
  bfloat16, f64): they are the already-rounded operands. They are converted
  to float64 exactly, all arithmetic is float64, and float64 is returned.
  Callers round once to the output dtype (`round_to`), exactly as the dialect
  rounds its result once.
* `x` has shape `[B..., D]` with any number (possibly zero) of leading batch
  dims.
* `layout="out_in"` stores a weight as `[out_features, in_features]`
  (PyTorch's `nn.Linear`, `y = x @ W.T`); `layout="in_out"` stores it as
  `[in_features, out_features]` (`y = x @ W`).
* A merged gate/up weight has `2F` output features: `packing="concat"` is
  `[gate || up]`, `packing="interleaved"` puts gate feature `i` at `2i` and
  up feature `i` at `2i + 1`. A merged bias `[2F]` splits the same way.
* The `.npy` convention of `swiglu-run`: f32 is `<f4`, f16 is `<f2`, bf16
  crosses as its raw 16-bit patterns `<u2` (see `save_npy` / `load_npy`).
"""

import math

import ml_dtypes
import numpy as np

__all__ = [
    "ACTIVATIONS",
    "DEFAULT_BETA",
    "DEFAULT_ALPHA",
    "DEFAULT_LIMIT",
    "DTYPES",
    "sigmoid",
    "identity",
    "relu",
    "gelu_erf",
    "gelu_tanh",
    "silu",
    "swish",
    "activation",
    "gating",
    "project",
    "split_merged",
    "split_merged_bias",
    "ffn",
    "mlp",
    "gate_up",
    "gate",
    "round_to",
    "unit_roundoff",
    "to_npy_array",
    "from_npy_array",
    "save_npy",
    "load_npy",
]

#: Every activation of the dialect, in the order of its enum.
ACTIVATIONS = (
    "sigmoid",
    "identity",
    "relu",
    "gelu_erf",
    "gelu_tanh",
    "silu",
    "swish",
    "clamped_swiglu",
)

#: Defaults of the activation parameters (GLUOps.td).
DEFAULT_BETA = 1.0
DEFAULT_ALPHA = 1.702
DEFAULT_LIMIT = 7.0

#: The dialect's element types by their MLIR spelling.
DTYPES = {
    "f32": np.dtype(np.float32),
    "f16": np.dtype(np.float16),
    "bf16": np.dtype(ml_dtypes.bfloat16),
    "f64": np.dtype(np.float64),
}


def _f64(a):
    """`a` as a float64 array (exact for f32, f16, bf16 and f64 inputs)."""
    return np.asarray(a).astype(np.float64)


# ---------------------------------------------------------------------------
# Activations (float64, elementwise)
# ---------------------------------------------------------------------------


def sigmoid(x):
    """σ(x) = 1 / (1 + e^-x), evaluated so that it never overflows.

    For x ≥ 0 it is 1 / (1 + e^-x); for x < 0 it is e^x / (1 + e^x). Both
    only ever exponentiate -|x| ≤ 0, so e^(-|x|) lies in (0, 1]. NaN gives
    NaN.
    """
    x = _f64(x)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def identity(x):
    """The identity x (gated, this is the Bilinear variant)."""
    return _f64(x)


def relu(x):
    """max(x, 0), NaN-propagating (like torch.relu): relu(NaN) = NaN."""
    return np.maximum(_f64(x), 0.0)


_erf = np.frompyfunc(math.erf, 1, 1)


def gelu_erf(x):
    """The exact GELU x·Φ(x) = ½·x·(1 + erf(x / √2)).

    numpy has no erf; Python's math.erf (correctly rounded to ~1 ulp of
    float64) is applied elementwise.
    """
    x = _f64(x)
    erf = np.asarray(_erf(x / math.sqrt(2.0)), dtype=np.float64)
    return 0.5 * x * (1.0 + erf)


def gelu_tanh(x):
    """The tanh approximation of GELU ½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))."""
    x = _f64(x)
    with np.errstate(over="ignore", invalid="ignore"):
        inner = math.sqrt(2.0 / math.pi) * (x + 0.044715 * x * x * x)
        return 0.5 * x * (1.0 + np.tanh(inner))


def silu(x):
    """SiLU x·σ(x) (SwiGLU's activation). Finite for every finite x:
    silu(1e4) = 1e4 and silu(-1e4) = -0.0."""
    x = _f64(x)
    return x * sigmoid(x)


def swish(x, beta=DEFAULT_BETA):
    """Swish-β x·σ(β·x); swish with β = 1 is silu."""
    x = _f64(x)
    return x * sigmoid(beta * x)


def activation(kind, x, beta=DEFAULT_BETA):
    """act(x) for every activation that is a function of one value.

    `clamped_swiglu` gates a (gate, up) pair and is rejected here: use
    `gating`.
    """
    if kind == "sigmoid":
        return sigmoid(x)
    if kind == "identity":
        return identity(x)
    if kind == "relu":
        return relu(x)
    if kind == "gelu_erf":
        return gelu_erf(x)
    if kind == "gelu_tanh":
        return gelu_tanh(x)
    if kind == "silu":
        return silu(x)
    if kind == "swish":
        return swish(x, beta)
    if kind == "clamped_swiglu":
        raise ValueError("clamped_swiglu gates a (gate, up) pair; use gating()")
    raise ValueError("unknown activation %r" % (kind,))


def gating(kind, g, u, beta=DEFAULT_BETA, alpha=DEFAULT_ALPHA, limit=DEFAULT_LIMIT):
    """The elementwise gating of a (gate, up) pair, in float64.

    act(g)·u for every activation but `clamped_swiglu`, which is GPT-OSS's
    gating: g' = min(g, L), u' = clip(u, -L, L), g'·σ(α·g')·(u' + 1).
    The clamps propagate NaN (like torch.clamp).
    """
    g = _f64(g)
    u = _f64(u)
    if kind != "clamped_swiglu":
        return activation(kind, g, beta) * u
    gc = np.minimum(g, limit)
    uc = np.minimum(np.maximum(u, -limit), limit)
    return gc * sigmoid(alpha * gc) * (uc + 1.0)


# ---------------------------------------------------------------------------
# Projections and merged weights
# ---------------------------------------------------------------------------

_CHUNK_ELEMENTS = 1 << 22  # 32 MiB of float64 per converted weight chunk


def _check_layout(layout):
    if layout not in ("out_in", "in_out"):
        raise ValueError("layout must be 'out_in' or 'in_out', got %r" % (layout,))


def _check_packing(packing):
    if packing not in ("concat", "interleaved"):
        raise ValueError(
            "packing must be 'concat' or 'interleaved', got %r" % (packing,))


def project(x, w, layout="out_in", absolute=False, squared=False):
    """x·W in float64 for `x: [B..., K]`, `W` as `layout` stores it.

    `out_in`: W is [N, K] and the result is x @ W.T; `in_out`: W is [K, N]
    and the result is x @ W. Shape `[B..., N]`.

    With `absolute=True` it computes |x|·|W|, the sum of the absolute values
    of the terms of every output; with `squared=True`, x²·W², the sum of
    their squares (both used to bound rounding errors).

    Large (e.g. bf16 LLaMA-sized) weights are converted to float64 in chunks
    of output features, so memory stays bounded.
    """
    _check_layout(layout)
    if absolute and squared:
        raise ValueError("give absolute or squared, not both")
    x = _f64(x)
    if absolute:
        x = np.abs(x)
    if squared:
        x = x * x
    w = np.asarray(w)
    if w.ndim != 2:
        raise ValueError("a weight must be 2-D, got shape %s" % (w.shape,))
    out_axis = 0 if layout == "out_in" else 1
    k = w.shape[1 - out_axis]
    n = w.shape[out_axis]
    if x.shape[-1] != k:
        raise ValueError("x has %d input features, the weight %d" % (x.shape[-1], k))
    step = max(1, _CHUNK_ELEMENTS // max(1, k))
    parts = []
    for start in range(0, max(n, 1), step):
        if layout == "out_in":
            chunk = _f64(w[start:start + step]).T
        else:
            chunk = _f64(w[:, start:start + step])
        if absolute:
            chunk = np.abs(chunk)
        if squared:
            chunk = chunk * chunk
        parts.append(x @ chunk)
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=-1)


def split_merged(w, layout="out_in", packing="concat"):
    """Splits a merged gate/up weight into (gate, up), each in `layout`.

    The 2F output features lie along dim 0 for `out_in` ([2F, D]) and dim 1
    for `in_out` ([D, 2F]). `concat`: gate = features [0, F), up = [F, 2F).
    `interleaved`: gate feature i = feature 2i, up feature i = 2i + 1.
    """
    _check_layout(layout)
    _check_packing(packing)
    w = np.asarray(w)
    axis = 0 if layout == "out_in" else 1
    return _split(w, axis, packing)


def split_merged_bias(b, packing="concat"):
    """Splits a merged gate/up bias [2F] into (gate bias, up bias), like
    `split_merged` splits the weight's features."""
    _check_packing(packing)
    return _split(np.asarray(b), 0, packing)


def _split(a, axis, packing):
    n2 = a.shape[axis]
    if n2 % 2:
        raise ValueError("a merged gate/up tensor needs an even number of "
                         "features, got %d" % n2)
    f = n2 // 2
    index = [slice(None)] * a.ndim
    if packing == "concat":
        index[axis] = slice(0, f)
        gate_part = a[tuple(index)]
        index[axis] = slice(f, n2)
        up_part = a[tuple(index)]
    else:
        index[axis] = slice(0, n2, 2)
        gate_part = a[tuple(index)]
        index[axis] = slice(1, n2, 2)
        up_part = a[tuple(index)]
    return gate_part, up_part


def _add_bias(y, b):
    return y if b is None else y + _f64(b)


def _gate_and_up(x, w_gate, w_up, w_gate_up, b_gate, b_up, b_gate_up, layout,
                 packing):
    """The gate and up pre-activations x·Wg + bg and x·Wu + bu (float64)."""
    if w_gate_up is not None:
        if w_gate is not None or w_up is not None:
            raise ValueError("give either w_gate and w_up, or w_gate_up")
        if b_gate is not None or b_up is not None:
            raise ValueError("a merged weight takes a merged bias b_gate_up")
        w_gate, w_up = split_merged(w_gate_up, layout, packing)
        if b_gate_up is not None:
            b_gate, b_up = split_merged_bias(b_gate_up, packing)
    else:
        if w_gate is None or w_up is None:
            raise ValueError("needs w_gate and w_up, or w_gate_up")
        if b_gate_up is not None:
            raise ValueError("b_gate_up needs a merged weight w_gate_up")
    g = _add_bias(project(x, w_gate, layout), b_gate)
    u = _add_bias(project(x, w_up, layout), b_up)
    return g, u


# ---------------------------------------------------------------------------
# The ops
# ---------------------------------------------------------------------------


def ffn(x, act, *, w_down, w_gate=None, w_up=None, w_gate_up=None,
        b_gate=None, b_up=None, b_gate_up=None, b_down=None,
        layout="out_in", packing="concat", beta=DEFAULT_BETA,
        alpha=DEFAULT_ALPHA, limit=DEFAULT_LIMIT):
    """glu.ffn: out = gating(x·Wg + bg, x·Wu + bu)·Wd + bd, in float64.

    Gate and up come from `w_gate`/`w_up` (biases `b_gate`/`b_up`) or from
    one merged `w_gate_up` (bias `b_gate_up`) split by `packing`. Every bias
    is optional. `w_down` is [D_out, F] (out_in) or [F, D_out] (in_out).
    The hidden is never rounded. Result `[B..., D_out]`.
    """
    g, u = _gate_and_up(x, w_gate, w_up, w_gate_up, b_gate, b_up, b_gate_up,
                        layout, packing)
    h = gating(act, g, u, beta, alpha, limit)
    return _add_bias(project(h, w_down, layout), b_down)


def mlp(x, act, *, w_up, w_down, b_up=None, b_down=None, layout="out_in",
        beta=DEFAULT_BETA):
    """glu.mlp: out = act(x·W1 + b1)·W2 + b2, in float64 (W1 = `w_up`,
    W2 = `w_down`). `clamped_swiglu` is a gating function: invalid here."""
    if act == "clamped_swiglu":
        raise ValueError("clamped_swiglu is not valid for a non-gated mlp")
    pre = _add_bias(project(x, w_up, layout), b_up)
    return _add_bias(project(activation(act, pre, beta), w_down, layout), b_down)


def gate_up(x, act, w_gate_up, b_gate_up=None, *, layout="out_in",
            packing="concat", beta=DEFAULT_BETA, alpha=DEFAULT_ALPHA,
            limit=DEFAULT_LIMIT):
    """glu.gate_up: the hidden gating(x·Wg + bg, x·Wu + bu) of a gated block,
    with Wg, Wu (and bg, bu) split from one merged weight (bias) by
    `packing`. Result `[B..., F]`, float64 (the op rounds it once to the
    input's element type)."""
    g, u = _gate_and_up(x, None, None, w_gate_up, None, None, b_gate_up,
                        layout, packing)
    return gating(act, g, u, beta, alpha, limit)


def gate(kind, g, u, beta=DEFAULT_BETA, alpha=DEFAULT_ALPHA, limit=DEFAULT_LIMIT):
    """glu.gate: the elementwise gating(g, u) (act(g)·u, or clamped SwiGLU),
    float64, any shape."""
    return gating(kind, g, u, beta, alpha, limit)


# ---------------------------------------------------------------------------
# Rounding and the .npy convention of swiglu-run
# ---------------------------------------------------------------------------


def _dtype(dtype):
    if isinstance(dtype, str):
        try:
            return DTYPES[dtype]
        except KeyError:
            raise ValueError("unknown element type %r" % (dtype,)) from None
    return np.dtype(dtype)


def round_to(a, dtype):
    """Rounds (round to nearest even, once) `a` to `dtype` ('f32', 'f16',
    'bf16', 'f64' or a numpy dtype). bf16 is ml_dtypes.bfloat16."""
    return np.asarray(a).astype(_dtype(dtype))


def unit_roundoff(dtype):
    """The unit roundoff u = 2^-p of a float type (p significand bits,
    implicit bit included): the largest relative error of one rounding to
    nearest. f32: 2^-24, f16: 2^-11, bf16: 2^-8, f64: 2^-53."""
    bits = {np.dtype(np.float32): 24, np.dtype(np.float16): 11,
            np.dtype(ml_dtypes.bfloat16): 8, np.dtype(np.float64): 53}
    return 2.0 ** -bits[_dtype(dtype)]


def to_npy_array(a, dtype):
    """`a` rounded to `dtype` as swiglu-run reads it: f32 as `<f4`, f16 as
    `<f2`, f64 as `<f8`, bf16 as its raw bits `<u2`."""
    dt = _dtype(dtype)
    r = np.asarray(a).astype(dt)
    if dt == DTYPES["bf16"]:
        return np.ascontiguousarray(r).view(np.uint16).astype("<u2")
    return r.astype(dt.newbyteorder("<"))


def from_npy_array(raw, dtype):
    """Inverse of `to_npy_array`: `raw` (as loaded) viewed as `dtype`
    (a `<u2` array becomes bfloat16 for 'bf16')."""
    dt = _dtype(dtype)
    raw = np.asarray(raw)
    if dt == DTYPES["bf16"]:
        if raw.dtype != np.dtype("<u2"):
            raise ValueError("bf16 crosses as <u2 bit patterns, got %s" % raw.dtype)
        return np.ascontiguousarray(raw).view(ml_dtypes.bfloat16)
    if raw.dtype.newbyteorder("=") != dt.newbyteorder("="):
        raise ValueError("expected %s, got %s" % (dt, raw.dtype))
    return raw.astype(dt)


def save_npy(path, a, dtype):
    """Writes `a` rounded to `dtype` in swiglu-run's .npy convention."""
    np.save(path, to_npy_array(a, dtype), allow_pickle=False)


def load_npy(path, dtype):
    """Reads a .npy written by swiglu-run (or `save_npy`) as `dtype`."""
    return from_npy_array(np.load(path, allow_pickle=False), dtype)
