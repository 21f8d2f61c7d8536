//===- GradGemm.cpp - The GEMMs of the training ops' lowering -------------===//
//
// A plain linalg.matmul becomes, on the generic path, three loops (m, n, k)
// whose innermost one is the k reduction: about 1.7 GFLOP/s a core here.
// These GEMMs are linalg.generics whose loops, once lowered, run
//
//   for mb: for kb: for n: for mi < 2: for ki < 4:
//     C[2·mb + mi, n] += A[2·mb + mi, 4·kb + ki] · B[4·kb + ki, n]
//
// (K in blocks of 4, rows in pairs, both by tensor.expand_shape): LLVM
// unrolls the two short loops and vectorizes n, contiguous in B and C, so a
// vector of C is loaded and stored once per 8 FMAs and a vector of B serves
// two rows: 59 GFLOP/s a core on a 256×512×1376 product, against 24 with
// neither and 36 with the K blocks only (OpenBLAS: ~95). An scf.forall over
// 32-row tiles of C runs them in parallel (OpenMP in the CPU pipeline); the
// odd last row of a tile and the K % 4 rest get plainer generics.
//
//===----------------------------------------------------------------------===//

#include "GradGemm.h"

#include "glu/Dialect/GLU/Utils/Builders.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::glu;

namespace {

/// Rows of C a parallel task computes.
constexpr int64_t kRowTile = 32;
/// K steps, and rows, unrolled in the innermost loops.
constexpr int64_t kKUnroll = 4;
constexpr int64_t kRowUnroll = 2;

/// One dim of a 2-D operand split into [blocks, factor] (factor 0: kept).
struct Split {
  OpFoldResult blocks;
  int64_t factor = 0;
};

/// `t` (2-D) with each dim split as `splits` says (tensor.expand_shape).
Value expand(OpBuilder &b, Location loc, Value t, ArrayRef<Split> splits) {
  auto type = cast<RankedTensorType>(t.getType());
  SmallVector<int64_t> shape;
  SmallVector<OpFoldResult> sizes;
  SmallVector<ReassociationIndices> groups;
  int64_t next = 0;
  for (int64_t i = 0; i < type.getRank(); ++i) {
    if (!splits[i].factor) {
      shape.push_back(type.getDimSize(i));
      sizes.push_back(tensor::getMixedSize(b, loc, t, i));
      groups.push_back({next++});
      continue;
    }
    std::optional<int64_t> blocks = getConstantIntValue(splits[i].blocks);
    shape.append({blocks ? *blocks : ShapedType::kDynamic, splits[i].factor});
    sizes.append({splits[i].blocks, b.getIndexAttr(splits[i].factor)});
    groups.push_back({next, next + 1});
    next += 2;
  }
  return tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get(shape, type.getElementType()), t, groups,
      sizes);
}

/// The multiply-add body of the GEMM generics: acc + a·b in `accType`.
void multiplyAdd(OpBuilder &b, Location loc, ValueRange args,
                 FloatType accType) {
  ScalarBuilder s(b, loc, accType);
  linalg::YieldOp::create(
      b, loc, s.add(args[2], s.mul(s.convert(args[0]), s.convert(args[1]))));
}

/// `c + op(a)·bm` over (m, k, n): `a` is `[R, K]` (`[K, R]` with `aT`), `bm`
/// `[K, N]`, `c` `[R, N]`; for the K % 4 rest.
Value plainProduct(OpBuilder &b, Location loc, Value a, bool aT, Value bm,
                   Value c, FloatType accType) {
  MLIRContext *ctx = b.getContext();
  AffineExpr m, k, n;
  bindDims(ctx, m, k, n);
  auto map = [&](ArrayRef<AffineExpr> results) {
    return AffineMap::get(3, 0, results, ctx);
  };
  return linalg::GenericOp::create(
             b, loc, TypeRange{c.getType()}, ValueRange{a, bm}, ValueRange{c},
             ArrayRef<AffineMap>{aT ? map({k, m}) : map({m, k}), map({k, n}),
                                 map({m, n})},
             {utils::IteratorType::parallel, utils::IteratorType::reduction,
              utils::IteratorType::parallel},
             [&](OpBuilder &nb, Location nloc, ValueRange args) {
               multiplyAdd(nb, nloc, args, accType);
             })
      .getResult(0);
}

/// The same for R = rowBlocks·rowFactor rows and K = kBlocks·kKUnroll, over
/// (mb, kb, n, mi, ki) as the file comment shows.
Value blockedProduct(OpBuilder &b, Location loc, Value a, bool aT, Value bm,
                     Value c, OpFoldResult rowBlocks, int64_t rowFactor,
                     OpFoldResult kBlocks, FloatType accType) {
  MLIRContext *ctx = b.getContext();
  Split rows{rowBlocks, rowFactor}, ks{kBlocks, kKUnroll}, keep;
  Value a4 = expand(b, loc, a,
                    aT ? ArrayRef<Split>{ks, rows} : ArrayRef<Split>{rows, ks});
  Value b3 = expand(b, loc, bm, {ks, keep});
  Value c3 = expand(b, loc, c, {rows, keep});
  AffineExpr mb, kb, n, mi, ki;
  bindDims(ctx, mb, kb, n, mi, ki);
  auto map = [&](ArrayRef<AffineExpr> results) {
    return AffineMap::get(5, 0, results, ctx);
  };
  Value product =
      linalg::GenericOp::create(
          b, loc, TypeRange{c3.getType()}, ValueRange{a4, b3}, ValueRange{c3},
          ArrayRef<AffineMap>{aT ? map({kb, ki, mb, mi})
                                 : map({mb, mi, kb, ki}),
                              map({kb, ki, n}), map({mb, mi, n})},
          {utils::IteratorType::parallel, utils::IteratorType::reduction,
           utils::IteratorType::parallel, utils::IteratorType::parallel,
           utils::IteratorType::reduction},
          [&](OpBuilder &nb, Location nloc, ValueRange args) {
            multiplyAdd(nb, nloc, args, accType);
          })
          .getResult(0);
  return tensor::CollapseShapeOp::create(
      b, loc, c.getType(), product,
      ArrayRef<ReassociationIndices>{{0, 1}, {2}});
}

/// Whether a size may be nonzero.
bool mayBeNonZero(OpFoldResult size) {
  std::optional<int64_t> value = getConstantIntValue(size);
  return !value || *value != 0;
}

/// `c + op(a)·bm` for the rows of one tile: `a` holds its rows (along dim 1
/// with `aT`), `c` is `[R, N]`; rows in pairs, then the odd last one; K in
/// blocks of kKUnroll, then the rest.
Value tileProduct(OpBuilder &b, Location loc, Value a, bool aT, Value bm,
                  Value c, FloatType accType) {
  AffineExpr s0;
  bindSymbols(b.getContext(), s0);
  auto apply = [&](AffineExpr e, OpFoldResult v) {
    return affine::makeComposedFoldedAffineApply(b, loc, e, {v});
  };
  OpFoldResult rows = tensor::getMixedSize(b, loc, c, 0);
  OpFoldResult cols = tensor::getMixedSize(b, loc, c, 1);
  OpFoldResult k = tensor::getMixedSize(b, loc, bm, 0);
  OpFoldResult kBlocks = apply(s0.floorDiv(kKUnroll), k);
  OpFoldResult kMain = apply(s0.floorDiv(kKUnroll) * kKUnroll, k);
  OpFoldResult kRest = apply(s0 % kKUnroll, k);
  int64_t rowDim = aT ? 1 : 0, kDim = aT ? 0 : 1;
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);

  // Rows [offset, offset + count) of c, `rowFactor` at a time.
  auto rowsProduct = [&](Value cRows, OpFoldResult offset, OpFoldResult count,
                         int64_t rowFactor) {
    Value aRows = sliceFeatures(b, loc, a, rowDim, FeatureRange{offset, count});
    if (mayBeNonZero(kBlocks)) {
      FeatureRange main{zero, kMain};
      cRows = blockedProduct(b, loc, sliceFeatures(b, loc, aRows, kDim, main),
                             aT, sliceFeatures(b, loc, bm, 0, main), cRows,
                             apply(s0.floorDiv(rowFactor), count), rowFactor,
                             kBlocks, accType);
    }
    if (mayBeNonZero(kRest)) {
      FeatureRange rest{kMain, kRest};
      cRows = plainProduct(b, loc, sliceFeatures(b, loc, aRows, kDim, rest), aT,
                           sliceFeatures(b, loc, bm, 0, rest), cRows, accType);
    }
    return cRows;
  };
  OpFoldResult even = apply(s0.floorDiv(kRowUnroll) * kRowUnroll, rows);
  OpFoldResult odd = apply(s0 % kRowUnroll, rows);
  Value result = c;
  if (mayBeNonZero(even)) {
    Value part = sliceFeatures(b, loc, result, 0, FeatureRange{zero, even});
    part = rowsProduct(part, zero, even, kRowUnroll);
    result = tensor::InsertSliceOp::create(b, loc, part, result, {zero, zero},
                                           {even, cols}, {one, one});
  }
  if (mayBeNonZero(odd)) {
    Value part = sliceFeatures(b, loc, result, 0, FeatureRange{even, odd});
    part = rowsProduct(part, even, odd, 1);
    result = tensor::InsertSliceOp::create(b, loc, part, result, {even, zero},
                                           {odd, cols}, {one, one});
  }
  return result;
}

} // namespace

Value grad::gemm(OpBuilder &b, Location loc, Value a, bool aT, Value bMat,
                 bool bT, FloatType accType, Value init, Type) {
  // 16-bit operands widened once (their conversions in the inner loop keep
  // LLVM from vectorizing it: 4.5x slower in bf16).
  if (accType.isF32()) {
    a = widenToF32(b, loc, a);
    bMat = widenToF32(b, loc, bMat);
  }
  if (bT) {
    auto type = cast<RankedTensorType>(bMat.getType());
    Value empty =
        tensor::EmptyOp::create(b, loc,
                                {tensor::getMixedSize(b, loc, bMat, 1),
                                 tensor::getMixedSize(b, loc, bMat, 0)},
                                type.getElementType());
    bMat = linalg::TransposeOp::create(b, loc, bMat, empty,
                                       ArrayRef<int64_t>{1, 0})
               ->getResult(0);
  }
  OpFoldResult rowsTotal = tensor::getMixedSize(b, loc, a, aT ? 1 : 0);
  OpFoldResult cols = tensor::getMixedSize(b, loc, bMat, 1);
  if (!init)
    init = zeros(b, loc, rowsTotal, cols, accType);
  auto forall =
      scf::ForallOp::create(b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(0)},
                            ArrayRef<OpFoldResult>{rowsTotal},
                            ArrayRef<OpFoldResult>{b.getIndexAttr(kRowTile)},
                            ValueRange{init}, std::nullopt);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(forall.getTerminator());
  Value iv = forall.getInductionVars()[0];
  OpFoldResult size = tileSize(b, loc, iv, rowsTotal, kRowTile);
  FeatureRange tile{iv, size};
  Value product = tileProduct(
      b, loc, sliceFeatures(b, loc, a, aT ? 1 : 0, tile), aT, bMat,
      sliceFeatures(b, loc, forall.getRegionIterArgs()[0], 0, tile), accType);
  b.setInsertionPointToStart(forall.getTerminator().getBody());
  tensor::ParallelInsertSliceOp::create(
      b, loc, product, forall.getRegionIterArgs()[0],
      ArrayRef<OpFoldResult>{iv, b.getIndexAttr(0)},
      ArrayRef<OpFoldResult>{size, cols},
      ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
  return forall.getResult(0);
}

Value grad::projectForward(const GradGemmBuilder &gemm, OpBuilder &b,
                           Location loc, Value a, Value w, Layout layout,
                           FloatType accType, Value init) {
  return gemm(b, loc, a, false, w, layout == Layout::out_in, accType, init,
              Type());
}

Value grad::projectBackward(const GradGemmBuilder &gemm, OpBuilder &b,
                            Location loc, Value d, Value w, Layout layout,
                            FloatType accType, Value init, Type store) {
  return gemm(b, loc, d, false, w, layout == Layout::in_out, accType, init,
              store);
}

Value grad::weightGradient(const GradGemmBuilder &gemm, OpBuilder &b,
                           Location loc, Value in, Value out, Layout layout,
                           FloatType accType, Type store) {
  return layout == Layout::out_in
             ? gemm(b, loc, out, true, in, false, accType, Value(), store)
             : gemm(b, loc, in, true, out, false, accType, Value(), store);
}
