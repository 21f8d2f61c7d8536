#!/usr/bin/env python3
"""Accuracy of the CPU kernels' vectorized activation math.

The fast pipeline (glu-cpu-pipeline) evaluates activations in the kernels'
epilogues on vectors, with upstream's polynomial approximations of exp, tanh
and erf. This driver feeds every activation a set of points over the whole
f32 range (dense on [-20, 20], powers up to ±1e4 and beyond, ±0, ±Inf, NaN)
through `glu.gate_up` with x = [1, 0] and a merged weight whose gate column is
the point and whose up column is 1, so that g = v and u = 1 exactly and the
result is act(v) as the kernel computes it. Each result is compared with the
float64 numpy reference (python/swiglu/reference.py) rounded to f32:

  err = |out - ref| / max(|ref|, 1)     (must be <= --max-err)

and the largest error in f32 ulps where |ref| >= 1e-3 is reported too.
NaN must be NaN exactly where the reference is NaN (PyTorch's behaviour,
e.g. silu(-inf) = NaN), infinities must match. It prints one line per
activation, `ACT <name> max_err=<e> ... OK|FAIL`, and
`ALL ACTIVATIONS ACCURATE` or the failures; the exit code says the same.

Usage: activation_accuracy.py --workdir DIR [--pipeline P] [--max-err E]
"""

import argparse
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "python"))
from swiglu import reference as ref  # noqa: E402

ACTIVATIONS = [
    ("sigmoid", {}), ("identity", {}), ("relu", {}), ("gelu_erf", {}),
    ("gelu_tanh", {}), ("silu", {}), ("swish", {"beta": 1.5}),
    ("clamped_swiglu", {"alpha": 1.702, "limit": 7.0}),
]


def points():
    dense = np.linspace(-20, 20, 4001)
    mags = np.concatenate([10.0 ** np.linspace(-30, 4, 341), [3e4, 1e6, 1e10, 3e38]])
    special = [0.0, -0.0, np.inf, -np.inf, np.nan, 7.0, -7.0, 88.0, -88.0, 89.0, -89.0,
               104.0, -104.0]
    v = np.concatenate([dense, mags, -mags, special]).astype(np.float32)
    return v


def mlir(n, name, attrs):
    attr = ""
    if attrs:
        attr = " {%s}" % ", ".join("%s = %r : f32" % kv for kv in attrs.items())
    return ("func.func @case(%%x: tensor<1x2xf32>, %%w: tensor<2x%dxf32>) -> tensor<1x%dxf32> {\n"
            "  %%h = glu.gate_up %s %%x : tensor<1x2xf32> gate_up %%w : tensor<2x%dxf32>\n"
            "      layout in_out%s -> tensor<1x%dxf32>\n"
            "  return %%h : tensor<1x%dxf32>\n}\n" % (2 * n, n, name, 2 * n, attr, n, n))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--pipeline", default="glu-cpu-pipeline{pack-at-load=false}")
    ap.add_argument("--max-err", type=float, default=4e-6,
                    help="bound on |out - ref| / max(|ref|, 1) (4e-6: ~32 f32 ulps at 1)")
    ap.add_argument("--swiglu-run", default="swiglu-run")
    args = ap.parse_args(argv)
    os.makedirs(args.workdir, exist_ok=True)
    v = points()
    n = v.size
    x = np.array([[1.0, 0.0]], np.float32)
    w = np.zeros((2, 2 * n), np.float32)
    w[0, :n] = v   # gate features (concat packing: gate first)
    w[0, n:] = 1   # up features
    np.save(os.path.join(args.workdir, "x.npy"), x)
    np.save(os.path.join(args.workdir, "w.npy"), w)
    failed = []
    for name, attrs in ACTIVATIONS:
        path = os.path.join(args.workdir, name + ".mlir")
        out = os.path.join(args.workdir, name + ".out.npy")
        with open(path, "w") as f:
            f.write(mlir(n, name, attrs))
        proc = subprocess.run([args.swiglu_run, path, "--pipeline=" + args.pipeline,
                               "-i", os.path.join(args.workdir, "x.npy"),
                               "-i", os.path.join(args.workdir, "w.npy"), "-o", out],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            print("ACT %s FAIL swiglu-run: %s" % (name, proc.stderr.strip()[:300]))
            failed.append(name)
            continue
        got = np.load(out)[0].astype(np.float64)
        kw = {k: v_ for k, v_ in attrs.items()}
        with np.errstate(all="ignore"):
            want = ref.gating(name, v, np.ones_like(v), **kw).astype(np.float32).astype(np.float64)
        nan_ok = np.array_equal(np.isnan(got), np.isnan(want))
        finite = ~np.isnan(want)
        inf_ok = np.array_equal(got[np.isinf(want)], want[np.isinf(want)])
        both = finite & np.isfinite(want) & np.isfinite(got)
        diff = np.abs(got[both] - want[both])
        # Error relative to max(|ref|, 1): relative where the activation is
        # large, absolute where it is small (its tails, e.g. GELU's below
        # -5, where evaluating the formula in f32 loses all relative
        # accuracy in any implementation, libm's included).
        err = diff / np.maximum(np.abs(want[both]), 1.0)
        max_err = float(err.max()) if err.size else 0.0
        worst = v[both][int(np.argmax(err))] if err.size else 0.0
        # ulps where the result is not tiny.
        big = np.abs(want[both]) >= 1e-3
        spacing = np.spacing(np.abs(want[both][big]).astype(np.float32)).astype(np.float64)
        max_ulps = float((diff[big] / spacing).max()) if big.any() else 0.0
        finite_ok = bool(np.all(np.isfinite(got[finite & np.isfinite(want)])))
        ok = nan_ok and inf_ok and finite_ok and max_err <= args.max_err
        print("ACT %s max_err=%.2e (at x=%.6g) max_ulps(|y|>=1e-3)=%.1f points=%d nan=%s inf=%s %s" % (
            name, max_err, worst, max_ulps, n, "ok" if nan_ok else "MISMATCH",
            "ok" if inf_ok else "MISMATCH", "OK" if ok else "FAIL"))
        if not ok:
            failed.append(name)
    if failed:
        print("INACCURATE: " + ", ".join(failed))
        return 1
    print("ALL ACTIVATIONS ACCURATE")
    return 0


if __name__ == "__main__":
    sys.exit(main())
