//===- GLUToCPU.cpp - glu ops to register-tiled CPU kernels ---------------===//
//
// The fast CPU lowering of glu.ffn, glu.mlp and glu.gate_up. Each op becomes
// hand-structured loops on buffers (scf + vector + memref), the way a BLAS
// library is written, rather than going through generic linalg tiling:
//
//  * Weights are packed into panels: a projection with N outputs becomes
//    `[ceil(N / NR)][K][NR]` (NR = 4 vectors, 64 floats with AVX-512), so a
//    micro-kernel streams one contiguous panel. For the gate/up projection a
//    panel holds NR/2 gate features followed by the same NR/2 up features, so
//    one micro-kernel updates both accumulators and gates them in registers.
//    Padding features are zero. Weights that are arguments of a public
//    function are packed once, at load time, by an emitted function
//    `@<func>_pack_weights` (tagged `glu.packing_function`, with `glu.packs`
//    listing the original argument positions it takes); the function then
//    takes the packed panels (tagged `glu.packed_by`). Other weights are
//    packed on every call.
//  * Micro-kernel: MR rows x NR columns of f32 accumulators in vector
//    registers (6 x 4 x vector<16xf32> = 24 of the 32 zmm registers), K in
//    chunks of KC so that the panel chunk stays in L2 while all row blocks of
//    a token block use it; a variant for each row count 1..MR, so decode
//    (1 token) does no wasted work.
//  * Epilogue: bias, activation (vector math, polynomial exp/tanh/erf later
//    in the pipeline) and gating on the accumulators; the hidden of a token
//    block (MB rows) lives in a per-worker f32 scratch and is consumed by the
//    down projection right away: the hidden of the whole batch never exists.
//  * Threads: `scf.forall` over workers (lowered to OpenMP). Prefill splits
//    token blocks between workers; decode and short inputs split the panels
//    of each projection instead, so every core streams its share of weights.
//
// Unsupported configurations (acc_type other than f32) are left alone for the
// reference lowering.
//
//===----------------------------------------------------------------------===//

#include "TuningCache.h"

#include "glu/Conversion/Passes.h"
#include "glu/Dialect/GLU/IR/GLU.h"
#include "glu/Dialect/GLU/Utils/Builders.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/X86Vector/X86VectorDialect.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/SymbolTable.h"

#include "llvm/TargetParser/Host.h"

#include <cstring>
#include <functional>
#include <thread>

namespace mlir::glu {
#define GEN_PASS_DEF_CONVERTGLUTOCPUKERNELS
#include "glu/Conversion/Passes.h.inc"
} // namespace mlir::glu

using namespace mlir;
using namespace mlir::glu;

namespace {

/// Tile sizes and vector width, from the pass options.
struct Tiling {
  int64_t vec;     // f32 lanes of a vector register
  int64_t nrv;     // vectors per micro-kernel row (NR = nrv * vec columns)
  int64_t mr;      // rows of the micro-kernel
  int64_t kc;      // K chunk
  int64_t mb;      // rows of a token block
  int64_t workers; // parallel workers
  bool bf16Dot;    // AVX512-BF16 dot products where x and weights are bf16
  int64_t nr() const { return nrv * vec; }
};

//===----------------------------------------------------------------------===//
// Small IR helpers
//===----------------------------------------------------------------------===//

struct IB {
  OpBuilder &b;
  Location loc;

  Value c(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value sub(Value x, Value y) { return arith::SubIOp::create(b, loc, x, y); }
  Value mul(Value x, Value y) { return arith::MulIOp::create(b, loc, x, y); }
  Value min(Value x, Value y) { return arith::MinSIOp::create(b, loc, x, y); }
  Value max(Value x, Value y) { return arith::MaxSIOp::create(b, loc, x, y); }
  Value ceilDiv(Value x, Value y) {
    return arith::CeilDivSIOp::create(b, loc, x, y);
  }
  Value lt(Value x, Value y) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, x, y);
  }
  Value ge(Value x, Value y) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, x, y);
  }
  Value dim(Value memref, int64_t i) {
    return memref::DimOp::create(b, loc, memref, i);
  }
  /// for (i = lb; i < ub; i += step) body(i)
  void loop(Value lb, Value ub, Value step,
            function_ref<void(OpBuilder &, Value)> body) {
    scf::ForOp::create(b, loc, lb, ub, step, ValueRange{},
                       [&](OpBuilder &nb, Location, Value i, ValueRange) {
                         body(nb, i);
                         scf::YieldOp::create(nb, loc);
                       });
  }
};

/// f32 from a scalar of any float type.
Value toF32(OpBuilder &b, Location loc, Value v) {
  Type f32 = b.getF32Type();
  if (v.getType() == f32)
    return v;
  return arith::ExtFOp::create(b, loc, f32, v);
}

/// `v` (f32 scalar or vector) converted to `elem` (or a vector of it).
Value fromF32(OpBuilder &b, Location loc, Value v, Type elem) {
  Type to = elem;
  if (auto vt = dyn_cast<VectorType>(v.getType()))
    to = VectorType::get(vt.getShape(), elem);
  if (v.getType() == to)
    return v;
  return arith::TruncFOp::create(b, loc, to, v);
}

/// A memref type of `rank` dynamic sizes with any strides except a unit
/// innermost one: what the kernels accept for operands.
MemRefType operandMemRefType(MLIRContext *ctx, int64_t rank, Type elem) {
  SmallVector<int64_t> shape(rank, ShapedType::kDynamic);
  SmallVector<int64_t> strides(rank, ShapedType::kDynamic);
  strides.back() = 1;
  auto layout =
      StridedLayoutAttr::get(ctx, ShapedType::kDynamic, strides);
  return MemRefType::get(shape, elem, layout);
}

Value toBuffer(OpBuilder &b, Location loc, Value tensor) {
  auto type = cast<RankedTensorType>(tensor.getType());
  auto dynamic = RankedTensorType::get(
      SmallVector<int64_t>(type.getRank(), ShapedType::kDynamic),
      type.getElementType());
  if (type != dynamic)
    tensor = tensor::CastOp::create(b, loc, dynamic, tensor);
  return bufferization::ToBufferOp::create(
      b, loc,
      operandMemRefType(b.getContext(), type.getRank(),
                        type.getElementType()),
      tensor, /*read_only=*/true);
}

Value allocBuffer(OpBuilder &b, Location loc, ArrayRef<Value> sizes,
                  Type elem) {
  SmallVector<int64_t> shape(sizes.size(), ShapedType::kDynamic);
  return memref::AllocOp::create(b, loc, MemRefType::get(shape, elem), sizes,
                                 b.getI64IntegerAttr(64));
}

//===----------------------------------------------------------------------===//
// Weight packing
//===----------------------------------------------------------------------===//

/// Where a projection's weight element (feature n, input k) lives.
struct MatrixView {
  Value memref;  // [N, K] (out_in) or [K, N] (in_out)
  Layout layout;
  Value index(OpBuilder &b, Location loc, Value n, Value k) const {
    if (layout == Layout::out_in)
      return memref::LoadOp::create(b, loc, memref, ValueRange{n, k});
    return memref::LoadOp::create(b, loc, memref, ValueRange{k, n});
  }
};

/// The source of a packed panel column: a function of (feature, k) for the
/// features [0, count).
using FeatureReader = std::function<Value(OpBuilder &, Value n, Value k)>;

/// Fills `packed: [P][K][cols]` with `groups` groups of `cols / groups`
/// columns: column j of panel p, group g = j / width, is feature
/// p * width + j % width of `readers[g]`, or 0 beyond `count`. With `pairs`
/// the layout is `[P][K/2][2 * cols]` instead, element (k, j) at
/// `[k / 2][2 * j + k % 2]`: the operand order of AVX512-BF16 dot products.
///
/// Panels are packed in parallel (scf.forall, OpenMP after the pipeline).
/// Within a panel, K goes in blocks of kPackBlock and each column reads its
/// block along K: contiguous for [N, K] weights, and for [K, N] weights the
/// block's kPackBlock rows are shared by the panel's columns; the block's
/// packed rows (kPackBlock x cols) stay in L1 while they are written.
void emitPackLoops(OpBuilder &b, Location loc, Value packed, Value count,
                   Value kDim, int64_t cols, ArrayRef<FeatureReader> readers,
                   bool pairs = false) {
  constexpr int64_t kPackBlock = 16;
  IB ib{b, loc};
  int64_t groups = readers.size();
  int64_t width = cols / groups;
  Type elem = cast<MemRefType>(packed.getType()).getElementType();
  Value panels = ib.dim(packed, 0);
  Value zero = arith::ConstantOp::create(b, loc, elem, b.getZeroAttr(elem));
  Value one = ib.c(1), last = ib.sub(count, one);
  auto body = [&](OpBuilder &b1, Value p) {
    IB i1{b1, loc};
    i1.loop(i1.c(0), kDim, i1.c(kPackBlock), [&](OpBuilder &b2, Value k0) {
      IB i2{b2, loc};
      Value kEnd = i2.min(i2.add(k0, i2.c(kPackBlock)), kDim);
      for (int64_t g = 0; g < groups; ++g) {
        i2.loop(i2.c(0), i2.c(width), i2.c(1), [&](OpBuilder &b3, Value j) {
          IB i3{b3, loc};
          Value n = i3.add(i3.mul(p, i3.c(width)), j);
          Value valid = i3.lt(n, count);
          Value row = i3.min(n, last);
          Value col = i3.add(j, i3.c(g * width));
          i3.loop(k0, kEnd, i3.c(1), [&](OpBuilder &b4, Value k) {
            IB i4{b4, loc};
            Value v = readers[g](b4, row, k);
            if (v.getType() != elem)
              v = elem.getIntOrFloatBitWidth() >
                          v.getType().getIntOrFloatBitWidth()
                      ? (Value)arith::ExtFOp::create(b4, loc, elem, v)
                      : (Value)arith::TruncFOp::create(b4, loc, elem, v);
            v = arith::SelectOp::create(b4, loc, valid, v, zero);
            if (pairs) {
              Value two = i4.c(2);
              Value kk = arith::DivUIOp::create(b4, loc, k, two);
              Value odd = arith::RemUIOp::create(b4, loc, k, two);
              Value pc = i4.add(i4.mul(col, two), odd);
              memref::StoreOp::create(b4, loc, v, packed,
                                      ValueRange{p, kk, pc});
              return;
            }
            memref::StoreOp::create(b4, loc, v, packed, ValueRange{p, k, col});
          });
        });
      }
    });
  };
  scf::ForallOp::create(b, loc, ArrayRef<OpFoldResult>{panels}, ValueRange{},
                        std::nullopt,
                        [&](OpBuilder &fb, Location, ValueRange ivs) {
                          body(fb, ivs[0]);
                          scf::InParallelOp::create(fb, loc);
                        });
}

//===----------------------------------------------------------------------===//
// The lowering of one op
//===----------------------------------------------------------------------===//

/// What the first projection of an op is: the gate/up pair of glu.ffn and
/// glu.gate_up (panels of NR/2 gate and NR/2 up features), or the single
/// projection of glu.mlp (NR features).
struct OpShape {
  bool gated;
  bool hasDown; // false for glu.gate_up: the hidden is the result
  ActivationSpec spec;
  Layout layout;
  // Weights and biases (tensors). Gated: gate/up separate or merged.
  GateUpWeights gu;
  Value up;       // glu.mlp's first projection
  Value upBias;   // glu.mlp's first bias
  Value down, downBias;
  // The first projection uses AVX512-BF16 dot products: x and its weights
  // are bf16, K is static and even; its panels are packed as pairs.
  bool pairs1 = false;
  // round-hidden: the hidden is rounded to bf16 (the block's element type)
  // and the down projection uses dot products too (pairs2).
  bool pairs2 = false;
  bool pairs(bool first) const { return first ? pairs1 : pairs2; }
};

struct Operands;

class KernelBuilder {
public:
  KernelBuilder(OpBuilder &b, Location loc, const Tiling &t, const OpShape &s)
      : b(b), loc(loc), t(t), s(s), ib{b, loc} {}

  /// The packing function body: the first projection's panels, then the
  /// down projection's, from the weight matrices in `mats` (tensor values,
  /// in the order of `matrixOperands`).
  SmallVector<Value> emitPacking(ArrayRef<Value> mats);

  /// The types of what emitPacking returns.
  SmallVector<Type> packedTypes(ArrayRef<Value> mats);

  /// The op's result (tensor), from x and the packed panels.
  /// `nOut` is the number of output columns.
  Value emitCompute(Value x, ArrayRef<Value> packed, Value opResult,
                    Value nOut);

  /// The op's weight matrices, in packing order.
  SmallVector<Value> matrixOperands() const {
    SmallVector<Value> m;
    if (s.gated) {
      if (s.gu.merged)
        m.push_back(s.gu.merged);
      else
        m.append({s.gu.gate, s.gu.up});
    } else {
      m.push_back(s.up);
    }
    if (s.hasDown)
      m.push_back(s.down);
    return m;
  }

private:
  OpBuilder &b;
  Location loc;
  const Tiling &t;
  const OpShape &s;
  IB ib;

  Value vectorLength(Value v) {
    return tensor::DimOp::create(b, loc, v, 0);
  }
  Value outDimOf(Value w) {
    int64_t d = s.layout == Layout::out_in ? 0 : 1;
    return ib.dim(w, d);
  }
  Value inDimOf(Value w) {
    int64_t d = s.layout == Layout::out_in ? 1 : 0;
    return ib.dim(w, d);
  }

  /// A private function running emitPanel for the first (or the down)
  /// projection, so that both ways of splitting the work call one copy of
  /// the micro-kernels; returns a callback emitting a call to it.
  std::function<void(OpBuilder &, Value w, Value hw, Value p, Value rowBegin,
                     Value rows)>
  outlinePanel(bool first, const Operands &ops);
  void emitPanel(Value w, Value p, Value rowBegin, Value rows, bool first,
                 Operands &ops);
  void emitMicroKernel(OpBuilder &b, int64_t mr, Value w, Value hw, Value aRow,
                       Value cRow, Value p, Value k0, Value k1, bool first,
                       bool fromWide, Operands &ops);
  /// Whether a projection's panels hold 16-bit weights that the micro-kernel
  /// widens to f32 (not packed for dot products).
  bool widens(bool first, const Operands &ops) const;
  void emitEpilogue(OpBuilder &b, Value w, Value p, Value rowBegin,
                    Value rows, bool first, Operands &ops);
};

/// The buffers of one lowered op.
struct Operands {
  Value x;            // [M, K] any float
  Value packed1;      // [P1][K][NR] first projection
  Value packed2;      // [P2][F1][NR] down projection (if any)
  Value bias1;        // [P1 * NR] f32 (zero where absent)
  Value bias2;        // [P2 * NR] f32
  Value hidden;       // [workers][MB][P1 * width] f32
  Value acc;          // [workers][MB][NR] f32
  Value out;          // [M, N] result type
  Value m, k, f, n;   // tokens, d_model, hidden features, outputs
  Type outElem;
  Value hiddenShared; // worker index of the hidden scratch (panel mode)
  // [workers][MB][K] f32: the token block of a 16-bit x, widened once for
  // every panel of the first projection (null for f32 x and dot products).
  Value xWide;
  // [workers][KC][NR] f32: one K chunk of a panel of 16-bit weights,
  // widened once for all the row blocks of a token block (null when both
  // projections' panels are f32 or packed for dot products).
  Value wide;
};

SmallVector<Type> KernelBuilder::packedTypes(ArrayRef<Value> mats) {
  SmallVector<Type> types;
  auto packedType = [&](Value w) {
    auto type = cast<RankedTensorType>(w.getType());
    int64_t outD = s.layout == Layout::out_in ? 0 : 1;
    int64_t n = type.getDimSize(outD), k = type.getDimSize(1 - outD);
    int64_t panels = ShapedType::isDynamic(n) ? ShapedType::kDynamic
                                              : llvm::divideCeil(n, t.nr());
    return RankedTensorType::get({panels, k, t.nr()}, type.getElementType());
  };
  unsigned i = 0;
  if (s.gated) {
    if (s.gu.merged) {
      // merged [2F, K]: F features a half, NR/2 a panel
      auto type = cast<RankedTensorType>(mats[0].getType());
      int64_t outD = s.layout == Layout::out_in ? 0 : 1;
      int64_t n2 = type.getDimSize(outD), k = type.getDimSize(1 - outD);
      int64_t panels = ShapedType::isDynamic(n2)
                           ? ShapedType::kDynamic
                           : llvm::divideCeil(n2 / 2, t.nr() / 2);
      types.push_back(
          RankedTensorType::get({panels, k, t.nr()}, type.getElementType()));
      i = 1;
    } else {
      auto type = cast<RankedTensorType>(mats[0].getType());
      int64_t outD = s.layout == Layout::out_in ? 0 : 1;
      int64_t n = type.getDimSize(outD), k = type.getDimSize(1 - outD);
      int64_t panels = ShapedType::isDynamic(n)
                           ? ShapedType::kDynamic
                           : llvm::divideCeil(n, t.nr() / 2);
      Type elem = type.getElementType();
      // Gate and up of different element types are packed as f32.
      Type upElem = cast<RankedTensorType>(mats[1].getType()).getElementType();
      if (upElem != elem)
        elem = Float32Type::get(type.getContext());
      types.push_back(RankedTensorType::get({panels, k, t.nr()}, elem));
      i = 2;
    }
  } else {
    types.push_back(packedType(mats[0]));
    i = 1;
  }
  if (s.pairs1) {
    auto first = cast<RankedTensorType>(types[0]);
    types[0] = RankedTensorType::get(
        {first.getDimSize(0), first.getDimSize(1) / 2, 2 * t.nr()},
        first.getElementType());
  }
  if (s.hasDown) {
    // The down projection's K is the padded hidden width.
    auto type = cast<RankedTensorType>(mats[i].getType());
    int64_t outD = s.layout == Layout::out_in ? 0 : 1;
    int64_t n = type.getDimSize(outD);
    int64_t panels = ShapedType::isDynamic(n) ? ShapedType::kDynamic
                                              : llvm::divideCeil(n, t.nr());
    int64_t k1 = cast<RankedTensorType>(types[0]).getDimSize(0);
    int64_t width = s.gated ? t.nr() / 2 : t.nr();
    int64_t kPadded =
        ShapedType::isDynamic(k1) ? ShapedType::kDynamic : k1 * width;
    if (s.pairs2)
      types.push_back(RankedTensorType::get(
          {panels, ShapedType::isDynamic(kPadded) ? kPadded : kPadded / 2,
           2 * t.nr()},
          type.getElementType()));
    else
      types.push_back(RankedTensorType::get({panels, kPadded, t.nr()},
                                            type.getElementType()));
  }
  return types;
}

SmallVector<Value> KernelBuilder::emitPacking(ArrayRef<Value> mats) {
  SmallVector<Type> types = packedTypes(mats);
  SmallVector<Value> bufs;
  for (Value m : mats)
    bufs.push_back(toBuffer(b, loc, m));
  SmallVector<Value> results;
  auto makePacked = [&](Type tensorType, Value panels, Value k,
                        bool pairs = false) {
    auto tt = cast<RankedTensorType>(tensorType);
    if (pairs)
      return allocBuffer(b, loc,
                         {panels, ib.ceilDiv(k, ib.c(2)), ib.c(2 * t.nr())},
                         tt.getElementType());
    return allocBuffer(b, loc, {panels, k, ib.c(t.nr())},
                       tt.getElementType());
  };
  auto finish = [&](Value packed, Type tensorType) {
    Value tensor = bufferization::ToTensorOp::create(
        b, loc, cast<RankedTensorType>(tensorType).clone(
                    cast<MemRefType>(packed.getType()).getShape()),
        packed, b.getUnitAttr(), b.getUnitAttr());
    if (tensor.getType() != tensorType)
      tensor = tensor::CastOp::create(b, loc, tensorType, tensor);
    results.push_back(tensor);
  };

  unsigned i = 0;
  int64_t width1 = s.gated ? t.nr() / 2 : t.nr();
  Value hiddenPadded;
  if (s.gated) {
    Value count, kDim;
    SmallVector<FeatureReader> readers;
    if (s.gu.merged) {
      MatrixView mv{bufs[0], s.layout};
      count = ib.ceilDiv(outDimOf(bufs[0]), ib.c(2)); // exact: verified even
      kDim = inDimOf(bufs[0]);
      Packing packing = s.gu.packing;
      Value f = count;
      for (int64_t half = 0; half < 2; ++half)
        readers.push_back([=](OpBuilder &bb, Value n, Value k) {
          IB ii{bb, loc};
          Value row = packing == Packing::concat
                          ? (half ? ii.add(n, f) : n)
                          : ii.add(ii.mul(n, ii.c(2)), ii.c(half));
          return mv.index(bb, loc, row, k);
        });
      i = 1;
    } else {
      MatrixView g{bufs[0], s.layout}, u{bufs[1], s.layout};
      count = outDimOf(bufs[0]);
      kDim = inDimOf(bufs[0]);
      readers.push_back([=](OpBuilder &bb, Value n, Value k) {
        return g.index(bb, loc, n, k);
      });
      readers.push_back([=](OpBuilder &bb, Value n, Value k) {
        return u.index(bb, loc, n, k);
      });
      i = 2;
    }
    Value panels = ib.ceilDiv(count, ib.c(width1));
    Value packed = makePacked(types[0], panels, kDim, s.pairs1);
    emitPackLoops(b, loc, packed, count, kDim, t.nr(), readers, s.pairs1);
    finish(packed, types[0]);
    hiddenPadded = ib.mul(panels, ib.c(width1));
  } else {
    MatrixView u{bufs[0], s.layout};
    Value count = outDimOf(bufs[0]), kDim = inDimOf(bufs[0]);
    Value panels = ib.ceilDiv(count, ib.c(width1));
    Value packed = makePacked(types[0], panels, kDim, s.pairs1);
    emitPackLoops(b, loc, packed, count, kDim, t.nr(),
                  {[=](OpBuilder &bb, Value n, Value k) {
                    return u.index(bb, loc, n, k);
                  }},
                  s.pairs1);
    finish(packed, types[0]);
    hiddenPadded = ib.mul(panels, ib.c(width1));
    i = 1;
  }
  if (s.hasDown) {
    MatrixView d{bufs[i], s.layout};
    Value count = outDimOf(bufs[i]), fDim = inDimOf(bufs[i]);
    Value panels = ib.ceilDiv(count, ib.c(t.nr()));
    Value packed = makePacked(types[1], panels, hiddenPadded, s.pairs2);
    // Rows k >= F of the padded hidden are zero weights.
    Value lastK = ib.sub(fDim, ib.c(1));
    Type elem = cast<MemRefType>(bufs[i].getType()).getElementType();
    emitPackLoops(
        b, loc, packed, count, hiddenPadded, t.nr(),
        {[=](OpBuilder &bb, Value n, Value k) -> Value {
          IB ii{bb, loc};
          Value v = d.index(bb, loc, n, ii.min(k, lastK));
          Value zero =
              arith::ConstantOp::create(bb, loc, elem, bb.getZeroAttr(elem));
          return arith::SelectOp::create(bb, loc, ii.lt(k, fDim), v, zero);
        }},
        s.pairs2);
    finish(packed, types[1]);
  }
  return results;
}

/// Emits `acc[rows of this block] (+)= A · panel p` over k in [k0, k1) for
/// `mr` rows: A row `aRow + r` (x, or the worker's hidden), accumulator row
/// `cRow + r` of the worker's scratch.
bool KernelBuilder::widens(bool first, const Operands &ops) const {
  Value packed = first ? ops.packed1 : ops.packed2;
  return !s.pairs(first) &&
         !cast<MemRefType>(packed.getType()).getElementType().isF32();
}

void KernelBuilder::emitMicroKernel(OpBuilder &b, int64_t mr, Value w,
                                    Value hw, Value aRow, Value cRow, Value p,
                                    Value k0, Value k1, bool first,
                                    bool fromWide, Operands &ops) {
  IB ib{b, loc};
  Type f32 = b.getF32Type();
  auto vt = VectorType::get({t.vec}, f32);
  Value a = !first ? ops.hidden : ops.xWide ? ops.xWide : ops.x;
  // A's rows: [M, K] for x, [workers][MB][K] for a worker's scratch.
  bool scratchA = cast<MemRefType>(a.getType()).getRank() == 3;
  Value packed = first ? ops.packed1 : ops.packed2;
  Type wElem = cast<MemRefType>(packed.getType()).getElementType();
  auto wvt = VectorType::get({t.vec}, wElem);

  SmallVector<Value> rowsA, rowsC;
  for (int64_t r = 0; r < mr; ++r) {
    rowsA.push_back(ib.add(aRow, ib.c(r)));
    rowsC.push_back(ib.add(cRow, ib.c(r)));
  }
  SmallVector<Value> cols;
  for (int64_t j = 0; j < t.nrv; ++j)
    cols.push_back(ib.c(j * t.vec));

  SmallVector<Value> init;
  for (int64_t r = 0; r < mr; ++r)
    for (int64_t j = 0; j < t.nrv; ++j)
      init.push_back(vector::LoadOp::create(b, loc, vt, ops.acc,
                                            ValueRange{w, rowsC[r], cols[j]}));
  if (s.pairs(first)) {
    // k in pairs: acc[r][j] += x[r, 2kp..2kp+1] · panel[kp][2j..2j+1] for
    // 16 columns at once (vdpbf16ps); k0 and k1 are even.
    Type bf16 = b.getBF16Type();
    auto pairType = VectorType::get({2}, bf16);
    auto wideType = VectorType::get({2 * t.vec}, bf16);
    auto i32 = b.getI32Type();
    auto i32x1 = VectorType::get({1}, i32);
    auto i32xN = VectorType::get({t.vec}, i32);
    Value two = ib.c(2);
    Value kp0 = arith::DivUIOp::create(b, loc, k0, two);
    Value kp1 = arith::DivUIOp::create(b, loc, k1, two);
    auto loop = scf::ForOp::create(
        b, loc, kp0, kp1, ib.c(1), init,
        [&](OpBuilder &lb, Location, Value kp, ValueRange accs) {
          IB il{lb, loc};
          SmallVector<Value> bv;
          for (int64_t j = 0; j < t.nrv; ++j)
            bv.push_back(vector::LoadOp::create(
                lb, loc, wideType, packed,
                ValueRange{p, kp, il.c(2 * j * t.vec)}));
          Value k = il.mul(kp, two);
          SmallVector<Value> next;
          for (int64_t r = 0; r < mr; ++r) {
            Value pair =
                !scratchA ? vector::LoadOp::create(lb, loc, pairType, a,
                                                   ValueRange{rowsA[r], k})
                          : vector::LoadOp::create(lb, loc, pairType, a,
                                                   ValueRange{hw, rowsA[r], k});
            Value word = vector::BitCastOp::create(lb, loc, i32x1, pair);
            Value bcast = vector::BroadcastOp::create(
                lb, loc, i32xN,
                vector::ExtractOp::create(lb, loc, word, ArrayRef<int64_t>{0}));
            Value av = vector::BitCastOp::create(lb, loc, wideType, bcast);
            for (int64_t j = 0; j < t.nrv; ++j)
              next.push_back(x86vector::DotBF16Op::create(
                  lb, loc, vt, accs[r * t.nrv + j], av, bv[j]));
          }
          scf::YieldOp::create(lb, loc, next);
        });
    for (int64_t r = 0; r < mr; ++r)
      for (int64_t j = 0; j < t.nrv; ++j)
        vector::StoreOp::create(b, loc, loop.getResult(r * t.nrv + j), ops.acc,
                                ValueRange{w, rowsC[r], cols[j]});
    return;
  }
  auto loop = scf::ForOp::create(
      b, loc, k0, k1, ib.c(1), init,
      [&](OpBuilder &lb, Location, Value k, ValueRange accs) {
        SmallVector<Value> bv;
        for (int64_t j = 0; j < t.nrv; ++j) {
          if (fromWide) {
            Value kk = arith::SubIOp::create(lb, loc, k, k0);
            bv.push_back(vector::LoadOp::create(lb, loc, vt, ops.wide,
                                                ValueRange{w, kk, cols[j]}));
            continue;
          }
          Value v = vector::LoadOp::create(lb, loc, wvt, packed,
                                           ValueRange{p, k, cols[j]});
          if (wElem != f32)
            v = arith::ExtFOp::create(lb, loc, vt, v);
          bv.push_back(v);
        }
        SmallVector<Value> next;
        for (int64_t r = 0; r < mr; ++r) {
          Value av = !scratchA ? memref::LoadOp::create(lb, loc, a,
                                                        ValueRange{rowsA[r], k})
                               : memref::LoadOp::create(
                                     lb, loc, a, ValueRange{hw, rowsA[r], k});
          av = vector::BroadcastOp::create(lb, loc, vt, toF32(lb, loc, av));
          for (int64_t j = 0; j < t.nrv; ++j)
            next.push_back(vector::FMAOp::create(lb, loc, av, bv[j],
                                                 accs[r * t.nrv + j]));
        }
        scf::YieldOp::create(lb, loc, next);
      });
  for (int64_t r = 0; r < mr; ++r)
    for (int64_t j = 0; j < t.nrv; ++j)
      vector::StoreOp::create(b, loc, loop.getResult(r * t.nrv + j), ops.acc,
                              ValueRange{w, rowsC[r], cols[j]});
}

/// After the K loop of panel p: bias, activation/gating (first projection)
/// and the store, for rows [rowBegin, rowBegin + rows) of the input.
void KernelBuilder::emitEpilogue(OpBuilder &b, Value w, Value p,
                                 Value rowBegin, Value rows, bool first,
                                 Operands &ops) {
  IB ib{b, loc};
  Type f32 = b.getF32Type();
  auto vt = VectorType::get({t.vec}, f32);
  Value nr = ib.c(t.nr());
  Value biasBase = ib.mul(p, nr);
  SmallVector<Value> bias;
  for (int64_t j = 0; j < t.nrv; ++j)
    bias.push_back(vector::LoadOp::create(
        b, loc, vt, first ? ops.bias1 : ops.bias2,
        ValueRange{ib.add(biasBase, ib.c(j * t.vec))}));
  // Hidden columns of this panel / output columns.
  int64_t width = (first && s.gated) ? t.nr() / 2 : t.nr();
  Value colBase = ib.mul(p, ib.c(width));
  bool toHidden = first && s.hasDown;
  Value hw = ops.hiddenShared ? ops.hiddenShared : w;

  ib.loop(ib.c(0), rows, ib.c(1), [&](OpBuilder &lb, Value r) {
    IB il{lb, loc};
    SmallVector<Value> acc;
    for (int64_t j = 0; j < t.nrv; ++j) {
      Value v = vector::LoadOp::create(lb, loc, vt, ops.acc,
                                       ValueRange{w, r, il.c(j * t.vec)});
      acc.push_back(arith::AddFOp::create(lb, loc, v, bias[j]));
    }
    SmallVector<Value> vals;
    if (first) {
      ScalarBuilder sb(lb, loc, vt);
      if (s.gated) {
        int64_t half = t.nrv / 2;
        for (int64_t j = 0; j < half; ++j)
          vals.push_back(sb.gate(s.spec, acc[j], acc[j + half]));
      } else {
        for (int64_t j = 0; j < t.nrv; ++j)
          vals.push_back(sb.activation(s.spec, acc[j]));
      }
    } else {
      vals = acc;
    }
    Value row = il.add(rowBegin, r);
    for (auto [j, v] : llvm::enumerate(vals)) {
      Value col = il.add(colBase, il.c(j * t.vec));
      if (toHidden) {
        // The worker's hidden scratch is indexed by row within the block.
        Type hElem = cast<MemRefType>(ops.hidden.getType()).getElementType();
        vector::StoreOp::create(lb, loc, fromF32(lb, loc, v, hElem), ops.hidden,
                                ValueRange{hw, r, col});
        continue;
      }
      Value remaining = il.sub(ops.n, col);
      auto maskType = VectorType::get({t.vec}, lb.getI1Type());
      Value mask = vector::CreateMaskOp::create(lb, loc, maskType,
                                                ValueRange{remaining});
      vector::MaskedStoreOp::create(lb, loc, ops.out, ValueRange{row, col},
                                    mask, fromF32(lb, loc, v, ops.outElem));
    }
  });
}

/// One panel of a projection for the rows [rowBegin, rowBegin + rows) of its
/// input (x rows for the first projection; rows of the worker's hidden
/// scratch, whose row 0 is output row rowBegin, for the down projection).
void KernelBuilder::emitPanel(Value w, Value p, Value rowBegin, Value rows,
                              bool first, Operands &ops) {
  Type f32 = b.getF32Type();
  auto vt = VectorType::get({t.vec}, f32);
  Value zero = arith::ConstantOp::create(b, loc, vt, b.getZeroAttr(vt));
  // Clear the accumulators of the block's rows.
  ib.loop(ib.c(0), rows, ib.c(1), [&](OpBuilder &lb, Value r) {
    for (int64_t j = 0; j < t.nrv; ++j)
      vector::StoreOp::create(lb, loc, zero, ops.acc,
                              ValueRange{w, r, IB{lb, loc}.c(j * t.vec)});
  });
  Value kTotal = first ? ops.k : ib.dim(ops.packed2, 1);
  if (!first && s.pairs2)
    kTotal = ib.mul(kTotal, ib.c(2));
  // x rows by their index in x; a scratch's rows by their index in the block.
  Value aBase = (first && !ops.xWide) ? rowBegin : ib.c(0);
  Value hw = ops.hiddenShared ? ops.hiddenShared : w;
  bool widen = widens(first, ops);
  ib.loop(ib.c(0), kTotal, ib.c(t.kc), [&](OpBuilder &b1, Value k0) {
    IB i1{b1, loc};
    Value k1 = i1.min(i1.add(k0, i1.c(t.kc)), kTotal);
    Value blocks = i1.ceilDiv(rows, i1.c(t.mr));
    // All row blocks of the token block, each through the micro-kernel of
    // its row count.
    auto rowBlocks = [&](OpBuilder &bb0, bool fromWide) {
      IB i1{bb0, loc};
      i1.loop(i1.c(0), blocks, i1.c(1), [&](OpBuilder &b2, Value rb) {
        IB i2{b2, loc};
        Value cRow = i2.mul(rb, i2.c(t.mr));
        Value count = i2.min(i2.sub(rows, cRow), i2.c(t.mr));
        SmallVector<int64_t> cases;
        for (int64_t c = 1; c < t.mr; ++c)
          cases.push_back(c);
        auto sw = scf::IndexSwitchOp::create(b2, loc, TypeRange{}, count,
                                             cases, cases.size());
        auto fill = [&](Region &region, int64_t mr) {
          Block *block = b2.createBlock(&region);
          OpBuilder bb = OpBuilder::atBlockEnd(block);
          Value aRow = IB{bb, loc}.add(aBase, cRow);
          emitMicroKernel(bb, mr, w, hw, aRow, cRow, p, k0, k1, first,
                          fromWide, ops);
          scf::YieldOp::create(bb, loc);
        };
        for (auto [i, c] : llvm::enumerate(cases))
          fill(sw.getCaseRegions()[i], c);
        fill(sw.getDefaultRegion(), t.mr);
        b2.setInsertionPointAfter(sw);
      });
    };
    if (!widen) {
      rowBlocks(b1, /*fromWide=*/false);
      return;
    }
    // 16-bit weights: with several row blocks, the chunk is widened to f32
    // once, into the worker's scratch (KC x NR floats, in L2), and every
    // row block's micro-kernel runs on f32 as for f32 weights; widening in
    // the micro-kernel would repeat the conversion (a shuffle and a shift
    // for each vector, on the FMA ports of Intel's cores) for each row
    // block. A single row block (decode) widens as it streams.
    auto ifOp = scf::IfOp::create(b1, loc, TypeRange{},
                                  i1.ge(blocks, i1.c(2)), /*withElse=*/true);
    {
      OpBuilder tb = ifOp.getThenBodyBuilder();
      IB it{tb, loc};
      Value packed = first ? ops.packed1 : ops.packed2;
      Type wElem = cast<MemRefType>(packed.getType()).getElementType();
      auto wvt = VectorType::get({t.vec}, wElem);
      auto vt = VectorType::get({t.vec}, b.getF32Type());
      it.loop(k0, k1, it.c(1), [&](OpBuilder &lb, Value k) {
        IB il{lb, loc};
        Value kk = il.sub(k, k0);
        for (int64_t j = 0; j < t.nrv; ++j) {
          Value col = il.c(j * t.vec);
          Value v = vector::LoadOp::create(lb, loc, wvt, packed,
                                           ValueRange{p, k, col});
          v = arith::ExtFOp::create(lb, loc, vt, v);
          vector::StoreOp::create(lb, loc, v, ops.wide,
                                  ValueRange{w, kk, col});
        }
      });
      rowBlocks(tb, /*fromWide=*/true);
    }
    OpBuilder eb = ifOp.getElseBodyBuilder();
    rowBlocks(eb, /*fromWide=*/false);
  });
  emitEpilogue(b, w, p, rowBegin, rows, first, ops);
}

std::function<void(OpBuilder &, Value, Value, Value, Value, Value)>
KernelBuilder::outlinePanel(bool first, const Operands &ops) {
  Value a = !first ? ops.hidden : ops.xWide ? ops.xWide : ops.x;
  Value packed = first ? ops.packed1 : ops.packed2;
  Value bias = first ? ops.bias1 : ops.bias2;
  Value dest = (first && s.hasDown) ? ops.hidden : ops.out;
  SmallVector<Value> operands{a, packed, bias, ops.acc, dest, ops.k, ops.n};
  if (ops.wide)
    operands.push_back(ops.wide);
  unsigned base = operands.size(); // then w, hw, p, rowBegin, rows
  SmallVector<Type> types;
  for (Value v : operands)
    types.push_back(v.getType());
  Type index = b.getIndexType();
  types.append(5, index); // w, hw, p, rowBegin, rows

  auto module =
      b.getInsertionBlock()->getParentOp()->getParentOfType<ModuleOp>();
  OpBuilder mb = OpBuilder::atBlockEnd(module.getBody());
  auto fn = func::FuncOp::create(mb, loc,
                                 first ? "__glu_cpu_panel" : "__glu_cpu_down_panel",
                                 mb.getFunctionType(types, {}));
  SymbolTable(module).insert(fn); // unique name
  fn.setPrivate();
  Block *entry = fn.addEntryBlock();
  OpBuilder fb = OpBuilder::atBlockEnd(entry);
  Operands local = ops;
  auto arg = [&](unsigned i) { return entry->getArgument(i); };
  if (first) {
    (ops.xWide ? local.xWide : local.x) = arg(0);
    local.packed1 = arg(1);
    local.bias1 = arg(2);
  } else {
    local.hidden = arg(0);
    local.packed2 = arg(1);
    local.bias2 = arg(2);
  }
  local.acc = arg(3);
  if (first && s.hasDown)
    local.hidden = arg(4);
  else
    local.out = arg(4);
  local.k = arg(5);
  local.n = arg(6);
  local.wide = ops.wide ? arg(7) : Value();
  local.hiddenShared = arg(base + 1);
  KernelBuilder(fb, loc, t, s)
      .emitPanel(arg(base), arg(base + 2), arg(base + 3), arg(base + 4), first,
                 local);
  func::ReturnOp::create(fb, loc);

  return [=](OpBuilder &cb, Value w, Value hw, Value p, Value rowBegin,
             Value rows) {
    SmallVector<Value> args(operands);
    args.append({w, hw, p, rowBegin, rows});
    func::CallOp::create(cb, loc, fn, args);
  };
}

Value KernelBuilder::emitCompute(Value x, ArrayRef<Value> packed,
                                 Value opResult, Value nOut) {
  Operands ops;
  Type f32 = b.getF32Type();
  auto resultType = cast<RankedTensorType>(opResult.getType());
  ops.outElem = resultType.getElementType();
  Value x2 = flattenTokens(b, loc, x);
  ops.x = toBuffer(b, loc, x2);
  ops.packed1 = toBuffer(b, loc, packed[0]);
  if (s.hasDown)
    ops.packed2 = toBuffer(b, loc, packed[1]);
  ops.m = ib.dim(ops.x, 0);
  ops.k = ib.dim(ops.x, 1);
  int64_t width1 = s.gated ? t.nr() / 2 : t.nr();
  Value panels1 = ib.dim(ops.packed1, 0);
  Value hiddenPadded = ib.mul(panels1, ib.c(width1));
  Value panels2 = s.hasDown ? ib.dim(ops.packed2, 0) : Value();
  // Padding features have zero weights and biases: their hidden values are
  // finite and meet zero rows of the packed down weight, so only the output
  // columns need to be known.
  ops.n = nOut;

  // Biases, gathered once per call into the panel order (f32, 0 if absent).
  auto biasBuffer = [&](Value panels, int64_t groups,
                        ArrayRef<std::function<Value(OpBuilder &, Value)>>
                            readers,
                        Value count) {
    count = count ? count : ib.c(0);
    Value buf = allocBuffer(b, loc, {ib.mul(panels, ib.c(t.nr()))}, f32);
    int64_t w = t.nr() / groups;
    Value zero = arith::ConstantOp::create(b, loc, f32, b.getZeroAttr(f32));
    ib.loop(ib.c(0), panels, ib.c(1), [&](OpBuilder &b1, Value p) {
      for (int64_t g = 0; g < groups; ++g) {
        IB i1{b1, loc};
        i1.loop(i1.c(0), i1.c(w), i1.c(1), [&](OpBuilder &b2, Value j) {
          IB i2{b2, loc};
          Value n = i2.add(i2.mul(p, i2.c(w)), j);
          Value pos = i2.add(i2.mul(p, i2.c(t.nr())), i2.add(j, i2.c(g * w)));
          Value v = zero;
          if (readers[g]) {
            auto ifOp = scf::IfOp::create(
                b2, loc, TypeRange{f32}, i2.lt(n, count), /*else=*/true);
            OpBuilder tb = ifOp.getThenBodyBuilder();
            scf::YieldOp::create(tb, loc, toF32(tb, loc, readers[g](tb, n)));
            OpBuilder eb = ifOp.getElseBodyBuilder();
            scf::YieldOp::create(eb, loc, zero);
            v = ifOp.getResult(0);
          }
          memref::StoreOp::create(b2, loc, v, buf, ValueRange{pos});
        });
      }
    });
    return buf;
  };
  auto reader = [&](Value vec, Value offset, int64_t stride) {
    std::function<Value(OpBuilder &, Value)> fn;
    if (!vec)
      return fn;
    Value buf = toBuffer(b, loc, vec);
    fn = [=](OpBuilder &bb, Value n) -> Value {
      IB ii{bb, loc};
      Value idx = ii.add(ii.mul(n, ii.c(stride)), offset);
      return memref::LoadOp::create(bb, loc, buf, ValueRange{idx});
    };
    return fn;
  };
  if (s.gated) {
    std::function<Value(OpBuilder &, Value)> g, u;
    if (s.gu.merged) {
      Value count;
      if (s.gu.mergedBias) {
        bool concat = s.gu.packing == Packing::concat;
        count = ib.ceilDiv(vectorLength(s.gu.mergedBias), ib.c(2));
        g = reader(s.gu.mergedBias, ib.c(0), concat ? 1 : 2);
        u = reader(s.gu.mergedBias, concat ? count : ib.c(1), concat ? 1 : 2);
      }
      ops.bias1 = biasBuffer(panels1, 2, {g, u}, count);
    } else {
      g = reader(s.gu.gateBias, ib.c(0), 1);
      u = reader(s.gu.upBias, ib.c(0), 1);
      Value count = s.gu.gateBias  ? vectorLength(s.gu.gateBias)
                    : s.gu.upBias ? vectorLength(s.gu.upBias)
                                  : Value();
      ops.bias1 = biasBuffer(panels1, 2, {g, u}, count);
    }
  } else {
    ops.bias1 = biasBuffer(panels1, 1, {reader(s.upBias, ib.c(0), 1)},
                           s.upBias ? vectorLength(s.upBias) : Value());
  }
  if (s.hasDown)
    ops.bias2 = biasBuffer(panels2, 1, {reader(s.downBias, ib.c(0), 1)},
                           s.downBias ? vectorLength(s.downBias) : Value());

  // Scratch and result.
  Value workers = ib.c(t.workers);
  ops.acc = allocBuffer(b, loc, {workers, ib.c(t.mb), ib.c(t.nr())}, f32);
  if (widens(true, ops) || (s.hasDown && widens(false, ops)))
    ops.wide = allocBuffer(b, loc, {workers, ib.c(t.kc), ib.c(t.nr())}, f32);
  // A 16-bit x is widened to f32 once per token block, so that the
  // micro-kernels broadcast it from memory (a load, no shuffle) as they do
  // an f32 x; every panel of the first projection reuses it.
  bool widenX = !s.pairs1 &&
                !cast<MemRefType>(ops.x.getType()).getElementType().isF32();
  if (widenX)
    ops.xWide = allocBuffer(b, loc, {workers, ib.c(t.mb), ops.k}, f32);
  auto widenBlock = [&](OpBuilder &ob, Value slot, Value rowBegin,
                        Value rows) {
    if (!widenX)
      return;
    IB io{ob, loc};
    io.loop(io.c(0), rows, io.c(1), [&](OpBuilder &rb, Value r) {
      IB ir{rb, loc};
      Value row = ir.add(rowBegin, r);
      ir.loop(ir.c(0), ops.k, ir.c(1), [&](OpBuilder &kb, Value k) {
        Value v = memref::LoadOp::create(kb, loc, ops.x, ValueRange{row, k});
        memref::StoreOp::create(kb, loc, toF32(kb, loc, v), ops.xWide,
                                ValueRange{slot, r, k});
      });
    });
  };
  ops.hidden = s.hasDown ? allocBuffer(b, loc, {workers, ib.c(t.mb),
                                                hiddenPadded},
                                       s.pairs2 ? Type(b.getBF16Type()) : f32)
                         : Value();
  ops.out = allocBuffer(b, loc, {ops.m, ops.n}, ops.outElem);

  // Token-parallel when every worker gets a few micro-kernel row blocks,
  // panel-parallel otherwise (decode).
  Value perWorker = ib.ceilDiv(ops.m, workers);
  Value tokenParallel =
      ib.ge(perWorker, ib.c(std::min<int64_t>(4 * t.mr, t.mb)));
  auto ifOp = scf::IfOp::create(b, loc, TypeRange{}, tokenParallel,
                                /*withElse=*/true);
  auto forall = [&](OpBuilder &ob, function_ref<void(OpBuilder &, Value)> fn) {
    scf::ForallOp::create(ob, loc, ArrayRef<OpFoldResult>{ob.getIndexAttr(
                                       t.workers)},
                          ValueRange{}, std::nullopt,
                          [&](OpBuilder &fb, Location, ValueRange ivs) {
                            fn(fb, ivs[0]);
                            scf::InParallelOp::create(fb, loc);
                          });
  };
  auto panel1 = outlinePanel(true, ops);
  auto panel2 = s.hasDown ? outlinePanel(false, ops) : nullptr;
  {
    // Each worker takes one contiguous range of tokens (a multiple of MR
    // rows, so that only the last range has a partial row block) in blocks
    // of at most MB tokens.
    OpBuilder tb = ifOp.getThenBodyBuilder();
    IB it{tb, loc};
    Value range = it.mul(it.ceilDiv(perWorker, it.c(t.mr)), it.c(t.mr));
    forall(tb, [&](OpBuilder &fb, Value w) {
      IB iw{fb, loc};
      Value begin = iw.min(iw.mul(w, range), ops.m);
      Value end = iw.min(iw.add(begin, range), ops.m);
      iw.loop(begin, end, iw.c(t.mb), [&](OpBuilder &lb, Value rowBegin) {
        IB il{lb, loc};
        Value rows = il.min(il.c(t.mb), il.sub(end, rowBegin));
        widenBlock(lb, w, rowBegin, rows);
        il.loop(il.c(0), panels1, il.c(1), [&](OpBuilder &pb, Value p) {
          panel1(pb, w, w, p, rowBegin, rows);
        });
        if (s.hasDown)
          il.loop(il.c(0), panels2, il.c(1), [&](OpBuilder &pb, Value q) {
            panel2(pb, w, w, q, rowBegin, rows);
          });
      });
    });
  }
  {
    // Blocks of MB tokens one after the other; within a block, the workers
    // split each projection's panels (the first projection's finish before
    // the down projection starts: the end of a forall is a barrier).
    OpBuilder eb = ifOp.getElseBodyBuilder();
    IB ie{eb, loc};
    Value blocks = ie.ceilDiv(ops.m, ie.c(t.mb));
    ie.loop(ie.c(0), blocks, ie.c(1), [&](OpBuilder &lb, Value blk) {
      IB il{lb, loc};
      Value rowBegin = il.mul(blk, il.c(t.mb));
      Value rows = il.min(il.c(t.mb), il.sub(ops.m, rowBegin));
      widenBlock(lb, il.c(0), rowBegin, rows); // one x scratch for all
      forall(lb, [&](OpBuilder &fb, Value w) {
        IB iw{fb, loc};
        Value shared = iw.c(0); // one hidden scratch for all workers
        iw.loop(w, panels1, workers, [&](OpBuilder &pb, Value p) {
          panel1(pb, w, shared, p, rowBegin, rows);
        });
      });
      if (s.hasDown)
        forall(lb, [&](OpBuilder &fb, Value w) {
          IB iw{fb, loc};
          Value shared = iw.c(0);
          iw.loop(w, panels2, workers, [&](OpBuilder &pb, Value q) {
            panel2(pb, w, shared, q, rowBegin, rows);
          });
        });
    });
  }
  b.setInsertionPointAfter(ifOp);

  auto outTensorType = RankedTensorType::get(
      {ShapedType::kDynamic, ShapedType::kDynamic}, ops.outElem);
  Value y = bufferization::ToTensorOp::create(b, loc, outTensorType, ops.out,
                                              b.getUnitAttr(), b.getUnitAttr());
  // As static as the op's types say (reshapes to static batch dims need it).
  auto staticType = RankedTensorType::get(
      {cast<RankedTensorType>(x2.getType()).getDimSize(0),
       resultType.getDimSize(resultType.getRank() - 1)},
      ops.outElem);
  if (staticType != outTensorType)
    y = tensor::CastOp::create(b, loc, staticType, y);
  return unflattenTokens(b, loc, y, x, resultType);
}

//===----------------------------------------------------------------------===//
// Compile-time packing of constant weights
//===----------------------------------------------------------------------===//

/// The bytes of a constant matrix with its element size and shape, read as
/// (feature n, input k) under `layout`.
struct ConstMatrix {
  std::vector<char> bytes;
  size_t eb;
  int64_t rows, cols;
  Layout layout;
  const char *at(int64_t n, int64_t k) const {
    int64_t i = layout == Layout::out_in ? n * cols + k : k * cols + n;
    return bytes.data() + i * eb;
  }
  int64_t features() const { return layout == Layout::out_in ? rows : cols; }
  int64_t inputs() const { return layout == Layout::out_in ? cols : rows; }
};

std::optional<ConstMatrix> constMatrix(Value v, Layout layout) {
  ElementsAttr attr;
  if (!matchPattern(v, m_Constant(&attr)))
    return std::nullopt;
  auto type = cast<RankedTensorType>(v.getType());
  FailureOr<std::vector<char>> bytes = rawBytes(attr);
  if (failed(bytes) || !type.hasStaticShape())
    return std::nullopt;
  return ConstMatrix{std::move(*bytes), type.getElementTypeBitWidth() / 8u,
                     type.getDimSize(0), type.getDimSize(1), layout};
}

/// The bytes of `[panels][k][nr]` (or, with `pairs`, `[panels][k/2][2nr]`,
/// element (k, col) at `[k/2][2col + k%2]`) where `src(p, k, col)` gives each
/// element, or null for a zero.
std::vector<char>
packConstant(int64_t panels, int64_t k, int64_t nr, size_t eb, bool pairs,
             function_ref<const char *(int64_t, int64_t, int64_t)> src) {
  std::vector<char> out(panels * k * nr * eb, 0);
  for (int64_t p = 0; p < panels; ++p)
    for (int64_t kk = 0; kk < k; ++kk)
      for (int64_t col = 0; col < nr; ++col) {
        const char *e = src(p, kk, col);
        if (!e)
          continue;
        int64_t i = pairs ? (p * k + kk / 2 * 2) * nr + 2 * col + kk % 2
                          : (p * k + kk) * nr + col;
        std::memcpy(out.data() + i * eb, e, eb);
      }
  return out;
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

struct ConvertGLUToCPUKernels
    : glu::impl::ConvertGLUToCPUKernelsBase<ConvertGLUToCPUKernels> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    Tiling t;
    t.vec = vectorBits / 32;
    t.nrv = microVectors;
    t.mr = microRows;
    t.kc = kChunk;
    t.mb = tileTokens;
    t.bf16Dot = bf16Dot;
    t.workers = threads > 0 ? threads
                            : std::max<int64_t>(
                                  1, std::thread::hardware_concurrency());
    if (!valid(t)) {
      module.emitError("convert-glu-to-cpu-kernels: invalid options: "
                       "vector-bits must be 128, 256 or 512, micro-rows "
                       "1..8, micro-vectors 2, 4, 6 or 8, k-chunk >= 1 and "
                       "tile-tokens >= micro-rows");
      return signalPassFailure();
    }
    TuningCache cache;
    if (!tuningCache.empty()) {
      std::string error;
      FailureOr<TuningCache> loaded = TuningCache::load(tuningCache, error);
      if (failed(loaded)) {
        emitError(module.getLoc(), "convert-glu-to-cpu-kernels: ") << error;
        return signalPassFailure();
      }
      cache = std::move(*loaded);
    }
    std::string cpu =
        cpuKey.empty() ? llvm::sys::getHostCPUName().str() : cpuKey.getValue();
    SmallVector<Operation *> ops;
    module.walk([&](Operation *op) {
      if (isa<FFNOp, MLPOp, GateUpOp>(op))
        ops.push_back(op);
    });
    unsigned counter = 0;
    for (Operation *op : ops) {
      Tiling ti = t;
      if (std::optional<std::string> key = tuningKey(op, cpu)) {
        if (std::optional<KernelConfig> c = cache.lookup(*key)) {
          ti.mr = c->microRows;
          ti.nrv = c->microVectors;
          ti.kc = c->kChunk;
          ti.mb = c->tileTokens;
          if (!valid(ti)) {
            op->emitError("convert-glu-to-cpu-kernels: the tuning cache's "
                          "entry '")
                << *key << "' is not a valid configuration";
            return signalPassFailure();
          }
          if (remarks)
            op->emitRemark("convert-glu-to-cpu-kernels: tuned configuration ")
                << *key << ": micro-rows=" << ti.mr
                << " micro-vectors=" << ti.nrv << " k-chunk=" << ti.kc
                << " tile-tokens=" << ti.mb;
        }
      }
      if (failed(lower(op, ti, counter)))
        return signalPassFailure();
    }
  }

  bool valid(const Tiling &t) const {
    return t.vec >= 1 && t.mr >= 1 && t.mr <= 8 && t.kc >= 1 &&
           t.mb >= t.mr && t.nrv >= 2 && t.nrv <= 8 && t.nrv % 2 == 0 &&
           (vectorBits == 128 || vectorBits == 256 || vectorBits == 512);
  }

  /// The tuning cache's key of `op` (TuningCache.h), if its d_model and d_ff
  /// are static.
  std::optional<std::string> tuningKey(Operation *op, StringRef cpu) const {
    auto x = cast<RankedTensorType>(op->getOperand(0).getType());
    int64_t d = x.getDimSize(x.getRank() - 1);
    int64_t f = ShapedType::kDynamic;
    Value weight;
    StringRef kind;
    auto hiddenOf = [](Value down, Layout layout) {
      auto type = cast<RankedTensorType>(down.getType());
      return type.getDimSize(layout == Layout::out_in ? 1 : 0);
    };
    if (auto ffn = dyn_cast<FFNOp>(op)) {
      kind = "ffn";
      f = hiddenOf(ffn.getDownWeight(), ffn.getLayout());
      weight = ffn.getDownWeight();
    } else if (auto mlp = dyn_cast<MLPOp>(op)) {
      kind = "mlp";
      f = hiddenOf(mlp.getDownWeight(), mlp.getLayout());
      weight = mlp.getDownWeight();
    } else {
      kind = "gate_up";
      auto result = cast<RankedTensorType>(op->getResult(0).getType());
      f = result.getDimSize(result.getRank() - 1);
      weight = op->getOperand(1);
    }
    if (ShapedType::isDynamic(d) || ShapedType::isDynamic(f))
      return std::nullopt;
    return TuningCache::key(cpu, vectorBits, kind, x.getElementType(),
                            cast<ShapedType>(weight.getType()).getElementType(),
                            d, f);
  }

  /// The panels of `mats` as constants when every matrix is a constant of
  /// the packed element type; empty otherwise.
  static SmallVector<Value> packConstants(OpBuilder &b, Location loc,
                                          const Tiling &t, const OpShape &s,
                                          ArrayRef<Value> mats,
                                          ArrayRef<Type> packedTypes) {
    SmallVector<ConstMatrix> m;
    for (Value v : mats) {
      std::optional<ConstMatrix> c = constMatrix(v, s.layout);
      if (!c)
        return {};
      m.push_back(std::move(*c));
    }
    for (Type type : packedTypes) {
      auto tt = cast<RankedTensorType>(type);
      if (!tt.hasStaticShape() ||
          tt.getElementTypeBitWidth() / 8u != m[0].eb)
        return {};
    }
    for (const ConstMatrix &c : m)
      if (c.eb != m[0].eb)
        return {};
    int64_t nr = t.nr();
    SmallVector<std::vector<char>> panels;
    unsigned next = 0;
    int64_t hiddenPadded;
    {
      auto tt = cast<RankedTensorType>(packedTypes[0]);
      int64_t P = tt.getDimSize(0), K = m[0].inputs();
      if (s.gated) {
        int64_t w = nr / 2;
        const ConstMatrix *gate = &m[0], *up = s.gu.merged ? &m[0] : &m[1];
        int64_t f = s.gu.merged ? gate->features() / 2 : gate->features();
        bool concat = s.gu.packing == Packing::concat;
        panels.push_back(packConstant(
            P, K, nr, m[0].eb, s.pairs1,
            [&](int64_t p, int64_t k, int64_t col) -> const char * {
              int64_t half = col / w, n = p * w + col % w;
              if (n >= f)
                return nullptr;
              if (!s.gu.merged)
                return (half ? up : gate)->at(n, k);
              return gate->at(concat ? half * f + n : 2 * n + half, k);
            }));
        next = s.gu.merged ? 1 : 2;
        hiddenPadded = P * w;
      } else {
        int64_t f = m[0].features();
        panels.push_back(packConstant(
            P, K, nr, m[0].eb, s.pairs1,
            [&](int64_t p, int64_t k, int64_t col) -> const char * {
              int64_t n = p * nr + col;
              return n < f ? m[0].at(n, k) : nullptr;
            }));
        next = 1;
        hiddenPadded = P * nr;
      }
    }
    if (s.hasDown) {
      const ConstMatrix &d = m[next];
      auto tt = cast<RankedTensorType>(packedTypes[1]);
      int64_t P = tt.getDimSize(0), n = d.features(), f = d.inputs();
      panels.push_back(packConstant(
          P, hiddenPadded, nr, d.eb, s.pairs2,
          [&](int64_t p, int64_t k, int64_t col) -> const char * {
            int64_t o = p * nr + col;
            return (o < n && k < f) ? d.at(o, k) : nullptr;
          }));
    }
    SmallVector<Value> values;
    for (auto [bytes, type] : llvm::zip(panels, packedTypes)) {
      auto tt = cast<RankedTensorType>(type);
      auto attr = DenseElementsAttr::getFromRawBuffer(
          tt, ArrayRef<char>(bytes.data(), bytes.size()));
      values.push_back(arith::ConstantOp::create(b, loc, tt, attr));
    }
    return values;
  }

  LogicalResult lower(Operation *op, const Tiling &t, unsigned &counter) {
    OpShape s;
    FloatType accType;
    if (auto ffn = dyn_cast<FFNOp>(op)) {
      s.gated = true;
      s.hasDown = true;
      s.spec = ActivationSpec::of(ffn);
      s.layout = ffn.getLayout();
      s.gu = GateUpWeights::of(ffn);
      s.down = ffn.getDownWeight();
      s.downBias = ffn.getDownBias();
      accType = ffn.getAccumulatorType();
    } else if (auto mlp = dyn_cast<MLPOp>(op)) {
      s.gated = false;
      s.hasDown = true;
      s.spec = ActivationSpec::of(mlp);
      s.layout = mlp.getLayout();
      s.up = mlp.getUpWeight();
      s.upBias = mlp.getUpBias();
      s.down = mlp.getDownWeight();
      s.downBias = mlp.getDownBias();
      accType = mlp.getAccumulatorType();
    } else {
      auto gu = cast<GateUpOp>(op);
      s.gated = true;
      s.hasDown = false;
      s.spec = ActivationSpec::of(gu);
      s.layout = gu.getLayout();
      s.gu = GateUpWeights::of(gu);
      accType = gu.getAccumulatorType();
    }
    if (!accType.isF32()) {
      if (remarks)
        op->emitRemark("convert-glu-to-cpu-kernels: left to the reference "
                       "lowering: acc_type ")
            << accType << " (the kernels accumulate in f32)";
      return success();
    }

    // AVX512-BF16 dot products for the first projection: bf16 x and
    // weights, a static even d_model, 512-bit vectors.
    {
      auto xType = cast<RankedTensorType>(op->getOperand(0).getType());
      int64_t k = xType.getDimSize(xType.getRank() - 1);
      auto isBF16 = [](Value v) {
        return !v || cast<ShapedType>(v.getType()).getElementType().isBF16();
      };
      Value first = s.gated ? (s.gu.merged ? s.gu.merged : s.gu.gate) : s.up;
      s.pairs1 = t.bf16Dot && t.vec == 16 && xType.getElementType().isBF16() &&
                 isBF16(first) && (!s.gated || isBF16(s.gu.up)) &&
                 !ShapedType::isDynamic(k) && k % 2 == 0 && t.kc % 2 == 0;
      s.pairs2 = roundHidden && s.hasDown && t.bf16Dot && t.vec == 16 &&
                 xType.getElementType().isBF16() && isBF16(s.down) &&
                 t.kc % 2 == 0;
    }

    Location loc = op->getLoc();
    OpBuilder b(op);
    KernelBuilder kb(b, loc, t, s);
    SmallVector<Value> mats = kb.matrixOperands();
    SmallVector<Type> packedTypes = kb.packedTypes(mats);
    auto func = op->getParentOfType<func::FuncOp>();
    auto module = op->getParentOfType<ModuleOp>();

    // The packing function: weights in, panels out.
    std::string base = func ? func.getName().str() : std::string("glu");
    bool atLoad = packAtLoad && func && func.isPublic() &&
                  SymbolTable::symbolKnownUseEmpty(func, module) &&
                  llvm::all_of(mats, [&](Value m) {
                    auto arg = dyn_cast<BlockArgument>(m);
                    return arg && arg.getOwner() == &func.getBody().front() &&
                           m.hasOneUse();
                  });
    // The output columns: static, or read from a weight (which must then
    // stay an argument of the function).
    Value nOut;
    {
      auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
      int64_t last = resultType.getRank() - 1;
      if (!resultType.isDynamicDim(last)) {
        nOut = arith::ConstantIndexOp::create(b, loc,
                                              resultType.getDimSize(last));
      } else {
        atLoad = false;
        int64_t outD = s.layout == Layout::out_in ? 0 : 1;
        if (s.hasDown) {
          nOut = tensor::DimOp::create(b, loc, s.down, outD);
        } else {
          nOut = tensor::DimOp::create(b, loc, s.gu.merged, outD);
          nOut = arith::DivUIOp::create(
              b, loc, nOut, arith::ConstantIndexOp::create(b, loc, 2));
        }
      }
    }
    // Two matrices that are one argument (gate == up) cannot be replaced.
    if (atLoad) {
      llvm::SmallDenseSet<Value> unique(mats.begin(), mats.end());
      atLoad = unique.size() == mats.size();
    }
    // Constant weights are packed now, into constants.
    if (!atLoad) {
      SmallVector<Value> folded = packConstants(b, loc, t, s, mats,
                                                packedTypes);
      if (!folded.empty()) {
        Value result =
            kb.emitCompute(op->getOperand(0), folded, op->getResult(0), nOut);
        op->getResult(0).replaceAllUsesWith(result);
        op->erase();
        return success();
      }
    }
    OpBuilder mb(module.getBodyRegion());
    if (func)
      mb.setInsertionPointAfter(func);
    else
      mb.setInsertionPointToEnd(module.getBody());
    SmallVector<Type> matTypes;
    for (Value m : mats)
      matTypes.push_back(m.getType());
    std::string name = atLoad ? base + "_pack_weights"
                              : "__glu_cpu_pack_" + base + "_" +
                                    std::to_string(counter++);
    auto pack = func::FuncOp::create(
        mb, loc, name, mb.getFunctionType(matTypes, packedTypes));
    SymbolTable(module).insert(pack);
    {
      Block *entry = pack.addEntryBlock();
      OpBuilder pb = OpBuilder::atBlockEnd(entry);
      KernelBuilder pk(pb, loc, t, s);
      SmallVector<Value> args(entry->getArguments());
      // Inside the packing function the op's weights are its arguments.
      OpShape local = s;
      SmallVector<Value> results = KernelBuilder(pb, loc, t, local)
                                       .emitPacking(args);
      func::ReturnOp::create(pb, loc, results);
    }

    SmallVector<Value> packed;
    if (atLoad) {
      pack.setPublic();
      pack->setAttr("glu.packing_function", b.getUnitAttr());
      SmallVector<int64_t> positions;
      for (Value m : mats)
        positions.push_back(cast<BlockArgument>(m).getArgNumber());
      pack->setAttr("glu.packs", b.getDenseI64ArrayAttr(positions));
      // Callable from C like the function itself.
      if (Attribute cInterface = func->getAttr("llvm.emit_c_interface"))
        pack->setAttr("llvm.emit_c_interface", cInterface);
      Block &body = func.getBody().front();
      unsigned at = *llvm::min_element(positions);
      DictionaryAttr packedBy = b.getDictionaryAttr(
          b.getNamedAttr("glu.packed_by", FlatSymbolRefAttr::get(pack)));
      for (auto [i, type] : llvm::enumerate(packedTypes))
        if (failed(func.insertArgument(at + i, type, packedBy, loc)))
          return failure();
      for (unsigned i = 0; i < packedTypes.size(); ++i)
        packed.push_back(body.getArgument(at + i));
      // The op still uses the original arguments until it is replaced.
      Value result =
          kb.emitCompute(op->getOperand(0), packed, op->getResult(0), nOut);
      op->getResult(0).replaceAllUsesWith(result);
      op->erase();
      llvm::BitVector erase(body.getNumArguments());
      for (Value m : mats)
        erase.set(cast<BlockArgument>(m).getArgNumber());
      return func.eraseArguments(erase);
    }
    pack.setPrivate();
    auto call = func::CallOp::create(b, loc, pack, mats);
    packed.append(call.getResults().begin(), call.getResults().end());
    Value result =
        kb.emitCompute(op->getOperand(0), packed, op->getResult(0), nOut);
    op->getResult(0).replaceAllUsesWith(result);
    op->erase();
    return success();
  }
};

} // namespace
