//===- SimtKernels.cpp - simt, decode and gate GPU kernels ------------------===//
//
// The projection kernels without tensor cores: simt (block tiles staged
// through shared memory) and decode (the weights streamed once for all
// tokens), and the elementwise gate kernel.
//
//===----------------------------------------------------------------------===//

#include "Kernels.h"

#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::glu;

namespace mlir::glu::gpu_kernels {

/// simt: tile-m x tile-n block tiles, 4x4 outputs a thread (strided by the
/// thread grid so that stores are coalesced), K in tile-k steps through
/// shared memory (padded rows against bank conflicts).
KernelInfo KernelBuilder::simt(StringRef name, const ProjSpec &spec) {
  constexpr int64_t TM = 4, TN = 4;
  int64_t BM = tiles.m, BN = tiles.n, BK = tiles.k;
  int64_t TYM = BM / TM, TXN = BN / TN, NT = TYM * TXN;
  int64_t SA = BM + 1, SW = BN + 1; // padded shared rows
  MLIRContext *ctx = module.getContext();
  gpu::GPUFuncOp func = newKernel(name, projArgTypes(ctx, spec), NT);
  Location loc = func.getLoc();
  ProjArgs args = projArgs(func, spec);
  int P = spec.parts();
  Value As = wgBuffer(func, BK * SA, spec.accType);
  Value Ws[2];
  for (int p = 0; p < P; ++p)
    Ws[p] = wgBuffer(func, BK * SW, spec.accType);

  OpBuilder b(ctx);
  b.setInsertionPoint(func.front().getTerminator());
  IndexMath im{b, loc};
  ScalarBuilder acc(b, loc, spec.accType);
  Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  Value bx = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
  Value by = gpu::BlockIdOp::create(b, loc, gpu::Dimension::y);
  Value tx = im.rem(tid, TXN), ty = im.div(tid, TXN);
  Value m0 = im.mul(by, BM), n0 = im.mul(bx, BN);
  Value zero = acc.constant(0.0);
  SmallVector<Value> init(P * TM * TN, zero);
  auto accIndex = [&](int p, int i, int j) { return (p * TM + i) * TN + j; };

  SmallVector<Value> result = forLoop(
      b, loc, im.c(0), args.K, im.c(BK), init,
      [&](OpBuilder &b, Value k0, ValueRange accs) -> SmallVector<Value> {
        IndexMath im{b, loc};
        // Stage x[m0:m0+BM, k0:k0+BK] as As[kk][mm].
        for (int64_t r = 0; r < BM * BK / NT; ++r) {
          Value e = im.add(tid, NT * r);
          Value kk = im.rem(e, BK), mm = im.div(e, BK);
          Value m = im.add(m0, mm), k = im.add(k0, kk);
          Value ok = im.band(im.lt(m, args.M), im.lt(k, args.K));
          Value v = loadOrZero(b, loc, args.x,
                               im.add(im.mul(m, args.K), k), ok, spec.accType);
          memref::StoreOp::create(b, loc, v, As,
                                  ValueRange{im.add(im.mul(kk, SA), mm)});
        }
        // Stage W_p[n0:n0+BN, k0:k0+BK] as Ws_p[kk][nn], reading along the
        // contiguous dimension of the layout.
        for (int p = 0; p < P; ++p) {
          for (int64_t r = 0; r < BN * BK / NT; ++r) {
            Value e = im.add(tid, NT * r);
            Value kk, nn;
            if (spec.layout == Layout::out_in) {
              kk = im.rem(e, BK);
              nn = im.div(e, BK);
            } else {
              nn = im.rem(e, BN);
              kk = im.div(e, BN);
            }
            Value n = im.add(n0, nn), k = im.add(k0, kk);
            Value ok = im.band(im.lt(n, args.N), im.lt(k, args.K));
            Value idx = weightIndex(im, spec, p, n, k, args.N, args.K);
            Value v = loadOrZero(b, loc, args.w[p], idx, ok, spec.accType);
            memref::StoreOp::create(b, loc, v, Ws[p],
                                    ValueRange{im.add(im.mul(kk, SW), nn)});
          }
        }
        gpu::BarrierOp::create(b, loc);
        SmallVector<Value> next = forLoop(
            b, loc, im.c(0), im.c(BK), im.c(1), accs,
            [&](OpBuilder &b, Value kk, ValueRange accs) {
              IndexMath im{b, loc};
              SmallVector<Value> a(TM), w(P * TN);
              for (int i = 0; i < TM; ++i)
                a[i] = memref::LoadOp::create(
                    b, loc, As,
                    ValueRange{im.add(im.mul(kk, SA), im.add(ty, i * TYM))});
              for (int p = 0; p < P; ++p)
                for (int j = 0; j < TN; ++j)
                  w[p * TN + j] = memref::LoadOp::create(
                      b, loc, Ws[p],
                      ValueRange{im.add(im.mul(kk, SW), im.add(tx, j * TXN))});
              SmallVector<Value> out(accs);
              for (int p = 0; p < P; ++p)
                for (int i = 0; i < TM; ++i)
                  for (int j = 0; j < TN; ++j)
                    out[accIndex(p, i, j)] = fma(b, loc, a[i], w[p * TN + j],
                                                 accs[accIndex(p, i, j)]);
              return out;
            });
        gpu::BarrierOp::create(b, loc);
        return next;
      });

  for (int i = 0; i < TM; ++i) {
    for (int j = 0; j < TN; ++j) {
      Value m = im.add(m0, im.add(ty, i * TYM));
      Value n = im.add(n0, im.add(tx, j * TXN));
      Value ok = im.band(im.lt(m, args.M), im.lt(n, args.N));
      ifThen(b, loc, ok, [&](OpBuilder &b) {
        IndexMath im{b, loc};
        SmallVector<Value> accs;
        for (int p = 0; p < P; ++p)
          accs.push_back(result[accIndex(p, i, j)]);
        Value v = epilogueValue(b, loc, spec, args, accs, n);
        memref::StoreOp::create(b, loc, v, args.out,
                                ValueRange{im.add(im.mul(m, args.N), n)});
      });
    }
  }
  KernelInfo info{func, KernelKind::Simt, NT};
  info.gridX = {"N", BN};
  info.gridY = {"M", BM};
  return info;
}

/// decode: every weight element is read once for all (at most
/// decode-tokens) tokens. out_in: a warp per output feature, lanes along K
/// (vectors of 16 bytes when `staticK` allows), shuffle reduction; in_out: a
/// thread per output feature, threads along N (coalesced).
KernelInfo KernelBuilder::decode(StringRef name, const ProjSpec &spec,
                                 int64_t staticK, int64_t tokens) {
  int64_t MT = tokens; // token rows computed (clamped to M - 1 and masked)
  bool warpPerFeature = spec.layout == Layout::out_in;
  int64_t block = warpPerFeature ? 256 : 128;
  int64_t featuresPerBlock = warpPerFeature ? block / 32 : block;
  MLIRContext *ctx = module.getContext();
  gpu::GPUFuncOp func = newKernel(name, projArgTypes(ctx, spec), block);
  Location loc = func.getLoc();
  ProjArgs args = projArgs(func, spec);
  int P = spec.parts();

  OpBuilder b(ctx);
  b.setInsertionPoint(func.front().getTerminator());
  IndexMath im{b, loc};
  ScalarBuilder acc(b, loc, spec.accType);
  Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  Value bx = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
  Value lane = warpPerFeature ? im.rem(tid, 32) : im.c(0);
  Value n = warpPerFeature ? im.add(im.mul(bx, featuresPerBlock), im.div(tid, 32))
                           : im.add(im.mul(bx, featuresPerBlock), tid);
  Value nc = im.min(n, im.sub(args.N, 1));
  Value lastToken = im.sub(args.M, 1);
  SmallVector<Value> tokenRow(MT); // x row of token m, clamped to M - 1
  for (int64_t m = 0; m < MT; ++m)
    tokenRow[m] = im.mul(im.min(im.c(m), lastToken), args.K);
  SmallVector<Value> init(P * MT, acc.constant(0.0));

  // Vector width of the weight loads (out_in only): 16 bytes when every row
  // start stays 16-byte aligned.
  int64_t wBytes = FloatType(spec.wType).getWidth() / 8;
  int64_t vec = 1;
  if (warpPerFeature && staticK > 0 && staticK % (16 / wBytes) == 0)
    vec = 16 / wBytes;

  SmallVector<Value> sums;
  if (warpPerFeature) {
    sums = forLoop(
        b, loc, im.mul(lane, vec), args.K, im.c(32 * vec), init,
        [&](OpBuilder &b, Value k, ValueRange accs) -> SmallVector<Value> {
          IndexMath im{b, loc};
          ScalarBuilder s(b, loc, spec.accType);
          // loads[i]: `vec` values of a buffer at `idx`, converted.
          auto loadVec = [&](Value mem, FloatType elt, Value idx) {
            SmallVector<Value> vals;
            if (vec == 1) {
              vals.push_back(s.convert(memref::LoadOp::create(b, loc, mem, idx)));
              return vals;
            }
            auto vt = VectorType::get({vec}, elt);
            Value v = vector::LoadOp::create(
                b, loc, vt, mem, ValueRange{idx}, false,
                llvm::MaybeAlign(vec * FloatType(elt).getWidth() / 8));
            for (int64_t i = 0; i < vec; ++i)
              vals.push_back(
                  s.convert(vector::ExtractOp::create(b, loc, v, i)));
            return vals;
          };
          SmallVector<SmallVector<Value>> w(P);
          for (int p = 0; p < P; ++p)
            w[p] = loadVec(args.w[p], spec.wType,
                           weightIndex(im, spec, p, nc, k, args.N, args.K));
          SmallVector<Value> out(accs);
          for (int64_t m = 0; m < MT; ++m) {
            SmallVector<Value> x =
                loadVec(args.x, spec.xType, im.add(tokenRow[m], k));
            for (int p = 0; p < P; ++p)
              for (int64_t i = 0; i < vec; ++i)
                out[p * MT + m] = fma(b, loc, x[i], w[p][i], out[p * MT + m]);
          }
          return out;
        });
    // Butterfly reduction across the warp: every lane ends with the sum.
    for (Value &v : sums)
      for (int32_t off = 16; off > 0; off /= 2) {
        Value other = gpu::ShuffleOp::create(b, loc, v, off, 32,
                                             gpu::ShuffleMode::XOR)
                          .getShuffleResult();
        v = acc.add(v, other);
      }
  } else {
    Value rows = physicalRows(im, spec, args.N);
    sums = forLoop(
        b, loc, im.c(0), args.K, im.c(1), init,
        [&](OpBuilder &b, Value k, ValueRange accs) -> SmallVector<Value> {
          IndexMath im{b, loc};
          ScalarBuilder s(b, loc, spec.accType);
          SmallVector<Value> w(P);
          for (int p = 0; p < P; ++p)
            w[p] = s.convert(memref::LoadOp::create(
                b, loc, args.w[p],
                im.add(im.mul(k, rows), physicalRow(im, spec, p, nc, args.N))));
          SmallVector<Value> out(accs);
          for (int64_t m = 0; m < MT; ++m) {
            Value x = s.convert(memref::LoadOp::create(
                b, loc, args.x, im.add(tokenRow[m], k)));
            for (int p = 0; p < P; ++p)
              out[p * MT + m] = fma(b, loc, x, w[p], out[p * MT + m]);
          }
          return out;
        });
  }

  Value ok = im.lt(n, args.N);
  if (warpPerFeature)
    ok = im.band(ok, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                           lane, im.c(0)));
  ifThen(b, loc, ok, [&](OpBuilder &b) {
    for (int64_t m = 0; m < MT; ++m) {
      IndexMath im{b, loc};
      ifThen(b, loc, im.lt(im.c(m), args.M), [&](OpBuilder &b) {
        IndexMath im{b, loc};
        SmallVector<Value> accs;
        for (int p = 0; p < P; ++p)
          accs.push_back(sums[p * MT + m]);
        Value v = epilogueValue(b, loc, spec, args, accs, n);
        memref::StoreOp::create(b, loc, v, args.out,
                                ValueRange{im.add(im.mul(im.c(m), args.N), n)});
      });
    }
  });
  KernelInfo info{func, KernelKind::Decode, block};
  info.gridX = {"N", featuresPerBlock};
  return info;
}

/// glu.gate: out[i] = gate(g[i], u[i]), a thread an element.
KernelInfo KernelBuilder::gate(StringRef name, const ActivationSpec &act,
                               FloatType inType, FloatType accType) {
  MLIRContext *ctx = module.getContext();
  auto flat = MemRefType::get({ShapedType::kDynamic}, inType);
  Type index = IndexType::get(ctx);
  constexpr int64_t block = 256;
  gpu::GPUFuncOp func =
      newKernel(name, {flat, flat, flat, index, index, index}, block);
  Location loc = func.getLoc();
  OpBuilder b(ctx);
  b.setInsertionPoint(func.front().getTerminator());
  IndexMath im{b, loc};
  Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  Value bx = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
  Value i = im.add(im.mul(bx, block), tid);
  Value numel = func.getArgument(5); // (M, K, N) = (1, 1, numel)
  ifThen(b, loc, im.lt(i, numel), [&](OpBuilder &b) {
    ScalarBuilder s(b, loc, accType);
    Value g = s.convert(memref::LoadOp::create(b, loc, func.getArgument(0), i));
    Value u = s.convert(memref::LoadOp::create(b, loc, func.getArgument(1), i));
    memref::StoreOp::create(b, loc, s.convertTo(s.gate(act, g, u), inType),
                            func.getArgument(2), i);
  });
  KernelInfo info{func, KernelKind::Simt, block};
  info.gridX = {"N", block};
  return info;
}

} // namespace mlir::glu::gpu_kernels
