//===- RaiseExpr.cpp - glu-raise: scalar expressions ----------------------===//
//
// The elementwise ops between the projections (linalg bodies, TOSA ops)
// composed into one scalar expression of the projections and biases, and
// its evaluation in double precision.
//
//===----------------------------------------------------------------------===//

#include "RaiseMatchers.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::glu;

namespace mlir::glu::raise {

namespace {

using K = ScalarExpr::Kind;

double sigmoid(double x) {
  if (x >= 0)
    return 1 / (1 + std::exp(-x));
  double e = std::exp(x);
  return e / (1 + e);
}

bool compare(arith::CmpFPredicate p, double a, double b) {
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

double evaluateNode(const ScalarExpr::Node &node, ArrayRef<double> v,
                    ArrayRef<double> leaves) {
  auto a = [&](unsigned i) { return v[node.args[i]]; };
  switch (node.kind) {
  case K::Leaf:
    return leaves[node.leaf];
  case K::Const:
    return node.constant;
  case K::Add:
    return a(0) + a(1);
  case K::Sub:
    return a(0) - a(1);
  case K::Mul:
    return a(0) * a(1);
  case K::Div:
    return a(0) / a(1);
  case K::Neg:
    return -a(0);
  case K::Max:
    return std::fmax(a(0), a(1));
  case K::Min:
    return std::fmin(a(0), a(1));
  case K::Abs:
    return std::fabs(a(0));
  case K::Exp:
    return std::exp(a(0));
  case K::Exp2:
    return std::exp2(a(0));
  case K::Expm1:
    return std::expm1(a(0));
  case K::Log:
    return std::log(a(0));
  case K::Log1p:
    return std::log1p(a(0));
  case K::Tanh:
    return std::tanh(a(0));
  case K::Erf:
    return std::erf(a(0));
  case K::Erfc:
    return std::erfc(a(0));
  case K::Sqrt:
    return std::sqrt(a(0));
  case K::Rsqrt:
    return 1 / std::sqrt(a(0));
  case K::Sigmoid:
    return sigmoid(a(0));
  case K::Pow:
    return std::pow(a(0), a(1));
  case K::Cmp:
    return compare(node.predicate, a(0), a(1)) ? 1 : 0;
  case K::Select:
    return a(0) != 0 ? a(1) : a(2);
  case K::ExtF:
  case K::TruncF:
    return a(0);
  }
  return std::numeric_limits<double>::quiet_NaN();
}

/// The value of node `root` in double precision for the given leaf values
/// (extf and truncf are the identity).

} // namespace

unsigned ScalarExpr::op(Kind kind, Type type, ArrayRef<unsigned> args) {
  if ((kind == Kind::TruncF || kind == Kind::ExtF) && args.size() == 1 &&
      nodes[args[0]].kind == Kind::Const) {
    const Node &c = nodes[args[0]];
    auto to = dyn_cast<FloatType>(type);
    if (kind == Kind::ExtF || !to)
      return constant(c.constant, c.type);
    APFloat value(c.constant);
    bool losesInfo = false;
    value.convert(to.getFloatSemantics(), APFloat::rmNearestTiesToEven,
                  &losesInfo);
    value.convert(APFloat::IEEEdouble(), APFloat::rmNearestTiesToEven,
                  &losesInfo);
    return constant(value.convertToDouble(), type);
  }
  return push(Node{kind, type, SmallVector<unsigned, 3>(args)});
}

std::optional<double> ScalarExpr::replaceConstantsNear(double target,
                                                       double relTol) {
  std::optional<double> first;
  for (Node &node : nodes) {
    if (node.kind != Kind::Const || node.constant == target ||
        !(std::abs(node.constant - target) <= relTol * std::abs(target)))
      continue;
    if (!first)
      first = node.constant;
    node.constant = target;
  }
  return first;
}

double ScalarExpr::evaluate(unsigned root, ArrayRef<double> leaves) const {
  SmallVector<double, 64> v(root + 1);
  for (unsigned i = 0; i <= root; ++i)
    v[i] = evaluateNode(nodes[i], v, leaves);
  return v[root];
}

/// The nodes `root` depends on, itself included.
llvm::BitVector ScalarExpr::reachable(unsigned root) const {
  llvm::BitVector live(root + 1);
  live.set(root);
  for (unsigned i = root + 1; i-- > 0;)
    if (live.test(i))
      for (unsigned arg : nodes[i].args)
        live.set(arg);
  return live;
}

/// The values of the constants `root` depends on.
SmallVector<double> ScalarExpr::constants(unsigned root) const {
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
double ScalarExpr::tolerance(unsigned root) const {
  llvm::BitVector live = reachable(root);
  double tol = 1e-9;
  for (unsigned i : live.set_bits())
    if (nodes[i].kind == Kind::Const)
      if (auto type = dyn_cast<FloatType>(nodes[i].type))
        tol =
            std::max(tol, 8 * std::ldexp(1.0, -int(type.getFPMantissaWidth())));
  return tol;
}

/// Whether computing `root` rounds only where the glu op does: every
/// arithmetic node computes in `acc`, and no node uses a rounded (truncf)
/// value; `root` itself may be a truncf if `finalRounding`.
bool ScalarExpr::roundsOnlyAtEnd(unsigned root, Type acc,
                                 bool finalRounding) const {
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

/// The node of an element of `tensor` (indexed like the result).
FailureOr<unsigned> Composer::compose(Value tensor) {
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

LeafKind Composer::classify(Value v) {
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
LeafKind Composer::otherKind(Value v) {
  return classify(v) == LeafKind::Reduction ? LeafKind::Reduction
                                            : LeafKind::Other;
}

unsigned Composer::leafFor(Value v, LeafKind kind) {
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
unsigned Composer::scalar(Value v) {
  if (std::optional<double> c = splatConstant(v))
    return expr.constant(*c, getElementTypeOrSelf(v.getType()));
  return leafFor(v, LeafKind::Other);
}

FailureOr<unsigned> Composer::composeLinalg(linalg::LinalgOp op) {
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
    else if (isRowVectorOperand(type, map))
      node = leafFor(value, LeafKind::RowVector);
    else
      node = leafFor(value, otherKind(value));
    if (failed(node))
      return failure();
    env[arg] = *node;
  }
  return interpretBody(*op.getBlock(), env);
}

FailureOr<unsigned> Composer::interpretBody(Block &body,
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
FailureOr<unsigned> Composer::composeTosa(Operation *op) {
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

} // namespace mlir::glu::raise
