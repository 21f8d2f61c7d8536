//===- MicroKernel.cpp - one panel of a projection ------------------------===//
//
// The register-tiled micro-kernels (one for each row count 1..MR, f32 FMAs
// or AVX512-BF16 dot products), the epilogue (bias, activation, gating,
// store) and the private functions that run one panel for a block of tokens.
//
//===----------------------------------------------------------------------===//

#include "Kernels.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/X86Vector/X86VectorDialect.h"
#include "mlir/IR/SymbolTable.h"

using namespace mlir;
using namespace mlir::glu;
using namespace mlir::glu::cpu;

bool KernelBuilder::widens(bool first, const Operands &ops) const {
  Value packed = first ? ops.packed1 : ops.packed2;
  return !s.pairs(first) &&
         !cast<MemRefType>(packed.getType()).getElementType().isF32();
}

/// Emits `acc[rows of this block] (+)= A · panel p` over k in [k0, k1) for
/// `mr` rows: A row `aRow + r` (x, or the worker's hidden), accumulator row
/// `cRow + r` of the worker's scratch.
void KernelBuilder::emitMicroKernel(OpBuilder &b, int64_t mr, Value w,
                                    Value hw, Value aRow, Value cRow, Value p,
                                    Value k0, Value k1, bool first,
                                    bool fromWide, Operands &ops,
                                    const ChunkPrefetch *prefetch) {
  IB ib{b, loc};
  Type f32 = b.getF32Type();
  auto vt = VectorType::get({t.vec}, f32);
  Value a = !first ? ops.hidden : ops.xWide ? ops.xWide : ops.x;
  // A's rows: [M, K] for x, [workers][MB][K] for a worker's scratch.
  bool scratchA = cast<MemRefType>(a.getType()).getRank() == 3;
  Value packed = first ? ops.packed1 : ops.packed2;
  Type wElem = cast<MemRefType>(packed.getType()).getElementType();
  auto wvt = VectorType::get({t.vec}, wElem);
  // The share of the next chunk's rows (in the loop's unit: k, or k pairs)
  // this row block prefetches at step `step` of [lo, hi): row
  // hi + (block * (hi - lo) + step - lo) / blocks, at most `last`, every
  // 64-byte line of it (NR weights), into L2. The division is a multiply
  // by the rounded-up 2^32 / blocks and a shift: exact for these sizes
  // (numerators below 2^32 / blocks), and no divide in the K loop.
  auto emitPrefetch = [&](OpBuilder &lb, Value step, Value lo, Value hi,
                          Value last) {
    if (!prefetch)
      return;
    IB il{lb, loc};
    Value len = il.sub(hi, lo);
    Value share = il.add(il.mul(prefetch->block, len), il.sub(step, lo));
    Value quotient = arith::ShRUIOp::create(
        lb, loc, il.mul(share, prefetch->reciprocal), il.c(32));
    Value row = il.min(il.add(hi, quotient), last);
    int64_t lineElems = 512 / cast<MemRefType>(packed.getType())
                                  .getElementType()
                                  .getIntOrFloatBitWidth();
    int64_t rowElems = t.nr() * (s.pairs(first) ? 2 : 1);
    for (int64_t e = 0; e < rowElems; e += lineElems)
      memref::PrefetchOp::create(lb, loc, packed,
                                 ValueRange{p, row, il.c(e)},
                                 /*isWrite=*/false, /*localityHint=*/2,
                                 /*isDataCache=*/true);
  };

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
    Value lastPair =
        prefetch ? arith::DivUIOp::create(b, loc, prefetch->last, two) : Value();
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
          emitPrefetch(lb, kp, kp0, kp1, lastPair);
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
        emitPrefetch(lb, k, k0, k1, prefetch ? prefetch->last : Value());
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
                              bool first, Operands &ops, bool prefetching) {
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
  bool widen = widensOnce(first, ops);
  ib.loop(ib.c(0), kTotal, ib.c(t.kc), [&](OpBuilder &b1, Value k0) {
    IB i1{b1, loc};
    Value k1 = i1.min(i1.add(k0, i1.c(t.kc)), kTotal);
    Value blocks = i1.ceilDiv(rows, i1.c(t.mr));
    // With `prefetching` (a small batch of 2-3 row blocks, 12-18 tokens,
    // decode's panel split): the first row block would stream the chunk
    // from memory and the others read it from L2 while the memory idles.
    // Instead each block prefetches its share of the next chunk's rows, and
    // the memory streams all the time. Decode up to MR tokens (one block)
    // leaves the stream to the hardware prefetchers, and prefill (many
    // blocks, compute-bound) has no use for it: both call the panel
    // function without prefetches, which keeps the K loop's integer
    // registers free.
    Value reciprocal =
        prefetching ? i1.ceilDiv(i1.c(int64_t(1) << 32), blocks) : Value();
    Value lastK = i1.sub(kTotal, i1.c(1));
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
          ChunkPrefetch pf{rb, reciprocal, lastK};
          emitMicroKernel(bb, mr, w, hw, aRow, cRow, p, k0, k1, first,
                          fromWide, ops, prefetching ? &pf : nullptr);
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

SmallVector<Value> KernelBuilder::panelOperands(bool first,
                                                const Operands &ops) const {
  Value a = !first ? ops.hidden : ops.xWide ? ops.xWide : ops.x;
  Value packed = first ? ops.packed1 : ops.packed2;
  Value bias = first ? ops.bias1 : ops.bias2;
  Value dest = (first && s.hasDown) ? ops.hidden : ops.out;
  SmallVector<Value> operands{a, packed, bias, ops.acc, dest, ops.k, ops.n};
  if (ops.wide)
    operands.push_back(ops.wide);
  return operands;
}

std::function<void(OpBuilder &, Value, Value, Value, Value, Value)>
KernelBuilder::outlinePanel(bool first, const Operands &ops,
                            bool prefetching) {
  func::FuncOp fn = panelFunction(first, ops, prefetching);
  SmallVector<Value> operands = panelOperands(first, ops);
  Location loc = this->loc;
  return [=](OpBuilder &cb, Value w, Value hw, Value p, Value rowBegin,
             Value rows) {
    SmallVector<Value> args(operands);
    args.append({w, hw, p, rowBegin, rows});
    func::CallOp::create(cb, loc, fn, args);
  };
}

func::FuncOp KernelBuilder::panelFunction(bool first, const Operands &ops,
                                          bool prefetching) {
  SmallVector<Value> operands = panelOperands(first, ops);
  unsigned base = operands.size(); // then w, hw, p, rowBegin, rows
  SmallVector<Type> types;
  for (Value v : operands)
    types.push_back(v.getType());
  Type index = b.getIndexType();
  types.append(5, index); // w, hw, p, rowBegin, rows

  auto module =
      b.getInsertionBlock()->getParentOp()->getParentOfType<ModuleOp>();
  FunctionType fnType = b.getFunctionType(types, {});
  // Ops of one configuration share their panel functions: a model's layers
  // compile (LLVM's time) and load one copy of the kernels, not one each.
  // (Keyed by module too: a nested module has its own symbols.)
  std::string key = panelKey(first, prefetching, fnType) + ' ' +
                    std::to_string(reinterpret_cast<uintptr_t>(
                        module.getOperation()));
  if (sharedPanels) {
    auto it = sharedPanels->find(key);
    if (it != sharedPanels->end())
      return it->second;
  }
  OpBuilder mb = OpBuilder::atBlockEnd(module.getBody());
  std::string name = first ? "__glu_cpu_panel" : "__glu_cpu_down_panel";
  if (prefetching)
    name += "_prefetch";
  auto fn = func::FuncOp::create(mb, loc, name, fnType);
  SymbolTable(module).insert(fn); // unique name
  fn.setPrivate();
  if (sharedPanels)
    (*sharedPanels)[key] = fn;
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
                 local, prefetching);
  func::ReturnOp::create(fb, loc);
  return fn;
}

std::string KernelBuilder::panelKey(bool first, bool prefetching,
                                    FunctionType type) const {
  // Everything emitPanel's code depends on: the tiling, the op's kind and
  // activation, the dot-product layouts, and the operand types (element
  // types, x or its widened copy, the 16-bit weight scratch).
  std::string key;
  llvm::raw_string_ostream os(key);
  auto bits = [](float f) { return llvm::bit_cast<uint32_t>(f); };
  os << (first ? "first" : "down") << (prefetching ? " prefetch" : "")
     << ' ' << t.vec << ' ' << t.nrv << ' '
     << t.mr << ' ' << t.kc << ' ' << t.mb << ' ' << t.workers << ' '
     << t.bf16Dot << ' ' << t.widenOnce << ' ' << s.gated << ' ' << s.hasDown << ' ' << s.pairs1
     << ' ' << s.pairs2 << ' ' << static_cast<int>(s.spec.kind) << ' '
     << bits(s.spec.beta) << ' ' << bits(s.spec.alpha) << ' '
     << bits(s.spec.limit) << ' ' << type;
  return key;
}

