"""Scaling model of a tensor-parallel FFN (docs/distributed.md).

Per rank and per call, for N ranks, T tokens, d = d_model, F = d_ff, f32:
  compute    t_c  = max(6·T·d·⌈F/N⌉ / R,  3·d·⌈F/N⌉·4 B / M)
               (the FLOPs of its share, or streaming its weights once when
               that takes longer: decode)
  all-reduce t_ar = 2(N−1)·α + 2(N−1)/N · T·d·4 B / B   (ring; 0 for N = 1)
  time       t    = t_c + t_ar (no overlap), speedup t(1)/t(N).

R, M, B and α are stated below; change them on the command line:
  python3 examples/tensor_parallel/model.py [--R 3.3e12] [--M 2e11] [--B 2.5e10] [--alpha 5e-6]
"""
import argparse
import math

MODELS = [("LLaMA-7B", 4096, 11008), ("LLaMA-70B", 8192, 28672)]
RANKS = [1, 2, 4, 8, 16, 32, 64]


def times(n, t, d, f, a):
    share = math.ceil(f / n)
    compute = max(6 * t * d * share / a.R, 3 * d * share * 4 / a.M)
    reduce = 0.0 if n == 1 else (2 * (n - 1) * a.alpha +
                                 2 * (n - 1) / n * t * d * 4 / a.B)
    return compute, reduce


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--R", type=float, default=3.3e12,
                   help="f32 FLOP/s of one rank (default: 32 cores at the "
                        "103 GFLOP/s a core measured here)")
    p.add_argument("--M", type=float, default=2e11,
                   help="memory bandwidth of one rank, B/s")
    p.add_argument("--B", type=float, default=2.5e10,
                   help="network bandwidth per rank, B/s (200 Gb/s)")
    p.add_argument("--alpha", type=float, default=5e-6,
                   help="latency of one all-reduce step, s")
    a = p.parse_args()
    print(f"R = {a.R / 1e12:g} TFLOP/s a rank, M = {a.M / 1e9:g} GB/s, "
          f"B = {a.B / 1e9:g} GB/s, alpha = {a.alpha * 1e6:g} us")
    for name, d, f in MODELS:
        for label, tokens in [("strong, prefill T=2048", lambda n: 2048),
                              ("strong, decode T=1", lambda n: 1),
                              ("weak, T=256·N", lambda n: 256 * n)]:
            print(f"\n{name} ({d}x{f}), {label}: ms a call (compute + "
                  f"all-reduce), speedup or efficiency")
            print("| N | " + " | ".join(str(n) for n in RANKS) + " |")
            print("|---|" + "--:|" * len(RANKS))
            rows = {"compute ms": [], "all-reduce ms": [], "MB reduced": [],
                    "speedup" if "strong" in label else "efficiency": []}
            c1, r1 = times(1, tokens(1), d, f, a)
            for n in RANKS:
                t = tokens(n)
                c, r = times(n, t, d, f, a)
                rows["compute ms"].append(f"{c * 1e3:.3g}")
                rows["all-reduce ms"].append(f"{r * 1e3:.3g}")
                rows["MB reduced"].append(f"{t * d * 4 / 1e6:.3g}")
                if "strong" in label:
                    rows["speedup"].append(f"{(c1 + r1) / (c + r):.1f}")
                else:
                    rows["efficiency"].append(f"{(c1 + r1) / (c + r):.2f}")
            for key, values in rows.items():
                print(f"| {key} | " + " | ".join(values) + " |")


if __name__ == "__main__":
    main()
