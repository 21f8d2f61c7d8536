//===- ExpandFloatConversions.cpp - bf16/f16 conversions without runtime --===//
//
// LLVM lowers `fptrunc float to bfloat` to `vcvtneps2bf16` only on CPUs with
// AVX512_BF16; elsewhere it calls compiler-rt's `__truncsfbf2`, once per
// lane, and so it does for f64 -> bf16/f16 everywhere and for f32 <-> f16
// without F16C. Nothing links compiler-rt into the code we write, so such a
// library fails to load. This pass writes those conversions as integer and
// f32 arithmetic on the bit patterns (vectors stay vectors), the way
// compiler-rt's own helpers compute them.
//
//===----------------------------------------------------------------------===//

#include "glu/Conversion/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::glu {
#define GEN_PASS_DEF_EXPANDFLOATCONVERSIONS
#include "glu/Conversion/Passes.h.inc"
} // namespace mlir::glu

using namespace mlir;

namespace {

/// Builds arith ops on scalars or on vectors of one shape (`like`'s).
struct Bits {
  OpBuilder &b;
  Location loc;
  Type like;

  Type of(Type elem) const {
    if (auto vt = dyn_cast<VectorType>(like))
      return vt.clone(elem);
    return elem;
  }
  Value i(unsigned width, uint64_t v) {
    Type t = of(b.getIntegerType(width));
    APInt value(width, v);
    if (auto shaped = dyn_cast<ShapedType>(t))
      return arith::ConstantOp::create(
          b, loc, t, DenseElementsAttr::get(shaped, ArrayRef<APInt>{value}));
    return arith::ConstantOp::create(b, loc, t, b.getIntegerAttr(t, value));
  }
  Value f32(uint32_t pattern) {
    Type t = of(b.getF32Type());
    APFloat value(APFloat::IEEEsingle(), APInt(32, pattern));
    if (auto shaped = dyn_cast<ShapedType>(t))
      return arith::ConstantOp::create(
          b, loc, t, DenseElementsAttr::get(shaped, ArrayRef<APFloat>{value}));
    return arith::ConstantOp::create(b, loc, t, b.getFloatAttr(t, value));
  }
  Value cast(Type elem, Value v) {
    return arith::BitcastOp::create(b, loc, of(elem), v);
  }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value sub(Value x, Value y) { return arith::SubIOp::create(b, loc, x, y); }
  Value band(Value x, Value y) { return arith::AndIOp::create(b, loc, x, y); }
  Value bor(Value x, Value y) { return arith::OrIOp::create(b, loc, x, y); }
  Value shr(Value x, unsigned n) {
    return arith::ShRUIOp::create(b, loc, x, i(32, n));
  }
  Value shl(Value x, unsigned n) {
    return arith::ShLIOp::create(b, loc, x, i(32, n));
  }
  Value ugt(Value x, Value y) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt, x, y);
  }
  Value uge(Value x, Value y) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge, x, y);
  }
  Value eq(Value x, Value y) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, x, y);
  }
  Value sel(Value c, Value x, Value y) {
    return arith::SelectOp::create(b, loc, c, x, y);
  }
  Value trunc16(Value v) {
    return arith::TruncIOp::create(b, loc, of(b.getI16Type()), v);
  }
  Value ext32(Value v) {
    return arith::ExtUIOp::create(b, loc, of(b.getI32Type()), v);
  }
};

/// f64 -> f32 rounded to odd: the nearest-even result where that is exact
/// (NaN, infinities and every f64 that is an f32 included), else the f32
/// next to `x` toward zero with its last bit set. Rounding that once more to
/// nearest even, to a format at least two bits narrower than f32 (bf16,
/// f16), gives the correctly rounded result of `x` (Boldo and Melquiond,
/// "When double rounding is odd", 2005).
Value roundToOddF32(OpBuilder &b, Location loc, Value x) {
  Bits k{b, loc, x.getType()};
  Type f32 = k.of(b.getF32Type());
  Value t = arith::TruncFOp::create(b, loc, f32, x);
  Value back = arith::ExtFOp::create(b, loc, x.getType(), t);
  using P = arith::CmpFPredicate;
  // Ordered comparisons: false where x is NaN.
  Value inexact = arith::CmpFOp::create(b, loc, P::ONE, back, x);
  Value zero = arith::ConstantOp::create(b, loc, x.getType(),
                                         b.getZeroAttr(x.getType()));
  Value negative = arith::CmpFOp::create(b, loc, P::OLT, x, zero);
  // |t| > |x|: t was rounded away from zero, so t - 1 ulp (its bit pattern
  // minus one, sign and magnitude) is the truncation; |t| > 0 there.
  Value away = k.sel(negative,
                     arith::CmpFOp::create(b, loc, P::OLT, back, x),
                     arith::CmpFOp::create(b, loc, P::OGT, back, x));
  Value bits = k.cast(b.getI32Type(), t);
  Value toward = k.sel(away, k.sub(bits, k.i(32, 1)), bits);
  Value odd = k.bor(toward, k.i(32, 1));
  return k.cast(b.getF32Type(), k.sel(inexact, odd, bits));
}

/// f32 -> bf16, to nearest even; NaN stays a quiet NaN with its sign.
Value bf16FromF32(OpBuilder &b, Location loc, Value x) {
  Bits k{b, loc, x.getType()};
  Value u = k.cast(b.getI32Type(), x);
  Value lsb = k.band(k.shr(u, 16), k.i(32, 1));
  Value rounded = k.shr(k.add(u, k.add(lsb, k.i(32, 0x7fff))), 16);
  Value isNaN = k.ugt(k.band(u, k.i(32, 0x7fffffff)), k.i(32, 0x7f800000));
  Value quiet = k.bor(k.shr(u, 16), k.i(32, 0x40));
  return k.cast(b.getBF16Type(), k.trunc16(k.sel(isNaN, quiet, rounded)));
}

/// f32 -> f16, to nearest even, with f16 subnormals, overflow to Inf and
/// NaN kept (quiet, sign and high payload bits).
Value f16FromF32(OpBuilder &b, Location loc, Value x) {
  Bits k{b, loc, x.getType()};
  Value u = k.cast(b.getI32Type(), x);
  Value sign = k.band(k.shr(u, 16), k.i(32, 0x8000));
  Value a = k.band(u, k.i(32, 0x7fffffff));
  // NaN: quiet it, keep the payload's high bits.
  Value nan = k.bor(k.i(32, 0x7e00), k.band(k.shr(a, 13), k.i(32, 0x3ff)));
  // |x| >= 65520 (f16 max + half an ulp) rounds to Inf; Inf stays Inf.
  Value overflow = k.uge(a, k.i(32, 0x477ff000));
  // Normal f16 (|x| >= 2^-14): rebias the exponent (127 -> 15), round the
  // 13 dropped bits to nearest even; a carry moves into the exponent.
  Value r = k.sub(a, k.i(32, 0x38000000));
  Value rlsb = k.band(k.shr(r, 13), k.i(32, 1));
  Value normal = k.shr(k.add(r, k.add(rlsb, k.i(32, 0xfff))), 13);
  // Subnormal f16: adding 0.5f aligns |x| so that the f32 adder rounds it
  // (to nearest even) to a multiple of 2^-24, the f16 subnormal ulp; the
  // low bits of the sum are then the f16 pattern (0x400 where it rounds up
  // to the smallest normal).
  Value sum = arith::AddFOp::create(b, loc, k.cast(b.getF32Type(), a),
                                    k.f32(0x3f000000));
  Value sub = k.sub(k.cast(b.getI32Type(), sum), k.i(32, 0x3f000000));
  Value h = k.sel(k.uge(a, k.i(32, 0x38800000)), normal, sub);
  h = k.sel(overflow, k.i(32, 0x7c00), h);
  h = k.sel(k.ugt(a, k.i(32, 0x7f800000)), nan, h);
  return k.cast(b.getF16Type(), k.trunc16(k.bor(h, sign)));
}

/// bf16 -> f32: exact, the pattern in the high half.
Value f32FromBF16(OpBuilder &b, Location loc, Value x) {
  Bits k{b, loc, x.getType()};
  Value u = k.ext32(k.cast(b.getI16Type(), x));
  return k.cast(b.getF32Type(), k.shl(u, 16));
}

/// f16 -> f32: exact, subnormals, Inf and NaN included.
Value f32FromF16(OpBuilder &b, Location loc, Value x) {
  Bits k{b, loc, x.getType()};
  Value h = k.ext32(k.cast(b.getI16Type(), x));
  Value sign = k.shl(k.band(h, k.i(32, 0x8000)), 16);
  Value em = k.band(h, k.i(32, 0x7fff));
  Value o = k.shl(em, 13);
  Value exp = k.band(em, k.i(32, 0x7c00));
  Value normal = k.add(o, k.i(32, 0x38000000));   // rebias 15 -> 127
  Value special = k.add(o, k.i(32, 0x70000000));  // exponent 31 -> 255
  // Zero and subnormals: (2^-14 + m·2^-24) - 2^-14, exact in f32.
  Value magic = k.f32(0x38800000);
  Value biased = k.cast(b.getF32Type(), k.add(o, k.i(32, 0x38800000)));
  Value tiny = k.cast(b.getI32Type(),
                      arith::SubFOp::create(b, loc, biased, magic));
  Value r = k.sel(k.eq(exp, k.i(32, 0x7c00)), special, normal);
  r = k.sel(k.eq(exp, k.i(32, 0)), tiny, r);
  return k.cast(b.getF32Type(), k.bor(r, sign));
}

bool isNearestEven(arith::TruncFOp op) {
  std::optional<arith::RoundingMode> mode = op.getRoundingmode();
  return !mode || *mode == arith::RoundingMode::to_nearest_even;
}

struct ExpandTruncF : OpRewritePattern<arith::TruncFOp> {
  ExpandTruncF(MLIRContext *ctx, bool f16)
      : OpRewritePattern(ctx), f16(f16) {}

  LogicalResult matchAndRewrite(arith::TruncFOp op,
                                PatternRewriter &rewriter) const override {
    Type from = getElementTypeOrSelf(op.getIn().getType());
    Type to = getElementTypeOrSelf(op.getType());
    if (!from.isF32() && !from.isF64())
      return rewriter.notifyMatchFailure(op, "not from f32 or f64");
    if (!to.isBF16() && !(to.isF16() && (f16 || from.isF64())))
      return rewriter.notifyMatchFailure(op, "LLVM lowers it inline");
    if (!isNearestEven(op))
      return rewriter.notifyMatchFailure(op, "not to nearest even");
    Location loc = op.getLoc();
    Value x = op.getIn();
    if (from.isF64())
      x = roundToOddF32(rewriter, loc, x);
    Value y;
    if (to.isBF16())
      y = bf16FromF32(rewriter, loc, x);
    else if (f16)
      y = f16FromF32(rewriter, loc, x);
    else
      y = arith::TruncFOp::create(rewriter, loc, op.getType(), x);
    rewriter.replaceOp(op, y);
    return success();
  }

  bool f16;
};

struct ExpandExtF : OpRewritePattern<arith::ExtFOp> {
  ExpandExtF(MLIRContext *ctx, bool f16) : OpRewritePattern(ctx), f16(f16) {}

  LogicalResult matchAndRewrite(arith::ExtFOp op,
                                PatternRewriter &rewriter) const override {
    Type from = getElementTypeOrSelf(op.getIn().getType());
    Type to = getElementTypeOrSelf(op.getType());
    if (!to.isF32() && !to.isF64())
      return rewriter.notifyMatchFailure(op, "not to f32 or f64");
    if (!from.isBF16() && !(from.isF16() && (f16 || to.isF64())))
      return rewriter.notifyMatchFailure(op, "LLVM lowers it inline");
    Location loc = op.getLoc();
    Value x = op.getIn();
    Bits k{rewriter, loc, x.getType()};
    Value y;
    if (from.isBF16())
      y = f32FromBF16(rewriter, loc, x);
    else if (f16)
      y = f32FromF16(rewriter, loc, x);
    else
      y = arith::ExtFOp::create(rewriter, loc, k.of(rewriter.getF32Type()), x);
    if (to.isF64())
      y = arith::ExtFOp::create(rewriter, loc, op.getType(), y);
    rewriter.replaceOp(op, y);
    return success();
  }

  bool f16;
};

/// A select of bf16 (or f16) values as a select of their bit patterns.
struct SelectBits : OpRewritePattern<arith::SelectOp> {
  SelectBits(MLIRContext *ctx, bool f16) : OpRewritePattern(ctx), f16(f16) {}

  LogicalResult matchAndRewrite(arith::SelectOp op,
                                PatternRewriter &rewriter) const override {
    Type elem = getElementTypeOrSelf(op.getType());
    if (!elem.isBF16() && !(f16 && elem.isF16()))
      return rewriter.notifyMatchFailure(op, "not a 16-bit float select");
    Bits k{rewriter, op.getLoc(), op.getType()};
    Type i16 = rewriter.getI16Type();
    Value y = k.sel(op.getCondition(), k.cast(i16, op.getTrueValue()),
                    k.cast(i16, op.getFalseValue()));
    rewriter.replaceOp(op, k.cast(elem, y));
    return success();
  }

  bool f16;
};

struct ExpandFloatConversionsPass
    : glu::impl::ExpandFloatConversionsBase<ExpandFloatConversionsPass> {
  using Base::Base;

  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    glu::populateExpandFloatConversionPatterns(patterns, f16);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void mlir::glu::populateExpandFloatConversionPatterns(
    RewritePatternSet &patterns, bool f16) {
  patterns.add<ExpandTruncF, ExpandExtF, SelectBits>(patterns.getContext(),
                                                      f16);
}
