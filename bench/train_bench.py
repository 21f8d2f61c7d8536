#!/usr/bin/env python3
"""Training benchmark of one FFN layer (issue 14): forward + backward time
and the activation memory kept between forward and backward, for

  * eager:      PyTorch's nn.Module math with autograd (saves g, u, act(g), h);
  * checkpoint: the same under torch.utils.checkpoint (saves x, recomputes);
  * ours:       the compiled forward (glu-cpu-pipeline kernels) and the
                compiled glu.ffn_grad (recomputes the hidden from x) in a
                torch.autograd.Function (swiglu._torch.autograd);
  * ours-keep:  PyTorch's forward keeping the f32 pre-activations g, u, and
                the compiled glu.ffn_grad that takes them (no recompute).

bf16 blocks are compiled with round-hidden=true, as TrainingBlock does for
them (PyTorch's bf16 semantics: the hidden, dg and du rounded to bf16, every
GEMM on AVX512-BF16 dot products); --unrounded also times ours and
ours-keep with round-hidden=false (the op's semantics: f32 hidden, dg, du).

    PYTHONPATH=python python bench/train_bench.py [--dtype f32|bf16] [--reps 7]

The memory is what autograd keeps for the backward: the bytes of the saved
tensors that are not parameters (torch.autograd.graph.saved_tensors_hooks),
so the input x counts for every contender. Calls are interleaved (one of
each contender per round), medians over the rounds. --phases also prints
each contender's forward and backward apart, their GFLOP/s (2·T·D·F a GEMM:
3 in the forward, 6 in eager's backward, 8 in the recomputing one), and the
page faults (minor faults of the process) a step.
"""

import argparse
import os
import resource
import statistics
import time

os.environ.setdefault("KMP_BLOCKTIME", "0")  # see docs/python.md (threads)

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

from swiglu._torch import autograd as sag
from swiglu.ffn import FFNSpec

SHAPES = {  # name: (tokens, d_model, d_ff)
    "small (64 x 64 x 176)": (64, 64, 176),
    "llama-like (256 x 512 x 1376)": (256, 512, 1376),
    "llama-like (512 x 1024 x 2816)": (512, 1024, 2816),
}


class MLP(torch.nn.Module):
    def __init__(self, d, f):
        super().__init__()
        self.gate_proj = torch.nn.Linear(d, f, bias=False)
        self.up_proj = torch.nn.Linear(d, f, bias=False)
        self.down_proj = torch.nn.Linear(f, d, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


def saved_bytes(fn, params):
    """Bytes of the non-parameter tensors autograd saves during fn()."""
    ptrs = {p.data_ptr() for p in params}
    total = [0]

    def pack(t):
        if t.data_ptr() not in ptrs:
            total[0] += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    return out, total[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dtype", default="f32", choices=["f32", "bf16"])
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--shapes", default=None, help="comma-separated indices into SHAPES")
    ap.add_argument("--reference-gemms", action="store_true",
                    help="also time ours with the backward's GEMMs of the reference "
                         "lowering (grad-kernels=false): the before/after of issue 14's "
                         "CPU kernels")
    ap.add_argument("--unrounded", action="store_true",
                    help="bf16: also time ours and ours-keep with round-hidden=false "
                         "(dg, du and the hidden in f32: before issue 14's rounding mode)")
    ap.add_argument("--phases", action="store_true",
                    help="also the forward and the backward apart, and page faults a step")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    dtype = torch.float32 if args.dtype == "f32" else torch.bfloat16
    names = list(SHAPES)
    if args.shapes:
        names = [names[int(i)] for i in args.shapes.split(",")]
    print("fwd+bwd of one SwiGLU FFN layer, %s, %d threads, median of %d interleaved rounds"
          % (args.dtype, args.threads, args.reps))
    for name in names:
        t, d, f = SHAPES[name]
        torch.manual_seed(0)
        mlp = MLP(d, f).to(dtype)
        params = list(mlp.parameters())
        spec = FFNSpec(d_model=d, d_ff=f, activation="silu", dtype=args.dtype, packing="concat")
        block = sag.TrainingBlock(spec, "threads=%d" % args.threads)
        keep = sag.TrainingBlock(spec, "threads=%d" % args.threads, keep_pre=True)
        x0 = torch.randn(t, d).to(dtype)
        dy = torch.randn(t, d).to(dtype)
        weights = lambda: (mlp.gate_proj.weight, mlp.up_proj.weight, mlp.down_proj.weight,
                           None, None, None)
        contenders = {
            "eager": lambda x: mlp(x),
            "checkpoint": lambda x: checkpoint(mlp, x, use_reentrant=False),
            "ours": lambda x: sag.apply(block, x, weights()),
            "ours-keep": lambda x: sag.apply(keep, x, weights()),
        }
        if args.reference_gemms:
            ref = sag.TrainingBlock(spec, "threads=%d grad-kernels=false" % args.threads)
            contenders["ours-refgemm"] = lambda x: sag.apply(ref, x, weights())
        if args.unrounded and args.dtype == "bf16":
            plain = "threads=%d round-hidden=false" % args.threads
            f32h = sag.TrainingBlock(spec, plain)
            f32h_keep = sag.TrainingBlock(spec, plain, keep_pre=True)
            contenders["ours-f32h"] = lambda x: sag.apply(f32h, x, weights())
            contenders["keep-f32h"] = lambda x: sag.apply(f32h_keep, x, weights())
        times = {k: [] for k in contenders}
        fwd_times = {k: [] for k in contenders}
        faults = {k: [] for k in contenders}
        memory = {}
        for r in range(args.reps + 1):
            for k, fn in contenders.items():
                x = x0.clone().requires_grad_()
                for p in params:
                    p.grad = None
                minflt = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
                start = time.perf_counter()
                y, saved = saved_bytes(lambda: fn(x), params)
                forward = time.perf_counter() - start
                y.backward(dy)
                elapsed = time.perf_counter() - start
                if r:  # round 0 warms up (compiles, packs)
                    times[k].append(elapsed)
                    fwd_times[k].append(forward)
                    faults[k].append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - minflt)
                memory[k] = saved
        med = {k: statistics.median(v) * 1e3 for k, v in times.items()}
        hidden = t * f * x0.element_size()
        print("%s: [tokens, d_ff] = %.2f MB" % (name, hidden / 1e6))
        for k in contenders:
            print("  %-10s %9.2f ms  saved %8.2f MB  (%.2fx eager's time, %.3fx eager's memory)"
                  % (k, med[k], memory[k] / 1e6, med["eager"] / med[k] if k != "eager" else 1.0,
                     memory[k] / memory["eager"]))
        print("  ours vs checkpoint: %.2fx (checkpoint's time / ours)"
              % (med["checkpoint"] / med["ours"]))
        if args.phases:
            gemm = 2.0 * t * d * f / 1e9  # GFLOP of one projection
            bwd_gemms = {"eager": 6, "checkpoint": 9, "ours-keep": 6}
            for k in contenders:
                fw = statistics.median(fwd_times[k])
                bw = statistics.median([a - b for a, b in zip(times[k], fwd_times[k])])
                n = bwd_gemms.get(k, 8)
                print("  %-10s fwd %8.2f ms (%5.1f GFLOP/s)  bwd %8.2f ms (%5.1f GFLOP/s, "
                      "%d GEMMs)  %6d page faults a step"
                      % (k, fw * 1e3, 3 * gemm / fw, bw * 1e3, n * gemm / bw, n,
                         statistics.median(faults[k])))


if __name__ == "__main__":
    main()
