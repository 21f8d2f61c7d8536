//===- Packing.cpp - weight panels of the CPU kernels ---------------------===//
//
// Weights packed into the panels the micro-kernels stream: by an emitted
// function (at load time or on every call), or now, for constant weights.
//
//===----------------------------------------------------------------------===//

#include "Kernels.h"

#include "mlir/IR/Matchers.h"

#include <cstring>

using namespace mlir;
using namespace mlir::glu;
using namespace mlir::glu::cpu;

namespace {

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

} // namespace

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

SmallVector<Value> cpu::packConstants(OpBuilder &b, Location loc,
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

