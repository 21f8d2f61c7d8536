//===- Raise.cpp - Raise frontend FFN blocks into glu ops -----------------===//
//
// --glu-raise finds the transformer feed-forward blocks that ML frontends
// (torch-mlir's linalg-on-tensors, TOSA) emit and rewrites each into one op:
//
//   down(act(gate(x) + bg) * (up(x) + bu)) + bd   ->  glu.ffn
//   down(act(up(x) + bu)) + bd                     ->  glu.mlp
//
// A block is matched from its down projection backwards:
//
// * Projections are contractions C[b.., m, n] = init + sum_k A[b.., m, k]*B,
//   recognized by their indexing maps and body (mulf + addf, with extf on the
//   operands), not by op name: linalg.matmul with any indexing_maps,
//   linalg.batch_matmul or tosa.matmul with a broadcast or unit-batch weight,
//   a contraction linalg.generic. The accumulator starts at zero or at a bias
//   broadcast along rows. The weight is B looked through transposes and exact
//   (extf) copies; counting the transposes gives the layout.
// * Everything between the projections and the down projection is
//   elementwise (all-parallel ops with identity maps, where 1-D operands
//   broadcast along rows are biases) or a batch reshape (collapse/expand of
//   the leading dims). The bodies are composed into one scalar expression of
//   the projection outputs and the biases. It is classified by evaluating it
//   in double precision at probe points (large |x|, negative, near 0) against
//   act(g + bg)*(u + bu), or act(u + bu), for every activation of the
//   dialect; every leaf of the expression must have a role, so e.g.
//   x*sigmoid(y) with an unrelated y is not taken. Constants enter at the
//   precision they are written in, and the tolerance is a few units of it.
// * After the down projection, batch reshapes, one bias add along rows and a
//   final rounding (truncf) are folded in while the value has a single user.
//
// By default a block is raised only when the glu op states it exactly: the
// frontend computes in the accumulation type (f32 or f64) and rounds once, at
// the end, as the op does. Blocks that round intermediates to f16/bf16
// (low-precision matmul outputs, truncf between ops) are raised only with
// `allow-rounding-changes`. With `remarks`, every raised block and every near
// miss (an elementwise computation on projections that is not raised) gets a
// remark on its down projection saying what happened and why.
//
//===----------------------------------------------------------------------===//

#include "glu/Dialect/GLU/IR/GLU.h"
#include "glu/Dialect/GLU/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/BitVector.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>
#include <limits>
#include <numeric>
#include <optional>
#include <string>

namespace mlir::glu {
#define GEN_PASS_DEF_GLURAISE
#include "glu/Dialect/GLU/Transforms/Passes.h.inc"
} // namespace mlir::glu

using namespace mlir;
using namespace mlir::glu;

namespace {

//===----------------------------------------------------------------------===//
// Values seen through batch reshapes and copies
//===----------------------------------------------------------------------===//

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
bool keepsFeatureDim(ArrayRef<ReassociationIndices> groups,
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
Value stripBatchReshapes(Value v, llvm::SetVector<Operation *> *ops = nullptr) {
  while (Value source = batchReshapeSource(v)) {
    if (ops)
      ops->insert(v.getDefiningOp());
    v = source;
  }
  return v;
}

/// A structured op that copies its single input into its output, possibly
/// transposed or broadcast (as the input's indexing map says) and converted
/// (extf, truncf): linalg.transpose, linalg.broadcast, linalg.copy and the
/// linalg.generic equivalents.
struct CopyLike {
  Value source;
  AffineMap sourceMap; ///< from the loops (the result's dims) to the source
  bool rounds = false; ///< a truncf on the way (an extf is exact)
};

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
std::optional<std::pair<Value, int64_t>> indexSource(Value index) {
  while (auto cast = index.getDefiningOp<arith::IndexCastOp>())
    index = cast.getIn();
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

//===----------------------------------------------------------------------===//
// Contractions: the projections
//===----------------------------------------------------------------------===//

/// A product with a weight, C[b.., m, n] = init + sum_k A[b.., m, k] * B with B
/// indexed [k, n] or [n, k], or [b.., k, n] / [b.., n, k] for a batch of
/// weights (which must then be one weight broadcast or a unit batch).
struct Contraction {
  Operation *op = nullptr;
  Value lhs, rhs;
  Value init;              ///< null for tosa.matmul, which starts at zero
  bool rhsNK = false;      ///< B indexed [.., n, k]: an [out, in] weight
  bool rhsBatched = false; ///< B carries the batch dims
  bool rounds = false;     ///< the body rounds an operand (truncf)

  Value result() const { return op->getResult(0); }
  Type accType() const { return elementTypeOf(result()); }
};

/// `v` through extf/truncf inside a body; `rounds` is set on a truncf.
Value throughConversions(Value v, bool &rounds) {
  while (Operation *def = v.getDefiningOp()) {
    if (!isa<arith::ExtFOp, arith::TruncFOp>(def))
      break;
    rounds |= isa<arith::TruncFOp>(def);
    v = def->getOperand(0);
  }
  return v;
}

std::optional<Contraction> matchLinalgContraction(linalg::LinalgOp op) {
  if (!op.hasPureTensorSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || op->getNumResults() != 1 ||
      op.getNumLoops() < 3 || op.getNumReductionLoops() != 1 ||
      op.getNumParallelLoops() + 1 != op.getNumLoops())
    return std::nullopt;
  MLIRContext *ctx = op.getContext();
  unsigned numLoops = op.getNumLoops();
  OpOperand *initOperand = op.getDpsInitOperand(0);
  AffineMap outMap = op.getMatchingIndexingMap(initOperand);
  if (!outMap.isProjectedPermutation() ||
      outMap.getNumResults() != numLoops - 1)
    return std::nullopt;
  for (OpOperand *operand :
       {op.getDpsInputOperand(0), op.getDpsInputOperand(1), initOperand}) {
    auto type = dyn_cast<RankedTensorType>(operand->get().getType());
    if (!type || !isa<FloatType>(type.getElementType()))
      return std::nullopt;
  }

  // Loops: batch.., m, n from the output; k the reduction.
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  unsigned k =
      llvm::find(iterators, utils::IteratorType::reduction) - iterators.begin();
  ArrayRef<AffineExpr> outDims = outMap.getResults();
  AffineExpr m = outDims[outDims.size() - 2], n = outDims.back();
  AffineExpr kExpr = getAffineDimExpr(k, ctx);
  ArrayRef<AffineExpr> batch = outDims.drop_back(2);
  auto mapOf = [&](ArrayRef<AffineExpr> prefix, AffineExpr a, AffineExpr b) {
    SmallVector<AffineExpr> exprs(prefix);
    exprs.append({a, b});
    return AffineMap::get(numLoops, 0, exprs, ctx);
  };

  Contraction c;
  c.op = op;
  c.init = initOperand->get();
  OpOperand *lhs = nullptr, *rhs = nullptr;
  for (unsigned i = 0; i < 2 && !lhs; ++i) {
    OpOperand *a = op.getDpsInputOperand(i), *b = op.getDpsInputOperand(1 - i);
    if (op.getMatchingIndexingMap(a) != mapOf(batch, m, kExpr))
      continue;
    AffineMap bMap = op.getMatchingIndexingMap(b);
    for (bool batched : {false, true}) {
      ArrayRef<AffineExpr> prefix = batched ? batch : ArrayRef<AffineExpr>();
      if (batched && batch.empty())
        continue;
      if (bMap == mapOf(prefix, kExpr, n) || bMap == mapOf(prefix, n, kExpr)) {
        lhs = a;
        rhs = b;
        c.rhsBatched = batched;
        c.rhsNK = bMap == mapOf(prefix, n, kExpr);
      }
    }
  }
  if (!lhs)
    return std::nullopt;
  c.lhs = lhs->get();
  c.rhs = rhs->get();

  // Body: yield init + cvt(a) * cvt(b), in either order.
  Block *body = op.getBlock();
  auto add =
      body->getTerminator()->getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add)
    return std::nullopt;
  BlockArgument initArg = op.getMatchingBlockArgument(initOperand);
  Value product = add.getLhs() == initArg   ? add.getRhs()
                  : add.getRhs() == initArg ? add.getLhs()
                                            : Value();
  auto mul = product ? product.getDefiningOp<arith::MulFOp>() : nullptr;
  if (!mul)
    return std::nullopt;
  Value a = throughConversions(mul.getLhs(), c.rounds);
  Value b = throughConversions(mul.getRhs(), c.rounds);
  BlockArgument lhsArg = op.getMatchingBlockArgument(lhs);
  BlockArgument rhsArg = op.getMatchingBlockArgument(rhs);
  if (!((a == lhsArg && b == rhsArg) || (a == rhsArg && b == lhsArg)))
    return std::nullopt;
  return c;
}

/// tosa.matmul: [N, H, C] x [N, C, W] -> [N, H, W] from zero, float zero
/// points.
std::optional<Contraction> matchTosaMatmul(tosa::MatMulOp op) {
  auto result = dyn_cast<RankedTensorType>(op.getType());
  auto a = dyn_cast<RankedTensorType>(op.getA().getType());
  auto b = dyn_cast<RankedTensorType>(op.getB().getType());
  if (!result || !a || !b || result.getRank() != 3 || b.getRank() != 3 ||
      !isa<FloatType>(result.getElementType()) ||
      !matchPattern(op.getAZp(), m_AnyZeroFloat()) ||
      !matchPattern(op.getBZp(), m_AnyZeroFloat()))
    return std::nullopt;
  Contraction c;
  c.op = op;
  c.lhs = op.getA();
  c.rhs = op.getB();
  c.rhsBatched = true;
  return c;
}

/// The contraction `op` computes, if it is one.
std::optional<Contraction> matchContraction(Operation *op) {
  if (auto mm = dyn_cast_if_present<tosa::MatMulOp>(op))
    return matchTosaMatmul(mm);
  if (auto linalgOp = dyn_cast_if_present<linalg::LinalgOp>(op))
    return matchLinalgContraction(linalgOp);
  return std::nullopt;
}

/// One half of a merged gate/up projection: a tensor.extract_slice that
/// takes every row and F of the 2F output features of a contraction, the
/// first or second half (`concat`) or the even or odd features
/// (`interleaved`); or a tosa.slice taking the first or second half. The
/// product may be converted (extf/truncf, tosa.cast) before it is sliced.
struct MergedHalf {
  Contraction contraction;
  unsigned index = 0; ///< 0: gate's place, 1: up's place
  Packing packing = Packing::concat;
  bool rounds = false; ///< the product is rounded (truncf) before the slice
  /// The slice and the reshapes and conversion before it.
  SmallVector<Operation *> ops;
};

/// The constant values of a tosa.const_shape.
std::optional<SmallVector<int64_t>> constShapeValues(Value v) {
  auto op = v.getDefiningOp<tosa::ConstShapeOp>();
  if (!op)
    return std::nullopt;
  SmallVector<int64_t> values;
  for (const APInt &value : op.getValues().getValues<APInt>())
    values.push_back(value.getSExtValue());
  return values;
}

std::optional<MergedHalf> matchMergedHalf(Value v) {
  Operation *sliceOp = v.getDefiningOp();
  Value sliced;
  if (auto slice = dyn_cast_if_present<tensor::ExtractSliceOp>(sliceOp))
    sliced = slice.getSource();
  else if (auto slice = dyn_cast_if_present<tosa::SliceOp>(sliceOp))
    sliced = slice.getInput1();
  else
    return std::nullopt;
  llvm::SetVector<Operation *> reshapes;
  Value source = stripBatchReshapes(sliced, &reshapes);
  // A conversion of the whole product may come first (torch-mlir's bf16
  // linear: an f32 accumulator rounded to bf16, then chunked).
  bool rounds = false;
  if (Operation *def = source.getDefiningOp(); def && !matchContraction(def)) {
    Value converted;
    if (std::optional<CopyLike> copy = matchCopyLike(def);
        copy && copy->sourceMap.isIdentity()) {
      converted = copy->source;
      rounds = copy->rounds;
    } else if (auto castOp = dyn_cast<tosa::CastOp>(def);
               castOp && isa<FloatType>(elementTypeOf(castOp.getInput())) &&
               isa<FloatType>(elementTypeOf(castOp.getOutput()))) {
      converted = castOp.getInput();
      rounds = !isExtension(castOp.getInput(), castOp.getOutput());
    }
    if (converted) {
      reshapes.insert(def);
      source = stripBatchReshapes(converted, &reshapes);
    }
  }
  std::optional<Contraction> c = matchContraction(source.getDefiningOp());
  auto srcType = dyn_cast<RankedTensorType>(sliced.getType());
  auto resultType = dyn_cast<RankedTensorType>(v.getType());
  if (!c || !srcType || !resultType)
    return std::nullopt;
  int64_t rank = srcType.getRank();
  if (resultType.getRank() != rank || rank < 1 ||
      srcType.isDynamicDim(rank - 1) || srcType.getDimSize(rank - 1) % 2 != 0)
    return std::nullopt;
  // The last dim's offset, size and stride.
  std::optional<int64_t> offset, size, stride;
  if (auto slice = dyn_cast<tensor::ExtractSliceOp>(sliceOp)) {
    SmallVector<OpFoldResult> offsets = slice.getMixedOffsets();
    SmallVector<OpFoldResult> sizes = slice.getMixedSizes();
    SmallVector<OpFoldResult> strides = slice.getMixedStrides();
    // Every row: offset 0, stride 1, the whole extent.
    for (int64_t d = 0; d + 1 < rank; ++d) {
      if (!isConstantIntValue(offsets[d], 0) ||
          !isConstantIntValue(strides[d], 1))
        return std::nullopt;
      if (std::optional<int64_t> size = getConstantIntValue(sizes[d])) {
        if (srcType.isDynamicDim(d) || *size != srcType.getDimSize(d))
          return std::nullopt;
      } else {
        std::optional<std::pair<Value, int64_t>> from =
            indexSource(cast<Value>(sizes[d]));
        if (!from || extentSource(from->first, from->second) !=
                         extentSource(slice.getSource(), d))
          return std::nullopt;
      }
    }
    offset = getConstantIntValue(offsets.back());
    size = getConstantIntValue(sizes.back());
    stride = getConstantIntValue(strides.back());
  } else {
    // tosa.slice (stride 1): constant starts and sizes; every row is offset
    // 0 and the whole static extent.
    auto tosaSlice = cast<tosa::SliceOp>(sliceOp);
    std::optional<SmallVector<int64_t>> starts =
        constShapeValues(tosaSlice.getStart());
    std::optional<SmallVector<int64_t>> sizes =
        constShapeValues(tosaSlice.getSize());
    if (!starts || !sizes || int64_t(starts->size()) != rank ||
        int64_t(sizes->size()) != rank)
      return std::nullopt;
    for (int64_t d = 0; d + 1 < rank; ++d)
      if ((*starts)[d] != 0 || srcType.isDynamicDim(d) ||
          (*sizes)[d] != srcType.getDimSize(d))
        return std::nullopt;
    offset = starts->back();
    size = sizes->back();
    stride = 1;
  }
  int64_t features = srcType.getDimSize(rank - 1) / 2;
  if (!offset || !size || !stride || *size != features)
    return std::nullopt;
  MergedHalf half;
  half.contraction = *c;
  half.rounds = rounds;
  if (*stride == 1 && (*offset == 0 || *offset == features)) {
    half.index = *offset == 0 ? 0 : 1;
  } else if (*stride == 2 && (*offset == 0 || *offset == 1)) {
    half.index = *offset;
    half.packing = Packing::interleaved;
  } else {
    return std::nullopt;
  }
  half.ops.push_back(sliceOp);
  half.ops.append(reshapes.begin(), reshapes.end());
  return half;
}

//===----------------------------------------------------------------------===//
// Scalar expressions composed from elementwise bodies
//===----------------------------------------------------------------------===//

/// A scalar function of the elements of a few tensors (the leaves), composed
/// from the bodies of elementwise ops. Nodes are appended after their
/// arguments, so index order is a topological order.
class ScalarExpr {
public:
  enum class Kind {
    Leaf,
    Const,
    Add,
    Sub,
    Mul,
    Div,
    Neg,
    Max,
    Min,
    Abs,
    Exp,
    Exp2,
    Expm1,
    Log,
    Log1p,
    Tanh,
    Erf,
    Erfc,
    Sqrt,
    Rsqrt,
    Sigmoid,
    Pow,
    Cmp,
    Select,
    ExtF,
    TruncF
  };
  struct Node {
    Kind kind;
    Type type; ///< the type the frontend computes this node in
    SmallVector<unsigned, 3> args;
    double constant = 0;
    unsigned leaf = 0;
    arith::CmpFPredicate predicate = arith::CmpFPredicate::AlwaysFalse;
  };

  unsigned leaf(unsigned index, Type type) {
    Node node{Kind::Leaf, type, {}};
    node.leaf = index;
    return push(std::move(node));
  }
  unsigned constant(double value, Type type) {
    Node node{Kind::Const, type, {}};
    node.constant = value;
    return push(std::move(node));
  }
  unsigned op(Kind kind, Type type, ArrayRef<unsigned> args) {
    return push(Node{kind, type, SmallVector<unsigned, 3>(args)});
  }
  unsigned cmp(arith::CmpFPredicate predicate, Type type, unsigned lhs,
               unsigned rhs) {
    Node node{Kind::Cmp, type, {lhs, rhs}};
    node.predicate = predicate;
    return push(std::move(node));
  }

  /// The value of node `root` in double precision for the given leaf values
  /// (extf and truncf are the identity).
  double evaluate(unsigned root, ArrayRef<double> leaves) const {
    SmallVector<double, 64> v(root + 1);
    for (unsigned i = 0; i <= root; ++i)
      v[i] = evaluateNode(nodes[i], v, leaves);
    return v[root];
  }

  /// The nodes `root` depends on, itself included.
  llvm::BitVector reachable(unsigned root) const {
    llvm::BitVector live(root + 1);
    live.set(root);
    for (unsigned i = root + 1; i-- > 0;)
      if (live.test(i))
        for (unsigned arg : nodes[i].args)
          live.set(arg);
    return live;
  }

  /// The values of the constants `root` depends on.
  SmallVector<double> constants(unsigned root) const {
    SmallVector<double> values;
    // A named BitVector: the range of a temporary's set_bits() would outlive
    // it (found by the fuzzer under ASan, test/Fuzz/raise-activation-fit).
    llvm::BitVector live = reachable(root);
    for (unsigned i : live.set_bits())
      if (nodes[i].kind == Kind::Const)
        values.push_back(nodes[i].constant);
    return values;
  }

  /// The relative tolerance for comparing `root` with an activation: a few
  /// units in the last place of the least precise constant it uses (an f32
  /// 1/sqrt(2) is 1/sqrt(2) to 4e-9 only), and at least 1e-9.
  double tolerance(unsigned root) const {
    llvm::BitVector live = reachable(root);
    double tol = 1e-9;
    for (unsigned i : live.set_bits())
      if (nodes[i].kind == Kind::Const)
        if (auto type = dyn_cast<FloatType>(nodes[i].type))
          tol = std::max(tol,
                         8 * std::ldexp(1.0, -int(type.getFPMantissaWidth())));
    return tol;
  }

  /// Whether computing `root` rounds only where the glu op does: every
  /// arithmetic node computes in `acc`, and no node uses a rounded (truncf)
  /// value; `root` itself may be a truncf if `finalRounding`.
  bool roundsOnlyAtEnd(unsigned root, Type acc, bool finalRounding) const {
    llvm::BitVector live = reachable(root);
    for (unsigned i : live.set_bits()) {
      const Node &node = nodes[i];
      for (unsigned arg : node.args)
        if (nodes[arg].kind == Kind::TruncF)
          return false;
      switch (node.kind) {
      case Kind::Leaf:
      case Kind::Const:
      case Kind::Cmp:
      case Kind::ExtF:
        break;
      case Kind::TruncF:
        if (i != root || !finalRounding)
          return false;
        break;
      default:
        if (node.type != acc)
          return false;
      }
    }
    return true;
  }

private:
  unsigned push(Node node) {
    nodes.push_back(std::move(node));
    return nodes.size() - 1;
  }

  static double sigmoid(double x) {
    if (x >= 0)
      return 1 / (1 + std::exp(-x));
    double e = std::exp(x);
    return e / (1 + e);
  }

  static bool compare(arith::CmpFPredicate p, double a, double b) {
    using P = arith::CmpFPredicate;
    bool unordered = std::isnan(a) || std::isnan(b);
    switch (p) {
    case P::AlwaysFalse:
      return false;
    case P::AlwaysTrue:
      return true;
    case P::OEQ:
      return !unordered && a == b;
    case P::OGT:
      return !unordered && a > b;
    case P::OGE:
      return !unordered && a >= b;
    case P::OLT:
      return !unordered && a < b;
    case P::OLE:
      return !unordered && a <= b;
    case P::ONE:
      return !unordered && a != b;
    case P::ORD:
      return !unordered;
    case P::UEQ:
      return unordered || a == b;
    case P::UGT:
      return unordered || a > b;
    case P::UGE:
      return unordered || a >= b;
    case P::ULT:
      return unordered || a < b;
    case P::ULE:
      return unordered || a <= b;
    case P::UNE:
      return unordered || a != b;
    case P::UNO:
      return unordered;
    }
    return false;
  }

  static double evaluateNode(const Node &node, ArrayRef<double> v,
                             ArrayRef<double> leaves) {
    auto a = [&](unsigned i) { return v[node.args[i]]; };
    switch (node.kind) {
    case Kind::Leaf:
      return leaves[node.leaf];
    case Kind::Const:
      return node.constant;
    case Kind::Add:
      return a(0) + a(1);
    case Kind::Sub:
      return a(0) - a(1);
    case Kind::Mul:
      return a(0) * a(1);
    case Kind::Div:
      return a(0) / a(1);
    case Kind::Neg:
      return -a(0);
    case Kind::Max:
      return std::fmax(a(0), a(1));
    case Kind::Min:
      return std::fmin(a(0), a(1));
    case Kind::Abs:
      return std::fabs(a(0));
    case Kind::Exp:
      return std::exp(a(0));
    case Kind::Exp2:
      return std::exp2(a(0));
    case Kind::Expm1:
      return std::expm1(a(0));
    case Kind::Log:
      return std::log(a(0));
    case Kind::Log1p:
      return std::log1p(a(0));
    case Kind::Tanh:
      return std::tanh(a(0));
    case Kind::Erf:
      return std::erf(a(0));
    case Kind::Erfc:
      return std::erfc(a(0));
    case Kind::Sqrt:
      return std::sqrt(a(0));
    case Kind::Rsqrt:
      return 1 / std::sqrt(a(0));
    case Kind::Sigmoid:
      return sigmoid(a(0));
    case Kind::Pow:
      return std::pow(a(0), a(1));
    case Kind::Cmp:
      return compare(node.predicate, a(0), a(1)) ? 1 : 0;
    case Kind::Select:
      return a(0) != 0 ? a(1) : a(2);
    case Kind::ExtF:
    case Kind::TruncF:
      return a(0);
    }
    return std::numeric_limits<double>::quiet_NaN();
  }

  std::vector<Node> nodes;
};

/// What a leaf of a composed expression is.
enum class LeafKind {
  Projection, ///< the result of a contraction
  RowVector,  ///< a vector broadcast along rows (a bias)
  Reduction,  ///< the result of another op with a reduction (e.g. a norm)
  Other,      ///< anything else
};

struct Leaf {
  Value value;
  LeafKind kind;
};

bool isElementwiseLinalg(Operation *op) {
  auto linalgOp = dyn_cast_if_present<linalg::LinalgOp>(op);
  return linalgOp && linalgOp.hasPureTensorSemantics() &&
         linalgOp.getNumDpsInits() == 1 && op->getNumResults() == 1 &&
         linalgOp.getNumLoops() == linalgOp.getNumParallelLoops() &&
         linalgOp.getMatchingIndexingMap(linalgOp.getDpsInitOperand(0))
             .isIdentity();
}

bool isTosaElementwise(Operation *op) {
  return isa_and_present<tosa::AddOp, tosa::SubOp, tosa::MulOp, tosa::SigmoidOp,
                         tosa::TanhOp, tosa::ErfOp, tosa::ExpOp, tosa::LogOp,
                         tosa::AbsOp, tosa::NegateOp, tosa::ReciprocalOp,
                         tosa::RsqrtOp, tosa::MaximumOp, tosa::MinimumOp,
                         tosa::ClampOp, tosa::PowOp, tosa::CastOp>(op) &&
         isa<RankedTensorType>(op->getResult(0).getType());
}

bool isElementwise(Operation *op) {
  return isElementwiseLinalg(op) || isTosaElementwise(op);
}

/// Composes the elementwise computation producing a tensor into a
/// ScalarExpr, down to its leaves: projections, row vectors and other values.
/// Batch reshapes are looked through (elementwise ops commute with them).
class Composer {
public:
  explicit Composer(ScalarExpr &expr) : expr(expr) {}

  /// The node of an element of `tensor` (indexed like the result).
  FailureOr<unsigned> compose(Value tensor) {
    Value v = stripBatchReshapes(tensor, &ops);
    if (auto it = memo.find(v); it != memo.end())
      return it->second;
    FailureOr<unsigned> node = failure();
    Operation *def = v.getDefiningOp();
    if (std::optional<double> c = splatConstant(v))
      node = expr.constant(*c, elementTypeOf(v));
    else if (def && isElementwiseLinalg(def))
      node = composeLinalg(cast<linalg::LinalgOp>(def));
    else if (def && isTosaElementwise(def))
      node = composeTosa(def);
    else
      node = leafFor(v, classify(v));
    if (failed(node))
      return failure();
    if (def && isElementwise(def))
      ops.insert(def);
    memo[v] = *node;
    return *node;
  }

  ArrayRef<Leaf> getLeaves() const { return leaves; }
  /// The elementwise ops and reshapes composed.
  const llvm::SetVector<Operation *> &getOps() const { return ops; }
  /// The op that could not be interpreted, after a failure.
  StringRef getUnsupported() const { return unsupported; }

private:
  static LeafKind classify(Value v) {
    Operation *def = v.getDefiningOp();
    if (matchContraction(def) || matchMergedHalf(v))
      return LeafKind::Projection;
    if (auto linalgOp = dyn_cast_if_present<linalg::LinalgOp>(def);
        linalgOp && linalgOp.getNumReductionLoops() > 0)
      return LeafKind::Reduction;
    if (isa_and_present<tosa::ReduceSumOp, tosa::ReduceMaxOp, tosa::ReduceMinOp,
                        tosa::ReduceProductOp, linalg::SoftmaxOp>(def))
      return LeafKind::Reduction;
    return LeafKind::Other;
  }

  /// The kind of a leaf read in some other way than elementwise: a reduction
  /// stays one (it makes the computation no block), anything else is other.
  static LeafKind otherKind(Value v) {
    return classify(v) == LeafKind::Reduction ? LeafKind::Reduction
                                              : LeafKind::Other;
  }

  unsigned leafFor(Value v, LeafKind kind) {
    for (auto [i, leaf] : llvm::enumerate(leaves))
      if (leaf.value == v && leaf.kind == kind)
        return leafNodes[i];
    leaves.push_back({v, kind});
    Type type = v.getType();
    if (auto shaped = dyn_cast<ShapedType>(type))
      type = shaped.getElementType();
    leafNodes.push_back(expr.leaf(leaves.size() - 1, type));
    return leafNodes.back();
  }

  /// A scalar used in a body or given as an operand: a constant or a leaf.
  unsigned scalar(Value v) {
    if (std::optional<double> c = splatConstant(v))
      return expr.constant(*c, getElementTypeOrSelf(v.getType()));
    return leafFor(v, LeafKind::Other);
  }

  FailureOr<unsigned> composeLinalg(linalg::LinalgOp op) {
    DenseMap<Value, unsigned> env;
    for (OpOperand &operand : op->getOpOperands()) {
      BlockArgument arg = op.getMatchingBlockArgument(&operand);
      if (arg.use_empty())
        continue;
      Value value = operand.get();
      auto type = dyn_cast<RankedTensorType>(value.getType());
      AffineMap map = op.getMatchingIndexingMap(&operand);
      FailureOr<unsigned> node = failure();
      if (!type || type.getRank() == 0 || splatConstant(value))
        node = scalar(value);
      else if (map.isIdentity())
        node = compose(value);
      else if (type.getRank() == 1 && isRowBroadcast(map))
        node = leafFor(value, LeafKind::RowVector);
      else
        node = leafFor(value, otherKind(value));
      if (failed(node))
        return failure();
      env[arg] = *node;
    }
    return interpretBody(*op.getBlock(), env);
  }

  FailureOr<unsigned> interpretBody(Block &body,
                                    DenseMap<Value, unsigned> &env) {
    auto lookup = [&](Value v) {
      auto it = env.find(v);
      return it != env.end() ? it->second : scalar(v);
    };
    using K = ScalarExpr::Kind;
    for (Operation &op : body.without_terminator()) {
      if (op.getNumResults() != 1) {
        unsupported = op.getName().getStringRef().str();
        return failure();
      }
      Type type = op.getResult(0).getType();
      auto un = [&](K kind) {
        return expr.op(kind, type, {lookup(op.getOperand(0))});
      };
      auto bin = [&](K kind) {
        return expr.op(kind, type,
                       {lookup(op.getOperand(0)), lookup(op.getOperand(1))});
      };
      std::optional<unsigned> node =
          llvm::TypeSwitch<Operation *, std::optional<unsigned>>(&op)
              .Case<arith::ConstantOp>([&](auto) -> std::optional<unsigned> {
                if (std::optional<double> c = splatConstant(op.getResult(0)))
                  return expr.constant(*c, type);
                return std::nullopt;
              })
              .Case<arith::AddFOp>([&](auto) { return bin(K::Add); })
              .Case<arith::SubFOp>([&](auto) { return bin(K::Sub); })
              .Case<arith::MulFOp>([&](auto) { return bin(K::Mul); })
              .Case<arith::DivFOp>([&](auto) { return bin(K::Div); })
              .Case<arith::NegFOp>([&](auto) { return un(K::Neg); })
              .Case<arith::MaximumFOp, arith::MaxNumFOp>(
                  [&](auto) { return bin(K::Max); })
              .Case<arith::MinimumFOp, arith::MinNumFOp>(
                  [&](auto) { return bin(K::Min); })
              .Case<arith::ExtFOp>([&](auto) { return un(K::ExtF); })
              .Case<arith::TruncFOp>([&](auto) { return un(K::TruncF); })
              .Case<arith::CmpFOp>([&](arith::CmpFOp cmp) {
                return expr.cmp(cmp.getPredicate(), type, lookup(cmp.getLhs()),
                                lookup(cmp.getRhs()));
              })
              .Case<arith::SelectOp>([&](arith::SelectOp select) {
                return expr.op(K::Select, type,
                               {lookup(select.getCondition()),
                                lookup(select.getTrueValue()),
                                lookup(select.getFalseValue())});
              })
              .Case<math::ExpOp>([&](auto) { return un(K::Exp); })
              .Case<math::Exp2Op>([&](auto) { return un(K::Exp2); })
              .Case<math::ExpM1Op>([&](auto) { return un(K::Expm1); })
              .Case<math::LogOp>([&](auto) { return un(K::Log); })
              .Case<math::Log1pOp>([&](auto) { return un(K::Log1p); })
              .Case<math::TanhOp>([&](auto) { return un(K::Tanh); })
              .Case<math::ErfOp>([&](auto) { return un(K::Erf); })
              .Case<math::ErfcOp>([&](auto) { return un(K::Erfc); })
              .Case<math::SqrtOp>([&](auto) { return un(K::Sqrt); })
              .Case<math::RsqrtOp>([&](auto) { return un(K::Rsqrt); })
              .Case<math::AbsFOp>([&](auto) { return un(K::Abs); })
              .Case<math::PowFOp, math::FPowIOp>(
                  [&](auto) { return bin(K::Pow); })
              .Case<math::FmaOp>([&](math::FmaOp fma) {
                unsigned product = expr.op(
                    K::Mul, type, {lookup(fma.getA()), lookup(fma.getB())});
                return expr.op(K::Add, type, {product, lookup(fma.getC())});
              })
              .Default([](Operation *) { return std::nullopt; });
      if (!node) {
        unsupported = op.getName().getStringRef().str();
        return failure();
      }
      env[op.getResult(0)] = *node;
    }
    return lookup(body.getTerminator()->getOperand(0));
  }

  /// A TOSA elementwise op. Operands broadcast by size-1 dims: one of the
  /// result's shape is an element, [1.., N] a row vector, [1..] a scalar.
  FailureOr<unsigned> composeTosa(Operation *op) {
    auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
    Type type = resultType.getElementType();
    auto operand = [&](unsigned i) -> FailureOr<unsigned> {
      Value v = op->getOperand(i);
      auto t = dyn_cast<RankedTensorType>(v.getType());
      if (!t || t.getRank() != resultType.getRank())
        return leafFor(v, LeafKind::Other);
      if (splatConstant(v))
        return scalar(v);
      // Same shape: an element; [1.., N]: a row vector.
      bool same = true, leadingUnit = true;
      for (int64_t d = 0, e = t.getRank(); d < e; ++d) {
        int64_t a = t.getDimSize(d), b = resultType.getDimSize(d);
        same &= a == b || ShapedType::isDynamic(a) || ShapedType::isDynamic(b);
        if (d + 1 < e)
          leadingUnit &= a == 1;
      }
      if (same)
        return compose(v);
      if (leadingUnit)
        return leafFor(v, LeafKind::RowVector);
      return leafFor(v, otherKind(v));
    };
    using K = ScalarExpr::Kind;
    auto un = [&](K kind) -> FailureOr<unsigned> {
      FailureOr<unsigned> a = operand(0);
      if (failed(a))
        return failure();
      return expr.op(kind, type, {*a});
    };
    auto bin = [&](K kind) -> FailureOr<unsigned> {
      FailureOr<unsigned> a = operand(0), b = operand(1);
      if (failed(a) || failed(b))
        return failure();
      return expr.op(kind, type, {*a, *b});
    };
    return llvm::TypeSwitch<Operation *, FailureOr<unsigned>>(op)
        .Case<tosa::AddOp>([&](auto) { return bin(K::Add); })
        .Case<tosa::SubOp>([&](auto) { return bin(K::Sub); })
        .Case<tosa::MulOp>([&](auto) { return bin(K::Mul); })
        .Case<tosa::MaximumOp>([&](auto) { return bin(K::Max); })
        .Case<tosa::MinimumOp>([&](auto) { return bin(K::Min); })
        .Case<tosa::PowOp>([&](auto) { return bin(K::Pow); })
        .Case<tosa::SigmoidOp>([&](auto) { return un(K::Sigmoid); })
        .Case<tosa::TanhOp>([&](auto) { return un(K::Tanh); })
        .Case<tosa::ErfOp>([&](auto) { return un(K::Erf); })
        .Case<tosa::ExpOp>([&](auto) { return un(K::Exp); })
        .Case<tosa::LogOp>([&](auto) { return un(K::Log); })
        .Case<tosa::AbsOp>([&](auto) { return un(K::Abs); })
        .Case<tosa::NegateOp>([&](auto) { return un(K::Neg); })
        .Case<tosa::RsqrtOp>([&](auto) { return un(K::Rsqrt); })
        .Case<tosa::ReciprocalOp>([&](auto) -> FailureOr<unsigned> {
          FailureOr<unsigned> a = operand(0);
          if (failed(a))
            return failure();
          return expr.op(K::Div, type, {expr.constant(1.0, type), *a});
        })
        .Case<tosa::ClampOp>([&](tosa::ClampOp clamp) -> FailureOr<unsigned> {
          auto lo = dyn_cast<FloatAttr>(clamp.getMinValAttr());
          auto hi = dyn_cast<FloatAttr>(clamp.getMaxValAttr());
          FailureOr<unsigned> a = operand(0);
          if (!lo || !hi || failed(a)) {
            unsupported = "tosa.clamp";
            return failure();
          }
          unsigned low = expr.op(
              K::Max, type, {*a, expr.constant(lo.getValueAsDouble(), type)});
          return expr.op(K::Min, type,
                         {low, expr.constant(hi.getValueAsDouble(), type)});
        })
        .Case<tosa::CastOp>([&](tosa::CastOp castOp) -> FailureOr<unsigned> {
          auto from = dyn_cast<FloatType>(elementTypeOf(castOp.getInput()));
          auto to = dyn_cast<FloatType>(type);
          if (!from || !to) {
            unsupported = "tosa.cast";
            return failure();
          }
          return un(to.getWidth() >= from.getWidth() ? K::ExtF : K::TruncF);
        })
        .Default([&](Operation *) -> FailureOr<unsigned> {
          unsupported = op->getName().getStringRef().str();
          return failure();
        });
  }

  ScalarExpr &expr;
  SmallVector<Leaf> leaves;
  SmallVector<unsigned> leafNodes;
  DenseMap<Value, unsigned> memo;
  llvm::SetVector<Operation *> ops;
  std::string unsupported;
};

//===----------------------------------------------------------------------===//
// Activation and gating: classifying a composed expression
//===----------------------------------------------------------------------===//

/// act(x) in double precision for the activations of one value.
double activationValue(Activation act, double beta, double x) {
  auto sigmoid = [](double t) {
    if (t >= 0)
      return 1 / (1 + std::exp(-t));
    double e = std::exp(t);
    return e / (1 + e);
  };
  switch (act) {
  case Activation::sigmoid:
    return sigmoid(x);
  case Activation::identity:
    return x;
  case Activation::relu:
    return x > 0 ? x : 0.0;
  case Activation::gelu_erf:
    return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
  case Activation::gelu_tanh:
    return 0.5 * x *
           (1 + std::tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
  case Activation::silu:
    return x * sigmoid(x);
  case Activation::swish:
    return x * sigmoid(beta * x);
  case Activation::clamped_swiglu:
    break;
  }
  return std::numeric_limits<double>::quiet_NaN();
}

/// Probe points: both signs, near 0, the knees of every activation, and
/// large |x| where sigmoid saturates and its spellings overflow.
constexpr double kProbes[] = {-200, -60, -25,  -9.5,  -6,   -4.25, -3,  -2.2,
                              -1.6, -1,  -0.7, -0.35, -0.1, -1e-3, 0,   1e-3,
                              0.05, 0.2, 0.45, 0.8,   1.2,  1.9,   2.6, 3.7,
                              5.5,  8,   13,   40,    200};
constexpr double kUpProbes[] = {1.75, -0.625, 23.5};
constexpr double kBiasProbes[][2] = {{0, 0}, {0.375, -1.25}};

/// The values the leaves are probed at: the fixed points, plus points just
/// around every constant c (and -c) of the expression, so that a piecewise
/// definition (a select on a comparison with c) is probed on both sides.
struct Probes {
  SmallVector<double> gate, up;
};

Probes probesFor(const ScalarExpr &expr, unsigned root) {
  Probes probes;
  probes.gate.assign(std::begin(kProbes), std::end(kProbes));
  probes.up.assign(std::begin(kUpProbes), std::end(kUpProbes));
  for (double c : expr.constants(root)) {
    if (c == 0 || !(std::abs(c) <= 1e4))
      continue;
    for (double v : {c, -c}) {
      for (double p : {v * (1 + 1e-3) + 1e-3, v * (1 - 1e-3) - 1e-3}) {
        probes.gate.push_back(p);
        probes.up.push_back(p);
      }
    }
  }
  return probes;
}

/// The roles of the leaves of a composed hidden: the projection the
/// activation applies to (`gate`; for a non-gated block, the up
/// projection), the projection it multiplies (`up`, gated blocks), and
/// their biases. -1 where there is none.
struct Roles {
  int gate = -1, up = -1, gateBias = -1, upBias = -1;
};

/// The largest error of `expr` at `root` against act(g + bg) * (u + bu) (or
/// act(g + bg) without up) over the probes, in units of `tol` times the
/// magnitude: at most 1 fits.
double misfit(const ScalarExpr &expr, unsigned root, unsigned numLeaves,
              const Probes &probes, Roles roles, Activation act, double beta,
              double tol) {
  SmallVector<double> leaves(numLeaves, 0.0);
  bool hasBias = roles.gateBias >= 0 || roles.upBias >= 0;
  double worst = 0;
  for (const auto &bias : kBiasProbes) {
    for (double g : probes.gate) {
      for (double u : probes.up) {
        leaves[roles.gate] = g;
        double gx = g, ux = 1;
        if (roles.gateBias >= 0)
          gx += leaves[roles.gateBias] = bias[0];
        if (roles.up >= 0) {
          ux = leaves[roles.up] = u;
          if (roles.upBias >= 0)
            ux += leaves[roles.upBias] = bias[1];
        }
        double want = activationValue(act, beta, gx) * ux;
        double got = expr.evaluate(root, leaves);
        if (!std::isfinite(got))
          return std::numeric_limits<double>::infinity();
        double scale =
            std::abs(want) + 1e-3 * (1 + std::abs(gx)) * (1 + std::abs(ux));
        worst = std::max(worst, std::abs(got - want) / (tol * scale));
        if (roles.up < 0)
          break;
      }
    }
    if (!hasBias)
      break;
  }
  return worst;
}

struct ActivationFit {
  Activation activation;
  std::optional<float> beta; ///< swish only
  double misfit;
};

/// The activation (and swish's beta) that `expr` computes under `roles`.
std::optional<ActivationFit> fitActivation(const ScalarExpr &expr,
                                           unsigned root, unsigned numLeaves,
                                           Roles roles) {
  double tol = expr.tolerance(root);
  Probes probes = probesFor(expr, root);
  std::optional<ActivationFit> best;
  auto consider = [&](Activation act, std::optional<float> beta) {
    double m = misfit(expr, root, numLeaves, probes, roles, act,
                      beta.value_or(1.0), tol);
    if (m <= 1 && (!best || m < best->misfit))
      best = ActivationFit{act, beta, m};
  };
  for (Activation act :
       {Activation::sigmoid, Activation::identity, Activation::relu,
        Activation::gelu_erf, Activation::gelu_tanh, Activation::silu})
    consider(act, std::nullopt);
  // Swish: beta from the value at 1.5, where x*sigmoid(beta*x) is invertible.
  SmallVector<double> leaves(numLeaves, 0.0);
  leaves[roles.gate] = 1.5;
  if (roles.up >= 0)
    leaves[roles.up] = 1.0;
  double s = expr.evaluate(root, leaves) / 1.5;
  if (s > 0 && s < 1) {
    float beta = static_cast<float>(std::log(s / (1 - s)) / 1.5);
    if (std::isfinite(beta) && std::abs(beta - 1.0) > tol)
      consider(Activation::swish, beta);
  }
  return best;
}

//===----------------------------------------------------------------------===//
// Projections
//===----------------------------------------------------------------------===//

/// A projection of a block: its contraction, the weight behind it and the
/// bias its accumulator starts from.
struct Projection {
  Contraction contraction;
  Value weight;
  Layout layout = Layout::out_in;
  Value initBias;
  /// The lhs, then each value it is a batch reshape or an exact copy of: any
  /// of them holds the same rows.
  SmallVector<Value> inputs;
  bool rounds = false; ///< rounds the weight or bias on the way (truncf)

  Value root() const { return inputs.back(); }
};

/// Whether `v` is zero: a zero splat or a fill with zero.
bool isZero(Value v) {
  if (matchPattern(v, m_AnyZeroFloat()))
    return true;
  if (auto fill = v.getDefiningOp<linalg::FillOp>())
    return matchPattern(fill.getInputs()[0], m_AnyZeroFloat());
  return false;
}

/// The vector `init` broadcasts along rows, if it is such a broadcast.
Value rowBroadcastSource(Value init, bool &rounds) {
  std::optional<CopyLike> copy = matchCopyLike(init.getDefiningOp());
  if (!copy || cast<RankedTensorType>(copy->source.getType()).getRank() != 1 ||
      !isRowBroadcast(copy->sourceMap))
    return {};
  rounds |= copy->rounds;
  return copy->source;
}

/// Matches the projection computed by `c`; on failure says why in `why`
/// (naming the projection `role`).
FailureOr<Projection> matchProjection(const Contraction &c, StringRef role,
                                      std::string &why) {
  Projection p;
  p.contraction = c;
  p.rounds = c.rounds;

  // The accumulator starts at zero or at a bias broadcast along rows.
  if (c.init && !isZero(c.init)) {
    p.initBias = rowBroadcastSource(c.init, p.rounds);
    if (!p.initBias) {
      why = ("the " + role +
             " projection's accumulator starts neither at zero nor at a bias "
             "broadcast along rows")
                .str();
      return failure();
    }
  }

  // The weight: a batch of weights must be one weight broadcast or a unit
  // batch; then look through transposes and exact copies.
  Value w = c.rhs;
  bool nk = c.rhsNK;
  if (c.rhsBatched) {
    auto type = cast<RankedTensorType>(w.getType());
    Value source;
    if (std::optional<CopyLike> copy = matchCopyLike(w.getDefiningOp());
        copy && cast<RankedTensorType>(copy->source.getType()).getRank() == 2) {
      AffineMap map = copy->sourceMap;
      unsigned n = map.getNumDims();
      AffineExpr a = getAffineDimExpr(n - 2, map.getContext());
      AffineExpr b = getAffineDimExpr(n - 1, map.getContext());
      if (map.getNumResults() == 2 &&
          ((map.getResult(0) == a && map.getResult(1) == b) ||
           (map.getResult(0) == b && map.getResult(1) == a))) {
        source = copy->source;
        nk ^= map.getResult(0) == b;
        p.rounds |= copy->rounds;
      }
    } else if (llvm::all_of(type.getShape().drop_back(2),
                            [](int64_t s) { return s == 1; })) {
      // A unit batch: the 2-D weight it reshapes, or the [1.., K, N] value
      // itself (a constant TOSA weight), collapsed when the op is built.
      Value reshaped = batchReshapeSource(w);
      source =
          reshaped && cast<RankedTensorType>(reshaped.getType()).getRank() == 2
              ? reshaped
              : w;
    }
    if (!source) {
      why = ("the " + role +
             " projection multiplies by a batch of weights, not one weight")
                .str();
      return failure();
    }
    w = source;
  }
  while (Operation *def = w.getDefiningOp()) {
    if (std::optional<CopyLike> copy = matchCopyLike(def);
        copy && cast<RankedTensorType>(copy->source.getType()).getRank() == 2 &&
        (copy->sourceMap.isIdentity() || isTranspose2D(copy->sourceMap))) {
      nk ^= isTranspose2D(copy->sourceMap);
      p.rounds |= copy->rounds;
      w = copy->source;
      continue;
    }
    if (auto transpose = dyn_cast<tosa::TransposeOp>(def);
        transpose && transpose.getPerms().size() == 2 &&
        transpose.getPerms()[0] == 1 && transpose.getPerms()[1] == 0) {
      nk = !nk;
      w = transpose.getInput1();
      continue;
    }
    if (auto castOp = dyn_cast<tosa::CastOp>(def)) {
      auto from = dyn_cast<FloatType>(elementTypeOf(castOp.getInput()));
      auto to = dyn_cast<FloatType>(elementTypeOf(castOp.getOutput()));
      if (from && to) {
        p.rounds |= to.getWidth() < from.getWidth();
        w = castOp.getInput();
        continue;
      }
    }
    break;
  }
  auto weightType = dyn_cast<RankedTensorType>(w.getType());
  if (!weightType || weightType.getRank() < 2 ||
      !llvm::all_of(weightType.getShape().drop_back(2),
                    [](int64_t s) { return s == 1; })) {
    why = ("the " + role + " projection's weight is not a matrix").str();
    return failure();
  }
  p.weight = w;
  p.layout = nk ? Layout::out_in : Layout::in_out;

  // The input: the lhs and what it is a batch reshape or exact copy of.
  Value x = c.lhs;
  p.inputs.push_back(x);
  while (true) {
    if (Value source = batchReshapeSource(x)) {
      x = source;
    } else if (std::optional<CopyLike> copy = matchCopyLike(x.getDefiningOp());
               copy && !copy->rounds && copy->sourceMap.isIdentity()) {
      x = copy->source;
    } else if (auto castOp = x.getDefiningOp<tosa::CastOp>();
               castOp && isExtension(castOp.getInput(), castOp.getOutput())) {
      x = castOp.getInput();
    } else {
      break;
    }
    p.inputs.push_back(x);
  }
  return p;
}

//===----------------------------------------------------------------------===//
// Blocks
//===----------------------------------------------------------------------===//

/// A block to raise: what the glu op is built from and what it replaces.
struct BlockMatch {
  bool gated = true;
  bool merged = false; ///< gate and up are halves of one projection
  Packing packing = Packing::concat;
  Activation activation = Activation::identity;
  std::optional<float> beta;
  Layout layout = Layout::out_in;
  Value input, gate, up, gateUp, down;
  /// With a merged projection, `gateBias`/`upBias` are added to its halves
  /// (and concatenated into the op's gate_up_bias).
  Value gateBias, upBias, gateUpBias, downBias;
  /// The value the op replaces; the op's own type has the input's batch dims
  /// (a tensor.cast follows where they differ in static-ness only).
  Value output;
  RankedTensorType resultType;
  Type accType; ///< null for the default f32
  /// The ops the glu op replaces: used only among themselves, but `output`.
  llvm::SetVector<Operation *> ops;
};

/// Matches the block whose down projection is a contraction. A failure with
/// an empty `miss` is silent (not an FFN); otherwise `miss` says why a
/// block-like computation is not raised.
class BlockMatcher {
public:
  explicit BlockMatcher(bool allowRoundingChanges)
      : allowRoundingChanges(allowRoundingChanges) {}

  FailureOr<BlockMatch> match(const Contraction &down);

  std::string miss;

private:
  LogicalResult fail(const Twine &reason) {
    miss = reason.str();
    return failure();
  }
  /// Folds batch reshapes, one bias add along rows and a final rounding
  /// after the down projection; the points where the op may end.
  struct TailPoint {
    Value value;
    Value bias;      ///< the down bias folded at this point, if any
    unsigned numOps; ///< the tail ops up to this point
  };
  void matchTail(const Projection &down, Type acc,
                 SmallVectorImpl<TailPoint> &points,
                 SmallVectorImpl<Operation *> &tailOps);

  bool allowRoundingChanges;
};

void BlockMatcher::matchTail(const Projection &down, Type acc,
                             SmallVectorImpl<TailPoint> &points,
                             SmallVectorImpl<Operation *> &tailOps) {
  Value start = down.contraction.result();
  Value current = start;
  Value bias = down.initBias; // at most one: from the accumulator or added
  points.push_back({current, bias, 0});
  while (current.hasOneUse()) {
    Operation *user = *current.getUsers().begin();
    if (user->getNumResults() == 1 &&
        batchReshapeSource(user->getResult(0)) == current) {
      tailOps.push_back(user);
      current = user->getResult(0);
      points.push_back({current, bias, unsigned(tailOps.size())});
      continue;
    }
    if (!isElementwise(user))
      return;
    // The whole tail so far and this op: p, p + b, or its final rounding.
    ScalarExpr expr;
    Composer composer(expr);
    FailureOr<unsigned> root = composer.compose(user->getResult(0));
    if (failed(root))
      return;
    Roles roles;
    for (auto [i, leaf] : llvm::enumerate(composer.getLeaves())) {
      if (leaf.kind == LeafKind::Projection && leaf.value == start &&
          roles.gate < 0)
        roles.gate = i;
      else if (leaf.kind == LeafKind::RowVector && roles.gateBias < 0 &&
               !down.initBias && (!bias || bias == leaf.value))
        roles.gateBias = i;
      else
        return;
    }
    if (roles.gate < 0 ||
        misfit(expr, *root, composer.getLeaves().size(), probesFor(expr, *root),
               roles, Activation::identity, 1.0, expr.tolerance(*root)) > 1)
      return;
    if (!allowRoundingChanges &&
        !expr.roundsOnlyAtEnd(*root, acc, /*finalRounding=*/true))
      return;
    if (roles.gateBias >= 0)
      bias = composer.getLeaves()[roles.gateBias].value;
    tailOps.push_back(user);
    current = user->getResult(0);
    points.push_back({current, bias, unsigned(tailOps.size())});
  }
}

/// Whether `v`'s element type is one the glu ops take.
bool isGLUElementType(Type type) {
  return type.isF32() || type.isF16() || type.isBF16();
}

/// `bias` (a row vector) as a value of element type `type`, looking through
/// exact copies (linalg copies, extending tosa.casts) and reshapes; null if
/// there is none.
Value biasOfType(Value bias, Type type) {
  while (elementTypeOf(bias) != type) {
    std::optional<CopyLike> copy = matchCopyLike(bias.getDefiningOp());
    if (Value source = batchReshapeSource(bias))
      bias = source;
    else if (copy && !copy->rounds && copy->sourceMap.isIdentity())
      bias = copy->source;
    else if (auto castOp = bias.getDefiningOp<tosa::CastOp>();
             castOp && isExtension(castOp.getInput(), castOp.getOutput()))
      bias = castOp.getInput();
    else
      return {};
  }
  return bias;
}

FailureOr<BlockMatch> BlockMatcher::match(const Contraction &down) {
  // The hidden: elementwise ops from the projections to the down projection.
  Operation *hiddenDef = stripBatchReshapes(down.lhs).getDefiningOp();
  if (!hiddenDef || !isElementwise(hiddenDef))
    return failure();
  ScalarExpr expr;
  Composer composer(expr);
  FailureOr<unsigned> root = composer.compose(down.lhs);
  ArrayRef<Leaf> leaves = composer.getLeaves();
  auto countKind = [&](LeafKind kind) {
    return llvm::count_if(leaves,
                          [&](const Leaf &l) { return l.kind == kind; });
  };
  // Not a near miss: no projection feeds it, or a reduction (a norm, a
  // softmax) does.
  if (countKind(LeafKind::Projection) == 0 ||
      countKind(LeafKind::Reduction) > 0)
    return failure();
  if (failed(root))
    return fail("'" + composer.getUnsupported() +
                "' between the projections is not an elementwise operation "
                "the pass can read");
  if (countKind(LeafKind::Other) > 0)
    return fail("the hidden depends on a value that is neither a projection "
                "nor a bias broadcast along rows");
  SmallVector<int> projections, rowVectors;
  for (auto [i, leaf] : llvm::enumerate(leaves))
    (leaf.kind == LeafKind::Projection ? projections : rowVectors).push_back(i);
  if (projections.size() > 2)
    return fail("the hidden depends on " + Twine(projections.size()) +
                " projections; a block has one (mlp) or two (ffn)");
  if (rowVectors.size() > projections.size())
    return fail("the hidden adds more biases than it has projections");

  // Classify: which projection is the gate, which bias belongs to which, and
  // the activation.
  BlockMatch m;
  m.gated = projections.size() == 2;
  std::optional<ActivationFit> best;
  Roles bestRoles;
  for (unsigned swap = 0; swap < projections.size(); ++swap) {
    Roles roles;
    roles.gate = projections[swap];
    if (m.gated)
      roles.up = projections[1 - swap];
    // Each bias goes to the activated or to the multiplied projection.
    unsigned numAssignments = 1u << rowVectors.size();
    for (unsigned assign = 0; assign < numAssignments; ++assign) {
      Roles r = roles;
      bool valid = true;
      for (auto [j, leaf] : llvm::enumerate(rowVectors)) {
        int &slot = (assign >> j & 1) ? r.upBias : r.gateBias;
        valid &= slot < 0 && ((assign >> j & 1) == 0 || m.gated);
        slot = leaf;
      }
      if (!valid)
        continue;
      std::optional<ActivationFit> fit =
          fitActivation(expr, *root, leaves.size(), r);
      if (fit && (!best || fit->misfit < best->misfit)) {
        best = fit;
        bestRoles = r;
      }
    }
  }
  if (!best)
    return fail(m.gated ? "the elementwise ops compute no gating act(g) * u "
                          "with a supported activation (sigmoid, identity, "
                          "relu, gelu_erf, gelu_tanh, silu, swish)"
                        : "the elementwise ops compute no supported "
                          "activation (relu, gelu_erf, gelu_tanh, silu, "
                          "swish, sigmoid)");
  if (!m.gated && best->activation == Activation::identity)
    return fail("there is no activation between the two projections");
  m.activation = best->activation;
  m.beta = best->beta;

  // The projections: separate, or the two halves of a merged one.
  std::string why;
  auto contractionOf =
      [&](int leaf) -> std::pair<Contraction, std::optional<MergedHalf>> {
    Value v = leaves[leaf].value;
    if (std::optional<MergedHalf> half = matchMergedHalf(v))
      return {half->contraction, half};
    return {*matchContraction(v.getDefiningOp()), std::nullopt};
  };
  FailureOr<Projection> gate = failure(), up = failure();
  SmallVector<Operation *> sliceOps;
  if (m.gated) {
    auto [gateC, gateHalf] = contractionOf(bestRoles.gate);
    auto [upC, upHalf] = contractionOf(bestRoles.up);
    if (gateHalf || upHalf) {
      if (!gateHalf || !upHalf || gateC.op != upC.op)
        return fail("one of the gate and up projections is a slice of a "
                    "merged projection and the other is not its other half");
      if (gateHalf->packing != upHalf->packing || gateHalf->index != 0)
        return fail("the merged projection's halves are in the wrong order "
                    "(gate must be the first half, or the even features)");
      m.merged = true;
      m.packing = gateHalf->packing;
      sliceOps.append(gateHalf->ops);
      sliceOps.append(upHalf->ops);
      gate = matchProjection(gateC, "gate/up", why);
      if (succeeded(gate))
        gate->rounds |= gateHalf->rounds || upHalf->rounds;
      up = gate;
    } else {
      gate = matchProjection(gateC, "gate", why);
      if (failed(gate))
        return fail(why);
      up = matchProjection(upC, "up", why);
    }
  } else {
    auto [upC, upHalf] = contractionOf(bestRoles.gate);
    if (upHalf)
      return fail("the projection is a slice of a larger one");
    up = matchProjection(upC, "up", why);
  }
  if (failed(up))
    return fail(why);
  FailureOr<Projection> downProjection = matchProjection(down, "down", why);
  if (failed(downProjection))
    return fail(why);

  // Biases: from the accumulator or added in the hidden, not both.
  auto biasOf = [&](Value initBias, int leaf, StringRef role,
                    Value &bias) -> LogicalResult {
    bias = initBias;
    if (leaf < 0)
      return success();
    if (bias)
      return fail("the " + role + " projection has two biases");
    bias = leaves[leaf].value;
    return success();
  };
  if (m.merged) {
    m.gateUpBias = gate->initBias;
    if (m.gateUpBias && (bestRoles.gateBias >= 0 || bestRoles.upBias >= 0))
      return fail("the merged gate/up projection has two biases");
    if (bestRoles.gateBias >= 0)
      m.gateBias = leaves[bestRoles.gateBias].value;
    if (bestRoles.upBias >= 0)
      m.upBias = leaves[bestRoles.upBias].value;
    if ((m.gateBias || m.upBias) && m.packing != Packing::concat)
      return fail("biases added to the halves of an interleaved merged "
                  "projection");
  } else if (m.gated) {
    if (failed(
            biasOf(gate->initBias, bestRoles.gateBias, "gate", m.gateBias)) ||
        failed(biasOf(up->initBias, bestRoles.upBias, "up", m.upBias)))
      return failure();
  } else if (failed(biasOf(up->initBias, bestRoles.gateBias, "up", m.upBias))) {
    return failure();
  }

  // One input, one layout.
  if (m.gated && gate->root() != up->root())
    return fail("the gate and up projections read different inputs");
  m.layout = downProjection->layout;
  if (up->layout != m.layout || (m.gated && gate->layout != m.layout)) {
    std::string layouts;
    if (m.gated && !m.merged)
      layouts += "gate " + stringifyLayout(gate->layout).str() + ", ";
    layouts += (m.merged ? "gate/up " : "up ") +
               stringifyLayout(up->layout).str() + ", down " +
               stringifyLayout(m.layout).str();
    return fail("mixed weight layouts (" + layouts +
                "); the glu ops take one layout for all weights");
  }

  // Precision: the glu op computes in acc_type and rounds once at the end.
  Type acc = down.accType();
  bool exact =
      expr.roundsOnlyAtEnd(*root, acc, /*finalRounding=*/false) &&
      !downProjection->rounds && !up->rounds &&
      up->contraction.accType() == acc &&
      (!m.gated || (!gate->rounds && gate->contraction.accType() == acc)) &&
      (acc.isF32() || acc.isF64());
  if (!exact && !allowRoundingChanges)
    return fail(
        Twine(acc.isF32() || acc.isF64()
                  ? "the frontend rounds intermediate values (truncf)"
                  : "the projections accumulate in " + typeString(acc)) +
        ", but the glu op computes in f32 and rounds only its result; "
        "raise anyway with allow-rounding-changes=true");
  if (acc.isF64())
    m.accType = acc;

  // The tail, and where the op starts and ends: the latest end whose
  // element type and batch dims some form of the input shares.
  SmallVector<TailPoint> points;
  SmallVector<Operation *> tailOps;
  matchTail(*downProjection, acc, points, tailOps);
  const Projection &first = m.gated ? *gate : *up;
  const TailPoint *end = nullptr;
  for (const TailPoint &point : llvm::reverse(points)) {
    for (Value input : llvm::reverse(first.inputs)) {
      if (elementTypeOf(input) == elementTypeOf(point.value) &&
          isGLUElementType(elementTypeOf(input)) &&
          sameBatchDims(input, point.value)) {
        m.input = input;
        break;
      }
    }
    if (m.input) {
      end = &point;
      break;
    }
  }
  if (!end) {
    Type resultType = elementTypeOf(points.back().value);
    if (!isGLUElementType(resultType))
      return fail("the block's result is " + typeString(resultType) +
                  "; the glu ops take f32, f16 or bf16");
    return fail("no form of the input has the element type and batch dims of "
                "the block's result");
  }
  m.output = end->value;
  auto inputType = cast<RankedTensorType>(m.input.getType());
  auto outputType = cast<RankedTensorType>(m.output.getType());
  SmallVector<int64_t> shape(inputType.getShape().drop_back());
  shape.push_back(outputType.getShape().back());
  m.resultType = RankedTensorType::get(shape, outputType.getElementType());
  m.downBias = end->bias;

  // Element types: one for the weights, the input's for the biases.
  Type elementType = inputType.getElementType();
  m.down = downProjection->weight;
  if (m.merged) {
    m.gateUp = gate->weight;
  } else {
    m.up = up->weight;
    m.gate = m.gated ? gate->weight : Value();
  }
  Type weightType = elementTypeOf(m.down);
  if (llvm::any_of(
          ValueRange{m.gate, m.up, m.gateUp},
          [&](Value w) { return w && elementTypeOf(w) != weightType; }) ||
      !isGLUElementType(weightType))
    return fail("the weights' element types differ or are not f32, f16 or "
                "bf16");
  for (auto [bias, role] :
       {std::make_pair(&m.gateBias, "gate"), std::make_pair(&m.upBias, "up"),
        std::make_pair(&m.gateUpBias, "gate/up"),
        std::make_pair(&m.downBias, "down")}) {
    if (!*bias)
      continue;
    Value typed = biasOfType(*bias, elementType);
    if (!typed)
      return fail(Twine("the ") + role + " bias has element type " +
                  typeString(elementTypeOf(*bias)) +
                  ", the block's input and result " + typeString(elementType));
    *bias = typed;
  }

  // What the op replaces must not be used elsewhere.
  m.ops.insert(composer.getOps().begin(), composer.getOps().end());
  m.ops.insert(sliceOps.begin(), sliceOps.end());
  if (m.gated)
    m.ops.insert(gate->contraction.op);
  m.ops.insert(up->contraction.op);
  m.ops.insert(down.op);
  m.ops.insert(tailOps.begin(), tailOps.begin() + end->numOps);
  for (Operation *op : m.ops) {
    for (Value result : op->getResults()) {
      if (result == m.output)
        continue;
      for (Operation *user : result.getUsers()) {
        if (m.ops.contains(user))
          continue;
        if (m.merged && op == gate->contraction.op)
          return fail("the gate/up projection's result has another user");
        if (m.gated && op == gate->contraction.op)
          return fail("the gate projection's result has another user");
        if (op == up->contraction.op)
          return fail("the up projection's result has another user");
        return fail("the hidden (or a value computing it) has another user");
      }
    }
  }
  return m;
}

/// `bias` as a 1-D vector: row vectors of TOSA are [1.., N].
Value asVector(OpBuilder &b, Location loc, Value bias) {
  auto type = cast<RankedTensorType>(bias.getType());
  if (type.getRank() == 1)
    return bias;
  Value source = stripBatchReshapes(bias);
  if (cast<RankedTensorType>(source.getType()).getRank() == 1)
    return source;
  ReassociationIndices all(type.getRank());
  std::iota(all.begin(), all.end(), 0);
  return tensor::CollapseShapeOp::create(b, loc, bias,
                                         ArrayRef<ReassociationIndices>{all});
}

/// `weight` as a matrix: a unit batch of weights [1.., K, N] is collapsed.
Value asMatrix(OpBuilder &b, Location loc, Value weight) {
  auto type = cast<RankedTensorType>(weight.getType());
  if (type.getRank() == 2)
    return weight;
  ReassociationIndices batch(type.getRank() - 1);
  std::iota(batch.begin(), batch.end(), 0);
  ReassociationIndices last{type.getRank() - 1};
  return tensor::CollapseShapeOp::create(
      b, loc, weight, ArrayRef<ReassociationIndices>{batch, last});
}

/// Builds the glu op for `m` before `m.output`'s op; null if it does not
/// verify (which would be a bug of the matcher: reported by the caller).
Value buildRaised(BlockMatch &m, Location loc) {
  OpBuilder b(m.output.getDefiningOp());
  MLIRContext *ctx = b.getContext();
  auto vector = [&](Value v) { return v ? asVector(b, loc, v) : Value(); };
  for (Value *weight : {&m.gate, &m.up, &m.gateUp, &m.down})
    if (*weight)
      *weight = asMatrix(b, loc, *weight);
  Value gateBias = vector(m.gateBias), upBias = vector(m.upBias),
        gateUpBias = vector(m.gateUpBias), downBias = vector(m.downBias);
  if (m.merged && (gateBias || upBias)) {
    // Biases of the halves of a concat-packed projection: [bg || bu], zeros
    // for a missing one.
    auto zerosLike = [&](Value like) {
      auto type = cast<RankedTensorType>(like.getType());
      Value empty = tensor::EmptyOp::create(
          b, loc, tensor::getMixedSizes(b, loc, like), type.getElementType());
      Value zero =
          arith::ConstantOp::create(b, loc, type.getElementType(),
                                    b.getFloatAttr(type.getElementType(), 0));
      return linalg::FillOp::create(b, loc, zero, empty).getResult(0);
    };
    if (!gateBias)
      gateBias = zerosLike(upBias);
    if (!upBias)
      upBias = zerosLike(gateBias);
    gateUpBias =
        tensor::ConcatOp::create(b, loc, 0, ValueRange{gateBias, upBias});
    gateBias = upBias = Value();
  }
  FloatAttr beta = m.beta ? b.getF32FloatAttr(*m.beta) : FloatAttr();
  TypeAttr acc = m.accType ? TypeAttr::get(m.accType) : TypeAttr();
  auto layout = LayoutAttr::get(ctx, m.layout);
  auto activation = ActivationAttr::get(ctx, m.activation);
  Operation *op;
  if (m.gated)
    op = FFNOp::create(b, loc, m.resultType, m.input, m.gate, m.up, m.gateUp,
                       m.down, gateBias, upBias, gateUpBias, downBias,
                       m.merged ? PackingAttr::get(ctx, m.packing)
                                : PackingAttr(),
                       layout, activation, beta, FloatAttr(), FloatAttr(), acc);
  else
    op = MLPOp::create(b, loc, m.resultType, m.input, m.up, m.down, upBias,
                       downBias, layout, activation, beta, FloatAttr(),
                       FloatAttr(), acc);
  {
    // Checked quietly: a failure is reported as a remark by the caller.
    ScopedDiagnosticHandler quiet(ctx, [](Diagnostic &) { return success(); });
    if (failed(verify(op))) {
      op->erase();
      return {};
    }
  }
  Value result = op->getResult(0);
  if (result.getType() != m.output.getType())
    result = tensor::CastOp::create(b, loc, m.output.getType(), result);
  return result;
}

/// Erases `ops` (unused once their block is replaced), then whatever only
/// they used (weight transposes, fills, reshapes of the input, ...).
void eraseReplaced(ArrayRef<Operation *> ops) {
  llvm::SetVector<Operation *> pending(ops.begin(), ops.end());
  DenseSet<Operation *> erased;
  SmallVector<Operation *> feeders;
  auto erase = [&](Operation *op) {
    // Operands, and values its bodies capture (constants of a generic).
    op->walk([&](Operation *nested) {
      for (Value operand : nested->getOperands())
        if (Operation *def = operand.getDefiningOp();
            def && !op->isAncestor(def))
          feeders.push_back(def);
    });
    erased.insert(op);
    op->erase();
  };
  for (bool progress = true; progress;) {
    progress = false;
    for (Operation *op : pending.takeVector()) {
      if (op->use_empty()) {
        erase(op);
        progress = true;
      } else {
        pending.insert(op);
      }
    }
  }
  while (!feeders.empty()) {
    Operation *op = feeders.pop_back_val();
    if (!erased.contains(op) && !pending.contains(op) && isOpTriviallyDead(op))
      erase(op);
  }
}

struct GLURaisePass : glu::impl::GLURaiseBase<GLURaisePass> {
  using GLURaiseBase::GLURaiseBase;

  void runOnOperation() override {
    SmallVector<Operation *> candidates;
    getOperation()->walk([&](Operation *op) {
      if (matchContraction(op))
        candidates.push_back(op);
    });
    llvm::SetVector<Operation *> replaced;
    for (Operation *op : candidates) {
      if (replaced.contains(op))
        continue;
      Contraction down = *matchContraction(op);
      BlockMatcher matcher(allowRoundingChanges);
      FailureOr<BlockMatch> m = matcher.match(down);
      if (failed(m)) {
        if (remarks && !matcher.miss.empty())
          op->emitRemark("glu-raise: not raised: ") << matcher.miss;
        continue;
      }
      if (llvm::any_of(m->ops,
                       [&](Operation *o) { return replaced.contains(o); }))
        continue;
      Value result = buildRaised(*m, op->getLoc());
      if (!result) {
        if (remarks)
          op->emitRemark("glu-raise: not raised: the glu op built for this "
                         "block does not verify");
        continue;
      }
      if (remarks)
        op->emitRemark("glu-raise: raised to ")
            << (m->gated ? "glu.ffn " : "glu.mlp ")
            << stringifyActivation(m->activation);
      m->output.replaceAllUsesWith(result);
      replaced.insert(m->ops.begin(), m->ops.end());
    }
    eraseReplaced(replaced.getArrayRef());
  }
};

} // namespace
