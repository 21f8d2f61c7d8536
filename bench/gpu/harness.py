#!/usr/bin/env python3
"""GPU harness for the swiglu kernel bundles (runs on the GPU machine, which
needs no LLVM: only this directory, as written by bench/gpu/build.sh, and
python3 with torch; cupy is not needed).

For each token count (default 1, 128, 4096) of the LLaMA-7B FFN (d_model
4096, d_ff 11008, bf16, merged [gate ‖ up] weight [22016, 4096], down
weight [4096, 11008], PyTorch layout) it draws the same random data for
everyone (seeded), runs

  * ours: every bundle given (llama7b-exact: the hidden kept in f32, glu's
    semantics; llama7b-fast: the hidden rounded to bf16 like PyTorch's), on
    the torch tensors' device memory through libswiglu-gpu-runtime.so;
  * torch eager: gu = x @ W_gate_up.T; g, u = gu.split(F, -1);
    y = (silu(g) * u) @ W_down.T (bf16, cuBLAS);
  * torch.compile of the same function;

and reports, against a float32 reference computed by torch from the same
bf16 inputs, the max abs error and max abs error / max |ref|, and the time
per call (CUDA events, mean over --iters after --warmup), TFLOP/s
(6·T·d_model·d_ff flops) and the weight bandwidth (GB/s, 3·d_model·d_ff·2
bytes a call; the roofline for decode).

  python3 harness.py                      # everything, prints a table
  python3 harness.py --tokens 1,128 --iters 50 --json results.json
  python3 harness.py --check              # no GPU needed: the bundles load
"""

import argparse
import ctypes
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
D_MODEL, D_FF = 4096, 11008
ENTRY = b"llama7b"


def load_runtime(directory):
    lib = ctypes.CDLL(os.path.join(directory, "libswiglu-gpu-runtime.so"))
    c = ctypes
    lib.swigluGpuLastError.restype = c.c_char_p
    lib.swigluGpuInit.argtypes = [c.c_int]
    lib.swigluGpuOpen.argtypes = [c.c_char_p, c.c_char_p, c.POINTER(c.c_void_p)]
    lib.swigluGpuClose.argtypes = [c.c_void_p]
    lib.swigluGpuNumInputs.argtypes = [c.c_void_p]
    lib.swigluGpuDtype.argtypes = [c.c_void_p, c.c_int]
    lib.swigluGpuDtype.restype = c.c_char_p
    lib.swigluGpuLoadKernels.argtypes = [c.c_void_p]
    shapes = [c.c_void_p, c.POINTER(c.c_uint64), c.POINTER(c.c_int),
              c.POINTER(c.POINTER(c.c_int64)), c.c_void_p]
    lib.swigluGpuRun.argtypes = shapes
    lib.swigluGpuTime.argtypes = shapes + [c.c_int, c.c_int,
                                           c.POINTER(c.c_float)]
    lib.swigluGpuDeviceInfo.argtypes = [c.c_char_p, c.c_int,
                                        c.POINTER(c.c_int)]
    return lib


def check(lib, rc, what):
    if rc != 0:
        raise RuntimeError("%s: %s" % (what, lib.swigluGpuLastError().decode()))


class Bundle:
    def __init__(self, lib, path):
        self.lib, self.path = lib, path
        self.handle = ctypes.c_void_p()
        check(lib, lib.swigluGpuOpen(path.encode(), ENTRY,
                                     ctypes.byref(self.handle)), path)
        self.manifest = json.load(open(os.path.join(path, "manifest.json")))

    def _args(self, tensors):
        c = ctypes
        n = len(tensors) - 1
        ptrs = (c.c_uint64 * len(tensors))(*[t.data_ptr() for t in tensors])
        ranks = (c.c_int * n)(*[t.dim() for t in tensors[:n]])
        self._dims = [(c.c_int64 * t.dim())(*t.shape) for t in tensors[:n]]
        dims = (c.POINTER(c.c_int64) * n)(
            *[c.cast(d, c.POINTER(c.c_int64)) for d in self._dims])
        return ptrs, ranks, dims

    def run(self, tensors, stream):
        ptrs, ranks, dims = self._args(tensors)
        check(self.lib, self.lib.swigluGpuRun(self.handle, ptrs, ranks, dims,
                                              stream), "run " + self.path)

    def time(self, tensors, stream, warmup, iters):
        ptrs, ranks, dims = self._args(tensors)
        ms = ctypes.c_float()
        check(self.lib, self.lib.swigluGpuTime(self.handle, ptrs, ranks, dims,
                                               stream, warmup, iters,
                                               ctypes.byref(ms)),
              "time " + self.path)
        return ms.value


def time_torch(torch, fn, warmup, iters):
    for _ in range(warmup):
        fn()
    start = torch.cuda.Event(enable_timing=True)
    stop = torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(iters):
        fn()
    stop.record()
    stop.synchronize()
    return start.elapsed_time(stop) / iters


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", default=HERE, help="the package directory")
    ap.add_argument("--bundles", default="llama7b-exact,llama7b-fast")
    ap.add_argument("--tokens", default="1,128,4096")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--no-compile", action="store_true",
                    help="skip torch.compile")
    ap.add_argument("--compile-mode", default=None,
                    help="torch.compile mode (default: torch's default)")
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--check", action="store_true",
                    help="only open the bundles (no GPU needed)")
    args = ap.parse_args()

    lib = load_runtime(args.dir)
    bundles = [Bundle(lib, os.path.join(args.dir, b))
               for b in args.bundles.split(",") if b]
    for b in bundles:
        kernels = sorted({l["kernel"] for l in
                          b.manifest["entries"]["llama7b"]["launches"]})
        print("# %s: chip %s, cubin %s, kernels %s" % (
            os.path.basename(b.path), b.manifest["chip"],
            b.manifest["cubin"] or "none (PTX JIT)", ", ".join(kernels)))
    if args.check:
        return 0

    import torch
    import torch.nn.functional as F
    if not torch.cuda.is_available():
        sys.exit("error: torch sees no CUDA device")
    dev = torch.device("cuda")
    torch.zeros(1, device=dev)  # create the primary context first
    check(lib, lib.swigluGpuInit(torch.cuda.current_device()), "init")
    name = ctypes.create_string_buffer(256)
    sm = ctypes.c_int()
    check(lib, lib.swigluGpuDeviceInfo(name, 256, ctypes.byref(sm)), "device")
    print("# device: %s (sm_%d), torch %s" % (name.value.decode(), sm.value,
                                               torch.__version__))
    for b in bundles:
        t0 = time.time()
        check(lib, lib.swigluGpuLoadKernels(b.handle), "load " + b.path)
        print("# %s: kernels loaded in %.2f s" % (os.path.basename(b.path),
                                                  time.time() - t0))

    gen = torch.Generator(device=dev).manual_seed(0)
    D, Fd = D_MODEL, D_FF
    wgu = (torch.randn(2 * Fd, D, device=dev, generator=gen) * D ** -0.5
           ).to(torch.bfloat16)
    wd = (torch.randn(D, Fd, device=dev, generator=gen) * Fd ** -0.5
          ).to(torch.bfloat16)
    stream = torch.cuda.current_stream().cuda_stream

    def eager(x):
        g, u = (x @ wgu.T).split(Fd, dim=-1)
        return (F.silu(g) * u) @ wd.T

    compiled = None
    if not args.no_compile:
        kw = {"mode": args.compile_mode} if args.compile_mode else {}
        compiled = torch.compile(eager, dynamic=False, **kw)

    rows = []
    weight_bytes = 3 * D * Fd * 2
    for T in [int(t) for t in args.tokens.split(",")]:
        x = torch.randn(T, D, device=dev, generator=gen).to(torch.bfloat16)
        g, u = (x.float() @ wgu.float().T).split(Fd, dim=-1)
        ref = (F.silu(g) * u) @ wd.float().T
        scale = ref.abs().max().item()
        flops = 6 * T * D * Fd

        def report(impl, y, ms):
            err = (y.float() - ref).abs().max().item()
            row = {"tokens": T, "impl": impl, "ms": ms,
                   "tflops": flops / ms / 1e9, "weight_gbs": weight_bytes / ms / 1e6,
                   "max_abs_err": err, "rel_err": err / scale,
                   "ok": bool(err / scale < 2e-2)}
            rows.append(row)
            print("T=%-5d %-22s %9.4f ms %8.1f TFLOP/s %8.0f GB/s  "
                  "max|err| %.3g (%.2e of max|ref|)%s" % (
                      T, impl, ms, row["tflops"], row["weight_gbs"], err,
                      row["rel_err"], "" if row["ok"] else "  << WRONG?"),
                  flush=True)

        for b in bundles:
            out = torch.empty(T, D, device=dev, dtype=torch.bfloat16)
            out.fill_(float("nan"))
            b.run([x, wgu, wd, out], stream)
            torch.cuda.synchronize()
            ms = b.time([x, wgu, wd, out], stream, args.warmup, args.iters)
            report("ours " + os.path.basename(b.path).split("-")[-1], out, ms)
        y = eager(x)
        report("torch eager", y, time_torch(torch, lambda: eager(x),
                                            args.warmup, args.iters))
        if compiled is not None:
            y = compiled(x)
            report("torch.compile", y, time_torch(torch, lambda: compiled(x),
                                                  args.warmup, args.iters))
        del ref, g, u
        torch.cuda.empty_cache()

    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": name.value.decode(), "sm": sm.value,
                       "torch": torch.__version__, "rows": rows}, f, indent=2)
    bad = [r for r in rows if not r["ok"]]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
