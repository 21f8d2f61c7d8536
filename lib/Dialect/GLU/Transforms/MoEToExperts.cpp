//===- MoEToExperts.cpp - glu.moe as a glu.ffn per expert -----------------===//
//
// --glu-moe-to-experts: each expert of a glu.moe runs as a glu.ffn on the
// tokens routed to it, so that the FLOPs are those of the chosen experts and
// the experts get the fast CPU kernels. For expert e:
//
//   n      = #{(t, j) : ids[t][j] = e}                      (count)
//   rows   = those t, in token order; cw = their weights    (gather)
//   y_e    = glu.ffn(x[rows] widened to f32, expert e's weights, f32 biases)
//   acc[t] += cw · y_e[r] for each entry r = (t, j)         (combine)
//
// skipped when n = 0; acc (f32) is rounded once at the end. glu.moe keeps
// each expert's output in f32, so x and the biases are widened (exactly)
// and the glu.ffn returns f32.
//
//===----------------------------------------------------------------------===//

#include "glu/Dialect/GLU/IR/GLU.h"
#include "glu/Dialect/GLU/Transforms/Passes.h"
#include "glu/Dialect/GLU/Utils/Builders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::glu {
#define GEN_PASS_DEF_GLUMOETOEXPERTS
#include "glu/Dialect/GLU/Transforms/Passes.h.inc"
} // namespace mlir::glu

using namespace mlir;
using namespace mlir::glu;

namespace {

/// Row `row` of the 2-D tensor `t`, as [1, cols].
Value rowOf(OpBuilder &b, Location loc, Value t, Value row) {
  return tensor::ExtractSliceOp::create(
      b, loc, t, ArrayRef<OpFoldResult>{row, b.getIndexAttr(0)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(1),
                             tensor::getMixedSize(b, loc, t, 1)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
}

/// `t` with `row` ([1, cols]) inserted at row `at`.
Value withRow(OpBuilder &b, Location loc, Value row, Value t, Value at) {
  return tensor::InsertSliceOp::create(
      b, loc, row, t, ArrayRef<OpFoldResult>{at, b.getIndexAttr(0)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(1),
                             tensor::getMixedSize(b, loc, t, 1)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
}

struct MoEToExpertsPattern : OpRewritePattern<MoEOp> {
  MoEToExpertsPattern(MLIRContext *ctx, int64_t groupedDecodeTokens)
      : OpRewritePattern(ctx), groupedDecodeTokens(groupedDecodeTokens) {}

  int64_t groupedDecodeTokens;

  LogicalResult matchAndRewrite(MoEOp op,
                                PatternRewriter &rewriter) const override {
    if (op->hasAttr(kGroupedDecodeAttr))
      return failure(); // the decode branch of an earlier application
    int64_t staticTokens =
        cast<RankedTensorType>(op.getInput().getType()).getDimSize(0);
    if (groupedDecodeTokens <= 0 || (!ShapedType::isDynamic(staticTokens) &&
                                     staticTokens > groupedDecodeTokens)) {
      rewriter.replaceOp(op, perExpert(op, rewriter));
      return success();
    }
    // Decode-sized inputs keep the op, tagged for the grouped kernel of
    // convert-glu-to-cpu-kernels; the others take the per-expert loop.
    Location loc = op.getLoc();
    OpFoldResult t = tensor::getMixedSize(rewriter, loc, op.getInput(), 0);
    Value tokens = getValueOrCreateConstantIndexOp(rewriter, loc, t);
    Value small = arith::CmpIOp::create(
        rewriter, loc, arith::CmpIPredicate::ule, tokens,
        arith::ConstantIndexOp::create(rewriter, loc, groupedDecodeTokens));
    auto ifOp = scf::IfOp::create(rewriter, loc, op.getResult().getType(),
                                  small, /*withElse=*/true);
    {
      OpBuilder tb = ifOp.getThenBodyBuilder();
      Operation *grouped = tb.clone(*op);
      grouped->setAttr(kGroupedDecodeAttr, tb.getUnitAttr());
      scf::YieldOp::create(tb, loc, grouped->getResult(0));
    }
    {
      OpBuilder::InsertionGuard guard(rewriter);
      rewriter.setInsertionPointToStart(&ifOp.getElseRegion().front());
      Value y = perExpert(op, rewriter);
      scf::YieldOp::create(rewriter, loc, y);
    }
    rewriter.replaceOp(op, ifOp.getResults());
    return success();
  }

  /// The per-expert loop computing `op` (see the file comment), at the
  /// rewriter's insertion point.
  static Value perExpert(MoEOp op, PatternRewriter &rewriter) {
    Location loc = op.getLoc();
    OpBuilder &b = rewriter;
    Type f32 = b.getF32Type();
    auto c = [&](OpBuilder &bb, int64_t v) -> Value {
      return arith::ConstantIndexOp::create(bb, loc, v);
    };
    auto resultType = cast<RankedTensorType>(op.getResult().getType());
    Value x = op.getInput(), ids = op.getExpertIds(),
          weights = op.getRoutingWeights();
    // Sizes as constants where static: a tensor.dim of a weight would be a
    // second use of it, and only weights used once are packed at load time.
    auto size = [&](Value v, int64_t d) {
      OpFoldResult s = tensor::getMixedSize(b, loc, v, d);
      return getValueOrCreateConstantIndexOp(b, loc, s);
    };
    Value tokens = size(x, 0);
    Value k = size(ids, 1);
    Value experts = size(op.getDownWeight(), 0);
    Value dOut =
        size(op.getDownWeight(), op.getLayout() == Layout::out_in ? 1 : 2);
    Value xf = widenToF32(b, loc, x);
    Value gateBias = widenToF32(b, loc, op.getGateBias()),
          upBias = widenToF32(b, loc, op.getUpBias()),
          gateUpBias = widenToF32(b, loc, op.getGateUpBias()),
          downBias = widenToF32(b, loc, op.getDownBias());
    Value acc0 = zeros(b, loc, tokens, dOut, b.getF32Type());

    auto idIs = [&](OpBuilder &bb, Value t, Value j, Value e) {
      Value id = tensor::ExtractOp::create(bb, loc, ids, ValueRange{t, j});
      id = arith::IndexCastOp::create(bb, loc, bb.getIndexType(), id);
      return arith::CmpIOp::create(bb, loc, arith::CmpIPredicate::eq, id, e);
    };
    // for t, for j: state = f(t, j, state)
    auto overEntries = [&](OpBuilder &bb, ValueRange init,
                           function_ref<SmallVector<Value>(
                               OpBuilder &, Value, Value, ValueRange)>
                               f) {
      return forLoop(bb, loc, c(bb, 0), tokens, init,
                  [&](OpBuilder &tb, Value t, ValueRange s) {
                    return forLoop(tb, loc, c(tb, 0), k, s,
                                [&](OpBuilder &jb, Value j, ValueRange s2) {
                                  return f(jb, t, j, s2);
                                });
                  });
    };

    Value acc = forLoop(
        b, loc, c(b, 0), experts, {acc0},
        [&](OpBuilder &eb, Value e, ValueRange s) -> SmallVector<Value> {
          // Count.
          Value n = overEntries(
              eb, {c(eb, 0)},
              [&](OpBuilder &jb, Value t, Value j, ValueRange s2) {
                Value one = arith::SelectOp::create(jb, loc, idIs(jb, t, j, e),
                                                    c(jb, 1), c(jb, 0));
                return SmallVector<Value>{
                    arith::AddIOp::create(jb, loc, s2[0], one)};
              })[0];
          Value any = arith::CmpIOp::create(eb, loc, arith::CmpIPredicate::sgt,
                                            n, c(eb, 0));
          auto ifOp = scf::IfOp::create(eb, loc, TypeRange{s[0].getType()},
                                        any, /*withElse=*/true);
          {
            OpBuilder eb2 = ifOp.getElseBodyBuilder();
            scf::YieldOp::create(eb2, loc, s[0]);
          }
          OpBuilder tb = ifOp.getThenBodyBuilder();
          // Gather: the entries' token rows and weights, in token order.
          Value rows0 = tensor::EmptyOp::create(
              tb, loc, ArrayRef<OpFoldResult>{n}, tb.getIndexType());
          Value cw0 =
              tensor::EmptyOp::create(tb, loc, ArrayRef<OpFoldResult>{n}, f32);
          SmallVector<Value> gathered = overEntries(
              tb, {rows0, cw0, c(tb, 0)},
              [&](OpBuilder &jb, Value t, Value j, ValueRange s2) {
                auto mine = scf::IfOp::create(
                    jb, loc, TypeRange{s2[0].getType(), s2[1].getType(),
                                       jb.getIndexType()},
                    idIs(jb, t, j, e), /*withElse=*/true);
                OpBuilder yb = mine.getThenBodyBuilder();
                Value w = tensor::ExtractOp::create(yb, loc, weights,
                                                    ValueRange{t, j});
                if (w.getType() != f32)
                  w = arith::ExtFOp::create(yb, loc, f32, w);
                scf::YieldOp::create(
                    yb, loc,
                    ValueRange{
                        tensor::InsertOp::create(yb, loc, t, s2[0], s2[2]),
                        tensor::InsertOp::create(yb, loc, w, s2[1], s2[2]),
                        arith::AddIOp::create(yb, loc, s2[2], c(yb, 1))});
                OpBuilder nb = mine.getElseBodyBuilder();
                scf::YieldOp::create(nb, loc, s2);
                return SmallVector<Value>(mine.getResults());
              });
          Value rows = gathered[0], cw = gathered[1];
          Value xe0 = tensor::EmptyOp::create(
              tb, loc,
              ArrayRef<OpFoldResult>{n, tensor::getMixedSize(tb, loc, xf, 1)},
              f32);
          Value xe = forLoop(tb, loc, c(tb, 0), n, {xe0},
                          [&](OpBuilder &rb, Value r, ValueRange s2) {
                            Value t = tensor::ExtractOp::create(rb, loc, rows,
                                                                ValueRange{r});
                            return SmallVector<Value>{withRow(
                                rb, loc, rowOf(rb, loc, xf, t), s2[0], r)};
                          })[0];
          // The expert's block on its tokens.
          auto ffnType = RankedTensorType::get(
              {ShapedType::kDynamic, resultType.getDimSize(1)}, f32);
          auto slot = [&](Value v) { return sliceStacked(tb, loc, v, e); };
          auto ffn = FFNOp::create(
              tb, loc, ffnType, xe, slot(op.getGateWeight()),
              slot(op.getUpWeight()), slot(op.getGateUpWeight()),
              slot(op.getDownWeight()), slot(gateBias), slot(upBias),
              slot(gateUpBias), slot(downBias), op.getPackingAttr(),
              op.getLayoutAttr(), op.getActivationAttr(), op.getBetaAttr(),
              op.getAlphaAttr(), op.getLimitAttr(), TypeAttr());
          // Combine: acc[t] += cw[r] · y[r].
          MLIRContext *ctx = tb.getContext();
          AffineMap id2 = AffineMap::getMultiDimIdentityMap(2, ctx);
          AffineMap scalar = AffineMap::get(2, 0, {}, ctx);
          Value sum = forLoop(
              tb, loc, c(tb, 0), n, {s[0]},
              [&](OpBuilder &rb, Value r, ValueRange s2) {
                Value t =
                    tensor::ExtractOp::create(rb, loc, rows, ValueRange{r});
                Value w = tensor::ExtractOp::create(rb, loc, cw, ValueRange{r});
                Value wt = tensor::FromElementsOp::create(
                    rb, loc, RankedTensorType::get({}, f32), ValueRange{w});
                Value accRow = rowOf(rb, loc, s2[0], t);
                Value yRow = rowOf(rb, loc, ffn.getResult(), r);
                Value updated =
                    linalg::GenericOp::create(
                        rb, loc, TypeRange{accRow.getType()},
                        ValueRange{yRow, wt}, ValueRange{accRow},
                        SmallVector<AffineMap>{id2, scalar, id2},
                        SmallVector<utils::IteratorType>(
                            2, utils::IteratorType::parallel),
                        [&](OpBuilder &gb, Location gloc, ValueRange a) {
                          Value p = arith::MulFOp::create(gb, gloc, a[1], a[0]);
                          linalg::YieldOp::create(
                              gb, gloc,
                              arith::AddFOp::create(gb, gloc, a[2], p)
                                  .getResult());
                        })
                        .getResult(0);
                return SmallVector<Value>{
                    withRow(rb, loc, updated, s2[0], t)};
              })[0];
          scf::YieldOp::create(tb, loc, sum);
          return {ifOp.getResult(0)};
        })[0];
    Value y = biasAndRound(b, loc, acc, Value(), b.getF32Type(),
                           cast<FloatType>(resultType.getElementType()));
    if (y.getType() != resultType)
      y = tensor::CastOp::create(b, loc, resultType, y);
    return y;
  }
};

struct GLUMoEToExpertsPass
    : glu::impl::GLUMoEToExpertsBase<GLUMoEToExpertsPass> {
  using Base::Base;

  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<MoEToExpertsPattern>(&getContext(), groupedDecodeTokens);
    // One application per op: the pattern creates no glu.moe.
    GreedyRewriteConfig config;
    config.setStrictness(GreedyRewriteStrictness::ExistingOps);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns),
                                     config)))
      signalPassFailure();
  }
};

} // namespace
