#!/usr/bin/env python3
"""Compiles and runs examples/llama_ffn/llama_ffn.mlir on the CPU.

Writes random inputs as .npy, runs `swiglu-run` (JIT through the reference
pipeline), checks the output against numpy and prints whether it matches and
how long one call took.
"""

import argparse
import pathlib
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent


def silu(x):
    return x / (1.0 + np.exp(-x))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runner", required=True, help="path to swiglu-run")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--seq", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    d_model, d_ff = 1024, 2816
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.batch, args.seq, d_model), dtype=np.float32)
    # nn.Linear's default initialisation scale, so activations stay O(1).
    wg = rng.uniform(-1, 1, (d_ff, d_model)).astype(np.float32) / np.sqrt(d_model)
    wu = rng.uniform(-1, 1, (d_ff, d_model)).astype(np.float32) / np.sqrt(d_model)
    wd = rng.uniform(-1, 1, (d_model, d_ff)).astype(np.float32) / np.sqrt(d_ff)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        inputs = []
        for name, array in [("x", x), ("wg", wg), ("wu", wu), ("wd", wd)]:
            np.save(tmp / f"{name}.npy", array)
            inputs += ["-i", str(tmp / f"{name}.npy")]
        cmd = [args.runner, str(HERE / "llama_ffn.mlir"), "--entry=llama_ffn",
               *inputs, "-o", str(tmp / "out.npy"),
               f"--repeat={args.repeat}"]
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            sys.stderr.write(proc.stdout + proc.stderr)
            print("FAILED: swiglu-run exited with", proc.returncode)
            return 1
        out = np.load(tmp / "out.npy")

    # The reference, straight from the formula, in float64.
    x64 = x.astype(np.float64)
    h = silu(x64 @ wg.T.astype(np.float64)) * (x64 @ wu.T.astype(np.float64))
    ref = h @ wd.T.astype(np.float64)
    err = np.abs(out - ref)
    # f32 output rounding plus f32 accumulation over d_ff terms.
    tol = 1e-5 * np.abs(ref).max() + 1e-5 * np.abs(ref)
    ok = out.shape == ref.shape and bool(np.all(err <= tol))

    tokens = args.batch * args.seq
    flops = 2 * tokens * d_model * d_ff * 3
    match = re.search(r"median_ms=([0-9.]+)", proc.stdout)
    print(f"LLaMA-style SwiGLU FFN, f32: tokens={tokens} d_model={d_model} "
          f"d_ff={d_ff} ({flops / 1e9:.2f} GFLOP per call)")
    print(f"  reference check: {'MATCH' if ok else 'MISMATCH'} "
          f"(max |out - numpy| = {err.max():.3g}, max |numpy| = {np.abs(ref).max():.3g})")
    if match:
        ms = float(match.group(1))
        print(f"  one call: {ms:.1f} ms median of {args.repeat} "
              f"({flops / ms / 1e6:.2f} GFLOP/s, reference pipeline: loops, "
              f"one core, no tiling or vectorization yet)")
    print(f"  swiglu-run total (JIT compile + {args.repeat} calls + I/O): {wall:.2f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
