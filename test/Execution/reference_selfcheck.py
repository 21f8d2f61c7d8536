"""Self-checks of the numpy reference (python/swiglu/reference.py).

The execution tests trust the reference, so it is checked here against
values computed by hand or from first principles, and against identities
that must hold between its layouts and packings. Run by
reference_selfcheck.mlir; prints `SELFCHECK OK <n> checks` on success and
exits non-zero on the first failure.
"""

import math
import sys

import ml_dtypes
import numpy as np

from swiglu import reference as ref

CHECKS = 0


def check(cond, what):
    global CHECKS
    CHECKS += 1
    if not cond:
        print("SELFCHECK FAIL: " + what)
        sys.exit(1)


def close(a, b, what, rtol=1e-15, atol=0.0):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    ok = a.shape == b.shape and np.allclose(a, b, rtol=rtol, atol=atol,
                                            equal_nan=True)
    check(ok, "%s: got %r, expected %r" % (what, a, b))


def main():
    # --- activations at known points -----------------------------------
    close(ref.sigmoid(0.0), 0.5, "sigmoid(0)")
    close(ref.sigmoid(1.0), 1.0 / (1.0 + math.exp(-1.0)), "sigmoid(1)")
    close(ref.sigmoid(-1.0), math.exp(-1.0) / (1.0 + math.exp(-1.0)),
          "sigmoid(-1)")
    # No overflow at the extremes, and the right limits.
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        s = ref.sigmoid(np.array([-1e4, -800.0, 800.0, 1e4]))
    check(np.all(np.isfinite(s)), "sigmoid finite at extremes: %r" % s)
    close(s, [0.0, 0.0, 1.0, 1.0], "sigmoid limits", atol=1e-300)
    close(ref.sigmoid(-30.0), math.exp(-30.0) / (1.0 + math.exp(-30.0)),
          "sigmoid(-30) keeps its relative accuracy")
    check(np.isnan(ref.sigmoid(np.nan)), "sigmoid(NaN) is NaN")

    close(ref.identity([-2.5, 0.0, 3.0]), [-2.5, 0.0, 3.0], "identity")

    close(ref.relu([-2.0, -0.0, 0.0, 3.5]), [0.0, 0.0, 0.0, 3.5], "relu")
    r = ref.relu(np.array([np.nan, -1.0]))
    check(np.isnan(r[0]) and r[1] == 0.0, "relu propagates NaN: %r" % r)

    # Φ(1) = 0.8413447460685429 (standard normal CDF at 1).
    close(ref.gelu_erf(1.0), 0.8413447460685429, "gelu_erf(1)", rtol=1e-15)
    close(ref.gelu_erf(-1.0), -1.0 * (1.0 - 0.8413447460685429), "gelu_erf(-1)",
          rtol=1e-14)
    close(ref.gelu_erf(0.0), 0.0, "gelu_erf(0)")
    # ½·1·(1 + tanh(√(2/π)·1.044715)) = 0.8411919906082768
    close(ref.gelu_tanh(1.0), 0.8411919906082768, "gelu_tanh(1)", rtol=1e-15)
    close(ref.gelu_tanh(-1.0), 0.8411919906082768 - 1.0,
          "gelu_tanh(-x) = gelu_tanh(x) - x", rtol=1e-14)
    # The two GELUs differ, by at most ~5e-4 (so the tests must resolve it).
    xs = np.linspace(-8, 8, 16001)
    diff = np.max(np.abs(ref.gelu_erf(xs) - ref.gelu_tanh(xs)))
    check(1e-4 < diff < 1e-3, "gelu_erf - gelu_tanh max diff %g" % diff)

    close(ref.silu(1.0), 1.0 / (1.0 + math.exp(-1.0)), "silu(1)")
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        sl = ref.silu(np.array([1e4, -1e4]))
    check(sl[0] == 1e4, "silu(1e4) = 1e4, got %r" % sl[0])
    check(sl[1] == 0.0, "silu(-1e4) = -0.0 (or 0), got %r" % sl[1])
    close(ref.swish(2.0, 1.5), 2.0 / (1.0 + math.exp(-3.0)), "swish(2, 1.5)")
    close(ref.swish(xs, 1.0), ref.silu(xs), "swish beta=1 is silu")
    close(ref.activation("swish", -2.0, beta=0.5),
          -2.0 / (1.0 + math.exp(1.0)), "activation swish beta=0.5")
    try:
        ref.activation("clamped_swiglu", 1.0)
        check(False, "activation(clamped_swiglu) must raise")
    except ValueError:
        check(True, "")

    # --- gating ---------------------------------------------------------
    close(ref.gating("silu", 2.0, 3.0), 3.0 * 2.0 / (1.0 + math.exp(-2.0)),
          "silu gating")
    close(ref.gating("identity", 2.0, -3.0), -6.0, "bilinear gating")
    close(ref.gating("relu", -2.0, 5.0), 0.0, "reglu gating, negative gate")
    # Clamped SwiGLU by hand, defaults α = 1.702, L = 7:
    #   g = 9 → g' = 7; u = -8 → u' = -7;  7·σ(11.914)·(-6)
    sig = 1.0 / (1.0 + math.exp(-1.702 * 7.0))
    close(ref.gating("clamped_swiglu", 9.0, -8.0), 7.0 * sig * -6.0,
          "clamped swiglu at (9, -8)")
    #   g = -3 (no clamp from below), u = 2.5 (inside): -3·σ(-5.106)·3.5
    sig = 1.0 / (1.0 + math.exp(1.702 * 3.0))
    close(ref.gating("clamped_swiglu", -3.0, 2.5), -3.0 * sig * 3.5,
          "clamped swiglu at (-3, 2.5)")
    #   explicit α = 1, L = 3: g = 4 → 3, u = 10 → 3: 3·σ(3)·4
    close(ref.gating("clamped_swiglu", 4.0, 10.0, alpha=1.0, limit=3.0),
          3.0 / (1.0 + math.exp(-3.0)) * 4.0, "clamped swiglu alpha=1 limit=3")
    #   the gate is not clamped from below: g = -20 → σ(-34.04)·(-20) ≈ 0
    close(ref.gating("clamped_swiglu", -20.0, 0.0),
          -20.0 / (1.0 + math.exp(1.702 * 20.0)),
          "clamped swiglu gate not clamped below")
    g = np.array([np.nan, 1.0])
    u = np.array([1.0, np.nan])
    check(np.all(np.isnan(ref.gating("clamped_swiglu", g, u))),
          "clamped swiglu propagates NaN")

    # --- projections, layouts and packings --------------------------------
    rng = np.random.default_rng(1234)
    D, F, Dout = 5, 6, 4
    x = rng.standard_normal((2, 3, D))
    wg = rng.standard_normal((F, D))
    wu = rng.standard_normal((F, D))
    wd = rng.standard_normal((Dout, F))
    bg, bu, bd = (rng.standard_normal(n) for n in (F, F, Dout))

    # A projection by explicit loops over the formula y_n = Σ_k x_k·W[n, k].
    def loops(xv, w):
        out = np.zeros(xv.shape[:-1] + (w.shape[0],))
        for idx in np.ndindex(*xv.shape[:-1]):
            for n in range(w.shape[0]):
                out[idx + (n,)] = sum(xv[idx + (k,)] * w[n, k]
                                      for k in range(w.shape[1]))
        return out

    close(ref.project(x, wg, "out_in"), loops(x, wg), "out_in projection",
          rtol=1e-13)
    close(ref.project(x, wg.T, "in_out"), loops(x, wg), "in_out projection",
          rtol=1e-13)
    close(ref.project(x, wg, "out_in", absolute=True),
          loops(np.abs(x), np.abs(wg)), "absolute projection", rtol=1e-13)
    close(ref.project(x, wg.T, "in_out", squared=True),
          loops(x * x, wg * wg), "squared projection", rtol=1e-13)
    # Chunked conversion of large weights gives the same values.
    saved = ref._CHUNK_ELEMENTS
    ref._CHUNK_ELEMENTS = 2 * D
    try:
        close(ref.project(x, wg, "out_in"), loops(x, wg), "chunked out_in",
              rtol=1e-13)
        close(ref.project(x, wg.T, "in_out"), loops(x, wg), "chunked in_out",
              rtol=1e-13)
    finally:
        ref._CHUNK_ELEMENTS = saved

    # The whole block against the formula written out with the loops.
    for act in ref.ACTIVATIONS:
        want = loops(ref.gating(act, loops(x, wg) + bg, loops(x, wu) + bu,
                                beta=1.5 if act == "swish" else 1.0), wd) + bd
        got = ref.ffn(x, act, w_gate=wg, w_up=wu, w_down=wd, b_gate=bg,
                      b_up=bu, b_down=bd,
                      beta=1.5 if act == "swish" else 1.0)
        close(got, want, "ffn %s vs loops" % act, rtol=1e-12, atol=1e-12)

    base = ref.ffn(x, "silu", w_gate=wg, w_up=wu, w_down=wd, b_gate=bg,
                   b_up=bu, b_down=bd)
    # in_out with every weight transposed is the same block.
    close(ref.ffn(x, "silu", w_gate=wg.T, w_up=wu.T, w_down=wd.T, b_gate=bg,
                  b_up=bu, b_down=bd, layout="in_out"), base,
          "in_out == out_in transposed", rtol=1e-13)
    # concat packing: [gate || up] along the output features.
    w_cat = np.concatenate([wg, wu], axis=0)
    b_cat = np.concatenate([bg, bu])
    close(ref.ffn(x, "silu", w_gate_up=w_cat, w_down=wd, b_gate_up=b_cat,
                  b_down=bd, packing="concat"), base, "concat packing",
          rtol=1e-13)
    # interleaved packing: the same rows permuted, gate i at 2i, up i at 2i+1.
    perm = np.empty(2 * F, dtype=int)
    perm[0::2] = np.arange(F)
    perm[1::2] = np.arange(F) + F
    w_int = w_cat[perm]
    b_int = b_cat[perm]
    check(np.array_equal(w_int[2], wg[1]) and np.array_equal(w_int[3], wu[1]),
          "interleaved row permutation")
    close(ref.ffn(x, "silu", w_gate_up=w_int, w_down=wd, b_gate_up=b_int,
                  b_down=bd, packing="interleaved"), base,
          "interleaved == concat after permuting rows", rtol=1e-13)
    close(ref.ffn(x, "silu", w_gate_up=w_int.T, w_down=wd.T, b_gate_up=b_int,
                  b_down=bd, packing="interleaved", layout="in_out"), base,
          "interleaved in_out", rtol=1e-13)
    # The packings must not be interchangeable (else the tests prove nothing).
    wrong = ref.ffn(x, "silu", w_gate_up=w_int, w_down=wd, b_gate_up=b_int,
                    b_down=bd, packing="concat")
    check(np.max(np.abs(wrong - base)) > 1e-3, "wrong packing is detectable")
    # gate_up is the hidden of ffn.
    h = ref.gate_up(x, "silu", w_int, b_int, packing="interleaved")
    close(ref.project(h, wd) + bd, base, "gate_up is ffn's hidden", rtol=1e-13)
    close(h, ref.gate("silu", loops(x, wg) + bg, loops(x, wu) + bu),
          "gate_up vs gate", rtol=1e-13)
    # mlp by the formula.
    close(ref.mlp(x, "gelu_tanh", w_up=wg, w_down=wd, b_up=bg, b_down=bd),
          loops(ref.gelu_tanh(loops(x, wg) + bg), wd) + bd, "mlp", rtol=1e-12)
    close(ref.mlp(x, "relu", w_up=wg.T, w_down=wd.T, layout="in_out"),
          loops(ref.relu(loops(x, wg)), wd), "mlp in_out no bias", rtol=1e-12)
    # Rank-1 input (no batch dims).
    close(ref.ffn(x[0, 0], "silu", w_gate=wg, w_up=wu, w_down=wd),
          ref.ffn(x[:1, :1], "silu", w_gate=wg, w_up=wu, w_down=wd)[0, 0],
          "rank-1 input", rtol=1e-15)

    # --- rounding and the .npy convention ---------------------------------
    check(ref.unit_roundoff("f32") == 2.0 ** -24, "u(f32)")
    check(ref.unit_roundoff("f16") == 2.0 ** -11, "u(f16)")
    check(ref.unit_roundoff("bf16") == 2.0 ** -8, "u(bf16)")
    # 1 + 2^-8 is a bf16 tie: rounds to even (1.0); 1 + 3·2^-8 rounds up.
    b = ref.round_to([1.0 + 2.0 ** -8, 1.0 + 3 * 2.0 ** -8], "bf16")
    check(b.dtype == ml_dtypes.bfloat16, "round_to bf16 dtype")
    close(b.astype(np.float64), [1.0, 1.0 + 2.0 ** -6], "bf16 round to even")
    bits = ref.to_npy_array(np.array([1.0, -2.0]), "bf16")
    check(bits.dtype == np.dtype("<u2") and list(bits) == [0x3F80, 0xC000],
          "bf16 crosses as <u2 bits: %r" % bits)
    back = ref.from_npy_array(bits, "bf16")
    close(back.astype(np.float64), [1.0, -2.0], "bf16 bits round trip")
    check(ref.to_npy_array([1.5], "f16").dtype == np.dtype("<f2"), "f16 <f2")
    check(ref.to_npy_array([1.5], "f32").dtype == np.dtype("<f4"), "f32 <f4")

    print("SELFCHECK OK %d checks" % CHECKS)


if __name__ == "__main__":
    main()
