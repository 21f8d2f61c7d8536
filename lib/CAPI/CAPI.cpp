//===- CAPI.cpp - The C API of swiglu -------------------------------------===//

#include "swiglu-c/Compile.h"
#include "swiglu-c/Dialects.h"
#include "swiglu-c/Registration.h"

#include "glu/Dialect/GLU/IR/GLU.h"
#include "glu/InitAll.h"
#include "glu/Pipelines/Pipelines.h"
#include "glu/Pipelines/Target.h"

#include "mlir/CAPI/IR.h"
#include "mlir/CAPI/Registration.h"
#include "mlir/CAPI/Support.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/raw_ostream.h"

#include <mutex>

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/JSON.h"

using namespace mlir;

MLIR_DEFINE_CAPI_DIALECT_REGISTRATION(GLU, glu, mlir::glu::GLUDialect)

void swigluRegisterAllDialects(MlirDialectRegistry registry) {
  glu::registerAllDialects(*unwrap(registry));
}

void swigluRegisterAllPasses(void) {
  static std::once_flag once;
  std::call_once(once, [] { glu::registerAllPasses(); });
}


MlirLogicalResult swigluCompileModule(MlirModule cModule, MlirStringRef cTarget,
                                      SwigluArtifactCallback callback,
                                      void *userData) {
  ModuleOp module = unwrap(cModule);
  StringRef target = unwrap(cTarget);
  // GPU: "gpu-ptx[:sm_XY]" (the PTX of every kernel) and
  // "gpu-manifest[:sm_XY]" (the launch records, JSON: {entry: record}).
  if (target.starts_with("gpu-ptx") || target.starts_with("gpu-manifest")) {
    auto [kind, chip] = target.split(':');
    if (kind != "gpu-ptx" && kind != "gpu-manifest") {
      module.emitError("swiglu: unknown target '") << target << "'";
      return mlirLogicalResultFailure();
    }
    glu::GPUPipelineOptions options;
    if (!chip.empty())
      options.chip = chip.str();
    PassManager pm(module.getContext());
    glu::buildGPUPipeline(pm, options);
    if (failed(pm.run(module)))
      return mlirLogicalResultFailure();
    std::string artifact;
    if (kind == "gpu-ptx") {
      module.walk([&](gpu::BinaryOp binary) {
        for (Attribute a : binary.getObjects())
          if (auto object = dyn_cast<gpu::ObjectAttr>(a))
            artifact += object.getObject().str();
      });
    } else {
      llvm::json::Object entries;
      if (auto dict = module->getAttrOfType<DictionaryAttr>("glu.gpu.entries"))
        for (NamedAttribute entry : dict)
          if (auto text = dyn_cast<StringAttr>(entry.getValue()))
            if (auto parsed = llvm::json::parse(text.getValue()))
              entries[entry.getName().getValue()] = std::move(*parsed);
      llvm::raw_string_ostream os(artifact);
      os << llvm::json::Value(std::move(entries));
    }
    callback(mlirStringRefCreate(artifact.data(), artifact.size()), userData);
    return mlirLogicalResultSuccess();
  }
  // Options of the fast pipeline in braces: "cpu{threads=2 round-hidden=1}".
  std::unique_ptr<glu::CPUPipelineOptions> options;
  if (target.ends_with("}") && target.contains('{')) {
    auto [name, rest] = target.split('{');
    options = glu::CPUPipelineOptions::createFromString(rest.drop_back());
    if (!options) {
      module.emitError("swiglu: invalid options in target '")
          << unwrap(cTarget) << "'";
      return mlirLogicalResultFailure();
    }
    target = name;
  }
  bool reference = target.consume_front("cpu-reference");
  if (!reference)
    target.consume_front("cpu");
  bool llvmIR = target == "-llvm-ir";
  if (!llvmIR && !target.empty()) {
    module.emitError("swiglu: unknown target '")
        << unwrap(cTarget)
        << "' (available: cpu, cpu-llvm-ir, cpu-reference, "
           "cpu-reference-llvm-ir, gpu-ptx[:sm_XY], gpu-manifest[:sm_XY])";
    return mlirLogicalResultFailure();
  }

  llvm::SmallString<0> artifact;
  if (failed(glu::compileForCPU(module, reference, llvmIR, artifact,
                                 options.get())))
    return mlirLogicalResultFailure(); // diagnostics were emitted
  callback(mlirStringRefCreate(artifact.data(), artifact.size()), userData);
  return mlirLogicalResultSuccess();
}

MlirLogicalResult swigluDescribeCPUTarget(MlirStringRef cOptions,
                                          SwigluArtifactCallback callback,
                                          void *userData) {
  auto reply = [&](StringRef text) {
    callback(mlirStringRefCreate(text.data(), text.size()), userData);
  };
  std::unique_ptr<glu::CPUPipelineOptions> options =
      glu::CPUPipelineOptions::createFromString(unwrap(cOptions));
  if (!options) {
    reply("invalid options '" + unwrap(cOptions).str() + "'");
    return mlirLogicalResultFailure();
  }
  std::string error;
  FailureOr<glu::CPUTarget> target = glu::resolveCPUTarget(
      options->targetCPU, options->targetFeatures, error);
  if (failed(target)) {
    reply(error);
    return mlirLogicalResultFailure();
  }
  int64_t bits = glu::kernelVectorBits(*options, *target);
  llvm::json::Object description{
      {"cpu", target->cpu},
      {"features", target->features},
      {"vector_bits", bits},
      {"tuning_key", target->cpu + "/v" + std::to_string(bits)}};
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::json::Value(std::move(description));
  reply(text);
  return mlirLogicalResultSuccess();
}
