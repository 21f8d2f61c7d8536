"""round-hidden in glu.ffn_grad / glu.mlp_grad: PyTorch's bf16 autograd
semantics for bf16 blocks (the dropped-out hidden, dg and du rounded to
bf16 before dx and the weight and bias gradients read them), through the
CPU kernels (every GEMM on AVX512-BF16 dot products where the host has
them; the weight gradients with K = tokens in k pairs, an odd count
zero-padded) and through the reference lowering, both against the numpy
reference with the same rounding (reference_grad, round_bf16=True)."""

import numpy as np
import pytest

import swiglu
from swiglu import reference_grad as rg
from swiglu import training

from test_grad_kernels import operands, params


def reference(spec, x, dy, a, dropout, seed, rounded):
    if spec.gated:
        return rg.ffn_grad(x, dy, spec.activation, layout=spec.layout,
                           packing=spec.packing or "concat", dropout_p=dropout, seed=seed,
                           round_bf16=rounded, **a, **params(spec))
    return rg.mlp_grad(x, dy, spec.activation, layout=spec.layout, dropout_p=dropout,
                       seed=seed, round_bf16=rounded, **a, **params(spec))


def errors(got, want):
    """max |got - want| / max |want| per gradient."""
    return {k: np.abs(got[k].astype(np.float64) - w).max() / max(np.abs(w).max(), 1e-30)
            for k, w in want.items()}


def close_fraction(got, want, rel=2e-6):
    """The fraction of each gradient's elements within rel · max |want|.
    A fraction, not all: the compiled code rounds f32 values that differ
    from the reference's float64 ones in the last bits, so a few of the
    ~10^4 rounded dg, du or hidden elements round the other way (one bf16
    ulp of one term of a sum)."""
    return {k: np.mean(np.abs(got[k].astype(np.float64) - w)
                       <= rel * max(np.abs(w).max(), 1e-30)) for k, w in want.items()}


def run(spec, tokens, dropout=0.0, target="cpu", options="threads=2 round-hidden=true",
        seed=11):
    x, dy, a = operands(spec, tokens, seed)
    rng_seed = 0x1234_5678_9ABC
    got = training.compile_grad(spec, dropout, target=target, options=options)(
        x, dy, seed=rng_seed, **a)
    rounded = reference(spec, x, dy, a, dropout, rng_seed, True)
    plain = reference(spec, x, dy, a, dropout, rng_seed, False)
    assert sorted(got) == sorted(rounded)
    return got, rounded, plain


def check_bf16(spec, tokens, dropout=0.0, **kw):
    """All bf16: within bf16's rounding of the rounding reference (all but
    1 % of the elements; those within a flipped intermediate's ulp: see
    close_fraction)."""
    got, want, _ = run(spec, tokens, dropout, **kw)
    u = 2.0**-8
    for name, w in want.items():
        g = got[name].astype(np.float64)
        assert g.shape == w.shape, name
        scale = max(np.abs(w).max(), 1e-30)
        err = np.abs(g - w)
        assert np.mean(err <= u * np.abs(w) + 3e-5 * scale) >= 0.99, (name, err.max(), scale)
        assert np.all(err <= u * np.abs(w) + 4e-3 * scale), (name, err.max(), scale)


CASES = [
    dict(activation="silu"),
    dict(activation="gelu_tanh", bias=True),
    dict(activation="clamped_swiglu", alpha=1.702, limit=0.6, packing="concat", bias=True),
    dict(activation="swish", beta=1.5, packing="interleaved", layout="in_out"),
    dict(activation="relu", gated=False, bias=True),
    dict(activation="gelu_erf", gated=False, layout="in_out"),
]
IDS = ["silu", "gelu-tanh-bias", "clamped-concat-bias", "swish-interleaved-inout",
       "mlp-relu-bias", "mlp-gelu-inout"]


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("tokens", [1, 2, 7, 38, 37])
def test_bf16_kernels(case, tokens):
    # d_ff = 100: a partial panel; odd token counts: the weight gradients'
    # last k pair zero-padded.
    check_bf16(swiglu.FFNSpec(d_model=40, d_ff=100, dtype="bf16", **case), tokens)


@pytest.mark.parametrize("case", CASES[:1] + CASES[4:5], ids=["ffn", "mlp"])
@pytest.mark.parametrize("tokens", [6, 37])
def test_bf16_reference_lowering(case, tokens):
    check_bf16(swiglu.FFNSpec(d_model=40, d_ff=100, dtype="bf16", **case), tokens,
               target="cpu-reference", options="round-hidden=true")


@pytest.mark.parametrize("options", [
    "threads=1 round-hidden=true",
    # several K chunks (K = tokens of the weight gradients), several row blocks
    "threads=2 k-chunk=16 tile-tokens=10 round-hidden=true",
    # no dot products: rounded all the same, the GEMMs widen
    "threads=2 bf16-dot=off round-hidden=true",
])
@pytest.mark.parametrize("tokens", [5, 150])
def test_bf16_tilings(options, tokens):
    spec = swiglu.FFNSpec(d_model=72, d_ff=200, activation="silu", bias=True, dtype="bf16")
    check_bf16(spec, tokens, options=options)


@pytest.mark.parametrize("dropout", [0.1])
@pytest.mark.parametrize("gated", [True, False])
def test_bf16_dropout(dropout, gated):
    spec = swiglu.FFNSpec(d_model=48, d_ff=136, activation="silu", gated=gated, bias=True,
                          dtype="bf16")
    check_bf16(spec, 37, dropout)


# f32 weights with bf16 x and dy: the weight gradients are f32, so they
# show the rounding itself (to f32 accuracy): near the rounding reference,
# far (bf16's rounding) from the unrounded one.
MIXED = [
    dict(activation="silu"),
    dict(activation="gelu_erf", bias=True),
    dict(activation="silu", gated=False, bias=True, layout="in_out"),
]


@pytest.mark.parametrize("target,options", [
    ("cpu", "threads=2 round-hidden=true"),
    ("cpu", "threads=2 bf16-dot=off round-hidden=true"),
    ("cpu-reference", "round-hidden=true"),
], ids=["kernels", "kernels-no-dot", "reference"])
@pytest.mark.parametrize("case", MIXED, ids=["ffn", "ffn-bias", "mlp"])
@pytest.mark.parametrize("tokens", [37, 64])
def test_rounding_shows_in_f32_weight_gradients(target, options, case, tokens):
    spec = swiglu.FFNSpec(d_model=40, d_ff=100, dtype="bf16", weight_dtype="f32", **case)
    got, rounded, plain = run(spec, tokens, target=target, options=options)
    near, far = close_fraction(got, rounded), close_fraction(got, plain)
    for name in got:
        if name.startswith("w_"):
            assert near[name] >= 0.98 and far[name] <= 0.5, (name, near[name], far[name])


@pytest.mark.parametrize("target,options", [("cpu", "threads=2"), ("cpu-reference", None)])
def test_off_by_default(target, options):
    # Without the option the op's semantics: dg, du and the hidden in f32.
    spec = swiglu.FFNSpec(d_model=40, d_ff=100, activation="silu", dtype="bf16",
                          weight_dtype="f32")
    got, rounded, plain = run(spec, 37, target=target, options=options)
    near, far = close_fraction(got, plain), close_fraction(got, rounded)
    for name in ("w_gate", "w_up", "w_down"):
        assert near[name] >= 0.98 and far[name] <= 0.5, (name, near[name], far[name])


@pytest.mark.parametrize("d_model,d_ff", [(39, 99), (40, 99)], ids=["odd-d-model", "odd-d-ff"])
@pytest.mark.parametrize("gated", [True, False])
def test_bf16_odd_widths(d_model, d_ff, gated):
    # An odd d_model: no dot products in the recompute and dh; an odd d_ff:
    # dx (K = d_ff) widens; the rounding and the weight gradients' pairs as
    # always.
    spec = swiglu.FFNSpec(d_model=d_model, d_ff=d_ff, activation="silu", gated=gated, bias=True,
                          dtype="bf16")
    check_bf16(spec, 37)
