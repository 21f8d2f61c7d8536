"""Writes one module with a glu function per variant for the GPU tests,
taken from test/Execution's case list (layouts, packings and biases
rotating): by default every op (ffn separate/concat/interleaved, mlp,
gate_up, gate) x dtype (f32, f16, bf16), plus every activation x dtype of
the ffn (the activation only changes the epilogue); --small: op x dtype
only; --tiny: one ffn per dtype; --all: every case of those suites."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "Execution"))
import run_cases  # noqa: E402

SUITES = ["ffn-f32", "ffn-f16", "ffn-bf16", "ffn-merged-f32", "ffn-merged-f16",
          "ffn-merged-bf16", "mlp", "gate_up", "gate"]


def main():
    every = "--all" in sys.argv
    small = "--small" in sys.argv
    tiny = "--tiny" in sys.argv
    seen = set()
    out = []
    for suite in SUITES:
        for case in run_cases.SUITES[suite]():
            if case.acc_type == "f64":
                continue
            key = (case.op, case.packing is not None, case.dtype)
            if not small and case.op == "ffn" and case.packing is None:
                key += (case.act,)
            if tiny and not (case.op == "ffn" and case.packing is None):
                continue
            if tiny:
                key = (case.dtype,)
            if not every and key in seen:
                continue
            seen.add(key)
            name = case.name.replace(".", "_").replace("-", "_")
            text = run_cases.build_mlir(case, run_cases.build_operands(case))
            out.append(text.replace("@case(", "@%s(" % name))
    sys.stdout.write("\n".join(out))
    sys.stderr.write("%d functions\n" % len(out))


if __name__ == "__main__":
    main()
