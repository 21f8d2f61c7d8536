#!/usr/bin/env python3
"""Decode and small batches (issue 18: "1-16 tokens at >= 90 % of the read
bandwidth on the weight bytes, f32 and bf16 weights"): a SwiGLU block of
LLaMA-7B's shape, bound once, called on 1 to 18 tokens; ours in f32, in bf16
(AVX512-BF16 dot products where the host has them) and in bf16 with the
weights widened to f32 in the kernels (`target-features=-avx512bf16`, as on a
CPU without AVX512_BF16), against PyTorch eager in f32 and bf16, with the
read bandwidth measured in the same rounds (PyTorch's sum over 1 GiB of f32
on the same threads).

    PYTHONPATH=python python bench/small_batch_bench.py [--threads N]
        [--tokens 1,2,4,8,12,16] [--shape 4096x11008] [--rounds 9]

Every round calls each contender once at each token count, the order of the
contenders rotating by round, and reads the 1 GiB once; medians. GB/s is the
weight bytes (3 d_model d_ff elements) over the time; "% bw" that over the
median read bandwidth; "× 1 tok" the time over the same contender's
one-token time (1.0: the batch costs what one token does).
"""

import argparse
import statistics
import time

import ml_dtypes
import numpy as np
import torch
import torch.nn.functional as F

from swiglu.ffn import FFNSpec


def ours(d, f, dtype, options, weights):
    np_dtype = ml_dtypes.bfloat16 if dtype == "bf16" else np.float32
    bound = FFNSpec(d_model=d, d_ff=f, dtype=dtype).compile(options=options).bind(
        **{n: a.astype(np_dtype) for n, a in weights.items()})

    def make(x):
        xs, y = x.astype(np_dtype), np.empty(x.shape, np_dtype)
        return lambda: bound.call_into(xs.ctypes.data, len(xs), y.ctypes.data)
    return make, np.dtype(np_dtype).itemsize


def eager(dtype, weights):
    w = {n: torch.from_numpy(a).to(dtype) for n, a in weights.items()}

    def make(x):
        xt = torch.from_numpy(x).to(dtype)

        def call():
            with torch.inference_mode():
                F.linear(F.silu(F.linear(xt, w["w_gate"])) * F.linear(xt, w["w_up"]),
                         w["w_down"])
        return call
    return make, torch.finfo(dtype).bits // 8


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--tokens", default="1,2,4,8,12,16")
    ap.add_argument("--shape", default="4096x11008")
    ap.add_argument("--rounds", type=int, default=9)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    d, f = (int(v) for v in args.shape.split("x"))
    tokens = [int(t) for t in args.tokens.split(",")]
    rng = np.random.default_rng(0)
    weights = {n: (rng.standard_normal(s, dtype=np.float32) / np.sqrt(s[1]))
               for n, s in {"w_gate": (f, d), "w_up": (f, d), "w_down": (d, f)}.items()}
    threads = "threads=%d" % args.threads
    contenders = {
        "ours f32": ours(d, f, "f32", threads, weights),
        "ours bf16": ours(d, f, "bf16", threads, weights),
        "ours bf16, widened": ours(d, f, "bf16", threads + " target-features=-avx512bf16",
                                   weights),
        "PyTorch f32": eager(torch.float32, weights),
        "PyTorch bf16": eager(torch.bfloat16, weights),
    }
    xs = {t: rng.standard_normal((t, d), dtype=np.float32) for t in tokens}
    calls = {(name, t): make(xs[t]) for name, (make, _) in contenders.items() for t in tokens}
    for call in calls.values():
        call()
    names = list(contenders)
    times = {key: [] for key in calls}
    big, bandwidth = torch.ones(1 << 28), []
    for r in range(args.rounds):
        for t in tokens:
            for name in names[r % len(names):] + names[:r % len(names)]:
                start = time.perf_counter()
                calls[(name, t)]()
                times[(name, t)].append(time.perf_counter() - start)
        start = time.perf_counter()
        big.sum()
        bandwidth.append(big.numel() * 4 / (time.perf_counter() - start) / 1e9)
    bw = statistics.median(bandwidth)
    print("SwiGLU %s, %d threads; read bandwidth %.1f GB/s (median; %.1f-%.1f)" % (
        args.shape, args.threads, bw, min(bandwidth), max(bandwidth)))
    print("| contender | tokens | ms | GB/s | % bw | × 1 tok |")
    print("|---|--:|--:|--:|--:|--:|")
    for name in names:
        size = contenders[name][1]
        one = statistics.median(times[(name, tokens[0])])
        for t in tokens:
            s = statistics.median(times[(name, t)])
            gbs = 3 * d * f * size / s / 1e9
            print("| %s | %d | %.2f | %.1f | %.0f | %.2f |" % (
                name, t, 1e3 * s, gbs, 100 * gbs / bw, s / one), flush=True)


if __name__ == "__main__":
    main()
