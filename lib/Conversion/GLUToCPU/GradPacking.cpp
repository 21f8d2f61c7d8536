//===- GradPacking.cpp - the backward's operands, packed ------------------===//
//
// The buffers of the backward's GEMMs (GradKernels.cpp) and their packing:
// op(B) into f32 panels `[P][K][NR]` (vector row copies, in-register
// transposes of [out, in] weights, scalar loops for strided operands) or
// bf16 panels of k pairs for dot products, op(A) into strips `[RB][K][MR]`;
// and the large buffers, advised to transparent huge pages.
//
//===----------------------------------------------------------------------===//

#include "GradPacking.h"

#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::glu;
using namespace mlir::glu::cpu;
using namespace mlir::glu::cpu::grad;

/// A memref type of `rank` dynamic sizes and strides: the buffer of any
/// tensor, strided slices (an interleaved gate/up weight's half) included.
static MemRefType anyStridedType(MLIRContext *ctx, int64_t rank, Type elem) {
  SmallVector<int64_t> shape(rank, ShapedType::kDynamic);
  SmallVector<int64_t> strides(rank, ShapedType::kDynamic);
  auto layout = StridedLayoutAttr::get(ctx, ShapedType::kDynamic, strides);
  return MemRefType::get(shape, elem, layout);
}

/// Whether the rows of `v` are contiguous in its buffer: all but a slice
/// with a stride along its last dim (the interleaved half of a merged
/// [K, 2F] weight); function arguments and fresh tensors are.
bool grad::unitInnerStride(Value v) {
  while (auto cast = v.getDefiningOp<tensor::CastOp>())
    v = cast.getSource();
  if (auto slice = v.getDefiningOp<tensor::ExtractSliceOp>())
    return isConstantIntValue(slice.getMixedStrides().back(), 1) &&
           unitInnerStride(slice.getSource());
  return true;
}

/// The buffer of a 2-D tensor operand, read only: with a unit inner stride
/// when `unit` (vector loads along rows), else any strides.
Value grad::readBuffer(OpBuilder &b, Location loc, Value tensor, bool unit) {
  auto type = cast<RankedTensorType>(tensor.getType());
  auto dynamic = RankedTensorType::get(
      {ShapedType::kDynamic, ShapedType::kDynamic}, type.getElementType());
  if (type != dynamic)
    tensor = tensor::CastOp::create(b, loc, dynamic, tensor);
  MLIRContext *ctx = b.getContext();
  return bufferization::ToBufferOp::create(
      b, loc,
      unit ? operandMemRefType(ctx, 2, type.getElementType())
           : anyStridedType(ctx, 2, type.getElementType()),
      tensor, /*read_only=*/true);
}

/// `rows` (v vectors of v lanes, v a power of two) transposed in place: for
/// b = v/2, ..., 1, rows i and i + b (bit b of i clear) swap their
/// off-diagonal b x b blocks, one two-source shuffle each (vpermt2ps).
static void transposeSquare(OpBuilder &b, Location loc,
                            SmallVectorImpl<Value> &rows) {
  int64_t v = rows.size();
  for (int64_t blk = v / 2; blk >= 1; blk /= 2) {
    SmallVector<int64_t> lo, hi;
    for (int64_t j = 0; j < v; ++j) {
      // Indices into concat(row i, row i + blk).
      lo.push_back((j & blk) ? v + j - blk : j);
      hi.push_back((j & blk) ? v + j : j + blk);
    }
    for (int64_t i = 0; i < v; ++i) {
      if (i & blk)
        continue;
      Value top = rows[i], bottom = rows[i + blk];
      rows[i] = vector::ShuffleOp::create(b, loc, top, bottom, lo);
      rows[i + blk] = vector::ShuffleOp::create(b, loc, top, bottom, hi);
    }
  }
}

/// `len` elements of row `row` of `buf` from `col` (masked: zero past
/// `limit`, the row's length), as f32.
static Value loadRow(OpBuilder &b, Location loc, Value buf, Value row,
                     Value col, Value limit, int64_t len) {
  IB ib{b, loc};
  Type elem = cast<MemRefType>(buf.getType()).getElementType();
  auto vt = VectorType::get({len}, elem);
  Value mask = vector::CreateMaskOp::create(
      b, loc, VectorType::get({len}, b.getI1Type()),
      ValueRange{ib.sub(limit, col)});
  Value zero = arith::ConstantOp::create(b, loc, vt, b.getZeroAttr(vt));
  Value v = vector::MaskedLoadOp::create(b, loc, vt, buf, ValueRange{row, col},
                                         mask, zero);
  if (!elem.isF32())
    v = arith::ExtFOp::create(b, loc, VectorType::get({len}, b.getF32Type()),
                              v);
  return v;
}

/// `body(i)` for i in [0, n) on all workers (scf.forall).
void grad::parallelFor(OpBuilder &b, Location loc, Value n,
                       function_ref<void(OpBuilder &, Value)> body) {
  scf::ForallOp::create(b, loc, ArrayRef<OpFoldResult>{n}, ValueRange{},
                        std::nullopt,
                        [&](OpBuilder &fb, Location, ValueRange ivs) {
                          body(fb, ivs[0]);
                          scf::InParallelOp::create(fb, loc);
                        });
}

/// A fresh buffer (f32 unless `elem`) of `sizes` whose 2 MB-aligned extents are advised to
/// be backed by transparent huge pages (madvise(MADV_HUGEPAGE), libc): the
/// backward's buffers are tens of MB, allocated and freed on every call,
/// and faulting them in 4 KB pages (a fault and a zeroed page each) took
/// 15 % of its time here, where THP is on `madvise` (Debian's default).
/// Elsewhere the advice fails harmlessly (EINVAL) and changes nothing.
Value grad::allocLarge(OpBuilder &b, Location loc, ArrayRef<Value> sizes,
                       Type elem) {
  IB ib{b, loc};
  if (!elem)
    elem = b.getF32Type();
  Value buf = allocBuffer(b, loc, sizes, elem);
  Value bytes = ib.c(elem.getIntOrFloatBitWidth() / 8);
  for (Value s : sizes)
    bytes = ib.mul(bytes, s);
  adviseHugePages(b, loc, buf, bytes);
  return buf;
}

void grad::adviseHugePages(OpBuilder &b, Location loc, Value buf,
                           Value bytes) {
  constexpr int64_t kHuge = 2 << 20, kAdviseHugePage = 14;
  IB ib{b, loc};
  Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, buf);
  Value mask = ib.c(~(kHuge - 1));
  Value begin = arith::AndIOp::create(b, loc, ib.add(base, ib.c(kHuge - 1)),
                                      mask);
  Value end = arith::AndIOp::create(b, loc, ib.add(base, bytes), mask);
  auto ifOp = scf::IfOp::create(
      b, loc, TypeRange{},
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt, end, begin),
      /*withElse=*/false);
  OpBuilder tb = ifOp.getThenBodyBuilder();
  Type i64 = tb.getI64Type(), i32 = tb.getI32Type();
  auto module =
      b.getInsertionBlock()->getParentOp()->getParentOfType<ModuleOp>();
  auto madvise = module.lookupSymbol<func::FuncOp>("madvise");
  if (!madvise) {
    OpBuilder mb = OpBuilder::atBlockEnd(module.getBody());
    madvise = func::FuncOp::create(
        mb, loc, "madvise", mb.getFunctionType({i64, i64, i32}, {i32}));
    madvise.setPrivate();
  }
  auto toI64 = [&](Value v) -> Value {
    return arith::IndexCastOp::create(tb, loc, i64, v);
  };
  func::CallOp::create(
      tb, loc, madvise,
      ValueRange{toI64(begin), toI64(IB{tb, loc}.sub(end, begin)),
                 arith::ConstantOp::create(
                     tb, loc, i32, tb.getI32IntegerAttr(kAdviseHugePage))});
}

/// Panels of op(B) `[P][K][NR]`: panel p, column j is output n = p·NR + j
/// (zero for n >= N). K goes in blocks of 16 within each column, so a
/// transposed B ([N, K]: each column a contiguous row) and a plain one
/// ([K, N]: 16 rows shared by the panel's columns) are both read from few
/// cache lines while the block is written.
void Packer::packB(Value packed, Value bBuf, bool bT, bool unit, Value k,
                        Value n) {
  if (!bT && unit) {
    // Rows of B are contiguous: a panel row is NR/vec vector copies.
    parallelFor(b, loc, ib.dim(packed, 0), [&](OpBuilder &b1, Value p) {
      IB i1{b1, loc};
      i1.loop(i1.c(0), k, i1.c(1), [&](OpBuilder &b2, Value kk) {
        IB i2{b2, loc};
        for (int64_t j = 0; j < t.nrv; ++j) {
          Value col = i2.add(i2.mul(p, i2.c(t.nr())), i2.c(j * t.vec));
          Value v = loadRow(b2, loc, bBuf, kk, col, n, t.vec);
          vector::StoreOp::create(b2, loc, v, packed,
                                  ValueRange{p, kk, i2.c(j * t.vec)});
        }
      });
    });
    return;
  }
  if (bT && unit) {
    // B is [N, K] with contiguous rows (a weight [out, in]): vec x vec
    // blocks (vec outputs, vec k) loaded as vec row vectors, transposed in
    // registers, stored as vec panel rows.
    int64_t v = t.vec;
    parallelFor(b, loc, ib.dim(packed, 0), [&](OpBuilder &b1, Value p) {
      IB i1{b1, loc};
      i1.loop(i1.c(0), k, i1.c(v), [&](OpBuilder &b2, Value k0) {
        IB i2{b2, loc};
        Value kLeft = i2.sub(k, k0);
        for (int64_t jb = 0; jb < t.nrv; ++jb) {
          SmallVector<Value> rows;
          for (int64_t i = 0; i < v; ++i) {
            Value row = i2.add(i2.mul(p, i2.c(t.nr())), i2.c(jb * v + i));
            // Rows past N: an empty mask (zeros), at a valid row.
            Value limit = arith::SelectOp::create(
                b2, loc, i2.lt(row, n), k, k0);
            rows.push_back(loadRow(b2, loc, bBuf,
                                   i2.min(row, i2.sub(n, i2.c(1))), k0, limit,
                                   v));
          }
          transposeSquare(b2, loc, rows);
          for (int64_t j = 0; j < v; ++j) {
            auto ifOp = scf::IfOp::create(b2, loc, TypeRange{},
                                          i2.lt(i2.c(j), kLeft), false);
            OpBuilder tb = ifOp.getThenBodyBuilder();
            IB it{tb, loc};
            vector::StoreOp::create(
                tb, loc, rows[j], packed,
                ValueRange{p, it.add(k0, it.c(j)), it.c(jb * v)});
          }
        }
      });
    });
    return;
  }
  constexpr int64_t kBlock = 16;
  Type f32 = b.getF32Type();
  Value zero = arith::ConstantOp::create(b, loc, f32, b.getZeroAttr(f32));
  Value last = ib.sub(n, ib.c(1));
  parallelFor(b, loc, ib.dim(packed, 0), [&](OpBuilder &b1, Value p) {
    IB i1{b1, loc};
    i1.loop(i1.c(0), k, i1.c(kBlock), [&](OpBuilder &b2, Value k0) {
      IB i2{b2, loc};
      Value kEnd = i2.min(i2.add(k0, i2.c(kBlock)), k);
      i2.loop(i2.c(0), i2.c(t.nr()), i2.c(1), [&](OpBuilder &b3, Value j) {
        IB i3{b3, loc};
        Value col = i3.add(i3.mul(p, i3.c(t.nr())), j);
        Value valid = i3.lt(col, n);
        Value src = i3.min(col, last);
        i3.loop(k0, kEnd, i3.c(1), [&](OpBuilder &b4, Value kk) {
          Value v = element(b4, bBuf, bT, kk, src);
          v = arith::SelectOp::create(b4, loc, valid, v, zero);
          memref::StoreOp::create(b4, loc, v, packed, ValueRange{p, kk, j});
        });
      });
    });
  });
}

void Packer::packBPairs(Value packed, Value bBuf, bool bT, Value k,
                             Value n) {
  int64_t v = t.vec;
  Type bf16 = b.getBF16Type();
  auto wide = VectorType::get({2 * v}, bf16);
  auto words = VectorType::get({v}, b.getI32Type());
  Value kDim = k;
  Value zero = arith::ConstantOp::create(b, loc, wide, b.getZeroAttr(wide));
  // `len` bf16 of row `row` from `col`, zero past `limit`.
  auto load = [&](OpBuilder &ob, Value row, Value col, Value limit) -> Value {
    IB io{ob, loc};
    Value mask = vector::CreateMaskOp::create(
        ob, loc, VectorType::get({2 * v}, ob.getI1Type()),
        ValueRange{io.sub(limit, col)});
    return vector::MaskedLoadOp::create(ob, loc, wide, bBuf,
                                        ValueRange{row, col}, mask, zero);
  };
  parallelFor(b, loc, ib.dim(packed, 0), [&](OpBuilder &b1, Value p) {
    IB i1{b1, loc};
    if (!bT) {
      // [K, N]: rows 2kp and 2kp + 1 interleaved.
      SmallVector<int64_t> zip;
      for (int64_t i = 0; i < v; ++i)
        zip.append({i, 2 * v + i});
      SmallVector<int64_t> zipHi;
      for (int64_t i = v; i < 2 * v; ++i)
        zipHi.append({i, 2 * v + i});
      // An odd K's last pair is (row K - 1, zeros).
      i1.loop(i1.c(0), i1.ceilDiv(kDim, i1.c(2)), i1.c(1),
              [&](OpBuilder &b2, Value kp) {
        IB i2{b2, loc};
        Value k0 = i2.mul(kp, i2.c(2));
        Value k1 = i2.add(k0, i2.c(1));
        Value second = i2.lt(k1, kDim);
        for (int64_t j = 0; j < t.nrv; j += 2) {
          // 2v columns: two panel vectors of v pairs each.
          Value col = i2.add(i2.mul(p, i2.c(t.nr())), i2.c(j * v));
          Value r0 = load(b2, k0, col, n);
          Value r1 = load(b2, arith::SelectOp::create(b2, loc, second, k1, k0),
                          col,
                          arith::SelectOp::create(b2, loc, second, n, col));
          vector::StoreOp::create(
              b2, loc, vector::ShuffleOp::create(b2, loc, r0, r1, zip), packed,
              ValueRange{p, kp, i2.c(2 * j * v)});
          vector::StoreOp::create(
              b2, loc, vector::ShuffleOp::create(b2, loc, r0, r1, zipHi),
              packed, ValueRange{p, kp, i2.c(2 * (j + 1) * v)});
        }
      });
      return;
    }
    // [N, K]: a k pair of one output is one 32-bit word, contiguous along
    // the row: v x v blocks of words transposed as the f32 panels are.
    i1.loop(i1.c(0), kDim, i1.c(2 * v), [&](OpBuilder &b2, Value k0) {
      IB i2{b2, loc};
      Value pairsLeft = i2.ceilDiv(i2.sub(kDim, k0), i2.c(2));
      Value kp0 = arith::DivUIOp::create(b2, loc, k0, i2.c(2));
      for (int64_t jb = 0; jb < t.nrv; ++jb) {
        SmallVector<Value> rows;
        for (int64_t i = 0; i < v; ++i) {
          Value row = i2.add(i2.mul(p, i2.c(t.nr())), i2.c(jb * v + i));
          Value limit = arith::SelectOp::create(b2, loc, i2.lt(row, n), kDim, k0);
          Value r = load(b2, i2.min(row, i2.sub(n, i2.c(1))), k0, limit);
          rows.push_back(vector::BitCastOp::create(b2, loc, words, r));
        }
        transposeSquare(b2, loc, rows);
        for (int64_t j = 0; j < v; ++j) {
          auto ifOp = scf::IfOp::create(b2, loc, TypeRange{},
                                        i2.lt(i2.c(j), pairsLeft), false);
          OpBuilder tb = ifOp.getThenBodyBuilder();
          IB it{tb, loc};
          vector::StoreOp::create(
              tb, loc, vector::BitCastOp::create(tb, loc, wide, rows[j]),
              packed, ValueRange{p, it.add(kp0, it.c(j)), it.c(2 * jb * v)});
        }
      }
    });
  });
}

/// bf16 strips of k pairs `[ceil(M/MR)][ceil(K/2)][2 MR]` of op(A) = Aᵀ
/// (A: [K, M] bf16, contiguous rows): strip s, pair kp, lane r holds
/// (A[2kp][m], A[2kp + 1][m]) for m = s·MR + r, zero for m >= M and for
/// the second of an odd K's last pair.
void Packer::packAPairsT(Value packed, Value aBuf, Value m, Value k) {
  int64_t mr = t.mr;
  Type bf16 = b.getBF16Type();
  auto rowType = VectorType::get({mr}, bf16);
  auto maskType = VectorType::get({mr}, b.getI1Type());
  Value zero =
      arith::ConstantOp::create(b, loc, rowType, b.getZeroAttr(rowType));
  SmallVector<int64_t> zip;
  for (int64_t i = 0; i < mr; ++i)
    zip.append({i, mr + i});
  parallelFor(b, loc, ib.dim(packed, 0), [&](OpBuilder &b1, Value s) {
    IB i1{b1, loc};
    Value col = i1.mul(s, i1.c(mr));
    Value lanes = i1.sub(m, col);
    i1.loop(i1.c(0), i1.ceilDiv(k, i1.c(2)), i1.c(1),
            [&](OpBuilder &b2, Value kp) {
      IB i2{b2, loc};
      Value k0 = i2.mul(kp, i2.c(2));
      Value k1 = i2.add(k0, i2.c(1));
      Value second = i2.lt(k1, k);
      auto load = [&](Value row, Value count) -> Value {
        Value mask =
            vector::CreateMaskOp::create(b2, loc, maskType, ValueRange{count});
        return vector::MaskedLoadOp::create(b2, loc, rowType, aBuf,
                                            ValueRange{row, col}, mask, zero);
      };
      Value r0 = load(k0, lanes);
      Value r1 = load(arith::SelectOp::create(b2, loc, second, k1, k0),
                      arith::SelectOp::create(b2, loc, second, lanes,
                                              i2.c(0)));
      vector::StoreOp::create(b2, loc,
                              vector::ShuffleOp::create(b2, loc, r0, r1, zip),
                              packed, ValueRange{s, kp, i2.c(0)});
    });
  });
}

/// Row strips of op(A) `[RB][K][MR]`: strip s, lane r is row m = s·MR + r
/// (zero for m >= M).
void Packer::packA(Value packed, Value aBuf, bool aT, bool unit, Value m,
                        Value k) {
  if (aT && unit) {
    // A is [K, M] with contiguous rows: a strip's k is MR consecutive values.
    parallelFor(b, loc, ib.dim(packed, 0), [&](OpBuilder &b1, Value s) {
      IB i1{b1, loc};
      Value col = i1.mul(s, i1.c(t.mr));
      i1.loop(i1.c(0), k, i1.c(1), [&](OpBuilder &b2, Value kk) {
        IB i2{b2, loc};
        Value v = loadRow(b2, loc, aBuf, kk, col, m, t.mr);
        vector::StoreOp::create(b2, loc, v, packed,
                                ValueRange{s, kk, i2.c(0)});
      });
    });
    return;
  }
  Type f32 = b.getF32Type();
  Value zero = arith::ConstantOp::create(b, loc, f32, b.getZeroAttr(f32));
  Value last = ib.sub(m, ib.c(1));
  parallelFor(b, loc, ib.dim(packed, 0), [&](OpBuilder &b1, Value s) {
    IB i1{b1, loc};
    i1.loop(i1.c(0), k, i1.c(1), [&](OpBuilder &b2, Value kk) {
      IB i2{b2, loc};
      for (int64_t r = 0; r < t.mr; ++r) {
        Value row = i2.add(i2.mul(s, i2.c(t.mr)), i2.c(r));
        Value valid = i2.lt(row, m);
        Value v = element(b2, aBuf, aT, i2.min(row, last), kk);
        v = arith::SelectOp::create(b2, loc, valid, v, zero);
        memref::StoreOp::create(b2, loc, v, packed,
                                ValueRange{s, kk, i2.c(r)});
      }
    });
  });
}
