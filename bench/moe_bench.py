#!/usr/bin/env python3
"""Mixture-of-experts benchmark: glu.route + glu.moe (glu-cpu-pipeline)
against the per-expert PyTorch loop the models ship (Mixtral's and
Qwen3-MoE's `for expert in experts: index, index_add_`) and a batched PyTorch
formulation (every expert on every token with bmm, weighted by the dense
[T, E] routing matrix: more FLOPs, fewer calls), f32, softmax top-k routing
renormalized, SwiGLU experts with [out, in] weights.

    PYTHONPATH=python python bench/moe_bench.py [--threads N] [--tokens 1,16,128,512]
        [--moe-decode-tokens 8[,0]]

Prints, per shape and token count, the median ms of each implementation
(interleaved calls, the order reversed every other round) and ours relative
to each PyTorch formulation; checks that ours matches the per-expert loop
(max relative error). `--moe-decode-tokens 8,0` compiles ours once per value
of the pipeline option (8: the grouped decode kernel up to 8 tokens; 0: a
glu.ffn per expert) and times them in the same rounds: the first is "ours",
the others get columns of their own at the end of the row.
"""

import argparse
import os
import time

# Torch is imported before anything is compiled, so the compiled code runs
# its parallel regions on PyTorch's libgomp threads (swiglu.ffn's openmp
# 'auto': libSwigluGompBridge.so), one pool for both contenders. With
# SWIGLU_OPENMP=libomp, LLVM's libomp threads sleep at once after a region
# (KMP_BLOCKTIME=0) rather than spin for 200 ms beside PyTorch's.
os.environ.setdefault("KMP_BLOCKTIME", "0")

import numpy as np
import torch

from swiglu.ffn import CompiledFunction, Library, compile_function, openmp_runtime

SHAPES = {  # name: (experts, top_k, d_model, d_ff)
    "mixtral-like": (8, 2, 1024, 2816),
    "qwen3-moe-like": (64, 8, 1024, 384),
}


def mlir(e, k, d, f):
    t = lambda *s: "tensor<%sxf32>" % "x".join(map(str, s))
    return (
        "func.func @moe(%%x: tensor<?x%dxf32>, %%logits: tensor<?x%dxf32>, %%wg: %s, %%wu: %s,"
        " %%wd: %s) -> tensor<?x%dxf32> attributes {llvm.emit_c_interface} {\n"
        "  %%ids, %%w = glu.route softmax %%logits : tensor<?x%dxf32> top_k %d {renormalize}"
        " -> tensor<?x%dxi32>, tensor<?x%dxf32>\n"
        "  %%y = glu.moe silu %%x : tensor<?x%dxf32> experts %%ids : tensor<?x%dxi32>"
        " weights %%w : tensor<?x%dxf32> gate %%wg : %s up %%wu : %s down %%wd : %s"
        " -> tensor<?x%dxf32>\n  return %%y : tensor<?x%dxf32>\n}\n" % (
            d, e, t(e, f, d), t(e, f, d), t(e, d, f), d, e, k, k, k, d, k, k,
            t(e, f, d), t(e, f, d), t(e, d, f), d, d))


def torch_loop(x, logits, wg, wu, wd, k):
    """Mixtral / Qwen3-MoE's sparse block (HF transformers), routing included."""
    p = torch.softmax(logits, dim=-1)
    w, sel = torch.topk(p, k, dim=-1)
    w = w / w.sum(dim=-1, keepdim=True)
    out = torch.zeros_like(x)
    mask = torch.nn.functional.one_hot(sel, num_classes=wg.shape[0]).permute(2, 1, 0)
    for e in range(wg.shape[0]):
        idx, top = torch.where(mask[e])
        if top.numel() == 0:
            continue
        xe = x[top]
        h = torch.nn.functional.silu(xe @ wg[e].T) * (xe @ wu[e].T)
        out.index_add_(0, top, (h @ wd[e].T) * w[top, idx, None])
    return out


def torch_batched(x, logits, wg, wu, wd, k):
    """Every expert on every token (bmm), weighted by the dense routing."""
    p = torch.softmax(logits, dim=-1)
    w, sel = torch.topk(p, k, dim=-1)
    w = w / w.sum(dim=-1, keepdim=True)
    dense = torch.zeros_like(p).scatter_add_(1, sel, w)           # [T, E]
    xb = x.unsqueeze(0).expand(wg.shape[0], -1, -1)               # [E, T, D]
    h = torch.nn.functional.silu(torch.bmm(xb, wg.transpose(1, 2))) * \
        torch.bmm(xb, wu.transpose(1, 2))
    y = torch.bmm(h, wd.transpose(1, 2))                          # [E, T, D]
    return torch.einsum("te,etd->td", dense, y)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--tokens", default="1,16,128,512")
    ap.add_argument("--shapes", default=",".join(SHAPES))
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--moe-decode-tokens", default="8",
                    help="the pipeline's moe-decode-tokens, one build of ours per value")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print("# MoE: ours (glu.route + glu.moe, glu-cpu-pipeline threads=%d, OpenMP %s) vs "
          "PyTorch %s, %d threads" % (args.threads, openmp_runtime(), torch.__version__,
                                      args.threads))
    variants_opt = [int(v) for v in args.moe_decode_tokens.split(",")]
    extra = "".join(" moe-decode-tokens=%d ms | GB/s | %% of read |" % v
                    for v in variants_opt[1:])
    print("\n| shape (E, k, D, F) | T | ours ms | per-expert loop ms | batched ms | "
          "× loop | × batched | ours GB/s (decode) | read GB/s | % of read | max rel err |"
          + extra)
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|" + "--:|--:|--:|" * (len(variants_opt) - 1))
    print("(ours: moe-decode-tokens=%d)" % variants_opt[0])
    # The read bandwidth decode is compared with, measured in the same rounds
    # as the contenders (a shared machine's bandwidth moves by 30 % and more
    # from minute to minute): PyTorch's sum over 1 GiB of f32, on the same
    # threads.
    big = torch.ones(256 << 20)
    for name in args.shapes.split(","):
        e, k, d, f = SHAPES[name]
        rng = np.random.default_rng(0)
        wg = (rng.standard_normal((e, f, d)) / np.sqrt(d)).astype(np.float32)
        wu = (rng.standard_normal((e, f, d)) / np.sqrt(d)).astype(np.float32)
        wd = (rng.standard_normal((e, d, f)) / np.sqrt(f)).astype(np.float32)
        fns = []
        for v in variants_opt:
            lib = Library(compile_function(
                mlir(e, k, d, f), "moe",
                target="cpu{threads=%d moe-decode-tokens=%d}" % (args.threads, v)))
            # Every expert's weights packed once (moe_pack_weights), as at load.
            pack = CompiledFunction(lib, "moe_pack_weights", [3, 3, 3], [4, 4])
            f32 = np.dtype(np.float32)
            t0 = time.perf_counter()
            panels = pack.call([wg, wu, wd], [f32, f32])
            pack_s = time.perf_counter() - t0
            fns.append(CompiledFunction(lib, "moe", [2, 2, 4, 4], 2))
        fn = fns[0]
        tw = [torch.from_numpy(a) for a in (wg, wu, wd)]
        print("| %s: all experts packed once in %.2f s | | | | | | | | | | |" % (name, pack_s))
        for tokens in [int(t) for t in args.tokens.split(",")]:
            x = rng.standard_normal((tokens, d)).astype(np.float32)
            # Routings, one per timed call in turn. For decode (1 token) they
            # walk through all the experts, k at a time, so that consecutive
            # calls read different experts' weights from memory, as the
            # layers of a model do, rather than the last call's from the
            # caches; larger batches route at random.
            if tokens == 1:
                variants = []
                for v in range(e // k):
                    logits = rng.standard_normal((1, e)).astype(np.float32)
                    logits[0, v * k:(v + 1) * k] += 20.0
                    variants.append(logits)
            else:
                variants = [rng.standard_normal((tokens, e)).astype(np.float32)]
            tx = torch.from_numpy(x)
            tls = [torch.from_numpy(v) for v in variants]
            impls = [lambda v: fn.call([x, variants[v]] + panels, f32),
                     lambda v: torch_loop(tx, tls[v], *tw, k),
                     lambda v: torch_batched(tx, tls[v], *tw, k)]
            if tokens == 1:
                impls.append(lambda v: big.sum())
            for other in fns[1:]:
                impls.append(lambda v, other=other: other.call([x, variants[v]] + panels, f32))
            with torch.inference_mode():
                err = 0.0
                ours = [0] + list(range(len(impls) - len(fns) + 1, len(impls)))
                for v in range(len(variants)):
                    ref = torch_loop(tx, tls[v], *tw, k).numpy()
                    for i in ours:
                        err = max(err, float(np.abs(impls[i](v) - ref).max() /
                                             np.abs(ref).max()))
                times = [[] for _ in impls]
                for r in range(args.reps * len(variants)):
                    order = list(enumerate(impls))
                    if r % 2:
                        order.reverse()
                    for i, run in order:
                        t0 = time.perf_counter()
                        run(r % len(variants))
                        times[i].append(time.perf_counter() - t0)
            ms = [float(np.median(t)) * 1e3 for t in times]
            # Decode: GB/s of the active experts' weights (k experts' gate,
            # up and down, f32) read by ours.
            gbs = read = share = ""
            rest = ""
            first_other = len(impls) - len(fns) + 1
            if tokens == 1:
                ours_gbs = k * 3 * d * f * 4 / (ms[0] * 1e-3) / 1e9
                read_gbs = big.numel() * 4 / (ms[3] * 1e-3) / 1e9
                gbs, read = "%.1f" % ours_gbs, "%.1f" % read_gbs
                share = "%.0f %%" % (100 * ours_gbs / read_gbs)
            for i in range(first_other, len(impls)):
                if tokens == 1:
                    o_gbs = k * 3 * d * f * 4 / (ms[i] * 1e-3) / 1e9
                    rest += " %.2f | %.1f | %.0f %% |" % (ms[i], o_gbs, 100 * o_gbs / read_gbs)
                else:
                    rest += " %.2f | | |" % ms[i]
            print("| %s (%d, %d, %d, %d) | %d | %.2f | %.2f | %.2f | %.2f× | %.2f× | %s | %s | %s "
                  "| %.1e |%s" % (name, e, k, d, f, tokens, ms[0], ms[1], ms[2], ms[1] / ms[0],
                                  ms[2] / ms[0], gbs, read, share, err, rest), flush=True)


if __name__ == "__main__":
    main()
