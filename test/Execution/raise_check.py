#!/usr/bin/env python3
"""Checks that --glu-raise preserves what frontend IR computes.

The .mlir file given holds functions written with upstream ops only (linalg,
tensor, arith, math, tosa), each preceded by a line

  // CASE: {"entry": NAME, "op": "ffn"|"mlp", "act": ACT, "layout": L,
  //        "packing": P, "beta": B (swish), "raised": TEXT, "out": DTYPE,
  //        "args": {REF_NAME: [SHAPE, DTYPE], ...}}

(on one line) whose `args` name each function argument, in order, after the
keyword arguments of python/swiglu/reference.py (`x`, `w_gate`, `w_up`,
`w_gate_up`, `w_down`, `b_gate`, `b_up`, `b_gate_up`, `b_down`; `b_gate` and
`b_up` with `w_gate_up` are the biases of its concat halves). For every case
the driver

  1. writes seeded random arguments as .npy files,
  2. JIT-runs the function as written (TOSA lowered to linalg first) and the
     function after `swiglu-opt --glu-raise` with swiglu-run,
  3. checks that the raised function contains TEXT (the glu op it became) and
     no contraction any more,
  4. compares both results with the float64 numpy reference of the glu op
     (`reference.ffn` / `reference.mlp`), and with each other,

and prints `PASS <case> ...` or `FAIL <case> <why>`, then
`ALL <n> CASES PASSED` or `<k> OF <n> CASES FAILED` (exit status 1).

Tolerance: |out - ref| <= u_out*|ref| + 1e-5*max|ref|, with u_out the unit
roundoff of the result type (2^-24 for f32, 2^-8 for bf16): the final rounding
plus the f32 accumulation of 64- and 96-term dot products, far below what a
wrong activation, a swapped gate/up or a dropped bias changes (O(|ref|)).

Usage: raise_check.py FILE.mlir --workdir DIR
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import zlib

import numpy as np

from swiglu import reference as ref

TOSA_TO_LINALG = ("--pass-pipeline=builtin.module(func.func(tosa-to-linalg-named,"
                  "tosa-to-linalg,tosa-to-arith,tosa-to-tensor))")


def run(cmd):
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError("%s failed (%d):\n%s" % (cmd[0], proc.returncode,
                                                    proc.stderr[-4000:]))
    return proc.stdout


def function_body(text, name):
    """The text of `func.func @name` up to the next function."""
    m = re.search(r"func\.func @%s\(.*?(?=\n  func\.func |\Z)" % re.escape(name),
                  text, re.S)
    return m.group(0) if m else ""


def make_args(case):
    """Seeded arguments: x ~ N(0, 1); gate/up/W1 weights N(0, 9/D) so that
    pre-activations span about [-10, 10]; down weights N(0, 1/F); biases
    N(0, 1)."""
    rng = np.random.default_rng(zlib.crc32(case["entry"].encode()))
    shapes = {k: v[0] for k, v in case["args"].items()}
    d_model = shapes["x"][-1]
    arrays = {}
    for name, (shape, dtype) in case["args"].items():
        a = rng.standard_normal(shape)
        if name in ("w_gate", "w_up", "w_gate_up"):
            a *= 3.0 / np.sqrt(d_model)
        elif name == "w_down":
            d_ff = shape[1] if case.get("layout", "out_in") == "out_in" else shape[0]
            a /= np.sqrt(d_ff)
        arrays[name] = ref.round_to(a, dtype)
    return arrays


def reference(case, arrays):
    kw = {k: v for k, v in arrays.items() if k != "x"}
    layout = case.get("layout", "out_in")
    if "packing" in case:
        kw["packing"] = case["packing"]
    if "w_gate_up" in kw and ("b_gate" in kw or "b_up" in kw):
        # Biases added to the halves of a concat-packed merged projection.
        bg, bu = kw.pop("b_gate", None), kw.pop("b_up", None)
        f = (bg if bg is not None else bu).shape[0]
        zeros = np.zeros(f)
        kw["b_gate_up"] = np.concatenate([
            ref.identity(bg) if bg is not None else zeros,
            ref.identity(bu) if bu is not None else zeros])
    if case["op"] == "ffn":
        return ref.ffn(arrays["x"], case["act"], layout=layout,
                       beta=case.get("beta", ref.DEFAULT_BETA), **kw)
    return ref.mlp(arrays["x"], case["act"], layout=layout,
                   beta=case.get("beta", ref.DEFAULT_BETA), **kw)


def check(case, raised_text, files, workdir):
    name = case["entry"]
    body = function_body(raised_text, name)
    if case["raised"] not in body:
        return "FAIL %s not raised: expected '%s' in\n%s" % (name, case["raised"], body)
    if re.search(r"linalg\.(matmul|batch_matmul|generic)|tosa\.matmul", body):
        return "FAIL %s a contraction survived the raise:\n%s" % (name, body)

    arrays = make_args(case)
    cdir = os.path.join(workdir, name)
    os.makedirs(cdir, exist_ok=True)
    inputs = []
    for arg, (_, dtype) in case["args"].items():
        path = os.path.join(cdir, arg + ".npy")
        ref.save_npy(path, arrays[arg], dtype)
        inputs += ["-i", path]

    want = reference(case, arrays)
    out_type = case["out"]
    u = ref.unit_roundoff(out_type)
    tol = u * np.abs(want) + 1e-5 * np.max(np.abs(want))
    results = {}
    for kind, mlir in files.items():
        # The function alone, so that each case compiles (and fails) alone.
        one = os.path.join(cdir, kind + ".mlir")
        run(["swiglu-opt", mlir, "--symbol-privatize=exclude=" + name,
             "--symbol-dce", "-o", one])
        out = os.path.join(cdir, kind + ".npy")
        run(["swiglu-run", one, "--entry=" + name] + inputs + ["-o", out])
        got = ref.load_npy(out, out_type).astype(np.float64)
        if got.shape != want.shape:
            return "FAIL %s %s: shape %s, expected %s" % (name, kind, got.shape, want.shape)
        worst = float(np.max(np.abs(got - want) / tol))
        if not worst <= 1.0:
            return "FAIL %s %s: worst err/tol = %g" % (name, kind, worst)
        results[kind] = (got, worst)
    (a, wa), (b, wb) = results["unraised"], results["raised"]
    agree = float(np.max(np.abs(a - b) / tol))
    if not agree <= 1.0:
        return "FAIL %s raised and unraised differ: err/tol = %g" % (name, agree)
    shutil.rmtree(cdir, ignore_errors=True)
    return ("PASS %s %s worst_unraised=%.3g worst_raised=%.3g "
            "raised_vs_unraised=%.3g" % (name, case["raised"], wa, wb, agree))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mlir")
    parser.add_argument("--workdir", required=True)
    args = parser.parse_args()

    os.makedirs(args.workdir, exist_ok=True)
    with open(args.mlir) as f:
        cases = [json.loads(m.group(1)) for m in
                 re.finditer(r"^// CASE: (\{.*\})$", f.read(), re.M)]
    unraised = os.path.join(args.workdir, "unraised.mlir")
    raised = os.path.join(args.workdir, "raised.mlir")
    run(["swiglu-opt", args.mlir, TOSA_TO_LINALG, "-o", unraised])
    run(["swiglu-opt", args.mlir, "--glu-raise", "-o", raised])
    with open(raised) as f:
        raised_text = f.read()

    failures = 0
    for case in cases:
        try:
            line = check(case, raised_text,
                         {"unraised": unraised, "raised": raised}, args.workdir)
        except Exception as e:  # a runner failure fails the case
            line = "FAIL %s %s" % (case["entry"], e)
        failures += line.startswith("FAIL")
        print(line, flush=True)
    if failures:
        print("%d OF %d CASES FAILED" % (failures, len(cases)))
        return 1
    print("ALL %d CASES PASSED" % len(cases))
    return 0


if __name__ == "__main__":
    sys.exit(main())
