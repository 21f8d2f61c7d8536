//===- Kernels.h - glu ops to register-tiled CPU kernels ----*- C++ -*-===//
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
// The lowering is in four parts, one file each:
//  * Packing.cpp: the weight panels (packing functions, constant weights);
//  * MicroKernel.cpp: one panel of a projection for a block of tokens (the
//    register-tiled micro-kernels, the epilogue, the outlined panel
//    functions);
//  * Compute.cpp: an op's buffers and how its work is split between workers;
//  * GLUToCPU.cpp: the pass (options, tuning cache, which ops, where the
//    weights are packed);
//  * GradKernels.cpp: the GEMMs of the training ops (glu.ffn_grad,
//    glu.mlp_grad), whose other parts are the reference lowering's;
//  * GroupedMoE.cpp: a glu.moe on a few tokens (decode) as one grouped
//    kernel for all its chosen experts, on the per-expert panels.
// This header declares what they share.
//
//===----------------------------------------------------------------------===//

#ifndef GLU_LIB_CONVERSION_GLUTOCPU_KERNELS_H
#define GLU_LIB_CONVERSION_GLUTOCPU_KERNELS_H

#include "glu/Dialect/GLU/IR/GLU.h"
#include "glu/Conversion/Passes.h"
#include "glu/Dialect/GLU/Utils/Builders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include "llvm/ADT/StringMap.h"

#include <memory>

#include <functional>

namespace mlir::glu::cpu {

/// Tile sizes and vector width, from the pass options.
struct Tiling {
  int64_t vec;     // f32 lanes of a vector register
  int64_t nrv;     // vectors per micro-kernel row (NR = nrv * vec columns)
  int64_t mr;      // rows of the micro-kernel
  int64_t kc;      // K chunk
  int64_t mb;      // rows of a token block
  int64_t workers; // parallel workers
  bool bf16Dot;    // AVX512-BF16 dot products where x and weights are bf16
  bool widenOnce;  // widened 16-bit weights: a chunk once per token block
  bool chunkPrefetch = true; // small batches prefetch the next K chunk
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
inline Value toF32(OpBuilder &b, Location loc, Value v) {
  Type f32 = b.getF32Type();
  if (v.getType() == f32)
    return v;
  return arith::ExtFOp::create(b, loc, f32, v);
}

/// `v` (f32 scalar or vector) converted to `elem` (or a vector of it).
inline Value fromF32(OpBuilder &b, Location loc, Value v, Type elem) {
  Type to = elem;
  if (auto vt = dyn_cast<VectorType>(v.getType()))
    to = VectorType::get(vt.getShape(), elem);
  if (v.getType() == to)
    return v;
  return arith::TruncFOp::create(b, loc, to, v);
}

/// A memref type of `rank` dynamic sizes with any strides except a unit
/// innermost one: what the kernels accept for operands.
inline MemRefType operandMemRefType(MLIRContext *ctx, int64_t rank, Type elem) {
  SmallVector<int64_t> shape(rank, ShapedType::kDynamic);
  SmallVector<int64_t> strides(rank, ShapedType::kDynamic);
  strides.back() = 1;
  auto layout =
      StridedLayoutAttr::get(ctx, ShapedType::kDynamic, strides);
  return MemRefType::get(shape, elem, layout);
}

inline Value toBuffer(OpBuilder &b, Location loc, Value tensor) {
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

inline Value allocBuffer(OpBuilder &b, Location loc, ArrayRef<Value> sizes,
                  Type elem) {
  SmallVector<int64_t> shape(sizes.size(), ShapedType::kDynamic);
  return memref::AllocOp::create(b, loc, MemRefType::get(shape, elem), sizes,
                                 b.getI64IntegerAttr(64));
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

  /// Panel functions by configuration (panelKey), shared between the ops of
  /// a module; null: every op gets its own.
  void sharePanels(llvm::StringMap<func::FuncOp> *panels) {
    sharedPanels = panels;
  }

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

  /// glu.moe `op` (tagged glu.grouped_decode) as one grouped kernel for
  /// all its chosen experts (GroupedMoE.cpp), on every expert's panels
  /// `packed1`, `packed2` (tensors `[E][P][K][NR]`, as the per-expert
  /// glu.ffn ops pack them); the op's result type has a static last dim.
  Value emitGroupedMoE(MoEOp op, Value packed1, Value packed2);

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
  llvm::StringMap<func::FuncOp> *sharedPanels = nullptr;

  /// What makes two ops' panel functions (of the first or the down
  /// projection) the same code.
  std::string panelKey(bool first, bool prefetching, FunctionType type) const;

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
  outlinePanel(bool first, const Operands &ops, bool prefetching = false);
  /// `prefetching`: the micro-kernels prefetch the next K chunk (small
  /// batches of 2-3 row blocks; see emitPanel).
  /// The function outlinePanel calls (made once per configuration and
  /// module), for callers passing their own operands of `ops`' types:
  /// (a, packed, bias, acc, dest, k, n, [wide], w, hw, p, rowBegin, rows).
  func::FuncOp panelFunction(bool first, const Operands &ops,
                             bool prefetching = false);
  /// The operands of `ops` a panel function takes before (w, hw, p,
  /// rowBegin, rows).
  SmallVector<Value> panelOperands(bool first, const Operands &ops) const;
  void emitPanel(Value w, Value p, Value rowBegin, Value rows, bool first,
                 Operands &ops, bool prefetching = false);
  /// Software prefetch of the next K chunk of a panel by the row blocks of
  /// a small batch: row block `block` fetches its share of the chunk's rows
  /// after [k0, k1) (`reciprocal`: 2^32 / blocks, rounded up), up to row
  /// `last`.
  struct ChunkPrefetch {
    Value block, reciprocal, last;
  };
  void emitMicroKernel(OpBuilder &b, int64_t mr, Value w, Value hw, Value aRow,
                       Value cRow, Value p, Value k0, Value k1, bool first,
                       bool fromWide, Operands &ops,
                       const ChunkPrefetch *prefetch = nullptr);
  /// Whether a projection's panels hold 16-bit weights that the micro-kernel
  /// widens to f32 (not packed for dot products).
  bool widens(bool first, const Operands &ops) const;
  /// Whether they are widened once per token block into the worker's
  /// scratch (widen-once), not in the micro-kernel.
  bool widensOnce(bool first, const Operands &ops) const {
    return t.widenOnce && widens(first, ops);
  }
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


/// The panels of `mats` as constants when every matrix is a constant of
/// the packed element type; empty otherwise.
SmallVector<Value> packConstants(OpBuilder &b, Location loc, const Tiling &t,
                                 const OpShape &s, ArrayRef<Value> mats,
                                 ArrayRef<Type> packedTypes);

/// `init + op(A)·op(B)` in f32 (`init`: zeros when null; see
/// glu::GradGemmBuilder) on packed operands and the register-tiled
/// micro-kernel: the GEMMs of glu.ffn_grad and glu.mlp_grad
/// (GradKernels.cpp). A 16-bit `store` (the type the result is rounded to)
/// has the epilogue round and store the f32 tile in it. `panels` shares the
/// micro-kernel functions.
Value emitGradGemm(OpBuilder &b, Location loc, const Tiling &t, Value a,
                   bool aT, Value bMat, bool bT, Value init, Type store,
                   const struct GradWorkspace &ws,
                   llvm::StringMap<func::FuncOp> &panels);

/// The memory of one training op's intermediates (GradKernels.cpp): a byte
/// buffer that a kept arena (a global of the module, reused call after call:
/// no page faults after the first) provides when it is free and large
/// enough, else a fresh allocation; `next` is the byte offset of the next
/// intermediate, `slots` how many may still be placed.
struct GradArena {
  Value base, next;
  int slots = 0;
};

/// Buffers (1-D bytes) that the GEMMs of one training op pack their A
/// strips and B panels into (f32, or bf16 pairs), one GEMM after the other
/// (a few fresh pages per op rather than per GEMM: a page fault and a zeroed
/// page each were 20 % of the backward's time when every GEMM allocated its
/// own), and the arena of the op's intermediates, which holds them. Null:
/// each GEMM allocates its own.
struct GradWorkspace {
  /// Byte buffers and the byte offsets of the A strips and B panels in them.
  Value a, b, aOffset, bOffset;
  std::shared_ptr<GradArena> arena;
};

/// `dh = dy·Wdᵀ` with the elementwise backward in the GEMM's epilogue
/// (glu::GradFusedBackward): dh never leaves the registers; the epilogue
/// reads the pre-activations and stores the hidden, dg and du (f32, or
/// rounded to `rounded`, bf16, when given: round-hidden).
GradElementwise emitFusedGradDown(OpBuilder &b, Location loc, const Tiling &t,
                                  const ActivationSpec &spec, Value g, Value u,
                                  Value gateBias, Value upBias, Value dy,
                                  Value down, Layout layout, Type rounded,
                                  const GradWorkspace &ws,
                                  llvm::StringMap<func::FuncOp> &panels);

/// The workspace of training op `op`, sized for any GEMM of its operands'
/// dims (pages not touched are not faulted).
GradWorkspace emitGradWorkspace(OpBuilder &b, Location loc, const Tiling &t,
                                Operation *op);

} // namespace mlir::glu::cpu

#endif // GLU_LIB_CONVERSION_GLUTOCPU_KERNELS_H
