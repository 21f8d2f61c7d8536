//===- Kernels.h - what the parts of the GPU lowering share ---*- C++ -*-===//
//
// The GPU lowering (convert-glu-to-gpu) is in four parts, one file each:
//  * Projection.cpp: what every projection kernel shares (its arguments,
//    the index of a weight through the op's layout and packing, the
//    epilogue) and small builders;
//  * SimtKernels.cpp: the simt (block tiles through shared memory) and
//    decode (weights streamed once for all tokens) projection kernels and
//    the elementwise gate kernel;
//  * MmaKernel.cpp: the tensor-core projection kernel (mma.sync, cp.async,
//    ldmatrix);
//  * GLUToGPU.cpp: the pass: the kernels each op needs, the host code that
//    launches them, the launch records (its header says what each kernel
//    does).
// This header declares what they share.
//
//===----------------------------------------------------------------------===//

#ifndef GLU_LIB_CONVERSION_GLUTOGPU_KERNELS_H
#define GLU_LIB_CONVERSION_GLUTOGPU_KERNELS_H

#include "glu/Dialect/GLU/IR/GLU.h"
#include "glu/Dialect/GLU/Utils/Builders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

namespace mlir::glu::gpu_kernels {

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

inline StringRef kindName(KernelKind k) {
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

//===----------------------------------------------------------------------===//
// Projection kernels: arguments, indices, epilogue (Projection.cpp)
//===----------------------------------------------------------------------===//

/// The physical row of logical feature `n` of `part` (0 gate, 1 up) in the
/// weight (or bias) buffer, and the number of physical rows.
Value physicalRow(IndexMath &im, const ProjSpec &spec, int part, Value n,
                  Value N);
Value physicalRows(IndexMath &im, const ProjSpec &spec, Value N);

/// Linear index of logical W_part[n, k] in its buffer.
Value weightIndex(IndexMath &im, const ProjSpec &spec, int part, Value n,
                  Value k, Value N, Value K);

/// Kernel arguments of a projection kernel, in order: x, the weight
/// buffer(s), the bias buffer(s), out, then M, K, N.
struct ProjArgs {
  Value x, w[2], bias[2], out, M, K, N;
};

SmallVector<Type> projArgTypes(MLIRContext *ctx, const ProjSpec &spec);
ProjArgs projArgs(gpu::GPUFuncOp func, const ProjSpec &spec);

/// The stored value for accumulators `acc` (one a part) of feature `n`
/// (in bounds), converted to the output type.
Value epilogueValue(OpBuilder &b, Location loc, const ProjSpec &spec,
                    const ProjArgs &args, ArrayRef<Value> acc, Value n);

/// `mem[idx]` converted to `type`, or 0 where `ok` is false (the load reads
/// index 0 then, so it never leaves the buffer).
Value loadOrZero(OpBuilder &b, Location loc, Value mem, Value idx, Value ok,
                 FloatType type);

/// acc + x·y: mulf/addf marked `contract`, which NVPTX fuses into fma.rn
/// (math.fma would become a libdevice call, __nv_fmaf, needing CUDA).
Value fma(OpBuilder &b, Location loc, Value x, Value y, Value acc);

/// Emits `then` under `scf.if cond`.
void ifThen(OpBuilder &b, Location loc, Value cond,
            function_ref<void(OpBuilder &)> then);

/// An `scf.for` carrying `init`; `body` returns the next values.
SmallVector<Value>
forLoop(OpBuilder &b, Location loc, Value lb, Value ub, Value step,
        ValueRange init,
        function_ref<SmallVector<Value>(OpBuilder &, Value, ValueRange)> body);

/// A workgroup (shared memory) buffer of `size` elements of `func`.
Value wgBuffer(gpu::GPUFuncOp func, int64_t size, Type elt);

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

} // namespace mlir::glu::gpu_kernels

#endif // GLU_LIB_CONVERSION_GLUTOGPU_KERNELS_H
