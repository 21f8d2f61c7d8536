//===- CAPI.cpp - The C API of swiglu -------------------------------------===//

#include "swiglu-c/Compile.h"
#include "swiglu-c/Dialects.h"
#include "swiglu-c/Registration.h"

#include "glu/Dialect/GLU/IR/GLU.h"
#include "glu/InitAll.h"
#include "glu/Pipelines/Pipelines.h"

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
           "cpu-reference-llvm-ir)";
    return mlirLogicalResultFailure();
  }

  llvm::SmallString<0> artifact;
  if (failed(glu::compileForHost(module, reference, llvmIR, artifact,
                                 options.get())))
    return mlirLogicalResultFailure(); // diagnostics were emitted
  callback(mlirStringRefCreate(artifact.data(), artifact.size()), userData);
  return mlirLogicalResultSuccess();
}
