//===- Compute.cpp - an op's buffers and its split between workers --------===//
//
// The compute side of a lowered op: its buffers (biases in panel order,
// scratch, result) and the split of its work between workers: token blocks
// (prefill) or panels (decode).
//
//===----------------------------------------------------------------------===//

#include "Kernels.h"

#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::glu;
using namespace mlir::glu::cpu;

/// The caller's buffer that `result` is written into, if the op's one use is
/// `bufferization.materialize_in_destination %result in restrict writable
/// %dest` with a contiguous rank-2 memref `%dest` of the result's element
/// type, defined before `op` (a function argument, typically): destination
/// passing. The kernels then store into `%dest` directly, with no result
/// allocation and no copy (the PyTorch front end writes into a tensor it
/// allocated). Anything else gets a fresh result buffer.
static bufferization::MaterializeInDestinationOp
destinationOf(Operation *op, Value result) {
  if (!result.hasOneUse())
    return {};
  auto mat = dyn_cast<bufferization::MaterializeInDestinationOp>(
      *result.getUsers().begin());
  if (!mat || mat.getSource() != result || !mat.getRestrict() ||
      !mat.getWritable())
    return {};
  auto type = dyn_cast<MemRefType>(mat.getDest().getType());
  if (!type || type.getRank() != 2 || !type.getLayout().isIdentity() ||
      type.getElementType() !=
          cast<RankedTensorType>(result.getType()).getElementType())
    return {};
  Value dest = mat.getDest();
  if (auto arg = dyn_cast<BlockArgument>(dest)) {
    if (!arg.getOwner()->isEntryBlock() ||
        !arg.getOwner()->getParent()->isAncestor(op->getParentRegion()))
      return {};
  } else if (Operation *def = dest.getDefiningOp();
             def->getBlock() != op->getBlock() || !def->isBeforeInBlock(op)) {
    return {};
  }
  return mat;
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
  if (widensOnce(true, ops) || (s.hasDown && widensOnce(false, ops)))
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
  auto destination = destinationOf(opResult.getDefiningOp(), opResult);
  if (destination) {
    ops.out = memref::CastOp::create(
        b, loc,
        MemRefType::get({ShapedType::kDynamic, ShapedType::kDynamic},
                        ops.outElem),
        destination.getDest());
    destination.erase(); // the kernels store into the destination
  } else {
    ops.out = allocBuffer(b, loc, {ops.m, ops.n}, ops.outElem);
  }

  // Token-parallel when every worker gets a few micro-kernel row blocks,
  // panel-parallel otherwise (decode). With 16-bit weights widened to f32
  // once per token block (widen-once), token-parallel workers each widen
  // every panel chunk for their own rows,
  // so below half a token block per worker the workers share one block's
  // panels instead, and each chunk is widened once for all the rows.
  int64_t minRows = std::min<int64_t>(4 * t.mr, t.mb);
  if (widensOnce(true, ops))
    minRows = std::max<int64_t>(minRows, t.mb / 2);
  Value perWorker = ib.ceilDiv(ops.m, workers);
  Value tokenParallel = ib.ge(perWorker, ib.c(minRows));
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
  // Decode's panel split of a small batch of 2-3 full-height row blocks
  // (2 MR to 3 MR tokens) runs the panel functions that prefetch the next K
  // chunk (see emitPanel). With one full block and a short one (MR+1 to
  // 2 MR - 1 tokens) the short block's share of the prefetches outlasts its
  // few FMAs: 8 tokens ran 13-15 % slower with them, 12 and 16 tokens
  // 7-13 % faster (4096x11008, f32, 2 threads). Ops whose weights stay in
  // the caches have no prefetching panels (t.chunkPrefetch).
  auto panel1Prefetch =
      t.chunkPrefetch ? outlinePanel(true, ops, /*prefetching=*/true) : nullptr;
  auto panel2Prefetch = t.chunkPrefetch && s.hasDown
                            ? outlinePanel(false, ops, /*prefetching=*/true)
                            : nullptr;
  auto callPanel = [&](OpBuilder &pb, Value prefetch, auto &plain,
                       auto &prefetching, Value w, Value hw, Value p,
                       Value rowBegin, Value rows) {
    if (!prefetch)
      return plain(pb, w, hw, p, rowBegin, rows);
    auto ifOp = scf::IfOp::create(pb, loc, TypeRange{}, prefetch,
                                  /*withElse=*/true);
    OpBuilder tb = ifOp.getThenBodyBuilder();
    prefetching(tb, w, hw, p, rowBegin, rows);
    OpBuilder eb = ifOp.getElseBodyBuilder();
    plain(eb, w, hw, p, rowBegin, rows);
  };
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
      Value prefetch =
          t.chunkPrefetch
              ? arith::AndIOp::create(lb, loc, il.ge(rows, il.c(2 * t.mr)),
                                      il.lt(rows, il.c(3 * t.mr + 1)))
                    .getResult()
              : Value();
      widenBlock(lb, il.c(0), rowBegin, rows); // one x scratch for all
      forall(lb, [&](OpBuilder &fb, Value w) {
        IB iw{fb, loc};
        Value shared = iw.c(0); // one hidden scratch for all workers
        iw.loop(w, panels1, workers, [&](OpBuilder &pb, Value p) {
          callPanel(pb, prefetch, panel1, panel1Prefetch, w, shared, p,
                    rowBegin, rows);
        });
      });
      if (s.hasDown)
        forall(lb, [&](OpBuilder &fb, Value w) {
          IB iw{fb, loc};
          Value shared = iw.c(0);
          iw.loop(w, panels2, workers, [&](OpBuilder &pb, Value q) {
            callPanel(pb, prefetch, panel2, panel2Prefetch, w, shared, q,
                      rowBegin, rows);
          });
        });
    });
  }
  b.setInsertionPointAfter(ifOp);

  auto outTensorType = RankedTensorType::get(
      {ShapedType::kDynamic, ShapedType::kDynamic}, ops.outElem);
  // (With a destination the op's result has no use left: this view of the
  // caller's buffer is dead, and neither restrict nor writable.)
  Value y = destination
                ? bufferization::ToTensorOp::create(b, loc, outTensorType,
                                                    ops.out)
                : bufferization::ToTensorOp::create(b, loc, outTensorType,
                                                    ops.out, b.getUnitAttr(),
                                                    b.getUnitAttr());
  // As static as the op's types say (reshapes to static batch dims need it).
  auto staticType = RankedTensorType::get(
      {cast<RankedTensorType>(x2.getType()).getDimSize(0),
       resultType.getDimSize(resultType.getRank() - 1)},
      ops.outElem);
  if (staticType != outTensorType)
    y = tensor::CastOp::create(b, loc, staticType, y);
  return unflattenTokens(b, loc, y, x, resultType);
}
