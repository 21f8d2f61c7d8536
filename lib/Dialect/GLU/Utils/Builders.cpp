//===- Builders.cpp - Build upstream IR for glu computations --------------===//

#include "glu/Dialect/GLU/Utils/Builders.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include <cmath>

namespace mlir::glu {

//===----------------------------------------------------------------------===//
// ScalarBuilder
//===----------------------------------------------------------------------===//

Value ScalarBuilder::constant(double value) {
  if (auto vector = dyn_cast<VectorType>(type))
    return arith::ConstantOp::create(
        b, loc, vector,
        DenseElementsAttr::get(
            vector, b.getFloatAttr(vector.getElementType(), value)));
  return arith::ConstantOp::create(b, loc, type, b.getFloatAttr(type, value));
}
Value ScalarBuilder::add(Value x, Value y) {
  return arith::AddFOp::create(b, loc, x, y);
}
Value ScalarBuilder::mul(Value x, Value y) {
  return arith::MulFOp::create(b, loc, x, y);
}
Value ScalarBuilder::div(Value x, Value y) {
  return arith::DivFOp::create(b, loc, x, y);
}
Value ScalarBuilder::min(Value x, Value y) {
  return arith::MinimumFOp::create(b, loc, x, y);
}
Value ScalarBuilder::max(Value x, Value y) {
  return arith::MaximumFOp::create(b, loc, x, y);
}

/// σ(x) without overflow: with e = exp(-|x|) ∈ [0, 1] and r = 1 / (1 + e),
/// σ(x) = r for x ≥ 0 and e·r for x < 0. The plain 1 / (1 + exp(-x))
/// overflows exp(-x) for x < -88.7 (f32) and returns 0 where σ(x) is still a
/// positive (subnormal) f32 down to x ≈ -103.9, so that silu(-100)·∞ became
/// NaN instead of -∞. NaN propagates (|NaN|, exp, the select's false arm);
/// σ(±∞) = 1, 0; σ(-0) = ½.
Value ScalarBuilder::sigmoid(Value x) {
  Value one = constant(1.0);
  Value e = math::ExpOp::create(
      b, loc, arith::NegFOp::create(b, loc, math::AbsFOp::create(b, loc, x)));
  Value r = div(one, add(one, e));
  Value nonNegative =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGE, x, constant(0.0));
  return arith::SelectOp::create(b, loc, nonNegative, r, mul(e, r));
}

Value ScalarBuilder::activation(const ActivationSpec &spec, Value x) {
  switch (spec.kind) {
  case Activation::sigmoid:
    return sigmoid(x);
  case Activation::identity:
    return x;
  case Activation::relu:
    return max(x, constant(0.0));
  case Activation::gelu_erf: {
    // ½·x·(1 + erf(x/√2))
    Value erf = math::ErfOp::create(b, loc, mul(x, constant(M_SQRT1_2)));
    return mul(mul(constant(0.5), x), add(constant(1.0), erf));
  }
  case Activation::gelu_tanh: {
    // ½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
    Value cube = mul(mul(x, x), x);
    Value inner = mul(constant(std::sqrt(2.0 / M_PI)),
                      add(x, mul(constant(0.044715), cube)));
    Value t = math::TanhOp::create(b, loc, inner);
    return mul(mul(constant(0.5), x), add(constant(1.0), t));
  }
  case Activation::silu:
    return mul(x, sigmoid(x));
  case Activation::swish:
    return mul(x, sigmoid(mul(constant(spec.beta), x)));
  case Activation::clamped_swiglu:
    llvm_unreachable("clamped_swiglu gates a pair; use gate()");
  }
  llvm_unreachable("unknown activation");
}

/// act(g)·u, or GPT-OSS's clamped SwiGLU
/// g' = min(g, L), u' = clamp(u, -L, L), g'·σ(α·g')·(u' + 1).
Value ScalarBuilder::gate(const ActivationSpec &spec, Value g, Value u) {
  if (spec.kind != Activation::clamped_swiglu)
    return mul(activation(spec, g), u);
  Value limit = constant(spec.limit);
  Value gc = min(g, limit);
  Value uc = min(max(u, constant(-spec.limit)), limit);
  Value glu = mul(gc, sigmoid(mul(constant(spec.alpha), gc)));
  return mul(glu, add(uc, constant(1.0)));
}

Value ScalarBuilder::convertTo(Value x, Type to) {
  Type from = x.getType();
  if (from == to)
    return x;
  if (from.getIntOrFloatBitWidth() < to.getIntOrFloatBitWidth())
    return arith::ExtFOp::create(b, loc, to, x);
  return arith::TruncFOp::create(b, loc, to, x);
}

//===----------------------------------------------------------------------===//
// Tensor-level helpers
//===----------------------------------------------------------------------===//

/// Collapses `x: [B..., D]` into `[M, D]` (M = ∏B, or 1 with no batch dims).
Value flattenTokens(OpBuilder &b, Location loc, Value x) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  if (rank == 2)
    return x;
  if (rank == 1) {
    auto expanded = RankedTensorType::get({1, type.getDimSize(0)},
                                          type.getElementType());
    return tensor::ExpandShapeOp::create(
        b, loc, expanded, x, ArrayRef<ReassociationIndices>{{0, 1}},
        {b.getIndexAttr(1), tensor::getMixedSize(b, loc, x, 0)});
  }
  ReassociationIndices batch;
  for (int64_t i = 0; i < rank - 1; ++i)
    batch.push_back(i);
  return tensor::CollapseShapeOp::create(
      b, loc, x, ArrayRef<ReassociationIndices>{batch, {rank - 1}});
}

/// Restores the batch dims of `original` on `y: [M, N]` and casts to
/// `resultType` (which may be more static than what was computed).
Value unflattenTokens(OpBuilder &b, Location loc, Value y, Value original,
                      RankedTensorType resultType) {
  auto yType = cast<RankedTensorType>(y.getType());
  auto originalType = cast<RankedTensorType>(original.getType());
  int64_t rank = originalType.getRank();
  Value restored = y;
  if (rank == 1) {
    restored = tensor::CollapseShapeOp::create(
        b, loc, y, ArrayRef<ReassociationIndices>{{0, 1}});
  } else if (rank > 2) {
    SmallVector<int64_t> shape(originalType.getShape().drop_back());
    shape.push_back(yType.getDimSize(1));
    auto expandedType = RankedTensorType::get(shape, yType.getElementType());
    SmallVector<OpFoldResult> sizes;
    for (int64_t i = 0; i < rank - 1; ++i)
      sizes.push_back(tensor::getMixedSize(b, loc, original, i));
    sizes.push_back(tensor::getMixedSize(b, loc, y, 1));
    // (Several dynamic batch dims make an expand_shape that LLVM 22 cannot
    // lower; the reference pipeline turns it into tensor.reshape first.)
    ReassociationIndices batch;
    for (int64_t i = 0; i < rank - 1; ++i)
      batch.push_back(i);
    restored = tensor::ExpandShapeOp::create(
        b, loc, expandedType, y,
        ArrayRef<ReassociationIndices>{batch, {rank - 1}}, sizes);
  }
  if (restored.getType() != resultType)
    restored = tensor::CastOp::create(b, loc, resultType, restored);
  return restored;
}

/// A zero-filled `[rows, cols]` tensor of `type`.
Value zeros(OpBuilder &b, Location loc, OpFoldResult rows, OpFoldResult cols,
            FloatType type) {
  Value empty = tensor::EmptyOp::create(b, loc, {rows, cols}, type);
  Value zero = arith::ConstantOp::create(b, loc, type, b.getFloatAttr(type, 0));
  return linalg::FillOp::create(b, loc, zero, empty).getResult(0);
}

Value project(OpBuilder &b, Location loc, Value a, Value w, Layout layout,
              FloatType accType, Value init) {
  if (!init)
    init = zeros(b, loc, tensor::getMixedSize(b, loc, a, 0),
                 tensor::getMixedSize(b, loc, w, outputDim(layout)), accType);
  MLIRContext *ctx = b.getContext();
  AffineExpr m, n, k;
  bindDims(ctx, m, n, k);
  auto map = [&](ArrayRef<AffineExpr> results) {
    return AffineMap::get(3, 0, results, ctx);
  };
  AffineMap wMap = layout == Layout::out_in ? map({n, k}) : map({k, n});
  ArrayAttr maps = b.getAffineMapArrayAttr({map({m, k}), wMap, map({m, n})});
  auto matmul = linalg::MatmulOp::create(
      b, loc, TypeRange{init.getType()}, ValueRange{a, w}, ValueRange{init},
      ArrayRef<NamedAttribute>{b.getNamedAttr("indexing_maps", maps)});
  return matmul.getResult(0);
}

/// `tensor.extract_slice` of `t` along `dim` only: `size` elements from
/// `offset` with `stride`.
static Value sliceAlong(OpBuilder &b, Location loc, Value t, int64_t dim,
                        OpFoldResult offset, OpFoldResult size,
                        int64_t stride) {
  auto type = cast<RankedTensorType>(t.getType());
  SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0));
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, t);
  SmallVector<OpFoldResult> strides(type.getRank(), b.getIndexAttr(1));
  offsets[dim] = offset;
  sizes[dim] = size;
  strides[dim] = b.getIndexAttr(stride);
  return tensor::ExtractSliceOp::create(b, loc, t, offsets, sizes, strides);
}

//===----------------------------------------------------------------------===//
// Derivatives (the training ops; scalars or vectors)
//===----------------------------------------------------------------------===//

/// act'(x) for an activation of one value (not clamped_swiglu).
Value activationDerivative(OpBuilder &b, Location loc, ScalarBuilder &s,
                           const ActivationSpec &spec, Value x) {
  Value one = s.constant(1.0);
  auto swishDerivative = [&](double beta) {
    // d/dx x·σ(βx) = σ(βx)·(1 + βx·(1 - σ(βx)))
    Value bx = s.mul(s.constant(beta), x);
    Value sig = s.sigmoid(bx);
    Value oneMinus = arith::SubFOp::create(b, loc, one, sig);
    return s.mul(sig, s.add(one, s.mul(bx, oneMinus)));
  };
  switch (spec.kind) {
  case Activation::sigmoid: {
    Value sig = s.sigmoid(x);
    return s.mul(sig, arith::SubFOp::create(b, loc, one, sig));
  }
  case Activation::identity:
    return one;
  case Activation::relu: {
    Value positive = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, x,
                                           s.constant(0.0));
    return arith::SelectOp::create(b, loc, positive, one, s.constant(0.0));
  }
  case Activation::gelu_erf: {
    // Φ(x) + x·φ(x), φ(x) = exp(-x²/2)/√(2π)
    Value erf = math::ErfOp::create(b, loc, s.mul(x, s.constant(M_SQRT1_2)));
    Value cdf = s.mul(s.constant(0.5), s.add(one, erf));
    Value pdf = s.mul(
        s.constant(0.5 * M_2_SQRTPI * M_SQRT1_2),
        math::ExpOp::create(b, loc, s.mul(s.constant(-0.5), s.mul(x, x))));
    return s.add(cdf, s.mul(x, pdf));
  }
  case Activation::gelu_tanh: {
    // t = tanh(k(x + c·x³)): ½(1 + t) + ½x(1 - t²)·k(1 + 3c·x²)
    double k = std::sqrt(2.0 / M_PI), c = 0.044715;
    Value x2 = s.mul(x, x);
    Value inner =
        s.mul(s.constant(k), s.add(x, s.mul(s.constant(c), s.mul(x2, x))));
    Value t = math::TanhOp::create(b, loc, inner);
    Value dInner =
        s.mul(s.constant(k), s.add(one, s.mul(s.constant(3 * c), x2)));
    Value sech2 = arith::SubFOp::create(b, loc, one, s.mul(t, t));
    return s.add(s.mul(s.constant(0.5), s.add(one, t)),
                 s.mul(s.mul(s.constant(0.5), x), s.mul(sech2, dInner)));
  }
  case Activation::silu:
    return swishDerivative(1.0);
  case Activation::swish:
    return swishDerivative(spec.beta);
  case Activation::clamped_swiglu:
    llvm_unreachable("clamped_swiglu gates a pair");
  }
  llvm_unreachable("unknown activation");
}


GatingValues gatingWithDerivatives(OpBuilder &b, Location loc, ScalarBuilder &s,
                                   const ActivationSpec &spec, Value g,
                                   Value u) {
  if (spec.kind != Activation::clamped_swiglu) {
    Value a = s.activation(spec, g);
    return {s.mul(a, u), s.mul(activationDerivative(b, loc, s, spec, g), u), a};
  }
  // h = g'·σ(αg')·(u' + 1), g' = min(g, L), u' = clamp(u, -L, L); the
  // clamps pass the gradient on the closed interval, as torch.clamp does.
  Value limit = s.constant(spec.limit), one = s.constant(1.0);
  Value zero = s.constant(0.0);
  Value gc = s.min(g, limit);
  Value uc = s.min(s.max(u, s.constant(-spec.limit)), limit);
  ActivationSpec swish{Activation::swish, spec.alpha, spec.alpha, spec.limit};
  Value glu = s.activation(swish, gc);
  Value dglu = activationDerivative(b, loc, s, swish, gc);
  Value up = s.add(uc, one);
  Value gIn =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLE, g, limit);
  Value uIn = arith::AndIOp::create(
      b, loc,
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGE, u,
                            s.constant(-spec.limit)),
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLE, u, limit));
  Value dg = arith::SelectOp::create(b, loc, gIn, s.mul(dglu, up), zero);
  Value du = arith::SelectOp::create(b, loc, uIn, glu, zero);
  return {s.mul(glu, up), dg, du};
}

OpFoldResult tileSize(OpBuilder &b, Location loc, Value iv, OpFoldResult total,
                      int64_t tile) {
  std::optional<int64_t> staticTotal = getConstantIntValue(total);
  if (staticTotal && *staticTotal <= tile)
    return b.getIndexAttr(*staticTotal); // a single tile
  if (staticTotal && *staticTotal % tile == 0)
    return b.getIndexAttr(tile);
  AffineExpr d0, s0;
  bindDims(b.getContext(), d0);
  bindSymbols(b.getContext(), s0);
  AffineMap map = AffineMap::get(1, 1, {b.getAffineConstantExpr(tile), s0 - d0},
                                 b.getContext());
  return affine::makeComposedFoldedAffineMin(b, loc, map, {iv, total});
}

Value sliceFeatures(OpBuilder &b, Location loc, Value t, int64_t dim,
                    std::optional<FeatureRange> range) {
  if (!range)
    return t;
  return sliceAlong(b, loc, t, dim, range->offset, range->size, 1);
}

Value sliceMergedFeatures(OpBuilder &b, Location loc, Value merged,
                          int64_t dim, Packing packing, int64_t part,
                          std::optional<FeatureRange> range) {
  AffineExpr s0, s1;
  bindSymbols(b.getContext(), s0, s1);
  auto apply = [&](AffineExpr e, ArrayRef<OpFoldResult> operands) {
    return affine::makeComposedFoldedAffineApply(b, loc, e, operands);
  };
  OpFoldResult total = tensor::getMixedSize(b, loc, merged, dim);
  OpFoldResult half = apply(s0.floorDiv(2), {total});
  OpFoldResult offset = range ? range->offset : b.getIndexAttr(0);
  OpFoldResult size = range ? range->size : half;
  if (packing == Packing::interleaved)
    return sliceAlong(b, loc, merged, dim, apply(s0 * 2 + part, {offset}),
                      size, 2);
  OpFoldResult start = part == 0 ? offset : apply(s0 + s1, {half, offset});
  return sliceAlong(b, loc, merged, dim, start, size, 1);
}

Value elementwise2D(OpBuilder &b, Location loc, ArrayRef<Value> matrices,
                    ArrayRef<Value> vectors, FloatType computeType,
                    FloatType resultType, ElementwiseBody body) {
  MLIRContext *ctx = b.getContext();
  AffineMap identity = AffineMap::getMultiDimIdentityMap(2, ctx);
  AffineMap row = AffineMap::get(2, 0, {getAffineDimExpr(1, ctx)}, ctx);
  SmallVector<Value> inputs(matrices);
  SmallVector<AffineMap> maps(matrices.size(), identity);
  SmallVector<bool> present;
  for (Value v : vectors) {
    present.push_back(static_cast<bool>(v));
    if (v) {
      inputs.push_back(v);
      maps.push_back(row);
    }
  }
  maps.push_back(identity);
  Value init = tensor::EmptyOp::create(
      b, loc,
      {tensor::getMixedSize(b, loc, matrices[0], 0),
       tensor::getMixedSize(b, loc, matrices[0], 1)},
      resultType);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, inputs, ValueRange{init}, maps,
      {utils::IteratorType::parallel, utils::IteratorType::parallel},
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        ScalarBuilder s(nb, nloc, computeType);
        SmallVector<Value> matrixValues, vectorValues;
        for (size_t i = 0; i < matrices.size(); ++i)
          matrixValues.push_back(s.convert(args[i]));
        size_t next = matrices.size();
        for (bool isPresent : present)
          vectorValues.push_back(isPresent ? s.convert(args[next++]) : Value());
        Value result = s.convertTo(body(s, matrixValues, vectorValues),
                                   resultType);
        linalg::YieldOp::create(nb, nloc, result);
      });
  return generic.getResult(0);
}

/// `x + bias` if there is a bias, `x` otherwise.
static Value addBias(ScalarBuilder &s, Value x, Value bias) {
  return bias ? s.add(x, bias) : x;
}

/// `act(g + bg) ⊙ (u + bu)` over `[M, F]`, in `accType`, stored as
/// `resultType`.
Value gatedHidden(OpBuilder &b, Location loc, const ActivationSpec &spec,
                  Value g, Value u, Value gateBias, Value upBias,
                  FloatType accType, FloatType resultType) {
  return elementwise2D(
      b, loc, {g, u}, {gateBias, upBias}, accType, resultType,
      [&](ScalarBuilder &s, ArrayRef<Value> m, ArrayRef<Value> v) {
        return s.gate(spec, addBias(s, m[0], v[0]), addBias(s, m[1], v[1]));
      });
}

/// `y + bias`, rounded to `resultType`.
Value biasAndRound(OpBuilder &b, Location loc, Value y, Value bias,
                   FloatType accType, FloatType resultType) {
  return elementwise2D(
      b, loc, {y}, {bias}, accType, resultType,
      [&](ScalarBuilder &s, ArrayRef<Value> m, ArrayRef<Value> v) {
        return addBias(s, m[0], v[0]);
      });
}

FloatType elementTypeOf(Value v) {
  return cast<FloatType>(cast<ShapedType>(v.getType()).getElementType());
}

Value activatedHidden(OpBuilder &b, Location loc, const ActivationSpec &spec,
                      Value pre, Value bias, FloatType accType) {
  return elementwise2D(
      b, loc, {pre}, {bias}, accType, accType,
      [&](ScalarBuilder &s, ArrayRef<Value> m, ArrayRef<Value> v) {
        return s.activation(spec, addBias(s, m[0], v[0]));
      });
}

GateUpWeights GateUpWeights::of(FFNOp op) {
  GateUpWeights w;
  w.gate = op.getGateWeight();
  w.up = op.getUpWeight();
  w.gateBias = op.getGateBias();
  w.upBias = op.getUpBias();
  w.merged = op.getGateUpWeight();
  w.mergedBias = op.getGateUpBias();
  w.packing = op.getPackingOrDefault();
  return w;
}

GateUpWeights GateUpWeights::of(GateUpOp op) {
  GateUpWeights w;
  w.merged = op.getGateUpWeight();
  w.mergedBias = op.getGateUpBias();
  w.packing = op.getPackingOrDefault();
  return w;
}

GateUpValues projectGateUp(OpBuilder &b, Location loc, Value x2,
                           const GateUpWeights &weights, Layout layout,
                           FloatType accType,
                           std::optional<FeatureRange> range) {
  int64_t outDim = outputDim(layout);
  GateUpValues r;
  Value gateWeight, upWeight;
  if (weights.merged) {
    gateWeight = sliceMergedFeatures(b, loc, weights.merged, outDim,
                                     weights.packing, 0, range);
    upWeight = sliceMergedFeatures(b, loc, weights.merged, outDim,
                                   weights.packing, 1, range);
    if (weights.mergedBias) {
      r.gateBias = sliceMergedFeatures(b, loc, weights.mergedBias, 0,
                                       weights.packing, 0, range);
      r.upBias = sliceMergedFeatures(b, loc, weights.mergedBias, 0,
                                     weights.packing, 1, range);
    }
  } else {
    gateWeight = sliceFeatures(b, loc, weights.gate, outDim, range);
    upWeight = sliceFeatures(b, loc, weights.up, outDim, range);
    if (weights.gateBias)
      r.gateBias = sliceFeatures(b, loc, weights.gateBias, 0, range);
    if (weights.upBias)
      r.upBias = sliceFeatures(b, loc, weights.upBias, 0, range);
  }
  r.gate = project(b, loc, x2, gateWeight, layout, accType);
  r.up = project(b, loc, x2, upWeight, layout, accType);
  return r;
}

Value blockHidden(OpBuilder &b, Location loc, FFNOp op, Value x2,
                  std::optional<FeatureRange> range) {
  FloatType accType = op.getAccumulatorType();
  GateUpValues gu = projectGateUp(b, loc, x2, GateUpWeights::of(op),
                                  op.getLayout(), accType, range);
  // The hidden stays in acc_type: the block's semantics never round it.
  return gatedHidden(b, loc, ActivationSpec::of(op), gu.gate, gu.up,
                     gu.gateBias, gu.upBias, accType, accType);
}

Value blockHidden(OpBuilder &b, Location loc, MLPOp op, Value x2,
                  std::optional<FeatureRange> range) {
  FloatType accType = op.getAccumulatorType();
  Layout layout = op.getLayout();
  Value w = sliceFeatures(b, loc, op.getUpWeight(), outputDim(layout), range);
  Value bias = op.getUpBias() ? sliceFeatures(b, loc, op.getUpBias(), 0, range)
                              : Value();
  Value pre = project(b, loc, x2, w, layout, accType);
  return activatedHidden(b, loc, ActivationSpec::of(op), pre, bias, accType);
}

/// `v` with f32 elements (an exact extf), or `v` itself.
Value widenToF32(OpBuilder &b, Location loc, Value v) {
  if (!v)
    return v;
  auto type = cast<RankedTensorType>(v.getType());
  Type f32 = b.getF32Type();
  if (type.getElementType() == f32)
    return v;
  int64_t rank = type.getRank();
  Value init = tensor::EmptyOp::create(
      b, loc, tensor::getMixedSizes(b, loc, v), f32);
  AffineMap id = b.getMultiDimIdentityMap(rank);
  return linalg::GenericOp::create(
             b, loc, TypeRange{init.getType()}, ValueRange{v},
             ValueRange{init}, SmallVector<AffineMap>{id, id},
             SmallVector<utils::IteratorType>(rank,
                                              utils::IteratorType::parallel),
             [&](OpBuilder &nb, Location nloc, ValueRange args) {
               linalg::YieldOp::create(
                   nb, nloc,
                   arith::ExtFOp::create(nb, nloc, f32, args[0]).getResult());
             })
      .getResult(0);
}

Value sliceStacked(OpBuilder &b, Location loc, Value t, OpFoldResult index) {
  if (!t)
    return t;
  auto type = cast<RankedTensorType>(t.getType());
  int64_t rank = type.getRank();
  SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0)),
      strides(rank, b.getIndexAttr(1)), sizes{b.getIndexAttr(1)};
  offsets[0] = index;
  for (int64_t d = 1; d < rank; ++d)
    sizes.push_back(tensor::getMixedSize(b, loc, t, d));
  auto to = RankedTensorType::get(type.getShape().drop_front(),
                                  type.getElementType());
  return tensor::ExtractSliceOp::create(b, loc, to, t, offsets, sizes,
                                        strides);
}

/// The raw row-major bytes of a constant tensor, or failure if the attribute
/// kind is not one we can read (splats are expanded).
FailureOr<std::vector<char>> rawBytes(ElementsAttr attr) {
  auto type = cast<ShapedType>(attr.getType());
  size_t elementBytes = type.getElementTypeBitWidth() / 8;
  size_t count = type.getNumElements();
  if (auto dense = dyn_cast<DenseElementsAttr>(attr)) {
    ArrayRef<char> data = dense.getRawData();
    if (!dense.isSplat())
      return std::vector<char>(data.begin(), data.end());
    std::vector<char> out(count * elementBytes);
    for (size_t i = 0; i < count; ++i)
      std::copy(data.begin(), data.begin() + elementBytes,
                out.begin() + i * elementBytes);
    return out;
  }
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(attr)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob || blob->getData().size() != count * elementBytes)
      return failure();
    ArrayRef<char> data = blob->getData();
    return std::vector<char>(data.begin(), data.end());
  }
  return failure();
}


SmallVector<Value> forLoop(OpBuilder &b, Location loc, Value lb, Value ub,
                           ValueRange init, LoopBody body) {
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  auto op = scf::ForOp::create(
      b, loc, lb, ub, one, init,
      [&](OpBuilder &nb, Location, Value i, ValueRange state) {
        scf::YieldOp::create(nb, loc, body(nb, i, state));
      });
  return SmallVector<Value>(op.getResults());
}

} // namespace mlir::glu
