#!/usr/bin/env python3
"""Hugging Face's Mixtral sparse MoE block, as published (the definition in
python/tests/test_torch_moe.py), against the same block replaced by
swiglu.torch_frontend.compile_mlps (a CompiledMoE: glu.route + glu.moe, the
router's projection in PyTorch), f32, Mixtral-like shape scaled down
(E 8, top-2, d_model 1024, d_ff 2816).

    PYTHONPATH=python python bench/moe_frontend_bench.py [--tokens 1,16,128,512] [--reps 9]
        [--compile] [--block mixtral|gpt-oss]

With --compile, also torch.compile(block) (Inductor) and
torch.compile(block, backend="swiglu"), both with
torch._dynamo.config.capture_dynamic_output_shape_ops set (the expert loop
traced whole: the backend replaces it by one glu.moe). Prints per token
count the median ms of each (interleaved calls, the order reversed every
other round), each one's speed relative to the published block, the path
the compiled module took and the largest max relative difference.
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
    ap.add_argument("--compile", action="store_true",
                    help="also torch.compile: Inductor alone, and backend='swiglu' "
                         "(both with capture_dynamic_output_shape_ops, so that the "
                         "expert loop is one graph)")
    ap.add_argument("--block", choices=("mixtral", "gpt-oss"), default="mixtral",
                    help="gpt-oss: GptOssMLP as published for the CPU (every expert on "
                         "every token, bmm over stacked weights), E 16, top-4, "
                         "d_model 512, d_ff 512")
    args = ap.parse_args()
    if args.block == "gpt-oss":
        blocks.D, blocks.FF, blocks.E = 512, 512, 16
    else:
        blocks.D, blocks.FF, blocks.E = 1024, 2816, 8

    def make():
        torch.manual_seed(0)
        if args.block == "gpt-oss":
            return blocks.GptOssMLP().eval()
        return blocks.SparseMoeBlock(blocks.MixtralBlockSparseTop2MLP).eval()

    published = make()
    holder = torch.nn.Module()
    holder.block = make()
    with torch.no_grad():
        print(stf.compile_mlps(holder))
    runs = {"published": published, "compile_mlps": holder.block}
    if args.compile:
        import swiglu.torch_backend as stb
        torch._dynamo.config.capture_dynamic_output_shape_ops = True
        runs["inductor"] = torch.compile(make())
        runs["backend swiglu"] = torch.compile(make(), backend="swiglu")
    names = list(runs)
    print("\n| tokens | " + " | ".join("%s ms" % n for n in names) +
          " | " + " | ".join("× %s" % n for n in names[1:]) + " | path | max rel. diff |")
    print("|--:|" + "--:|" * (2 * len(names) - 1) + "---|--:|")
    for t in (int(v) for v in args.tokens.split(",")):
        x = torch.randn(1, t, blocks.D)
        with torch.inference_mode():
            want = published(x)[0]
            err = max(((runs[n](x)[0] - want).abs().max() / want.abs().max()).item()
                      for n in names[1:])
            times = {n: [] for n in names}
            for r in range(args.reps):
                for n in (names if r % 2 == 0 else names[::-1]):
                    start = time.perf_counter()
                    runs[n](x)
                    times[n].append(time.perf_counter() - start)
        ms = {n: 1e3 * statistics.median(v) for n, v in times.items()}
        print("| %d | %s | %s | %s | %.1e |" % (
            t, " | ".join("%.2f" % ms[n] for n in names),
            " | ".join("%.2f" % (ms["published"] / ms[n]) for n in names[1:]),
            holder.block.last_path, err))
    if args.compile:
        print("\nThe backend's last graph:", stb.last_report())


if __name__ == "__main__":
    main()
