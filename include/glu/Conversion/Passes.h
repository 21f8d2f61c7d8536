//===- Passes.h - Conversions out of the glu dialect ------------*- C++ -*-===//

#ifndef GLU_CONVERSION_PASSES_H
#define GLU_CONVERSION_PASSES_H

#include "glu/Dialect/GLU/Utils/Builders.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/MPI/IR/MPI.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/X86Vector/X86VectorDialect.h"
#include "mlir/Pass/Pass.h"

#include <functional>

namespace mlir {
class RewritePatternSet;

namespace glu {

#define GEN_PASS_DECL
#include "glu/Conversion/Passes.h.inc"

/// Adds the patterns that rewrite each glu op into linalg/arith/math/tensor.
/// `roundHidden`: the training ops of bf16 blocks round the hidden, dg and
/// du to bf16 (convert-glu-to-linalg's round-hidden).
void populateGLUToLinalgPatterns(RewritePatternSet &patterns,
                                 bool roundHidden = false);
/// glu.route and glu.moe's reference lowering (part of the above).
void populateMoEToLinalgPatterns(RewritePatternSet &patterns);
/// glu.ffn_grad, glu.mlp_grad and glu.dropout's reference lowering (part of
/// the above). `roundHidden`: PyTorch's bf16 autograd for bf16 blocks (the
/// dropped-out hidden, dg and du rounded to bf16 once computed; the GEMMs
/// and bias sums that read them read the rounded values).
void populateGradToLinalgPatterns(RewritePatternSet &patterns,
                                  bool roundHidden = false);

/// How the backward's lowering computes `init + op(A)·op(B)` in `accType`:
/// `op(A)` is `A: [M, K]` or, with `aT`, the transpose of `A: [K, M]`;
/// `op(B)` is `B: [K, N]` or, with `bT`, the transpose of `B: [N, K]`;
/// `init` (`[M, N]`) is zeros when null. Returns `[M, N]` in `accType`, or,
/// when `store` is not null (the element type the caller rounds the result
/// to), in `store` if the builder rounds it there itself (once, from
/// `accType`, to nearest even: what the caller's rounding would give).
using GradGemmBuilder =
    std::function<Value(OpBuilder &, Location, Value a, bool aT, Value b,
                        bool bT, FloatType accType, Value init, Type store)>;
/// The dropped-out hidden and the gradients of the pre-activations
/// (`[M, F]` in acc_type, or in `rounded` when the caller asked for it; `du`
/// null for glu.mlp_grad).
struct GradElementwise {
  Value hidden, dg, du;
};
/// `dh = dy·Wdᵀ` (`down` stored with `layout`) with the elementwise
/// backward in its epilogue: from the pre-activations `g`, `u` (before
/// their biases; `u` null for glu.mlp_grad) and the biases (null when
/// absent). Used without dropout only; null results: not fused here (the
/// GEMM and the elementwise generic instead). `rounded` (null: acc_type):
/// the element type the three results are stored in (bf16 with
/// round-hidden), rounded to nearest even.
using GradFusedBackward = std::function<GradElementwise(
    OpBuilder &, Location, const ActivationSpec &, Value g, Value u,
    Value gateBias, Value upBias, Value dy, Value down, Layout layout,
    Type rounded)>;
/// The same patterns with every GEMM built by `gemm` instead of the
/// reference's linalg.generics (the CPU kernels' packed micro-kernels), and
/// the dh GEMM and the derivative by `fused` when it is given.
void populateGradToLinalgPatterns(RewritePatternSet &patterns,
                                  GradGemmBuilder gemm,
                                  GradFusedBackward fused = nullptr,
                                  bool roundHidden = false);

/// Adds the patterns of glu-expand-float-conversions: f32/f64 <-> bf16
/// (and, with `f16`, f32 <-> f16) conversions and bf16 selects as integer
/// arithmetic, so that LLVM never calls compiler-rt for them.
void populateExpandFloatConversionPatterns(RewritePatternSet &patterns,
                                           bool f16);

#define GEN_PASS_REGISTRATION
#include "glu/Conversion/Passes.h.inc"

} // namespace glu
} // namespace mlir

#endif // GLU_CONVERSION_PASSES_H
