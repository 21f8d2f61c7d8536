//===- GradToLinalg.cpp - Reference lowering of the training ops ----------===//
//
// glu.ffn_grad, glu.mlp_grad and glu.dropout to linalg/arith/math/tensor,
// written from the formulas (docs/training.md) with the builders of the
// forward's reference lowering (Builders.h), so the recomputed hidden is
// the forward's arithmetic:
//
//   1. x and dy collapsed to [M, D] and [M, D_out];
//   2. the pre-activations g, u (x·W1 for glu.mlp) recomputed as the
//      forward computes them, and dh = dy·Wdᵀ, all in acc_type;
//   3. one elementwise linalg.generic with three results: the dropped-out
//      hidden (for dWd) and the gradients of the two pre-activations (one
//      for glu.mlp), the dropout mask recomputed from Philox4x32-10;
//   4. the weight gradients and dx, and the bias gradients as column sums,
//      each rounded once.
// With round-hidden (bf16 blocks: PyTorch's bf16 autograd), the results of
// 3. are rounded to bf16 before 4. reads them.
// The GEMMs are in GradGemm.cpp: linalg.generics that the generic path
// (loops, LLVM's vectorizer, OpenMP) runs several times faster than a
// linalg.matmul.
//===----------------------------------------------------------------------===//

#include "glu/Conversion/Passes.h"
#include "glu/Dialect/GLU/IR/GLU.h"
#include "glu/Dialect/GLU/Utils/Builders.h"

#include "GradGemm.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"

#include <cmath>

using namespace mlir;
using namespace mlir::glu;
using namespace mlir::glu::grad;

namespace {

//===----------------------------------------------------------------------===//
// Philox4x32-10 and the dropout mask
//===----------------------------------------------------------------------===//

// Salmon et al., "Parallel random numbers: as easy as 1, 2, 3" (SC 2011);
// the constants of Random123 and of PyTorch's CUDA generator (curand).
constexpr uint32_t kPhiloxM0 = 0xD2511F53u, kPhiloxM1 = 0xCD9E8D57u;
constexpr uint32_t kPhiloxW0 = 0x9E3779B9u, kPhiloxW1 = 0xBB67AE85u;

/// The dropout of one op: the seed (an i64 scalar) and p.
struct DropoutSpec {
  Value seed; // null: no dropout
  float p = 0.0f;

  /// Elements whose Philox word is below this are dropped.
  uint32_t threshold() const {
    return static_cast<uint32_t>(
        std::floor(static_cast<double>(p) * 4294967296.0));
  }
  /// The scale of the kept elements, 1/(1-p) rounded to f32.
  float scale() const {
    return static_cast<float>(1.0 / (1.0 - static_cast<double>(p)));
  }
};

/// The first word of Philox4x32-10 for the counter (lo32(index),
/// hi32(index), 0, 0) and the key (lo32(seed), hi32(seed)), on i64 `index`
/// and `seed`.
Value philoxWord(OpBuilder &b, Location loc, Value index, Value seed) {
  Type i32 = b.getI32Type(), i64 = b.getI64Type();
  auto c32 = [&](uint32_t v) -> Value {
    return arith::ConstantOp::create(
        b, loc, i32, b.getI32IntegerAttr(static_cast<int32_t>(v)));
  };
  Value shift = arith::ConstantOp::create(b, loc, i64, b.getI64IntegerAttr(32));
  auto lo = [&](Value v) -> Value {
    return arith::TruncIOp::create(b, loc, i32, v);
  };
  auto hi = [&](Value v) -> Value {
    return arith::TruncIOp::create(b, loc, i32,
                                   arith::ShRUIOp::create(b, loc, v, shift));
  };
  auto xor3 = [&](Value x, Value y, Value z) -> Value {
    return arith::XOrIOp::create(b, loc, arith::XOrIOp::create(b, loc, x, y),
                                 z);
  };
  Value c0 = lo(index), c1 = hi(index), c2 = c32(0), c3 = c32(0);
  Value k0 = lo(seed), k1 = hi(seed);
  Value m0 = c32(kPhiloxM0), m1 = c32(kPhiloxM1);
  for (int round = 0; round < 10; ++round) {
    auto p0 = arith::MulUIExtendedOp::create(b, loc, m0, c0);
    auto p1 = arith::MulUIExtendedOp::create(b, loc, m1, c2);
    Value n0 = xor3(p1.getHigh(), c1, k0);
    Value n1 = p1.getLow();
    Value n2 = xor3(p0.getHigh(), c3, k1);
    Value n3 = p0.getLow();
    c0 = n0, c1 = n1, c2 = n2, c3 = n3;
    if (round < 9) {
      k0 = arith::AddIOp::create(b, loc, k0, c32(kPhiloxW0));
      k1 = arith::AddIOp::create(b, loc, k1, c32(kPhiloxW1));
    }
  }
  return c0;
}

/// The dropout factor of element `index` (i64): 1/(1-p) if kept, else 0,
/// in the builder's float type.
Value dropoutFactor(OpBuilder &b, Location loc, ScalarBuilder &s,
                    const DropoutSpec &dropout, Value index) {
  Value word = philoxWord(b, loc, index, dropout.seed);
  Value threshold = arith::ConstantOp::create(
      b, loc, b.getI32Type(),
      b.getI32IntegerAttr(static_cast<int32_t>(dropout.threshold())));
  Value keep =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge, word, threshold);
  return arith::SelectOp::create(b, loc, keep, s.constant(dropout.scale()),
                                 s.constant(0.0));
}

/// The row-major linear index (i64) of the current element of a
/// linalg.generic over a tensor shaped like `shape` (its sizes as values).
Value linearIndex(OpBuilder &b, Location loc, ArrayRef<Value> sizes) {
  Type i64 = b.getI64Type();
  Value index;
  for (auto [dim, size] : llvm::enumerate(sizes)) {
    Value i = arith::IndexCastOp::create(b, loc, i64,
                                         linalg::IndexOp::create(b, loc, dim));
    if (!index) {
      index = i;
      continue;
    }
    Value n = arith::IndexCastOp::create(b, loc, i64, size);
    index = arith::AddIOp::create(b, loc,
                                  arith::MulIOp::create(b, loc, index, n), i);
  }
  return index;
}

/// The seed of an op's dropout (a 0-d i64 tensor) read as a scalar.
DropoutSpec dropoutOf(OpBuilder &b, Location loc, Value seedTensor, float p) {
  DropoutSpec d;
  if (!seedTensor || p == 0.0f)
    return d;
  d.seed = tensor::ExtractOp::create(b, loc, seedTensor, ValueRange{});
  d.p = p;
  return d;
}

//===----------------------------------------------------------------------===//
// Tensor helpers
//===----------------------------------------------------------------------===//

/// The sum over rows of `t: [M, N]`: `[N]` in `accType`.
Value columnSum(OpBuilder &b, Location loc, Value t, FloatType accType) {
  Value empty = tensor::EmptyOp::create(
      b, loc, {tensor::getMixedSize(b, loc, t, 1)}, accType);
  Value zero =
      arith::ConstantOp::create(b, loc, accType, b.getFloatAttr(accType, 0));
  Value init = linalg::FillOp::create(b, loc, zero, empty).getResult(0);
  MLIRContext *ctx = b.getContext();
  AffineMap identity = AffineMap::getMultiDimIdentityMap(2, ctx);
  AffineMap column = AffineMap::get(2, 0, {getAffineDimExpr(1, ctx)}, ctx);
  return linalg::GenericOp::create(
             b, loc, TypeRange{init.getType()}, ValueRange{t}, ValueRange{init},
             ArrayRef<AffineMap>{identity, column},
             {utils::IteratorType::reduction, utils::IteratorType::parallel},
             [&](OpBuilder &nb, Location nloc, ValueRange args) {
               ScalarBuilder s(nb, nloc, accType);
               linalg::YieldOp::create(nb, nloc,
                                       s.add(s.convert(args[0]), args[1]));
             })
      .getResult(0);
}

/// `v` (any rank, acc_type) rounded to the element type of `type` and cast
/// to `type`.
Value roundTo(OpBuilder &b, Location loc, Value v, RankedTensorType type) {
  auto vType = cast<RankedTensorType>(v.getType());
  Type element = type.getElementType();
  if (vType.getElementType() != element) {
    int64_t rank = vType.getRank();
    AffineMap identity =
        AffineMap::getMultiDimIdentityMap(rank, b.getContext());
    Value init = tensor::EmptyOp::create(
        b, loc, tensor::getMixedSizes(b, loc, v), element);
    v = linalg::GenericOp::create(
            b, loc, TypeRange{init.getType()}, ValueRange{v}, ValueRange{init},
            SmallVector<AffineMap>(2, identity),
            SmallVector<utils::IteratorType>(rank,
                                             utils::IteratorType::parallel),
            [&](OpBuilder &nb, Location nloc, ValueRange args) {
              ScalarBuilder s(nb, nloc, cast<FloatType>(element));
              linalg::YieldOp::create(nb, nloc, s.convert(args[0]));
            })
            .getResult(0);
  }
  if (v.getType() != type)
    v = tensor::CastOp::create(b, loc, type, v);
  return v;
}

/// `v` (`[M, N]`) with its elements rounded to `element` (to nearest even;
/// `v` itself when null or already of that type).
Value roundElements(OpBuilder &b, Location loc, Value v, Type element) {
  auto vType = cast<RankedTensorType>(v.getType());
  if (!element || vType.getElementType() == element)
    return v;
  return roundTo(b, loc, v, vType.clone(element));
}

/// The element type that round-hidden rounds the hidden, dg and du of an op
/// with input `x` to: bf16 for a bf16 block, else none (null).
Type roundedType(bool roundHidden, Value x) {
  Type element = cast<ShapedType>(x.getType()).getElementType();
  return roundHidden && element.isBF16() ? element : Type();
}

/// The elementwise part of the backward over `[M, F]`: from the recomputed
/// pre-activations (before their biases), the biases (null when absent) and
/// dh, the dropped-out hidden and the gradients of the pre-activations, all
/// in `accType`. `u`/`upBias` are null for glu.mlp (then `dg` is the only
/// gradient).
struct ElementwiseGrads {
  Value hidden, dg, du;
};

ElementwiseGrads elementwiseBackward(OpBuilder &b, Location loc,
                                     const ActivationSpec &spec, Value g,
                                     Value u, Value gateBias, Value upBias,
                                     Value dh, const DropoutSpec &dropout,
                                     FloatType accType) {
  MLIRContext *ctx = b.getContext();
  bool gated = static_cast<bool>(u);
  AffineMap identity = AffineMap::getMultiDimIdentityMap(2, ctx);
  AffineMap row = AffineMap::get(2, 0, {getAffineDimExpr(1, ctx)}, ctx);
  SmallVector<Value> inputs{g, dh};
  SmallVector<AffineMap> maps{identity, identity};
  if (gated) {
    inputs.push_back(u);
    maps.push_back(identity);
  }
  for (Value bias : {gateBias, upBias})
    if (bias) {
      inputs.push_back(bias);
      maps.push_back(row);
    }
  OpFoldResult rows = tensor::getMixedSize(b, loc, g, 0);
  OpFoldResult cols = tensor::getMixedSize(b, loc, g, 1);
  int numResults = gated ? 3 : 2;
  SmallVector<Value> inits;
  for (int i = 0; i < numResults; ++i) {
    inits.push_back(tensor::EmptyOp::create(b, loc, {rows, cols}, accType));
    maps.push_back(identity);
  }
  SmallVector<Value> sizes{getValueOrCreateConstantIndexOp(b, loc, rows),
                           getValueOrCreateConstantIndexOp(b, loc, cols)};
  auto generic = linalg::GenericOp::create(
      b, loc, ValueRange(inits).getTypes(), inputs, inits, maps,
      {utils::IteratorType::parallel, utils::IteratorType::parallel},
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        ScalarBuilder s(nb, nloc, accType);
        unsigned next = gated ? 3 : 2;
        Value gv = s.convert(args[0]), dhv = s.convert(args[1]);
        Value uv = gated ? s.convert(args[2]) : Value();
        if (gateBias)
          gv = s.add(gv, s.convert(args[next++]));
        if (upBias)
          uv = s.add(uv, s.convert(args[next++]));
        Value factor;
        if (dropout.seed) {
          factor =
              dropoutFactor(nb, nloc, s, dropout, linearIndex(nb, nloc, sizes));
          dhv = s.mul(dhv, factor);
        }
        SmallVector<Value> results;
        if (gated) {
          GatingValues gv2 = gatingWithDerivatives(nb, nloc, s, spec, gv, uv);
          Value h = factor ? s.mul(gv2.h, factor) : gv2.h;
          results = {h, s.mul(dhv, gv2.dg), s.mul(dhv, gv2.du)};
        } else {
          Value h = s.activation(spec, gv);
          if (factor)
            h = s.mul(h, factor);
          results = {h,
                     s.mul(dhv, activationDerivative(nb, nloc, s, spec, gv))};
        }
        linalg::YieldOp::create(nb, nloc, results);
      });
  ElementwiseGrads r;
  r.hidden = generic.getResult(0);
  r.dg = generic.getResult(1);
  if (gated)
    r.du = generic.getResult(2);
  return r;
}

/// `[M, 2F]` holding `dg` and `du` as a merged gate/up tensor with `packing`
/// orders them (in their element type).
Value mergeGateUp(OpBuilder &b, Location loc, Value dg, Value du,
                  Packing packing) {
  Type element = cast<ShapedType>(dg.getType()).getElementType();
  OpFoldResult rows = tensor::getMixedSize(b, loc, dg, 0);
  OpFoldResult f = tensor::getMixedSize(b, loc, dg, 1);
  AffineExpr s0;
  bindSymbols(b.getContext(), s0);
  OpFoldResult twoF =
      affine::makeComposedFoldedAffineApply(b, loc, s0 * 2, {f});
  Value merged = tensor::EmptyOp::create(b, loc, {rows, twoF}, element);
  bool interleaved = packing == Packing::interleaved;
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
  OpFoldResult stride = b.getIndexAttr(interleaved ? 2 : 1);
  OpFoldResult upOffset = interleaved ? one : f;
  merged = tensor::InsertSliceOp::create(b, loc, dg, merged, {zero, zero},
                                         {rows, f}, {one, stride});
  return tensor::InsertSliceOp::create(b, loc, du, merged, {zero, upOffset},
                                       {rows, f}, {one, stride});
}

/// The gate and up pre-activations (before their biases) of `x2: [M, D]`,
/// as projectGateUp computes them, with the GEMMs above.
GateUpValues recomputeGateUp(const GradGemmBuilder &gemm, OpBuilder &b,
                             Location loc, Value x2,
                             const GateUpWeights &w, Layout layout,
                             FloatType accType) {
  GateUpValues r;
  Value gate = w.gate, up = w.up;
  r.gateBias = w.gateBias;
  r.upBias = w.upBias;
  if (w.merged) {
    int64_t dim = outputDim(layout);
    gate = sliceMergedFeatures(b, loc, w.merged, dim, w.packing, 0, {});
    up = sliceMergedFeatures(b, loc, w.merged, dim, w.packing, 1, {});
    if (w.mergedBias) {
      r.gateBias =
          sliceMergedFeatures(b, loc, w.mergedBias, 0, w.packing, 0, {});
      r.upBias = sliceMergedFeatures(b, loc, w.mergedBias, 0, w.packing, 1, {});
    }
  }
  r.gate = projectForward(gemm, b, loc, x2, gate, layout, accType);
  r.up = projectForward(gemm, b, loc, x2, up, layout, accType);
  return r;
}

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

/// The element type of `op`'s result `i`: what the GEMM computing it may
/// round to itself (GradGemmBuilder's `store`).
Type resultElement(Operation *op, unsigned i) {
  return cast<ShapedType>(op->getResult(i).getType()).getElementType();
}

/// Replaces `op` by `grads` (in acc_type or already in their results'
/// element types, in result order), each rounded to its result's type; the
/// first (dx, [M, D]) gets the input's batch dims.
void replaceWithGradients(PatternRewriter &rewriter, Operation *op, Value input,
                          ArrayRef<Value> grads) {
  Location loc = op->getLoc();
  SmallVector<Value> results;
  for (auto [i, grad] : llvm::enumerate(grads)) {
    auto type = cast<RankedTensorType>(op->getResult(i).getType());
    if (i == 0) {
      auto flatType = RankedTensorType::get(
          cast<RankedTensorType>(grad.getType()).getShape(),
          type.getElementType());
      Value rounded = roundTo(rewriter, loc, grad, flatType);
      results.push_back(unflattenTokens(rewriter, loc, rounded, input, type));
      continue;
    }
    results.push_back(roundTo(rewriter, loc, grad, type));
  }
  rewriter.replaceOp(op, results);
}

struct FFNGradLowering : OpRewritePattern<FFNGradOp> {
  FFNGradLowering(MLIRContext *ctx, GradGemmBuilder gemm,
                  GradFusedBackward fused, bool roundHidden)
      : OpRewritePattern(ctx), gemm(std::move(gemm)), fused(std::move(fused)),
        roundHidden(roundHidden) {}
  GradGemmBuilder gemm;
  GradFusedBackward fused;
  bool roundHidden;

  LogicalResult matchAndRewrite(FFNGradOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    FloatType accType = op.getAccumulatorType();
    Layout layout = op.getLayout();
    Value x2 = flattenTokens(rewriter, loc, op.getInput());
    Value dy2 = flattenTokens(rewriter, loc, op.getGradOutput());
    GateUpWeights weights;
    weights.gate = op.getGateWeight();
    weights.up = op.getUpWeight();
    weights.gateBias = op.getGateBias();
    weights.upBias = op.getUpBias();
    weights.merged = op.getGateUpWeight();
    weights.mergedBias = op.getGateUpBias();
    weights.packing = op.getPackingOrDefault();
    // The pre-activations: kept by the forward (biases included), or
    // recomputed from x as the forward computes them.
    GateUpValues gu;
    if (op.getGatePre()) {
      gu.gate = flattenTokens(rewriter, loc, op.getGatePre());
      gu.up = flattenTokens(rewriter, loc, op.getUpPre());
    } else {
      gu = recomputeGateUp(gemm, rewriter, loc, x2, weights, layout, accType);
    }
    bool dropping = op.getSeed() && op.getDropoutOrZero() != 0.0f;
    // round-hidden (bf16 blocks): the hidden, dg and du in bf16 from here.
    Type rounded = roundedType(roundHidden, op.getInput());
    ElementwiseGrads e;
    if (fused && !dropping) {
      GradElementwise f = fused(rewriter, loc, ActivationSpec::of(op), gu.gate,
                                gu.up, gu.gateBias, gu.upBias, dy2,
                                op.getDownWeight(), layout, rounded);
      e = {f.hidden, f.dg, f.du};
    }
    if (!e.dg) {
      Value dh = projectBackward(gemm, rewriter, loc, dy2, op.getDownWeight(),
                                 layout, accType);
      DropoutSpec dropout =
          dropoutOf(rewriter, loc, op.getSeed(), op.getDropoutOrZero());
      e = elementwiseBackward(rewriter, loc, ActivationSpec::of(op), gu.gate,
                              gu.up, gu.gateBias, gu.upBias, dh, dropout,
                              accType);
    }
    e.hidden = roundElements(rewriter, loc, e.hidden, rounded);
    e.dg = roundElements(rewriter, loc, e.dg, rounded);
    e.du = roundElements(rewriter, loc, e.du, rounded);

    SmallVector<Value> grads;
    Value dx, dMerged;
    if (op.isMerged()) {
      dMerged = mergeGateUp(rewriter, loc, e.dg, e.du, weights.packing);
      dx = projectBackward(gemm, rewriter, loc, dMerged, weights.merged,
                           layout, accType, Value(), resultElement(op, 0));
      grads = {dx, weightGradient(gemm, rewriter, loc, x2, dMerged, layout,
                                  accType, resultElement(op, 1))};
    } else {
      dx = projectBackward(gemm, rewriter, loc, e.dg, weights.gate, layout,
                           accType);
      dx = projectBackward(gemm, rewriter, loc, e.du, weights.up, layout,
                           accType, dx, resultElement(op, 0));
      grads = {dx,
               weightGradient(gemm, rewriter, loc, x2, e.dg, layout, accType,
                              resultElement(op, 1)),
               weightGradient(gemm, rewriter, loc, x2, e.du, layout, accType,
                              resultElement(op, 2))};
    }
    grads.push_back(weightGradient(gemm, rewriter, loc, e.hidden, dy2, layout,
                                   accType, resultElement(op, grads.size())));
    if (weights.gateBias)
      grads.push_back(columnSum(rewriter, loc, e.dg, accType));
    if (weights.upBias)
      grads.push_back(columnSum(rewriter, loc, e.du, accType));
    if (weights.mergedBias)
      grads.push_back(columnSum(rewriter, loc, dMerged, accType));
    if (op.getDownBias())
      grads.push_back(columnSum(rewriter, loc, dy2, accType));
    replaceWithGradients(rewriter, op, op.getInput(), grads);
    return success();
  }
};

struct MLPGradLowering : OpRewritePattern<MLPGradOp> {
  MLPGradLowering(MLIRContext *ctx, GradGemmBuilder gemm,
                  GradFusedBackward fused, bool roundHidden)
      : OpRewritePattern(ctx), gemm(std::move(gemm)), fused(std::move(fused)),
        roundHidden(roundHidden) {}
  GradGemmBuilder gemm;
  GradFusedBackward fused;
  bool roundHidden;

  LogicalResult matchAndRewrite(MLPGradOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    FloatType accType = op.getAccumulatorType();
    Layout layout = op.getLayout();
    Value x2 = flattenTokens(rewriter, loc, op.getInput());
    Value dy2 = flattenTokens(rewriter, loc, op.getGradOutput());
    Value pre = op.getUpPre()
                    ? flattenTokens(rewriter, loc, op.getUpPre())
                    : projectForward(gemm, rewriter, loc, x2, op.getUpWeight(),
                                     layout, accType);
    Value preBias = op.getUpPre() ? Value() : op.getUpBias();
    bool dropping = op.getSeed() && op.getDropoutOrZero() != 0.0f;
    Type rounded = roundedType(roundHidden, op.getInput());
    ElementwiseGrads e;
    if (fused && !dropping) {
      GradElementwise f =
          fused(rewriter, loc, ActivationSpec::of(op), pre, Value(), preBias,
                Value(), dy2, op.getDownWeight(), layout, rounded);
      e = {f.hidden, f.dg, f.du};
    }
    if (!e.dg) {
      Value dh = projectBackward(gemm, rewriter, loc, dy2, op.getDownWeight(),
                                 layout, accType);
      DropoutSpec dropout =
          dropoutOf(rewriter, loc, op.getSeed(), op.getDropoutOrZero());
      e = elementwiseBackward(rewriter, loc, ActivationSpec::of(op), pre,
                              Value(), preBias, Value(), dh, dropout, accType);
    }
    e.hidden = roundElements(rewriter, loc, e.hidden, rounded);
    e.dg = roundElements(rewriter, loc, e.dg, rounded);
    SmallVector<Value> grads{
        projectBackward(gemm, rewriter, loc, e.dg, op.getUpWeight(), layout,
                        accType, Value(), resultElement(op, 0)),
        weightGradient(gemm, rewriter, loc, x2, e.dg, layout, accType,
                       resultElement(op, 1)),
        weightGradient(gemm, rewriter, loc, e.hidden, dy2, layout, accType,
                       resultElement(op, 2))};
    if (op.getUpBias())
      grads.push_back(columnSum(rewriter, loc, e.dg, accType));
    if (op.getDownBias())
      grads.push_back(columnSum(rewriter, loc, dy2, accType));
    replaceWithGradients(rewriter, op, op.getInput(), grads);
    return success();
  }
};

struct DropoutLowering : OpRewritePattern<DropoutOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(DropoutOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(op.getResult().getType());
    Value input = op.getInput();
    DropoutSpec dropout =
        dropoutOf(rewriter, loc, op.getSeed(), op.getP().convertToFloat());
    if (!dropout.seed) { // p = 0: the identity
      rewriter.replaceOp(op, input);
      return success();
    }
    int64_t rank = type.getRank();
    SmallVector<Value> sizes;
    for (int64_t i = 0; i < rank; ++i)
      sizes.push_back(getValueOrCreateConstantIndexOp(
          rewriter, loc, tensor::getMixedSize(rewriter, loc, input, i)));
    AffineMap identity =
        AffineMap::getMultiDimIdentityMap(rank, rewriter.getContext());
    Value init = tensor::EmptyOp::create(
        rewriter, loc, tensor::getMixedSizes(rewriter, loc, input),
        type.getElementType());
    // The product is computed in f32 (f64 inputs do not exist: f16/bf16/f32).
    FloatType f32 = rewriter.getF32Type();
    auto generic = linalg::GenericOp::create(
        rewriter, loc, TypeRange{type}, ValueRange{input}, ValueRange{init},
        SmallVector<AffineMap>(2, identity),
        SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
        [&](OpBuilder &b, Location nloc, ValueRange args) {
          ScalarBuilder s(b, nloc, f32);
          Value index =
              rank == 0 ? Value(arith::ConstantOp::create(
                              b, nloc, b.getI64Type(), b.getI64IntegerAttr(0)))
                        : linearIndex(b, nloc, sizes);
          Value y = s.mul(s.convert(args[0]),
                          dropoutFactor(b, nloc, s, dropout, index));
          linalg::YieldOp::create(b, nloc,
                                  s.convertTo(y, type.getElementType()));
        });
    rewriter.replaceOp(op, generic.getResult(0));
    return success();
  }
};

} // namespace

void mlir::glu::populateGradToLinalgPatterns(RewritePatternSet &patterns,
                                             GradGemmBuilder gemm,
                                             GradFusedBackward fused,
                                             bool roundHidden) {
  MLIRContext *ctx = patterns.getContext();
  patterns.add<FFNGradLowering, MLPGradLowering>(ctx, gemm, fused,
                                                 roundHidden);
  patterns.add<DropoutLowering>(ctx);
}

void mlir::glu::populateGradToLinalgPatterns(RewritePatternSet &patterns,
                                             bool roundHidden) {
  populateGradToLinalgPatterns(patterns, grad::gemm, nullptr, roundHidden);
}
