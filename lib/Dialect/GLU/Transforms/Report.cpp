//===- Report.cpp - Size, cost and memory report of each FFN --------------===//

#include "glu/Dialect/GLU/IR/GLU.h"
#include "glu/Dialect/GLU/Transforms/Passes.h"

#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>

namespace mlir::glu {
#define GEN_PASS_DEF_GLUREPORT
#include "glu/Dialect/GLU/Transforms/Passes.h.inc"
} // namespace mlir::glu

using namespace mlir;
using namespace mlir::glu;

int64_t mlir::glu::llamaFFNWidth(int64_t dModel, int64_t multipleOf,
                                 double ffnDimMultiplier) {
  // hidden_dim = int(2 * (4 * dim) / 3); then int(multiplier * hidden_dim);
  // then rounded up to a multiple of multiple_of.
  int64_t hidden = (2 * 4 * dModel) / 3;
  if (ffnDimMultiplier != 1.0)
    hidden = static_cast<int64_t>(ffnDimMultiplier * static_cast<double>(hidden));
  return multipleOf * ((hidden + multipleOf - 1) / multipleOf);
}

namespace {

/// The sizes of one feed-forward op, as far as they are static.
struct FFNSizes {
  bool gated = true;
  /// Only the gate/up projection (glu.gate_up): no down projection.
  bool projectionOnly = false;
  int64_t dModel = ShapedType::kDynamic, dFF = ShapedType::kDynamic,
          dOut = ShapedType::kDynamic, tokens = ShapedType::kDynamic;
  int64_t elementBytes = 0, weightBytes = 0, accBytes = 0;
  int64_t biasElements = 0;
};

int64_t bytesOf(Value v) {
  return cast<ShapedType>(v.getType()).getElementTypeBitWidth() / 8;
}

/// Product of the batch dims of `x` (all but the last), or dynamic.
int64_t tokensOf(Value x) {
  ArrayRef<int64_t> shape = cast<ShapedType>(x.getType()).getShape();
  int64_t tokens = 1;
  for (int64_t d : shape.drop_back()) {
    if (ShapedType::isDynamic(d))
      return ShapedType::kDynamic;
    tokens *= d;
  }
  return tokens;
}

/// The (out, in) extents of a weight under `layout`.
std::pair<int64_t, int64_t> outIn(Value w, Layout layout) {
  ArrayRef<int64_t> s = cast<ShapedType>(w.getType()).getShape();
  return layout == Layout::out_in ? std::make_pair(s[0], s[1])
                                  : std::make_pair(s[1], s[0]);
}

int64_t halfOrDynamic(int64_t v) {
  return ShapedType::isDynamic(v) ? v : v / 2;
}

/// The first static value of `candidates`, or dynamic.
int64_t firstStatic(std::initializer_list<int64_t> candidates) {
  for (int64_t c : candidates)
    if (!ShapedType::isDynamic(c))
      return c;
  return ShapedType::kDynamic;
}

int64_t elementsOf(Value v) {
  if (!v)
    return 0;
  auto type = cast<ShapedType>(v.getType());
  return type.hasStaticShape() ? type.getNumElements() : 0;
}

FFNSizes sizesOf(FFNOp op) {
  FFNSizes s;
  Layout layout = op.getLayout();
  s.dModel = cast<ShapedType>(op.getInput().getType()).getShape().back();
  auto [downOut, downIn] = outIn(op.getDownWeight(), layout);
  int64_t projOut = op.isMerged()
                        ? halfOrDynamic(outIn(op.getGateUpWeight(), layout).first)
                        : outIn(op.getGateWeight(), layout).first;
  s.dFF = firstStatic({projOut, downIn});
  s.dOut = downOut;
  s.tokens = tokensOf(op.getInput());
  s.elementBytes = bytesOf(op.getInput());
  s.weightBytes = bytesOf(op.getDownWeight());
  s.accBytes = op.getAccumulatorType().getWidth() / 8;
  s.biasElements = elementsOf(op.getGateBias()) + elementsOf(op.getUpBias()) +
                   elementsOf(op.getGateUpBias()) +
                   elementsOf(op.getDownBias());
  return s;
}

FFNSizes sizesOf(MLPOp op) {
  FFNSizes s;
  s.gated = false;
  Layout layout = op.getLayout();
  s.dModel = cast<ShapedType>(op.getInput().getType()).getShape().back();
  auto [downOut, downIn] = outIn(op.getDownWeight(), layout);
  s.dFF = firstStatic({outIn(op.getUpWeight(), layout).first, downIn});
  s.dOut = downOut;
  s.tokens = tokensOf(op.getInput());
  s.elementBytes = bytesOf(op.getInput());
  s.weightBytes = bytesOf(op.getDownWeight());
  s.accBytes = op.getAccumulatorType().getWidth() / 8;
  s.biasElements = elementsOf(op.getUpBias()) + elementsOf(op.getDownBias());
  return s;
}

FFNSizes sizesOf(GateUpOp op) {
  FFNSizes s;
  s.projectionOnly = true;
  s.dModel = cast<ShapedType>(op.getInput().getType()).getShape().back();
  s.dFF = halfOrDynamic(outIn(op.getGateUpWeight(), op.getLayout()).first);
  s.dOut = s.dFF;
  s.tokens = tokensOf(op.getInput());
  s.elementBytes = bytesOf(op.getInput());
  s.weightBytes = bytesOf(op.getGateUpWeight());
  s.accBytes = op.getAccumulatorType().getWidth() / 8;
  s.biasElements = elementsOf(op.getGateUpBias());
  return s;
}

struct GLUReportPass : glu::impl::GLUReportBase<GLUReportPass> {
  using GLUReportBase::GLUReportBase;

  void runOnOperation() override {
    getOperation()->walk([&](Operation *op) {
      llvm::TypeSwitch<Operation *>(op)
          .Case<FFNOp, MLPOp, GateUpOp>(
              [&](auto ffn) { report(op, ffn.getActivation(), sizesOf(ffn)); });
    });
    markAllAnalysesPreserved();
  }

  void report(Operation *op, Activation activation, const FFNSizes &s) {
    int64_t tileTokens = this->tileTokens, chunkFF = this->chunkFF,
            multipleOf = this->multipleOf;
    double ffnDimMultiplier = this->ffnDimMultiplier;
    InFlightDiagnostic diag = op->emitRemark();
    diag << op->getName() << " " << stringifyActivation(activation) << ": ";
    if (ShapedType::isDynamic(s.dModel) || ShapedType::isDynamic(s.dFF) ||
        ShapedType::isDynamic(s.dOut)) {
      diag << "d_model, d_ff or d_out is dynamic; no sizes to report";
      return;
    }
    int64_t d = s.dModel, f = s.dFF, o = s.dOut;
    std::string tokens =
        ShapedType::isDynamic(s.tokens) ? "?" : std::to_string(s.tokens);
    diag << "d_model=" << d << " d_ff=" << f << " d_out=" << o
         << " tokens=" << tokens;

    // Parameters and FLOPs: the gate/up projections (two for a gated block)
    // and the down projection; elementwise work is not counted.
    int64_t projections = s.gated ? 2 : 1;
    int64_t upParams = projections * d * f;
    int64_t downParams = s.projectionOnly ? 0 : f * o;
    int64_t weightParams = upParams + downParams;
    int64_t params = weightParams + s.biasElements;
    diag << "; params=" << params << " weight_bytes="
         << weightParams * s.weightBytes + s.biasElements * s.elementBytes
         << " flops_per_token=" << 2 * weightParams;

    // Peak intermediates per token: unfused, every projection result lives in
    // acc_type ([T, 2F] for gate and up, plus the [T, F] hidden); with the
    // activation fused into the projection only the hidden remains, in the
    // element type; the whole fused block keeps one accumulator tile.
    int64_t unfused = (s.gated ? 3 : 2) * f * s.accBytes;
    if (s.projectionOnly)
      unfused = 2 * f * s.accBytes;
    int64_t activationFused = f * s.elementBytes;
    diag << "; intermediate_bytes_per_token: unfused=" << unfused
         << " activation_fused=" << activationFused;
    if (!s.projectionOnly)
      diag << " block_fused=0 (one " << tileTokens << "x" << chunkFF
           << " tile, " << tileTokens * chunkFF * s.accBytes << " bytes)";
    if (!ShapedType::isDynamic(s.tokens)) {
      diag << "; intermediate_bytes: unfused=" << unfused * s.tokens
           << " activation_fused=" << activationFused * s.tokens;
      if (!s.projectionOnly)
        diag << " block_fused="
             << std::min(s.tokens, tileTokens) * std::min(f, chunkFF) * s.accBytes;
    }

    // The width rule and the parameter parity with a 4·d_model FFN.
    int64_t llama = llamaFFNWidth(d, multipleOf, ffnDimMultiplier);
    diag << "; width: d_ff/d_model=" << llvm::formatv("{0:F4}", double(f) / d).str()
         << ", 8/3 rule (multiple_of=" << multipleOf
         << ", ffn_dim_multiplier=" << llvm::formatv("{0}", ffnDimMultiplier).str()
         << ") gives " << llama << (llama == f ? " (matches)" : " (differs)");
    if (!s.projectionOnly) {
      int64_t classic = 2 * d * (4 * d);
      diag << "; params/(4·d_model FFN)="
           << llvm::formatv("{0:F4}", double(weightParams) / double(classic)).str();
    }
  }
};

} // namespace
