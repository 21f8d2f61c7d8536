//===- RaiseContraction.cpp - glu-raise: projections ----------------------===//
//
// The projections of a block: contractions recognized by indexing maps and
// body, merged gate/up halves, the weight behind transposes and copies, and
// the bias the accumulator starts from.
//
//===----------------------------------------------------------------------===//

#include "RaiseMatchers.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace mlir::glu;

namespace mlir::glu::raise {

/// `v` through extf/truncf inside a body; `rounds` is set on a truncf.
static Value throughConversions(Value v, bool &rounds) {
  while (Operation *def = v.getDefiningOp()) {
    if (!isa<arith::ExtFOp, arith::TruncFOp>(def))
      break;
    rounds |= isa<arith::TruncFOp>(def);
    v = def->getOperand(0);
  }
  return v;
}

static std::optional<Contraction> matchLinalgContraction(linalg::LinalgOp op) {
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
static std::optional<Contraction> matchTosaMatmul(tosa::MatMulOp op) {
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

/// The constant values of a tosa.const_shape.
static std::optional<SmallVector<int64_t>> constShapeValues(Value v) {
  auto op = v.getDefiningOp<tosa::ConstShapeOp>();
  if (!op)
    return std::nullopt;
  SmallVector<int64_t> values;
  for (const APInt &value : op.getValues().getValues<APInt>())
    values.push_back(value.getSExtValue());
  return values;
}

namespace {

/// Where a half of a merged projection comes from: the sliced [.., 2F] value
/// and the last dim's offset, size and stride; the ops that take it.
struct Slice {
  Value sliced;
  std::optional<int64_t> offset, size, stride;
  SmallVector<Operation *> ops;
  /// The half's batch dims may group the rows differently (a gather).
  bool anyBatchShape = false;
};

/// The integer values of a constant tensor.
std::optional<SmallVector<int64_t>> constIntValues(Value v) {
  DenseIntElementsAttr attr;
  if (!matchPattern(v, m_Constant(&attr)))
    return std::nullopt;
  SmallVector<int64_t> values;
  for (const APInt &value : attr.getValues<APInt>())
    values.push_back(value.getSExtValue());
  return values;
}

/// The product of the static dims of `type` but the last `drop`; nullopt
/// with a dynamic one.
std::optional<int64_t> leadingProduct(RankedTensorType type, int64_t drop) {
  int64_t n = 1;
  for (int64_t d = 0, e = type.getRank() - drop; d < e; ++d) {
    if (type.isDynamicDim(d))
      return std::nullopt;
    n *= type.getDimSize(d);
  }
  return n;
}

/// torch-mlir's TOSA spelling of a strided slice of the last dim,
/// `p[..., o::2]` (and of any gather of features): p reshaped to [N, 2F, 1],
/// tosa.gather with indices [N, F] (one row of constants tiled N times),
/// reshaped back to [.., F]. Offset and stride are read from the indices,
/// which must be o, o + s, o + 2s, ...
std::optional<Slice> matchTosaGatherSlice(Operation *op) {
  auto outReshape = dyn_cast_if_present<tosa::ReshapeOp>(op);
  if (!outReshape)
    return std::nullopt;
  auto gather = outReshape.getInput1().getDefiningOp<tosa::GatherOp>();
  if (!gather)
    return std::nullopt;
  auto inReshape = gather.getValues().getDefiningOp<tosa::ReshapeOp>();
  auto gathered = dyn_cast<RankedTensorType>(gather.getType());
  auto result = dyn_cast<RankedTensorType>(outReshape.getType());
  if (!inReshape || !gathered || !result || gathered.getRank() != 3 ||
      gathered.getDimSize(2) != 1)
    return std::nullopt;
  Value sliced = inReshape.getInput1();
  auto src = dyn_cast<RankedTensorType>(sliced.getType());
  auto values = dyn_cast<RankedTensorType>(inReshape.getType());
  if (!src || !values || src.getRank() < 1 || result.getRank() < 1 ||
      values.getRank() != 3 || values.getDimSize(2) != 1 ||
      values.getDimSize(1) != src.getDimSize(src.getRank() - 1) ||
      result.getDimSize(result.getRank() - 1) != gathered.getDimSize(1))
    return std::nullopt;
  // Every row, in order: [B.., 2F] -> [N, 2F, 1] -> [N, F, 1] -> [B'.., F]
  // (B and B' may group the N rows differently, as batch reshapes do).
  std::optional<int64_t> rows = leadingProduct(src, 1);
  if (!rows || *rows != values.getDimSize(0) ||
      leadingProduct(result, 1) != rows || gathered.getDimSize(0) != *rows)
    return std::nullopt;
  // The indices: one row of constants, tiled over the rows (or given whole).
  Slice slice;
  Value indices = gather.getIndices();
  std::optional<SmallVector<int64_t>> idx;
  if (auto tile = indices.getDefiningOp<tosa::TileOp>()) {
    auto rowType = dyn_cast<RankedTensorType>(tile.getInput1().getType());
    if (!rowType || rowType.getRank() != 2 || rowType.getDimSize(0) != 1)
      return std::nullopt;
    idx = constIntValues(tile.getInput1());
    slice.ops.push_back(tile);
  } else {
    idx = constIntValues(indices);
    if (idx && idx->size() != size_t(gathered.getDimSize(1))) {
      // Rows given whole: each must be the first.
      int64_t f = gathered.getDimSize(1);
      for (size_t i = f; i < idx->size(); ++i)
        if ((*idx)[i] != (*idx)[i % f])
          return std::nullopt;
      idx->resize(f);
    }
  }
  if (!idx || idx->empty())
    return std::nullopt;
  int64_t stride = idx->size() > 1 ? (*idx)[1] - (*idx)[0] : 1;
  for (size_t i = 0; i < idx->size(); ++i)
    if ((*idx)[i] != (*idx)[0] + int64_t(i) * stride)
      return std::nullopt;
  slice.sliced = sliced;
  slice.offset = (*idx)[0];
  slice.size = int64_t(idx->size());
  slice.stride = stride;
  slice.ops.append({outReshape, gather, inReshape});
  slice.anyBatchShape = true;
  return slice;
}

/// A tensor.extract_slice or tosa.slice of the last dim that takes every
/// row (offset 0, stride 1, the whole extent of the other dims).
std::optional<Slice> matchSliceOp(Operation *sliceOp) {
  Slice s;
  if (auto slice = dyn_cast_if_present<tensor::ExtractSliceOp>(sliceOp)) {
    s.sliced = slice.getSource();
    auto srcType = cast<RankedTensorType>(s.sliced.getType());
    int64_t rank = srcType.getRank();
    SmallVector<OpFoldResult> offsets = slice.getMixedOffsets();
    SmallVector<OpFoldResult> sizes = slice.getMixedSizes();
    SmallVector<OpFoldResult> strides = slice.getMixedStrides();
    if (rank < 1 || int64_t(offsets.size()) != rank)
      return std::nullopt;
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
    s.offset = getConstantIntValue(offsets.back());
    s.size = getConstantIntValue(sizes.back());
    s.stride = getConstantIntValue(strides.back());
  } else if (auto tosaSlice = dyn_cast_if_present<tosa::SliceOp>(sliceOp)) {
    // tosa.slice (stride 1): constant starts and sizes; every row is offset
    // 0 and the whole static extent.
    s.sliced = tosaSlice.getInput1();
    auto srcType = dyn_cast<RankedTensorType>(s.sliced.getType());
    std::optional<SmallVector<int64_t>> starts =
        constShapeValues(tosaSlice.getStart());
    std::optional<SmallVector<int64_t>> sizes =
        constShapeValues(tosaSlice.getSize());
    if (!srcType || !starts || !sizes ||
        int64_t(starts->size()) != srcType.getRank() ||
        int64_t(sizes->size()) != srcType.getRank())
      return std::nullopt;
    for (int64_t d = 0; d + 1 < srcType.getRank(); ++d)
      if ((*starts)[d] != 0 || srcType.isDynamicDim(d) ||
          (*sizes)[d] != srcType.getDimSize(d))
        return std::nullopt;
    s.offset = starts->back();
    s.size = sizes->back();
    s.stride = 1;
  } else {
    return std::nullopt;
  }
  s.ops.push_back(sliceOp);
  return s;
}

} // namespace

std::optional<MergedHalf> matchMergedHalf(Value v) {
  Operation *sliceOp = v.getDefiningOp();
  std::optional<Slice> slice = matchSliceOp(sliceOp);
  if (!slice)
    slice = matchTosaGatherSlice(sliceOp);
  if (!slice)
    return std::nullopt;
  Value sliced = slice->sliced;
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
  // A bias may be added to the whole product before it is sliced (GPT-OSS:
  // `gate_up = x @ W + b; gate, up = gate_up[..., ::2], gate_up[..., 1::2]`).
  Value bias;
  if (Operation *def = source.getDefiningOp();
      def && !matchContraction(def) && isElementwise(def)) {
    ScalarExpr expr;
    Composer composer(expr);
    FailureOr<unsigned> root = composer.compose(source);
    ArrayRef<Leaf> leaves = composer.getLeaves();
    Roles roles;
    Value product;
    if (succeeded(root) && leaves.size() == 2) {
      for (auto [i, leaf] : llvm::enumerate(leaves)) {
        if (leaf.kind == LeafKind::Projection && !product &&
            matchContraction(leaf.value.getDefiningOp())) {
          roles.gate = i;
          product = leaf.value;
        } else if (leaf.kind == LeafKind::RowVector) {
          roles.gateBias = i;
        }
      }
    }
    if (roles.gate < 0 || roles.gateBias < 0 ||
        misfit(expr, *root, leaves.size(), probesFor(expr, *root), roles,
               Gating{Activation::identity, 1.0, 1.702, 7.0},
               expr.tolerance(*root)) > 1)
      return std::nullopt;
    rounds |= !expr.roundsOnlyAtEnd(*root, elementTypeOf(product),
                                    /*finalRounding=*/false);
    bias = leaves[roles.gateBias].value;
    reshapes.insert(composer.getOps().begin(), composer.getOps().end());
    source = product;
  }
  std::optional<Contraction> c = matchContraction(source.getDefiningOp());
  auto srcType = dyn_cast<RankedTensorType>(sliced.getType());
  auto resultType = dyn_cast<RankedTensorType>(v.getType());
  if (!c || !srcType || !resultType)
    return std::nullopt;
  int64_t rank = srcType.getRank();
  if ((resultType.getRank() != rank && !slice->anyBatchShape) || rank < 1 ||
      srcType.isDynamicDim(rank - 1) || srcType.getDimSize(rank - 1) % 2 != 0)
    return std::nullopt;
  std::optional<int64_t> offset = slice->offset, size = slice->size,
                         stride = slice->stride;
  int64_t features = srcType.getDimSize(rank - 1) / 2;
  if (!offset || !size || !stride || *size != features)
    return std::nullopt;
  MergedHalf half;
  half.contraction = *c;
  half.rounds = rounds;
  half.bias = bias;
  if (*stride == 1 && (*offset == 0 || *offset == features)) {
    half.index = *offset == 0 ? 0 : 1;
  } else if (*stride == 2 && (*offset == 0 || *offset == 1)) {
    half.index = *offset;
    half.packing = Packing::interleaved;
  } else {
    return std::nullopt;
  }
  half.ops.append(slice->ops);
  half.ops.append(reshapes.begin(), reshapes.end());
  return half;
}

/// Whether `v` is zero: a zero splat or a fill with zero.
static bool isZero(Value v) {
  if (matchPattern(v, m_AnyZeroFloat()))
    return true;
  if (auto fill = v.getDefiningOp<linalg::FillOp>())
    return matchPattern(fill.getInputs()[0], m_AnyZeroFloat());
  return false;
}

/// The vector `init` broadcasts along rows, if it is such a broadcast.
static Value rowBroadcastSource(Value init, bool &rounds) {
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

} // namespace mlir::glu::raise
