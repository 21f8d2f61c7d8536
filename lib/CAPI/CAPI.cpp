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
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Target/LLVMIR/Export.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"

#include <mutex>

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
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

namespace {

/// Emits an object file for the host from an LLVM module.
LogicalResult emitHostObject(Operation *op, llvm::Module &module,
                             llvm::SmallVectorImpl<char> &object) {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
  llvm::Triple triple(llvm::sys::getDefaultTargetTriple());
  std::string error;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return op->emitError("swiglu: no LLVM target for the host: ") << error;
  llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
  std::string featureString;
  for (auto &feature : features)
    featureString += (feature.second ? "+" : "-") + feature.first().str() + ",";
  std::unique_ptr<llvm::TargetMachine> machine(target->createTargetMachine(
      triple, llvm::sys::getHostCPUName(), featureString, {},
      llvm::Reloc::PIC_));
  module.setDataLayout(machine->createDataLayout());
  module.setTargetTriple(triple);
  llvm::raw_svector_ostream stream(object);
  llvm::legacy::PassManager passes;
  if (machine->addPassesToEmitFile(passes, stream, nullptr,
                                   llvm::CodeGenFileType::ObjectFile))
    return op->emitError("swiglu: the host target cannot emit object files");
  passes.run(module);
  return success();
}

} // namespace

MlirLogicalResult swigluCompileModule(MlirModule cModule, MlirStringRef cTarget,
                                      SwigluArtifactCallback callback,
                                      void *userData) {
  ModuleOp module = unwrap(cModule);
  MLIRContext *context = module.getContext();
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
    PassManager pm(context);
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
  if (target != "cpu" && target != "cpu-llvm-ir") {
    module.emitError("swiglu: unknown target '")
        << target
        << "' (available: cpu, cpu-llvm-ir, gpu-ptx[:sm_XY], "
           "gpu-manifest[:sm_XY])";
    return mlirLogicalResultFailure();
  }

  // Lower to the LLVM dialect: public functions get C entry points that
  // never write into their arguments.
  module.walk([](func::FuncOp func) {
    if (func.isPublic() && !func.isDeclaration())
      glu::prepareCEntryPoint(func);
  });
  PassManager pm(context);
  glu::buildCPUReferencePipeline(pm);
  if (failed(pm.run(module)))
    return mlirLogicalResultFailure(); // the passes emitted diagnostics

  DialectRegistry registry;
  registerAllToLLVMIRTranslations(registry);
  context->appendDialectRegistry(registry);
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, llvmContext);
  if (!llvmModule) {
    module.emitError("swiglu: translation to LLVM IR failed");
    return mlirLogicalResultFailure();
  }

  llvm::SmallString<0> artifact;
  if (target == "cpu-llvm-ir") {
    llvm::raw_svector_ostream stream(artifact);
    llvmModule->print(stream, nullptr);
  } else if (failed(emitHostObject(module, *llvmModule, artifact))) {
    return mlirLogicalResultFailure();
  }
  callback(mlirStringRefCreate(artifact.data(), artifact.size()), userData);
  return mlirLogicalResultSuccess();
}
