//===- GradKernels.cpp - the backward's GEMMs on packed micro-kernels -----===//
//
// glu.ffn_grad and glu.mlp_grad keep the structure of their reference
// lowering (GradToLinalg.cpp: the recompute, the elementwise derivative, the
// merges, the bias sums, the rounding), but each of their GEMMs
// `init + op(A)·op(B)` comes from here, written as a BLAS library writes one:
//
//  * op(B) ([K, N]: a weight, x, dy or the dropped-out hidden, transposed or
//    not) is packed into f32 panels `[ceil(N/NR)][K][NR]`, zero-padded, by
//    all workers; 16-bit operands are widened there, once.
//  * op(A) ([M, K], transposed for the weight gradients `xᵀ·dg`) is packed
//    into row strips `[ceil(M/MR)][K][MR]`: the micro-kernel broadcasts its
//    MR values of a k from one cache line whatever A's layout, and reads
//    them in order.
//  * The micro-kernel is the forward's (MicroKernel.cpp): MR x NR f32
//    accumulators in vector registers, K in chunks of KC so that a panel's
//    chunk stays in L2 while the strips of a row block use it; here always
//    MR rows (the strips are zero-padded), the rows past M dropped by the
//    epilogue, which adds `init` and stores with a mask for the last panel.
//  * Workers (scf.forall, OpenMP later) take contiguous row ranges when each
//    gets a few strips, else they split the panels (short or few rows).
//
// The micro-kernel runs in a private function per configuration
// (`__glu_cpu_gemm_panel`), shared by every GEMM of the module.
//
//===----------------------------------------------------------------------===//

#include "Kernels.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/X86Vector/X86VectorDialect.h"
#include "mlir/IR/SymbolTable.h"

using namespace mlir;
using namespace mlir::glu;
using namespace mlir::glu::cpu;

namespace {

/// A memref type of `rank` dynamic sizes and strides: the buffer of any
/// tensor, strided slices (an interleaved gate/up weight's half) included.
MemRefType anyStridedType(MLIRContext *ctx, int64_t rank, Type elem) {
  SmallVector<int64_t> shape(rank, ShapedType::kDynamic);
  SmallVector<int64_t> strides(rank, ShapedType::kDynamic);
  auto layout = StridedLayoutAttr::get(ctx, ShapedType::kDynamic, strides);
  return MemRefType::get(shape, elem, layout);
}

/// Whether the rows of `v` are contiguous in its buffer: all but a slice
/// with a stride along its last dim (the interleaved half of a merged
/// [K, 2F] weight); function arguments and fresh tensors are.
bool unitInnerStride(Value v) {
  while (auto cast = v.getDefiningOp<tensor::CastOp>())
    v = cast.getSource();
  if (auto slice = v.getDefiningOp<tensor::ExtractSliceOp>())
    return isConstantIntValue(slice.getMixedStrides().back(), 1) &&
           unitInnerStride(slice.getSource());
  return true;
}

/// The buffer of a 2-D tensor operand, read only: with a unit inner stride
/// when `unit` (vector loads along rows), else any strides.
Value readBuffer(OpBuilder &b, Location loc, Value tensor, bool unit) {
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
void transposeSquare(OpBuilder &b, Location loc, SmallVectorImpl<Value> &rows) {
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
Value loadRow(OpBuilder &b, Location loc, Value buf, Value row, Value col,
              Value limit, int64_t len) {
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
void parallelFor(OpBuilder &b, Location loc, Value n,
                 function_ref<void(OpBuilder &, Value)> body) {
  scf::ForallOp::create(b, loc, ArrayRef<OpFoldResult>{n}, ValueRange{},
                        std::nullopt,
                        [&](OpBuilder &fb, Location, ValueRange ivs) {
                          body(fb, ivs[0]);
                          scf::InParallelOp::create(fb, loc);
                        });
}

/// What a panel function does around the micro-kernel, and so what makes
/// two of them the same code: where A is read, and what the epilogue does
/// with a finished tile of C: store it (plus `init`), or, for `dh = dy·Wdᵀ`
/// fused with the elementwise backward, take the pre-activations at the same
/// place and store the hidden and the gradients of the pre-activations
/// instead of dh. The epilogue's operands follow C's in the panel function:
/// init; or g, u, the biases, then the dg and du results (the hidden is C).
struct PanelConfig {
  /// A is read in place (f32 [M, K] with contiguous rows: the micro-kernel
  /// broadcasts from MR rows, as the forward's does from x) rather than
  /// from packed strips.
  bool directA = false;
  /// bf16 A (in place) and B (panels of k pairs, `[P][K/2][2 NR]`): the
  /// micro-kernel is AVX512-BF16 dot products (vdpbf16ps), as the
  /// forward's first projection.
  bool dot = false;
  bool init = false;
  bool fused = false;
  ActivationSpec spec{};
  bool gated = false, gateBias = false, upBias = false;

  void print(llvm::raw_ostream &os) const {
    auto bits = [](float f) { return llvm::bit_cast<uint32_t>(f); };
    os << directA << ' ' << dot << ' ' << init << ' ' << fused << ' '
       << static_cast<int>(spec.kind) << ' ' << bits(spec.beta) << ' '
       << bits(spec.alpha) << ' ' << bits(spec.limit) << ' ' << gated << ' '
       << gateBias << ' ' << upBias;
  }
};

class GemmEmitter {
public:
  GemmEmitter(OpBuilder &b, Location loc, const Tiling &t)
      : b(b), loc(loc), t(t), ib{b, loc} {}

  /// C's tensor (f32); with a fused epilogue, the hidden, then dg and du
  /// (`extra`: the epilogue's operands, tensors, in PanelConfig's order
  /// without the results). `epi.directA` is decided here.
  SmallVector<Value> emit(Value a, bool aT, Value bMat, bool bT,
                          PanelConfig epi, ArrayRef<Value> extra,
                          const GradWorkspace &ws,
                          llvm::StringMap<func::FuncOp> &panels);

private:
  OpBuilder &b;
  Location loc;
  const Tiling &t;
  IB ib;

  /// The element (row, col) of op(X) for X's buffer `x`, as f32.
  Value element(OpBuilder &ob, Value x, bool transposed, Value row,
                Value col) {
    Value idx[2] = {row, col};
    if (transposed)
      std::swap(idx[0], idx[1]);
    return toF32(ob, loc, memref::LoadOp::create(ob, loc, x, idx));
  }
  /// `unit`: the buffer's rows are contiguous (vector copies where they
  /// run along the panel or strip).
  void packB(Value packed, Value bBuf, bool bT, bool unit, Value k, Value n);
  void packA(Value packed, Value aBuf, bool aT, bool unit, Value m, Value k);
  /// bf16 panels of k pairs `[P][K/2][2 NR]` (element (k, j) at
  /// `[k/2][2j + k%2]`, the operand order of vdpbf16ps), K even, from a
  /// bf16 B with contiguous rows.
  void packBPairs(Value packed, Value bBuf, bool bT, int64_t k, Value n);
  func::FuncOp panelFunction(ModuleOp module, TypeRange types,
                             const PanelConfig &epi,
                             llvm::StringMap<func::FuncOp> &panels);
  static void emitPanelBody(OpBuilder &b, Location loc, const Tiling &t,
                            Block *entry, const PanelConfig &epi);
};

/// Panels of op(B) `[P][K][NR]`: panel p, column j is output n = p·NR + j
/// (zero for n >= N). K goes in blocks of 16 within each column, so a
/// transposed B ([N, K]: each column a contiguous row) and a plain one
/// ([K, N]: 16 rows shared by the panel's columns) are both read from few
/// cache lines while the block is written.
void GemmEmitter::packB(Value packed, Value bBuf, bool bT, bool unit, Value k,
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

/// Row strips of op(A) `[RB][K][MR]`: strip s, lane r is row m = s·MR + r
/// (zero for m >= M).
void GemmEmitter::packBPairs(Value packed, Value bBuf, bool bT, int64_t k,
                             Value n) {
  int64_t v = t.vec;
  Type bf16 = b.getBF16Type();
  auto wide = VectorType::get({2 * v}, bf16);
  auto words = VectorType::get({v}, b.getI32Type());
  Value kDim = ib.c(k);
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
      i1.loop(i1.c(0), i1.c(k / 2), i1.c(1), [&](OpBuilder &b2, Value kp) {
        IB i2{b2, loc};
        Value k0 = i2.mul(kp, i2.c(2));
        for (int64_t j = 0; j < t.nrv; j += 2) {
          // 2v columns: two panel vectors of v pairs each.
          Value col = i2.add(i2.mul(p, i2.c(t.nr())), i2.c(j * v));
          Value r0 = load(b2, k0, col, n);
          Value r1 = load(b2, i2.add(k0, i2.c(1)), col, n);
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

void GemmEmitter::packA(Value packed, Value aBuf, bool aT, bool unit, Value m,
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

/// The body of `__glu_cpu_gemm_panel(apack, bpack, acc, out, [init,] m, n,
/// k, w, p, rowBegin, rows)`: panel p of C for the rows [rowBegin, rowBegin
/// + rows) (rowBegin a multiple of MR), in worker w's accumulators.
void GemmEmitter::emitPanelBody(OpBuilder &b, Location loc, const Tiling &t,
                                Block *entry, const PanelConfig &epi) {
  IB ib{b, loc};
  auto arg = [&](unsigned i) -> Value { return entry->getArgument(i); };
  unsigned next = 0;
  Value apack = arg(next++), bpack = arg(next++), acc = arg(next++),
        out = arg(next++);
  Value init = epi.init ? arg(next++) : Value();
  Value g, u, gateBias, upBias, dgOut, duOut;
  if (epi.fused) {
    g = arg(next++);
    u = epi.gated ? arg(next++) : Value();
    gateBias = epi.gateBias ? arg(next++) : Value();
    upBias = epi.upBias ? arg(next++) : Value();
    dgOut = arg(next++);
    duOut = epi.gated ? arg(next++) : Value();
  }
  Value n = arg(next++), k = arg(next++);
  Value m = arg(next++);
  Value w = arg(next++), p = arg(next++), rowBegin = arg(next++),
        rows = arg(next++);
  Type f32 = b.getF32Type();
  auto vt = VectorType::get({t.vec}, f32);
  Value zero = arith::ConstantOp::create(b, loc, vt, b.getZeroAttr(vt));
  Value strips = ib.ceilDiv(rows, ib.c(t.mr));
  Value firstStrip = arith::DivUIOp::create(b, loc, rowBegin, ib.c(t.mr));
  SmallVector<Value> cols;
  for (int64_t j = 0; j < t.nrv; ++j)
    cols.push_back(ib.c(j * t.vec));

  // Clear the accumulators of the block's strips.
  ib.loop(ib.c(0), ib.mul(strips, ib.c(t.mr)), ib.c(1),
          [&](OpBuilder &lb, Value r) {
            for (Value col : cols)
              vector::StoreOp::create(lb, loc, zero, acc,
                                      ValueRange{w, r, col});
          });
  ib.loop(ib.c(0), k, ib.c(t.kc), [&](OpBuilder &b1, Value k0) {
    IB i1{b1, loc};
    Value k1 = i1.min(i1.add(k0, i1.c(t.kc)), k);
    i1.loop(i1.c(0), strips, i1.c(1), [&](OpBuilder &b2, Value s) {
      IB i2{b2, loc};
      Value strip = i2.add(firstStrip, s);
      SmallVector<Value> accRows, lanes, aRows;
      for (int64_t r = 0; r < t.mr; ++r) {
        accRows.push_back(i2.add(i2.mul(s, i2.c(t.mr)), i2.c(r)));
        lanes.push_back(i2.c(r));
        // In place, the rows past M read the last row (their results are
        // not stored).
        if (epi.directA)
          aRows.push_back(
              i2.min(i2.add(rowBegin, accRows.back()), i2.sub(m, i2.c(1))));
      }
      SmallVector<Value> initAcc;
      for (int64_t r = 0; r < t.mr; ++r)
        for (Value col : cols)
          initAcc.push_back(vector::LoadOp::create(
              b2, loc, vt, acc, ValueRange{w, accRows[r], col}));
      if (epi.dot) {
        // k in pairs: acc[r][j] += A[r, 2kp..2kp+1] · panel[kp][2j..2j+1]
        // for 16 columns at once; k0 and k1 are even.
        Type bf16 = b2.getBF16Type();
        auto pairType = VectorType::get({2}, bf16);
        auto wideType = VectorType::get({2 * t.vec}, bf16);
        auto i32x1 = VectorType::get({1}, b2.getI32Type());
        auto i32xN = VectorType::get({t.vec}, b2.getI32Type());
        Value two = i2.c(2);
        auto loop = scf::ForOp::create(
            b2, loc, arith::DivUIOp::create(b2, loc, k0, two),
            arith::DivUIOp::create(b2, loc, k1, two), i2.c(1), initAcc,
            [&](OpBuilder &lb, Location, Value kp, ValueRange accs) {
              IB il{lb, loc};
              SmallVector<Value> bv;
              for (int64_t j = 0; j < t.nrv; ++j)
                bv.push_back(vector::LoadOp::create(
                    lb, loc, wideType, bpack,
                    ValueRange{p, kp, il.c(2 * j * t.vec)}));
              Value kk = il.mul(kp, two);
              SmallVector<Value> nextAcc;
              for (int64_t r = 0; r < t.mr; ++r) {
                Value pair = vector::LoadOp::create(lb, loc, pairType, apack,
                                                    ValueRange{aRows[r], kk});
                Value word = vector::BitCastOp::create(lb, loc, i32x1, pair);
                Value bcast = vector::BroadcastOp::create(
                    lb, loc, i32xN,
                    vector::ExtractOp::create(lb, loc, word,
                                              ArrayRef<int64_t>{0}));
                Value av = vector::BitCastOp::create(lb, loc, wideType, bcast);
                for (int64_t j = 0; j < t.nrv; ++j)
                  nextAcc.push_back(x86vector::DotBF16Op::create(
                      lb, loc, vt, accs[r * t.nrv + j], av, bv[j]));
              }
              scf::YieldOp::create(lb, loc, nextAcc);
            });
        for (int64_t r = 0; r < t.mr; ++r)
          for (auto [j, col] : llvm::enumerate(cols))
            vector::StoreOp::create(b2, loc, loop.getResult(r * t.nrv + j),
                                    acc, ValueRange{w, accRows[r], col});
        return;
      }
      auto loop = scf::ForOp::create(
          b2, loc, k0, k1, i2.c(1), initAcc,
          [&](OpBuilder &lb, Location, Value kk, ValueRange accs) {
            SmallVector<Value> bv;
            for (Value col : cols)
              bv.push_back(vector::LoadOp::create(lb, loc, vt, bpack,
                                                  ValueRange{p, kk, col}));
            SmallVector<Value> nextAcc;
            for (int64_t r = 0; r < t.mr; ++r) {
              Value av =
                  epi.directA
                      ? memref::LoadOp::create(lb, loc, apack,
                                               ValueRange{aRows[r], kk})
                      : memref::LoadOp::create(
                            lb, loc, apack, ValueRange{strip, kk, lanes[r]});
              av = vector::BroadcastOp::create(lb, loc, vt, av);
              for (int64_t j = 0; j < t.nrv; ++j)
                nextAcc.push_back(vector::FMAOp::create(
                    lb, loc, av, bv[j], accs[r * t.nrv + j]));
            }
            scf::YieldOp::create(lb, loc, nextAcc);
          });
      for (int64_t r = 0; r < t.mr; ++r)
        for (auto [j, col] : llvm::enumerate(cols))
          vector::StoreOp::create(b2, loc, loop.getResult(r * t.nrv + j), acc,
                                  ValueRange{w, accRows[r], col});
    });
  });

  // Epilogue: the block's rows of the panel's columns (masked past N),
  // plus `init`.
  Value colBase = ib.mul(p, ib.c(t.nr()));
  auto maskType = VectorType::get({t.vec}, b.getI1Type());
  ib.loop(ib.c(0), rows, ib.c(1), [&](OpBuilder &lb, Value r) {
    IB il{lb, loc};
    Value row = il.add(rowBegin, r);
    for (Value col : cols) {
      Value v = vector::LoadOp::create(lb, loc, vt, acc, ValueRange{w, r, col});
      Value c = il.add(colBase, col);
      Value mask = vector::CreateMaskOp::create(lb, loc, maskType,
                                                ValueRange{il.sub(n, c)});
      auto load = [&](Value buf, ValueRange at) -> Value {
        return vector::MaskedLoadOp::create(lb, loc, vt, buf, at, mask, zero);
      };
      auto store = [&](Value buf, Value x) {
        vector::MaskedStoreOp::create(lb, loc, buf, ValueRange{row, c}, mask,
                                      x);
      };
      if (init)
        v = arith::AddFOp::create(lb, loc, v, load(init, {row, c}));
      if (!epi.fused) {
        store(out, v);
        continue;
      }
      // v is dh: the reference's elementwise backward (GradToLinalg.cpp)
      // on vectors, the pre-activations read where dh is.
      ScalarBuilder sb(lb, loc, vt);
      Value gv = load(g, {row, c});
      if (gateBias)
        gv = sb.add(gv, load(gateBias, {c}));
      if (!epi.gated) {
        store(out, sb.activation(epi.spec, gv));
        store(dgOut,
              sb.mul(v, activationDerivative(lb, loc, sb, epi.spec, gv)));
        continue;
      }
      Value uv = load(u, {row, c});
      if (upBias)
        uv = sb.add(uv, load(upBias, {c}));
      GatingValues gating =
          gatingWithDerivatives(lb, loc, sb, epi.spec, gv, uv);
      store(out, gating.h);
      store(dgOut, sb.mul(v, gating.dg));
      store(duOut, sb.mul(v, gating.du));
    }
  });
}

func::FuncOp GemmEmitter::panelFunction(ModuleOp module, TypeRange types,
                                        const PanelConfig &epi,
                                        llvm::StringMap<func::FuncOp> &panels) {
  // Everything the body depends on: the tiling and the operand types.
  std::string key;
  llvm::raw_string_ostream os(key);
  os << "gemm " << t.vec << ' ' << t.nrv << ' ' << t.mr << ' ' << t.kc << ' '
     << b.getFunctionType(types, {}) << ' ';
  epi.print(os);
  os << ' '
     << reinterpret_cast<uintptr_t>(module.getOperation());
  auto it = panels.find(key);
  if (it != panels.end())
    return it->second;
  OpBuilder mb = OpBuilder::atBlockEnd(module.getBody());
  auto fn = func::FuncOp::create(mb, loc, "__glu_cpu_gemm_panel",
                                 b.getFunctionType(types, {}));
  SymbolTable(module).insert(fn); // unique name
  fn.setPrivate();
  panels[key] = fn;
  Block *entry = fn.addEntryBlock();
  OpBuilder fb = OpBuilder::atBlockEnd(entry);
  emitPanelBody(fb, loc, t, entry, epi);
  func::ReturnOp::create(fb, loc);
  return fn;
}

/// A fresh buffer (f32 unless `elem`) of `sizes` whose 2 MB-aligned extents are advised to
/// be backed by transparent huge pages (madvise(MADV_HUGEPAGE), libc): the
/// backward's buffers are tens of MB, allocated and freed on every call,
/// and faulting them in 4 KB pages (a fault and a zeroed page each) took
/// 15 % of its time here, where THP is on `madvise` (Debian's default).
/// Elsewhere the advice fails harmlessly (EINVAL) and changes nothing.
Value allocLarge(OpBuilder &b, Location loc, ArrayRef<Value> sizes,
                 Type elem = {}) {
  constexpr int64_t kHuge = 2 << 20, kAdviseHugePage = 14;
  IB ib{b, loc};
  if (!elem)
    elem = b.getF32Type();
  Value buf = allocBuffer(b, loc, sizes, elem);
  Value bytes = ib.c(elem.getIntOrFloatBitWidth() / 8);
  for (Value s : sizes)
    bytes = ib.mul(bytes, s);
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
  return buf;
}

/// `[d0][d1][d2]` (row-major) at the start of the 1-D buffer `ws`.
Value view3D(OpBuilder &b, Location loc, Value ws, Value d0, Value d1,
             int64_t d2) {
  IB ib{b, loc};
  auto type = MemRefType::get(
      {ShapedType::kDynamic, ShapedType::kDynamic, d2}, b.getF32Type(),
      StridedLayoutAttr::get(b.getContext(), 0,
                             {ShapedType::kDynamic, d2, 1}));
  return memref::ReinterpretCastOp::create(
      b, loc, type, ws, b.getIndexAttr(0),
      ArrayRef<OpFoldResult>{d0, d1, b.getIndexAttr(d2)},
      ArrayRef<OpFoldResult>{ib.mul(d1, ib.c(d2)), b.getIndexAttr(d2),
                             b.getIndexAttr(1)});
}

SmallVector<Value> GemmEmitter::emit(Value a, bool aT, Value bMat, bool bT,
                                     PanelConfig epi,
                                     ArrayRef<Value> extra,
                                     const GradWorkspace &ws,
                                     llvm::StringMap<func::FuncOp> &panels) {
  Type f32 = b.getF32Type();
  bool unitA = unitInnerStride(a), unitB = unitInnerStride(bMat);
  Value aBuf = readBuffer(b, loc, a, unitA);
  Value bBuf = readBuffer(b, loc, bMat, unitB);
  auto aType = cast<RankedTensorType>(a.getType());
  auto bType = cast<RankedTensorType>(bMat.getType());
  epi.directA = !aT && unitA && aType.getElementType() == f32;
  // Dot products where both operands are bf16 (the recompute of g, u and
  // dh = dy·Wdᵀ; the others read f32 dg, du or the hidden), K static and
  // even, A in place.
  int64_t kStatic = aType.getDimSize(aT ? 0 : 1);
  epi.dot = t.bf16Dot && t.vec == 16 && t.kc % 2 == 0 && !aT && unitA &&
            unitB && aType.getElementType().isBF16() &&
            bType.getElementType().isBF16() &&
            !ShapedType::isDynamic(kStatic) && kStatic % 2 == 0;
  epi.directA |= epi.dot;
  Value m = ib.dim(aBuf, aT ? 1 : 0), k = ib.dim(aBuf, aT ? 0 : 1);
  Value n = ib.dim(bBuf, bT ? 0 : 1);
  Value nr = ib.c(t.nr()), mr = ib.c(t.mr);
  Value numPanels = ib.ceilDiv(n, nr), numStrips = ib.ceilDiv(m, mr);
  Value bpack;
  if (epi.dot) {
    bpack = allocLarge(b, loc, {numPanels, ib.c(kStatic / 2), ib.c(2 * t.nr())},
                       b.getBF16Type());
    packBPairs(bpack, bBuf, bT, kStatic, n);
  } else {
    bpack = ws.b ? view3D(b, loc, ws.b, numPanels, k, t.nr())
                 : allocBuffer(b, loc, {numPanels, k, nr}, f32);
    packB(bpack, bBuf, bT, unitB, k, n);
  }
  Value apack = aBuf;
  if (!epi.directA) {
    apack = ws.a ? view3D(b, loc, ws.a, numStrips, k, t.mr)
                 : allocBuffer(b, loc, {numStrips, k, mr}, f32);
    packA(apack, aBuf, aT, unitA, m, k);
  }

  // Row blocks of MB rows, a whole number of strips.
  int64_t mb = llvm::divideCeil(t.mb, t.mr) * t.mr;
  Value workers = ib.c(t.workers);
  Value acc = allocBuffer(b, loc, {workers, ib.c(mb), nr}, f32);
  SmallVector<Value> results{allocLarge(b, loc, {m, n})};
  SmallVector<Value> operands{apack, bpack, acc, results[0]};
  // The epilogue's inputs: f32 with a unit inner stride, as its vector
  // loads need (a bias of another type, or an interleaved half of a merged
  // one, copied: F values).
  for (Value v : extra) {
    auto type = cast<RankedTensorType>(v.getType());
    int64_t rank = type.getRank();
    if (rank == 1) {
      v = type.getElementType() == f32
              ? linalg::CopyOp::create(
                    b, loc, ValueRange{v},
                    ValueRange{tensor::EmptyOp::create(
                        b, loc, tensor::getMixedSizes(b, loc, v), f32)})
                    .getResult(0)
              : widenToF32(b, loc, v);
      type = cast<RankedTensorType>(v.getType());
    }
    auto dynamic = RankedTensorType::get(
        SmallVector<int64_t>(rank, ShapedType::kDynamic), f32);
    if (type != dynamic)
      v = tensor::CastOp::create(b, loc, dynamic, v);
    operands.push_back(bufferization::ToBufferOp::create(
        b, loc, operandMemRefType(b.getContext(), rank, f32), v,
        /*read_only=*/true));
  }
  if (epi.fused) {
    for (int i = 0, e = epi.gated ? 2 : 1; i < e; ++i) {
      results.push_back(allocLarge(b, loc, {m, n}));
      operands.push_back(results.back());
    }
  }
  operands.append({n, k, m});
  SmallVector<Type> types(ValueRange(operands).getTypes());
  types.append(4, b.getIndexType()); // w, p, rowBegin, rows
  auto module =
      b.getInsertionBlock()->getParentOp()->getParentOfType<ModuleOp>();
  func::FuncOp fn = panelFunction(module, types, epi, panels);
  auto call = [&](OpBuilder &cb, Value w, Value p, Value rowBegin,
                  Value rows) {
    SmallVector<Value> args(operands);
    args.append({w, p, rowBegin, rows});
    func::CallOp::create(cb, loc, fn, args);
  };

  // Row-parallel when every worker gets a few strips, panel-parallel
  // otherwise (the weight gradients of a short batch, decode).
  Value perWorker = ib.ceilDiv(m, workers);
  Value rowParallel = ib.ge(perWorker, ib.c(std::min<int64_t>(4 * t.mr, mb)));
  auto ifOp = scf::IfOp::create(b, loc, TypeRange{}, rowParallel,
                                /*withElse=*/true);
  {
    // Each worker takes a contiguous range of rows (whole strips).
    OpBuilder tb = ifOp.getThenBodyBuilder();
    IB it{tb, loc};
    Value range = it.mul(it.ceilDiv(perWorker, mr), mr);
    parallelFor(tb, loc, workers, [&](OpBuilder &fb, Value w) {
      IB iw{fb, loc};
      Value begin = iw.min(iw.mul(w, range), m);
      Value end = iw.min(iw.add(begin, range), m);
      iw.loop(begin, end, iw.c(mb), [&](OpBuilder &lb, Value rowBegin) {
        IB il{lb, loc};
        Value rows = il.min(il.c(mb), il.sub(end, rowBegin));
        il.loop(il.c(0), numPanels, il.c(1), [&](OpBuilder &pb, Value p) {
          call(pb, w, p, rowBegin, rows);
        });
      });
    });
  }
  {
    // All rows for each worker, the panels dealt round robin.
    OpBuilder eb = ifOp.getElseBodyBuilder();
    parallelFor(eb, loc, workers, [&](OpBuilder &fb, Value w) {
      IB iw{fb, loc};
      iw.loop(iw.c(0), m, iw.c(mb), [&](OpBuilder &lb, Value rowBegin) {
        IB il{lb, loc};
        Value rows = il.min(il.c(mb), il.sub(m, rowBegin));
        il.loop(w, numPanels, workers, [&](OpBuilder &pb, Value p) {
          call(pb, w, p, rowBegin, rows);
        });
      });
    });
  }
  b.setInsertionPointAfter(ifOp);

  auto dynamicType = RankedTensorType::get(
      {ShapedType::kDynamic, ShapedType::kDynamic}, f32);
  // As static as the operands' types say.
  auto staticType = RankedTensorType::get(
      {aType.getDimSize(aT ? 1 : 0), bType.getDimSize(bT ? 0 : 1)}, f32);
  SmallVector<Value> tensors;
  for (Value r : results) {
    Value c = bufferization::ToTensorOp::create(
        b, loc, dynamicType, r, b.getUnitAttr(), b.getUnitAttr());
    if (staticType != dynamicType)
      c = tensor::CastOp::create(b, loc, staticType, c);
    tensors.push_back(c);
  }
  return tensors;
}

} // namespace

Value cpu::emitGradGemm(OpBuilder &b, Location loc, const Tiling &t, Value a,
                        bool aT, Value bMat, bool bT, Value init,
                        const GradWorkspace &ws,
                        llvm::StringMap<func::FuncOp> &panels) {
  PanelConfig epi;
  epi.init = static_cast<bool>(init);
  SmallVector<Value> extra;
  if (init)
    extra.push_back(init);
  return GemmEmitter(b, loc, t).emit(a, aT, bMat, bT, epi, extra, ws,
                                     panels)[0];
}

GradElementwise cpu::emitFusedGradDown(OpBuilder &b, Location loc,
                                       const Tiling &t,
                                       const ActivationSpec &spec, Value g,
                                       Value u, Value gateBias, Value upBias,
                                       Value dy, Value down, Layout layout,
                                       const GradWorkspace &ws,
                                       llvm::StringMap<func::FuncOp> &panels) {
  PanelConfig epi;
  epi.fused = true;
  epi.spec = spec;
  epi.gated = static_cast<bool>(u);
  epi.gateBias = static_cast<bool>(gateBias);
  epi.upBias = static_cast<bool>(upBias);
  SmallVector<Value> extra{g};
  for (Value v : {u, gateBias, upBias})
    if (v)
      extra.push_back(v);
  // dh = dy·Wdᵀ: Wd is [D, F] (out_in) or [F, D] (in_out).
  SmallVector<Value> r =
      GemmEmitter(b, loc, t).emit(dy, false, down, layout == Layout::in_out,
                                  epi, extra, ws, panels);
  return {r[0], r[1], epi.gated ? r[2] : Value()};
}

GradWorkspace cpu::emitGradWorkspace(OpBuilder &b, Location loc,
                                     const Tiling &t, Operation *op) {
  // Every M, N and K of the op's GEMMs is a dim of one of its operands (the
  // tokens: x's leading dims together), so d = the largest bounds them all.
  IB ib{b, loc};
  Value d = ib.c(1);
  for (Value v : op->getOperands()) {
    auto type = dyn_cast<RankedTensorType>(v.getType());
    if (!type || type.getRank() == 0)
      continue;
    Value tokens = ib.c(1);
    for (int64_t i = 0; i < type.getRank(); ++i) {
      Value size = tensor::DimOp::create(b, loc, v, i);
      d = ib.max(d, size);
      if (i + 1 < type.getRank())
        tokens = ib.mul(tokens, size);
    }
    d = ib.max(d, tokens);
  }
  GradWorkspace ws;
  ws.a = allocLarge(b, loc, {ib.mul(ib.add(d, ib.c(t.mr)), d)});
  ws.b = allocLarge(b, loc, {ib.mul(ib.add(d, ib.c(t.nr())), d)});
  return ws;
}
