//===- Float16Storage.cpp - bf16/f16 values moved as i16 in LLVM IR -------===//
//
// See glu-float16-storage-as-i16 in Passes.td: LLVM promotes bf16 (and,
// without F16C, f16) values in registers to f32 and truncates them back with
// compiler-rt calls. Values that are only moved are retyped to i16 here, so
// the LLVM IR we hand to the backend has no such value left to promote.
//
//===----------------------------------------------------------------------===//

#include "glu/Conversion/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMTypes.h"
#include "mlir/IR/BuiltinAttributes.h"

namespace mlir::glu {
#define GEN_PASS_DEF_FLOAT16STORAGEASI16
#include "glu/Conversion/Passes.h.inc"
} // namespace mlir::glu

using namespace mlir;

namespace {

/// `type` with its bf16/f16 (a scalar, or a vector's elements) replaced by
/// i16; `type` itself otherwise. Aggregates keep their types: an LLVM
/// bitcast cannot convert them, so their fields are retyped where they are
/// extracted and inserted (the casts at those ops' boundaries).
Type retype(Type type) {
  MLIRContext *ctx = type.getContext();
  if (isa<BFloat16Type, Float16Type>(type))
    return IntegerType::get(ctx, 16);
  if (auto vt = dyn_cast<VectorType>(type)) {
    Type elem = retype(vt.getElementType());
    return elem == vt.getElementType() ? type : vt.clone(elem);
  }
  return type;
}

/// The same bits as an i16 attribute of `type`, or null.
Attribute retypeValue(Attribute value, Type type) {
  if (auto f = dyn_cast<FloatAttr>(value))
    return IntegerAttr::get(type, f.getValue().bitcastToAPInt());
  if (auto dense = dyn_cast<DenseElementsAttr>(value))
    return dense.bitcast(IntegerType::get(value.getContext(), 16));
  return nullptr;
}

/// Operations that only move their values (branches pass them to block
/// arguments, which are retyped alike): they work on i16 as on bf16.
bool movesOnly(Operation *op) {
  return isa<LLVM::BrOp, LLVM::CondBrOp, LLVM::SwitchOp, LLVM::LoadOp, LLVM::StoreOp, LLVM::MaskedLoadOp,
             LLVM::MaskedStoreOp, LLVM::SelectOp, LLVM::InsertElementOp,
             LLVM::ExtractElementOp, LLVM::ShuffleVectorOp, LLVM::UndefOp,
             LLVM::PoisonOp, LLVM::ZeroOp, LLVM::BitcastOp>(op) ||
         (isa<LLVM::ConstantOp>(op) &&
          retypeValue(cast<LLVM::ConstantOp>(op).getValue(),
                      retype(op->getResult(0).getType())));
}

struct Float16StorageAsI16Pass
    : glu::impl::Float16StorageAsI16Base<Float16StorageAsI16Pass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    // The operand types that operations which compute with the float types
    // expect, before anything changes.
    DenseMap<Operation *, SmallVector<Type>> expected;
    SmallVector<Value> boundary; // results and entry arguments to cast
    SmallVector<Value> moved;    // results and block arguments to retype
    module.walk([&](Operation *op) {
      bool moves = movesOnly(op);
      if (!moves &&
          llvm::any_of(op->getOperandTypes(),
                       [](Type t) { return retype(t) != t; }))
        expected[op] = llvm::to_vector(op->getOperandTypes());
      for (Value result : op->getResults())
        if (retype(result.getType()) != result.getType())
          (moves ? moved : boundary).push_back(result);
      for (Region &region : op->getRegions())
        for (Block &block : region)
          for (BlockArgument arg : block.getArguments())
            if (retype(arg.getType()) != arg.getType())
              (block.isEntryBlock() ? boundary : moved).push_back(arg);
    });

    for (Value v : moved)
      v.setType(retype(v.getType()));
    for (Value v : boundary) {
      OpBuilder b(module.getContext());
      if (auto arg = dyn_cast<BlockArgument>(v))
        b.setInsertionPointToStart(arg.getOwner());
      else
        b.setInsertionPointAfter(v.getDefiningOp());
      auto cast = LLVM::BitcastOp::create(b, v.getLoc(), retype(v.getType()), v);
      v.replaceAllUsesExcept(cast, cast);
    }
    // Constants carry the same bits as i16.
    module.walk([&](LLVM::ConstantOp op) {
      Type type = op.getType();
      auto old = dyn_cast<TypedAttr>(op.getValue());
      if (!old || getElementTypeOrSelf(old.getType()) ==
                      getElementTypeOrSelf(type))
        return;
      if (Attribute value = retypeValue(old, type))
        op.setValueAttr(cast<TypedAttr>(value));
    });
    // Operations that compute get their float operands back.
    for (auto &[op, types] : expected) {
      OpBuilder b(op);
      for (auto [i, type] : llvm::enumerate(types)) {
        Value v = op->getOperand(i);
        if (v.getType() != type)
          op->setOperand(i, LLVM::BitcastOp::create(b, v.getLoc(), type, v));
      }
    }
    // Bitcasts between a value and itself, and pairs that undo each other.
    module.walk([&](LLVM::BitcastOp op) {
      Value in = op.getArg();
      if (auto inner = in.getDefiningOp<LLVM::BitcastOp>())
        if (inner.getArg().getType() == op.getType())
          in = inner.getArg();
      if (in.getType() == op.getType()) {
        op.replaceAllUsesWith(in);
        op.erase();
      }
    });
  }
};

} // namespace
