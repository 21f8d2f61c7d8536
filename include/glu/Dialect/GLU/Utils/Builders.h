//===- Builders.h - Build upstream IR for glu computations ------*- C++ -*-===//
//
// The pieces every lowering of a glu op is made of, on tensors: flattening
// the batch dims, projections as linalg.matmul, slicing (merged) weights by
// output feature, and the activation/gating math inside linalg.generics.
// The reference lowering (convert-glu-to-linalg) applies them to whole
// tensors; the fusion passes apply the same functions to tiles and chunks,
// so both compute exactly the same arithmetic.
//
//===----------------------------------------------------------------------===//

#ifndef GLU_DIALECT_GLU_UTILS_BUILDERS_H
#define GLU_DIALECT_GLU_UTILS_BUILDERS_H

#include "glu/Dialect/GLU/IR/GLU.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpDefinition.h"

#include <optional>
#include <vector>

namespace mlir::glu {

/// An activation and its parameters, read once from an op.
struct ActivationSpec {
  Activation kind;
  float beta, alpha, limit;

  template <typename OpTy>
  static ActivationSpec of(OpTy op) {
    return {op.getActivation(), op.getBetaOrDefault(), op.getAlphaOrDefault(),
            op.getLimitOrDefault()};
  }
};

/// Emits elementwise math in one float type (inside a linalg.generic body),
/// or on vectors of it (in the CPU kernels' epilogues).
class ScalarBuilder {
public:
  ScalarBuilder(OpBuilder &b, Location loc, FloatType type)
      : b(b), loc(loc), type(type) {}
  ScalarBuilder(OpBuilder &b, Location loc, VectorType type)
      : b(b), loc(loc), type(type) {}

  Value constant(double value);
  Value add(Value x, Value y);
  Value mul(Value x, Value y);
  Value div(Value x, Value y);
  /// NaN-propagating min/max, like torch.clamp and torch.relu.
  Value min(Value x, Value y);
  Value max(Value x, Value y);
  /// σ(x) = 1 / (1 + exp(-x)).
  Value sigmoid(Value x);
  /// act(x) for an activation of one value (not clamped_swiglu).
  Value activation(const ActivationSpec &spec, Value x);
  /// The gating of a (gate, up) pair: act(g)·u, or GPT-OSS's clamped SwiGLU.
  Value gate(const ActivationSpec &spec, Value g, Value u);
  /// Converts `x` to this builder's type, or to `to` (extf/truncf/nothing).
  Value convert(Value x) { return convertTo(x, type); }
  Value convertTo(Value x, Type to);

private:
  OpBuilder &b;
  Location loc;
  Type type; // a FloatType or a VectorType of one
};

/// act'(x) for an activation of one value (not clamped_swiglu), with `s`'s
/// type (a float, or a vector of them: the CPU kernels' epilogues). The
/// formulas: docs/training.md.
Value activationDerivative(OpBuilder &b, Location loc, ScalarBuilder &s,
                           const ActivationSpec &spec, Value x);

/// The gating h = G(g, u) and its partial derivatives at (g, u).
struct GatingValues {
  Value h, dg, du;
};

/// h = G(g, u), ∂G/∂g and ∂G/∂u (every activation, clamped SwiGLU's clamps
/// passing the gradient on the closed interval, as torch.clamp does).
GatingValues gatingWithDerivatives(OpBuilder &b, Location loc, ScalarBuilder &s,
                                   const ActivationSpec &spec, Value g,
                                   Value u);

/// The element type of a shaped value, as a float type.
FloatType elementTypeOf(Value v);

/// Collapses `x: [B..., D]` into `[M, D]` (M = ∏B, or 1 with no batch dims).
Value flattenTokens(OpBuilder &b, Location loc, Value x);

/// Restores the batch dims of `original` on `y: [M, N]` and casts the result
/// to `resultType` (which may be more static than what was computed).
Value unflattenTokens(OpBuilder &b, Location loc, Value y, Value original,
                      RankedTensorType resultType);

/// A zero-filled `[rows, cols]` tensor of `type`.
Value zeros(OpBuilder &b, Location loc, OpFoldResult rows, OpFoldResult cols,
            FloatType type);

/// `init + a·W` for `a: [M, K]` and `W` stored as `[N, K]` (out_in) or
/// `[K, N]` (in_out); `init` is a fresh zero tensor in `accType` when null.
Value project(OpBuilder &b, Location loc, Value a, Value w, Layout layout,
              FloatType accType, Value init = {});

/// The extent of one tile starting at `iv` along a dim of size `total`:
/// `tile`, or `min(tile, total - iv)` when the last tile may be partial
/// (folded to a constant when `total` is static and a multiple of `tile`,
/// or at most one tile).
OpFoldResult tileSize(OpBuilder &b, Location loc, Value iv, OpFoldResult total,
                      int64_t tile);

/// A range of output features `[offset, offset + size)`.
struct FeatureRange {
  OpFoldResult offset, size;
};

/// The features `range` (all of them when absent) of `t` along `dim`.
Value sliceFeatures(OpBuilder &b, Location loc, Value t, int64_t dim,
                    std::optional<FeatureRange> range);

/// The features `range` (all of them when absent) of the gate (`part` 0) or
/// up (`part` 1) half of a merged gate/up tensor along `dim`, ordered as
/// `packing` says: concat puts up feature i at F + i, interleaved gate
/// feature i at 2i and up feature i at 2i + 1.
Value sliceMergedFeatures(OpBuilder &b, Location loc, Value merged,
                          int64_t dim, Packing packing, int64_t part,
                          std::optional<FeatureRange> range);

/// Callback of elementwise2D: the matrices' values, then the vectors' (null
/// for an absent vector), all converted to the compute type.
using ElementwiseBody = function_ref<Value(
    ScalarBuilder &, ArrayRef<Value> matrixValues, ArrayRef<Value> vectorValues)>;

/// An elementwise linalg.generic over `[M, N]`: each of `matrices` ([M, N])
/// and `vectors` ([N], broadcast over rows; null entries are skipped) is
/// converted to `computeType` and handed to `body`, whose value is stored as
/// `resultType`.
Value elementwise2D(OpBuilder &b, Location loc, ArrayRef<Value> matrices,
                    ArrayRef<Value> vectors, FloatType computeType,
                    FloatType resultType, ElementwiseBody body);

/// `act(g + bg) ⊙ (u + bu)` over `[M, F]` in `accType`, stored as
/// `resultType`; absent biases are null.
Value gatedHidden(OpBuilder &b, Location loc, const ActivationSpec &spec,
                  Value g, Value u, Value gateBias, Value upBias,
                  FloatType accType, FloatType resultType);

/// `act(pre + bias)` over `[M, F]` in `accType` (non-gated blocks).
Value activatedHidden(OpBuilder &b, Location loc, const ActivationSpec &spec,
                      Value pre, Value bias, FloatType accType);

/// `y + bias` (bias may be null) computed in `accType`, stored as
/// `resultType`.
Value biasAndRound(OpBuilder &b, Location loc, Value y, Value bias,
                   FloatType accType, FloatType resultType);

/// The gate/up projection weights of a gated op: separate or merged.
struct GateUpWeights {
  Value gate, up, gateBias, upBias; // separate weights (biases may be null)
  Value merged, mergedBias;         // or one merged weight and bias
  Packing packing = Packing::concat;

  static GateUpWeights of(FFNOp op);
  static GateUpWeights of(GateUpOp op);
};

/// The gate and up projections of `x2: [M, D]` for the output features
/// `range` (all when absent), each `[M, |range|]` in `accType`, with their
/// bias slices (null when absent).
struct GateUpValues {
  Value gate, up, gateBias, upBias;
};
GateUpValues projectGateUp(OpBuilder &b, Location loc, Value x2,
                           const GateUpWeights &weights, Layout layout,
                           FloatType accType,
                           std::optional<FeatureRange> range = std::nullopt);

/// The hidden activation of a whole block for the output features `range`
/// (all of them when absent), `[M, |range|]` in acc_type, from `x2: [M, D]`:
/// `act(x·Wg + bg) ⊙ (x·Wu + bu)` for glu.ffn, `act(x·W1 + b1)` for glu.mlp.
Value blockHidden(OpBuilder &b, Location loc, FFNOp op, Value x2,
                  std::optional<FeatureRange> range = std::nullopt);
Value blockHidden(OpBuilder &b, Location loc, MLPOp op, Value x2,
                  std::optional<FeatureRange> range = std::nullopt);

/// `v` with f32 elements (an exact extf, as a linalg.generic), or `v`
/// itself if it is f32 or null.
Value widenToF32(OpBuilder &b, Location loc, Value v);

/// Slot `index` of a stacked tensor `t` (`[E, ...]`, e.g. the weights of E
/// experts): `t[index]` with the leading dim dropped (a rank-reducing
/// tensor.extract_slice; null for a null `t`).
Value sliceStacked(OpBuilder &b, Location loc, Value t, OpFoldResult index);

/// The body of `forLoop`: the next loop-carried values from the induction
/// variable and the current ones.
using LoopBody =
    function_ref<SmallVector<Value>(OpBuilder &, Value, ValueRange)>;

/// for (i = lb; i < ub; ++i) state = body(i, state), an `scf.for` carrying
/// `init`; returns the final state.
SmallVector<Value> forLoop(OpBuilder &b, Location loc, Value lb, Value ub,
                           ValueRange init, LoopBody body);

/// The raw row-major bytes of a constant tensor (`dense`, splats expanded,
/// or `dense_resource`), or failure for other attribute kinds.
FailureOr<std::vector<char>> rawBytes(ElementsAttr attr);

} // namespace mlir::glu

#endif // GLU_DIALECT_GLU_UTILS_BUILDERS_H
