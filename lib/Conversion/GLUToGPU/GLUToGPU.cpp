//===- GLUToGPU.cpp - glu ops to GPU kernels and their launches -----------===//
//
// Every glu op becomes kernels in one `gpu.module @glu_kernels` and host
// code that launches them:
//
//   glu.ffn / glu.mlp   gate+up (or up) projection kernel: gate and up are
//                       accumulated together and bias, activation and gating
//                       are applied in registers before the one store of the
//                       hidden ([M, F] in acc_type); then the down projection
//                       (bias, one rounding to the result type).
//   glu.gate_up         the gate+up kernel alone, storing the rounded hidden.
//   glu.gate            one elementwise kernel.
//
// Projection kernels (out[M, N] = epilogue(x[M, K] · W^T), W one or two
// logical [N, K] matrices read through the op's layout and packing):
//
//   decode  M <= decode-tokens: the weight is streamed once for all tokens.
//           out_in: a warp per output feature, lanes along K (16-byte vector
//           loads when K allows), shuffle reduction; in_out: a thread per
//           feature, coalesced along N.
//   mma     f16/bf16 x and W, f32 accumulation: nvgpu.mma.sync m16n8k16 on
//           64x64 to 128x128 block tiles, 4 or 8 warps, operands staged
//           by cp.async in 2 to 4 shared-memory stages, fragments by
//           ldmatrix.
//   simt    everything else: tile-m x tile-n block tiles, 4x4 outputs a
//           thread, K staged in shared memory (in acc_type).
//
// Kernels take flat `memref<?xT>` buffers and the sizes (M, K, N) as index,
// so one binary serves any token count; the host picks decode or the tiled
// kernel from M. The scalar math (activations, gating, conversions) is
// glu's ScalarBuilder, the one the reference lowering uses.
//
//===----------------------------------------------------------------------===//

#include "glu/Conversion/Passes.h"
#include "glu/Dialect/GLU/IR/GLU.h"
#include "glu/Dialect/GLU/Utils/Builders.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/JSON.h"

namespace mlir::glu {
#define GEN_PASS_DEF_CONVERTGLUTOGPU
#include "glu/Conversion/Passes.h.inc"
} // namespace mlir::glu

using namespace mlir;
using namespace mlir::glu;

namespace {

constexpr StringLiteral kKernelModule = "glu_kernels";
constexpr StringLiteral kEntriesAttr = "glu.gpu.entries";

//===----------------------------------------------------------------------===//
// Kernel specifications
//===----------------------------------------------------------------------===//

/// What a projection kernel does with its accumulators before the store.
enum class Epilogue {
  Gated,     // act(g + bg) ⊙ (u + bu)
  Activated, // act(p + b)
  Bias,      // p + b
};

/// A projection kernel `out[M, N] = epilogue(x[M, K] · Wᵀ)`, W one (or, gated,
/// two) logical [N, K] matrices.
struct ProjSpec {
  Epilogue epilogue;
  ActivationSpec act;
  Layout layout;
  FloatType xType, wType, biasType, outType, accType; // biasType may be null
  bool merged = false; // gate and up rows in one buffer, as `packing` says
  Packing packing = Packing::concat;
  bool bias0 = false, bias1 = false; // gate (or only) and up bias present

  int parts() const { return epilogue == Epilogue::Gated ? 2 : 1; }
  int numWeightBuffers() const { return merged ? 1 : parts(); }
  int numBiasBuffers() const {
    return merged ? (bias0 ? 1 : 0) : int(bias0) + int(bias1);
  }
};

enum class KernelKind { Decode, Mma, Simt };

StringRef kindName(KernelKind k) {
  switch (k) {
  case KernelKind::Decode:
    return "decode";
  case KernelKind::Mma:
    return "mma";
  case KernelKind::Simt:
    return "simt";
  }
  llvm_unreachable("kind");
}

/// A built kernel and how it is launched: grid dims are ceil(size / tile)
/// over the kernel's (M, K, N) sizes ("" = the constant 1).
struct KernelInfo {
  gpu::GPUFuncOp func;
  KernelKind kind;
  int64_t block = 256;
  // grid x, y: (size name among "M", "N", tile)
  std::pair<StringRef, int64_t> gridX{"", 1}, gridY{"", 1};
  int64_t sharedBytes = 0; // dynamic shared memory
};

struct Tiles {
  int64_t m, n, k;
  int64_t mmaM, mmaN, mmaStages;
  int64_t decodeTokens;
  bool tensorCores;
  bool roundHidden;
};

//===----------------------------------------------------------------------===//
// Index arithmetic helpers
//===----------------------------------------------------------------------===//

struct IndexMath {
  OpBuilder &b;
  Location loc;

  Value c(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value add(Value x, int64_t y) { return y == 0 ? x : add(x, c(y)); }
  Value mul(Value x, Value y) { return arith::MulIOp::create(b, loc, x, y); }
  Value mul(Value x, int64_t y) { return y == 1 ? x : mul(x, c(y)); }
  Value rem(Value x, int64_t y) { return arith::RemUIOp::create(b, loc, x, c(y)); }
  Value div(Value x, int64_t y) { return arith::DivUIOp::create(b, loc, x, c(y)); }
  Value min(Value x, Value y) { return arith::MinUIOp::create(b, loc, x, y); }
  Value sub(Value x, int64_t y) {
    return arith::SubIOp::create(b, loc, x, c(y));
  }
  Value lt(Value x, Value y) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, x, y);
  }
  Value band(Value x, Value y) { return arith::AndIOp::create(b, loc, x, y); }
  Value select(Value cond, Value x, Value y) {
    return arith::SelectOp::create(b, loc, cond, x, y);
  }
};

/// The physical row of logical feature `n` of `part` (0 gate, 1 up) in the
/// weight (or bias) buffer, and the number of physical rows.
Value physicalRow(IndexMath &im, const ProjSpec &spec, int part, Value n,
                  Value N) {
  if (!spec.merged)
    return n;
  if (spec.packing == Packing::interleaved)
    return im.add(im.mul(n, 2), part);
  return part == 0 ? n : im.add(N, n);
}

Value physicalRows(IndexMath &im, const ProjSpec &spec, Value N) {
  return spec.merged ? im.mul(N, 2) : N;
}

/// Linear index of logical W_part[n, k] in its buffer.
Value weightIndex(IndexMath &im, const ProjSpec &spec, int part, Value n,
                  Value k, Value N, Value K) {
  Value row = physicalRow(im, spec, part, n, N);
  if (spec.layout == Layout::out_in)
    return im.add(im.mul(row, K), k);
  return im.add(im.mul(k, physicalRows(im, spec, N)), row);
}

/// Kernel arguments of a projection kernel, in order: x, the weight
/// buffer(s), the bias buffer(s), out, then M, K, N.
struct ProjArgs {
  Value x, w[2], bias[2], out, M, K, N;
};

SmallVector<Type> projArgTypes(MLIRContext *ctx, const ProjSpec &spec) {
  auto flat = [](Type t) {
    return MemRefType::get({ShapedType::kDynamic}, t);
  };
  SmallVector<Type> types{flat(spec.xType)};
  for (int i = 0; i < spec.numWeightBuffers(); ++i)
    types.push_back(flat(spec.wType));
  for (int i = 0; i < spec.numBiasBuffers(); ++i)
    types.push_back(flat(spec.biasType));
  types.push_back(flat(spec.outType));
  Type index = IndexType::get(ctx);
  types.append({index, index, index});
  return types;
}

ProjArgs projArgs(gpu::GPUFuncOp func, const ProjSpec &spec) {
  ProjArgs a;
  unsigned i = 0;
  a.x = func.getArgument(i++);
  a.w[0] = func.getArgument(i++);
  a.w[1] = spec.merged || spec.parts() == 1 ? a.w[0] : func.getArgument(i++);
  if (spec.merged) {
    if (spec.bias0)
      a.bias[0] = a.bias[1] = func.getArgument(i++);
  } else {
    if (spec.bias0)
      a.bias[0] = func.getArgument(i++);
    if (spec.bias1)
      a.bias[1] = func.getArgument(i++);
  }
  a.out = func.getArgument(i++);
  a.M = func.getArgument(i++);
  a.K = func.getArgument(i++);
  a.N = func.getArgument(i++);
  return a;
}

/// The stored value for accumulators `acc` (one a part) of feature `n`
/// (in bounds), converted to the output type.
Value epilogueValue(OpBuilder &b, Location loc, const ProjSpec &spec,
                    const ProjArgs &args, ArrayRef<Value> acc, Value n) {
  IndexMath im{b, loc};
  ScalarBuilder s(b, loc, spec.accType);
  auto withBias = [&](int part, Value v) {
    if (!args.bias[part])
      return v;
    Value idx = spec.merged ? physicalRow(im, spec, part, n, args.N) : n;
    Value bias = memref::LoadOp::create(b, loc, args.bias[part], idx);
    return s.add(v, s.convert(bias));
  };
  Value r;
  switch (spec.epilogue) {
  case Epilogue::Gated:
    r = s.gate(spec.act, withBias(0, acc[0]), withBias(1, acc[1]));
    break;
  case Epilogue::Activated:
    r = s.activation(spec.act, withBias(0, acc[0]));
    break;
  case Epilogue::Bias:
    r = withBias(0, acc[0]);
    break;
  }
  return s.convertTo(r, spec.outType);
}

/// `mem[idx]` converted to `type`, or 0 where `ok` is false (the load reads
/// index 0 then, so it never leaves the buffer).
Value loadOrZero(OpBuilder &b, Location loc, Value mem, Value idx, Value ok,
                 FloatType type) {
  IndexMath im{b, loc};
  ScalarBuilder s(b, loc, type);
  Value safe = im.select(ok, idx, im.c(0));
  Value v = s.convert(memref::LoadOp::create(b, loc, mem, safe));
  return im.select(ok, v, s.constant(0.0));
}

/// acc + x·y: mulf/addf marked `contract`, which NVPTX fuses into fma.rn
/// (math.fma would become a libdevice call, __nv_fmaf, needing CUDA).
Value fma(OpBuilder &b, Location loc, Value x, Value y, Value acc) {
  auto contract =
      arith::FastMathFlagsAttr::get(b.getContext(), arith::FastMathFlags::contract);
  Value p = arith::MulFOp::create(b, loc, x, y, contract);
  return arith::AddFOp::create(b, loc, acc, p, contract);
}

/// Emits `then` under `scf.if cond`.
void ifThen(OpBuilder &b, Location loc, Value cond,
            function_ref<void(OpBuilder &)> then) {
  auto ifOp = scf::IfOp::create(b, loc, cond, /*withElseRegion=*/false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(ifOp.thenBlock());
  then(b);
}

/// An `scf.for` carrying `init`; `body` returns the next values.
SmallVector<Value>
forLoop(OpBuilder &b, Location loc, Value lb, Value ub, Value step,
        ValueRange init,
        function_ref<SmallVector<Value>(OpBuilder &, Value, ValueRange)> body) {
  auto loop = scf::ForOp::create(
      b, loc, lb, ub, step, init,
      [&](OpBuilder &nb, Location nloc, Value iv, ValueRange iter) {
        scf::YieldOp::create(nb, nloc, body(nb, iv, iter));
      });
  return SmallVector<Value>(loop.getResults());
}

Value wgBuffer(gpu::GPUFuncOp func, int64_t size, Type elt) {
  auto space = gpu::AddressSpaceAttr::get(func.getContext(),
                                          gpu::AddressSpace::Workgroup);
  auto type = MemRefType::get({size}, elt, MemRefLayoutAttrInterface{}, space);
  return func.addWorkgroupAttribution(type, func.getLoc());
}

//===----------------------------------------------------------------------===//
// Kernel builders
//===----------------------------------------------------------------------===//

class KernelBuilder {
public:
  KernelBuilder(gpu::GPUModuleOp module, const Tiles &tiles)
      : module(module), tiles(tiles) {}

  KernelInfo simt(StringRef name, const ProjSpec &spec);
  KernelInfo decode(StringRef name, const ProjSpec &spec, int64_t staticK,
                    int64_t tokens);
  KernelInfo mma(StringRef name, const ProjSpec &spec, int64_t staticK,
                 int64_t staticN);
  KernelInfo gate(StringRef name, const ActivationSpec &act, FloatType inType,
                  FloatType accType);

  /// Tensor cores apply to 16-bit weights with f32 accumulation, and x of
  /// the same type, or f32 x (the f32 hidden of a block's down projection,
  /// mixed-type blocks), which is split into two 16-bit terms (see mma).
  static bool mmaApplies(const ProjSpec &spec) {
    auto is16 = [](Type t) { return t.isF16() || t.isBF16(); };
    return is16(spec.wType) && spec.accType.isF32() &&
           (spec.xType == spec.wType || spec.xType.isF32());
  }

private:
  gpu::GPUFuncOp newKernel(StringRef name, ArrayRef<Type> argTypes,
                           int64_t block);

  gpu::GPUModuleOp module;
  Tiles tiles;
};

gpu::GPUFuncOp KernelBuilder::newKernel(StringRef name,
                                        ArrayRef<Type> argTypes,
                                        int64_t block) {
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  MLIRContext *ctx = module.getContext();
  auto func = gpu::GPUFuncOp::create(b, module.getLoc(), name,
                                     FunctionType::get(ctx, argTypes, {}));
  func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), UnitAttr::get(ctx));
  func.setKnownBlockSizeAttr(
      DenseI32ArrayAttr::get(ctx, {int32_t(block), 1, 1}));
  b.setInsertionPointToEnd(&func.front());
  gpu::ReturnOp::create(b, func.getLoc());
  return func;
}

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

//===----------------------------------------------------------------------===//
// Host side and launch records
//===----------------------------------------------------------------------===//

/// One step of an op: the kernels that can do it and the buffers and sizes
/// they take.
struct Step {
  SmallVector<std::string> buffers; // kernel buffer args, by name
  std::string m, k, n;              // size names of the kernel's (M, K, N)
  // Decode kernels with the largest token count each serves, ascending
  // (one token, then up to decode-tokens); `tiled` serves the rest.
  SmallVector<std::pair<KernelInfo, int64_t>> decodes;
  KernelInfo tiled;                 // otherwise
};

std::string dtypeName(Type t) {
  if (t.isF32())
    return "f32";
  if (t.isF16())
    return "f16";
  if (t.isBF16())
    return "bf16";
  if (t.isF64())
    return "f64";
  return "?";
}

int64_t staticDim(Value v, int64_t dim) {
  return cast<RankedTensorType>(v.getType()).getDimSize(dim);
}

/// A size of an op (M, D, F, O, E, one): its value and, when known, its
/// static value (ShapedType::kDynamic otherwise).
struct Size {
  Value value;
  int64_t fixed;
};

/// Lowers one glu op: builds its kernels, replaces it by launches, and (when
/// `entry` is given) describes the launches as JSON.
class OpLowering {
public:
  OpLowering(gpu::GPUModuleOp kernels, const Tiles &tiles, std::string prefix)
      : kb(kernels, tiles), tiles(tiles), prefix(std::move(prefix)) {}

  LogicalResult lower(Operation *op, llvm::json::Object *entry);

private:
  std::string kernelName(StringRef step, KernelKind kind) {
    return (prefix + "_" + step + "_" + kindName(kind)).str();
  }
  void addProjection(StringRef stepName, const ProjSpec &spec,
                     ArrayRef<std::string> buffers, StringRef m, StringRef k,
                     StringRef n) {
    Step step;
    step.buffers.assign(buffers.begin(), buffers.end());
    step.m = m.str();
    step.k = k.str();
    step.n = n.str();
    if (tiles.decodeTokens > 1)
      step.decodes.push_back(
          {kb.decode(kernelName(stepName, KernelKind::Decode) + "1", spec,
                     sizes[k].fixed, 1),
           1});
    if (tiles.decodeTokens > 0)
      step.decodes.push_back(
          {kb.decode(kernelName(stepName, KernelKind::Decode), spec,
                     sizes[k].fixed, tiles.decodeTokens),
           tiles.decodeTokens});
    if (tiles.tensorCores && KernelBuilder::mmaApplies(spec))
      step.tiled = kb.mma(kernelName(stepName, KernelKind::Mma), spec,
                          sizes[k].fixed, sizes[n].fixed);
    else
      step.tiled = kb.simt(kernelName(stepName, KernelKind::Simt), spec);
    steps.push_back(std::move(step));
  }

  KernelBuilder kb;
  Tiles tiles;
  std::string prefix;
  std::vector<Step> steps;
  llvm::StringMap<Size> sizes;
  // How the launcher computes each size from the input shapes: the product
  // of `dims` of operand `tensor`, divided by `div`.
  struct SizeRule {
    std::string tensor;
    SmallVector<int64_t> dims;
    int64_t div = 1;
  };
  llvm::StringMap<SizeRule> rules;
  // Buffers other than the operands: (name, element type, size names).
  struct Temporary {
    std::string name;
    FloatType type;
    std::string rows, cols;
  };
  SmallVector<Temporary> temporaries;
};

LogicalResult OpLowering::lower(Operation *op, llvm::json::Object *entry) {
  Location loc = op->getLoc();
  OpBuilder b(op);
  IndexMath im{b, loc};

  SmallVector<std::pair<std::string, Value>> operands; // named tensors
  auto addTensor = [&](StringRef name, Value v) {
    if (v)
      operands.push_back({name.str(), v});
  };
  auto dimSize = [&](Value t, int64_t d) {
    return Size{tensor::DimOp::create(b, loc, t, d), staticDim(t, d)};
  };
  auto product = [&](Size a, Size c) {
    bool fixed = a.fixed != ShapedType::kDynamic &&
                 c.fixed != ShapedType::kDynamic;
    return Size{im.mul(a.value, c.value),
                fixed ? a.fixed * c.fixed : ShapedType::kDynamic};
  };
  auto half = [&](Size a) {
    return Size{im.div(a.value, 2), a.fixed == ShapedType::kDynamic
                                        ? ShapedType::kDynamic
                                        : a.fixed / 2};
  };
  sizes["one"] = Size{im.c(1), 1};
  // M = the product of the leading dims of x; D = its last dim.
  auto setTokenSizes = [&](Value x) {
    int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
    Size m = sizes["one"];
    SizeRule rule{"x", {}, 1};
    for (int64_t d = 0; d + 1 < rank; ++d) {
      m = product(m, dimSize(x, d));
      rule.dims.push_back(d);
    }
    sizes["M"] = m;
    rules["M"] = rule;
    sizes["D"] = dimSize(x, rank - 1);
    rules["D"] = SizeRule{"x", {rank - 1}, 1};
  };

  Value result = op->getResult(0);
  FloatType resultType = elementTypeOf(result);
  // f64 transcendentals would need libdevice (a CUDA toolkit).
  auto [actKind, acc] =
      TypeSwitch<Operation *, std::pair<Activation, FloatType>>(op)
          .Case<FFNOp, MLPOp, GateUpOp, GateOp>([](auto o) {
            return std::make_pair(o.getActivation(), o.getAccumulatorType());
          })
          .Default([](Operation *) {
            return std::make_pair(Activation::identity, FloatType());
          });
  if (acc && acc.isF64() && actKind != Activation::identity &&
      actKind != Activation::relu)
    return op->emitError("convert-glu-to-gpu: acc_type f64 with activation '")
           << stringifyActivation(actKind)
           << "' is not supported (f64 transcendentals need libdevice)";
  Value input;            // x (or the gate operand of glu.gate)
  std::string outSize;    // the size of the result's last dim ("" for gate)
  std::string opName = op->getName().getStringRef().str();
  const std::string hidden = "hidden";

  auto baseSpec = [&](auto gop, FloatType outType, Epilogue epi) {
    ProjSpec spec;
    spec.epilogue = epi;
    spec.act = ActivationSpec::of(gop);
    spec.layout = gop.getLayout();
    spec.xType = elementTypeOf(gop.getInput());
    spec.outType = outType;
    spec.accType = gop.getAccumulatorType();
    return spec;
  };
  // The type of a block's hidden: acc_type (glu's semantics) or, with
  // round-hidden, the down weight's 16-bit type (tensor cores downstream).
  auto hiddenTypeOf = [&](auto gop) -> FloatType {
    FloatType w = elementTypeOf(gop.getDownWeight());
    if (tiles.roundHidden && (w.isF16() || w.isBF16()))
      return w;
    return gop.getAccumulatorType();
  };
  // The down projection of a block: hidden -> result.
  auto addDown = [&](auto gop) {
    ProjSpec dn = baseSpec(gop, resultType, Epilogue::Bias);
    dn.xType = hiddenTypeOf(gop);
    dn.wType = elementTypeOf(gop.getDownWeight());
    SmallVector<std::string> bufs{hidden, "down"};
    if (Value bd = gop.getDownBias()) {
      dn.bias0 = true;
      dn.biasType = elementTypeOf(bd);
      bufs.push_back("down_bias");
    }
    bufs.push_back("result");
    addProjection("down", dn, bufs, "M", "F", "O");
  };
  auto setBlockSizes = [&](Value down, Layout layout) {
    int64_t fDim = layout == Layout::out_in ? 1 : 0;
    sizes["F"] = dimSize(down, fDim);
    sizes["O"] = dimSize(down, 1 - fDim);
    rules["F"] = SizeRule{"down", {fDim}, 1};
    rules["O"] = SizeRule{"down", {1 - fDim}, 1};
  };
  // Gate/up weights (separate or merged) and biases into `spec`/`bufs`.
  auto addGateUp = [&](ProjSpec &spec, SmallVector<std::string> &bufs,
                       const GateUpWeights &w) {
    if (w.merged) {
      spec.merged = true;
      spec.packing = w.packing;
      spec.wType = elementTypeOf(w.merged);
      bufs.push_back("gate_up");
      if (w.mergedBias) {
        spec.bias0 = spec.bias1 = true;
        spec.biasType = elementTypeOf(w.mergedBias);
        bufs.push_back("gate_up_bias");
      }
      return;
    }
    spec.wType = elementTypeOf(w.gate);
    bufs.append({"gate", "up"});
    if (w.gateBias) {
      spec.bias0 = true;
      spec.biasType = elementTypeOf(w.gateBias);
      bufs.push_back("gate_bias");
    }
    if (w.upBias) {
      spec.bias1 = true;
      spec.biasType = elementTypeOf(w.upBias);
      bufs.push_back("up_bias");
    }
  };

  if (auto ffn = dyn_cast<FFNOp>(op)) {
    input = ffn.getInput();
    addTensor("x", input);
    addTensor("gate", ffn.getGateWeight());
    addTensor("up", ffn.getUpWeight());
    addTensor("gate_up", ffn.getGateUpWeight());
    addTensor("down", ffn.getDownWeight());
    addTensor("gate_bias", ffn.getGateBias());
    addTensor("up_bias", ffn.getUpBias());
    addTensor("gate_up_bias", ffn.getGateUpBias());
    addTensor("down_bias", ffn.getDownBias());
    setTokenSizes(input);
    setBlockSizes(ffn.getDownWeight(), ffn.getLayout());
    FloatType acc = hiddenTypeOf(ffn);
    ProjSpec gu = baseSpec(ffn, acc, Epilogue::Gated);
    SmallVector<std::string> bufs{"x"};
    addGateUp(gu, bufs, GateUpWeights::of(ffn));
    bufs.push_back(hidden);
    temporaries.push_back({hidden, acc, "M", "F"});
    addProjection("gate_up", gu, bufs, "M", "D", "F");
    addDown(ffn);
    outSize = "O";
  } else if (auto mlp = dyn_cast<MLPOp>(op)) {
    input = mlp.getInput();
    addTensor("x", input);
    addTensor("up", mlp.getUpWeight());
    addTensor("down", mlp.getDownWeight());
    addTensor("up_bias", mlp.getUpBias());
    addTensor("down_bias", mlp.getDownBias());
    setTokenSizes(input);
    setBlockSizes(mlp.getDownWeight(), mlp.getLayout());
    FloatType acc = hiddenTypeOf(mlp);
    ProjSpec up = baseSpec(mlp, acc, Epilogue::Activated);
    up.wType = elementTypeOf(mlp.getUpWeight());
    SmallVector<std::string> bufs{"x", "up"};
    if (Value bu = mlp.getUpBias()) {
      up.bias0 = true;
      up.biasType = elementTypeOf(bu);
      bufs.push_back("up_bias");
    }
    bufs.push_back(hidden);
    temporaries.push_back({hidden, acc, "M", "F"});
    addProjection("up", up, bufs, "M", "D", "F");
    addDown(mlp);
    outSize = "O";
  } else if (auto gop = dyn_cast<GateUpOp>(op)) {
    input = gop.getInput();
    addTensor("x", input);
    addTensor("gate_up", gop.getGateUpWeight());
    addTensor("gate_up_bias", gop.getGateUpBias());
    setTokenSizes(input);
    Value w = gop.getGateUpWeight();
    sizes["F"] = half(dimSize(w, outputDim(gop.getLayout())));
    rules["F"] = SizeRule{"gate_up", {outputDim(gop.getLayout())}, 2};
    ProjSpec gu = baseSpec(gop, resultType, Epilogue::Gated);
    SmallVector<std::string> bufs{"x"};
    addGateUp(gu, bufs, GateUpWeights::of(gop));
    bufs.push_back("result");
    addProjection("gate_up", gu, bufs, "M", "D", "F");
    outSize = "F";
  } else if (auto gop = dyn_cast<GateOp>(op)) {
    input = gop.getGate();
    addTensor("gate", input);
    addTensor("up", gop.getUp());
    int64_t rank = cast<RankedTensorType>(input.getType()).getRank();
    Size e = sizes["one"];
    SizeRule rule{"gate", {}, 1};
    for (int64_t d = 0; d < rank; ++d) {
      e = product(e, dimSize(input, d));
      rule.dims.push_back(d);
    }
    sizes["E"] = e;
    rules["E"] = rule;
    Step step;
    step.buffers = {"gate", "up", "result"};
    step.m = step.k = "one";
    step.n = "E";
    step.tiled = kb.gate(prefix + "_gate", ActivationSpec::of(gop),
                         resultType, gop.getAccumulatorType());
    steps.push_back(std::move(step));
  } else {
    return failure();
  }

  // Buffers: flat 1-D memref views of the operands, the result and the
  // temporaries (memref<?xT>, the kernels' argument type).
  auto dynamicFlat = [](Type elt) {
    return MemRefType::get({ShapedType::kDynamic}, elt);
  };
  llvm::StringMap<Value> buffers;
  for (auto &[name, t] : operands) {
    auto type = cast<RankedTensorType>(t.getType());
    Value flat = t;
    if (type.getRank() != 1) {
      ReassociationIndices all;
      for (int64_t d = 0; d < type.getRank(); ++d)
        all.push_back(d);
      flat = tensor::CollapseShapeOp::create(
          b, loc, t, ArrayRef<ReassociationIndices>{all});
    }
    auto flatType = cast<RankedTensorType>(flat.getType());
    Value mem = bufferization::ToBufferOp::create(
        b, loc,
        MemRefType::get(flatType.getShape(), flatType.getElementType()), flat,
        /*read_only=*/true);
    if (!flatType.isDynamicDim(0))
      mem = memref::CastOp::create(b, loc, dynamicFlat(type.getElementType()),
                                   mem);
    buffers[name] = mem;
  }
  auto allocFlat = [&](FloatType elt, Size numel) -> std::pair<Value, Value> {
    Value alloc;
    if (numel.fixed != ShapedType::kDynamic)
      alloc = memref::AllocOp::create(b, loc,
                                      MemRefType::get({numel.fixed}, elt));
    else
      alloc = memref::AllocOp::create(b, loc, dynamicFlat(elt),
                                      ValueRange{numel.value});
    Value view = alloc;
    if (numel.fixed != ShapedType::kDynamic)
      view = memref::CastOp::create(b, loc, dynamicFlat(elt), alloc);
    return {alloc, view};
  };
  Size resultNumel = outSize.empty() ? sizes["E"]
                                     : product(sizes["M"], sizes[outSize]);
  auto [resultAlloc, resultView] = allocFlat(resultType, resultNumel);
  buffers["result"] = resultView;
  SmallVector<Value> toFree;
  for (Temporary &t : temporaries) {
    auto [alloc, view] =
        allocFlat(t.type, product(sizes[t.rows], sizes[t.cols]));
    buffers[t.name] = view;
    toFree.push_back(alloc);
  }

  // Launches.
  auto launch = [&](OpBuilder &b, const Step &step, const KernelInfo &k) {
    IndexMath im{b, loc};
    auto gridDim = [&](std::pair<StringRef, int64_t> g) -> Value {
      if (g.first.empty())
        return im.c(1);
      StringRef size = g.first == "M" ? StringRef(step.m) : StringRef(step.n);
      return arith::CeilDivUIOp::create(b, loc, sizes[size].value,
                                        im.c(g.second));
    };
    SmallVector<Value> args;
    for (const std::string &name : step.buffers)
      args.push_back(buffers[name]);
    args.append({sizes[step.m].value, sizes[step.k].value,
                 sizes[step.n].value});
    Value one = im.c(1);
    Value shared;
    if (k.sharedBytes)
      shared = arith::ConstantOp::create(
          b, loc, b.getI32IntegerAttr(int32_t(k.sharedBytes)));
    gpu::LaunchFuncOp::create(
        b, loc, k.func,
        gpu::KernelDim3{gridDim(k.gridX), gridDim(k.gridY), one},
        gpu::KernelDim3{im.c(k.block), one, one}, shared, args);
  };
  // if M <= t1 {decode1} else if M <= t2 {decode2} ... else {tiled}
  for (const Step &step : steps) {
    OpBuilder cb = b;
    for (auto &[kernel, maxTokens] : step.decodes) {
      Value small = arith::CmpIOp::create(cb, loc, arith::CmpIPredicate::ule,
                                          sizes["M"].value,
                                          IndexMath{cb, loc}.c(maxTokens));
      auto ifOp = scf::IfOp::create(cb, loc, small, /*withElseRegion=*/true);
      OpBuilder tb(ifOp.thenBlock()->getTerminator());
      launch(tb, step, kernel);
      cb.setInsertionPoint(ifOp.elseBlock()->getTerminator());
    }
    launch(cb, step, step.tiled);
  }
  for (Value alloc : toFree)
    memref::DeallocOp::create(b, loc, alloc);

  // The result tensor, reshaped to the op's result type.
  auto resultTensorType = cast<RankedTensorType>(result.getType());
  auto allocType = cast<MemRefType>(resultAlloc.getType());
  Value flatResult = bufferization::ToTensorOp::create(
      b, loc, RankedTensorType::get(allocType.getShape(), resultType),
      resultAlloc, /*restrict=*/true, /*writable=*/true);
  Value shaped = flatResult;
  int64_t rank = resultTensorType.getRank();
  if (rank != 1) {
    SmallVector<OpFoldResult> shape;
    for (int64_t d = 0; d < rank; ++d) {
      if (!resultTensorType.isDynamicDim(d)) {
        shape.push_back(b.getIndexAttr(resultTensorType.getDimSize(d)));
        continue;
      }
      bool last = d == rank - 1 && !outSize.empty();
      shape.push_back(last ? sizes[outSize].value
                           : Value(tensor::DimOp::create(b, loc, input, d)));
    }
    ReassociationIndices all;
    for (int64_t d = 0; d < rank; ++d)
      all.push_back(d);
    shaped = tensor::ExpandShapeOp::create(
        b, loc, resultTensorType, flatResult,
        ArrayRef<ReassociationIndices>{all}, shape);
  } else if (shaped.getType() != resultTensorType) {
    shaped = tensor::CastOp::create(b, loc, resultTensorType, shaped);
  }
  result.replaceAllUsesWith(shaped);

  // The launch record, for a function whose body is this op on its
  // arguments, returned.
  if (entry) {
    llvm::StringMap<int64_t> argIndex;
    for (auto &[name, t] : operands)
      argIndex[name] = cast<BlockArgument>(t).getArgNumber();
    auto shapeOf = [](Type t) {
      llvm::json::Array shape;
      for (int64_t d : cast<RankedTensorType>(t).getShape())
        shape.push_back(ShapedType::isDynamic(d) ? int64_t(-1) : d);
      return shape;
    };
    auto func = op->getParentOfType<func::FuncOp>();
    llvm::json::Array inputs;
    for (BlockArgument arg : func.getArguments()) {
      std::string name;
      for (auto &[n, t] : operands)
        if (t == arg)
          name = n;
      inputs.push_back(llvm::json::Object{
          {"name", name},
          {"dtype", dtypeName(cast<RankedTensorType>(arg.getType()).getElementType())},
          {"shape", shapeOf(arg.getType())}});
    }
    llvm::json::Object out{{"name", "result"},
                           {"dtype", dtypeName(resultType)},
                           {"shape", shapeOf(result.getType())}};
    if (outSize.empty())
      out["shape_like"] = argIndex["gate"];
    else
      out["shape_batch_of"] = argIndex["x"];
    // Sizes: the product of some dims of an input, divided by `div`.
    llvm::json::Object sizeRules;
    sizeRules["one"] = llvm::json::Object{{"arg", 0},
                                          {"dims", llvm::json::Array{}},
                                          {"div", 1}};
    for (auto &it : rules) {
      llvm::json::Array dims;
      for (int64_t d : it.second.dims)
        dims.push_back(d);
      sizeRules[it.first()] =
          llvm::json::Object{{"arg", argIndex[it.second.tensor]},
                             {"dims", std::move(dims)},
                             {"div", it.second.div}};
    }
    llvm::json::Array temps;
    for (Temporary &t : temporaries)
      temps.push_back(llvm::json::Object{
          {"name", t.name},
          {"dtype", dtypeName(t.type)},
          {"elements", llvm::json::Array{t.rows, t.cols}}});
    llvm::json::Array launches;
    auto record = [&](const Step &step, const KernelInfo &k, int64_t lo,
                      int64_t hi) {
      auto gridDim = [&](std::pair<StringRef, int64_t> g) {
        std::string size = g.first.empty() ? "one"
                           : g.first == "M" ? step.m
                                            : step.n;
        return llvm::json::Array{size, g.second};
      };
      llvm::json::Array args;
      for (const std::string &name : step.buffers)
        args.push_back(argIndex.count(name)
                           ? "arg" + std::to_string(argIndex[name])
                           : name);
      for (const std::string &s : {step.m, step.k, step.n})
        args.push_back("size:" + s);
      launches.push_back(llvm::json::Object{
          {"kernel", const_cast<gpu::GPUFuncOp &>(k.func).getName()},
          {"kind", kindName(k.kind)},
          {"tokens", llvm::json::Array{lo, hi}},
          {"grid", llvm::json::Array{gridDim(k.gridX), gridDim(k.gridY),
                                     gridDim({"", 1})}},
          {"block", llvm::json::Array{k.block, 1, 1}},
          {"dynamic_shared_bytes", k.sharedBytes},
          {"args", std::move(args)}});
    };
    for (const Step &step : steps) {
      int64_t lo = 0;
      for (auto &[kernel, maxTokens] : step.decodes) {
        record(step, kernel, lo, maxTokens);
        lo = maxTokens + 1;
      }
      record(step, step.tiled, lo, -1);
    }
    (*entry)["op"] = opName;
    (*entry)["inputs"] = std::move(inputs);
    (*entry)["outputs"] = llvm::json::Array{std::move(out)};
    (*entry)["sizes"] = std::move(sizeRules);
    (*entry)["temporaries"] = std::move(temps);
    (*entry)["launches"] = std::move(launches);
  }
  op->erase();
  return success();
}

/// True if `func`'s body is `op` on the function's arguments, returned.
bool isEntryShaped(func::FuncOp func, Operation *op) {
  Block &body = func.getBody().front();
  if (&body.front() != op || op->getNextNode() != body.getTerminator())
    return false;
  if (llvm::any_of(op->getOperands(), [&](Value v) {
        auto arg = dyn_cast<BlockArgument>(v);
        return !arg || arg.getOwner() != &body;
      }))
    return false;
  Operation *ret = body.getTerminator();
  return ret->getNumOperands() == 1 && ret->getOperand(0) == op->getResult(0);
}

/// The math ops left by the polynomial approximations, in plain arith
/// (f32): convert-gpu-to-nvvm would turn them (and their LLVM intrinsics)
/// into libdevice calls, which only a CUDA toolkit provides.
struct FmaToArith : OpRewritePattern<math::FmaOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(math::FmaOp op,
                                PatternRewriter &rewriter) const override {
    auto contract = arith::FastMathFlagsAttr::get(
        rewriter.getContext(), arith::FastMathFlags::contract);
    Value p = arith::MulFOp::create(rewriter, op.getLoc(), op.getA(),
                                    op.getB(), contract);
    rewriter.replaceOpWithNewOp<arith::AddFOp>(op, p, op.getC(), contract);
    return success();
  }
};

/// floor(x) = t - (t > x) with t = trunc(x) through i32: exact for |x| <
/// 2^31, which holds where the approximations use it (exp's range reduction
/// of an argument clamped to [-88, 89]).
struct FloorToArith : OpRewritePattern<math::FloorOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(math::FloorOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.getType().isF32())
      return failure();
    Location loc = op.getLoc();
    Value x = op.getOperand();
    Value i = arith::FPToSIOp::create(rewriter, loc, rewriter.getI32Type(), x);
    Value t = arith::SIToFPOp::create(rewriter, loc, x.getType(), i);
    Value above =
        arith::CmpFOp::create(rewriter, loc, arith::CmpFPredicate::OGT, t, x);
    Value one = arith::ConstantOp::create(rewriter, loc, x.getType(),
                                          rewriter.getF32FloatAttr(1.0f));
    Value down = arith::SubFOp::create(rewriter, loc, t, one);
    rewriter.replaceOpWithNewOp<arith::SelectOp>(op, above, down, t);
    return success();
  }
};

/// |x| by clearing the sign bit.
struct AbsToArith : OpRewritePattern<math::AbsFOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(math::AbsFOp op,
                                PatternRewriter &rewriter) const override {
    // |x|: clear the sign bit of the f32 bits; 16-bit floats go through f32
    // (exactly).
    auto type = dyn_cast<FloatType>(op.getType());
    if (!type)
      return failure();
    Location loc = op.getLoc();
    Type f32 = rewriter.getF32Type();
    if (type.getWidth() == 16) {
      Value wide = arith::ExtFOp::create(rewriter, loc, f32, op.getOperand());
      Value abs = math::AbsFOp::create(rewriter, loc, wide);
      rewriter.replaceOpWithNewOp<arith::TruncFOp>(op, type, abs);
      return success();
    }
    if (!type.isF32())
      return failure();
    Type i32 = rewriter.getI32Type();
    Value bits = arith::BitcastOp::create(rewriter, loc, i32, op.getOperand());
    Value mask = arith::ConstantOp::create(rewriter, loc, i32,
                                           rewriter.getI32IntegerAttr(0x7fffffff));
    Value cleared = arith::AndIOp::create(rewriter, loc, bits, mask);
    rewriter.replaceOpWithNewOp<arith::BitcastOp>(op, op.getType(), cleared);
    return success();
  }
};

struct ConvertGLUToGPUPass
    : glu::impl::ConvertGLUToGPUBase<ConvertGLUToGPUPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    if (tileM % 4 || tileN % 4 || tileM < 4 || tileN < 4 || tileK < 1 ||
        (tileM * tileK) % (tileM * tileN / 16) ||
        (tileN * tileK) % (tileM * tileN / 16) || tileM * tileN / 16 > 1024 ||
        decodeTokens < 0 || decodeTokens > 64) {
      module.emitError("convert-glu-to-gpu: tile-m and tile-n must be "
                       "multiples of 4 with (tile-m/4)·(tile-n/4) <= 1024 "
                       "threads dividing tile-m·tile-k and tile-n·tile-k; "
                       "decode-tokens in [0, 64]");
      return signalPassFailure();
    }
    // Mixture-of-experts ops have CPU lowerings only, so far.
    WalkResult moe = module.walk([&](Operation *op) {
      if (!isa<MoEOp, RouteOp>(op))
        return WalkResult::advance();
      op->emitError("convert-glu-to-gpu: '")
          << op->getName()
          << "' has no GPU lowering yet (the CPU pipelines run it)";
      return WalkResult::interrupt();
    });
    if (moe.wasInterrupted())
      return signalPassFailure();
    auto mmaTileOk = [](int64_t t) { return t == 64 || t == 128; };
    if (!mmaTileOk(mmaTileM) || !mmaTileOk(mmaTileN) || mmaStages < 2 ||
        mmaStages > 4) {
      module.emitError("convert-glu-to-gpu: mma-tile-m and mma-tile-n must "
                       "be 64 or 128, mma-stages in [2, 4]");
      return signalPassFailure();
    }
    Tiles tiles{tileM,     tileN,        tileK,       mmaTileM,   mmaTileN,
                mmaStages, decodeTokens, tensorCores, roundHidden};

    SmallVector<Operation *> ops;
    module.walk([&](Operation *op) {
      if (isa<FFNOp, MLPOp, GateUpOp, GateOp>(op))
        ops.push_back(op);
    });
    if (ops.empty())
      return;

    module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                    UnitAttr::get(ctx));
    SymbolTable symbols(module);
    OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
    auto kernels = gpu::GPUModuleOp::create(b, module.getLoc(), kKernelModule);
    symbols.insert(kernels);

    llvm::StringMap<int> perFunc;
    SmallVector<NamedAttribute> entries;
    for (Operation *op : ops) {
      auto func = op->getParentOfType<func::FuncOp>();
      std::string name = func ? func.getName().str() : "glu";
      int index = perFunc[name]++;
      std::string prefix = index ? name + "_" + std::to_string(index) : name;
      OpLowering lowering(kernels, tiles, prefix);
      bool entryShaped = func && isEntryShaped(func, op);
      llvm::json::Object entry;
      if (failed(lowering.lower(op, entryShaped ? &entry : nullptr)))
        return signalPassFailure();
      if (entryShaped) {
        std::string text;
        llvm::raw_string_ostream os(text);
        os << llvm::json::Value(std::move(entry));
        entries.push_back(
            NamedAttribute(StringAttr::get(ctx, name), StringAttr::get(ctx, text)));
      }
    }
    if (!entries.empty())
      module->setAttr(kEntriesAttr, DictionaryAttr::get(ctx, entries));

    // Transcendentals as f32 polynomials (16-bit ones through f32): left as
    // math ops, convert-gpu-to-nvvm would call libdevice (__nv_expf, ...),
    // which only a CUDA toolkit provides.
    RewritePatternSet patterns(ctx);
    auto all = [](StringRef) { return true; };
    populateMathF32ExpansionPatterns(patterns, all);
    populateMathPolynomialApproximationPatterns(patterns, all);
    math::populateExpansionPatterns(patterns);
    patterns.add<FmaToArith, FloorToArith, AbsToArith>(ctx);
    if (failed(applyPatternsGreedily(kernels, std::move(patterns))))
      return signalPassFailure();
    WalkResult leftover = kernels.walk([](Operation *op) {
      if (isa<math::MathDialect>(op->getDialect()))
        return WalkResult::interrupt();
      return WalkResult::advance();
    });
    if (leftover.wasInterrupted()) {
      module.emitError("convert-glu-to-gpu: a math function has no "
                       "libdevice-free expansion (acc_type f64?)");
      return signalPassFailure();
    }
  }
};

} // namespace
