//===- GroupedMoE.cpp - glu.moe decode as one grouped kernel --------------===//
//
// The grouped kernel of a glu.moe on a few tokens (decode), tagged
// glu.grouped_decode by glu-moe-to-experts. The per-expert path runs two
// parallel regions (first projection, down projection) for each chosen
// expert; a small expert's decode then pays its barriers and wake-ups more
// than it streams weights. Here all the chosen experts share two regions:
//
//  1. Routing (serial, O(E + T·k·D)): a counting sort of the valid entries
//     (t, j) by expert, tokens in order within an expert; each expert's
//     rows become one or more slots of at most MB rows (its x rows gathered
//     to f32, its routing weights and token indices).
//  2. First projection: the work items (slot, panel) are split between the
//     workers in contiguous ranges (so a worker streams whole experts'
//     panels), each one call of the dense kernels' panel function on the
//     expert's panels; the hidden of slot s is scratch slot s.
//  3. Down projection: the same for the items (slot, output panel), into
//     rows of an f32 y; then, serially (T·k rows of d_out floats), the
//     combine: sum[t] = Σ_r w_r · y[r] over the entries r of token t in
//     expert order (as the per-expert path adds them), rounded once into
//     the result. (Workers splitting the output panels, each running its
//     panels of every expert and combining those columns, was no faster on
//     Zen 4: their weights come as many short runs, not whole experts.)
//
// The panels are those the per-expert glu.ffn ops of the other branch pack
// at load time ([E][P][K][NR]); slot s reads its expert's.
//
//===----------------------------------------------------------------------===//

#include "Kernels.h"

#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/SymbolTable.h"

using namespace mlir;
using namespace mlir::glu;
using namespace mlir::glu::cpu;

namespace {

void ifThen(OpBuilder &b, Location loc, Value cond,
            function_ref<void(OpBuilder &)> body) {
  scf::IfOp::create(b, loc, cond, [&](OpBuilder &tb, Location) {
    body(tb);
    scf::YieldOp::create(tb, loc);
  });
}

Value load(OpBuilder &b, Location loc, Value buf, ValueRange at) {
  return memref::LoadOp::create(b, loc, buf, at);
}
void store(OpBuilder &b, Location loc, Value v, Value buf, ValueRange at) {
  memref::StoreOp::create(b, loc, v, buf, at);
}

/// Slot `i` of `buf` (its leading dim dropped), as the kernels' operand
/// type.
Value slotOf(OpBuilder &b, Location loc, Value buf, Value i) {
  auto type = cast<MemRefType>(buf.getType());
  int64_t rank = type.getRank();
  SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0)),
      strides(rank, b.getIndexAttr(1)), sizes{b.getIndexAttr(1)};
  offsets[0] = i;
  for (int64_t d = 1; d < rank; ++d)
    sizes.push_back(memref::getMixedSize(b, loc, buf, d));
  auto result =
      operandMemRefType(b.getContext(), rank - 1, type.getElementType());
  return memref::SubViewOp::create(b, loc, result, buf, offsets, sizes,
                                   strides);
}

} // namespace

Value KernelBuilder::emitGroupedMoE(MoEOp op, Value packed1T,
                                    Value packed2T) {
  Type f32 = b.getF32Type();
  Type index = b.getIndexType();
  auto resultType = cast<RankedTensorType>(op.getResult().getType());
  Type outElem = resultType.getElementType();
  Value x = toBuffer(b, loc, op.getInput());
  Value ids = toBuffer(b, loc, op.getExpertIds());
  Value routing = toBuffer(b, loc, op.getRoutingWeights());
  Value packed1 = toBuffer(b, loc, packed1T);
  Value packed2 = toBuffer(b, loc, packed2T);
  Value tokens = ib.dim(x, 0), dModel = ib.dim(x, 1), topK = ib.dim(ids, 1);
  Value experts = ib.dim(packed1, 0);
  Value panels1 = ib.dim(packed1, 1), panels2 = ib.dim(packed2, 1);
  int64_t nr = t.nr(), width1 = nr / 2; // glu.moe's experts are gated
  Value hiddenPadded = ib.mul(panels1, ib.c(width1));
  Value outPadded = ib.mul(panels2, ib.c(nr));
  Value nOut = ib.c(resultType.getDimSize(1));
  Value cap = ib.max(ib.mul(tokens, topK), ib.c(1));
  Value zeroIdx = ib.c(0), oneIdx = ib.c(1), mb = ib.c(t.mb);
  Value zeroF = arith::ConstantOp::create(b, loc, f32, b.getZeroAttr(f32));

  // 1. Routing: count, slots, placement (gathering x rows to f32).
  Value count = allocBuffer(b, loc, {experts}, index);
  Value cursor = allocBuffer(b, loc, {experts}, index);
  Value slotExpert = allocBuffer(b, loc, {cap}, index);
  Value slotBegin = allocBuffer(b, loc, {cap}, index);
  Value slotRows = allocBuffer(b, loc, {cap}, index);
  Value rowToken = allocBuffer(b, loc, {cap}, index);
  Value rowWeight = allocBuffer(b, loc, {cap}, f32);
  Value xg = allocBuffer(b, loc, {cap, dModel}, f32);
  ib.loop(zeroIdx, experts, oneIdx, [&](OpBuilder &lb, Value e) {
    store(lb, loc, IB{lb, loc}.c(0), count, e);
  });
  // body(t, j, e) for every entry whose id is in [0, E).
  auto overValid = [&](function_ref<void(OpBuilder &, Value, Value, Value)>
                           body) {
    ib.loop(zeroIdx, tokens, oneIdx, [&](OpBuilder &tb, Value tk) {
      IB{tb, loc}.loop(zeroIdx, topK, oneIdx, [&](OpBuilder &jb, Value j) {
        IB ij{jb, loc};
        Value id = load(jb, loc, ids, {tk, j});
        Value e = arith::IndexCastOp::create(jb, loc, index, id);
        Value valid = arith::AndIOp::create(jb, loc, ij.ge(e, ij.c(0)),
                                            ij.lt(e, experts));
        ifThen(jb, loc, valid, [&](OpBuilder &vb) { body(vb, tk, j, e); });
      });
    });
  };
  overValid([&](OpBuilder &vb, Value, Value, Value e) {
    IB iv{vb, loc};
    store(vb, loc, iv.add(load(vb, loc, count, e), iv.c(1)), count, e);
  });
  // (slots, valid entries, most rows of a slot)
  SmallVector<Value> sums = forLoop(
      b, loc, zeroIdx, experts, {zeroIdx, zeroIdx, zeroIdx},
      [&](OpBuilder &eb, Value e, ValueRange st) -> SmallVector<Value> {
        IB ie{eb, loc};
        Value n = load(eb, loc, count, e);
        store(eb, loc, st[1], cursor, e);
        Value chunks = ie.ceilDiv(n, mb);
        Value slots = forLoop(
            eb, loc, ie.c(0), chunks, {st[0]},
            [&](OpBuilder &cb, Value ch, ValueRange s2) -> SmallVector<Value> {
              IB ic{cb, loc};
              Value done = ic.mul(ch, mb);
              store(cb, loc, e, slotExpert, s2[0]);
              store(cb, loc, ic.add(st[1], done), slotBegin, s2[0]);
              store(cb, loc, ic.min(mb, ic.sub(n, done)), slotRows, s2[0]);
              return {ic.add(s2[0], ic.c(1))};
            })[0];
        return {slots, ie.add(st[1], n), ie.max(st[2], ie.min(n, mb))};
      });
  Value slots = sums[0], valid = sums[1], maxRows = sums[2];
  overValid([&](OpBuilder &vb, Value tk, Value j, Value e) {
    IB iv{vb, loc};
    Value r = load(vb, loc, cursor, e);
    store(vb, loc, iv.add(r, iv.c(1)), cursor, e);
    store(vb, loc, tk, rowToken, r);
    store(vb, loc, toF32(vb, loc, load(vb, loc, routing, {tk, j})), rowWeight,
          r);
    iv.loop(iv.c(0), dModel, iv.c(1), [&](OpBuilder &db, Value d) {
      store(db, loc, toF32(db, loc, load(db, loc, x, {tk, d})), xg, {r, d});
    });
  });

  // Each slot's biases in panel order (f32, zero where absent); one row
  // of zeros for all slots when a projection has none.
  Value slotCap = ib.max(slots, oneIdx);
  bool hasBias1 = op.getGateBias() || op.getUpBias() || op.getGateUpBias();
  bool hasBias2 = static_cast<bool>(op.getDownBias());
  Value bias1 = allocBuffer(
      b, loc, {hasBias1 ? slotCap : oneIdx, ib.mul(panels1, ib.c(nr))}, f32);
  Value bias2 =
      allocBuffer(b, loc, {hasBias2 ? slotCap : oneIdx, outPadded}, f32);
  // The bias operand of slot s: its row, or the one row of zeros as a
  // plain 1-D buffer; then (with the x rows as a strided 2-D buffer) the
  // panel functions' types are the dense kernels', and the glu.ffn ops of
  // the per-expert branch share them.
  auto zeroRow = [&](Value buf) {
    return memref::CollapseShapeOp::create(
        b, loc, buf, ArrayRef<ReassociationIndices>{{0, 1}});
  };
  Value bias1Zero = hasBias1 ? Value() : zeroRow(bias1);
  Value bias2Zero = hasBias2 ? Value() : zeroRow(bias2);
  auto bias1Of = [&](OpBuilder &sb, Value s) {
    return hasBias1 ? slotOf(sb, loc, bias1, s) : bias1Zero;
  };
  auto bias2Of = [&](OpBuilder &sb, Value s) {
    return hasBias2 ? slotOf(sb, loc, bias2, s) : bias2Zero;
  };
  // bias(e, n) if n < limit, else 0.
  auto biasAt = [&](OpBuilder &bb, Value buf, Value e, Value n, Value limit,
                    int64_t scale, Value offset) -> Value {
    if (!buf)
      return zeroF;
    IB ii{bb, loc};
    auto ifOp = scf::IfOp::create(bb, loc, TypeRange{f32}, ii.lt(n, limit),
                                  /*withElse=*/true);
    OpBuilder tb = ifOp.getThenBodyBuilder();
    IB it{tb, loc};
    Value at = it.add(it.mul(n, it.c(scale)), offset);
    scf::YieldOp::create(tb, loc, toF32(tb, loc, load(tb, loc, buf, {e, at})));
    OpBuilder eb = ifOp.getElseBodyBuilder();
    scf::YieldOp::create(eb, loc, zeroF);
    return ifOp.getResult(0);
  };
  auto bufferOf = [&](Value v) { return v ? toBuffer(b, loc, v) : Value(); };
  Value gateBias = bufferOf(op.getGateBias()), upBias = bufferOf(op.getUpBias()),
        mergedBias = bufferOf(op.getGateUpBias()),
        downBias = bufferOf(op.getDownBias());
  Value features; // F, for the gate/up biases
  if (mergedBias)
    features = ib.ceilDiv(ib.dim(mergedBias, 1), ib.c(2));
  else if (gateBias || upBias)
    features = ib.dim(gateBias ? gateBias : upBias, 1);
  Value widthV = ib.c(width1);
  bool concat = op.getPackingOrDefault() == Packing::concat;
  auto fillSlots = [&](bool has) { return has ? slots : oneIdx; };
  // (Without biases, the slot's expert is not read.)
  ib.loop(zeroIdx, fillSlots(hasBias1), oneIdx, [&](OpBuilder &sb, Value s) {
    IB is{sb, loc};
    Value e = hasBias1 ? load(sb, loc, slotExpert, s) : zeroIdx;
    is.loop(is.c(0), panels1, is.c(1), [&](OpBuilder &pb, Value p) {
      IB{pb, loc}.loop(zeroIdx, widthV, oneIdx, [&](OpBuilder &jb, Value j) {
        IB ij{jb, loc};
        Value n = ij.add(ij.mul(p, ij.c(width1)), j);
        Value pos = ij.add(ij.mul(p, ij.c(nr)), j);
        Value g, u;
        if (mergedBias) {
          g = biasAt(jb, mergedBias, e, n, features, concat ? 1 : 2, ij.c(0));
          u = biasAt(jb, mergedBias, e, n, features, concat ? 1 : 2,
                     concat ? features : ij.c(1));
        } else {
          g = biasAt(jb, gateBias, e, n, features, 1, ij.c(0));
          u = biasAt(jb, upBias, e, n, features, 1, ij.c(0));
        }
        store(jb, loc, g, bias1, {s, pos});
        store(jb, loc, u, bias1, {s, ij.add(pos, ij.c(width1))});
      });
    });
  });
  ib.loop(zeroIdx, fillSlots(hasBias2), oneIdx, [&](OpBuilder &sb, Value s) {
    IB is{sb, loc};
    Value e = hasBias2 ? load(sb, loc, slotExpert, s) : zeroIdx;
    is.loop(is.c(0), outPadded, is.c(1), [&](OpBuilder &nb, Value n) {
      store(nb, loc, biasAt(nb, downBias, e, n, nOut, 1, zeroIdx), bias2,
            {s, n});
    });
  });

  // Scratch, the experts' outputs and the result.
  Value workers = ib.c(t.workers);
  Value acc = allocBuffer(b, loc, {workers, mb, ib.c(nr)}, f32);
  bool wide =
      !cast<MemRefType>(packed1.getType()).getElementType().isF32() ||
      !cast<MemRefType>(packed2.getType()).getElementType().isF32();
  Value hidden = allocBuffer(
      b, loc, {slotCap, ib.max(maxRows, oneIdx), hiddenPadded}, f32);
  Value y = allocBuffer(b, loc, {cap, outPadded}, f32);
  Value sum = allocBuffer(b, loc, {ib.max(tokens, oneIdx), outPadded}, f32);
  Value out = allocBuffer(b, loc, {tokens, nOut}, outElem);

  Value xRows = memref::CastOp::create(
      b, loc, operandMemRefType(b.getContext(), 2, f32), xg);
  Operands o1;
  o1.x = xRows;
  o1.packed1 = slotOf(b, loc, packed1, zeroIdx);
  o1.bias1 = bias1Of(b, zeroIdx);
  o1.acc = acc;
  o1.hidden = hidden;
  o1.k = dModel;
  o1.n = outPadded;
  o1.outElem = f32;
  o1.wide = wide ? allocBuffer(b, loc, {workers, ib.c(t.kc), ib.c(nr)}, f32)
                 : Value();
  Operands o2 = o1;
  o2.packed2 = slotOf(b, loc, packed2, zeroIdx);
  o2.bias2 = bias2Of(b, zeroIdx);
  o2.out = y;
  func::FuncOp first = panelFunction(true, o1);
  func::FuncOp down = panelFunction(false, o2);
  auto callPanel = [&](OpBuilder &cb, func::FuncOp fn, ArrayRef<Value> a,
                       Value w, Value s, Value p) {
    SmallVector<Value> args(a);
    if (o1.wide)
      args.push_back(o1.wide);
    args.append({w, s, p, load(cb, loc, slotBegin, s),
                 load(cb, loc, slotRows, s)});
    func::CallOp::create(cb, loc, fn, args);
  };
  auto forall = [&](function_ref<void(OpBuilder &, Value)> fn) {
    scf::ForallOp::create(
        b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(t.workers)},
        ValueRange{}, std::nullopt,
        [&](OpBuilder &fb, Location, ValueRange ivs) {
          fn(fb, ivs[0]);
          scf::InParallelOp::create(fb, loc);
        });
  };
  // [lo, hi) of `items` for worker w: contiguous ranges.
  auto range = [&](OpBuilder &rb, Value items, Value w) {
    IB ir{rb, loc};
    Value per = ir.ceilDiv(items, workers);
    Value lo = ir.min(ir.mul(w, per), items);
    return std::make_pair(lo, ir.min(ir.add(lo, per), items));
  };

  // 2. The first projection of every slot: items (slot, panel).
  Value items1 = ib.mul(slots, panels1);
  forall([&](OpBuilder &fb, Value w) {
    auto [lo, hi] = range(fb, items1, w);
    IB{fb, loc}.loop(lo, hi, oneIdx, [&](OpBuilder &lb, Value i) {
      Value s = arith::DivUIOp::create(lb, loc, i, panels1);
      Value p = arith::RemUIOp::create(lb, loc, i, panels1);
      Value e = load(lb, loc, slotExpert, s);
      callPanel(lb, first,
                {xRows, slotOf(lb, loc, packed1, e), bias1Of(lb, s), acc,
                 hidden, dModel, outPadded},
                w, s, p);
    });
  });

  // 3. The down projection of every slot: items (slot, panel), contiguous
  // ranges per worker as above (each worker streams whole experts); then,
  // serially (T·k rows of d_out floats), the weighted sums, rounded once.
  auto vt = VectorType::get({t.vec}, f32);
  auto maskType = VectorType::get({t.vec}, b.getI1Type());
  Value zeroV = arith::ConstantOp::create(b, loc, vt, b.getZeroAttr(vt));
  // The weighted sum of output panel q's columns, rounded once: per token,
  // its experts in increasing order, as the per-expert path adds them.
  auto combine = [&](OpBuilder &qb, Value q) {
    IB iq{qb, loc};
    for (int64_t j = 0; j < t.nrv; ++j) {
      Value col = iq.add(iq.mul(q, iq.c(nr)), iq.c(j * t.vec));
      iq.loop(zeroIdx, tokens, oneIdx, [&](OpBuilder &tb, Value tk) {
        vector::StoreOp::create(tb, loc, zeroV, sum, ValueRange{tk, col});
      });
      iq.loop(zeroIdx, valid, oneIdx, [&](OpBuilder &rb, Value r) {
        Value tk = load(rb, loc, rowToken, r);
        Value wv = vector::BroadcastOp::create(rb, loc, vt,
                                               load(rb, loc, rowWeight, r));
        Value yv = vector::LoadOp::create(rb, loc, vt, y, ValueRange{r, col});
        Value sv =
            vector::LoadOp::create(rb, loc, vt, sum, ValueRange{tk, col});
        Value prod = arith::MulFOp::create(rb, loc, wv, yv);
        vector::StoreOp::create(rb, loc,
                                arith::AddFOp::create(rb, loc, sv, prod), sum,
                                ValueRange{tk, col});
      });
      iq.loop(zeroIdx, tokens, oneIdx, [&](OpBuilder &tb, Value tk) {
        IB it{tb, loc};
        Value sv =
            vector::LoadOp::create(tb, loc, vt, sum, ValueRange{tk, col});
        Value mask = vector::CreateMaskOp::create(
            tb, loc, maskType, ValueRange{it.sub(nOut, col)});
        vector::MaskedStoreOp::create(tb, loc, out, ValueRange{tk, col}, mask,
                                      fromF32(tb, loc, sv, outElem));
      });
    }
  };
  Value items2 = ib.mul(slots, panels2);
  forall([&](OpBuilder &fb, Value w) {
    auto [lo, hi] = range(fb, items2, w);
    IB{fb, loc}.loop(lo, hi, oneIdx, [&](OpBuilder &lb, Value i) {
      Value s = arith::DivUIOp::create(lb, loc, i, panels2);
      Value q = arith::RemUIOp::create(lb, loc, i, panels2);
      Value e = load(lb, loc, slotExpert, s);
      callPanel(lb, down,
                {hidden, slotOf(lb, loc, packed2, e), bias2Of(lb, s), acc, y,
                 dModel, outPadded},
                w, s, q);
    });
  });
  ib.loop(zeroIdx, panels2, oneIdx, combine);

  auto outType = RankedTensorType::get(
      {ShapedType::kDynamic, ShapedType::kDynamic}, outElem);
  Value result = bufferization::ToTensorOp::create(
      b, loc, outType, out, b.getUnitAttr(), b.getUnitAttr());
  if (result.getType() != resultType)
    result = tensor::CastOp::create(b, loc, resultType, result);
  return result;
}
