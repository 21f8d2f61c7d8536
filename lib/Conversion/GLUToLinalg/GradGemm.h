//===- GradGemm.h - The GEMMs of the training ops' lowering -----*- C++ -*-===//
//
// The products of glu.ffn_grad / glu.mlp_grad's reference lowering, written
// so that the generic path (linalg to loops, LLVM's vectorizer, OpenMP) runs
// them fast: see GradGemm.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef GLU_LIB_CONVERSION_GLUTOLINALG_GRADGEMM_H
#define GLU_LIB_CONVERSION_GLUTOLINALG_GRADGEMM_H

#include "glu/Conversion/Passes.h"
#include "glu/Dialect/GLU/IR/GLU.h"

#include "mlir/IR/Builders.h"

namespace mlir::glu::grad {

/// `init + op(A)·B` in `accType` (`init`: zeros when null): op(A) is
/// `A: [M, K]` or, with `aT`, the transpose of `A: [K, M]`; B is `[K, N]`
/// or, with `bT`, the transpose of `B: [N, K]`. Result `[M, N]` (in
/// `accType`: `store` is for the CPU kernels' builder; see GradGemmBuilder).
Value gemm(OpBuilder &b, Location loc, Value a, bool aT, Value bMat, bool bT,
           FloatType accType, Value init = {}, Type store = {});

/// The helpers below build their product with `gemm` (grad::gemm, or the
/// CPU kernels').

/// `init + a·W` for `a: [M, K]` and a weight stored with `layout` whose
/// output features are N: `[N, K]` (out_in) or `[K, N]` (in_out).
Value projectForward(const GradGemmBuilder &gemm, OpBuilder &b, Location loc,
                     Value a, Value w,
                     Layout layout, FloatType accType, Value init = {});

/// `init + d·W` back through a weight stored with `layout`: `d: [M, N]`
/// (the gradient of the projection's output), giving `[M, K]` (in `store`
/// where the builder rounds to it, see GradGemmBuilder).
Value projectBackward(const GradGemmBuilder &gemm, OpBuilder &b, Location loc,
                      Value d, Value w,
                      Layout layout, FloatType accType, Value init = {},
                      Type store = {});

/// The gradient of a weight stored with `layout` whose projection reads
/// `in: [M, K]` and has output gradient `out: [M, N]`: `[N, K]` (out_in)
/// or `[K, N]` (in_out), in `store` where the builder rounds to it.
Value weightGradient(const GradGemmBuilder &gemm, OpBuilder &b, Location loc,
                     Value in, Value out,
                     Layout layout, FloatType accType, Type store = {});

} // namespace mlir::glu::grad

#endif // GLU_LIB_CONVERSION_GLUTOLINALG_GRADGEMM_H
