#!/usr/bin/env python3
"""Compiles and runs examples/llama_ffn/llama_ffn.mlir on the CPU.

Writes random inputs as .npy and runs the block with `swiglu-run` (JIT):
  1. through the fast CPU pipeline: `swiglu-opt --convert-glu-to-cpu-kernels`
     emits @llama_ffn_pack_weights, run once to pack the weights into the
     kernels' panels, then @llama_ffn runs with `--pipeline=glu-cpu-pipeline`
     (register-tiled AVX-512 kernels, both cores);
  2. as written through the reference lowering (glu -> linalg -> loops);
  3. after `swiglu-opt --glu-fuse` (gate/up merged by its packing function,
     the block fused) through the reference lowering.
Each output is checked against a float64 numpy reference; prints whether it
matches, how long one call took, and the same block in numpy (OpenBLAS) for
scale.
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


def inputs(tmp, *names):
    args = []
    for name in names:
        args += ["-i", str(tmp / f"{name}.npy")]
    return args


def run(args, cmd, tmp, repeat=None):
    """Runs swiglu-run with timing; returns (output, timing line)."""
    out_path = tmp / "out.npy"
    repeat = repeat or args.repeat
    proc = subprocess.run([*cmd, "-o", str(out_path), f"--repeat={repeat}", "--time"],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        sys.exit("FAILED: swiglu-run exited with %d" % proc.returncode)
    return np.load(out_path), proc.stdout


def report(label, out, ref, timing, flops, args):
    err = np.abs(out - ref)
    # f32 output rounding plus f32 accumulation over d_ff terms.
    tol = 1e-5 * np.abs(ref).max() + 1e-5 * np.abs(ref)
    ok = out.shape == ref.shape and bool(np.all(err <= tol))
    match = re.search(r"median_ms=([0-9.]+)", timing)
    ms = float(match.group(1)) if match else float("nan")
    calls = re.search(r"calls=([0-9]+)", timing)
    print(f"  {label}: {'MATCH' if ok else 'MISMATCH'} "
          f"(max |out - numpy| = {err.max():.3g}, max |numpy| = "
          f"{np.abs(ref).max():.3g}); {ms:.1f} ms a call, median of "
          f"{calls.group(1) if calls else '?'} ({flops / ms / 1e6:.2f} GFLOP/s)")
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runner", required=True, help="path to swiglu-run")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--seq", type=int, default=128)
    parser.add_argument("--repeat", type=int, default=10,
                        help="timed calls of the fast pipeline (the reference rows run once)")
    args = parser.parse_args()

    d_model, d_ff = 1024, 2816
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.batch, args.seq, d_model), dtype=np.float32)
    # nn.Linear's default initialisation scale, so activations stay O(1).
    def linear_weight(out_features, in_features):
        bound = 1.0 / np.sqrt(in_features)
        return rng.uniform(-bound, bound, (out_features, in_features)).astype(np.float32)

    wg = linear_weight(d_ff, d_model)
    wu = linear_weight(d_ff, d_model)
    wd = linear_weight(d_model, d_ff)

    # The reference, straight from the formula, in float64.
    x64 = x.astype(np.float64)
    h = silu(x64 @ wg.T.astype(np.float64)) * (x64 @ wu.T.astype(np.float64))
    ref = h @ wd.T.astype(np.float64)
    tokens = args.batch * args.seq
    flops = 2 * tokens * d_model * d_ff * 3
    print(f"LLaMA-style SwiGLU FFN, f32: tokens={tokens} d_model={d_model} "
          f"d_ff={d_ff} ({flops / 1e9:.2f} GFLOP per call)")

    opt = pathlib.Path(args.runner).with_name("swiglu-opt")
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        for name, array in [("x", x), ("wg", wg), ("wu", wu), ("wd", wd)]:
            np.save(tmp / f"{name}.npy", array)
        source = HERE / "llama_ffn.mlir"

        # 1. The fast CPU pipeline, weights packed once.
        kernels = tmp / "kernels.mlir"
        subprocess.run([str(opt), str(source), "--convert-glu-to-cpu-kernels",
                        "-o", str(kernels)], check=True)
        subprocess.run([args.runner, str(kernels), "--pipeline=glu-cpu-pipeline",
                        "--entry=llama_ffn_pack_weights",
                        *inputs(tmp, "wg", "wu", "wd"),
                        "-o", str(tmp / "gu_panels.npy"), "-o", str(tmp / "d_panels.npy")],
                       check=True)
        out, line = run(args, [args.runner, str(kernels), "--entry=llama_ffn",
                               "--pipeline=glu-cpu-pipeline",
                               *inputs(tmp, "x", "gu_panels", "d_panels")], tmp)
        ok &= report("--glu-cpu-pipeline (packed weights, AVX-512, 2 threads)", out, ref,
                     line, flops, args)

        # 2. As written: the reference lowering (glu -> linalg -> loops).
        out, line = run(args, [args.runner, str(source), "--entry=llama_ffn",
                               *inputs(tmp, "x", "wg", "wu", "wd")], tmp, repeat=1)
        ok &= report("reference lowering", out, ref, line, flops, args)

        # 3. Through the fusion pipeline: gate and up merged into one weight
        #    by the emitted packing function (run once, at load time), then
        #    the whole block streamed so the hidden never exists in memory.
        fused = tmp / "fused.mlir"
        subprocess.run([str(opt), str(source), "--glu-fuse", "-o", str(fused)],
                       check=True)
        subprocess.run([args.runner, str(fused),
                        "--entry=llama_ffn_pack_gate_up",
                        *inputs(tmp, "wg", "wu"), "-o", str(tmp / "wgu.npy")],
                       check=True)
        out, line = run(args, [args.runner, str(fused), "--entry=llama_ffn",
                               *inputs(tmp, "x", "wgu", "wd")], tmp, repeat=1)
        ok &= report("--glu-fuse, reference lowering", out, ref,
                     line, flops, args)

    # The same block in numpy (f32 matmuls through its BLAS), for scale.
    x2 = x.reshape(-1, d_model)
    wgt, wut, wdt = (np.ascontiguousarray(w.T) for w in (wg, wu, wd))
    times = []
    for _ in range(max(3, args.repeat)):
        start = time.perf_counter()
        g = x2 @ wgt
        (g / (1.0 + np.exp(-g)) * (x2 @ wut)) @ wdt
        times.append(time.perf_counter() - start)
    ms = 1e3 * sorted(times)[len(times) // 2]
    print(f"  numpy (BLAS) for comparison: {ms:.1f} ms a call ({flops / ms / 1e6:.2f} GFLOP/s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
