#!/usr/bin/env python3
"""The inline f32/f64 <-> bf16/f16 conversions (glu-expand-float-conversions)
against numpy, bit for bit.

Each conversion is one `arith.truncf`/`arith.extf` in a linalg.generic over
a 1-D tensor, JIT-run by swiglu-run (reference pipeline) for --target-cpu
(x86-64 by default: no AVX512_BF16, no F16C, so every conversion is the
inline expansion). Inputs: special values (zeros, infinities, NaNs, the
extremes of each format, subnormals), the values on and next to every kind
of rounding tie, f64 values just off a bf16/f16 tie that a naive f64 -> f32
-> bf16 double rounding gets wrong, and random bit patterns over the whole
range. The expected results are computed here from the definition: round to
nearest, ties to even, at the format's precision and exponent range (numpy
float64 arithmetic, exact for these operations), overflow to infinity, NaN
stays NaN; widening is exact.

Prints `PASS <conversion> <n> values` or `FAIL <conversion> ...` with the
first mismatches, then `ALL CONVERSIONS EXACT`; exits non-zero on a failure.

Usage: float_conversions.py --swiglu-run PATH --workdir DIR [--target-cpu CPU]
"""

import argparse
import os
import subprocess
import sys
import warnings

import numpy as np

# Casts of NaN and Inf are part of the test.
np.seterr(all="ignore")
warnings.filterwarnings("ignore", category=RuntimeWarning)

# (significand bits incl. the implicit one, smallest normal exponent of
# frexp's m·2^e form, largest finite value)
FORMATS = {
    "bf16": (8, -125, float(np.float32(np.uint32(0x7F7F0000).view(np.float32)))),
    "f16": (11, -13, 65504.0),
}

MLIR = """
func.func @conv(%x: tensor<?x{SRC}>) -> tensor<?x{DST}> {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?x{SRC}>
  %e = tensor.empty(%n) : tensor<?x{DST}>
  %y = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>],
                       iterator_types = ["parallel"]}
      ins(%x : tensor<?x{SRC}>) outs(%e : tensor<?x{DST}>) {
  ^bb0(%a: {SRC}, %b: {DST}):
    %c = arith.{OP} %a : {SRC} to {DST}
    linalg.yield %c : {DST}
  } -> tensor<?x{DST}>
  return %y : tensor<?x{DST}>
}
"""


def round_to(x, fmt):
    """x (float64 array) rounded to nearest even in `fmt`, as float64."""
    p, emin, fmax = FORMATS[fmt]
    with np.errstate(all="ignore"):
        _, e = np.frexp(x)
        e = np.maximum(e, emin)  # subnormals share the smallest exponent
        ulp = np.ldexp(1.0, e - p)
        r = np.rint(x / ulp) * ulp  # rint: ties to even; exact in f64
        r = np.where(np.abs(r) > fmax, np.copysign(np.inf, x), r)
        r = np.where(np.isfinite(x), r, x)
    return r


def bits16(values, fmt):
    """float64 values exactly representable in `fmt` -> uint16 patterns."""
    if fmt == "f16":
        return values.astype(np.float16).view(np.uint16)
    return (values.astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)


def f32_inputs(rng):
    specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0,
                         3.4028235e38, -3.4028235e38, 1e-45, -1e-45,
                         1.1754944e-38, 65504.0, 65519.996, 65520.0, 65536.0,
                         2.0 ** -14, 2.0 ** -24, 2.0 ** -25, 1.5 * 2.0 ** -25,
                         2.0 ** -26, 6.1e-5, 3.3895314e38, 3.3961776e38],
                        dtype=np.float32)
    # bf16 ties and their neighbours: low 16 bits 0x7FFF, 0x8000, 0x8001 on
    # odd and even bf16 patterns; f16 ties likewise (13 dropped bits).
    hi = rng.integers(0, 1 << 16, 4000, dtype=np.uint32) << 16
    ties = np.concatenate([hi | 0x7FFF, hi | 0x8000, hi | 0x8001,
                           hi | 0x18000])
    halves = rng.integers(0x33000000, 0x47800000, 4000, dtype=np.uint32)
    halves &= ~np.uint32(0x1FFF)
    f16ties = np.concatenate([halves | 0x0FFF, halves | 0x1000, halves | 0x1001])
    random = rng.integers(0, 1 << 32, 60000, dtype=np.uint64).astype(np.uint32)
    nans = np.array([0x7F800001, 0xFFC00000, 0x7FBFFFFF, 0x7FFFFFFF],
                    dtype=np.uint32)
    return np.concatenate([specials.view(np.uint32), ties, f16ties, random,
                           nans]).view(np.float32)


def f64_inputs(rng, fmt):
    """Values just off the ties of `fmt`: an f64 a little above (below) a
    tie rounds to the tie itself in f32, so f64 -> f32 -> fmt rounding twice
    goes to even where once goes up (down)."""
    p, emin, _ = FORMATS[fmt]
    m = rng.integers(1 << (p - 1), 1 << p, 6000).astype(np.float64)
    e = rng.integers(emin - 8, 16 if fmt == "f16" else 120, 6000)
    tie = np.ldexp(m + 0.5, e - p)
    eps = np.ldexp(1.0, e - p - 30)  # far below f32 precision of the tie
    sign = np.where(rng.integers(0, 2, 6000) == 1, -1.0, 1.0)
    near = np.concatenate([tie, tie + eps, tie - eps]) * np.concatenate([sign] * 3)
    random = rng.standard_normal(20000) * np.exp(rng.uniform(-100, 100, 20000))
    specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e300, -1e300,
                         1e-300, 3.4e38, 65520.0, 65519.999999, 2.0 ** -25,
                         2.0 ** -25 + 2.0 ** -60])
    return np.concatenate([specials, near, random])


def run(tool, cpu, workdir, name, src, dst, op, x):
    mlir = os.path.join(workdir, name + ".mlir")
    with open(mlir, "w") as f:
        f.write(MLIR.replace("{SRC}", src).replace("{DST}", dst)
                .replace("{OP}", op))
    xin = os.path.join(workdir, name + ".in.npy")
    out = os.path.join(workdir, name + ".out.npy")
    np.save(xin, x)
    subprocess.run([tool, mlir, "--entry=conv", "--target-cpu=" + cpu,
                    "-i", xin, "-o", out], check=True)
    return np.load(out)


def compare(name, got, expected, nan_expected, shown=5):
    """Bitwise on the non-NaN elements, NaN where NaN is expected."""
    got_nan = np.isnan(got.astype(np.float64)) if got.dtype.kind == "f" else None
    bad = []
    if got_nan is not None:
        bad = list(np.nonzero(got_nan != nan_expected)[0])
        ok = ~nan_expected
        g = got[ok].view(np.uint64 if got.itemsize == 8 else np.uint32)
        e = expected[ok].view(g.dtype)
        idx = np.nonzero(ok)[0]
        bad += list(idx[np.nonzero(g != e)[0]])
    else:
        bad = list(np.nonzero(got != expected)[0])
    if bad:
        print("FAIL %s: %d of %d values differ, e.g. index %s" % (
            name, len(bad), len(got), bad[:shown]))
        return False
    print("PASS %s %d values" % (name, len(got)))
    return True


def check_truncation(name, got, x, fmt):
    """`got` (the 16-bit patterns swiglu-run wrote; bf16 crosses as uint16)
    against `x` rounded to `fmt`: bitwise, and NaN where x is NaN."""
    got = got.view(np.uint16)
    x64 = x.astype(np.float64)
    nan = np.isnan(x64)
    expected = bits16(np.where(nan, 0.0, round_to(x64, fmt)), fmt)
    got_nan = (got & 0x7FFF) > (0x7F80 if fmt == "bf16" else 0x7C00)
    mism = np.nonzero((got_nan != nan) | (~nan & (got != expected)))[0]
    if len(mism):
        print("FAIL %s: %d differ, e.g. %r -> %s (expected %s)" % (
            name, len(mism), list(x[mism[:3]]), got[mism[:3]],
            expected[mism[:3]]))
        return False
    print("PASS %s %d values" % (name, len(x)))
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--swiglu-run", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--target-cpu", default="x86-64")
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    rng = np.random.default_rng(16)
    ok = True
    tool, cpu, wd = args.swiglu_run, args.target_cpu, args.workdir

    x32 = f32_inputs(rng)
    for fmt in ("bf16", "f16"):
        # f32 -> fmt, and f64 -> fmt (rounded once, not twice).
        for src, x in (("f32", x32), ("f64", f64_inputs(rng, fmt))):
            name = "%s_to_%s" % (src, fmt)
            ok &= check_truncation(name, run(tool, cpu, wd, name, src, fmt,
                                             "truncf", x), x, fmt)

        # fmt -> f32 and f64, every one of the 65536 patterns: exact.
        patterns = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16)
        if fmt == "f16":
            exact = patterns.view(np.float16).astype(np.float64)
            src = patterns.view(np.float16)
        else:
            exact = (patterns.astype(np.uint32) << 16).view(np.float32).astype(np.float64)
            src = patterns  # bf16 crosses .npy as uint16
        for dst, npdt in (("f32", np.float32), ("f64", np.float64)):
            got = run(tool, cpu, wd, "%s_to_%s" % (fmt, dst), fmt, dst, "extf", src)
            ok &= compare("%s_to_%s" % (fmt, dst), got, exact.astype(npdt),
                          np.isnan(exact))
    if not ok:
        return 1
    print("ALL CONVERSIONS EXACT")
    return 0


if __name__ == "__main__":
    sys.exit(main())
