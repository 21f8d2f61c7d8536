"""Inputs and checks of a SwiGLU block split over MPI ranks (test/Distributed,
examples/tensor_parallel/run.sh, docs/distributed.md).

  check.py inputs --tokens T --d-model D --d-ff F   writes x, wg, wu, wd .npy
  check.py check BASELINE OUT...                     compares each OUT with
      the float64 numpy reference of the formula and with BASELINE (the
      single-process result); prints one MATCH or MISMATCH line per file.

The reference is written here from the formula, out = (silu(x·Wgᵀ) ⊙
x·Wuᵀ)·Wdᵀ, independently of the compiler. Bounds: f32 with sums over d_model
then d_ff terms, regrouped by the split (each rank sums its features, the
all-reduce sums the ranks): 1e-5 of max|ref| against float64, 1e-5 of
max|ref| between the split and the single-process results.
"""
import argparse
import sys

import numpy as np


def reference(x, wg, wu, wd):
    x, wg, wu, wd = (a.astype(np.float64) for a in (x, wg, wu, wd))
    g = x @ wg.T
    return (g / (1.0 + np.exp(-g)) * (x @ wu.T)) @ wd.T


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("inputs")
    make.add_argument("--tokens", type=int, required=True)
    make.add_argument("--d-model", type=int, required=True)
    make.add_argument("--d-ff", type=int, required=True)
    make.add_argument("--seed", type=int, default=0)
    check = sub.add_parser("check")
    check.add_argument("baseline")
    check.add_argument("outputs", nargs="+")
    args = parser.parse_args()

    if args.command == "inputs":
        rng = np.random.default_rng(args.seed)
        d, f = args.d_model, args.d_ff
        np.save("x.npy", rng.standard_normal((args.tokens, d), dtype=np.float32))
        for name, shape in [("wg", (f, d)), ("wu", (f, d)), ("wd", (d, f))]:
            w = rng.standard_normal(shape) / np.sqrt(shape[1])
            np.save(name + ".npy", w.astype(np.float32))
        return 0

    ref = reference(*(np.load(n + ".npy") for n in ("x", "wg", "wu", "wd")))
    scale = float(np.abs(ref).max())
    baseline = np.load(args.baseline)
    ok = True
    for path in [args.baseline] + args.outputs:
        out = np.load(path)
        if out.shape != ref.shape or out.dtype != np.float32:
            print(f"{path}: MISMATCH shape {out.shape} {out.dtype}")
            ok = False
            continue
        err = float(np.abs(out - ref).max())
        diff = float(np.abs(out - baseline).max())
        good = err <= 1e-5 * scale and diff <= 1e-5 * scale
        ok &= good
        print(f"{path}: {'MATCH' if good else 'MISMATCH'} "
              f"(max |out - numpy| = {err:.2e}, max |out - single process| = "
              f"{diff:.2e}, max |numpy| = {scale:.3g})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
