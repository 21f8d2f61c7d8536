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
//  * op(A) ([M, K]) is read in place when it is f32 with contiguous rows
//    (x, dy, dg, du: the micro-kernel broadcasts from MR rows, as the
//    forward's does from x; rows past M read the last one), else packed
//    into row strips `[ceil(M/MR)][K][MR]` (the transposed dgᵀ, duᵀ, dyᵀ of
//    the weight gradients, 16-bit A): MR values of a k from one cache line.
//  * bf16 A and B (the recompute and dh of a bf16 block; with round-hidden,
//    every GEMM): B in panels of k pairs and AVX512-BF16 dot products, as
//    the forward's first projection; A in place, or, transposed (the weight
//    gradients, K = tokens), in strips of k pairs, an odd K zero-padded.
//  * The micro-kernel is the forward's (MicroKernel.cpp): MR x NR f32
//    accumulators in vector registers, K in chunks of KC so that a panel's
//    chunk stays in L2 while the row block's strips use it; here always MR
//    rows, the rows past M dropped by the epilogue, which adds `init` and
//    stores with a mask for the last panel, or, for dh, is the elementwise
//    backward (the reference's formulas on vectors).
//  * Workers (scf.forall, OpenMP later) take contiguous row ranges when each
//    gets a few strips, else they split the panels (short or few rows).
//
// The micro-kernel runs in a private function per configuration
// (`__glu_cpu_gemm_panel`), shared by every GEMM of the module. The
// operands' buffers and their packing are in GradPacking.cpp.
//
//===----------------------------------------------------------------------===//

#include "GradPacking.h"
#include "Kernels.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/X86Vector/X86VectorDialect.h"
#include "mlir/IR/SymbolTable.h"

using namespace mlir;
using namespace mlir::glu;
using namespace mlir::glu::cpu;
using namespace mlir::glu::cpu::grad;

namespace {

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
  /// bf16 A (in place, or strips of k pairs `[S][K/2][2 MR]` when not
  /// directA) and B (panels of k pairs, `[P][K/2][2 NR]`): the
  /// micro-kernel is AVX512-BF16 dot products (vdpbf16ps), as the
  /// forward's first projection.
  bool dot = false;
  bool init = false;
  bool fused = false;
  /// The fused epilogue stores the hidden, dg and du rounded to bf16
  /// (round-hidden).
  bool round = false;
  /// The epilogue stores C rounded to `narrow` (16-bit: the result's type,
  /// which the lowering would round it to next), else f32.
  Type narrow;
  ActivationSpec spec{};
  bool gated = false, gateBias = false, upBias = false;

  void print(llvm::raw_ostream &os) const {
    auto bits = [](float f) { return llvm::bit_cast<uint32_t>(f); };
    os << directA << ' ' << dot << ' ' << init << ' ' << fused << ' ' << round
       << ' ' << static_cast<int>(spec.kind) << ' ' << bits(spec.beta) << ' '
       << bits(spec.alpha) << ' ' << bits(spec.limit) << ' ' << gated << ' '
       << gateBias << ' ' << upBias;
    if (narrow)
      os << ' ' << narrow;
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
                          bool intermediate, const GradWorkspace &ws,
                          llvm::StringMap<func::FuncOp> &panels);

private:
  OpBuilder &b;
  Location loc;
  const Tiling &t;
  IB ib;

  func::FuncOp panelFunction(ModuleOp module, TypeRange types,
                             const PanelConfig &epi,
                             llvm::StringMap<func::FuncOp> &panels);
  static void emitPanelBody(OpBuilder &b, Location loc, const Tiling &t,
                            Block *entry, const PanelConfig &epi);
};


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
        // for 16 columns at once; k0 is even, an odd k1 (the last chunk
        // of an odd K) ends with a zero-padded pair.
        Type bf16 = b2.getBF16Type();
        auto pairType = VectorType::get({2}, bf16);
        auto wideType = VectorType::get({2 * t.vec}, bf16);
        auto i32x1 = VectorType::get({1}, b2.getI32Type());
        auto i32xN = VectorType::get({t.vec}, b2.getI32Type());
        Value two = i2.c(2);
        auto loop = scf::ForOp::create(
            b2, loc, arith::DivUIOp::create(b2, loc, k0, two),
            i2.ceilDiv(k1, two), i2.c(1), initAcc,
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
                Value pair =
                    epi.directA
                        ? vector::LoadOp::create(lb, loc, pairType, apack,
                                                 ValueRange{aRows[r], kk})
                        : vector::LoadOp::create(
                              lb, loc, pairType, apack,
                              ValueRange{strip, kp, il.c(2 * r)});
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
        // round-hidden: the fused results in bf16, rounded to nearest even;
        // a 16-bit result: C rounded as the lowering's roundTo would.
        if (epi.fused && epi.round)
          x = arith::TruncFOp::create(
              lb, loc, VectorType::get({t.vec}, lb.getBF16Type()), x);
        else if (epi.narrow)
          x = arith::TruncFOp::create(
              lb, loc, VectorType::get({t.vec}, epi.narrow), x);
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


/// `[d0][d1][d2]` of `elem` (row-major) at byte `offset` of the byte buffer
/// `ws` (1-D i8).
Value view3D(OpBuilder &b, Location loc, Value ws, Value offset, Value d0,
             Value d1, int64_t d2, Type elem) {
  auto type = MemRefType::get({ShapedType::kDynamic, ShapedType::kDynamic, d2},
                              elem);
  return memref::ViewOp::create(b, loc, type, ws, offset, ValueRange{d0, d1});
}

/// `x` rounded up to a multiple of 64 (bytes: a cache line).
Value alignBytes(OpBuilder &b, Location loc, Value x) {
  IB ib{b, loc};
  return arith::AndIOp::create(b, loc, ib.add(x, ib.c(63)), ib.c(-64));
}

/// A `[m, n]` buffer of `elem` for an intermediate of the op: the next slot
/// of its arena, or a fresh buffer when it has none left.
Value allocIntermediate(OpBuilder &b, Location loc, GradArena *arena, Value m,
                        Value n, Type elem) {
  if (!arena || arena->slots == 0)
    return allocLarge(b, loc, {m, n}, elem);
  IB ib{b, loc};
  auto type =
      MemRefType::get({ShapedType::kDynamic, ShapedType::kDynamic}, elem);
  Value buf = memref::ViewOp::create(b, loc, type, arena->base, arena->next,
                                     ValueRange{m, n});
  Value bytes = ib.mul(ib.mul(m, n), ib.c(elem.getIntOrFloatBitWidth() / 8));
  arena->next = alignBytes(b, loc, ib.add(arena->next, bytes));
  --arena->slots;
  return buf;
}

SmallVector<Value> GemmEmitter::emit(Value a, bool aT, Value bMat, bool bT,
                                     PanelConfig epi,
                                     ArrayRef<Value> extra, bool intermediate,
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
  // dh = dy·Wdᵀ; with round-hidden all of them, dg, du and the hidden being
  // bf16): A in place with K static and even, or transposed (the weight
  // gradients, K = tokens) in strips of k pairs, any K.
  int64_t kStatic = aType.getDimSize(aT ? 0 : 1);
  epi.dot = t.bf16Dot && t.vec == 16 && t.kc % 2 == 0 && unitA && unitB &&
            aType.getElementType().isBF16() &&
            bType.getElementType().isBF16() &&
            (aT || (!ShapedType::isDynamic(kStatic) && kStatic % 2 == 0));
  epi.directA |= epi.dot && !aT;
  Value m = ib.dim(aBuf, aT ? 1 : 0), k = ib.dim(aBuf, aT ? 0 : 1);
  Value n = ib.dim(bBuf, bT ? 0 : 1);
  Value nr = ib.c(t.nr()), mr = ib.c(t.mr);
  Value numPanels = ib.ceilDiv(n, nr), numStrips = ib.ceilDiv(m, mr);
  Value bpack;
  Value apack = aBuf;
  // The packs go to the op's workspace (fresh pages once per call, not
  // once per GEMM: faulting in the pair packs of every GEMM was 20 % of a
  // bf16 backward), else to their own buffers.
  if (epi.dot) {
    Type bf16 = b.getBF16Type();
    Value pairs = ib.ceilDiv(k, ib.c(2));
    bpack = ws.b ? view3D(b, loc, ws.b, ws.bOffset, numPanels, pairs,
                          2 * t.nr(), bf16)
                 : allocLarge(b, loc, {numPanels, pairs, ib.c(2 * t.nr())},
                              bf16);
    Packer(b, loc, t).packBPairs(bpack, bBuf, bT, k, n);
    if (!epi.directA) {
      apack = ws.a ? view3D(b, loc, ws.a, ws.aOffset, numStrips, pairs,
                            2 * t.mr, bf16)
                   : allocLarge(b, loc, {numStrips, pairs, ib.c(2 * t.mr)},
                                bf16);
      Packer(b, loc, t).packAPairsT(apack, aBuf, m, k);
    }
  } else {
    bpack = ws.b ? view3D(b, loc, ws.b, ws.bOffset, numPanels, k, t.nr(), f32)
                 : allocBuffer(b, loc, {numPanels, k, nr}, f32);
    Packer(b, loc, t).packB(bpack, bBuf, bT, unitB, k, n);
  }
  if (!epi.directA && !epi.dot) {
    apack = ws.a ? view3D(b, loc, ws.a, ws.aOffset, numStrips, k, t.mr, f32)
                 : allocBuffer(b, loc, {numStrips, k, mr}, f32);
    Packer(b, loc, t).packA(apack, aBuf, aT, unitA, m, k);
  }

  // Row blocks of MB rows, a whole number of strips.
  int64_t mb = llvm::divideCeil(t.mb, t.mr) * t.mr;
  Value workers = ib.c(t.workers);
  Value acc = allocBuffer(b, loc, {workers, ib.c(mb), nr}, f32);
  Type resultType = epi.round    ? Type(b.getBF16Type())
                    : epi.narrow ? epi.narrow
                                 : f32;
  // An intermediate (not a result of the op) goes to the op's arena.
  GradArena *arena = intermediate ? ws.arena.get() : nullptr;
  SmallVector<Value> results{
      allocIntermediate(b, loc, arena, m, n, resultType)};
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
      results.push_back(allocIntermediate(b, loc, arena, m, n, resultType));
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
      {ShapedType::kDynamic, ShapedType::kDynamic}, resultType);
  // As static as the operands' types say.
  auto staticType = RankedTensorType::get(
      {aType.getDimSize(aT ? 1 : 0), bType.getDimSize(bT ? 0 : 1)},
      resultType);
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
                        bool aT, Value bMat, bool bT, Value init, Type store,
                        const GradWorkspace &ws,
                        llvm::StringMap<func::FuncOp> &panels) {
  PanelConfig epi;
  epi.init = static_cast<bool>(init);
  if (store && (store.isBF16() || store.isF16()))
    epi.narrow = store;
  SmallVector<Value> extra;
  if (init)
    extra.push_back(init);
  // A `store` type: the result of the op (the caller's), else an
  // intermediate.
  return GemmEmitter(b, loc, t).emit(a, aT, bMat, bT, epi, extra,
                                     /*intermediate=*/!store, ws, panels)[0];
}

GradElementwise cpu::emitFusedGradDown(OpBuilder &b, Location loc,
                                       const Tiling &t,
                                       const ActivationSpec &spec, Value g,
                                       Value u, Value gateBias, Value upBias,
                                       Value dy, Value down, Layout layout,
                                       Type rounded, const GradWorkspace &ws,
                                       llvm::StringMap<func::FuncOp> &panels) {
  PanelConfig epi;
  epi.fused = true;
  epi.round = rounded && rounded.isBF16();
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
                                  epi, extra, /*intermediate=*/true, ws,
                                  panels);
  return {r[0], r[1], epi.gated ? r[2] : Value()};
}

/// The kept arena of a training op: 256 MiB of the module's .bss (virtual;
/// only the pages a call touches are ever faulted in, once), enough for the
/// packs and intermediates of 2048 tokens of a 1024 x 2816 block; six
/// intermediates at most (see emitGradWorkspace).
static constexpr int64_t kGradArenaBytes = int64_t(1) << 28;
static constexpr int kGradArenaSlots = 6;

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
  // Bytes: f32 strips and panels `[ceil(M/MR)][K][MR]`, `[ceil(N/NR)][K][NR]`
  // and the bf16 ones of k pairs (`ceil(K/2)` pairs of 2 bytes each: at most
  // as many bytes for K >= 1); then the intermediates, `[tokens, F or D]`
  // f32 at most: g, u, dh (or the hidden, dg, du of the fused epilogue),
  // the first half of dx.
  Value x = op->getOperand(0);
  auto xType = cast<RankedTensorType>(x.getType());
  Value tokens = ib.c(1);
  for (int64_t i = 0; i + 1 < xType.getRank(); ++i)
    tokens = ib.mul(tokens, tensor::DimOp::create(b, loc, x, i));
  Value bytesA =
      alignBytes(b, loc, ib.mul(ib.mul(ib.add(d, ib.c(t.mr)), d), ib.c(4)));
  Value bytesB =
      alignBytes(b, loc, ib.mul(ib.mul(ib.add(d, ib.c(t.nr())), d), ib.c(4)));
  Value slot = alignBytes(b, loc, ib.mul(ib.mul(tokens, d), ib.c(4)));
  Value bytes = ib.add(ib.add(bytesA, bytesB),
                       ib.mul(slot, ib.c(kGradArenaSlots)));

  // The kept arena: a global of the module per op, and a flag that a call
  // sets (atomic exchange) while it uses the arena, so that concurrent
  // calls, or a call that needs more, allocate instead.
  MLIRContext *ctx = b.getContext();
  Type i8 = b.getI8Type(), i64 = b.getI64Type();
  auto module = op->getParentOfType<ModuleOp>();
  OpBuilder mb = OpBuilder::atBlockBegin(module.getBody());
  auto arenaType = MemRefType::get({kGradArenaBytes}, i8);
  auto arenaGlobal = memref::GlobalOp::create(
      mb, loc, "__glu_grad_arena", mb.getStringAttr("private"), arenaType,
      /*initial_value=*/mb.getUnitAttr(), /*constant=*/false,
      mb.getI64IntegerAttr(64));
  SymbolTable(module).insert(arenaGlobal);
  auto flagType = MemRefType::get({1}, i64);
  auto flagGlobal = memref::GlobalOp::create(
      mb, loc, "__glu_grad_arena_busy", mb.getStringAttr("private"), flagType,
      DenseElementsAttr::get(RankedTensorType::get({1}, i64),
                             mb.getI64IntegerAttr(0)),
      /*constant=*/false, mb.getI64IntegerAttr(8));
  SymbolTable(module).insert(flagGlobal);
  auto atomicSet = [&](OpBuilder &ob, int64_t v) -> Value {
    Value flag = memref::GetGlobalOp::create(
        ob, loc, flagType, FlatSymbolRefAttr::get(flagGlobal));
    Value value = arith::ConstantOp::create(ob, loc, i64,
                                            ob.getI64IntegerAttr(v));
    return memref::AtomicRMWOp::create(
        ob, loc,
        arith::AtomicRMWKindAttr::get(ctx, arith::AtomicRMWKind::assign),
        value, flag, ValueRange{IB{ob, loc}.c(0)});
  };
  Value took = arith::CmpIOp::create(
      b, loc, arith::CmpIPredicate::eq, atomicSet(b, 1),
      arith::ConstantOp::create(b, loc, i64, b.getI64IntegerAttr(0)));
  Value fits = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ule, bytes,
                                     ib.c(kGradArenaBytes));
  auto bufType = MemRefType::get({ShapedType::kDynamic}, i8);
  auto ifOp = scf::IfOp::create(
      b, loc, TypeRange{bufType}, arith::AndIOp::create(b, loc, took, fits),
      /*withElse=*/true);
  {
    OpBuilder tb = ifOp.getThenBodyBuilder();
    Value global = memref::GetGlobalOp::create(
        tb, loc, arenaType, FlatSymbolRefAttr::get(arenaGlobal));
    scf::YieldOp::create(tb, loc,
                         memref::CastOp::create(tb, loc, bufType, global)
                             .getResult());
  }
  {
    OpBuilder eb = ifOp.getElseBodyBuilder();
    scf::YieldOp::create(eb, loc, allocBuffer(eb, loc, {bytes}, i8));
  }
  Value base = ifOp.getResult(0);
  adviseHugePages(b, loc, base, bytes);
  // Free for the next call once the op's code is done (at the end of its
  // block, after every use of its intermediates).
  Block *block = op->getBlock();
  OpBuilder rb = block->mightHaveTerminator()
                     ? OpBuilder(block->getTerminator())
                     : OpBuilder::atBlockEnd(block);
  auto release = scf::IfOp::create(rb, loc, TypeRange{}, took,
                                   /*withElse=*/false);
  OpBuilder relb = release.getThenBodyBuilder();
  atomicSet(relb, 0);

  GradWorkspace ws;
  ws.a = ws.b = base;
  ws.aOffset = ib.c(0);
  ws.bOffset = bytesA;
  ws.arena = std::make_shared<GradArena>();
  ws.arena->base = base;
  ws.arena->next = ib.add(bytesA, bytesB);
  ws.arena->slots = kGradArenaSlots;
  return ws;
}
