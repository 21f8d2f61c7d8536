//===- RaiseBlock.cpp - glu-raise: blocks ---------------------------------===//
//
// A whole block matched from its down projection backwards: the hidden
// classified, the projections, biases, layouts and precision checked, the
// tail after the down projection folded; or the first thing that did not
// match, for the remark.
//
//===----------------------------------------------------------------------===//

#include "RaiseMatchers.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"

using namespace mlir;
using namespace mlir::glu;

namespace mlir::glu::raise {

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
               roles, Gating{Activation::identity, 1.0, 1.702, 7.0},
               expr.tolerance(*root)) > 1)
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

/// The op producing `v` if `v` is taken from a contraction's result by
/// slices, gathers, reshapes and elementwise ops (a few ops deep, no
/// transposes or reductions): what a merged projection's half looks like.
static Operation *sliceOfProjection(Value v) {
  Operation *first = v.getDefiningOp();
  if (!isa_and_present<tensor::ExtractSliceOp, tosa::SliceOp, tosa::GatherOp,
                       tosa::ReshapeOp>(first))
    return nullptr;
  SmallVector<Operation *> stack{first};
  DenseSet<Operation *> seen;
  while (!stack.empty() && seen.size() < 16) {
    Operation *op = stack.pop_back_val();
    if (!seen.insert(op).second)
      continue;
    if (matchContraction(op))
      return first;
    if (!isa<tensor::ExtractSliceOp, tosa::SliceOp, tosa::GatherOp,
             tosa::ReshapeOp, tosa::TileOp, tensor::CollapseShapeOp,
             tensor::ExpandShapeOp>(op) &&
        !isElementwise(op))
      continue;
    for (Value operand : op->getOperands())
      if (Operation *def = operand.getDefiningOp())
        stack.push_back(def);
  }
  return nullptr;
}

/// Whether `v`'s element type is one the glu ops take.
static bool isGLUElementType(Type type) {
  return type.isF32() || type.isF16() || type.isBF16();
}

/// `bias` (a row vector) as a value of element type `type`, looking through
/// exact copies (linalg copies, extending tosa.casts) and reshapes; null if
/// there is none.
static Value biasOfType(Value bias, Type type) {
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
  // A near miss: a value sliced or gathered from a projection is read (a
  // spelling of a merged projection's half that the pass does not know).
  if (countKind(LeafKind::Reduction) == 0) {
    for (const Leaf &leaf : leaves)
      if (Operation *op = leaf.kind == LeafKind::Other
                              ? sliceOfProjection(leaf.value)
                              : nullptr)
        return fail("the hidden reads '" + op->getName().getStringRef() +
                    "' of a projection, which is not a half of a merged "
                    "gate/up projection the pass recognizes (the first and "
                    "second half, or the even and odd features, of every "
                    "row)");
  }
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
                          "relu, gelu_erf, gelu_tanh, silu, swish, "
                          "clamped_swiglu)"
                        : "the elementwise ops compute no supported "
                          "activation (relu, gelu_erf, gelu_tanh, silu, "
                          "swish, sigmoid)");
  if (!m.gated && best->activation == Activation::identity)
    return fail("there is no activation between the two projections");
  m.activation = best->activation;
  m.beta = best->beta;
  m.alpha = best->alpha;
  m.limit = best->limit;
  m.inexactConstant = best->inexactConstant;
  m.inexactDifference = best->inexactDifference;

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
  Value halfBias; // added to a merged projection before it is sliced
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
      if (gateHalf->bias != upHalf->bias)
        return fail("the gate and up halves of the merged projection are "
                    "sliced from sums with different biases");
      halfBias = gateHalf->bias;
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
    if (halfBias) {
      if (m.gateUpBias)
        return fail("the merged gate/up projection has two biases");
      m.gateUpBias = halfBias;
    }
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

} // namespace mlir::glu::raise
