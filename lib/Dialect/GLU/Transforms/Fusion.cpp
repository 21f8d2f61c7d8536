//===- Fusion.cpp - Fuse the activation and the whole FFN block -----------===//
//
// Two levels of fusion, each rewriting glu ops into explicit tiled loops on
// tensors (scf.forall over token tiles, linalg on each tile) built from the
// same pieces as the reference lowering (glu/Dialect/GLU/Utils/Builders.h):
//
//  --glu-fuse-activation: per [tile-tokens × tile-ff] tile of the hidden, the
//    gate and up accumulators are computed together and act(g) ⊙ u applied
//    before the tile is stored. The [tokens, 2·d_ff] gate/up intermediate is
//    never materialized, only the [tokens, d_ff] hidden.
//
//  --glu-fuse-ffn: per token tile, the block streams the hidden through the
//    down projection in chunks of d_ff: for each chunk, the hidden chunk
//    [tile-tokens × chunk-ff] is computed and its product with the matching
//    rows of W_down accumulated into the output tile. Nothing of size
//    [tokens, d_ff] exists.
//
//===----------------------------------------------------------------------===//

#include "glu/Dialect/GLU/IR/GLU.h"
#include "glu/Dialect/GLU/Transforms/Passes.h"
#include "glu/Dialect/GLU/Utils/Builders.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::glu {
#define GEN_PASS_DEF_GLUFUSEACTIVATION
#define GEN_PASS_DEF_GLUFUSEFFN
#include "glu/Dialect/GLU/Transforms/Passes.h.inc"
} // namespace mlir::glu

using namespace mlir;
using namespace mlir::glu;

namespace {

/// Rows `[offset, offset + size)` of a 2-D tensor.
Value rows(OpBuilder &b, Location loc, Value t, OpFoldResult offset,
           OpFoldResult size) {
  return sliceFeatures(b, loc, t, 0, FeatureRange{offset, size});
}

/// Builds `scf.forall` over `[0, total)` step `tile` with one shared output
/// `init` ([total, N]); `body(iv, size, dest)` returns the `[size, N]` tile
/// that is inserted at row `iv`, preferably computed into `dest` (that tile
/// of the shared output) so that bufferization writes it in place.
Value forEachRowTile(
    OpBuilder &b, Location loc, Value init, int64_t tile,
    function_ref<Value(OpBuilder &, Value iv, OpFoldResult size, Value dest)>
        body) {
  OpFoldResult total = tensor::getMixedSize(b, loc, init, 0);
  OpFoldResult cols = tensor::getMixedSize(b, loc, init, 1);
  auto forall = scf::ForallOp::create(
      b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(0)},
      ArrayRef<OpFoldResult>{total}, ArrayRef<OpFoldResult>{b.getIndexAttr(tile)},
      ValueRange{init}, std::nullopt);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(forall.getTerminator());
  Value iv = forall.getInductionVars()[0];
  OpFoldResult size = tileSize(b, loc, iv, total, tile);
  Value dest = rows(b, loc, forall.getRegionIterArgs()[0], iv, size);
  Value tileValue = body(b, iv, size, dest);
  b.setInsertionPointToStart(forall.getTerminator().getBody());
  tensor::ParallelInsertSliceOp::create(
      b, loc, tileValue, forall.getRegionIterArgs()[0],
      ArrayRef<OpFoldResult>{iv, b.getIndexAttr(0)},
      ArrayRef<OpFoldResult>{size, cols},
      ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
  return forall.getResult(0);
}

/// Builds `scf.for %iv = 0 to upper step step iter_args(init)`; `body(iv,
/// acc)` returns the next value of the accumulator. (The loop is created
/// before its body, so that the body may build affine ops on `iv`.)
Value forLoop(OpBuilder &b, Location loc, OpFoldResult upper, int64_t step,
              Value init,
              function_ref<Value(OpBuilder &, Value iv, Value acc)> body) {
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  Value stepValue = arith::ConstantIndexOp::create(b, loc, step);
  Value ub = getValueOrCreateConstantIndexOp(b, loc, upper);
  auto loop = scf::ForOp::create(b, loc, c0, ub, stepValue, ValueRange{init});
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(loop.getBody());
  Value next = body(b, loop.getInductionVar(), loop.getRegionIterArgs()[0]);
  scf::YieldOp::create(b, loc, next);
  return loop.getResult(0);
}

/// d_ff of a gated op: from the down weight, whose input features are d_ff.
OpFoldResult dFFOf(OpBuilder &b, Location loc, Value downWeight,
                   Layout layout) {
  return tensor::getMixedSize(b, loc, downWeight, 1 - outputDim(layout));
}

/// d_ff of a merged gate/up weight: half its output features.
OpFoldResult mergedHalfSize(OpBuilder &b, Location loc, Value merged,
                            Layout layout) {
  AffineExpr s0;
  bindSymbols(b.getContext(), s0);
  return affine::makeComposedFoldedAffineApply(
      b, loc, s0.floorDiv(2),
      {tensor::getMixedSize(b, loc, merged, outputDim(layout))});
}

//===----------------------------------------------------------------------===//
// --glu-fuse-activation
//===----------------------------------------------------------------------===//

/// The hidden `[M, F]` of a gated op, tile by tile: per [tileM × tileF] tile,
/// the gate and up projections of that tile and the gating, then stored.
Value fusedGateUpHidden(OpBuilder &b, Location loc, Value x2,
                        const GateUpWeights &weights, Layout layout,
                        const ActivationSpec &spec, OpFoldResult dFF,
                        FloatType accType, FloatType hiddenType,
                        int64_t tileM, int64_t tileF) {
  Value init = tensor::EmptyOp::create(
      b, loc, {tensor::getMixedSize(b, loc, x2, 0), dFF}, hiddenType);
  return forEachRowTile(
      b, loc, init, tileM,
      [&](OpBuilder &b, Value i, OpFoldResult sizeM, Value rowInit) {
        Value xTile = rows(b, loc, x2, i, sizeM);
        // Inner loop over d_ff tiles, filling this row tile of the hidden.
        return forLoop(
            b, loc, dFF, tileF, rowInit, [&](OpBuilder &b, Value j, Value h) {
              OpFoldResult sizeF = tileSize(b, loc, j, dFF, tileF);
              GateUpValues gu = projectGateUp(b, loc, xTile, weights, layout,
                                              accType, FeatureRange{j, sizeF});
              Value tile = gatedHidden(b, loc, spec, gu.gate, gu.up,
                                       gu.gateBias, gu.upBias, accType,
                                       hiddenType);
              return tensor::InsertSliceOp::create(
                         b, loc, tile, h,
                         ArrayRef<OpFoldResult>{b.getIndexAttr(0), j},
                         ArrayRef<OpFoldResult>{sizeM, sizeF},
                         ArrayRef<OpFoldResult>{b.getIndexAttr(1),
                                                b.getIndexAttr(1)})
                  .getResult();
            });
      });
}

struct FuseActivationFFN : OpRewritePattern<FFNOp> {
  FuseActivationFFN(MLIRContext *ctx, int64_t tileM, int64_t tileF)
      : OpRewritePattern(ctx), tileM(tileM), tileF(tileF) {}

  LogicalResult matchAndRewrite(FFNOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    FloatType accType = op.getAccumulatorType();
    Layout layout = op.getLayout();
    Value x2 = flattenTokens(rewriter, loc, op.getInput());
    // The block's semantics keep the hidden in acc_type.
    Value hidden = fusedGateUpHidden(
        rewriter, loc, x2, GateUpWeights::of(op), layout,
        ActivationSpec::of(op), dFFOf(rewriter, loc, op.getDownWeight(), layout),
        accType, accType, tileM, tileF);
    Value y = project(rewriter, loc, hidden, op.getDownWeight(), layout,
                      accType);
    y = biasAndRound(rewriter, loc, y, op.getDownBias(), accType,
                     elementTypeOf(op.getResult()));
    rewriter.replaceOp(op, unflattenTokens(rewriter, loc, y, op.getInput(),
                                           op.getResult().getType()));
    return success();
  }

  int64_t tileM, tileF;
};

struct FuseActivationGateUp : OpRewritePattern<GateUpOp> {
  FuseActivationGateUp(MLIRContext *ctx, int64_t tileM, int64_t tileF)
      : OpRewritePattern(ctx), tileM(tileM), tileF(tileF) {}

  LogicalResult matchAndRewrite(GateUpOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x2 = flattenTokens(rewriter, loc, op.getInput());
    Value hidden = fusedGateUpHidden(
        rewriter, loc, x2, GateUpWeights::of(op), op.getLayout(),
        ActivationSpec::of(op),
        mergedHalfSize(rewriter, loc, op.getGateUpWeight(), op.getLayout()),
        op.getAccumulatorType(), elementTypeOf(op.getResult()), tileM, tileF);
    rewriter.replaceOp(op, unflattenTokens(rewriter, loc, hidden,
                                           op.getInput(),
                                           op.getResult().getType()));
    return success();
  }

  int64_t tileM, tileF;
};

//===----------------------------------------------------------------------===//
// --glu-fuse-ffn
//===----------------------------------------------------------------------===//

/// The whole block (glu.ffn, glu.mlp), streamed: per token tile, `acc =
/// Σ_chunks hidden_chunk · W_down[chunk]`, then the bias and one rounding.
template <typename OpTy>
struct FuseWholeBlock : OpRewritePattern<OpTy> {
  FuseWholeBlock(MLIRContext *ctx, int64_t tileM, int64_t chunkF)
      : OpRewritePattern<OpTy>(ctx), tileM(tileM), chunkF(chunkF) {}

  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    FloatType accType = op.getAccumulatorType();
    FloatType resultType = elementTypeOf(op.getResult());
    Layout layout = op.getLayout();
    Value downWeight = op.getDownWeight(), downBias = op.getDownBias();
    OpFoldResult dFF = dFFOf(rewriter, loc, downWeight, layout);
    OpFoldResult dOut =
        tensor::getMixedSize(rewriter, loc, downWeight, outputDim(layout));
    Value x2 = flattenTokens(rewriter, loc, op.getInput());
    Value init = tensor::EmptyOp::create(
        rewriter, loc, {tensor::getMixedSize(rewriter, loc, x2, 0), dOut},
        resultType);
    Value y = forEachRowTile(
        rewriter, loc, init, tileM,
        [&](OpBuilder &b, Value i, OpFoldResult sizeM, Value) {
          Value xTile = rows(b, loc, x2, i, sizeM);
          Value accInit = zeros(b, loc, sizeM, dOut, accType);
          Value acc = forLoop(
              b, loc, dFF, chunkF, accInit,
              [&](OpBuilder &b, Value f, Value acc) {
                FeatureRange chunk{f, tileSize(b, loc, f, dFF, chunkF)};
                Value h = blockHidden(b, loc, op, xTile, chunk);
                // The rows of W_down that read this chunk: its input
                // features.
                Value wDown = sliceFeatures(b, loc, downWeight,
                                            1 - outputDim(layout), chunk);
                return project(b, loc, h, wDown, layout, accType, acc);
              });
          return biasAndRound(b, loc, acc, downBias, accType, resultType);
        });
    rewriter.replaceOp(op, unflattenTokens(rewriter, loc, y, op.getInput(),
                                           op.getResult().getType()));
    return success();
  }

  int64_t tileM, chunkF;
};

/// Applies `patterns` once to every matching op (no folding of the rest).
LogicalResult applyOnce(Operation *root, RewritePatternSet &&patterns) {
  GreedyRewriteConfig config;
  config.setStrictness(GreedyRewriteStrictness::ExistingOps);
  config.enableFolding(false);
  return applyPatternsGreedily(root, std::move(patterns), config);
}

struct GLUFuseActivationPass
    : glu::impl::GLUFuseActivationBase<GLUFuseActivationPass> {
  using GLUFuseActivationBase::GLUFuseActivationBase;

  LogicalResult initialize(MLIRContext *context) override {
    if (tileTokens < 1 || tileFF < 1)
      return emitError(UnknownLoc::get(context),
                       "glu-fuse-activation: tile-tokens and tile-ff must be "
                       "positive");
    return success();
  }

  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseActivationFFN, FuseActivationGateUp>(
        &getContext(), int64_t(tileTokens), int64_t(tileFF));
    if (failed(applyOnce(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

struct GLUFuseFFNPass : glu::impl::GLUFuseFFNBase<GLUFuseFFNPass> {
  using GLUFuseFFNBase::GLUFuseFFNBase;

  LogicalResult initialize(MLIRContext *context) override {
    if (tileTokens < 1 || chunkFF < 1)
      return emitError(UnknownLoc::get(context),
                       "glu-fuse-ffn: tile-tokens and chunk-ff must be "
                       "positive");
    return success();
  }

  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseWholeBlock<FFNOp>, FuseWholeBlock<MLPOp>>(
        &getContext(), int64_t(tileTokens), int64_t(chunkFF));
    if (failed(applyOnce(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
