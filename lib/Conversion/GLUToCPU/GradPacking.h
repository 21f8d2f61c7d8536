//===- GradPacking.h - the backward's operands, packed ------*- C++ -*-===//
//
// What GradKernels.cpp (the backward's GEMMs) takes from GradPacking.cpp:
// the operands' buffers, the large buffers, and the packing of op(A) and
// op(B).
//
//===----------------------------------------------------------------------===//

#ifndef GLU_LIB_CONVERSION_GLUTOCPU_GRADPACKING_H
#define GLU_LIB_CONVERSION_GLUTOCPU_GRADPACKING_H

#include "Kernels.h"

namespace mlir::glu::cpu::grad {

/// Whether the rows of `v` are contiguous in its buffer: all but a slice
/// with a stride along its last dim (the interleaved half of a merged
/// [K, 2F] weight); function arguments and fresh tensors are.
bool unitInnerStride(Value v);

/// The buffer of a 2-D tensor operand, read only: with a unit inner stride
/// when `unit` (vector loads along rows), else any strides.
Value readBuffer(OpBuilder &b, Location loc, Value tensor, bool unit);

/// `body(i)` for i in [0, n) on all workers (scf.forall).
void parallelFor(OpBuilder &b, Location loc, Value n,
                 function_ref<void(OpBuilder &, Value)> body);

/// A fresh buffer (f32 unless `elem`) of `sizes`, its 2 MB extents advised
/// to transparent huge pages.
Value allocLarge(OpBuilder &b, Location loc, ArrayRef<Value> sizes,
                 Type elem = {});

/// Advises the 2 MB-aligned extents of the `bytes` bytes of `buf` to
/// transparent huge pages (madvise, libc).
void adviseHugePages(OpBuilder &b, Location loc, Value buf, Value bytes);

/// Packs the operands of one GEMM `op(A)·op(B)` on the workers.
class Packer {
public:
  Packer(OpBuilder &b, Location loc, const Tiling &t)
      : b(b), loc(loc), t(t), ib{b, loc} {}

  /// f32 panels `[ceil(N/NR)][K][NR]` of op(B) (zero past N); `unit`: B's
  /// rows are contiguous (vector copies, or in-register transposes when
  /// `bT`).
  void packB(Value packed, Value bBuf, bool bT, bool unit, Value k, Value n);
  /// bf16 panels of k pairs `[P][K/2][2 NR]` (element (k, j) at
  /// `[k/2][2j + k%2]`, the operand order of vdpbf16ps), from a bf16 B
  /// with contiguous rows; an odd K's last pair ends with a zero.
  void packBPairs(Value packed, Value bBuf, bool bT, Value k, Value n);
  /// bf16 strips of k pairs `[ceil(M/MR)][ceil(K/2)][2 MR]` of op(A) = Aᵀ
  /// (A: `[K, M]` bf16 with contiguous rows; element (m, k) at
  /// `[m/MR][k/2][2 (m%MR) + k%2]`), zero-padded past M and K: the A side
  /// of the weight gradients' dot products (K = tokens).
  void packAPairsT(Value packed, Value aBuf, Value m, Value k);
  /// f32 strips `[ceil(M/MR)][K][MR]` of op(A) (zero past M); `unit` as for
  /// packB (vector copies when `aT`).
  void packA(Value packed, Value aBuf, bool aT, bool unit, Value m, Value k);

private:
  OpBuilder &b;
  Location loc;
  const Tiling &t;
  IB ib;

  /// The element (row, col) of op(X) for X's buffer `x`, as f32.
  Value element(OpBuilder &ob, Value x, bool transposed, Value row,
                Value col) {
    Value idx[2] = {row, col};
    if (transposed)
      std::swap(idx[0], idx[1]);
    return toF32(ob, loc, memref::LoadOp::create(ob, loc, x, idx));
  }
};

} // namespace mlir::glu::cpu::grad

#endif // GLU_LIB_CONVERSION_GLUTOCPU_GRADPACKING_H
