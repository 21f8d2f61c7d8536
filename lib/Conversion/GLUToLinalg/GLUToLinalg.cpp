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
#include "glu/Dialect/GLU/Utils/Builders.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/DialectConversion.h"

namespace mlir::glu {
#define GEN_PASS_DEF_CONVERTGLUTOLINALG
#include "glu/Conversion/Passes.h.inc"
} // namespace mlir::glu

using namespace mlir;
using namespace mlir::glu;

namespace {

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

/// glu.ffn and glu.mlp: the hidden of all features at once, then the down
/// projection, the bias and one rounding.
template <typename OpTy>
struct BlockLowering : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;

  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    FloatType accType = op.getAccumulatorType();
    Value x2 = flattenTokens(rewriter, loc, op.getInput());
    Value hidden = blockHidden(rewriter, loc, op, x2);
    Value y = project(rewriter, loc, hidden, op.getDownWeight(),
                      op.getLayout(), accType);
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
    GateUpValues gu = projectGateUp(rewriter, loc, x2, GateUpWeights::of(op),
                                    op.getLayout(), accType);
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
  using ConvertGLUToLinalgBase::ConvertGLUToLinalgBase;
  void runOnOperation() override {
    ConversionTarget target(getContext());
    target.addIllegalDialect<GLUDialect>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    RewritePatternSet patterns(&getContext());
    populateGLUToLinalgPatterns(patterns, roundHidden);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void mlir::glu::populateGLUToLinalgPatterns(RewritePatternSet &patterns,
                                            bool roundHidden) {
  patterns.add<BlockLowering<FFNOp>, BlockLowering<MLPOp>, GateUpOpLowering,
               GateOpLowering>(
      patterns.getContext());
  populateMoEToLinalgPatterns(patterns);
  populateGradToLinalgPatterns(patterns, roundHidden);
}
