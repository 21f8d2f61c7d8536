//===- Report.cpp - Size, cost and memory report of each FFN --------------===//

#include "glu/Dialect/GLU/IR/GLU.h"
#include "glu/Dialect/GLU/Transforms/Passes.h"

#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/CheckedArithmetic.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <optional>

namespace mlir::glu {
#define GEN_PASS_DEF_GLUREPORT
#include "glu/Dialect/GLU/Transforms/Passes.h.inc"
} // namespace mlir::glu

using namespace mlir;
using namespace mlir::glu;

/// llamaFFNWidth, or std::nullopt where the arguments are out of its domain
/// (multipleOf < 1, ffnDimMultiplier not positive and finite) or the width
/// does not fit in int64_t.
static std::optional<int64_t> checkedLlamaFFNWidth(int64_t dModel,
                                                   int64_t multipleOf,
                                                   double ffnDimMultiplier) {
  if (dModel < 0 || multipleOf < 1 || !std::isfinite(ffnDimMultiplier) ||
      !(ffnDimMultiplier > 0))
    return std::nullopt;
  // hidden_dim = int(2 * (4 * dim) / 3); then int(multiplier * hidden_dim);
  // then rounded up to a multiple of multiple_of.
  std::optional<int64_t> eightD = llvm::checkedMul<int64_t>(8, dModel);
  if (!eightD)
    return std::nullopt;
  int64_t hidden = *eightD / 3;
  if (ffnDimMultiplier != 1.0) {
    double scaled = ffnDimMultiplier * static_cast<double>(hidden);
    if (!(scaled < 0x1p62)) // converting a larger double to int64_t is UB
      return std::nullopt;
    hidden = static_cast<int64_t>(scaled);
  }
  std::optional<int64_t> roundedUp =
      llvm::checkedAdd<int64_t>(hidden, multipleOf - 1);
  if (!roundedUp)
    return std::nullopt;
  return llvm::checkedMul<int64_t>(multipleOf, *roundedUp / multipleOf);
}

int64_t mlir::glu::llamaFFNWidth(int64_t dModel, int64_t multipleOf,
                                 double ffnDimMultiplier) {
  // Defined for multipleOf >= 1, a positive finite multiplier and widths
  // that fit in int64_t (the report checks with checkedLlamaFFNWidth).
  std::optional<int64_t> width =
      checkedLlamaFFNWidth(dModel, multipleOf, ffnDimMultiplier);
  assert(width && "llamaFFNWidth: argument out of range");
  return width.value_or(0);
}

namespace {

/// An int64_t computed with overflow checks: an overflow is remembered, and
/// propagates, instead of being undefined behaviour. The sizes come from
/// static tensor dims, which go up to 2^63 - 1.
class CheckedInt {
public:
  CheckedInt(int64_t value) : value(value) {}
  bool overflowed() const { return !value; }
  int64_t get() const { return *value; }

  friend CheckedInt operator+(CheckedInt a, CheckedInt b) {
    if (a.overflowed() || b.overflowed())
      return overflow();
    return from(llvm::checkedAdd(*a.value, *b.value));
  }
  friend CheckedInt operator*(CheckedInt a, CheckedInt b) {
    if (a.overflowed() || b.overflowed())
      return overflow();
    return from(llvm::checkedMul(*a.value, *b.value));
  }

private:
  static CheckedInt from(std::optional<int64_t> v) {
    CheckedInt c(0);
    c.value = v;
    return c;
  }
  static CheckedInt overflow() { return from(std::nullopt); }

  std::optional<int64_t> value;
};

/// The sizes of one feed-forward op, as far as they are static.
struct FFNSizes {
  bool gated = true;
  /// Only the gate/up projection (glu.gate_up): no down projection.
  bool projectionOnly = false;
  int64_t dModel = ShapedType::kDynamic, dFF = ShapedType::kDynamic,
          dOut = ShapedType::kDynamic;
  /// Dynamic (kDynamic) if a batch dim is.
  CheckedInt tokens = ShapedType::kDynamic;
  int64_t elementBytes = 0, weightBytes = 0, accBytes = 0;
  CheckedInt biasElements = 0;
};

int64_t bytesOf(Value v) {
  return cast<ShapedType>(v.getType()).getElementTypeBitWidth() / 8;
}

/// Product of the batch dims of `x` (all but the last), or dynamic.
CheckedInt tokensOf(Value x) {
  ArrayRef<int64_t> shape = cast<ShapedType>(x.getType()).getShape();
  CheckedInt tokens = 1;
  for (int64_t d : shape.drop_back()) {
    if (ShapedType::isDynamic(d))
      return ShapedType::kDynamic;
    tokens = tokens * d;
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

  LogicalResult initialize(MLIRContext *context) override {
    if (multipleOf < 1 || tileTokens < 1 || chunkFF < 1 ||
        !std::isfinite(double(ffnDimMultiplier)) ||
        !(double(ffnDimMultiplier) > 0))
      return emitError(UnknownLoc::get(context),
                       "glu-report: multiple-of, tile-tokens and chunk-ff "
                       "must be positive, and ffn-dim-multiplier positive "
                       "and finite");
    return success();
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
    bool staticTokens =
        s.tokens.overflowed() || !ShapedType::isDynamic(s.tokens.get());

    // Parameters and FLOPs: the gate/up projections (two for a gated block)
    // and the down projection; elementwise work is not counted.
    CheckedInt projections = s.gated ? 2 : 1;
    CheckedInt upParams = projections * d * f;
    CheckedInt downParams =
        s.projectionOnly ? CheckedInt(0) : CheckedInt(f) * o;
    CheckedInt weightParams = upParams + downParams;
    CheckedInt params = weightParams + s.biasElements;
    CheckedInt weightBytes =
        weightParams * s.weightBytes + s.biasElements * s.elementBytes;
    CheckedInt flops = CheckedInt(2) * weightParams;

    // Peak intermediates per token: unfused, every projection result lives in
    // acc_type ([T, 2F] for gate and up, plus the [T, F] hidden); with the
    // activation fused into the projection only the hidden remains, in the
    // element type; the whole fused block keeps one accumulator tile.
    CheckedInt unfused =
        CheckedInt(s.gated && !s.projectionOnly ? 3 : 2) * f * s.accBytes;
    CheckedInt activationFused = CheckedInt(f) * s.elementBytes;
    CheckedInt tileBytes = CheckedInt(tileTokens) * chunkFF * s.accBytes;
    CheckedInt unfusedTotal = 0, activationFusedTotal = 0, blockFusedTotal = 0;
    if (staticTokens) {
      unfusedTotal = unfused * s.tokens;
      activationFusedTotal = activationFused * s.tokens;
      blockFusedTotal = s.tokens.overflowed()
                            ? s.tokens
                            : CheckedInt(std::min(s.tokens.get(), tileTokens)) *
                                  std::min(f, chunkFF) * s.accBytes;
    }

    // The width rule and the parameter parity with a 4·d_model FFN.
    std::optional<int64_t> llama =
        checkedLlamaFFNWidth(d, multipleOf, ffnDimMultiplier);
    CheckedInt classic = CheckedInt(2) * d * (CheckedInt(4) * d);

    diag << "d_model=" << d << " d_ff=" << f << " d_out=" << o;
    for (const CheckedInt &size :
         {s.tokens, params, weightBytes, flops, unfused, activationFused,
          tileBytes, unfusedTotal, activationFusedTotal, blockFusedTotal,
          classic}) {
      if (size.overflowed() || !llama) {
        diag << "; sizes overflow 64-bit integers, not reported";
        return;
      }
    }

    std::string tokens = ShapedType::isDynamic(s.tokens.get())
                             ? "?"
                             : std::to_string(s.tokens.get());
    diag << " tokens=" << tokens;
    diag << "; params=" << params.get() << " weight_bytes=" << weightBytes.get()
         << " flops_per_token=" << flops.get();
    diag << "; intermediate_bytes_per_token: unfused=" << unfused.get()
         << " activation_fused=" << activationFused.get();
    if (!s.projectionOnly)
      diag << " block_fused=0 (one " << tileTokens << "x" << chunkFF
           << " tile, " << tileBytes.get() << " bytes)";
    if (staticTokens) {
      diag << "; intermediate_bytes: unfused=" << unfusedTotal.get()
           << " activation_fused=" << activationFusedTotal.get();
      if (!s.projectionOnly)
        diag << " block_fused=" << blockFusedTotal.get();
    }

    diag << "; width: d_ff/d_model=" << llvm::formatv("{0:F4}", double(f) / d).str()
         << ", 8/3 rule (multiple_of=" << multipleOf
         << ", ffn_dim_multiplier=" << llvm::formatv("{0}", ffnDimMultiplier).str()
         << ") gives " << *llama << (*llama == f ? " (matches)" : " (differs)");
    if (!s.projectionOnly)
      diag << "; params/(4·d_model FFN)="
           << llvm::formatv("{0:F4}",
                            double(weightParams.get()) / double(classic.get()))
                  .str();
  }
};

} // namespace
