//===- Target.cpp - The CPU the CPU pipelines compile for -----------------===//

#include "glu/Pipelines/Target.h"

#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"

#include <mutex>

using namespace mlir;
using namespace mlir::glu;

static const llvm::Target *lookupTarget(const llvm::Triple &triple,
                                        std::string &error) {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
  return llvm::TargetRegistry::lookupTarget(triple, error);
}

std::unique_ptr<llvm::TargetMachine> CPUTarget::createMachine() const {
  std::string error;
  llvm::Triple t(triple);
  const llvm::Target *target = lookupTarget(t, error);
  if (!target)
    return nullptr;
  return std::unique_ptr<llvm::TargetMachine>(target->createTargetMachine(
      t, cpu, features, {}, llvm::Reloc::PIC_));
}

bool CPUTarget::has(StringRef feature) const {
  return featureMap.lookup(feature);
}

int64_t CPUTarget::vectorBits() const {
  if (has("avx512f"))
    return 512;
  if (has("avx2") && has("fma"))
    return 256;
  return 128;
}

FailureOr<CPUTarget> mlir::glu::resolveCPUTarget(StringRef cpu,
                                                 StringRef features,
                                                 std::string &error) {
  CPUTarget result;
  result.triple = llvm::sys::getDefaultTargetTriple();
  llvm::Triple triple(result.triple);
  const llvm::Target *target = lookupTarget(triple, error);
  if (!target) {
    error = "no LLVM target for " + result.triple + ": " + error;
    return failure();
  }
  bool host = cpu.empty() || cpu == "host";
  result.cpu = host ? llvm::sys::getHostCPUName().str() : cpu.str();
  std::string featureString;
  if (host)
    for (auto &feature : llvm::sys::getHostCPUFeatures())
      featureString += (feature.second ? "+" : "-") + feature.first().str() +
                       ",";

  // The generic CPU's MCSubtargetInfo knows the names of all CPUs and
  // features (one made for an unknown CPU would print a warning).
  std::unique_ptr<llvm::MCSubtargetInfo> plain(
      target->createMCSubtargetInfo(triple, "", ""));
  if (!plain || !plain->isCPUStringValid(result.cpu)) {
    error = "unknown target CPU '" + result.cpu + "' (LLVM's names, e.g. " +
            "x86-64-v3, icelake-server, sapphirerapids, znver4; or host)";
    return failure();
  }
  SmallVector<StringRef> changes;
  features.split(changes, ',', -1, /*KeepEmpty=*/false);
  for (StringRef change : changes) {
    change = change.trim();
    StringRef name = change.drop_front();
    bool known = llvm::any_of(plain->getAllProcessorFeatures(),
                              [&](const llvm::SubtargetFeatureKV &kv) {
                                return name == kv.Key;
                              });
    if ((!change.starts_with("+") && !change.starts_with("-")) || !known) {
      error = "target feature '" + change.str() +
              "' is not +name or -name of a feature LLVM knows for " +
              result.triple;
      return failure();
    }
    featureString += change.str() + ",";
  }
  if (!featureString.empty())
    featureString.pop_back();
  result.features = featureString;

  std::unique_ptr<llvm::MCSubtargetInfo> sti(
      target->createMCSubtargetInfo(triple, result.cpu, result.features));
  for (const llvm::SubtargetFeatureKV &kv : sti->getAllProcessorFeatures())
    result.featureMap[kv.Key] =
        sti->checkFeatures((llvm::Twine("+") + kv.Key).str());
  return result;
}
