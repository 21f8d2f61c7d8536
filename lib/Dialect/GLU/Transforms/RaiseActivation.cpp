//===- RaiseActivation.cpp - glu-raise: activations -----------------------===//
//
// Which activation a composed expression computes: evaluated at probe points
// against act(g + bg) * (u + bu) for every activation of the dialect.
//
//===----------------------------------------------------------------------===//

#include "RaiseMatchers.h"

#include "llvm/ADT/APFloat.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::glu;

namespace mlir::glu::raise {

namespace {

constexpr double kSqrt2OverPi = 0.7978845608028654;

double sigmoid(double t) {
  if (t >= 0)
    return 1 / (1 + std::exp(-t));
  double e = std::exp(t);
  return e / (1 + e);
}

double geluTanh(double x, double sqrt2OverPi) {
  return 0.5 * x * (1 + std::tanh(sqrt2OverPi * (x + 0.044715 * x * x * x)));
}

/// act(x) in double precision for the activations of one value.
double activationValue(Activation act, double beta, double x) {
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
    return geluTanh(x, kSqrt2OverPi);
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

constexpr double kGptOssAlpha = 1.702;

/// Whether `written` is `value` rounded to f32, f16 or bf16.
bool isRoundingOf(double value, double written) {
  for (const llvm::fltSemantics *sem :
       {&APFloat::IEEEsingle(), &APFloat::IEEEhalf(), &APFloat::BFloat()}) {
    APFloat v(value);
    bool losesInfo = false;
    v.convert(*sem, APFloat::rmNearestTiesToEven, &losesInfo);
    v.convert(APFloat::IEEEdouble(), APFloat::rmNearestTiesToEven, &losesInfo);
    if (v.convertToDouble() == written)
      return true;
  }
  return false;
}

ActivationFit fitOf(Activation act) {
  ActivationFit fit;
  fit.activation = act;
  return fit;
}

} // namespace

double Gating::value(double g, double u) const {
  if (activation != Activation::clamped_swiglu)
    return activationValue(activation, beta, g) * u;
  // GPT-OSS: g' = min(g, L), u' = clamp(u, -L, L), g'·σ(α·g')·(u' + 1).
  double gc = std::fmin(g, limit);
  double uc = std::fmin(std::fmax(u, -limit), limit);
  return gc * sigmoid(alpha * gc) * (uc + 1);
}

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

double misfit(const ScalarExpr &expr, unsigned root, unsigned numLeaves,
              const Probes &probes, Roles roles, const Gating &gating,
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
        double want = gating.value(gx, ux);
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

std::optional<ActivationFit> fitActivation(const ScalarExpr &expr,
                                           unsigned root, unsigned numLeaves,
                                           Roles roles) {
  double tol = expr.tolerance(root);
  Probes probes = probesFor(expr, root);
  std::optional<ActivationFit> best;
  auto consider = [&](const Gating &gating, ActivationFit fit) {
    fit.misfit = misfit(expr, root, numLeaves, probes, roles, gating, tol);
    if (fit.misfit <= 1 && (!best || fit.misfit < best->misfit))
      best = fit;
  };
  for (Activation act :
       {Activation::sigmoid, Activation::identity, Activation::relu,
        Activation::gelu_erf, Activation::gelu_tanh, Activation::silu})
    consider(Gating{act, 1.0, 1.702, 7.0}, fitOf(act));
  // Swish: beta from the value at 1.5, where x*sigmoid(beta*x) is invertible.
  SmallVector<double> leaves(numLeaves, 0.0);
  leaves[roles.gate] = 1.5;
  if (roles.up >= 0)
    leaves[roles.up] = 1.0;
  double s = expr.evaluate(root, leaves) / 1.5;
  if (s > 0 && s < 1) {
    float beta = static_cast<float>(std::log(s / (1 - s)) / 1.5);
    if (std::isfinite(beta) && std::abs(beta - 1.0) > tol) {
      ActivationFit fit = fitOf(Activation::swish);
      fit.beta = beta;
      Gating gating{Activation::swish};
      gating.beta = beta;
      consider(gating, fit);
    }
  }
  // GPT-OSS's clamped SwiGLU (gated only): alpha and limit are constants of
  // the expression (limit > 0, and -limit for the lower clamp of up).
  if (roles.up >= 0 && !best) {
    SmallVector<double> constants = expr.constants(root);
    for (double limit : constants) {
      if (!(limit > 0) || !std::isfinite(limit) ||
          !llvm::is_contained(constants, -limit))
        continue;
      for (double alpha : constants) {
        if (!(alpha > 0) || !std::isfinite(alpha) || alpha == limit)
          continue;
        // GPT-OSS's 1.702 as a bf16/f16 export writes it (1.703125 in bf16;
        // PyTorch multiplies by the Python float): the model's alpha.
        if (isRoundingOf(kGptOssAlpha, alpha))
          alpha = kGptOssAlpha;
        Gating gating;
        gating.activation = Activation::clamped_swiglu;
        gating.alpha = static_cast<float>(alpha);
        gating.limit = static_cast<float>(limit);
        ActivationFit fit = fitOf(Activation::clamped_swiglu);
        fit.alpha = static_cast<float>(alpha);
        fit.limit = static_cast<float>(limit);
        consider(gating, fit);
      }
    }
  }
  // torch-mlir's linalg lowering of gelu(approximate="tanh") writes
  // sqrt(2/pi) as 0.797724 = sqrt(7/11) (pi = 22/7), 2.0e-4 off: the
  // expression is gelu_tanh as PyTorch defines it once that constant is
  // replaced by the exact one (within 3e-4, far above f32's 6e-8 and below
  // any other activation's distance). Raised as gelu_tanh, which computes
  // PyTorch's formula; the caller's remark states the difference.
  if (!best) {
    ScalarExpr exact = expr;
    if (std::optional<double> written =
            exact.replaceConstantsNear(kSqrt2OverPi, 3e-4)) {
      ActivationFit fit = fitOf(Activation::gelu_tanh);
      fit.misfit = misfit(exact, root, numLeaves, probes, roles,
                          Gating{Activation::gelu_tanh, 1.0, 1.702, 7.0}, tol);
      if (fit.misfit <= 1) {
        fit.inexactConstant = *written;
        for (double x = -20; x <= 20; x += 1.0 / 128)
          fit.inexactDifference = std::max(
              fit.inexactDifference,
              std::abs(geluTanh(x, *written) - geluTanh(x, kSqrt2OverPi)));
        best = fit;
      }
    }
  }
  return best;
}

} // namespace mlir::glu::raise
