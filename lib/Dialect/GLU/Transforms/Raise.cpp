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
//   (extf) copies; counting the transposes gives the layout. A merged
//   gate/up projection (2F features, possibly plus a bias) is read through
//   its halves: slices of the first/second half or of the even/odd features
//   (extract_slice, tosa.slice, TOSA's reshape + gather).
// * Everything between the projections and the down projection is
//   elementwise (all-parallel ops with identity maps, where 1-D operands
//   broadcast along rows are biases) or a batch reshape (collapse/expand of
//   the leading dims). The bodies are composed into one scalar expression of
//   the projection outputs and the biases. It is classified by evaluating it
//   in double precision at probe points (large |x|, negative, near 0) against
//   act(g + bg)*(u + bu), or act(u + bu), for every activation of the
//   dialect (GPT-OSS's clamped SwiGLU: the gating of the pair); every leaf of the expression must have a role, so e.g.
//   x*sigmoid(y) with an unrelated y is not taken. Constants enter at the
//   precision they are written in (a truncf of a constant is folded), and
//   the tolerance is a few units of it; one exporter's inexact sqrt(2/pi)
//   in the tanh GELU is accepted with a remark (RaiseActivation.cpp).
// * After the down projection, batch reshapes, one bias add along rows and a
//   final rounding (truncf) are folded in while the value has a single user.
//
// By default a block is raised only when the glu op states it exactly: the
// frontend computes in the accumulation type (f32 or f64) and rounds once, at
// the end, as the op does. Blocks that round intermediates to f16/bf16
// (low-precision matmul outputs, truncf between ops) are raised only with
// `allow-rounding-changes`. With `remarks`, every raised block and every near
// miss (an elementwise computation on projections that is not raised) gets a
// remark on its down projection saying what happened and why: the first
// thing that did not match.
//
// The matching is split by concern (RaiseMatchers.h lists the files); this
// file builds the glu op for a matched block, reports, and runs the pass.
//
//===----------------------------------------------------------------------===//

#include "RaiseMatchers.h"
#include "glu/Dialect/GLU/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "llvm/Support/Format.h"

#include <numeric>

namespace mlir::glu {
#define GEN_PASS_DEF_GLURAISE
#include "glu/Dialect/GLU/Transforms/Passes.h.inc"
} // namespace mlir::glu

using namespace mlir;
using namespace mlir::glu;
using namespace mlir::glu::raise;

namespace {
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
  // GPT-OSS's alpha and limit are written only where they are not the
  // defaults (1.702, 7.0).
  FloatAttr alpha =
      m.alpha && *m.alpha != 1.702f ? b.getF32FloatAttr(*m.alpha) : FloatAttr();
  FloatAttr limit =
      m.limit && *m.limit != 7.0f ? b.getF32FloatAttr(*m.limit) : FloatAttr();
  TypeAttr acc = m.accType ? TypeAttr::get(m.accType) : TypeAttr();
  auto layout = LayoutAttr::get(ctx, m.layout);
  auto activation = ActivationAttr::get(ctx, m.activation);
  Operation *op;
  if (m.gated)
    op = FFNOp::create(b, loc, m.resultType, m.input, m.gate, m.up, m.gateUp,
                       m.down, gateBias, upBias, gateUpBias, downBias,
                       m.merged ? PackingAttr::get(ctx, m.packing)
                                : PackingAttr(),
                       layout, activation, beta, alpha, limit, acc);
  else
    op = MLPOp::create(b, loc, m.resultType, m.input, m.up, m.down, upBias,
                       downBias, layout, activation, beta, alpha, limit, acc);
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
      if (remarks) {
        InFlightDiagnostic remark = op->emitRemark("glu-raise: raised to ")
                                    << (m->gated ? "glu.ffn " : "glu.mlp ")
                                    << stringifyActivation(m->activation);
        if (m->inexactConstant) {
          std::string note;
          llvm::raw_string_ostream os(note);
          os << " (the frontend writes sqrt(2/pi) as "
             << llvm::format("%.7g", *m->inexactConstant)
             << ", the op uses 0.7978846: the activation differs by at most "
             << llvm::format("%.2g", m->inexactDifference)
             << " from the IR as written)";
          remark << note;
        }
      }
      m->output.replaceAllUsesWith(result);
      replaced.insert(m->ops.begin(), m->ops.end());
    }
    eraseReplaced(replaced.getArrayRef());
  }
};

} // namespace
