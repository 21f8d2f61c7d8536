//===- Passes.h - Passes on the glu dialect ---------------------*- C++ -*-===//

#ifndef GLU_DIALECT_GLU_TRANSFORMS_PASSES_H
#define GLU_DIALECT_GLU_TRANSFORMS_PASSES_H

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/DLTI/DLTI.h"
#include "mlir/Dialect/MPI/IR/MPI.h"
#include "mlir/Dialect/Shard/IR/ShardDialect.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "glu/Dialect/GLU/IR/GLU.h"
#include "mlir/Pass/Pass.h"

#include <cstdint>

namespace mlir::glu {

#define GEN_PASS_DECL
#include "glu/Dialect/GLU/Transforms/Passes.h.inc"

/// The unit attribute of a glu.moe that glu-moe-to-experts left for the
/// grouped decode kernel of convert-glu-to-cpu-kernels (the then branch of
/// `scf.if tokens <= N`, whose else branch computes the same per expert).
inline constexpr llvm::StringLiteral kGroupedDecodeAttr = "glu.grouped_decode";

/// LLaMA's feed-forward width for `dModel`: 8/3·d_model, scaled by
/// `ffnDimMultiplier`, rounded up to a multiple of `multipleOf` (Meta's
/// `llama/model.py`, FeedForward.__init__).
int64_t llamaFFNWidth(int64_t dModel, int64_t multipleOf,
                      double ffnDimMultiplier);

#define GEN_PASS_REGISTRATION
#include "glu/Dialect/GLU/Transforms/Passes.h.inc"

} // namespace mlir::glu

#endif // GLU_DIALECT_GLU_TRANSFORMS_PASSES_H
