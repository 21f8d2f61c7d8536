//===- GLUDialect.cpp - The glu dialect, its attributes and op verifiers --===//

#include "glu/Dialect/GLU/IR/GLU.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;
using namespace mlir::glu;

#include "glu/Dialect/GLU/IR/GLUOpsDialect.cpp.inc"

#include "glu/Dialect/GLU/IR/GLUEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "glu/Dialect/GLU/IR/GLUAttrs.cpp.inc"

void GLUDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "glu/Dialect/GLU/IR/GLUAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "glu/Dialect/GLU/IR/GLUOps.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// Custom assembly: enum attributes as bare keywords (`glu.ffn silu ...`)
//===----------------------------------------------------------------------===//

/// Parses an enum attribute written as its bare keyword, e.g. `silu`.
template <typename EnumAttrT>
static ParseResult parseEnumKeyword(OpAsmParser &parser, EnumAttrT &attr) {
  using EnumT = decltype(std::declval<EnumAttrT>().getValue());
  SMLoc loc = parser.getCurrentLocation();
  StringRef keyword;
  if (parser.parseKeyword(&keyword))
    return failure();
  std::optional<EnumT> value = symbolizeEnum<EnumT>(keyword);
  if (!value)
    return parser.emitError(loc, "unknown ")
           << EnumAttrT::getMnemonic() << " '" << keyword << "'";
  attr = EnumAttrT::get(parser.getContext(), *value);
  return success();
}

template <typename EnumAttrT>
static void printEnumKeyword(OpAsmPrinter &printer, Operation *,
                             EnumAttrT attr) {
  printer << stringifyEnum(attr.getValue());
}

//===----------------------------------------------------------------------===//
// Verification helpers
//===----------------------------------------------------------------------===//

namespace {

/// Checks the activation parameters and the accumulation type, which every op
/// carries. `allowPairGating` is false where there is no up value to gate.
LogicalResult verifyActivation(Operation *op, Activation activation,
                               std::optional<APFloat> beta,
                               std::optional<APFloat> alpha,
                               std::optional<APFloat> limit,
                               bool allowPairGating) {
  StringRef name = stringifyActivation(activation);
  if (!allowPairGating && isPairGating(activation))
    return op->emitOpError("activation '")
           << name << "' gates an up projection and is not valid here";
  if (beta && activation != Activation::swish)
    return op->emitOpError("'beta' only applies to the 'swish' activation, not '")
           << name << "'";
  if ((alpha || limit) && activation != Activation::clamped_swiglu)
    return op->emitOpError("'")
           << (alpha ? "alpha" : "limit")
           << "' only applies to the 'clamped_swiglu' activation, not '" << name
           << "'";
  if (beta && !beta->isFinite())
    return op->emitOpError("'beta' must be finite, got ")
           << beta->convertToFloat();
  if (alpha && !alpha->isFinite())
    return op->emitOpError("'alpha' must be finite, got ")
           << alpha->convertToFloat();
  if (limit && !(limit->isFinite() && !limit->isNegative() && !limit->isZero()))
    return op->emitOpError("'limit' must be positive and finite, got ")
           << limit->convertToFloat();
  return success();
}

/// The accumulation type must be f32 or f64, or exactly the element type of
/// every operand (e.g. an all-f16 computation accumulated in f16).
LogicalResult verifyAccumulatorType(Operation *op, FloatType accType,
                                    ArrayRef<Type> elementTypes) {
  if (accType.isF32() || accType.isF64())
    return success();
  for (Type type : elementTypes)
    if (type != accType)
      return op->emitOpError("acc_type ")
             << accType << " must be f32 or f64, or equal to every element "
             << "type; it differs from " << type;
  return success();
}

/// Checks shapes and element types of the projection ops (glu.ffn, glu.mlp,
/// glu.gate_up). A named extent (d_model, d_ff, d_out) is taken from the first
/// operand that gives it statically; every later static value must agree, and
/// a mismatch names both places.
class ProjectionVerifier {
public:
  ProjectionVerifier(Operation *op, Layout layout) : op(op), layout(layout) {}

  /// A named extent and the operand dimension it was first read from.
  struct Extent {
    explicit Extent(StringRef name) : name(name) {}
    StringRef name;
    int64_t value = ShapedType::kDynamic;
    std::string origin;
  };

  /// Weights and biases of stacked experts (glu.moe): every weight is
  /// `[E, out, in]` (or `[E, in, out]`), every bias `[E, n]`, E = `experts`.
  void stackedExperts(Extent *experts) { this->experts = experts; }

  /// Checks the input: at least 1-D, its last dim is d_model.
  LogicalResult input(Value input, Extent &dModel) {
    auto type = cast<RankedTensorType>(input.getType());
    inputType = type;
    if (type.getRank() < 1)
      return op->emitOpError("input must have at least one dimension "
                             "(d_model), got a 0-d tensor");
    return unify(dModel, type.getShape().back(),
                 "input dim " + std::to_string(type.getRank() - 1));
  }

  /// Checks a weight matrix: 2-D, the element type shared by all weights, and
  /// its (out, in) extents against `out` and `in` under the op's layout.
  /// `outMultiplier` is 2 for a merged gate/up weight: its out extent is 2·F.
  LogicalResult weight(Value weight, StringRef name, Extent &out, Extent &in,
                       int64_t outMultiplier = 1) {
    auto type = cast<RankedTensorType>(weight.getType());
    unsigned first = experts ? 1 : 0; // the expert dim comes first
    if (type.getRank() != 2 + first)
      return op->emitOpError("'")
             << name << "' weight must be "
             << (experts ? "3-D [experts, " : "2-D")
             << (experts ? (layout == Layout::out_in ? "out, in]" : "in, out]")
                         : "")
             << ", got rank " << type.getRank();
    if (failed(elementType(type.getElementType(), weightElementType,
                           weightElementOrigin, "'" + name.str() + "' weight")))
      return failure();
    if (experts &&
        failed(unify(*experts, type.getDimSize(0),
                     "'" + name.str() + "' weight dim 0")))
      return failure();
    unsigned outIdx = (layout == Layout::out_in ? 0 : 1) + first;
    unsigned inIdx = (layout == Layout::out_in ? 1 : 0) + first;
    std::string where = "'" + name.str() + "' weight dim ";
    int64_t outDim = type.getDimSize(outIdx);
    if (outMultiplier != 1 && !ShapedType::isDynamic(outDim)) {
      if (outDim % outMultiplier != 0)
        return op->emitOpError("'")
               << name << "' weight has " << outDim
               << " output features (dim " << outIdx
               << "); a merged gate/up weight needs an even number (2·d_ff)";
      outDim /= outMultiplier;
    }
    std::string outWhere = where + std::to_string(outIdx);
    if (outMultiplier != 1)
      outWhere = "half of " + outWhere;
    StringRef hint = layout == Layout::out_in
                         ? " (layout out_in: weights are [out, in])"
                         : " (layout in_out: weights are [in, out])";
    if (failed(unify(out, outDim, outWhere, hint)))
      return failure();
    return unify(in, type.getDimSize(inIdx), where + std::to_string(inIdx),
                 hint);
  }

  /// Checks an optional bias: 1-D, the input's element type, size `extent`
  /// (times `multiplier` for a merged gate/up bias).
  LogicalResult bias(Value bias, StringRef name, Extent &extent,
                     int64_t multiplier = 1) {
    if (!bias)
      return success();
    auto type = cast<RankedTensorType>(bias.getType());
    unsigned first = experts ? 1 : 0;
    if (type.getRank() != 1 + first)
      return op->emitOpError("'")
             << name << "' must be " << (experts ? "2-D [experts, n]" : "1-D")
             << ", got rank " << type.getRank();
    if (failed(sameAsInput(type.getElementType(), "'" + name.str() + "'")))
      return failure();
    if (experts && failed(unify(*experts, type.getDimSize(0),
                                "'" + name.str() + "' dim 0")))
      return failure();
    int64_t size = type.getDimSize(first);
    if (multiplier != 1 && !ShapedType::isDynamic(size)) {
      if (size % multiplier != 0)
        return op->emitOpError("'")
               << name << "' has " << size
               << " elements; a merged gate/up bias needs an even number "
                  "(2·d_ff)";
      size /= multiplier;
    }
    return unify(extent, size,
                 (multiplier != 1 ? "half of '" : "'") + name.str() + "' dim " +
                     std::to_string(first));
  }

  /// Checks the result: the input's rank, batch dims and element type, and
  /// `features` as its last dim.
  /// `what` names the value in messages ("result", or "'grad'" for the
  /// gradient of the result that the backward ops take).
  LogicalResult result(Value result, Extent &features,
                       StringRef what = "result") {
    auto type = cast<RankedTensorType>(result.getType());
    if (type.getRank() != inputType.getRank())
      return op->emitOpError()
             << what << " rank " << type.getRank()
             << " differs from the input rank " << inputType.getRank();
    for (int64_t i = 0, e = type.getRank() - 1; i < e; ++i) {
      int64_t r = type.getDimSize(i), x = inputType.getDimSize(i);
      if (!ShapedType::isDynamic(r) && !ShapedType::isDynamic(x) && r != x)
        return op->emitOpError()
               << what << " batch dim " << i << " is " << r
               << " but the input's is " << x;
    }
    if (failed(sameAsInput(type.getElementType(), what.str())))
      return failure();
    return unify(features, type.getShape().back(),
                 what.str() + " dim " + std::to_string(type.getRank() - 1));
  }

  /// The element types seen, for the acc_type check.
  SmallVector<Type> elementTypes() const {
    SmallVector<Type> types{inputType.getElementType()};
    if (weightElementType)
      types.push_back(weightElementType);
    return types;
  }

private:
  /// Records `value` (read at `where`) as `extent`, or checks it against the
  /// value recorded before; `hint` is appended to a mismatch message.
  LogicalResult unify(Extent &extent, int64_t value, const std::string &where,
                      StringRef hint = "") {
    if (ShapedType::isDynamic(value))
      return success();
    if (ShapedType::isDynamic(extent.value)) {
      extent.value = value;
      extent.origin = where;
      return success();
    }
    if (extent.value == value)
      return success();
    return op->emitOpError()
           << where << " is " << value << ", but " << extent.origin
           << " gives " << extent.name << " = " << extent.value << hint;
  }

  LogicalResult elementType(Type type, Type &shared, std::string &origin,
                            const std::string &what) {
    if (!shared) {
      shared = type;
      origin = what;
      return success();
    }
    if (type == shared)
      return success();
    return op->emitOpError() << what << " has element type " << type
                             << ", but " << origin << " has " << shared;
  }

  LogicalResult sameAsInput(Type type, const std::string &what) {
    Type inputElementType = inputType.getElementType();
    if (type == inputElementType)
      return success();
    return op->emitOpError() << what << " has element type " << type
                             << ", but the input has " << inputElementType;
  }

  Operation *op;
  Layout layout;
  Extent *experts = nullptr;
  RankedTensorType inputType;
  Type weightElementType;
  std::string weightElementOrigin;
};

} // namespace

/// Shared by every op: the accumulation type, f32 unless `acc_type` says.
template <typename OpTy>
static FloatType getAccumulatorTypeImpl(OpTy op) {
  if (std::optional<Type> accType = op.getAccType())
    return cast<FloatType>(*accType);
  return Float32Type::get(op.getContext());
}

FloatType FFNOp::getAccumulatorType() { return getAccumulatorTypeImpl(*this); }
FloatType MLPOp::getAccumulatorType() { return getAccumulatorTypeImpl(*this); }
FloatType GateUpOp::getAccumulatorType() {
  return getAccumulatorTypeImpl(*this);
}
FloatType GateOp::getAccumulatorType() { return getAccumulatorTypeImpl(*this); }
FloatType MoEOp::getAccumulatorType() { return getAccumulatorTypeImpl(*this); }

/// glu.ffn and glu.moe: exactly one way of giving the gate and up
/// projections, and the biases and packing that go with it.
template <typename OpTy>
static LogicalResult verifyGateUpForm(OpTy op) {
  bool merged = static_cast<bool>(op.getGateUpWeight());
  if (merged && (op.getGateWeight() || op.getUpWeight()))
    return op.emitOpError("takes either 'gate' and 'up' weights or one merged "
                          "'gate_up' weight, not both");
  if (!merged && !(op.getGateWeight() && op.getUpWeight()))
    return op.emitOpError("needs both a 'gate' and an 'up' weight, or one "
                          "merged 'gate_up' weight");
  if (merged && (op.getGateBias() || op.getUpBias()))
    return op.emitOpError("'")
           << (op.getGateBias() ? "gate_bias" : "up_bias")
           << "' needs separate 'gate' and 'up' weights; with a merged "
              "'gate_up' weight use 'gate_up_bias'";
  if (!merged && op.getGateUpBias())
    return op.emitOpError("'gate_up_bias' needs a merged 'gate_up' weight");
  if (!merged && op.getPacking())
    return op.emitOpError(
        "'packing' only applies to a merged 'gate_up' weight");
  return success();
}

/// glu.ffn and glu.moe: the input, the gate/up weights (separate or
/// merged), the down weight, the biases and the result, with `v`'s layout
/// (and stacked experts for glu.moe).
template <typename OpTy>
static LogicalResult verifyGatedBlockShapes(OpTy op, ProjectionVerifier &v,
                                            Value output,
                                            StringRef what = "result") {
  using Extent = ProjectionVerifier::Extent;
  Extent dModel{"d_model"}, dFF{"d_ff"}, dOut{"d_out"};
  if (failed(v.input(op.getInput(), dModel)))
    return failure();
  if (op.isMerged()) {
    if (failed(v.weight(op.getGateUpWeight(), "gate_up", dFF, dModel, 2)))
      return failure();
  } else if (failed(v.weight(op.getGateWeight(), "gate", dFF, dModel)) ||
             failed(v.weight(op.getUpWeight(), "up", dFF, dModel))) {
    return failure();
  }
  if (failed(v.weight(op.getDownWeight(), "down", dOut, dFF)) ||
      failed(v.bias(op.getGateBias(), "gate_bias", dFF)) ||
      failed(v.bias(op.getUpBias(), "up_bias", dFF)) ||
      failed(v.bias(op.getGateUpBias(), "gate_up_bias", dFF, 2)) ||
      failed(v.bias(op.getDownBias(), "down_bias", dOut)) ||
      failed(v.result(output, dOut, what)))
    return failure();
  return success();
}

template <typename OpTy>
static LogicalResult verifyActivationOf(OpTy op, bool allowPairGating) {
  return verifyActivation(op, op.getActivation(), op.getBeta(), op.getAlpha(),
                          op.getLimit(), allowPairGating);
}

//===----------------------------------------------------------------------===//
// FFNOp
//===----------------------------------------------------------------------===//

LogicalResult FFNOp::verify() {
  if (failed(verifyActivationOf(*this, /*allowPairGating=*/true)))
    return failure();

  if (failed(verifyGateUpForm(*this)))
    return failure();
  ProjectionVerifier v(*this, getLayout());
  if (failed(verifyGatedBlockShapes(*this, v, getResult())))
    return failure();
  return verifyAccumulatorType(*this, getAccumulatorType(), v.elementTypes());
}

//===----------------------------------------------------------------------===//
// MLPOp
//===----------------------------------------------------------------------===//

LogicalResult MLPOp::verify() {
  if (failed(verifyActivationOf(*this, /*allowPairGating=*/false)))
    return failure();
  using Extent = ProjectionVerifier::Extent;
  ProjectionVerifier v(*this, getLayout());
  Extent dModel{"d_model"}, dFF{"d_ff"}, dOut{"d_out"};
  if (failed(v.input(getInput(), dModel)) ||
      failed(v.weight(getUpWeight(), "up", dFF, dModel)) ||
      failed(v.weight(getDownWeight(), "down", dOut, dFF)) ||
      failed(v.bias(getUpBias(), "up_bias", dFF)) ||
      failed(v.bias(getDownBias(), "down_bias", dOut)) ||
      failed(v.result(getResult(), dOut)))
    return failure();
  return verifyAccumulatorType(*this, getAccumulatorType(), v.elementTypes());
}

//===----------------------------------------------------------------------===//
// GateUpOp
//===----------------------------------------------------------------------===//

LogicalResult GateUpOp::verify() {
  if (failed(verifyActivationOf(*this, /*allowPairGating=*/true)))
    return failure();
  using Extent = ProjectionVerifier::Extent;
  ProjectionVerifier v(*this, getLayout());
  Extent dModel{"d_model"}, dFF{"d_ff"};
  if (failed(v.input(getInput(), dModel)) ||
      failed(v.weight(getGateUpWeight(), "gate_up", dFF, dModel, 2)) ||
      failed(v.bias(getGateUpBias(), "gate_up_bias", dFF, 2)) ||
      failed(v.result(getResult(), dFF)))
    return failure();
  return verifyAccumulatorType(*this, getAccumulatorType(), v.elementTypes());
}

//===----------------------------------------------------------------------===//
// GateOp
//===----------------------------------------------------------------------===//

LogicalResult GateOp::verify() {
  if (failed(verifyActivationOf(*this, /*allowPairGating=*/true)))
    return failure();
  return verifyAccumulatorType(
      *this, getAccumulatorType(),
      {cast<RankedTensorType>(getResult().getType()).getElementType()});
}

//===----------------------------------------------------------------------===//
// MoEOp
//===----------------------------------------------------------------------===//

LogicalResult MoEOp::verify() {
  if (failed(verifyActivationOf(*this, /*allowPairGating=*/true)) ||
      failed(verifyGateUpForm(*this)))
    return failure();
  if (!getAccumulatorType().isF32())
    return emitOpError("acc_type must be f32 (each expert's output and the "
                       "weighted sum are kept in f32), got ")
           << getAccumulatorType();
  auto xType = cast<RankedTensorType>(getInput().getType());
  if (xType.getRank() != 2)
    return emitOpError("input must be 2-D [tokens, d_model], got rank ")
           << xType.getRank();
  // The routing: [T, k] ids and weights.
  auto idsType = cast<RankedTensorType>(getExpertIds().getType());
  auto wType = cast<RankedTensorType>(getRoutingWeights().getType());
  if (idsType.getRank() != 2)
    return emitOpError("'experts' must be 2-D [tokens, k], got rank ")
           << idsType.getRank();
  if (wType.getRank() != 2)
    return emitOpError("'weights' must be 2-D [tokens, k], got rank ")
           << wType.getRank();
  auto agree = [&](int64_t a, int64_t b) {
    return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
  };
  if (!agree(idsType.getDimSize(0), xType.getDimSize(0)))
    return emitOpError("'experts' has ")
           << idsType.getDimSize(0) << " tokens (dim 0), but the input has "
           << xType.getDimSize(0);
  for (int64_t d = 0; d < 2; ++d)
    if (!agree(wType.getDimSize(d), idsType.getDimSize(d)))
      return emitOpError("'weights' dim ")
             << d << " is " << wType.getDimSize(d) << ", but 'experts' dim "
             << d << " is " << idsType.getDimSize(d);

  ProjectionVerifier v(*this, getLayout());
  ProjectionVerifier::Extent experts{"experts"};
  v.stackedExperts(&experts);
  return verifyGatedBlockShapes(*this, v, getResult());
}

//===----------------------------------------------------------------------===//
// RouteOp
//===----------------------------------------------------------------------===//

LogicalResult RouteOp::verify() {
  auto logitsType = cast<RankedTensorType>(getLogits().getType());
  if (logitsType.getRank() != 2)
    return emitOpError("logits must be 2-D [tokens, experts], got rank ")
           << logitsType.getRank();
  int64_t e = logitsType.getDimSize(1);
  int64_t k = getTopK();
  if (!ShapedType::isDynamic(e) && k > e)
    return emitOpError("top_k = ") << k << " exceeds the " << e << " experts";
  if (Value bias = getSelectionBias()) {
    auto type = cast<RankedTensorType>(bias.getType());
    if (type.getRank() != 1)
      return emitOpError("'selection_bias' must be 1-D [experts], got rank ")
             << type.getRank();
    int64_t n = type.getDimSize(0);
    if (!ShapedType::isDynamic(n) && !ShapedType::isDynamic(e) && n != e)
      return emitOpError("'selection_bias' has ")
             << n << " elements, but the logits have " << e << " experts";
  }
  if (getScaling() && !getScaling()->isFinite())
    return emitOpError("'scaling' must be finite, got ")
           << getScaling()->convertToFloat();
  if (getGroups().has_value() != getTopkGroups().has_value())
    return emitOpError("'groups' and 'topk_groups' go together");
  if (getGroupScore() && !getGroups())
    return emitOpError("'group_score' needs 'groups'");
  if (std::optional<int64_t> g = getGroups()) {
    int64_t kg = *getTopkGroups();
    if (*g < 1)
      return emitOpError("'groups' must be positive, got ") << *g;
    if (kg < 1 || kg > *g)
      return emitOpError("'topk_groups' must be in [1, groups = ")
             << *g << "], got " << kg;
    if (ShapedType::isDynamic(e))
      return emitOpError("group-limited routing needs a static number of "
                         "experts");
    if (e % *g != 0)
      return emitOpError("the ")
             << e << " experts do not split into " << *g << " groups";
    int64_t perGroup = e / *g;
    if (getGroupScoreOrDefault() == GroupScore::top2_sum && perGroup < 2)
      return emitOpError("group_score top2_sum needs at least 2 experts a "
                         "group, got ")
             << perGroup;
    if (k > kg * perGroup)
      return emitOpError("top_k = ")
             << k << " exceeds the " << kg * perGroup
             << " experts of the topk_groups best groups";
  }
  auto idsType = cast<RankedTensorType>(getExpertIds().getType());
  auto wType = cast<RankedTensorType>(getWeights().getType());
  for (auto [name, type] : {std::pair<StringRef, RankedTensorType>{
                                "expert_ids", idsType},
                            {"weights", wType}}) {
    if (type.getRank() != 2)
      return emitOpError("'") << name << "' must be 2-D [tokens, top_k], got "
                              << "rank " << type.getRank();
    int64_t t = type.getDimSize(0), kk = type.getDimSize(1);
    int64_t tl = logitsType.getDimSize(0);
    if (!ShapedType::isDynamic(t) && !ShapedType::isDynamic(tl) && t != tl)
      return emitOpError("'") << name << "' has " << t
                              << " tokens, but the logits have " << tl;
    if (!ShapedType::isDynamic(kk) && kk != k)
      return emitOpError("'") << name << "' dim 1 is " << kk
                              << ", but top_k = " << k;
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Training ops: FFNGradOp, MLPGradOp, DropoutOp
//===----------------------------------------------------------------------===//

FloatType FFNGradOp::getAccumulatorType() {
  return getAccumulatorTypeImpl(*this);
}
FloatType MLPGradOp::getAccumulatorType() {
  return getAccumulatorTypeImpl(*this);
}

SmallVector<Value> FFNGradOp::getDifferentiated() {
  SmallVector<Value> primals{getInput()};
  for (Value v : {getGateWeight(), getUpWeight(), getGateUpWeight(),
                  getDownWeight(), getGateBias(), getUpBias(),
                  getGateUpBias(), getDownBias()})
    if (v)
      primals.push_back(v);
  return primals;
}

SmallVector<Value> MLPGradOp::getDifferentiated() {
  SmallVector<Value> primals{getInput()};
  for (Value v : {getUpWeight(), getDownWeight(), getUpBias(), getDownBias()})
    if (v)
      primals.push_back(v);
  return primals;
}

/// The dropout probability in [0, 1) and the seed that goes with it.
static LogicalResult verifyDropout(Operation *op, std::optional<APFloat> p,
                                   Value seed, StringRef name = "dropout") {
  if (p) {
    float value = p->convertToFloat();
    if (!(value >= 0.0f && value < 1.0f))
      return op->emitOpError("'")
             << name << "' must be in [0, 1), got " << value;
  }
  if (p && !seed)
    return op->emitOpError("'") << name << "' needs a 'seed'";
  if (!p && seed)
    return op->emitOpError("'seed' is only used with 'dropout'");
  return success();
}

/// A kept pre-activation: the input's batch dims, d_ff, in acc_type.
static LogicalResult verifyPreactivation(Operation *op, Value pre,
                                         StringRef name, Value input,
                                         int64_t dFF, FloatType accType) {
  if (!pre)
    return success();
  auto type = cast<RankedTensorType>(pre.getType());
  auto inputType = cast<RankedTensorType>(input.getType());
  if (type.getElementType() != accType)
    return op->emitOpError("'")
           << name << "' has element type " << type.getElementType()
           << ", but the pre-activations are kept in acc_type " << accType;
  if (type.getRank() != inputType.getRank())
    return op->emitOpError("'") << name << "' rank " << type.getRank()
                                << " differs from the input rank "
                                << inputType.getRank();
  for (int64_t i = 0, e = type.getRank(); i < e; ++i) {
    int64_t want = i + 1 < e ? inputType.getDimSize(i) : dFF;
    int64_t got = type.getDimSize(i);
    if (!ShapedType::isDynamic(want) && !ShapedType::isDynamic(got) &&
        want != got)
      return op->emitOpError("'")
             << name << "' dim " << i << " is " << got << ", expected "
             << want << (i + 1 < e ? " (the input's)" : " (d_ff)");
  }
  return success();
}

/// d_ff of a gated block's weights (dynamic if unknown).
static int64_t dFFOf(Value downWeight, Layout layout) {
  auto type = cast<RankedTensorType>(downWeight.getType());
  return type.getDimSize(layout == Layout::out_in ? 1 : 0);
}

/// Each result is the gradient of one operand and has its type.
static LogicalResult verifyGradients(Operation *op, ArrayRef<Value> primals,
                                     ValueRange grads) {
  if (grads.size() != primals.size())
    return op->emitOpError("has ")
           << grads.size() << " results, but it differentiates "
           << primals.size()
           << " operands (the input, each weight, each bias)";
  for (auto [i, primal, grad] : llvm::enumerate(primals, grads))
    if (primal.getType() != grad.getType())
      return op->emitOpError("result ")
             << i << " has type " << grad.getType()
             << ", but the operand it is the gradient of has type "
             << primal.getType();
  return success();
}

LogicalResult FFNGradOp::verify() {
  if (failed(verifyActivationOf(*this, /*allowPairGating=*/true)) ||
      failed(verifyGateUpForm(*this)) ||
      failed(verifyDropout(*this, getDropout(), getSeed())))
    return failure();
  ProjectionVerifier v(*this, getLayout());
  if (failed(verifyGatedBlockShapes(*this, v, getGradOutput(), "'grad'")) ||
      failed(verifyAccumulatorType(*this, getAccumulatorType(),
                                   v.elementTypes())))
    return failure();
  if (static_cast<bool>(getGatePre()) != static_cast<bool>(getUpPre()))
    return emitOpError("'gate_pre' and 'up_pre' go together");
  int64_t dFF = dFFOf(getDownWeight(), getLayout());
  if (failed(verifyPreactivation(*this, getGatePre(), "gate_pre", getInput(),
                                 dFF, getAccumulatorType())) ||
      failed(verifyPreactivation(*this, getUpPre(), "up_pre", getInput(), dFF,
                                 getAccumulatorType())))
    return failure();
  return verifyGradients(*this, getDifferentiated(), getGrads());
}

LogicalResult MLPGradOp::verify() {
  if (failed(verifyActivationOf(*this, /*allowPairGating=*/false)) ||
      failed(verifyDropout(*this, getDropout(), getSeed())))
    return failure();
  using Extent = ProjectionVerifier::Extent;
  ProjectionVerifier v(*this, getLayout());
  Extent dModel{"d_model"}, dFF{"d_ff"}, dOut{"d_out"};
  if (failed(v.input(getInput(), dModel)) ||
      failed(v.weight(getUpWeight(), "up", dFF, dModel)) ||
      failed(v.weight(getDownWeight(), "down", dOut, dFF)) ||
      failed(v.bias(getUpBias(), "up_bias", dFF)) ||
      failed(v.bias(getDownBias(), "down_bias", dOut)) ||
      failed(v.result(getGradOutput(), dOut, "'grad'")) ||
      failed(verifyAccumulatorType(*this, getAccumulatorType(),
                                   v.elementTypes())) ||
      failed(verifyPreactivation(*this, getUpPre(), "up_pre", getInput(),
                                 dFFOf(getDownWeight(), getLayout()),
                                 getAccumulatorType())))
    return failure();
  return verifyGradients(*this, getDifferentiated(), getGrads());
}

LogicalResult DropoutOp::verify() {
  return verifyDropout(*this, getP(), getSeed(), "p");
}

#define GET_OP_CLASSES
#include "glu/Dialect/GLU/IR/GLUOps.cpp.inc"
