//===- MmaKernel.cpp - the tensor-core GPU projection kernel ----------------===//
//
// f16/bf16 projections with f32 accumulation on tensor cores: block tiles
// staged by cp.async through shared memory, fragments by ldmatrix, products
// by mma.sync m16n8k16.
//
//===----------------------------------------------------------------------===//

#include "Kernels.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::glu;

namespace {

/// An m16n8k16 operand fragment in the form the product takes it: f16 as
/// `vec` (vector<4x2xf16> for A, vector<2x2xf16> for B) for nvgpu.mma.sync;
/// bf16, which nvgpu.mma.sync cannot type in LLVM 22, as `words`, its pairs
/// as 32-bit registers (the first value in the low half) for nvvm.mma.sync.
struct Fragment {
  Value vec;
  SmallVector<Value, 4> words;
};

/// The 32-bit registers of an ldmatrix.x4 result (vector<4x2xbf16>), by
/// 1-D ops (which is what the NVVM lowering takes).
SmallVector<Value, 4> fragmentWords(OpBuilder &b, Location loc, Value v) {
  SmallVector<Value, 4> words;
  for (int64_t r = 0; r < 4; ++r) {
    Value pair = vector::ExtractOp::create(b, loc, v, ArrayRef<int64_t>{r});
    Value w = vector::BitCastOp::create(
        b, loc, VectorType::get({1}, b.getI32Type()), pair);
    words.push_back(vector::ExtractOp::create(b, loc, w, ArrayRef<int64_t>{0}));
  }
  return words;
}

/// The A fragment (a0a1, a2a3, a4a5, a6a7) from an ldmatrix.x4 result.
Fragment aFragment(OpBuilder &b, Location loc, Value v) {
  if (cast<VectorType>(v.getType()).getElementType().isF16())
    return {v, {}};
  return {Value(), fragmentWords(b, loc, v)};
}

/// The B fragments (b0b1, b2b3) of two adjacent n8 tiles from one
/// ldmatrix.x4 result: registers 0-1 the first tile, 2-3 the second.
std::array<Fragment, 2> bFragments(OpBuilder &b, Location loc, Value v) {
  auto type = cast<VectorType>(v.getType());
  if (!type.getElementType().isF16()) {
    SmallVector<Value, 4> w = fragmentWords(b, loc, v);
    return {Fragment{Value(), {w[0], w[1]}}, Fragment{Value(), {w[2], w[3]}}};
  }
  auto half = VectorType::get({2, 2}, type.getElementType());
  Value zero = arith::ConstantOp::create(
      b, loc, half, DenseElementsAttr::get(half, b.getF16FloatAttr(0)));
  std::array<Fragment, 2> f;
  for (int64_t h = 0; h < 2; ++h) {
    f[h].vec = zero;
    for (int64_t r = 0; r < 2; ++r) {
      Value pair =
          vector::ExtractOp::create(b, loc, v, ArrayRef<int64_t>{2 * h + r});
      f[h].vec = vector::InsertOp::create(b, loc, pair, f[h].vec,
                                          ArrayRef<int64_t>{r});
    }
  }
  return f;
}

/// One warp-wide m16n8k16 product D = A·B + C from this lane's fragments
/// (PTX layouts) and 4 f32 of C.
SmallVector<Value> mmaTile(OpBuilder &b, Location loc, const Fragment &a,
                           const Fragment &bf, ArrayRef<Value> c) {
  Type f32 = b.getF32Type();
  SmallVector<Value> d;
  if (a.vec) {
    Value cv = vector::FromElementsOp::create(
        b, loc, VectorType::get({2, 2}, f32), c);
    Value dv = nvgpu::MmaSyncOp::create(b, loc, a.vec, bf.vec, cv,
                                        ArrayRef<int64_t>{16, 8, 16});
    for (int64_t r = 0; r < 2; ++r)
      for (int64_t col = 0; col < 2; ++col)
        d.push_back(
            vector::ExtractOp::create(b, loc, dv, ArrayRef<int64_t>{r, col}));
    return d;
  }
  auto resultType = LLVM::LLVMStructType::getLiteral(
      b.getContext(), SmallVector<Type>(4, f32));
  Value res = NVVM::MmaOp::create(
      b, loc, resultType, a.words, bf.words, c, ArrayRef<int64_t>{16, 8, 16},
      std::nullopt, std::nullopt,
      std::array<NVVM::MMATypes, 2>{NVVM::MMATypes::bf16, NVVM::MMATypes::bf16},
      std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                     NVVM::MMALayout::col});
  for (int64_t k = 0; k < 4; ++k)
    d.push_back(LLVM::ExtractValueOp::create(b, loc, res, k));
  return d;
}

} // namespace

namespace mlir::glu::gpu_kernels {

/// mma: BM x BN block tiles (mma-tile-m x mma-tile-n: 64x64 on 4 warps;
/// 128x64, 64x128, 128x128 on 8), each warp a (BM / WM) x 32 tile of
/// m16n8k16 products (WM x WN warps), f32 accumulators in registers, K in
/// steps of 32 through `mma-stages` shared-memory stages. Operands reach
/// shared memory with nvgpu.device_async_copy (cp.async, 16 bytes,
/// zero-filled outside the matrix) where rows are chunks of 8 contiguous
/// elements (along K for x and out_in W when K % 8 == 0, along N for in_out
/// W when N % 8 == 0 and not interleaved); otherwise through registers.
///
/// Pipeline (S stages, one barrier a step): steps 0..S-2 are in flight
/// before the loop; step kt waits for its own group only (S - 2 newer ones
/// may still be pending), then the barrier, then it issues step kt + S - 1
/// into the stage step kt - 1 used (everyone is past that step: the
/// barrier), and multiplies stage kt % S while S - 1 steps are in flight.
/// Operands that go through registers are loaded before the products and
/// stored to their stage after them.
///
/// Shared layouts (per stage, all in one dynamic shared-memory buffer: the
/// launch's dynamic_shared_bytes, beyond 48 KiB the launcher opts the
/// kernel in), rows padded by 8 elements (16 bytes):
///   x (and its lo part)  [m][k], rows of LD = BK + 8;
///   W out_in             [n][k], rows of LD;
///   W in_out             [k][n], rows of LDW = BN + 8 (as in memory).
/// Fragments come from nvgpu.ldmatrix.x4: lane l gives the row address of
/// row l % 8 of matrix l / 8 and receives, of each matrix i, row l / 4,
/// elements 2(l % 4) and 2(l % 4) + 1 in register i (.trans: the transposed
/// 8x8 matrix). The PTX m16n8k16 layouts (lane = 4·g + t) are
/// A[g + 8(r%2)][2t + c + 8(r/2)] in register r, B[k = 2t + c + 8r][n = g],
/// C[g + 8r][2t + c]; so A's four 8x8 matrices are (rows, k) = (0-7, 0-7),
/// (8-15, 0-7), (0-7, 8-15), (8-15, 8-15), and one x4 gives B for two n8
/// tiles: (n, k) = (0-7, 0-7), (0-7, 8-15), (8-15, 0-7), (8-15, 8-15),
/// read from [n][k] as is, or from [k][n] with .trans. Each 8-row phase
/// reads 8 rows of 16 bytes whose starts (a multiple of 80, 144 or 272
/// bytes apart) fall in 8 different 16-byte bank groups: no bank conflicts.
KernelInfo KernelBuilder::mma(StringRef name, const ProjSpec &spec,
                              int64_t staticK, int64_t staticN) {
  const int64_t BM = tiles.mmaM, BN = tiles.mmaN, S = tiles.mmaStages;
  constexpr int64_t BK = 32, LD = BK + 8, WTN = 4; // n8 tiles a warp
  const int64_t NT = BM * BN == 64 * 64 ? 128 : 256;
  const int64_t WN = BN / (8 * WTN), WM = NT / 32 / WN;
  const int64_t WTM = BM / WM / 16; // m16 tiles a warp
  const int64_t LDW = BN + 8;
  bool inOut = spec.layout == Layout::in_out;
  const int64_t STAGE_A = BM * LD, STAGE_W = inOut ? BK * LDW : BN * LD;
  MLIRContext *ctx = module.getContext();
  gpu::GPUFuncOp func = newKernel(name, projArgTypes(ctx, spec), NT);
  Location loc = func.getLoc();
  ProjArgs args = projArgs(func, spec);
  int P = spec.parts();
  Type elt = spec.wType;
  // f32 x: x = hi + lo with hi = 16-bit(x), lo = 16-bit(x - hi), and
  // x·W = hi·W + lo·W, two products on tensor cores: the error is that of
  // rounding x to 16 + 8 (bf16) or 22 (f16) bits, far below the output's.
  bool split = spec.xType.isF32();
  // cp.async of 8 elements needs 16-byte aligned rows of whole chunks:
  // along K (x, out_in W) when K % 8 == 0; along N (in_out W) when
  // N % 8 == 0 and each part's features are contiguous (not interleaved).
  bool asyncK = staticK > 0 && staticK % 8 == 0;
  bool asyncN = inOut && staticN > 0 && staticN % 8 == 0 &&
                !(spec.merged && spec.packing == Packing::interleaved);

  OpBuilder b(ctx);
  b.setInsertionPoint(func.front().getTerminator());
  IndexMath im{b, loc};
  // Shared memory: x's S stages, x lo's, then each weight's.
  int64_t aOffset = 0, aLoOffset = S * STAGE_A;
  int64_t wOffset[2] = {aLoOffset + (split ? S * STAGE_A : 0), 0};
  wOffset[1] = wOffset[0] + S * STAGE_W;
  int64_t sharedElems = wOffset[0] + P * S * STAGE_W;
  auto workgroup =
      gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  Value bytes = gpu::DynamicSharedMemoryOp::create(
      b, loc,
      MemRefType::get({ShapedType::kDynamic}, b.getI8Type(),
                      MemRefLayoutAttrInterface{}, workgroup));
  Value smem = memref::ViewOp::create(
      b, loc,
      MemRefType::get({sharedElems}, elt, MemRefLayoutAttrInterface{},
                      workgroup),
      bytes, im.c(0), ValueRange{});

  Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  Value bx = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
  Value by = gpu::BlockIdOp::create(b, loc, gpu::Dimension::y);
  Value m0 = im.mul(by, BM), n0 = im.mul(bx, BN);
  Value warp = im.div(tid, 32), lane = im.rem(tid, 32);
  Value wm = im.mul(im.div(warp, WN), BM / WM);
  Value wn = im.mul(im.rem(warp, WN), 8 * WTN);
  Value g = im.div(lane, 4), t = im.rem(lane, 4);
  // The row this lane addresses for ldmatrix.x4: row l % 8 of matrix l / 8,
  // i.e. row l % 16 in the first 8 columns (l < 16) or the next 8.
  Value lrow = im.rem(lane, 16), lcol = im.mul(im.div(lane, 16), 8);
  Value zero = arith::ConstantOp::create(b, loc, b.getF32Type(),
                                         b.getF32FloatAttr(0));
  // Four f32 accumulators (c0..c3) per m16n8 tile and part.
  SmallVector<Value> init(P * WTM * WTN * 4, zero);
  auto accIndex = [&](int p, int i, int j) {
    return ((p * WTM + i) * WTN + j) * 4;
  };

  // Where stage `stage` of x, of x's lo part and of weight p start.
  auto aBase = [&](IndexMath &im, Value stage) {
    return im.add(im.mul(stage, STAGE_A), aOffset);
  };
  auto aLoBase = [&](IndexMath &im, Value stage) {
    return im.add(im.mul(stage, STAGE_A), aLoOffset);
  };
  auto wBase = [&](IndexMath &im, Value stage, int p) {
    return im.add(im.mul(stage, STAGE_W), wOffset[p]);
  };
  // A value loaded through registers for shared memory, stored by
  // `storeCopies` (in the loop after the step's products, so that the
  // global load's latency overlaps them) at `at` in its stage of x (`part`
  // -1; f32 x: its 16-bit hi, and lo in x's lo part) or of weight `part`.
  // Only the value and the stage-independent `at` live across the products.
  struct RegisterCopy {
    Value v, at;
    int part;
  };
  auto storeCopies = [&](OpBuilder &b, ArrayRef<RegisterCopy> copies,
                         Value stage) {
    IndexMath im{b, loc};
    for (const RegisterCopy &c : copies) {
      if (c.part >= 0 || !split) {
        Value base = c.part >= 0 ? wBase(im, stage, c.part) : aBase(im, stage);
        memref::StoreOp::create(b, loc, c.v, smem,
                                ValueRange{im.add(base, c.at)});
        continue;
      }
      ScalarBuilder s32(b, loc, spec.xType);
      Value hi = s32.convertTo(c.v, elt);
      Value lo = s32.convertTo(
          arith::SubFOp::create(b, loc, c.v, s32.convert(hi)), elt);
      memref::StoreOp::create(b, loc, hi, smem,
                              ValueRange{im.add(aBase(im, stage), c.at)});
      memref::StoreOp::create(b, loc, lo, smem,
                              ValueRange{im.add(aLoBase(im, stage), c.at)});
    }
  };
  // Starts copying K step `k0` into stage `stage`: x rows and, for out_in,
  // weight rows as chunks of 8 along K, in_out weight rows as chunks of 8
  // along N (cp.async of 16 bytes, zero-filled outside the matrix, when
  // `asyncK`, `asyncN`; else loads into registers, returned). Commits a
  // cp.async group (when asynchronous) and returns its token.
  auto stageTile =
      [&](OpBuilder &b, Value k0,
          Value stage) -> std::pair<Value, SmallVector<RegisterCopy>> {
    IndexMath im{b, loc};
    SmallVector<Value> tokens;
    SmallVector<RegisterCopy> copies;
    // 8 elements (16 bytes) or zeros; cp.async.cg: through L2 only, the
    // tiles are not read again by this block.
    auto copy8 = [&](Value dstIdx, Value src, Value srcIdx, Value ok) {
      tokens.push_back(nvgpu::DeviceAsyncCopyOp::create(
          b, loc, nvgpu::DeviceAsyncTokenType::get(ctx), smem,
          ValueRange{dstIdx}, src, ValueRange{im.select(ok, srcIdx, im.c(0))},
          b.getIndexAttr(8), im.select(ok, im.c(8), im.c(0)), b.getUnitAttr()));
    };
    // Rows of `part` (-1: x) along K.
    auto stageRows = [&](int64_t rows, int part, Value src,
                         function_ref<std::pair<Value, Value>(Value)> row) {
      for (int64_t r = 0; r < rows * BK / 8 / NT; ++r) {
        Value c = im.add(tid, NT * r);
        Value rr = im.div(c, BK / 8), kc = im.mul(im.rem(c, BK / 8), 8);
        Value k = im.add(k0, kc);
        auto [start, rowOk] = row(rr);
        Value ok = im.band(rowOk, im.lt(k, args.K));
        Value at = im.add(im.mul(rr, LD), kc);
        if (asyncK) {
          Value base = part >= 0 ? wBase(im, stage, part) : aBase(im, stage);
          copy8(im.add(base, at), src, im.add(start, k), ok);
          continue;
        }
        for (int64_t e = 0; e < 8; ++e) {
          Value ke = im.add(k, e);
          Value oke = im.band(rowOk, im.lt(ke, args.K));
          Value v = loadOrZero(b, loc, src, im.add(start, ke), oke,
                               cast<FloatType>(elt));
          copies.push_back({v, im.add(at, e), part});
        }
      }
    };
    if (split) {
      // Through registers, along K (coalesced): hi and lo of each element.
      for (int64_t r = 0; r < BM * BK / NT; ++r) {
        Value e = im.add(tid, NT * r);
        Value kk = im.rem(e, BK), mm = im.div(e, BK);
        Value m = im.add(m0, mm), k = im.add(k0, kk);
        Value ok = im.band(im.lt(m, args.M), im.lt(k, args.K));
        Value v = loadOrZero(b, loc, args.x, im.add(im.mul(m, args.K), k), ok,
                             spec.xType);
        copies.push_back({v, im.add(im.mul(mm, LD), kk), -1});
      }
    } else {
      stageRows(BM, -1, args.x, [&](Value rr) {
        Value m = im.add(m0, rr);
        return std::make_pair(im.mul(m, args.K), im.lt(m, args.M));
      });
    }
    for (int p = 0; p < P; ++p) {
      if (!inOut) {
        stageRows(BN, p, args.w[p], [&](Value rr) {
          Value n = im.add(n0, rr);
          Value row = physicalRow(im, spec, p, n, args.N);
          return std::make_pair(im.mul(row, args.K), im.lt(n, args.N));
        });
        continue;
      }
      Value rows = physicalRows(im, spec, args.N);
      if (asyncN) {
        for (int64_t r = 0; r < BK * BN / 8 / NT; ++r) {
          Value c = im.add(tid, NT * r);
          Value kk = im.div(c, BN / 8), nc = im.mul(im.rem(c, BN / 8), 8);
          Value n = im.add(n0, nc), k = im.add(k0, kk);
          Value ok = im.band(im.lt(n, args.N), im.lt(k, args.K));
          Value idx =
              im.add(im.mul(k, rows), physicalRow(im, spec, p, n, args.N));
          copy8(im.add(wBase(im, stage, p), im.add(im.mul(kk, LDW), nc)),
                args.w[p], idx, ok);
        }
        continue;
      }
      for (int64_t r = 0; r < BN * BK / NT; ++r) {
        Value e = im.add(tid, NT * r);
        Value nn = im.rem(e, BN), kk = im.div(e, BN);
        Value n = im.add(n0, nn), k = im.add(k0, kk);
        Value ok = im.band(im.lt(n, args.N), im.lt(k, args.K));
        Value idx =
            im.add(im.mul(k, rows), physicalRow(im, spec, p, n, args.N));
        Value v =
            loadOrZero(b, loc, args.w[p], idx, ok, cast<FloatType>(elt));
        copies.push_back({v, im.add(im.mul(kk, LDW), nn), p});
      }
    }
    Value group;
    if (!tokens.empty())
      group = nvgpu::DeviceAsyncCreateGroupOp::create(
          b, loc, nvgpu::DeviceAsyncTokenType::get(ctx), tokens);
    return {group, std::move(copies)};
  };
  // cp.async.wait_group `pending`: all but the `pending` most recently
  // committed groups are complete (`group` only orders the op: the count
  // is over every group committed so far).
  auto waitGroups = [&](OpBuilder &b, Value group, int32_t pending) {
    if (group)
      nvgpu::DeviceAsyncWaitOp::create(b, loc, group,
                                       b.getI32IntegerAttr(pending));
  };

  // Prologue: steps 0..S-2 into stages 0..S-2 (beyond K they only
  // zero-fill).
  Value group;
  for (int64_t s = 0; s + 1 < S; ++s) {
    auto [g, copies] = stageTile(b, im.c(s * BK), im.c(s));
    storeCopies(b, copies, im.c(s));
    group = g;
  }
  Value steps = arith::CeilDivUIOp::create(b, loc, args.K, im.c(BK));
  SmallVector<Value> result = forLoop(
      b, loc, im.c(0), steps, im.c(1), init,
      [&](OpBuilder &b, Value kt, ValueRange accs) -> SmallVector<Value> {
        IndexMath im{b, loc};
        waitGroups(b, group, S - 2);
        gpu::BarrierOp::create(b, loc);
        Value ahead = im.add(kt, S - 1), aheadStage = im.rem(ahead, S);
        SmallVector<RegisterCopy> copies =
            stageTile(b, im.mul(ahead, BK), aheadStage).second;

        Value cur = im.rem(kt, S);
        Value aCur = aBase(im, cur), aLoCur = aLoBase(im, cur);
        auto ldmatrix = [&](Value idx, bool transpose) -> Value {
          return nvgpu::LdMatrixOp::create(
              b, loc, VectorType::get({4, 2}, elt), smem, ValueRange{idx},
              b.getBoolAttr(transpose), b.getI32IntegerAttr(4));
        };
        SmallVector<Value> next(accs);
        for (int64_t ks = 0; ks < BK; ks += 16) {
          SmallVector<Fragment> a, aLo;
          for (int i = 0; i < WTM; ++i) {
            Value row = im.add(wm, im.add(lrow, i * 16));
            Value at = im.add(im.mul(row, LD), im.add(lcol, ks));
            a.push_back(aFragment(b, loc, ldmatrix(im.add(aCur, at), false)));
            if (split)
              aLo.push_back(
                  aFragment(b, loc, ldmatrix(im.add(aLoCur, at), false)));
          }
          for (int p = 0; p < P; ++p) {
            Value wCur = wBase(im, cur, p);
            for (int j = 0; j < WTN; j += 2) {
              // Tiles j and j + 1: lane l addresses n = 8j + l % 8 + lcol
              // at k = ks + 8·((l / 8) % 2), i.e. of [n][k] or, .trans, of
              // [k][n] (k = ks + l % 16, n = 8j + lcol).
              Value at;
              if (inOut) {
                Value k = im.add(lrow, ks);
                Value n = im.add(wn, im.add(lcol, j * 8));
                at = im.add(im.mul(k, LDW), n);
              } else {
                Value n =
                    im.add(wn, im.add(im.add(im.rem(lane, 8), lcol), j * 8));
                Value k = im.add(im.mul(im.rem(im.div(lane, 8), 2), 8), ks);
                at = im.add(im.mul(n, LD), k);
              }
              std::array<Fragment, 2> bf =
                  bFragments(b, loc, ldmatrix(im.add(wCur, at), inOut));
              for (int h = 0; h < 2; ++h)
                for (int i = 0; i < WTM; ++i) {
                  int c = accIndex(p, i, j + h);
                  SmallVector<Value> d = mmaTile(
                      b, loc, a[i], bf[h], ArrayRef<Value>(next).slice(c, 4));
                  if (split)
                    d = mmaTile(b, loc, aLo[i], bf[h], d);
                  std::copy(d.begin(), d.end(), next.begin() + c);
                }
            }
          }
        }
        storeCopies(b, copies, aheadStage);
        return next;
      });
  waitGroups(b, group, 0); // the last (zero-filling) groups

  for (int i = 0; i < WTM; ++i)
    for (int j = 0; j < WTN; ++j)
      for (int r = 0; r < 2; ++r)
        for (int c = 0; c < 2; ++c) {
          Value m = im.add(im.add(m0, wm), im.add(g, i * 16 + 8 * r));
          Value n = im.add(im.add(n0, wn), im.add(im.mul(t, 2), j * 8 + c));
          Value ok = im.band(im.lt(m, args.M), im.lt(n, args.N));
          ifThen(b, loc, ok, [&](OpBuilder &b) {
            IndexMath im{b, loc};
            SmallVector<Value> accs;
            for (int p = 0; p < P; ++p)
              accs.push_back(result[accIndex(p, i, j) + 2 * r + c]);
            Value v = epilogueValue(b, loc, spec, args, accs, n);
            memref::StoreOp::create(b, loc, v, args.out,
                                    ValueRange{im.add(im.mul(m, args.N), n)});
          });
        }
  KernelInfo info{func, KernelKind::Mma, NT};
  info.gridX = {"N", BN};
  info.gridY = {"M", BM};
  info.sharedBytes = sharedElems * FloatType(elt).getWidth() / 8;
  return info;
}

} // namespace mlir::glu::gpu_kernels
