"""From a PyTorch FFN module to a compiled shared library, in one command.

    python -m swiglu.export mymodel.py:MLP --tokens dynamic --dtype bf16 \\
        -o ffn.so [--header ffn.h] [--mlir ffn.mlir] [--options '...']

1. imports `MLP` from mymodel.py and builds it with no arguments (or with
   `--args '64, 176'`, a Python argument list), in eval mode, in `--dtype`;
2. exports it with torch-mlir (`torch_mlir.fx.export_and_import`, the
   weights become constants) for an input x of shape [tokens, d_model]:
   `--tokens dynamic` (the default) makes the token count a dynamic dim,
   `--tokens N` a static one; d_model is `--d-model` or the in_features of
   the module's first nn.Linear (or the first dim of its first 2-D weight);
3. reports what `swiglu-opt --glu-raise=remarks=true` raises (with
   allow-rounding-changes for bf16/f16, where PyTorch rounds every
   intermediate: the compiled block computes in f32 and rounds once);
4. compiles it with `swiglu-compile` (the fast CPU pipeline, constant
   weights packed at compile time; `--options` adds pipeline options) into
   a library that needs only libc, libm and libomp, with the C header if
   `--header` is given. Its entry point is `_mlir_ciface_main(result*, x*)`
   over memref descriptors (docs/tools.md);
5. with `--check`, runs the library on 7 random tokens (or the static
   count) and compares it with the module in PyTorch (float64 on the same
   weights).

The tools are found in $SWIGLU_BIN_DIR, on PATH, or in the build tree next
to this source tree. Exits non-zero if a step fails; prints each remark.
"""

import argparse
import importlib.util
import os
import pathlib
import shutil
import subprocess
import sys

_HERE = pathlib.Path(__file__).resolve().parent

DTYPES = {"f32": "float32", "bf16": "bfloat16", "f16": "float16"}


def tool(name):
    """The path of a project tool (swiglu-opt, swiglu-compile)."""
    env = os.environ.get("SWIGLU_BIN_DIR")
    if env and (pathlib.Path(env) / name).exists():
        return str(pathlib.Path(env) / name)
    found = shutil.which(name)
    if found:
        return found
    built = _HERE.parent.parent / "build" / "bin" / name
    if built.exists():
        return str(built)
    sys.exit("swiglu.export: cannot find %s: build the project "
             "(scripts/build.sh), put build/bin on PATH or set SWIGLU_BIN_DIR"
             % name)


def load_class(spec):
    """The class named by 'path/to/file.py:Class'."""
    path, sep, name = spec.rpartition(":")
    if not sep or not path or not name:
        sys.exit("swiglu.export: expected FILE.py:CLASS, got %r" % spec)
    module_spec = importlib.util.spec_from_file_location("swiglu_export_user",
                                                         path)
    if module_spec is None:
        sys.exit("swiglu.export: cannot import %s" % path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    if not hasattr(module, name):
        sys.exit("swiglu.export: %s has no %s" % (path, name))
    return getattr(module, name)


def d_model_of(module):
    """The input width: the first nn.Linear's in_features, else the first
    dim of the first 2-D parameter."""
    import torch
    for m in module.modules():
        if isinstance(m, torch.nn.Linear):
            return m.in_features
    for p in module.parameters():
        if p.dim() == 2:
            return p.shape[0]
    sys.exit("swiglu.export: cannot tell d_model; give --d-model")


class _Memref2D:
    """A 2-D memref descriptor, as the library's entry point takes it."""

    def __new__(cls):
        import ctypes

        class Memref2D(ctypes.Structure):
            _fields_ = [("allocated", ctypes.c_void_p),
                        ("aligned", ctypes.c_void_p),
                        ("offset", ctypes.c_int64),
                        ("sizes", ctypes.c_int64 * 2),
                        ("strides", ctypes.c_int64 * 2)]
        return Memref2D


def check(library, module, d_model, dtype_name, tokens):
    """Runs `library` on a random x and compares it with `module` (PyTorch,
    float64 on the same weights); returns the error relative to max|out|."""
    import ctypes

    import numpy as np
    import torch

    Memref2D = _Memref2D()
    lib = ctypes.CDLL(str(pathlib.Path(library).resolve()))
    entry = lib._mlir_ciface_main
    entry.argtypes = [ctypes.POINTER(Memref2D), ctypes.POINTER(Memref2D)]
    entry.restype = None
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(tokens, d_model, generator=gen).to(module_dtype(module))
    bits = x.view(torch.int16).numpy() if dtype_name != "f32" else x.numpy()
    bits = np.ascontiguousarray(bits)
    arg = Memref2D(bits.ctypes.data, bits.ctypes.data, 0, (tokens, d_model),
                   (d_model, 1))
    result = Memref2D()
    entry(ctypes.byref(result), ctypes.byref(arg))
    n, m = result.sizes[0], result.sizes[1]
    ctype = ctypes.c_float if dtype_name == "f32" else ctypes.c_uint16
    buf = (ctype * (n * m)).from_address(result.aligned
                                         + result.offset * ctypes.sizeof(ctype))
    out = np.ctypeslib.as_array(buf).reshape(n, m).copy()
    ctypes.CDLL(None).free(ctypes.c_void_p(result.allocated))
    if dtype_name != "f32":
        out = torch.from_numpy(out.view(np.int16)).view(
            module_dtype(module)).to(torch.float64).numpy()
    with torch.no_grad():
        want = module.to(torch.float64)(x.to(torch.float64)).numpy()
    return float(np.max(np.abs(out - want)) / np.max(np.abs(want)))


def module_dtype(module):
    return next(module.parameters()).dtype


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m swiglu.export", description=__doc__.splitlines()[0])
    parser.add_argument("module", help="FILE.py:CLASS, a torch.nn.Module")
    parser.add_argument("--args", default="",
                        help="the constructor's arguments, a Python list "
                             "without brackets (default: none)")
    parser.add_argument("--tokens", default="dynamic",
                        help="'dynamic' (default) or a token count")
    parser.add_argument("--d-model", type=int, help="the input width")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="f32")
    parser.add_argument("--output-type", default="linalg-on-tensors",
                        choices=["linalg-on-tensors", "tosa"],
                        help="torch-mlir's output (default linalg-on-tensors)")
    parser.add_argument("-o", "--output", required=True, help="the .so")
    parser.add_argument("--header", help="also write the C header here")
    parser.add_argument("--mlir", help="keep the exported MLIR here")
    parser.add_argument("--check", action="store_true",
                        help="run the library on 7 random tokens and compare "
                             "it with the module in PyTorch (float64 on the "
                             "same weights)")
    parser.add_argument("--options", default="",
                        help="more glu-cpu-pipeline options "
                             "(e.g. 'threads=2 target-cpu=x86-64-v3')")
    args = parser.parse_args(argv)

    import torch
    from torch_mlir import fx

    cls = load_class(args.module)
    ctor_args = eval("[%s]" % args.args, {"torch": torch}) if args.args else []
    dtype = getattr(torch, DTYPES[args.dtype])
    module = cls(*ctor_args).eval().to(dtype)
    d_model = args.d_model or d_model_of(module)
    dynamic = args.tokens == "dynamic"
    tokens = 2 if dynamic else int(args.tokens)
    x = torch.zeros(tokens, d_model, dtype=dtype)
    kwargs = {}
    if dynamic:
        name = next(iter(__import__("inspect").signature(module.forward)
                         .parameters))
        kwargs["dynamic_shapes"] = {name: {0: torch.export.Dim("tokens")}}
    exported = str(fx.export_and_import(module, x, output_type=args.output_type,
                                        **kwargs))
    mlir = args.mlir or str(pathlib.Path(args.output).with_suffix(".mlir"))
    pathlib.Path(mlir).write_text(exported)

    rounding = args.dtype != "f32"
    raise_options = "remarks=true" + (" allow-rounding-changes=true"
                                      if rounding else "")
    proc = subprocess.run([tool("swiglu-opt"), mlir,
                           "--glu-raise=" + raise_options, "-o", os.devnull],
                          capture_output=True, text=True)
    remarks = [line.split("remark: ", 1)[1]
               for line in proc.stderr.splitlines() if "remark: " in line]
    for remark in remarks:
        print(remark)
    if proc.returncode != 0:
        sys.exit("swiglu.export: swiglu-opt failed:\n" + proc.stderr[-4000:])
    if not any("raised to" in r for r in remarks):
        print("swiglu.export: no block raised: compiled as written "
              "(the reference lowering of the unraised code)")

    options = ((" allow-rounding-changes=true" if rounding else "")
               + " " + args.options).strip()
    cmd = [tool("swiglu-compile"), mlir, "-o", args.output]
    if args.header:
        cmd.append("--header=" + args.header)
    if options:
        cmd.append("--options=" + options)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit("swiglu.export: swiglu-compile failed:\n" + proc.stderr[-4000:])
    if not args.mlir:
        os.remove(mlir)
    print("wrote %s%s (entry point main: x [%s, %d] %s)"
          % (args.output, " and " + args.header if args.header else "",
             "?" if dynamic else tokens, d_model, args.dtype))
    if args.check:
        # f32: a few units of f32 on sums of d_model/d_ff terms; bf16/f16:
        # the output's rounding (2^-8 / 2^-11) with room for the inputs'.
        tol = {"f32": 1e-5, "f16": 4e-3, "bf16": 3e-2}[args.dtype]
        err = check(args.output, module, d_model, args.dtype,
                    7 if dynamic else tokens)
        print("check: max |library - PyTorch| / max |PyTorch| = %.3g (%s, "
              "tolerance %g)" % (err, "PASS" if err <= tol else "FAIL", tol))
        if err > tol:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
