"""glu.ffn_grad / glu.mlp_grad through the CPU kernels' GEMMs
(lib/Conversion/GLUToCPU/GradKernels.cpp: packed panels and strips, the
register-tiled micro-kernel, row- or panel-parallel workers) against the
numpy reference of the formulas (python/swiglu/reference_grad.py): every
activation, separate and merged weights (both packings), both layouts,
biases, dropout, f32 and bf16, token counts that leave partial strips
(1, 3, 37) and widths that leave partial panels, and tile options that make
every path run (several K chunks, several row blocks, both splits)."""

import numpy as np
import pytest

import swiglu
from swiglu import reference_grad as rg
from swiglu import training
from swiglu.ffn import numpy_dtype

# (activation, extra spec fields)
ACTIVATIONS = [
    ("silu", {}),
    ("sigmoid", {}),
    ("identity", {}),
    ("relu", {}),
    ("gelu_erf", {}),
    ("gelu_tanh", {}),
    ("swish", {"beta": 1.5}),
    ("clamped_swiglu", {"alpha": 1.702, "limit": 0.6}),
]


def params(spec):
    return {k: v for k, v in (("beta", spec.beta), ("alpha", spec.alpha),
                              ("limit", spec.limit)) if v is not None}


def reference(spec, x, dy, a, dropout, seed):
    if spec.gated:
        return rg.ffn_grad(x, dy, spec.activation, layout=spec.layout,
                           packing=spec.packing or "concat", dropout_p=dropout, seed=seed,
                           **a, **params(spec))
    return rg.mlp_grad(x, dy, spec.activation, layout=spec.layout, dropout_p=dropout,
                       seed=seed, **a, **params(spec))


def operands(spec, tokens, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((tokens, spec.d_model))
    a = {}
    for name, shape, _, _ in spec.operands():
        fan_in = spec.d_ff if name == "w_down" else spec.d_model
        a[name] = rng.standard_normal(shape) * (0.5 if name.startswith("b_")
                                                else 1.5 / np.sqrt(fan_in))
    dy = rng.standard_normal((tokens, spec.out_features))
    dt = numpy_dtype(spec.dtype)
    return x.astype(dt), dy.astype(dt), {k: v.astype(dt) for k, v in a.items()}


def check(spec, tokens, dropout=0.0, options="threads=2", seed=11):
    x, dy, a = operands(spec, tokens, seed)
    rng_seed = 0x1234_5678_9ABC
    want = reference(spec, x, dy, a, dropout, rng_seed)
    got = training.compile_grad(spec, dropout, options=options)(x, dy, seed=rng_seed, **a)
    assert sorted(got) == sorted(want)
    u = 2.0**-24 if spec.dtype == "f32" else 2.0**-8
    for name, w in want.items():
        g = got[name].astype(np.float64)
        assert g.shape == w.shape, name
        scale = max(np.abs(w).max(), 1e-30)
        tol = u * np.abs(w) + 3e-5 * scale
        assert np.all(np.abs(g - w) <= tol), (name, np.abs(g - w).max(), scale)


CASES = []
for act, extra in ACTIVATIONS:
    CASES.append(dict(activation=act, **extra))                               # separate
    CASES.append(dict(activation=act, packing="concat", bias=True, **extra))  # merged
    CASES.append(dict(activation=act, packing="interleaved", layout="in_out", **extra))
    if act != "clamped_swiglu":
        CASES.append(dict(activation=act, gated=False, bias=True, **extra))
        CASES.append(dict(activation=act, gated=False, layout="in_out", **extra))


# Token counts in turn: 1 and 3 (one partial strip), 37 (row-parallel
# workers, a partial last strip).
CASES = [dict(c, tokens=(1, 3, 37)[i % 3]) for i, c in enumerate(CASES)]


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(map(str, c.values())))
def test_every_activation_and_weight_form(case):
    # d_ff = 100: two gate/up panels of 32 features, the second partial;
    # d_model = 40 and d_out = 40: one partial panel of 64 outputs.
    case = dict(case)
    tokens = case.pop("tokens")
    spec = swiglu.FFNSpec(d_model=40, d_ff=100, **case)
    check(spec, tokens)


@pytest.mark.parametrize("case", [
    dict(activation="silu"),
    dict(activation="gelu_tanh", packing="interleaved", bias=True),
    dict(activation="relu", gated=False, bias=True, layout="in_out"),
], ids=["ffn", "ffn-merged", "mlp"])
@pytest.mark.parametrize("dropout", [0.1, 0.5])
def test_dropout(case, dropout):
    check(swiglu.FFNSpec(d_model=48, d_ff=136, **case), 37, dropout)


@pytest.mark.parametrize("options", [
    "threads=1",
    "threads=2",
    # several K chunks, several row blocks per worker, a row block that is
    # not a whole number of strips
    "threads=2 k-chunk=16 tile-tokens=10",
    "threads=3 k-chunk=40 micro-rows=4",
    # AVX2's 8 lanes: 8 x 8 transposes in the weight packing, 6 x 2 tiles
    "threads=2 vector-bits=256",
])
@pytest.mark.parametrize("tokens", [1, 5, 37, 150])
def test_tilings_and_splits(options, tokens):
    spec = swiglu.FFNSpec(d_model=72, d_ff=200, activation="silu", bias=True)
    check(spec, tokens, options=options)


@pytest.mark.parametrize("case", [
    dict(activation="silu"),
    dict(activation="clamped_swiglu", limit=0.6, packing="concat", bias=True),
    dict(activation="gelu_erf", gated=False, bias=True),
    dict(activation="gelu_tanh", packing="interleaved", layout="in_out"),
    dict(activation="silu", d_model=39),  # odd K: no dot products
], ids=["ffn", "ffn-clamped", "mlp", "in-out", "odd-k"])
@pytest.mark.parametrize("tokens", [1, 37])
@pytest.mark.parametrize("dropout", [0.0, 0.1])
def test_bf16(case, tokens, dropout):
    # bf16 x and weights with an even d_model: the recompute and dh run
    # AVX512-BF16 dot products where the host has them.
    case = dict(case)
    d_model = case.pop("d_model", 40)
    check(swiglu.FFNSpec(d_model=d_model, d_ff=100, dtype="bf16", **case), tokens, dropout)


def test_llama_like_shape():
    # Several panels and strips in every GEMM, K chunks of the default 512.
    spec = swiglu.FFNSpec(d_model=256, d_ff=688, activation="silu")
    check(spec, 97)
