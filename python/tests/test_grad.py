"""The training ops (docs/training.md): Philox4x32-10 against the published
known answers, the dropout mask's statistics, the numpy reference of the
gradients (python/swiglu/reference_grad.py) against finite differences of
the forward, and the compiled glu.ffn_grad / glu.mlp_grad / glu.dropout
against that reference."""

import numpy as np
import pytest

import swiglu
from swiglu import reference_grad as rg
from swiglu import training
from swiglu.ffn import numpy_dtype

# Random123's kat_vectors (Salmon et al. 2011): counter, key, expected.
PHILOX_KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]


@pytest.mark.parametrize("counter,key,expected", PHILOX_KAT)
def test_philox_known_answers(counter, key, expected):
    assert [int(w) for w in rg.philox4x32_10(counter, key)] == list(expected)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_dropout_rate_and_scaling(p):
    n = 1 << 20
    h = np.ones(n)
    y = rg.dropout(h, seed=1234, p=p)
    dropped = np.mean(y == 0)
    sigma = np.sqrt(p * (1 - p) / n)
    assert abs(dropped - p) < 5 * sigma, (dropped, p)
    kept = y[y != 0]
    assert np.all(kept == np.float32(1 / (1 - np.float32(p))))
    # The expectation is kept: E[dropout(h)] = h.
    assert abs(y.mean() - 1.0) < 5 * np.sqrt(p / (1 - p) / n)


def test_dropout_independence():
    n, p = 1 << 20, 0.5
    keep = rg.dropout_factor(99, (n,), p) > 0
    k = keep.astype(np.float64) - keep.mean()
    bound = 5 / np.sqrt(n)
    for lag in (1, 2, 3, 4, 1024):  # neighbours, within and across rows
        corr = np.mean(k[:-lag] * k[lag:]) / np.mean(k * k)
        assert abs(corr) < bound, (lag, corr)
    # Another seed: independent masks agree on p² + (1-p)² of the elements.
    other = rg.dropout_factor(100, (n,), p) > 0
    assert abs(np.mean(keep == other) - 0.5) < 5 * np.sqrt(0.25 / n)
    # The 32-bit words are uniform: 16 equal bins, chi-square (15 dof) < 50.
    words = rg.dropout_words(7, n)
    counts = np.bincount((words >> np.uint32(28)).astype(np.int64), minlength=16)
    chi2 = np.sum((counts - n / 16) ** 2 / (n / 16))
    assert chi2 < 50, chi2
    # Elements beyond 2^32: the high word of the index is in the counter.
    assert not np.array_equal(rg.dropout_words(7, 64, start=0),
                              rg.dropout_words(7, 64, start=1 << 32))


# ---------------------------------------------------------------------------
# The reference against finite differences (float64)
# ---------------------------------------------------------------------------

FD_CASES = [
    dict(activation="silu"),
    dict(activation="sigmoid", bias=True),
    dict(activation="identity", layout="in_out"),
    dict(activation="relu", bias=True),
    dict(activation="gelu_erf", packing="concat", bias=True),
    dict(activation="gelu_tanh", packing="interleaved", layout="in_out"),
    dict(activation="swish", beta=1.5, d_out=5),
    # limit 0.6: both clamps active on many elements
    dict(activation="clamped_swiglu", alpha=1.702, limit=0.6, packing="interleaved",
         bias=True),
    dict(activation="silu", dropout=0.3),
    dict(activation="gelu_erf", gated=False, bias=True),
    dict(activation="relu", gated=False, layout="in_out", dropout=0.25),
]


def operands(spec, seed=0, tokens=(2, 3)):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(tokens + (spec.d_model,))
    arrays = {}
    for name, shape, _, _ in spec.operands():
        fan_in = spec.d_ff if name == "w_down" else spec.d_model
        arrays[name] = rng.standard_normal(shape) * (0.5 if name.startswith("b_")
                                                     else 1.5 / np.sqrt(fan_in))
    dy = rng.standard_normal(tokens + (spec.out_features,))
    return x, dy, arrays


def params(spec):
    return {k: v for k, v in (("beta", spec.beta), ("alpha", spec.alpha),
                              ("limit", spec.limit)) if v is not None}


def forward(spec, x, a, dropout, seed):
    if spec.gated:
        return rg.ffn(x, spec.activation, layout=spec.layout, packing=spec.packing or "concat",
                      dropout_p=dropout, seed=seed, **a, **params(spec))
    return rg.mlp(x, spec.activation, layout=spec.layout, dropout_p=dropout, seed=seed,
                  **a, **params(spec))


def gradients(spec, x, dy, a, dropout, seed):
    if spec.gated:
        return rg.ffn_grad(x, dy, spec.activation, layout=spec.layout,
                           packing=spec.packing or "concat", dropout_p=dropout, seed=seed,
                           **a, **params(spec))
    return rg.mlp_grad(x, dy, spec.activation, layout=spec.layout, dropout_p=dropout,
                       seed=seed, **a, **params(spec))


def make_spec(case):
    case = dict(case)
    dropout = case.pop("dropout", 0.0)
    case.setdefault("d_model", 6)
    case.setdefault("d_ff", 8)
    return swiglu.FFNSpec(**case), dropout


@pytest.mark.parametrize("case", FD_CASES, ids=lambda c: "-".join(map(str, c.values())))
def test_reference_matches_finite_differences(case):
    spec, dropout = make_spec(case)
    x, dy, a = operands(spec)
    seed = 5
    grads = gradients(spec, x, dy, a, dropout, seed)
    assert sorted(grads) == sorted(["x"] + list(a))
    loss = lambda xx, aa: float(np.sum(forward(spec, xx, aa, dropout, seed) * dy))
    rng = np.random.default_rng(1)
    eps = 1e-6
    for name in ["x"] + list(a):
        base = x if name == "x" else a[name]
        assert grads[name].shape == base.shape, name
        for flat in rng.choice(base.size, size=min(base.size, 8), replace=False):
            idx = np.unravel_index(flat, base.shape)
            plus, minus = base.copy(), base.copy()
            plus[idx] += eps
            minus[idx] -= eps
            if name == "x":
                fd = (loss(plus, a) - loss(minus, a)) / (2 * eps)
            else:
                fd = (loss(x, {**a, name: plus}) - loss(x, {**a, name: minus})) / (2 * eps)
            assert abs(fd - grads[name][idx]) <= 1e-6 * max(1.0, abs(fd)), (name, idx, fd,
                                                                            grads[name][idx])


# ---------------------------------------------------------------------------
# The compiled ops against the reference
# ---------------------------------------------------------------------------

COMPILED_CASES = [
    dict(activation="silu"),
    dict(activation="sigmoid", bias=True, layout="in_out"),
    dict(activation="identity"),
    dict(activation="relu", packing="concat", bias=True),
    dict(activation="gelu_erf", bias=True),
    dict(activation="gelu_tanh", packing="interleaved", layout="in_out"),
    dict(activation="swish", beta=1.5, d_out=24),
    dict(activation="clamped_swiglu", alpha=1.702, limit=0.6, packing="interleaved",
         bias=True, layout="in_out"),
    dict(activation="silu", dropout=0.2),
    dict(activation="silu", dtype="bf16"),
    dict(activation="clamped_swiglu", limit=0.6, packing="concat", bias=True, dtype="bf16",
         dropout=0.1),
    dict(activation="gelu_tanh", gated=False, bias=True),
    dict(activation="relu", gated=False, dropout=0.5, dtype="bf16"),
    # K of every GEMM (30, 46, 35 tokens) not a multiple of the unroll (4)
    dict(activation="gelu_tanh", d_model=30, d_ff=46, packing="interleaved", bias=True,
         dropout=0.3),
    dict(activation="gelu_tanh", d_model=30, d_ff=46, packing="interleaved", bias=True,
         dropout=0.3, target="cpu-reference"),
]


def rounded(arrays, dtype):
    return {k: v.astype(numpy_dtype(dtype)) for k, v in arrays.items()}


@pytest.mark.parametrize("case", COMPILED_CASES, ids=lambda c: "-".join(map(str, c.values())))
def test_compiled_grad_matches_reference(case):
    case = dict(case)
    case.setdefault("d_model", 32)
    case.setdefault("d_ff", 48)
    target = case.pop("target", "cpu")
    spec, dropout = make_spec(case)
    x, dy, a = operands(spec, seed=3, tokens=(5, 7))
    dt = numpy_dtype(spec.dtype)
    x, dy, a = x.astype(dt), dy.astype(dt), rounded(a, spec.dtype)
    seed = 0x1234_5678_9ABC  # above 2^32: both key words matter
    expected = gradients(spec, x, dy, a, dropout, seed)
    grad = training.compile_grad(spec, dropout, target=target,
                                 options="threads=2" if target == "cpu" else None)
    got = grad(x, dy, seed=seed, **a)
    assert sorted(got) == sorted(expected)
    u = 2.0**-24 if spec.dtype == "f32" else 2.0**-8
    for name, want in expected.items():
        g = got[name].astype(np.float64)
        assert g.shape == want.shape, name
        scale = np.abs(want).max()
        tol = u * np.abs(want) + 2e-5 * scale
        assert np.all(np.abs(g - want) <= tol), (name, np.abs(g - want).max(), scale)


def test_compiled_dropout_is_the_reference_mask():
    shape = (37, 176)
    h = np.random.default_rng(0).standard_normal(shape).astype(np.float32) + 3.0
    for p, seed in ((0.1, 0), (0.5, 2**40 + 3), (0.9, 77)):
        y = training.compile_dropout(shape, "f32", p)(h, seed)
        want = (h.astype(np.float64) * rg.dropout_factor(seed, shape, p)).astype(np.float32)
        np.testing.assert_array_equal(y, want)


def test_recompute_reproduces_the_forward_mask():
    """glu.dropout of the forward's hidden and glu.ffn_grad's recompute drop
    the same elements: with Wd = I and dy = 1, dWd = dropout(h)ᵀ·1 sums the
    dropped-out hidden, column by column, as the forward's mask leaves it."""
    spec = swiglu.FFNSpec(d_model=16, d_ff=16, activation="identity", packing="concat")
    rng = np.random.default_rng(4)
    x = rng.standard_normal((9, 16)).astype(np.float32)
    w = rng.standard_normal((32, 16)).astype(np.float32) / 4
    p, seed = 0.4, 31
    grad = training.compile_grad(spec, p, options="threads=2")
    dy = np.zeros((9, 16), np.float32)
    hidden = (x @ w[:16].T) * (x @ w[16:].T)
    forward = training.compile_dropout((9, 16), "f32", p)(hidden.astype(np.float32), seed)
    assert 0 < np.mean(forward == 0) < 1
    for row in range(9):  # dy selects one token: dWd[:, f] = dropout(h)[row, f]
        dy[:] = 0
        dy[row, 0] = 1
        g = grad(x, dy, seed=seed, w_gate_up=w, w_down=np.eye(16, dtype=np.float32))
        np.testing.assert_allclose(g["w_down"][0], forward[row], rtol=1e-5, atol=1e-6)
        assert np.array_equal(g["w_down"][0] == 0, forward[row] == 0)


@pytest.mark.parametrize("case", [
    dict(activation="gelu_erf", packing="interleaved", bias=True, dropout=0.2),
    dict(activation="relu", gated=False, bias=True, layout="in_out"),
], ids=["ffn", "mlp"])
def test_kept_preactivations_give_the_same_gradients(case):
    """The backward that takes the forward's pre-activations (x·W + b, f32)
    computes what the recomputing one does."""
    case = dict(case, d_model=24, d_ff=40)
    spec, dropout = make_spec(case)
    x, dy, a = operands(spec, seed=8, tokens=(11,))
    x, dy, a = x.astype(np.float32), dy.astype(np.float32), rounded(a, "f32")
    seed = 3
    expected = gradients(spec, x, dy, a, dropout, seed)
    from swiglu import reference as ref
    if spec.gated:
        wg, wu = ref.split_merged(a["w_gate_up"], spec.layout, spec.packing)
        bg, bu = ref.split_merged_bias(a["b_gate_up"], spec.packing)
        pre = {"gate_pre": ref.project(x, wg, spec.layout) + bg,
               "up_pre": ref.project(x, wu, spec.layout) + bu}
    else:
        pre = {"up_pre": ref.project(x, a["w_up"], spec.layout) + a["b_up"]}
    grad = training.compile_grad(spec, dropout, options="threads=2", keep_pre=True)
    got = grad(x, dy, seed=seed, **a, **{k: v.astype(np.float32) for k, v in pre.items()})
    for name, want in expected.items():
        err = np.abs(got[name] - want).max()
        assert err <= 2e-5 * np.abs(want).max() + 1e-6, (name, err)
    # Pre-activations that are not the forward's give other gradients.
    wrong = grad(x, dy, seed=seed, **a, **{k: (v + 0.5).astype(np.float32) for k, v in pre.items()})
    assert np.abs(wrong["x"] - expected["x"]).max() > 1e-2 * np.abs(expected["x"]).max()
