#!/usr/bin/env python3
"""MoE decode against a dense block of the same bytes: glu.moe on one token
(the grouped decode kernel, bench/moe_bench.py's shapes, its routings
walking through the experts) and one glu.ffn decode with d_ff = k·F (the
active experts' bytes; three weight copies in turn so that no call finds
the last one's in the caches), with PyTorch's sum over 1 GiB for the read
bandwidth; f32, 2 threads, 120 rounds, the order reversed every other
round, medians.

    PYTHONPATH=python python bench/moe_dense_bench.py

Whatever the MoE costs beyond the dense block (routing, gather, combine,
the experts' separate panels) is the difference of the two times.
"""
import os
import sys
import time

os.environ.setdefault("KMP_BLOCKTIME", "0")
import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from moe_bench import SHAPES, mlir
from swiglu.ffn import CompiledFunction, Library, compile_function

def dense_mlir(d, f):
    t = lambda *s: "tensor<%sxf32>" % "x".join(map(str, s))
    return ("func.func @ffn(%%x: tensor<?x%dxf32>, %%wg: %s, %%wu: %s, %%wd: %s) -> tensor<?x%dxf32>"
            " attributes {llvm.emit_c_interface} {\n  %%y = glu.ffn silu %%x : tensor<?x%dxf32> gate %%wg : %s"
            " up %%wu : %s down %%wd : %s -> tensor<?x%dxf32>\n  return %%y : tensor<?x%dxf32>\n}\n" % (
                d, t(f, d), t(f, d), t(d, f), d, d, t(f, d), t(f, d), t(d, f), d, d))

torch.set_num_threads(2)
big = torch.ones(256 << 20)
f32 = np.dtype(np.float32)
for s, (e, k, d, f) in SHAPES.items():
    rng = np.random.default_rng(0)
    W = [(rng.standard_normal(sh) * 0.03).astype(np.float32) for sh in ((e, f, d), (e, f, d), (e, d, f))]
    lib = Library(compile_function(mlir(e, k, d, f), "moe", target="cpu{threads=2}"))
    panels = CompiledFunction(lib, "moe_pack_weights", [3, 3, 3], [4, 4]).call(W, [f32, f32])
    moe = CompiledFunction(lib, "moe", [2, 2, 4, 4], 2)
    fd = k * f
    dl = Library(compile_function(dense_mlir(d, fd), "ffn", target="cpu{threads=2}"))
    dpack = CompiledFunction(dl, "ffn_pack_weights", [2, 2, 2], [3, 3])
    dfn = CompiledFunction(dl, "ffn", [2, 3, 3], 2)
    copies = []
    for c in range(3):
        w = [(rng.standard_normal(sh) * 0.03).astype(np.float32) for sh in ((fd, d), (fd, d), (d, fd))]
        copies.append(dpack.call(w, [f32, f32]))
    x = rng.standard_normal((1, d)).astype(np.float32)
    variants = []
    for v in range(e // k):
        lg = rng.standard_normal((1, e)).astype(np.float32); lg[0, v * k:(v + 1) * k] += 20.0
        variants.append(lg)
    impls = [lambda r: moe.call([x, variants[r % len(variants)]] + panels, f32),
             lambda r: dfn.call([x] + copies[r % 3], f32),
             lambda r: big.sum()]
    times = [[] for _ in impls]
    for r in range(120):
        order = list(enumerate(impls))
        if r % 2: order.reverse()
        for i, fn in order:
            t0 = time.perf_counter(); fn(r); times[i].append(time.perf_counter() - t0)
    ms = [float(np.median(t)) * 1e3 for t in times]
    byts = k * 3 * d * f * 4
    read = big.numel() * 4 / ms[2] / 1e6
    print("%s: grouped MoE %.3f ms %.1f GB/s; dense glu.ffn %dx%d %.3f ms %.1f GB/s; read %.1f GB/s" % (
        s, ms[0], byts / ms[0] / 1e6, d, fd, ms[1], byts / ms[1] / 1e6, read), flush=True)
