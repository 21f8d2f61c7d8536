#!/usr/bin/env python3
"""Hugging Face's Mixtral sparse MoE block, as published (the definition in
python/tests/test_torch_moe.py), against the same block replaced by
swiglu.torch_frontend.compile_mlps (a CompiledMoE: glu.route + glu.moe, the
router's projection in PyTorch), f32, Mixtral-like shape scaled down
(E 8, top-2, d_model 1024, d_ff 2816).

    PYTHONPATH=python python bench/moe_frontend_bench.py [--tokens 1,16,128,512] [--reps 9]

Prints per token count the median ms of each (interleaved calls), the
ratio, the path the compiled module took and the max relative difference.
"""

import argparse
import os
import statistics
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python", "tests"))
import test_torch_moe as blocks  # noqa: E402

import swiglu.torch_frontend as stf  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tokens", default="1,16,128,512")
    ap.add_argument("--reps", type=int, default=9)
    args = ap.parse_args()
    blocks.D, blocks.FF, blocks.E = 1024, 2816, 8

    def make():
        torch.manual_seed(0)
        return blocks.SparseMoeBlock(blocks.MixtralBlockSparseTop2MLP).eval()

    published = make()
    holder = torch.nn.Module()
    holder.block = make()
    with torch.no_grad():
        print(stf.compile_mlps(holder))
    print("\n| tokens | published ms | compiled ms | × | path | max rel. diff |")
    print("|--:|--:|--:|--:|---|--:|")
    for t in (int(v) for v in args.tokens.split(",")):
        x = torch.randn(1, t, blocks.D)
        with torch.inference_mode():
            want = published(x)[0]
            err = ((holder.block(x)[0] - want).abs().max() / want.abs().max()).item()
            a, b = [], []
            for _ in range(args.reps):
                start = time.perf_counter()
                published(x)
                a.append(time.perf_counter() - start)
                start = time.perf_counter()
                holder.block(x)
                b.append(time.perf_counter() - start)
        ma, mb = 1e3 * statistics.median(a), 1e3 * statistics.median(b)
        print("| %d | %.2f | %.2f | %.2f | %s | %.1e |" % (
            t, ma, mb, ma / mb, holder.block.last_path, err))


if __name__ == "__main__":
    main()
