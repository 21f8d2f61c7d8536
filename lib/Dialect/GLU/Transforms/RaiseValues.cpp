//===- RaiseValues.cpp - glu-raise: values through reshapes ---------------===//
//
// Values seen through batch reshapes, copies and conversions, and where
// their extents come from.
//
//===----------------------------------------------------------------------===//

#include "RaiseMatchers.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"

using namespace mlir;
using namespace mlir::glu;

namespace mlir::glu::raise {

Type elementTypeOf(Value v) {
  return cast<ShapedType>(v.getType()).getElementType();
}

std::string typeString(Type type) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << type;
  return s;
}

/// Whether `to` holds `from`'s float elements exactly (an extension).
bool isExtension(Value from, Value to) {
  auto a = dyn_cast<FloatType>(elementTypeOf(from));
  auto b = dyn_cast<FloatType>(elementTypeOf(to));
  return a && b && b.getWidth() >= a.getWidth() &&
         b.getFPMantissaWidth() >= a.getFPMantissaWidth();
}

/// Whether the reassociation `groups` of a collapse/expand, over the dims of
/// the `expanded` type, keeps the last (feature) dim: the last group is the
/// last dim, possibly with static unit dims before it.
static bool keepsFeatureDim(ArrayRef<ReassociationIndices> groups,
                            RankedTensorType expanded) {
  if (groups.empty() || groups.back().back() != expanded.getRank() - 1)
    return false;
  return llvm::all_of(ArrayRef<int64_t>(groups.back()).drop_back(),
                      [&](int64_t d) { return expanded.getDimSize(d) == 1; });
}

/// The source of `v` if `v` is a batch reshape: a reshape that regroups only
/// the leading dims and keeps the last one (tensor.collapse_shape and
/// tensor.expand_shape, tensor.cast, tosa.reshape and tensor.reshape with
/// equal static last dims). A reshape keeps the row-major order of the
/// elements, so with the last dim kept it keeps every row: elementwise ops and
/// projections commute with it. Null otherwise.
Value batchReshapeSource(Value v) {
  Operation *def = v.getDefiningOp();
  if (!def)
    return {};
  if (auto op = dyn_cast<tensor::CollapseShapeOp>(def))
    return keepsFeatureDim(op.getReassociationIndices(), op.getSrcType())
               ? op.getSrc()
               : Value();
  if (auto op = dyn_cast<tensor::ExpandShapeOp>(def))
    return keepsFeatureDim(op.getReassociationIndices(), op.getResultType())
               ? op.getSrc()
               : Value();
  auto sameLastDim = [](Value a, Value b) {
    auto ta = dyn_cast<RankedTensorType>(a.getType());
    auto tb = dyn_cast<RankedTensorType>(b.getType());
    return ta && tb && ta.getRank() >= 1 && tb.getRank() >= 1 &&
           !ta.isDynamicDim(ta.getRank() - 1) &&
           ta.getShape().back() == tb.getShape().back();
  };
  if (auto op = dyn_cast<tensor::CastOp>(def)) {
    auto src = dyn_cast<RankedTensorType>(op.getSource().getType());
    auto dst = dyn_cast<RankedTensorType>(op.getType());
    return src && dst && src.getRank() >= 1 ? op.getSource() : Value();
  }
  if (auto op = dyn_cast<tosa::ReshapeOp>(def))
    return sameLastDim(op.getInput1(), op.getResult()) ? op.getInput1()
                                                       : Value();
  if (auto op = dyn_cast<tensor::ReshapeOp>(def))
    return sameLastDim(op.getSource(), op.getResult()) ? op.getSource()
                                                       : Value();
  return {};
}

/// `v` with the batch reshapes that produce it looked through; the reshapes
/// are added to `ops` if given.
Value stripBatchReshapes(Value v, llvm::SetVector<Operation *> *ops) {
  while (Value source = batchReshapeSource(v)) {
    if (ops)
      ops->insert(v.getDefiningOp());
    v = source;
  }
  return v;
}

std::optional<CopyLike> matchCopyLike(Operation *op) {
  auto linalgOp = dyn_cast_if_present<linalg::LinalgOp>(op);
  if (!linalgOp || !linalgOp.hasPureTensorSemantics() ||
      linalgOp.getNumDpsInputs() != 1 || linalgOp.getNumDpsInits() != 1 ||
      op->getNumResults() != 1 ||
      linalgOp.getNumParallelLoops() != linalgOp.getNumLoops())
    return std::nullopt;
  OpOperand *input = linalgOp.getDpsInputOperand(0);
  if (!isa<RankedTensorType>(input->get().getType()) ||
      !linalgOp.getMatchingIndexingMap(linalgOp.getDpsInitOperand(0))
           .isIdentity())
    return std::nullopt;
  AffineMap map = linalgOp.getMatchingIndexingMap(input);
  if (!map.isProjectedPermutation())
    return std::nullopt;
  CopyLike copy{input->get(), map};
  Value v = linalgOp.getBlock()->getTerminator()->getOperand(0);
  while (Operation *def = v.getDefiningOp()) {
    if (!isa<arith::ExtFOp, arith::TruncFOp>(def))
      return std::nullopt;
    copy.rounds |= isa<arith::TruncFOp>(def);
    v = def->getOperand(0);
  }
  if (v != linalgOp.getMatchingBlockArgument(input))
    return std::nullopt;
  return copy;
}

/// Whether `map` (from 2 loops) swaps them: (d0, d1) -> (d1, d0).
bool isTranspose2D(AffineMap map) {
  return map.getNumDims() == 2 && map.getNumResults() == 2 &&
         map.getResult(0) == getAffineDimExpr(1, map.getContext()) &&
         map.getResult(1) == getAffineDimExpr(0, map.getContext());
}

/// Whether `map` picks only the last loop: a 1-D operand broadcast along
/// every other dim, i.e. a row vector.
bool isRowBroadcast(AffineMap map) {
  return map.getNumDims() >= 1 && map.getNumResults() == 1 &&
         map.getResult(0) ==
             getAffineDimExpr(map.getNumDims() - 1, map.getContext());
}

bool isRowVectorOperand(RankedTensorType type, AffineMap map) {
  if (type.getRank() == 1)
    return isRowBroadcast(map);
  if (type.getRank() < 1 || map.getNumResults() != type.getRank() ||
      map.getNumDims() < 1)
    return false;
  AffineExpr last = getAffineDimExpr(map.getNumDims() - 1, map.getContext());
  if (map.getResults().back() != last)
    return false;
  for (int64_t d = 0, e = type.getRank() - 1; d < e; ++d) {
    if (type.getDimSize(d) != 1)
      return false;
    AffineExpr expr = map.getResult(d);
    auto c = dyn_cast<AffineConstantExpr>(expr);
    if (!(c && c.getValue() == 0) && !isa<AffineDimExpr>(expr))
      return false;
    if (expr == last)
      return false;
  }
  return true;
}

/// The value of a splat float constant tensor (or float scalar constant).
std::optional<double> splatConstant(Value v) {
  Attribute attr;
  if (!matchPattern(v, m_Constant(&attr)))
    return std::nullopt;
  if (auto f = dyn_cast<FloatAttr>(attr))
    return f.getValueAsDouble();
  if (auto i = dyn_cast<IntegerAttr>(attr))
    return static_cast<double>(i.getValue().getSExtValue());
  if (auto dense = dyn_cast<DenseFPElementsAttr>(attr);
      dense && dense.isSplat())
    return FloatAttr::getValueAsDouble(dense.getSplatValue<APFloat>());
  return std::nullopt;
}

/// The tensor dim an index value reads (tensor.dim with a constant index),
/// through index_cast round trips.
/// `v` / `divisor` when `v` is `affine.apply (s * divisor)` of some s:
/// torch-mlir's row count of a flattened [B, S, ..] (B*S, then divided by
/// the static B). Null otherwise.
static Value exactQuotient(Value v, int64_t divisor) {
  auto apply = v.getDefiningOp<affine::AffineApplyOp>();
  if (!apply || apply.getMapOperands().size() != 1)
    return {};
  AffineMap map = apply.getAffineMap();
  if (map.getNumResults() != 1)
    return {};
  AffineExpr operand = map.getNumDims() == 1
                           ? getAffineDimExpr(0, map.getContext())
                           : getAffineSymbolExpr(0, map.getContext());
  AffineExpr expr = map.getResult(0);
  if (expr != operand * divisor && expr != divisor * operand)
    return {};
  return apply.getMapOperands()[0];
}

std::optional<std::pair<Value, int64_t>> indexSource(Value index) {
  while (true) {
    if (auto cast = index.getDefiningOp<arith::IndexCastOp>()) {
      index = cast.getIn();
      continue;
    }
    // (s * c) / c is s.
    if (auto div = index.getDefiningOp<arith::DivSIOp>()) {
      std::optional<int64_t> c = getConstantIntValue(div.getRhs());
      if (Value q = c && *c > 0 ? exactQuotient(div.getLhs(), *c) : Value()) {
        index = q;
        continue;
      }
    }
    break;
  }
  auto dimOp = index.getDefiningOp<tensor::DimOp>();
  if (!dimOp)
    return std::nullopt;
  std::optional<int64_t> d = dimOp.getConstantIndex();
  if (!d)
    return std::nullopt;
  return std::make_pair(dimOp.getSource(), *d);
}

/// Where an extent comes from: the (value, dim) reached by following a dim
/// through the ops that only pass it on (casts, reshapes that keep it, the
/// outputs of destination-style ops, tensor.empty and expand_shape sizes
/// given by tensor.dim). Two dims with the same source are equal.
std::pair<Value, int64_t> extentSource(Value v, int64_t dim) {
  for (unsigned step = 0; step < 64; ++step) {
    Operation *def = v.getDefiningOp();
    if (!def)
      break;
    if (auto op = dyn_cast<tensor::CastOp>(def)) {
      v = op.getSource();
      continue;
    }
    if (auto op = dyn_cast<tensor::ExpandShapeOp>(def)) {
      std::optional<std::pair<Value, int64_t>> next;
      for (auto [srcDim, group] :
           llvm::enumerate(op.getReassociationIndices())) {
        if (!llvm::is_contained(group, dim))
          continue;
        if (group.size() == 1) {
          next = std::make_pair(op.getSrc(), int64_t(srcDim));
        } else if (auto size = dyn_cast<Value>(op.getMixedOutputShape()[dim])) {
          next = indexSource(size);
        }
      }
      if (!next)
        break;
      std::tie(v, dim) = *next;
      continue;
    }
    if (auto op = dyn_cast<tensor::CollapseShapeOp>(def)) {
      ReassociationIndices group = op.getReassociationIndices()[dim];
      SmallVector<int64_t> nonUnit;
      for (int64_t d : group)
        if (op.getSrcType().getDimSize(d) != 1)
          nonUnit.push_back(d);
      if (nonUnit.size() != 1)
        break;
      v = op.getSrc();
      dim = nonUnit.front();
      continue;
    }
    if (auto op = dyn_cast<tensor::EmptyOp>(def)) {
      if (!op.getType().isDynamicDim(dim))
        break;
      std::optional<std::pair<Value, int64_t>> next =
          indexSource(op.getDynamicSize(dim));
      if (!next)
        break;
      std::tie(v, dim) = *next;
      continue;
    }
    if (auto op = dyn_cast<DestinationStyleOpInterface>(def)) {
      auto result = cast<OpResult>(v);
      if (!op.hasPureTensorSemantics() ||
          result.getResultNumber() >= op.getNumDpsInits())
        break;
      v = op.getDpsInitOperand(result.getResultNumber())->get();
      continue;
    }
    break;
  }
  return {v, dim};
}

/// Whether `input` ([B.., D]) and `output` ([B'.., N]) provably have the same
/// batch dims B = B'. Both hold the block's rows in order, so with one batch
/// dim (or none) they agree; with more, each dim must be static and equal or
/// come from the same source.
bool sameBatchDims(Value input, Value output) {
  auto in = dyn_cast<RankedTensorType>(input.getType());
  auto out = dyn_cast<RankedTensorType>(output.getType());
  if (!in || !out || in.getRank() != out.getRank() || in.getRank() < 1)
    return false;
  if (in.getRank() <= 2)
    return in.getRank() == 1 || in.isDynamicDim(0) || out.isDynamicDim(0) ||
           in.getDimSize(0) == out.getDimSize(0);
  for (int64_t i = 0, e = in.getRank() - 1; i < e; ++i) {
    if (!in.isDynamicDim(i) && !out.isDynamicDim(i)) {
      if (in.getDimSize(i) != out.getDimSize(i))
        return false;
      continue;
    }
    if (extentSource(input, i) != extentSource(output, i))
      return false;
  }
  return true;
}

} // namespace mlir::glu::raise
