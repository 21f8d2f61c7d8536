//===- Projection.cpp - what the GPU projection kernels share ---------------===//
//
// The arguments of a projection kernel, the index of a logical weight
// element through the op's layout and packing, the epilogue, and small
// builders (loops, conditionals, fused multiply-adds, workgroup buffers,
// new kernels).
//
//===----------------------------------------------------------------------===//

#include "Kernels.h"

using namespace mlir;
using namespace mlir::glu;

namespace mlir::glu::gpu_kernels {

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

/// A workgroup (shared memory) buffer of `size` elements of `func`.
Value wgBuffer(gpu::GPUFuncOp func, int64_t size, Type elt) {
  auto space = gpu::AddressSpaceAttr::get(func.getContext(),
                                          gpu::AddressSpace::Workgroup);
  auto type = MemRefType::get({size}, elt, MemRefLayoutAttrInterface{}, space);
  return func.addWorkgroupAttribution(type, func.getLoc());
}

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

} // namespace mlir::glu::gpu_kernels
