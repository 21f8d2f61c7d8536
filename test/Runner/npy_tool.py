"""Writes test inputs for swiglu-run and checks its outputs against numpy.

Dtypes are named as in MLIR (f64 f32 f16 bf16 i64 i32 i16 i8 i1). A bf16
array crosses the .npy boundary as its raw 16-bit patterns ('<u2'), see
swiglu-run --help; `bf16-void` writes what np.save gives for an
ml_dtypes.bfloat16 array ('<V2') instead.

  npy_tool.py write PATH DTYPE SHAPE [--seed N] [--values v1,v2,...]
                    [--format-version 1|2|3]
      A random (or given) array; SHAPE is like 2x3, or "scalar" for rank 0.
      The .npy format version is numpy's choice unless given.
  npy_tool.py check OUT DTYPE EXPR NAME=PATH... [--rtol R] [--atol A]
      Loads the inputs (decoding bf16), evaluates the numpy expression EXPR
      over them (np and ml_dtypes available), casts it to DTYPE,
      and compares with OUT, which must hold DTYPE's .npy dtype. Prints
      "OK <dtype> <shape>" or the mismatches and exits 1.
  npy_tool.py bad KIND PATH
      A malformed .npy file: bad-magic, short-header, short-data,
      trailing-data, fortran, big-endian, version, structured, bad-dict.
"""

import argparse
import sys

import ml_dtypes
import numpy as np

NUMPY_DTYPES = {
    "f64": np.float64,
    "f32": np.float32,
    "f16": np.float16,
    "bf16": ml_dtypes.bfloat16,
    "bf16-void": ml_dtypes.bfloat16,
    "i64": np.int64,
    "i32": np.int32,
    "i16": np.int16,
    "i8": np.int8,
    "i1": np.bool_,
}

# The dtype descriptor swiglu-run writes for each result element type.
OUTPUT_DESCRS = {
    "f64": "<f8",
    "f32": "<f4",
    "f16": "<f2",
    "bf16": "<u2",
    "i64": "<i8",
    "i32": "<i4",
    "i16": "<i2",
    "i8": "|i1",
    "i1": "|b1",
}


def parse_shape(text):
    if text == "scalar":
        return ()
    return tuple(int(d) for d in text.split("x"))


def make_array(dtype, shape, seed, values):
    rng = np.random.default_rng(seed)
    numpy_dtype = NUMPY_DTYPES[dtype]
    if values is not None:
        flat = np.array([float(v) for v in values.split(",")], np.float64)
        return flat.astype(numpy_dtype).reshape(shape)
    if dtype == "i1":
        return rng.integers(0, 2, size=shape).astype(np.bool_)
    if dtype.startswith("i"):
        info = np.iinfo(numpy_dtype)
        low, high = max(info.min, -1000), min(info.max, 1000)
        return rng.integers(low, high, size=shape).astype(numpy_dtype)
    return rng.uniform(-4.0, 4.0, size=shape).astype(numpy_dtype)


def save(path, dtype, array, version=None):
    if dtype == "bf16":
        array = array.view(np.uint16)
    if version is None:
        np.save(path, array, allow_pickle=False)
        return
    with open(path, "wb") as f:
        np.lib.format.write_array(f, array, version=(version, 0), allow_pickle=False)


def load_input(path):
    """Loads an input file, decoding bf16 bit patterns."""
    array = np.load(path, allow_pickle=False)
    if array.dtype == np.uint16 or array.dtype.kind == "V":
        array = array.view(ml_dtypes.bfloat16)
    return array


def cmd_write(args):
    array = make_array(args.dtype, parse_shape(args.shape), args.seed, args.values)
    save(args.path, args.dtype, array, args.format_version)


def cmd_check(args):
    env = {"np": np, "ml_dtypes": ml_dtypes}
    for binding in args.inputs:
        name, path = binding.split("=", 1)
        env[name] = load_input(path)
    expected = np.asarray(eval(args.expr, env)).astype(NUMPY_DTYPES[args.dtype])

    actual = np.load(args.out, allow_pickle=False)
    descr = actual.dtype.str
    if descr != OUTPUT_DESCRS[args.dtype]:
        print(f"FAIL: {args.out} holds {descr}, expected {OUTPUT_DESCRS[args.dtype]}")
        return 1
    if args.dtype == "bf16":
        actual = actual.view(ml_dtypes.bfloat16)
    if actual.shape != expected.shape:
        print(f"FAIL: shape {actual.shape}, expected {expected.shape}")
        return 1

    if args.dtype.startswith("i"):
        mismatch = actual != expected
    else:
        a = actual.astype(np.float64)
        e = expected.astype(np.float64)
        both_nan = np.isnan(a) & np.isnan(e)
        close = np.isclose(a, e, rtol=args.rtol, atol=args.atol) | both_nan
        # Exact comparison must also see the sign of zeros.
        if args.rtol == 0 and args.atol == 0:
            close &= (np.signbit(a) == np.signbit(e)) | both_nan
        mismatch = ~close
    if np.any(mismatch):
        where = np.argwhere(mismatch)[:5]
        print(f"FAIL: {int(np.sum(mismatch))} mismatches, first at {where.tolist()}")
        for index in where:
            index = tuple(index)
            print(f"  {index}: got {actual[index]!r}, expected {expected[index]!r}")
        return 1
    print(f"OK {args.dtype} {actual.shape}")
    return 0


def cmd_bad(args):
    good = np.arange(6, dtype=np.float32).reshape(2, 3)
    if args.kind == "fortran":
        np.save(args.path, np.asfortranarray(good))
        return
    if args.kind == "big-endian":
        np.save(args.path, good.astype(">f4"))
        return
    if args.kind == "structured":
        np.save(args.path, np.zeros(3, dtype=[("a", "<f4"), ("b", "<i4")]))
        return
    np.save(args.path, good)
    with open(args.path, "rb") as f:
        data = f.read()
    if args.kind == "bad-magic":
        data = b"\x93NUMPX" + data[6:]
    elif args.kind == "short-header":
        data = data[:40]
    elif args.kind == "short-data":
        data = data[:-5]
    elif args.kind == "trailing-data":
        data = data + b"\0" * 4
    elif args.kind == "version":
        data = data[:6] + b"\x04\x00" + data[8:]
    elif args.kind == "bad-dict":
        data = data.replace(b"'shape': (2, 3)", b"'shape': [2, 3]")
    else:
        raise SystemExit(f"unknown kind {args.kind}")
    with open(args.path, "wb") as f:
        f.write(data)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    write = sub.add_parser("write")
    write.add_argument("path")
    write.add_argument("dtype", choices=sorted(NUMPY_DTYPES))
    write.add_argument("shape")
    write.add_argument("--seed", type=int, default=0)
    write.add_argument("--values")
    write.add_argument("--format-version", type=int, choices=[1, 2, 3])
    write.set_defaults(func=cmd_write)

    check = sub.add_parser("check")
    check.add_argument("out")
    check.add_argument("dtype", choices=sorted(OUTPUT_DESCRS))
    check.add_argument("expr")
    check.add_argument("inputs", nargs="*")
    check.add_argument("--rtol", type=float, default=0.0)
    check.add_argument("--atol", type=float, default=0.0)
    check.set_defaults(func=cmd_check)

    bad = sub.add_parser("bad")
    bad.add_argument("kind")
    bad.add_argument("path")
    bad.set_defaults(func=cmd_bad)

    args = parser.parse_args()
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())
