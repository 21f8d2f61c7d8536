//===- MergeGateUp.cpp - Merge the gate and up projections ----------------===//
//
// `glu.ffn` with separate gate and up weights becomes `glu.ffn` with one
// merged weight, so that one projection reads x once for both:
//
// * constant weights (`dense`, `dense_resource`) are merged at compile time
//   into a new constant;
// * weights that are arguments of a public function are packed once, at load
//   time, not per call: the pass emits a packing function
//   `@<func>_pack_gate_up[_<n>]` that callers run once on the original
//   weights, and the function takes the packed weight in their place (the
//   new argument is tagged `glu.packed_by = @<packing function>`).
//
// Anything else (weights computed in the function, arguments used by other
// ops, a private or internally called function) is left alone, with a remark
// saying why.
//
//===----------------------------------------------------------------------===//

#include "glu/Dialect/GLU/IR/GLU.h"
#include "glu/Dialect/GLU/Transforms/Passes.h"
#include "glu/Dialect/GLU/Utils/Builders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/FunctionInterfaces.h"

namespace mlir::glu {
#define GEN_PASS_DEF_GLUMERGEGATEUP
#include "glu/Dialect/GLU/Transforms/Passes.h.inc"
} // namespace mlir::glu

using namespace mlir;
using namespace mlir::glu;

namespace {

//===----------------------------------------------------------------------===//
// Compile-time merging of constant weights
//===----------------------------------------------------------------------===//

/// Merges the row-major bytes of gate and up, both `[rows, cols]` with
/// `elementBytes`-wide elements, along `dim` (0: rows are features, out_in
/// weights and biases; 1: columns are features, in_out weights), as
/// `packing` orders features.
std::vector<char> mergeBytes(ArrayRef<char> gate, ArrayRef<char> up,
                             int64_t rows, int64_t cols, int64_t dim,
                             size_t elementBytes, Packing packing) {
  std::vector<char> out;
  out.reserve(gate.size() + up.size());
  auto append = [&](ArrayRef<char> src, size_t offset, size_t bytes) {
    out.insert(out.end(), src.begin() + offset, src.begin() + offset + bytes);
  };
  size_t rowBytes = cols * elementBytes;
  if (dim == 0) {
    if (packing == Packing::concat) {
      append(gate, 0, gate.size());
      append(up, 0, up.size());
    } else {
      for (int64_t r = 0; r < rows; ++r) {
        append(gate, r * rowBytes, rowBytes);
        append(up, r * rowBytes, rowBytes);
      }
    }
    return out;
  }
  for (int64_t r = 0; r < rows; ++r) {
    if (packing == Packing::concat) {
      append(gate, r * rowBytes, rowBytes);
      append(up, r * rowBytes, rowBytes);
      continue;
    }
    for (int64_t c = 0; c < cols; ++c) {
      append(gate, r * rowBytes + c * elementBytes, elementBytes);
      append(up, r * rowBytes + c * elementBytes, elementBytes);
    }
  }
  return out;
}

/// The constant attribute of `v`, if it is an arith.constant of a supported
/// elements attribute.
ElementsAttr constantWeight(Value v) {
  auto cst = v.getDefiningOp<arith::ConstantOp>();
  if (!cst)
    return {};
  auto attr = dyn_cast<ElementsAttr>(cst.getValue());
  if (!attr || failed(rawBytes(attr)))
    return {};
  return attr;
}

/// Builds the merged constant of `gate` and `up` (2-D weights, or 1-D
/// biases) along `dim`.
Value mergeConstants(OpBuilder &b, Location loc, ElementsAttr gate,
                     ElementsAttr up, int64_t dim, Packing packing,
                     bool asResource) {
  auto type = cast<RankedTensorType>(gate.getType());
  SmallVector<int64_t> shape(type.getShape());
  shape[dim] *= 2;
  auto mergedType = RankedTensorType::get(shape, type.getElementType());
  int64_t rows = type.getRank() == 1 ? 1 : type.getDimSize(0);
  int64_t cols = type.getShape().back();
  size_t elementBytes = type.getElementTypeBitWidth() / 8;
  // A 1-D bias is one row of features: merge it along columns.
  int64_t featureDim = type.getRank() == 1 ? 1 : dim;
  std::vector<char> bytes =
      mergeBytes(*rawBytes(gate), *rawBytes(up), rows, cols, featureDim,
                 elementBytes, packing);
  Attribute merged;
  if (asResource) {
    AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(
        bytes, alignof(uint64_t));
    merged = DenseResourceElementsAttr::get(mergedType, "glu_gate_up",
                                            std::move(blob));
  } else {
    merged = DenseElementsAttr::getFromRawBuffer(mergedType, bytes);
  }
  return arith::ConstantOp::create(b, loc, mergedType, cast<TypedAttr>(merged));
}

//===----------------------------------------------------------------------===//
// Packing functions for argument weights
//===----------------------------------------------------------------------===//

/// IR that merges `gate` and `up` along feature dim `dim` at run time.
Value mergeValues(OpBuilder &b, Location loc, Value gate, Value up,
                  int64_t dim, Packing packing) {
  if (packing == Packing::concat)
    return tensor::ConcatOp::create(b, loc, dim, ValueRange{gate, up});
  // Interleave: give each a unit dim after the feature dim, concatenate
  // along it ([.., F, 2, ..]) and fold it back into the feature dim.
  auto type = cast<RankedTensorType>(gate.getType());
  int64_t rank = type.getRank();
  SmallVector<int64_t> shape(type.getShape());
  shape.insert(shape.begin() + dim + 1, 1);
  SmallVector<ReassociationIndices> reassociation;
  for (int64_t i = 0; i < rank; ++i) {
    if (i == dim)
      reassociation.push_back({i, i + 1});
    else
      reassociation.push_back({i < dim ? i : i + 1});
  }
  auto expand = [&](Value v) {
    SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, v);
    sizes.insert(sizes.begin() + dim + 1, b.getIndexAttr(1));
    return tensor::ExpandShapeOp::create(
        b, loc, RankedTensorType::get(shape, type.getElementType()), v,
        reassociation, sizes);
  };
  Value stacked = tensor::ConcatOp::create(b, loc, dim + 1,
                                           ValueRange{expand(gate), expand(up)});
  return tensor::CollapseShapeOp::create(b, loc, stacked, reassociation);
}

/// A zero tensor shaped like `like` (a bias whose partner is absent).
Value zerosLike(OpBuilder &b, Location loc, Value like) {
  auto type = cast<RankedTensorType>(like.getType());
  Value empty = tensor::EmptyOp::create(
      b, loc, tensor::getMixedSizes(b, loc, like), type.getElementType());
  Value zero = arith::ConstantOp::create(
      b, loc, type.getElementType(), b.getFloatAttr(type.getElementType(), 0));
  return linalg::FillOp::create(b, loc, zero, empty).getResult(0);
}

struct GLUMergeGateUpPass
    : glu::impl::GLUMergeGateUpBase<GLUMergeGateUpPass> {
  using GLUMergeGateUpBase::GLUMergeGateUpBase;

  LogicalResult initialize(MLIRContext *context) override {
    if (packing != "concat" && packing != "interleaved")
      return emitError(UnknownLoc::get(context),
                       "glu-merge-gate-up: packing must be 'concat' or "
                       "'interleaved', got '")
             << packing << "'";
    return success();
  }

  void runOnOperation() override {
    Packing packingKind =
        packing == "interleaved" ? Packing::interleaved : Packing::concat;
    SmallVector<FFNOp> ops;
    getOperation()->walk([&](FFNOp op) {
      if (!op.isMerged())
        ops.push_back(op);
    });
    for (FFNOp op : ops)
      if (failed(merge(op, packingKind)))
        return signalPassFailure();
  }

  /// Rewrites `op` to use a merged weight built by `merged` (and optionally
  /// a merged bias).
  void replaceWithMerged(FFNOp op, Value weight, Value bias, Packing packing) {
    OpBuilder b(op);
    auto merged = FFNOp::create(
        b, op.getLoc(), op.getResult().getType(), op.getInput(),
        /*gate_weight=*/Value(), /*up_weight=*/Value(), weight,
        op.getDownWeight(), /*gate_bias=*/Value(), /*up_bias=*/Value(), bias,
        op.getDownBias(), PackingAttr::get(op.getContext(), packing),
        op.getLayoutAttr(), op.getActivationAttr(), op.getBetaAttr(),
        op.getAlphaAttr(), op.getLimitAttr(), op.getAccTypeAttr());
    op.getResult().replaceAllUsesWith(merged.getResult());
    op.erase();
  }

  LogicalResult merge(FFNOp op, Packing packing) {
    int64_t dim = outputDim(op.getLayout());
    Value gate = op.getGateWeight(), up = op.getUpWeight();
    Value gateBias = op.getGateBias(), upBias = op.getUpBias();

    // Constant weights (and constant or absent biases): merge now.
    ElementsAttr gateCst = constantWeight(gate), upCst = constantWeight(up);
    if (gateCst && upCst) {
      ElementsAttr gateBiasCst = gateBias ? constantWeight(gateBias) : nullptr;
      ElementsAttr upBiasCst = upBias ? constantWeight(upBias) : nullptr;
      if ((gateBias && !gateBiasCst) || (upBias && !upBiasCst) ||
          (!gateBias != !upBias)) {
        op.emitRemark("glu-merge-gate-up: not merged: constant weights with "
                      "biases that are not both constant");
        return success();
      }
      OpBuilder b(op);
      bool asResource = isa<DenseResourceElementsAttr>(gateCst) ||
                        isa<DenseResourceElementsAttr>(upCst);
      Value weight = mergeConstants(b, op.getLoc(), gateCst, upCst, dim,
                                    packing, asResource);
      Value bias = gateBiasCst ? mergeConstants(b, op.getLoc(), gateBiasCst,
                                                upBiasCst, 0, packing, false)
                               : Value();
      replaceWithMerged(op, weight, bias, packing);
      return success();
    }

    // Argument weights of a public function: pack once, at load time.
    auto func = op->getParentOfType<func::FuncOp>();
    auto isOwnArg = [&](Value v) {
      auto arg = dyn_cast_if_present<BlockArgument>(v);
      return arg && arg.getOwner() == &func.getBody().front() &&
             arg.hasOneUse();
    };
    if (!func || !isOwnArg(gate) || !isOwnArg(up) ||
        (gateBias && !isOwnArg(gateBias)) || (upBias && !isOwnArg(upBias))) {
      op.emitRemark("glu-merge-gate-up: not merged: the weights are neither "
                    "constants nor arguments of the enclosing function used "
                    "only by this op");
      return success();
    }
    auto module = func->getParentOfType<ModuleOp>();
    if (!module || !func.isPublic() ||
        !SymbolTable::symbolKnownUseEmpty(func, module)) {
      op.emitRemark("glu-merge-gate-up: not merged: @")
          << func.getName()
          << " is private or called in this module, so its callers "
             "cannot be given the packed weight";
      return success();
    }
    return packArguments(op, func, module, packing);
  }

  /// Emits the packing function and makes `func` take the packed weight.
  LogicalResult packArguments(FFNOp op, func::FuncOp func, ModuleOp module,
                              Packing packing) {
    int64_t dim = outputDim(op.getLayout());
    Location loc = op.getLoc();
    Value gate = op.getGateWeight(), up = op.getUpWeight();
    Value gateBias = op.getGateBias(), upBias = op.getUpBias();
    bool hasBias = gateBias || upBias;

    // The packing function: (gate, up[, gate_bias, up_bias]) -> (merged[,
    // merged_bias]), with only the biases that exist as arguments.
    SmallVector<Value> packedArgs{gate, up};
    if (gateBias)
      packedArgs.push_back(gateBias);
    if (upBias)
      packedArgs.push_back(upBias);
    SmallVector<Type> argTypes;
    for (Value v : packedArgs)
      argTypes.push_back(v.getType());

    auto mergedType = [&](Value v, int64_t d) {
      auto type = cast<RankedTensorType>(v.getType());
      SmallVector<int64_t> shape(type.getShape());
      if (!ShapedType::isDynamic(shape[d]))
        shape[d] *= 2;
      return RankedTensorType::get(shape, type.getElementType());
    };
    SmallVector<Type> resultTypes{mergedType(gate, dim)};
    if (hasBias)
      resultTypes.push_back(mergedType(gateBias ? gateBias : upBias, 0));

    OpBuilder b(module.getBodyRegion());
    b.setInsertionPointAfter(func);
    std::string name = (func.getName() + "_pack_gate_up").str();
    auto pack = func::FuncOp::create(b, loc, name,
                                     b.getFunctionType(argTypes, resultTypes));
    SymbolTable(module).insert(pack); // renames on a clash
    pack->setAttr("glu.packing_function", b.getUnitAttr());
    {
      OpBuilder::InsertionGuard guard(b);
      Block *entry = pack.addEntryBlock();
      b.setInsertionPointToStart(entry);
      SmallVector<Value> results{mergeValues(b, loc, entry->getArgument(0),
                                             entry->getArgument(1), dim,
                                             packing)};
      if (hasBias) {
        unsigned next = 2;
        Value g = gateBias ? entry->getArgument(next++) : Value();
        Value u = upBias ? entry->getArgument(next++) : Value();
        if (!g)
          g = zerosLike(b, loc, u);
        if (!u)
          u = zerosLike(b, loc, g);
        results.push_back(mergeValues(b, loc, g, u, 0, packing));
      }
      // The result types may be more static than what concat infers.
      for (auto [value, type] : llvm::zip(results, resultTypes))
        if (value.getType() != type)
          value = tensor::CastOp::create(b, loc, type, value);
      func::ReturnOp::create(b, loc, results);
    }

    // The function now takes the packed weight (and bias) in place of the
    // first packed argument; the others are erased.
    Block &body = func.getBody().front();
    auto firstArg = cast<BlockArgument>(gate);
    unsigned weightIndex = firstArg.getArgNumber();
    DictionaryAttr packedBy = b.getDictionaryAttr(
        b.getNamedAttr("glu.packed_by", FlatSymbolRefAttr::get(pack)));
    if (failed(func.insertArgument(weightIndex, resultTypes[0], packedBy, loc)))
      return failure();
    Value mergedWeight = body.getArgument(weightIndex);
    Value mergedBias;
    if (hasBias) {
      if (failed(func.insertArgument(weightIndex + 1, resultTypes[1], packedBy,
                                     loc)))
        return failure();
      mergedBias = body.getArgument(weightIndex + 1);
    }
    replaceWithMerged(op, mergedWeight, mergedBias, packing);
    llvm::BitVector erase(body.getNumArguments());
    for (Value v : packedArgs)
      erase.set(cast<BlockArgument>(v).getArgNumber());
    return func.eraseArguments(erase);
  }
};

} // namespace
