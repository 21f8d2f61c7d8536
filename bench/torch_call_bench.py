#!/usr/bin/env python3
"""The cost of one call of a compiled module in PyTorch: a LLaMA MLP
replaced by compile_mlps (dispatch 'always'), against the eager module, at
a decode-sized input.

    PYTHONPATH=python python bench/torch_call_bench.py [--d-model 128]
        [--d-ff 352] [--tokens 1] [--threads 1,2] [--rounds 5]

Contenders, interleaved in this process (the order alternates by round),
each timed as the median of batches of calls under torch.inference_mode():

  eager        the LlamaMLP module (three nn.Linear, SiLU)
  ours         its CompiledMLP (the per-call path, through the _swiglu_call
               extension where it is built)
  ours-ctypes  the same bound with SWIGLU_NATIVE_CALL=0 (through ctypes)
  call_into    the bound block's call_into alone (into a preallocated
               tensor): the compiled code and the call, no module, checks or
               allocation

and, with --pieces, the parts of a CompiledMLP call one by one. Prints, per
thread count, each contender's per-call microseconds: the median over
rounds and the range. On a shared machine run it with `chrt -r 10`.
"""

import argparse
import os
import statistics
import sys
import time


def per_call_us(fn, calls):
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls * 1e6


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--d-model", type=int, default=128)
    p.add_argument("--d-ff", type=int, default=352)
    p.add_argument("--tokens", type=int, default=1)
    p.add_argument("--threads", default="1,2")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--calls", type=int, default=2000, help="calls per timed batch")
    p.add_argument("--batches", type=int, default=7, help="timed batches per round")
    p.add_argument("--pieces", action="store_true",
                   help="also time the parts of a CompiledMLP call")
    args = p.parse_args()

    import torch
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                    "python", "tests"))
    from families import LlamaMLP
    import swiglu.torch_frontend as stf

    torch.manual_seed(0)
    eager = LlamaMLP(args.d_model, args.d_ff).eval()

    def compiled(native):
        model = torch.nn.Sequential(LlamaMLP(args.d_model, args.d_ff)).eval()
        model[0].load_state_dict(eager.state_dict())
        os.environ["SWIGLU_NATIVE_CALL"] = "1" if native else "0"
        try:
            stf.compile_mlps(model, dispatch="always")
        finally:
            del os.environ["SWIGLU_NATIVE_CALL"]
        return model[0]

    ours, ours_ctypes = compiled(True), compiled(False)
    x = torch.randn(args.tokens, args.d_model)
    with torch.inference_mode():
        want = eager(x)
        for m in (ours, ours_ctypes):
            got = m(x)
            assert m.last_path == "ours", m.last_path
            err = ((got - want).abs().max() / want.abs().max()).item()
            assert err < 1e-5, err
    k = ours._runtime[0]
    y = torch.empty_like(want)
    xa, ya, tokens = x.data_ptr(), y.data_ptr(), args.tokens
    # (getattr: the bench also runs on the package before the extension)
    call_into = getattr(k, "call_into", None) or k._bound.call_into
    contenders = {
        "eager": lambda: eager(x),
        "ours": lambda: ours(x),
        "ours-ctypes": lambda: ours_ctypes(x),
        "call_into": lambda: call_into(xa, tokens, ya),
    }
    if args.pieces:
        contenders.update({
            "  forward": lambda: ours.forward(x),
            "  Kernel call": lambda: k(x),
            "  torch.empty_like": lambda: torch.empty_like(x),
            "  torch.empty(shape, dtype)": lambda: torch.empty(
                (tokens, args.d_model), dtype=torch.float32),
        })
    native = getattr(k._bound, "native", False)
    print("CompiledMLP call: d_model %d, d_ff %d, %d token(s), f32; torch %s; "
          "extension %s; %d rounds x %d batches x %d calls" % (
              args.d_model, args.d_ff, args.tokens, torch.__version__,
              "loaded" if native else "absent", args.rounds, args.batches, args.calls))
    names = list(contenders)
    for threads in [int(t) for t in args.threads.split(",")]:
        torch.set_num_threads(threads)
        results = {n: [] for n in names}
        with torch.inference_mode():
            for f in contenders.values():
                per_call_us(f, args.calls // 4)  # warm-up
            for r in range(args.rounds):
                order = names if r % 2 == 0 else names[::-1]
                for n in order:
                    results[n].append(statistics.median(
                        per_call_us(contenders[n], args.calls) for _ in range(args.batches)))
        print("\n%d thread(s): us per call, median over rounds [range]" % threads)
        for n in names:
            v = results[n]
            print("  %-28s %7.2f  [%.2f-%.2f]" % (n, statistics.median(v), min(v), max(v)))
        e = statistics.median(results["eager"])
        print("  eager / ours: %.2f" % (e / statistics.median(results["ours"])))


if __name__ == "__main__":
    main()
