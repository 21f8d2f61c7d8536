#!/usr/bin/env python3
"""bf16 weights on a CPU without bf16 dot products (issue 18: "never slower
than f32"): a SwiGLU block with bf16 x and weights built with
`target-features=-avx512bf16` (so the kernels widen the 16-bit panels to f32
and use f32 FMAs, as on a CPU without AVX512_BF16), against the same block in
f32, both ways of widening: once per token block into a scratch
(widen-once=on, 288-row token blocks) and in the micro-kernel as the weights
stream (widen-once=off, 96-row blocks). widen-once=auto picks off on AMD Zen,
on elsewhere.

    PYTHONPATH=python python bench/bf16_widen_bench.py [--threads 1,2]
        [--tokens 128,512,2048] [--shape 1024x2816] [--reps 9]

Calls are interleaved (one of each contender per round, the order rotating
by round), medians; the
ratios are f32's time over each contender's (above 1: faster than f32).
"""

import argparse
import statistics
import time

import numpy as np
import torch  # noqa: F401  (one OpenMP pool: the compiled code runs on libgomp)

import ml_dtypes

from swiglu.ffn import FFNSpec


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--tokens", default="128,512,2048")
    ap.add_argument("--shape", default="1024x2816")
    ap.add_argument("--reps", type=int, default=9)
    args = ap.parse_args()
    d, f = (int(v) for v in args.shape.split("x"))
    rng = np.random.default_rng(0)
    weights = {"w_gate": (f, d), "w_up": (f, d), "w_down": (d, f)}
    weights = {n: (rng.standard_normal(s) / np.sqrt(s[1])).astype(np.float32)
               for n, s in weights.items()}
    print("| threads | tokens | f32 ms | bf16 widen-once ms | × f32 | bf16 in-kernel ms | × f32 |")
    print("|--:|--:|--:|--:|--:|--:|--:|")
    for threads in (int(t) for t in args.threads.split(",")):
        torch.set_num_threads(threads)
        bf16 = ml_dtypes.bfloat16
        widen = "threads=%d target-features=-avx512bf16" % threads
        contenders = [
            (FFNSpec(d_model=d, d_ff=f), "threads=%d" % threads, np.float32),
            (FFNSpec(d_model=d, d_ff=f, dtype="bf16"), widen + " widen-once=on", bf16),
            (FFNSpec(d_model=d, d_ff=f, dtype="bf16"), widen + " widen-once=off", bf16),
        ]
        bound = [(spec.compile(options=opts).bind(
            **{n: a.astype(dt) for n, a in weights.items()}), dt)
            for spec, opts, dt in contenders]
        for tokens in (int(t) for t in args.tokens.split(",")):
            x = rng.standard_normal((tokens, d)).astype(np.float32)
            calls = []
            for b, dt in bound:
                xs, y = x.astype(dt), np.empty((tokens, d), dt)
                calls.append(lambda b=b, xs=xs, y=y: b.call_into(xs.ctypes.data, tokens,
                                                                 y.ctypes.data))
            for call in calls:
                call()
            times = [[] for _ in calls]
            for r in range(args.reps):
                # The order rotates by round: no contender always follows
                # the same one.
                for i in [(r + j) % len(calls) for j in range(len(calls))]:
                    call = calls[i]
                    start = time.perf_counter()
                    call()
                    times[i].append(time.perf_counter() - start)
            ms = [1e3 * statistics.median(t) for t in times]
            print("| %d | %d | %.1f | %.1f | %.3f | %.1f | %.3f |" % (
                threads, tokens, ms[0], ms[1], ms[0] / ms[1], ms[2], ms[0] / ms[2]), flush=True)


if __name__ == "__main__":
    main()
