#!/usr/bin/env python3
"""Decode with the packed weights on 4 KB pages against transparent huge
pages: an experiment. Its result on the development machine
(docs/benchmarks.md): huge pages help small blocks and hurt large ones, so
bind() leaves the panels where the packing function put them.

    PYTHONPATH=python python bench/huge_pages_bench.py [--shape D,F,E]
        [--tokens 1] [--rounds 15]

`E` blocks of SwiGLU (d_model D, d_ff F) bound twice, once with the panels
copied as numpy arrays (malloc: 4 KB pages) and once copied onto huge
pages; per round, each set is called once on the same
token(s), block after block (a MoE decode's walk through its experts, or a
model's layers), and PyTorch's sum over 1 GiB measures the read bandwidth
in the same round. Medians; GB/s of the packed weights read.
"""

import argparse
import mmap
import statistics
import time

import numpy as np
import torch

from swiglu.ffn import BoundFFN, FFNSpec

HUGE_PAGE = 2 << 20  # x86-64's transparent huge page


def on_huge_pages(a):
    """A copy of `a` in memory advised to transparent huge pages, from a
    huge page boundary (Linux; THP `madvise` or `always`)."""
    region = mmap.mmap(-1, a.nbytes + HUGE_PAGE)
    region.madvise(mmap.MADV_HUGEPAGE)
    raw = np.frombuffer(region, np.uint8)  # keeps `region` mapped
    start = (-raw.ctypes.data) % HUGE_PAGE
    out = raw[start:start + a.nbytes].view(a.dtype).reshape(a.shape)
    out[...] = a
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shape", default="1024,384,8")
    ap.add_argument("--tokens", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    d, f, e = (int(v) for v in args.shape.split(","))
    t = args.tokens
    rng = np.random.default_rng(0)
    compiled = FFNSpec(d_model=d, d_ff=f).compile()
    sets = {"4 KB pages": [], "huge pages": []}
    for _ in range(e):
        w = {"w_gate": (f, d), "w_up": (f, d), "w_down": (d, f)}
        bound = compiled.bind(**{n: (rng.standard_normal(s) / np.sqrt(s[1])).astype(np.float32)
                                 for n, s in w.items()})
        sets["4 KB pages"].append(BoundFFN(compiled, [np.array(a) for a in bound._arrays]))
        sets["huge pages"].append(BoundFFN(compiled, [on_huge_pages(np.array(a))
                                                      for a in bound._arrays]))
    x = rng.standard_normal((t, d)).astype(np.float32)
    y = {k: np.empty((t, d), np.float32) for k in sets}
    big = torch.ones(256 << 20)
    times = {k: [] for k in list(sets) + ["read"]}
    for name, blocks in sets.items():
        for b in blocks:
            b.call_into(x.ctypes.data, t, y[name].ctypes.data)
    assert np.array_equal(y["4 KB pages"], y["huge pages"])
    for r in range(args.rounds):
        order = list(sets.items())
        for name, blocks in (order if r % 2 else order[::-1]):  # alternate who goes first
            start = time.perf_counter()
            for b in blocks:
                b.call_into(x.ctypes.data, t, y[name].ctypes.data)
            times[name].append(time.perf_counter() - start)
        start = time.perf_counter()
        big.sum()
        times["read"].append(time.perf_counter() - start)
    weight_bytes = e * 3 * d * f * 4
    read = big.numel() * 4 / statistics.median(times["read"]) / 1e9
    print("%d x SwiGLU %dx%d, %d token(s), %d threads; read bandwidth %.1f GB/s" % (
        e, d, f, t, torch.get_num_threads(), read))
    for name in sets:
        ms = 1e3 * statistics.median(times[name])
        gbs = weight_bytes / (ms * 1e-3) / 1e9
        print("  %-10s %8.3f ms  %5.1f GB/s  %3.0f %% of read" % (name, ms, gbs, 100 * gbs / read))


if __name__ == "__main__":
    main()
