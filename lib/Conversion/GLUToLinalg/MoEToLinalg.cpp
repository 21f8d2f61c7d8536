//===- MoEToLinalg.cpp - Reference lowering of glu.route and glu.moe ------===//
//
// The reference semantics of mixture-of-experts blocks, written to be
// obviously right rather than fast:
//
//  * glu.route: plain loops over tokens and experts on scalars (scf.for
//    over tensors, tensor.extract/insert), in f32, step by step as the op's
//    description states: scores, choice keys, group-limited selection,
//    top-k by repeated argmax (ties to the lower index), weights.
//  * glu.moe: for every expert e, its glu.ffn on every token (x and the
//    biases widened to f32, the weights sliced as they are, the result in
//    f32), times the token's combine weight for e (the sum of its routing
//    weights whose id is e: zero for tokens that did not choose e); the sum
//    over experts is rounded once. The glu.ffn ops it creates are lowered by
//    the same conversion. O(E·T·D·F): a reference, not a kernel.
//
//===----------------------------------------------------------------------===//

#include "glu/Conversion/Passes.h"
#include "glu/Dialect/GLU/IR/GLU.h"
#include "glu/Dialect/GLU/Utils/Builders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"

#include <limits>

using namespace mlir;
using namespace mlir::glu;

namespace {

/// Index and float helpers on one builder.
struct Emit {
  OpBuilder &b;
  Location loc;

  Value idx(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value f32(double v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  }
  Value negInf() { return f32(-std::numeric_limits<double>::infinity()); }
  Value get(Value t, ValueRange i) {
    return tensor::ExtractOp::create(b, loc, t, i);
  }
  Value put(Value v, Value t, ValueRange i) {
    return tensor::InsertOp::create(b, loc, v, t, i);
  }
  Value dim(Value t, int64_t d) { return tensor::DimOp::create(b, loc, t, d); }
  Value toF32(Value v) {
    if (v.getType().isF32())
      return v;
    return arith::ExtFOp::create(b, loc, b.getF32Type(), v);
  }
  Value add(Value x, Value y) { return arith::AddFOp::create(b, loc, x, y); }
  Value sub(Value x, Value y) { return arith::SubFOp::create(b, loc, x, y); }
  Value mul(Value x, Value y) { return arith::MulFOp::create(b, loc, x, y); }
  Value div(Value x, Value y) { return arith::DivFOp::create(b, loc, x, y); }
  Value exp(Value x) { return math::ExpOp::create(b, loc, x); }
  Value gt(Value x, Value y) {
    return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, x, y);
  }
  Value select(Value c, Value x, Value y) {
    return arith::SelectOp::create(b, loc, c, x, y);
  }

  /// for (i = lb; i < ub; ++i) state = body(i, state); returns the state.
  SmallVector<Value> loop(Value lb, Value ub, ValueRange init, LoopBody body) {
    return forLoop(b, loc, lb, ub, init, body);
  }

  /// (index, value) of the largest element of the 1-D f32 tensor `t` in
  /// [lb, ub): the first one on ties.
  std::pair<Value, Value> argmax(Value t, Value lb, Value ub) {
    SmallVector<Value> r =
        loop(lb, ub, {lb, negInf()}, [&](OpBuilder &nb, Value i, ValueRange s) {
          Emit e{nb, loc};
          Value v = e.get(t, {i});
          Value better = e.gt(v, s[1]);
          return SmallVector<Value>{
              arith::SelectOp::create(nb, loc, better, i, s[0]),
              e.select(better, v, s[1])};
        });
    return {r[0], r[1]};
  }
};

struct RouteLowering : OpRewritePattern<RouteOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(RouteOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Emit e{rewriter, loc};
    Value logits = op.getLogits();
    Value tokens = e.dim(logits, 0), experts = e.dim(logits, 1);
    int64_t k = op.getTopK();
    auto idsType = cast<RankedTensorType>(op.getExpertIds().getType());
    auto wType = cast<RankedTensorType>(op.getWeights().getType());
    Type idType = idsType.getElementType();
    Type f32 = rewriter.getF32Type();
    Value ids0 = tensor::EmptyOp::create(
        rewriter, loc, ArrayRef<OpFoldResult>{tokens, e.idx(k)}, idType);
    Value w0 = tensor::EmptyOp::create(
        rewriter, loc, ArrayRef<OpFoldResult>{tokens, e.idx(k)}, f32);
    Value row0 = tensor::EmptyOp::create(
        rewriter, loc, ArrayRef<OpFoldResult>{experts}, f32);
    Scoring scoring = op.getScoring();
    Value bias = op.getSelectionBias();
    int64_t groups = op.getGroupsOrDefault();

    SmallVector<Value> out = e.loop(
        e.idx(0), tokens, {ids0, w0},
        [&](OpBuilder &tb, Value t, ValueRange s) -> SmallVector<Value> {
          Emit et{tb, loc};
          auto logit = [&](Emit &x, Value i) {
            return x.toF32(x.get(logits, {t, i}));
          };
          // 1. Scores.
          Value maxLogit, sumExp;
          if (scoring == Scoring::softmax) {
            maxLogit = et.loop(et.idx(0), experts, {et.negInf()},
                               [&](OpBuilder &nb, Value i, ValueRange m) {
                                 Emit x{nb, loc};
                                 Value v = logit(x, i);
                                 return SmallVector<Value>{
                                     x.select(x.gt(v, m[0]), v, m[0])};
                               })[0];
            sumExp = et.loop(et.idx(0), experts, {et.f32(0)},
                             [&](OpBuilder &nb, Value i, ValueRange z) {
                               Emit x{nb, loc};
                               return SmallVector<Value>{x.add(
                                   z[0], x.exp(x.sub(logit(x, i), maxLogit)))};
                             })[0];
          }
          auto score = [&](Emit &x, Value i) -> Value {
            Value v = logit(x, i);
            switch (scoring) {
            case Scoring::softmax:
              return x.div(x.exp(x.sub(v, maxLogit)), sumExp);
            case Scoring::sigmoid:
              return x.div(x.f32(1),
                           x.add(x.f32(1), x.exp(x.sub(x.f32(0), v))));
            case Scoring::topk_softmax:
              return v;
            }
            llvm_unreachable("scoring");
          };
          // scores and 2. choice keys, as [E] tensors.
          SmallVector<Value> rows = et.loop(
              et.idx(0), experts, {row0, row0},
              [&](OpBuilder &nb, Value i, ValueRange r) {
                Emit x{nb, loc};
                Value sc = score(x, i);
                Value key = bias ? x.add(sc, x.toF32(x.get(bias, {i}))) : sc;
                return SmallVector<Value>{x.put(sc, r[0], {i}),
                                          x.put(key, r[1], {i})};
              });
          Value scores = rows[0], keys = rows[1];
          // 3. Group-limited selection: the experts of all but the
          // topk_groups best groups get the key -inf.
          if (groups > 1) {
            int64_t perGroup =
                cast<RankedTensorType>(logits.getType()).getDimSize(1) /
                groups;
            bool top2 = op.getGroupScoreOrDefault() == GroupScore::top2_sum;
            Value g0 = tensor::EmptyOp::create(
                tb, loc, ArrayRef<int64_t>{groups}, f32);
            Value gscores =
                et.loop(et.idx(0), et.idx(groups), {g0},
                        [&](OpBuilder &nb, Value g, ValueRange r) {
                          Emit x{nb, loc};
                          Value lb = arith::MulIOp::create(nb, loc, g,
                                                           x.idx(perGroup));
                          Value ub = arith::AddIOp::create(nb, loc, lb,
                                                           x.idx(perGroup));
                          std::pair<Value, Value> top = x.argmax(keys, lb, ub);
                          Value best = top.first, gs = top.second;
                          if (top2) {
                            // The second best: the largest other key.
                            Value second =
                                x.loop(lb, ub, {x.negInf()},
                                       [&](OpBuilder &mb, Value i,
                                           ValueRange m) {
                                         Emit y{mb, loc};
                                         Value v = y.get(keys, {i});
                                         Value other = arith::CmpIOp::create(
                                             mb, loc, arith::CmpIPredicate::ne,
                                             i, best);
                                         Value take = arith::AndIOp::create(
                                             mb, loc, other, y.gt(v, m[0]));
                                         return SmallVector<Value>{
                                             y.select(take, v, m[0])};
                                       })[0];
                            gs = x.add(gs, second);
                          }
                          return SmallVector<Value>{x.put(gs, r[0], {g})};
                        })[0];
            // Keep: 1.0 for the topk_groups best groups (repeated argmax).
            Value keep0 = linalg::FillOp::create(
                              tb, loc, ValueRange{et.f32(0)}, ValueRange{g0})
                              .getResult(0);
            SmallVector<Value> kept = et.loop(
                et.idx(0), et.idx(*op.getTopkGroups()), {gscores, keep0},
                [&](OpBuilder &nb, Value, ValueRange r) {
                  Emit x{nb, loc};
                  auto [g, v] = x.argmax(r[0], x.idx(0), x.idx(groups));
                  (void)v;
                  return SmallVector<Value>{x.put(x.negInf(), r[0], {g}),
                                            x.put(x.f32(1), r[1], {g})};
                });
            keys = et.loop(et.idx(0), experts, {keys},
                           [&](OpBuilder &nb, Value i, ValueRange r) {
                             Emit x{nb, loc};
                             Value g = arith::DivUIOp::create(
                                 nb, loc, i, x.idx(perGroup));
                             Value on = x.gt(x.get(kept[1], {g}), x.f32(0.5));
                             Value key = x.select(on, x.get(r[0], {i}),
                                                  x.negInf());
                             return SmallVector<Value>{x.put(key, r[0], {i})};
                           })[0];
          }
          // 4. Top-k by repeated argmax, 5. the chosen experts' scores.
          SmallVector<Value> picked = et.loop(
              et.idx(0), et.idx(k), {s[0], s[1], keys},
              [&](OpBuilder &nb, Value j, ValueRange r) {
                Emit x{nb, loc};
                auto [i, v] = x.argmax(r[2], x.idx(0), experts);
                (void)v;
                Value id = arith::IndexCastOp::create(nb, loc, idType, i);
                return SmallVector<Value>{
                    x.put(id, r[0], {t, j}),
                    x.put(x.get(scores, {i}), r[1], {t, j}),
                    x.put(x.negInf(), r[2], {i})};
              });
          Value ids = picked[0], w = picked[1];
          auto overK = [&](Value init,
                           function_ref<Value(Emit &, Value, Value)> f) {
            return et.loop(et.idx(0), et.idx(k), {init},
                           [&](OpBuilder &nb, Value j, ValueRange r) {
                             Emit x{nb, loc};
                             return SmallVector<Value>{
                                 f(x, x.get(w, {t, j}), r[0])};
                           })[0];
          };
          auto rescale = [&](function_ref<Value(Emit &, Value)> f) {
            w = et.loop(et.idx(0), et.idx(k), {w},
                        [&](OpBuilder &nb, Value j, ValueRange r) {
                          Emit x{nb, loc};
                          return SmallVector<Value>{
                              x.put(f(x, x.get(r[0], {t, j})), r[0], {t, j})};
                        })[0];
          };
          if (scoring == Scoring::topk_softmax) {
            // The chosen logits are in decreasing order: the first is the max.
            Value m = et.get(w, {t, et.idx(0)});
            Value z = overK(et.f32(0), [&](Emit &x, Value v, Value acc) {
              return x.add(acc, x.exp(x.sub(v, m)));
            });
            rescale([&](Emit &x, Value v) {
              return x.div(x.exp(x.sub(v, m)), z);
            });
          }
          if (op.getRenormalize()) {
            Value sum = overK(et.f32(0), [&](Emit &x, Value v, Value acc) {
              return x.add(acc, v);
            });
            rescale([&](Emit &x, Value v) { return x.div(v, sum); });
          }
          if (op.getScaling()) {
            Value f = et.f32(op.getScalingOrDefault());
            rescale([&](Emit &x, Value v) { return x.mul(v, f); });
          }
          return {ids, w};
        });
    Value ids = out[0], w = out[1];
    if (ids.getType() != idsType)
      ids = tensor::CastOp::create(rewriter, loc, idsType, ids);
    if (w.getType() != wType)
      w = tensor::CastOp::create(rewriter, loc, wType, w);
    rewriter.replaceOp(op, {ids, w});
    return success();
  }
};

struct MoELowering : OpRewritePattern<MoEOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MoEOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Emit e{rewriter, loc};
    Type f32 = rewriter.getF32Type();
    Value x = op.getInput();
    auto resultType = cast<RankedTensorType>(op.getResult().getType());
    Value tokens = e.dim(x, 0);
    Value dOut = e.dim(op.getDownWeight(),
                       op.getLayout() == Layout::out_in ? 1 : 2);
    Value experts = e.dim(op.getDownWeight(), 0);
    // x and the biases widened to f32 (exact), so that each expert's glu.ffn
    // computes and returns f32.
    auto widen = [&](Value v) { return widenToF32(rewriter, loc, v); };
    Value xf = widen(x);
    Value gateBias = widen(op.getGateBias()), upBias = widen(op.getUpBias()),
          gateUpBias = widen(op.getGateUpBias()),
          downBias = widen(op.getDownBias());
    Value acc0 = zeros(rewriter, loc, tokens, dOut, rewriter.getF32Type());

    Value acc = e.loop(
        e.idx(0), experts, {acc0},
        [&](OpBuilder &lb, Value ex, ValueRange s) -> SmallVector<Value> {
          Emit el{lb, loc};
          auto slice = [&](Value v) { return sliceStacked(lb, loc, v, ex); };
          auto ffnType = RankedTensorType::get(
              {cast<RankedTensorType>(xf.getType()).getDimSize(0),
               resultType.getDimSize(1)},
              f32);
          auto ffn = FFNOp::create(
              lb, loc, ffnType, xf, slice(op.getGateWeight()),
              slice(op.getUpWeight()), slice(op.getGateUpWeight()),
              slice(op.getDownWeight()), slice(gateBias), slice(upBias),
              slice(gateUpBias), slice(downBias), op.getPackingAttr(),
              op.getLayoutAttr(), op.getActivationAttr(), op.getBetaAttr(),
              op.getAlphaAttr(), op.getLimitAttr(), TypeAttr());
          // The tokens' combine weights for this expert: [T].
          Value ids = op.getExpertIds(), weights = op.getRoutingWeights();
          Value k = el.dim(ids, 1);
          Value c0 = tensor::EmptyOp::create(
              lb, loc, ArrayRef<OpFoldResult>{tokens}, f32);
          Value combine = el.loop(
              el.idx(0), tokens, {c0},
              [&](OpBuilder &tb, Value t, ValueRange r) {
                Emit et{tb, loc};
                Value sum = et.loop(
                    et.idx(0), k, {et.f32(0)},
                    [&](OpBuilder &nb, Value j, ValueRange z) {
                      Emit x{nb, loc};
                      Value id = arith::IndexCastOp::create(
                          nb, loc, nb.getIndexType(), x.get(ids, {t, j}));
                      Value mine = arith::CmpIOp::create(
                          nb, loc, arith::CmpIPredicate::eq, id, ex);
                      Value w = x.toF32(x.get(weights, {t, j}));
                      return SmallVector<Value>{
                          x.select(mine, x.add(z[0], w), z[0])};
                    })[0];
                return SmallVector<Value>{et.put(sum, r[0], {t})};
              })[0];
          // acc += combine[t] * y_e[t, :]
          MLIRContext *ctx = lb.getContext();
          AffineMap id2 = AffineMap::getMultiDimIdentityMap(2, ctx);
          AffineMap row = AffineMap::get(2, 0, getAffineDimExpr(0, ctx));
          auto sum = linalg::GenericOp::create(
              lb, loc, TypeRange{s[0].getType()},
              ValueRange{ffn.getResult(), combine}, ValueRange{s[0]},
              SmallVector<AffineMap>{id2, row, id2},
              SmallVector<utils::IteratorType>(2,
                                               utils::IteratorType::parallel),
              [&](OpBuilder &nb, Location nloc, ValueRange args) {
                Emit x{nb, nloc};
                linalg::YieldOp::create(
                    nb, nloc, x.add(args[2], x.mul(args[1], args[0])));
              });
          return {sum.getResult(0)};
        })[0];
    Value y = biasAndRound(rewriter, loc, acc, Value(), rewriter.getF32Type(),
                           resultType.getElementType() == f32
                               ? rewriter.getF32Type()
                               : cast<FloatType>(resultType.getElementType()));
    if (y.getType() != resultType)
      y = tensor::CastOp::create(rewriter, loc, resultType, y);
    rewriter.replaceOp(op, y);
    return success();
  }
};

} // namespace

void mlir::glu::populateMoEToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<RouteLowering, MoELowering>(patterns.getContext());
}
