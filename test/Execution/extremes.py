#!/usr/bin/env python3
"""Every activation at the extremes, compared with PyTorch's own functions.

For each activation configuration (run_cases.ACT_CONFIGS: sigmoid,
identity, relu, gelu_erf, gelu_tanh, silu, swish β, clamped SwiGLU α/limit)
and each element type (f32, bf16) this runs, with swiglu-run:

  * glu.gate on every ordered pair (g, u) of the special values below, so
    the activation sees each of them exactly;
  * glu.ffn with d_model 2, d_ff 4, d_out 2 on one token per ordered pair
    (x0, x1) of those values; the first gate row is [1, 0] and the first up
    row [0, 1], so the first hidden feature is act(x0)·x1 whenever x0 is
    finite (an infinite x0 makes x1·0 + x0·0... NaN, as in any matmul), and
    the other rows mix them (biases, a negative weight, a down projection
    that sums hidden features),

and compares the result with PyTorch: torch.sigmoid, the identity,
torch.nn.functional.relu, gelu(approximate='none'), gelu(approximate='tanh'),
silu, x·sigmoid(β·x) for Swish-β (PyTorch has no Swish-β), and GPT-OSS's
clamped SwiGLU as its reference code writes it (x_glu.clamp(max=limit),
x_linear.clamp(-limit, limit), x_glu·sigmoid(α·x_glu)·(x_linear + 1)); the
projections are F.linear.

The special values: ±1e4, ±Inf, NaN, ±0, ±88 and ±100 (where e^-x
overflows f32), ±1e20 (x³ overflows f32 in GELU-tanh; glu.gate only, since
act(1e20)·1e20 overflows ffn's f32 hidden), 7.0001 (just past the clamp)
and 1.5.

PyTorch is evaluated in float64 on the operands (already rounded to the
element type, converted exactly), with act(g) rounded to acc_type (f32)
before the product with u, as the compiler computes it: swish-1.5(-88) =
-4e-56 is -0 in f32, so its product with +Inf is NaN in any f32
computation, while silu(-100) = -3.7e-42 is a (subnormal) f32 and its
product with +Inf must be -Inf. The result must agree with that reference
after rounding to the element type:
  * NaN exactly where PyTorch gives NaN;
  * the same infinity where PyTorch's result rounds to an infinity;
  * elsewhere within run_cases.error_bound's per-element tolerance (the
    execution tests' error model); where an operand is infinite that bound
    is infinite, so there the result must be within
    u_out·|ref| + 16·u_acc·(|ref| + 1) instead (these results are limits
    such as relu(-Inf)·u = 0 or σ(+Inf) = 1, computed from finite values).
Signed zeros are not compared (relu(-0) is +0 here and -0 in PyTorch).

Why float64: PyTorch's own f32 results are not self-consistent at +Inf:
its vectorized (AVX2/AVX-512) F.gelu(approximate='none') returns NaN for
+Inf, while its scalar path (tensors shorter than a vector) and float64
return +Inf, the limit. The test also evaluates PyTorch in float32 (bf16
operands upcast, as PyTorch's bf16 kernels do) and prints, per activation,
the elements where that differs from float64 in NaN/Inf-ness ("torch-f32
disagrees at ..."); those are informative, not failures.

Prints `PASS <case> ...` / `FAIL <case> ...` lines and `ALL <n> CASES PASSED`
or `<k> OF <n> CASES FAILED` (exit code 1).

Usage: extremes.py --workdir DIR [--swiglu-run PATH] [--case REGEX]
"""

import argparse
import math
import os
import re
import subprocess
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_cases as rc  # noqa: E402
from swiglu import reference as ref  # noqa: E402

SPECIALS = [1e4, -1e4, math.inf, -math.inf, math.nan, 0.0, -0.0, 88.0, -88.0,
            100.0, -100.0, 1e20, -1e20, 7.0001, 1.5]
# glu.ffn keeps its hidden in f32, where act(1e20)·1e20 overflows (float64
# does not): its inputs stop at 1e4.
FFN_SPECIALS = [s for s in SPECIALS if not (math.isfinite(s) and abs(s) > 1e4)]


ACC_TORCH = {"f32": torch.float32, "f64": None}

# ---------------------------------------------------------------------------
# PyTorch reference
# ---------------------------------------------------------------------------


def torch_gating(act, attrs, g, u, act_dtype=None):
    """act(g)·u (or clamped SwiGLU) with PyTorch's functions, in g's dtype;
    with `act_dtype`, act(g) (clamped SwiGLU: g'·σ(α·g')) is rounded to it
    before the product, as the compiler rounds it to acc_type."""
    rnd = (lambda t: t.to(act_dtype).to(t.dtype)) if act_dtype else (
        lambda t: t)
    beta = float(np.float32(attrs.get("beta", ref.DEFAULT_BETA)))
    alpha = float(np.float32(attrs.get("alpha", ref.DEFAULT_ALPHA)))
    limit = float(np.float32(attrs.get("limit", ref.DEFAULT_LIMIT)))
    if act == "clamped_swiglu":
        # GPT-OSS (gpt_oss/torch/model.py, swiglu()).
        x_glu = g.clamp(min=None, max=limit)
        x_linear = u.clamp(min=-limit, max=limit)
        out_glu = x_glu * torch.sigmoid(alpha * x_glu)
        return rnd(out_glu) * (x_linear + 1)
    fn = {
        "sigmoid": torch.sigmoid,
        "identity": lambda t: t,
        "relu": F.relu,
        "gelu_erf": lambda t: F.gelu(t, approximate="none"),
        "gelu_tanh": lambda t: F.gelu(t, approximate="tanh"),
        "silu": F.silu,
        "swish": lambda t: t * torch.sigmoid(beta * t),
    }[act]
    return rnd(fn(g)) * u


def _t(a, dtype):
    return torch.from_numpy(np.asarray(a, dtype=np.float64)).to(dtype)


def torch_reference(case, v, dtype=torch.float64, act_dtype=None):
    """The case's result with PyTorch, computed in `dtype` (act(g) rounded
    to `act_dtype` if given), as float64."""
    if case.op == "gate":
        out = torch_gating(case.act, case.attrs, _t(v["g"], dtype),
                           _t(v["u"], dtype), act_dtype)
        return out.to(torch.float64).numpy()
    x = _t(v["x"], dtype)
    lin = lambda a, w, b: F.linear(a, _t(w, dtype),
                                   None if b is None else _t(b, dtype))
    g = lin(x, v["gate"], v.get("gate_bias"))
    u = lin(x, v["up"], v.get("up_bias"))
    h = torch_gating(case.act, case.attrs, g, u, act_dtype)
    return lin(h, v["down"], v.get("down_bias")).to(torch.float64).numpy()


# ---------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------


def build_cases():
    cases = []
    for dtype in ("f32", "bf16"):
        for act, attrs, tag in rc.ACT_CONFIGS:
            n = len(SPECIALS)
            cases.append(rc.Case("extremes.gate.%s.%s" % (tag, dtype), "gate",
                                 act, dict(attrs), dtype=dtype,
                                 gate_shape=(n, n), gate_dyn=(0,)))
            m = len(FFN_SPECIALS)
            cases.append(rc.Case("extremes.ffn.%s.%s" % (tag, dtype), "ffn",
                                 act, dict(attrs), dtype=dtype,
                                 batch=(m * m,), d_model=2, d_ff=4,
                                 biases=rc.all_biases("ffn", None)))
    return cases


def build_operands(case):
    """The operands (rc.Operand, in the op's order), rounded to the dtype."""
    dt = case.dtype
    s = np.array(SPECIALS if case.op == "gate" else FFN_SPECIALS,
                 dtype=np.float64)
    a = np.repeat(s, len(s))  # a[i*n + j] = s[i]
    b = np.tile(s, len(s))  # b[i*n + j] = s[j]
    if case.op == "gate":
        n = len(s)
        t = rc.result_type(case)
        return [rc.Operand("g", None, ref.round_to(a.reshape(n, n), dt), dt, t),
                rc.Operand("u", None, ref.round_to(b.reshape(n, n), dt), dt, t)]
    x = np.stack([a, b], axis=-1)
    wg = np.array([[1, 0], [0, 1], [1, 0], [0.5, -0.25]])
    wu = np.array([[0, 1], [1, 0], [1, 1], [-1, 0.5]])
    wd = np.array([[1, 0.5, 0, -1], [0, 1, 1, 0.25]])
    bg = np.array([0, 0, 1, -0.5])
    bu = np.array([0, 0, -1, 2])
    bd = np.array([0, 0.25])
    ops = [rc.Operand("x", None, ref.round_to(x, dt), dt,
                      rc._io_type(case, case.batch, 2))]
    for name, kw, val in [("wg", "gate", wg), ("wu", "up", wu),
                          ("wd", "down", wd), ("bg", "gate_bias", bg),
                          ("bu", "up_bias", bu), ("bd", "down_bias", bd)]:
        ops.append(rc.Operand(name, kw, ref.round_to(val, dt), dt,
                              rc.ttype(val.shape, dt)))
    return ops


# ---------------------------------------------------------------------------
# Running and comparing
# ---------------------------------------------------------------------------


def run_one(case, runner, workdir):
    cdir = os.path.join(workdir, case.name)
    os.makedirs(cdir, exist_ok=True)
    ops = build_operands(case)
    mlir = os.path.join(cdir, "case.mlir")
    with open(mlir, "w") as f:
        f.write(rc.build_mlir(case, ops))
    cmd = [runner, mlir, "--entry=case"]
    for o in ops:
        path = os.path.join(cdir, o.name + ".npy")
        np.save(path, ref.to_npy_array(o.data, o.dtype), allow_pickle=False)
        cmd += ["-i", path]
    out_path = os.path.join(cdir, "out.npy")
    cmd += ["-o", out_path]
    with open(os.path.join(cdir, "command.sh"), "w") as f:
        f.write(" ".join(cmd) + "\n")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        return False, ["FAIL %s swiglu-run exited with %d: %s" % (
            case.name, proc.returncode, " | ".join(
                proc.stderr.strip().splitlines()[:4]))]
    out = ref.load_npy(out_path, case.dtype)
    v = rc._named(ops)
    r = torch_reference(case, v, torch.float64, ACC_TORCH[case.acc])
    with np.errstate(all="ignore"):
        _, tol = rc.error_bound(case, ops)
        # Where an operand is infinite the bound is infinite: use the bound
        # of a result computed from finite values of its size instead.
        u_out = ref.unit_roundoff(case.dtype)
        u_acc = ref.unit_roundoff(case.acc)
        fallback = u_out * np.abs(r) + 16 * u_acc * (np.abs(r) + 1)
        tol = np.where(np.isfinite(tol), tol, fallback)
    with np.errstate(over="ignore"):  # references beyond the type's range
        ok, msg, _ = rc.compare(case, out, r, tol)
    lines = ["%s %s %s (%d elements: %d NaN, %d Inf in the reference)" % (
        "PASS" if ok else "FAIL", case.name, msg, r.size,
        int(np.isnan(r).sum()), int(np.isinf(r).sum()))]
    if not ok:
        o = out.astype(np.float64)
        rounded = ref.round_to(r, case.dtype).astype(np.float64)
        bad = (np.isnan(r) != np.isnan(o)) | (
            np.isinf(rounded) & ~np.isnan(r) & (o != rounded))
        with np.errstate(invalid="ignore"):
            bad |= np.isfinite(rounded) & (np.abs(o - r) > tol)
        for idx in list(zip(*np.nonzero(bad)))[:8]:
            k = idx[0]
            where = ("g=%r u=%r" % (float(v["g"][idx]), float(v["u"][idx]))
                     if case.op == "gate" else
                     "x=%r" % (v["x"][k].astype(np.float64).tolist(),))
            lines.append("    at %s: %s -> out %r, torch %r" % (
                tuple(int(i) for i in idx), where, float(o[idx]),
                float(r[idx])))
    # Informative: where PyTorch's own f32 kernels differ from float64.
    r32 = torch_reference(case, v, torch.float32)
    diff = (np.isnan(r32) != np.isnan(r)) | (np.isinf(r32) != np.isinf(r))
    if diff.any():
        idx = tuple(int(i) for i in np.argwhere(diff)[0])
        lines.append("    torch-f32 disagrees with torch-f64 in NaN/Inf at %d "
                     "elements (informative), e.g. %s: f32 %r, f64 %r" % (
                         int(diff.sum()), idx, float(r32[idx]),
                         float(r[idx])))
    if ok:
        for o in ops:
            os.remove(os.path.join(cdir, o.name + ".npy"))
        os.remove(out_path)
    return ok, lines


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--swiglu-run", default=None)
    ap.add_argument("--case", default=None, help="regex on case names")
    args = ap.parse_args(argv)
    runner = rc.find_runner(args.swiglu_run)
    cases = [c for c in build_cases()
             if not args.case or re.search(args.case, c.name)]
    failed = 0
    for c in cases:
        ok, lines = run_one(c, runner, args.workdir)
        for line in lines:
            print(line, flush=True)
        failed += not ok
    if failed:
        print("%d OF %d CASES FAILED" % (failed, len(cases)))
        return 1
    print("ALL %d CASES PASSED" % len(cases))
    return 0


if __name__ == "__main__":
    sys.exit(main())
