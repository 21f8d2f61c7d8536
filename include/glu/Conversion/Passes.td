//===- Passes.td - Conversions out of the glu dialect ------*- tablegen -*-===//

#ifndef GLU_CONVERSION_PASSES_TD
#define GLU_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertGLUToLinalg : Pass<"convert-glu-to-linalg"> {
  let summary = "Lower glu ops to linalg, arith, math and tensor";
  let description = [{
    Rewrites every `glu` op into upstream tensor-level IR: the projections
    become `linalg.matmul`s (with `indexing_maps` for the `out_in` layout)
    on operands collapsed to 2-D, merged gate/up weights are split with
    `tensor.extract_slice` (strided for `interleaved`), and the activation,
    gating and biases become `linalg.generic`s over arith/math. Arithmetic is
    done in the op's `acc_type` and the result rounded once.

    This lowering is the reference semantics of the dialect: every faster
    pipeline is checked against it. It favours being obviously right over
    being fast.
  }];
  let dependentDialects = [
    "::mlir::affine::AffineDialect",
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

#endif // GLU_CONVERSION_PASSES_TD
