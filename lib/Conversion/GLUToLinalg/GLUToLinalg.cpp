//===- GLUToLinalg.cpp - Lower glu ops to linalg/arith/math/tensor --------===//
//
// The reference semantics of the glu dialect. Every op becomes:
//   1. the input collapsed to 2-D tokens [M, D];
//   2. projections as linalg.matmul accumulating in acc_type, the weight
//      read through `indexing_maps` ([N, K] for out_in, [K, N] for in_out);
//      merged gate/up weights split by tensor.extract_slice first;
//   3. bias, activation and gating as elementwise linalg.generics in
//      acc_type;
//   4. one rounding to the result element type, and the batch dims restored.
// It is deliberately plain: later pipelines are tested against it.
//
//===----------------------------------------------------------------------===//

#include "glu/Conversion/Passes.h"
#include "glu/Dialect/GLU/IR/GLU.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/DialectConversion.h"

#include <cmath>

namespace mlir::glu {
#define GEN_PASS_DEF_CONVERTGLUTOLINALG
#include "glu/Conversion/Passes.h.inc"
} // namespace mlir::glu

using namespace mlir;
using namespace mlir::glu;

namespace {

//===----------------------------------------------------------------------===//
// Scalar activation math, built inside a linalg.generic body
//===----------------------------------------------------------------------===//

/// Parameters of an activation, read once from the op.
struct ActivationSpec {
  Activation kind;
  float beta, alpha, limit;

  template <typename OpTy>
  static ActivationSpec of(OpTy op) {
    return {op.getActivation(), op.getBetaOrDefault(), op.getAlphaOrDefault(),
            op.getLimitOrDefault()};
  }
};

/// Emits scalar math in one float type.
class ScalarBuilder {
public:
  ScalarBuilder(OpBuilder &b, Location loc, FloatType type)
      : b(b), loc(loc), type(type) {}

  Value constant(double value) {
    return arith::ConstantOp::create(b, loc, type, b.getFloatAttr(type, value));
  }
  Value add(Value x, Value y) { return arith::AddFOp::create(b, loc, x, y); }
  Value mul(Value x, Value y) { return arith::MulFOp::create(b, loc, x, y); }
  Value div(Value x, Value y) { return arith::DivFOp::create(b, loc, x, y); }
  /// NaN-propagating min/max, like torch.clamp and torch.relu.
  Value min(Value x, Value y) { return arith::MinimumFOp::create(b, loc, x, y); }
  Value max(Value x, Value y) { return arith::MaximumFOp::create(b, loc, x, y); }

  /// σ(x) = 1 / (1 + exp(-x)). For x → -∞, exp(-x) → +inf and σ → 0.
  Value sigmoid(Value x) {
    Value one = constant(1.0);
    Value e = math::ExpOp::create(b, loc, arith::NegFOp::create(b, loc, x));
    return div(one, add(one, e));
  }

  /// act(x) for every activation that is a function of one value.
  Value activation(const ActivationSpec &spec, Value x) {
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

  /// The gating of a (gate, up) pair: act(g)·u, or GPT-OSS's clamped SwiGLU
  /// g' = min(g, L), u' = clamp(u, -L, L), g'·σ(α·g')·(u' + 1).
  Value gate(const ActivationSpec &spec, Value g, Value u) {
    if (spec.kind != Activation::clamped_swiglu)
      return mul(activation(spec, g), u);
    Value limit = constant(spec.limit);
    Value gc = min(g, limit);
    Value uc = min(max(u, constant(-spec.limit)), limit);
    Value glu = mul(gc, sigmoid(mul(constant(spec.alpha), gc)));
    return mul(glu, add(uc, constant(1.0)));
  }

  /// Converts `x` to this builder's type (extf/truncf, or nothing).
  Value convert(Value x) { return convertTo(x, type); }
  Value convertTo(Value x, Type to) {
    Type from = x.getType();
    if (from == to)
      return x;
    if (from.getIntOrFloatBitWidth() < to.getIntOrFloatBitWidth())
      return arith::ExtFOp::create(b, loc, to, x);
    return arith::TruncFOp::create(b, loc, to, x);
  }

private:
  OpBuilder &b;
  Location loc;
  FloatType type;
};

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
    SmallVector<OpFoldResult> sizes;
    for (int64_t i = 0; i < rank - 1; ++i)
      sizes.push_back(tensor::getMixedSize(b, loc, original, i));
    sizes.push_back(tensor::getMixedSize(b, loc, y, 1));
    ReassociationIndices batch;
    for (int64_t i = 0; i < rank - 1; ++i)
      batch.push_back(i);
    restored = tensor::ExpandShapeOp::create(
        b, loc, RankedTensorType::get(shape, yType.getElementType()), y,
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

/// `a·W` for `a: [M, K]` and `W` stored as `[N, K]` (out_in) or `[K, N]`
/// (in_out), accumulated in `accType` from zero.
Value project(OpBuilder &b, Location loc, Value a, Value w, Layout layout,
              FloatType accType) {
  unsigned outIdx = layout == Layout::out_in ? 0 : 1;
  Value init = zeros(b, loc, tensor::getMixedSize(b, loc, a, 0),
                     tensor::getMixedSize(b, loc, w, outIdx), accType);
  MLIRContext *ctx = b.getContext();
  AffineExpr m, n, k;
  bindDims(ctx, m, n, k);
  auto map = [&](ArrayRef<AffineExpr> results) {
    return AffineMap::get(3, 0, results, ctx);
  };
  AffineMap wMap = layout == Layout::out_in ? map({n, k}) : map({k, n});
  ArrayAttr maps =
      b.getAffineMapArrayAttr({map({m, k}), wMap, map({m, n})});
  auto matmul = linalg::MatmulOp::create(
      b, loc, TypeRange{init.getType()}, ValueRange{a, w}, ValueRange{init},
      ArrayRef<NamedAttribute>{b.getNamedAttr("indexing_maps", maps)});
  return matmul.getResult(0);
}

/// `value / 2` as an OpFoldResult.
OpFoldResult half(OpBuilder &b, Location loc, OpFoldResult value) {
  if (std::optional<int64_t> cst = getConstantIntValue(value))
    return b.getIndexAttr(*cst / 2);
  Value two = arith::ConstantIndexOp::create(b, loc, 2);
  return arith::DivUIOp::create(
             b, loc, getValueOrCreateConstantIndexOp(b, loc, value), two)
      .getResult();
}

/// One half of a merged gate/up tensor (weight or bias): the gate half
/// (`index` 0) or the up half (1), along dim `dim`, as `packing` orders them.
Value mergedHalf(OpBuilder &b, Location loc, Value merged, int64_t dim,
                 Packing packing, int64_t index) {
  auto type = cast<RankedTensorType>(merged.getType());
  SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0));
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, merged);
  SmallVector<OpFoldResult> strides(type.getRank(), b.getIndexAttr(1));
  OpFoldResult halfSize = half(b, loc, sizes[dim]);
  sizes[dim] = halfSize;
  if (packing == Packing::interleaved) {
    offsets[dim] = b.getIndexAttr(index);
    strides[dim] = b.getIndexAttr(2);
  } else if (index == 1) {
    offsets[dim] = halfSize;
  }
  return tensor::ExtractSliceOp::create(b, loc, merged, offsets, sizes,
                                        strides);
}

/// An elementwise linalg.generic over `[M, N]`: each of `matrices` ([M, N])
/// and `vectors` ([N], broadcast over rows; null entries are skipped) is
/// converted to `computeType` and handed to `body`, whose value is stored
/// as `resultType`. The callback gets the matrices' values then the vectors'.
using ElementwiseBody = function_ref<Value(
    ScalarBuilder &, ArrayRef<Value> matrixValues, ArrayRef<Value> vectorValues)>;

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
Value addBias(ScalarBuilder &s, Value x, Value bias) {
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

/// The gate and up projections of a gated op, each [M, F] in `accType`,
/// with their biases (null if absent).
struct GateUpValues {
  Value gate, up, gateBias, upBias;
};

/// Projects `x2` through a merged gate/up weight, split as `packing` says.
GateUpValues projectMerged(OpBuilder &b, Location loc, Value x2, Value weight,
                           Value bias, Layout layout, Packing packing,
                           FloatType accType) {
  int64_t outDim = layout == Layout::out_in ? 0 : 1;
  GateUpValues r;
  r.gate = project(b, loc, x2, mergedHalf(b, loc, weight, outDim, packing, 0),
                   layout, accType);
  r.up = project(b, loc, x2, mergedHalf(b, loc, weight, outDim, packing, 1),
                 layout, accType);
  if (bias) {
    r.gateBias = mergedHalf(b, loc, bias, 0, packing, 0);
    r.upBias = mergedHalf(b, loc, bias, 0, packing, 1);
  }
  return r;
}

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

struct FFNOpLowering : OpRewritePattern<FFNOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(FFNOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    FloatType accType = op.getAccumulatorType();
    Layout layout = op.getLayout();
    Value x2 = flattenTokens(rewriter, loc, op.getInput());

    GateUpValues gu;
    if (op.isMerged()) {
      gu = projectMerged(rewriter, loc, x2, op.getGateUpWeight(),
                         op.getGateUpBias(), layout, op.getPackingOrDefault(),
                         accType);
    } else {
      gu.gate = project(rewriter, loc, x2, op.getGateWeight(), layout, accType);
      gu.up = project(rewriter, loc, x2, op.getUpWeight(), layout, accType);
      gu.gateBias = op.getGateBias();
      gu.upBias = op.getUpBias();
    }
    // The hidden stays in acc_type: the block's semantics never round it.
    Value hidden =
        gatedHidden(rewriter, loc, ActivationSpec::of(op), gu.gate, gu.up,
                    gu.gateBias, gu.upBias, accType, accType);
    Value y = project(rewriter, loc, hidden, op.getDownWeight(), layout,
                      accType);
    y = biasAndRound(rewriter, loc, y, op.getDownBias(), accType,
                     elementTypeOf(op.getResult()));
    rewriter.replaceOp(op, unflattenTokens(rewriter, loc, y, op.getInput(),
                                           op.getResult().getType()));
    return success();
  }
};

struct MLPOpLowering : OpRewritePattern<MLPOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MLPOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    FloatType accType = op.getAccumulatorType();
    Layout layout = op.getLayout();
    ActivationSpec spec = ActivationSpec::of(op);
    Value x2 = flattenTokens(rewriter, loc, op.getInput());
    Value pre = project(rewriter, loc, x2, op.getUpWeight(), layout, accType);
    Value hidden = elementwise2D(
        rewriter, loc, {pre}, {op.getUpBias()}, accType, accType,
        [&](ScalarBuilder &s, ArrayRef<Value> m, ArrayRef<Value> v) {
          return s.activation(spec, addBias(s, m[0], v[0]));
        });
    Value y = project(rewriter, loc, hidden, op.getDownWeight(), layout,
                      accType);
    y = biasAndRound(rewriter, loc, y, op.getDownBias(), accType,
                     elementTypeOf(op.getResult()));
    rewriter.replaceOp(op, unflattenTokens(rewriter, loc, y, op.getInput(),
                                           op.getResult().getType()));
    return success();
  }
};

struct GateUpOpLowering : OpRewritePattern<GateUpOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(GateUpOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    FloatType accType = op.getAccumulatorType();
    Value x2 = flattenTokens(rewriter, loc, op.getInput());
    GateUpValues gu = projectMerged(
        rewriter, loc, x2, op.getGateUpWeight(), op.getGateUpBias(),
        op.getLayout(), op.getPackingOrDefault(), accType);
    Value hidden = gatedHidden(rewriter, loc, ActivationSpec::of(op), gu.gate,
                               gu.up, gu.gateBias, gu.upBias, accType,
                               elementTypeOf(op.getResult()));
    rewriter.replaceOp(op, unflattenTokens(rewriter, loc, hidden,
                                           op.getInput(),
                                           op.getResult().getType()));
    return success();
  }
};

struct GateOpLowering : OpRewritePattern<GateOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(GateOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(op.getResult().getType());
    FloatType accType = op.getAccumulatorType();
    ActivationSpec spec = ActivationSpec::of(op);
    int64_t rank = type.getRank();
    AffineMap identity =
        AffineMap::getMultiDimIdentityMap(rank, rewriter.getContext());
    Value init = tensor::EmptyOp::create(
        rewriter, loc, tensor::getMixedSizes(rewriter, loc, op.getGate()),
        type.getElementType());
    auto generic = linalg::GenericOp::create(
        rewriter, loc, TypeRange{type}, ValueRange{op.getGate(), op.getUp()},
        ValueRange{init}, SmallVector<AffineMap>(3, identity),
        SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
        [&](OpBuilder &b, Location nloc, ValueRange args) {
          ScalarBuilder s(b, nloc, accType);
          Value h = s.gate(spec, s.convert(args[0]), s.convert(args[1]));
          linalg::YieldOp::create(b, nloc,
                                  s.convertTo(h, type.getElementType()));
        });
    rewriter.replaceOp(op, generic.getResult(0));
    return success();
  }
};

struct ConvertGLUToLinalgPass
    : glu::impl::ConvertGLUToLinalgBase<ConvertGLUToLinalgPass> {
  void runOnOperation() override {
    ConversionTarget target(getContext());
    target.addIllegalDialect<GLUDialect>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    RewritePatternSet patterns(&getContext());
    populateGLUToLinalgPatterns(patterns);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void mlir::glu::populateGLUToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<FFNOpLowering, MLPOpLowering, GateUpOpLowering, GateOpLowering>(
      patterns.getContext());
}
