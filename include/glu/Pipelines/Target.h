//===- Target.h - The CPU the CPU pipelines compile for ---------*- C++ -*-===//
//
// One description of the target CPU for every CPU route (the pipeline's
// kernel choices, swiglu-compile, the C API, the Python package, the JIT of
// swiglu-run): the host by default, or a CPU named by LLVM's name
// (`icelake-server`, `znver4`, `x86-64-v3`, ...) with LLVM feature changes
// (`-avx512bf16`), for cross compilation and for testing code paths the
// host would not take.
//
//===----------------------------------------------------------------------===//

#ifndef GLU_PIPELINES_TARGET_H
#define GLU_PIPELINES_TARGET_H

#include "mlir/Support/LLVM.h"

#include "llvm/ADT/StringMap.h"

#include <memory>
#include <string>

namespace llvm {
class TargetMachine;
} // namespace llvm

namespace mlir::glu {

/// A CPU and its features, as LLVM names them.
struct CPUTarget {
  std::string triple;
  std::string cpu;
  /// LLVM's feature string: the host's features, or the changes given for a
  /// named CPU ("+a,-b").
  std::string features;
  /// Every feature of the CPU after the changes, enabled or not.
  llvm::StringMap<bool> featureMap;

  /// A TargetMachine for this CPU (PIC code, for shared libraries and JIT).
  std::unique_ptr<llvm::TargetMachine> createMachine() const;
  /// Whether the CPU has `feature` (LLVM's name: "avx512f", "f16c", ...).
  bool has(StringRef feature) const;
  /// The widest vector registers the kernels should use: 512 bits with
  /// AVX-512F, 256 with AVX2 and FMA, else 128.
  int64_t vectorBits() const;
};

/// The target named by `cpu` ("host" or empty: this machine, its CPU and
/// every feature it reports) with the feature changes `features`
/// ("-avx512bf16,+f16c"); an error message for a CPU or feature LLVM does not
/// know.
FailureOr<CPUTarget> resolveCPUTarget(StringRef cpu, StringRef features,
                                      std::string &error);

} // namespace mlir::glu

#endif // GLU_PIPELINES_TARGET_H
