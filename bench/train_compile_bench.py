#!/usr/bin/env python3
"""Training step (forward + backward) of bench/decoder_bench.py's decoder
in train mode: eager PyTorch, Inductor (torch.compile(model)) and the
swiglu backend with the compiled backward (torch.compile(model,
backend="swiglu", options={"backward": "compiled"})), each on its own copy
of the model, in one process, interleaved rounds.

    PYTHONPATH=python python bench/train_compile_bench.py [--layers 2]
        [--hidden 512] [--ffn 1408] [--heads 8] [--tokens 128] [--rounds 5]

Prints each contender's median step time over rounds (each round's median
of --reps steps), its range, and eager's time over it. Inductor's compile
workers started at first use compete for the cores on a small machine:
TORCHINDUCTOR_COMPILE_THREADS=1 keeps them out.
"""

import argparse
import copy
import statistics
import time

import torch

import decoder_bench


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--hidden", type=int, default=512)
    p.add_argument("--ffn", type=int, default=1408)
    p.add_argument("--heads", type=int, default=8)
    p.add_argument("--tokens", type=int, default=128)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--reps", type=int, default=5)
    args = p.parse_args()
    import swiglu.torch_backend as stb
    base = decoder_bench.build_model(args.layers, args.hidden, args.ffn, args.heads).train()
    runs = {"eager": copy.deepcopy(base),
            "inductor": torch.compile(copy.deepcopy(base)),
            "swiglu, compiled backward": torch.compile(
                copy.deepcopy(base), backend="swiglu", options={"backward": "compiled"})}
    x = torch.randn(1, args.tokens, args.hidden, generator=torch.Generator().manual_seed(0))

    def step(f):
        f(x).square().mean().backward()

    for f in runs.values():
        for _ in range(3):
            step(f)
    replaced = [n for n, s in stb.last_report() if s == "replaced"]
    times = {n: [] for n in runs}
    for r in range(args.rounds):
        for n, f in runs.items():
            ts = []
            for _ in range(args.reps):
                start = time.perf_counter()
                step(f)
                ts.append(time.perf_counter() - start)
            times[n].append(statistics.median(ts))
    print("decoder in train mode: %d layers, hidden %d, d_ff %d, %d tokens, f32; torch %d "
          "threads; %d rounds of %d steps" % (args.layers, args.hidden, args.ffn, args.tokens,
                                              torch.get_num_threads(), args.rounds, args.reps))
    print("swiglu backend replaced: %s; compiled backward calls: %d" % (
        ", ".join(replaced) or "none",
        sum(b["backward"] for b in stb.block_stats().values())))
    eager = statistics.median(times["eager"])
    for n, t in times.items():
        m = statistics.median(t)
        print("%-26s %8.2f ms  (%.2f–%.2f)  eager / this: %.2f" % (
            n, 1e3 * m, 1e3 * min(t), 1e3 * max(t), eager / m))


if __name__ == "__main__":
    main()
