//===- RaiseMatchers.h - glu-raise internals ------------------------------===//
//
// The pieces --glu-raise is made of, one file per concern (Raise.cpp says
// what the pass does):
//
// * RaiseValues.cpp: values seen through batch reshapes, copies, conversions;
// * RaiseContraction.cpp: the projections (contractions, merged gate/up
//   halves, weights, accumulator biases);
// * RaiseExpr.cpp: elementwise bodies composed into one scalar expression;
// * RaiseActivation.cpp: which activation (gating) an expression computes;
// * RaiseBlock.cpp: a whole block matched from its down projection, and the
//   first thing that did not match when it is not one;
// * Raise.cpp: the glu op built, the remarks and the pass.
//
//===----------------------------------------------------------------------===//

#ifndef GLU_DIALECT_GLU_TRANSFORMS_RAISEMATCHERS_H
#define GLU_DIALECT_GLU_TRANSFORMS_RAISEMATCHERS_H

#include "glu/Dialect/GLU/IR/GLU.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/BitVector.h"
#include "llvm/ADT/SetVector.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mlir::glu::raise {

//===----------------------------------------------------------------------===//
// Values seen through batch reshapes and copies (RaiseValues.cpp)
//===----------------------------------------------------------------------===//

Type elementTypeOf(Value v);
std::string typeString(Type type);
/// Whether `to` holds `from`'s float elements exactly (an extension).
bool isExtension(Value from, Value to);
/// The source of `v` if `v` is a batch reshape (one that regroups only the
/// leading dims and keeps the last one); null otherwise.
Value batchReshapeSource(Value v);
/// `v` with the batch reshapes that produce it looked through; the reshapes
/// are added to `ops` if given.
Value stripBatchReshapes(Value v, llvm::SetVector<Operation *> *ops = nullptr);

/// A structured op that copies its single input into its output, possibly
/// transposed or broadcast (as the input's indexing map says) and converted
/// (extf, truncf): linalg.transpose, linalg.broadcast, linalg.copy and the
/// linalg.generic equivalents.
struct CopyLike {
  Value source;
  AffineMap sourceMap; ///< from the loops (the result's dims) to the source
  bool rounds = false; ///< a truncf on the way (an extf is exact)
};

std::optional<CopyLike> matchCopyLike(Operation *op);
/// Whether `map` (from 2 loops) swaps them: (d0, d1) -> (d1, d0).
bool isTranspose2D(AffineMap map);
/// Whether `map` picks only the last loop: a row vector broadcast.
bool isRowBroadcast(AffineMap map);
/// Whether an operand of type `type` read through `map` (from the loops of
/// an elementwise op) is a row vector: [N] read as the last loop, or
/// [1.., N] with every other dim a unit dim (read at 0 or broadcast).
bool isRowVectorOperand(RankedTensorType type, AffineMap map);
/// The value of a splat float constant tensor (or float scalar constant).
std::optional<double> splatConstant(Value v);
/// The tensor dim an index value reads (tensor.dim with a constant index).
std::optional<std::pair<Value, int64_t>> indexSource(Value index);
/// Where an extent comes from, through the ops that only pass it on.
std::pair<Value, int64_t> extentSource(Value v, int64_t dim);
/// Whether `input` ([B.., D]) and `output` ([B'.., N]) provably have the same
/// batch dims.
bool sameBatchDims(Value input, Value output);

//===----------------------------------------------------------------------===//
// Projections (RaiseContraction.cpp)
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

/// The contraction `op` computes, if it is one.
std::optional<Contraction> matchContraction(Operation *op);

/// One half of a merged gate/up projection: a tensor.extract_slice that
/// takes every row and F of the 2F output features of a contraction, the
/// first or second half (`concat`) or the even or odd features
/// (`interleaved`); a tosa.slice taking the first or second half; or
/// torch-mlir's TOSA spelling of `p[..., o::2]` (reshape, tosa.gather of
/// constant indices, reshape). The product may be converted (extf/truncf,
/// tosa.cast) and a bias added to it before it is sliced.
struct MergedHalf {
  Contraction contraction;
  unsigned index = 0; ///< 0: gate's place, 1: up's place
  Packing packing = Packing::concat;
  bool rounds = false; ///< the product is rounded (truncf) before the slice
  /// A bias broadcast along rows, added to the whole product before it is
  /// sliced (the merged projection's gate_up bias); null if none.
  Value bias;
  /// The slice and the reshapes, conversion and bias add before it.
  SmallVector<Operation *> ops;
};

std::optional<MergedHalf> matchMergedHalf(Value v);

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

/// Matches the projection computed by `c`; on failure says why in `why`
/// (naming the projection `role`).
FailureOr<Projection> matchProjection(const Contraction &c, StringRef role,
                                      std::string &why);

//===----------------------------------------------------------------------===//
// Scalar expressions composed from elementwise bodies (RaiseExpr.cpp)
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
  /// A node computing `kind` of `args` in `type`. A conversion of a constant
  /// is folded: truncf gives the constant rounded to `type` (so an f64
  /// constant the frontend rounds to f32 is an f32 constant, not a rounded
  /// intermediate), extf the constant at its own precision.
  unsigned op(Kind kind, Type type, ArrayRef<unsigned> args);
  unsigned cmp(arith::CmpFPredicate predicate, Type type, unsigned lhs,
               unsigned rhs) {
    Node node{Kind::Cmp, type, {lhs, rhs}};
    node.predicate = predicate;
    return push(std::move(node));
  }

  /// The value of node `root` in double precision for the given leaf values
  /// (extf and truncf are the identity).
  double evaluate(unsigned root, ArrayRef<double> leaves) const;
  /// The nodes `root` depends on, itself included.
  llvm::BitVector reachable(unsigned root) const;
  /// The values of the constants `root` depends on.
  SmallVector<double> constants(unsigned root) const;

  /// The relative tolerance for comparing `root` with an activation: a few
  /// units in the last place of the least precise constant it uses (an f32
  /// 1/sqrt(2) is 1/sqrt(2) to 4e-9 only), and at least 1e-9.
  double tolerance(unsigned root) const;

  /// Whether computing `root` rounds only where the glu op does: every
  /// arithmetic node computes in `acc`, and no node uses a rounded (truncf)
  /// value; `root` itself may be a truncf if `finalRounding`.
  bool roundsOnlyAtEnd(unsigned root, Type acc, bool finalRounding) const;

  /// Replaces every constant within `relTol` (relative) of `target`, but not
  /// equal to it, by `target`; returns the first one replaced.
  std::optional<double> replaceConstantsNear(double target, double relTol);

  const std::vector<Node> &getNodes() const { return nodes; }

private:
  unsigned push(Node node) {
    nodes.push_back(std::move(node));
    return nodes.size() - 1;
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

bool isElementwiseLinalg(Operation *op);
bool isTosaElementwise(Operation *op);
bool isElementwise(Operation *op);

/// Composes the elementwise computation producing a tensor into a
/// ScalarExpr, down to its leaves: projections, row vectors and other values.
/// Batch reshapes are looked through (elementwise ops commute with them).
class Composer {
public:
  explicit Composer(ScalarExpr &expr) : expr(expr) {}

  /// The node of an element of `tensor` (indexed like the result).
  FailureOr<unsigned> compose(Value tensor);

  ArrayRef<Leaf> getLeaves() const { return leaves; }
  /// The elementwise ops and reshapes composed.
  const llvm::SetVector<Operation *> &getOps() const { return ops; }
  /// The op that could not be interpreted, after a failure.
  StringRef getUnsupported() const { return unsupported; }

private:
  static LeafKind classify(Value v);
  /// The kind of a leaf read in some other way than elementwise: a reduction
  /// stays one (it makes the computation no block), anything else is other.
  static LeafKind otherKind(Value v);
  unsigned leafFor(Value v, LeafKind kind);
  /// A scalar used in a body or given as an operand: a constant or a leaf.
  unsigned scalar(Value v);
  FailureOr<unsigned> composeLinalg(linalg::LinalgOp op);
  FailureOr<unsigned> interpretBody(Block &body,
                                    DenseMap<Value, unsigned> &env);
  /// A TOSA elementwise op. Operands broadcast by size-1 dims: one of the
  /// result's shape is an element, [1.., N] a row vector, [1..] a scalar.
  FailureOr<unsigned> composeTosa(Operation *op);

  ScalarExpr &expr;
  SmallVector<Leaf> leaves;
  SmallVector<unsigned> leafNodes;
  DenseMap<Value, unsigned> memo;
  llvm::SetVector<Operation *> ops;
  std::string unsupported;
};

//===----------------------------------------------------------------------===//
// Activations: classifying a composed expression (RaiseActivation.cpp)
//===----------------------------------------------------------------------===//

/// The values the leaves are probed at: the fixed points, plus points just
/// around every constant c (and -c) of the expression, so that a piecewise
/// definition (a select on a comparison with c) is probed on both sides.
struct Probes {
  SmallVector<double> gate, up;
};

Probes probesFor(const ScalarExpr &expr, unsigned root);

/// The roles of the leaves of a composed hidden: the projection the
/// activation applies to (`gate`; for a non-gated block, the up
/// projection), the projection it multiplies (`up`, gated blocks), and
/// their biases. -1 where there is none.
struct Roles {
  int gate = -1, up = -1, gateBias = -1, upBias = -1;
};

/// A gating function with its parameters: act(g) * u for an activation of
/// one value (`beta` for swish), or GPT-OSS's clamped SwiGLU of the pair
/// (`alpha`, `limit`).
struct Gating {
  Activation activation = Activation::identity;
  double beta = 1.0;
  double alpha = 1.702, limit = 7.0;

  /// The gated value in double precision (`u` = 1 without up).
  double value(double g, double u) const;
};

/// The largest error of `expr` at `root` against gating(g + bg, u + bu) (or
/// act(g + bg) without up) over the probes, in units of `tol` times the
/// magnitude: at most 1 fits.
double misfit(const ScalarExpr &expr, unsigned root, unsigned numLeaves,
              const Probes &probes, Roles roles, const Gating &gating,
              double tol);

struct ActivationFit {
  Activation activation = Activation::identity;
  std::optional<float> beta;         ///< swish only
  std::optional<float> alpha, limit; ///< clamped_swiglu only
  double misfit = 0;
  /// Where the expression only fits with a known exporter's inexact spelling
  /// of a constant replaced by the exact one (torch-mlir's sqrt(2/pi) as
  /// 0.797724 in gelu_tanh): the constant as written.
  std::optional<double> inexactConstant;
  /// With `inexactConstant`: the largest difference of the activation as
  /// written from the exact one, |act_written(x) - act(x)|, over x in
  /// [-20, 20].
  double inexactDifference = 0;
};

/// The activation (and its parameters) that `expr` computes under `roles`.
std::optional<ActivationFit> fitActivation(const ScalarExpr &expr,
                                           unsigned root, unsigned numLeaves,
                                           Roles roles);

//===----------------------------------------------------------------------===//
// Blocks (RaiseBlock.cpp)
//===----------------------------------------------------------------------===//

/// A block to raise: what the glu op is built from and what it replaces.
struct BlockMatch {
  bool gated = true;
  bool merged = false; ///< gate and up are halves of one projection
  Packing packing = Packing::concat;
  Activation activation = Activation::identity;
  std::optional<float> beta;
  std::optional<float> alpha, limit; ///< clamped_swiglu
  /// An inexact constant of the frontend replaced by the exact one (see
  /// ActivationFit), and the largest difference it made to the activation.
  std::optional<double> inexactConstant;
  double inexactDifference = 0;
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

} // namespace mlir::glu::raise

#endif // GLU_DIALECT_GLU_TRANSFORMS_RAISEMATCHERS_H
