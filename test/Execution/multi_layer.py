#!/usr/bin/env python3
"""Whole models: several glu ops in one function, compiled by the fast
pipeline (glu-cpu-pipeline) into one library and checked against the numpy
reference (python/swiglu/reference.py, float64, written from the formulas).

Two forms of the same 5-layer model (SwiGLU, SwiGLU, GeGLU-tanh, ReLU MLP
with biases, SwiGLU), each layer's output the next one's input:
  * weights as arguments: one public `model_pack_weights` packs the weights
    of every layer once (its `glu.packs` lists their argument positions);
    the model then takes the panels;
  * weights as constants: packed at compile time.
Prints one line per (form, tokens) and `ALL OK`; exits non-zero on a
mismatch.
"""

import sys

import numpy as np

from swiglu import reference
from swiglu.ffn import CompiledFunction, Library, compile_function

D, F = 48, 80
LAYERS = [("ffn", "silu"), ("ffn", "silu"), ("ffn", "gelu_tanh"),
          ("mlp", "relu"), ("ffn", "silu")]
TOKENS = (1, 5, 37)
TOL = 2e-5  # max|y - ref| / max|ref|, f32 over 5 layers of K <= 80


def weights(rng):
    out = []
    for kind, _ in LAYERS:
        names = ["w_gate", "w_up", "w_down"] if kind == "ffn" else \
            ["w_up", "w_down", "b_up", "b_down"]
        shapes = {"w_gate": (F, D), "w_up": (F, D), "w_down": (D, F),
                  "b_up": (F,), "b_down": (D,)}
        out.append({n: (rng.standard_normal(shapes[n]) / np.sqrt(shapes[n][-1]))
                    .astype(np.float32) for n in names})
    return out


def dense(a):
    return 'dense<"0x%s">' % a.tobytes().hex().upper()


def module(ws, constants):
    def t(a):
        return "tensor<%sxf32>" % "x".join(map(str, a.shape))
    args, body, values = ["%x: tensor<?x48xf32>"], [], []
    cur = "%x"
    for i, ((kind, act), w) in enumerate(zip(LAYERS, ws)):
        names = {}
        for n, a in w.items():
            v = "%%l%d_%s" % (i, n)
            names[n] = v
            if constants:
                body.append("  %s = arith.constant %s : %s" % (v, dense(a), t(a)))
            else:
                args.append("%s: %s" % (v, t(a)))
                values.append(a)
        y = "%%y%d" % i
        if kind == "ffn":
            body.append("  %s = glu.ffn %s %s : tensor<?x48xf32> gate %s : %s up %s : %s "
                        "down %s : %s -> tensor<?x48xf32>" % (
                            y, act, cur, names["w_gate"], t(w["w_gate"]), names["w_up"],
                            t(w["w_up"]), names["w_down"], t(w["w_down"])))
        else:
            body.append("  %s = glu.mlp %s %s : tensor<?x48xf32> up %s : %s down %s : %s "
                        "up_bias %s : %s down_bias %s : %s -> tensor<?x48xf32>" % (
                            y, act, cur, names["w_up"], t(w["w_up"]), names["w_down"],
                            t(w["w_down"]), names["b_up"], t(w["b_up"]),
                            names["b_down"], t(w["b_down"])))
        cur = y
    text = ("func.func @model(%s) -> tensor<?x48xf32> attributes {llvm.emit_c_interface} {\n"
            "%s\n  return %s : tensor<?x48xf32>\n}\n" % (", ".join(args), "\n".join(body), cur))
    return text, values


def reference_model(x, ws):
    y = x
    for (kind, act), w in zip(LAYERS, ws):
        if kind == "ffn":
            y = reference.ffn(y, act, **w)
        else:
            y = reference.mlp(y, act, **w)
    return y


def main():
    rng = np.random.default_rng(7)
    ws = weights(rng)
    failed = False
    for constants in (False, True):
        form = "constants" if constants else "arguments"
        text, values = module(ws, constants)
        lib = Library(compile_function(text, "model", target="cpu{threads=2}"))
        args = []
        if not constants:
            # The packing function takes every weight matrix, layer by layer;
            # the model then takes their panels where the first was, and
            # keeps its other arguments (the biases) in their order.
            if not lib.has("model_pack_weights"):
                print("FAIL %s: no model_pack_weights" % form)
                return 1
            mats = [a for a in values if a.ndim == 2]
            f32 = np.dtype(np.float32)
            pack = CompiledFunction(lib, "model_pack_weights", [2] * len(mats),
                                    [3] * (2 * len(LAYERS)))
            args = pack.call(mats, [f32] * (2 * len(LAYERS)))
            print("%s: %d matrices packed into %s" % (
                form, len(mats), " ".join("x".join(map(str, p.shape)) for p in args)))
            args += [a for a in values if a.ndim == 1]
        fn = CompiledFunction(lib, "model", [2] + [a.ndim for a in args], 2)
        for tokens in TOKENS:
            x = rng.standard_normal((tokens, D)).astype(np.float32)
            y = fn.call([x] + list(args), np.dtype(np.float32))
            ref = reference_model(x, ws)
            rel = float(np.abs(y - ref).max() / np.abs(ref).max())
            ok = y.shape == ref.shape and rel <= TOL
            failed |= not ok
            print("%s %s tokens %d: shape %s max_rel %.1e" % (
                "OK" if ok else "FAIL", form, tokens, "x".join(map(str, y.shape)), rel))
    print("ALL OK" if not failed else "FAILED")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
