//===- Compile.cpp - glu IR to host code ----------------------------------===//

#include "glu/Pipelines/Pipelines.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Target/LLVMIR/Export.h"

#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"

#include <mutex>

using namespace mlir;

/// A target machine for this host (its CPU and features), PIC.
static std::unique_ptr<llvm::TargetMachine> hostMachine(Operation *op) {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
  llvm::Triple triple(llvm::sys::getDefaultTargetTriple());
  std::string error;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target) {
    op->emitError("swiglu: no LLVM target for the host: ") << error;
    return nullptr;
  }
  llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
  std::string featureString;
  for (auto &feature : features)
    featureString += (feature.second ? "+" : "-") + feature.first().str() + ",";
  return std::unique_ptr<llvm::TargetMachine>(target->createTargetMachine(
      triple, llvm::sys::getHostCPUName(), featureString, {},
      llvm::Reloc::PIC_));
}

LogicalResult mlir::glu::compileForHost(ModuleOp module, bool reference,
                                        bool llvmIR,
                                        llvm::SmallVectorImpl<char> &out,
                                        const CPUPipelineOptions *options) {
  MLIRContext *context = module.getContext();
  // Public functions get C entry points that never write into their
  // arguments.
  module.walk([](func::FuncOp func) {
    if (func.isPublic() && !func.isDeclaration())
      prepareCEntryPoint(func);
  });
  PassManager pm(context);
  if (reference)
    buildCPUReferencePipeline(pm);
  else if (options)
    buildCPUPipeline(pm, *options);
  else
    buildCPUPipeline(pm, CPUPipelineOptions());
  if (failed(pm.run(module)))
    return failure(); // the passes emitted diagnostics

  DialectRegistry registry;
  registerAllToLLVMIRTranslations(registry);
  context->appendDialectRegistry(registry);
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, llvmContext);
  if (!llvmModule)
    return module.emitError("swiglu: translation to LLVM IR failed");

  std::unique_ptr<llvm::TargetMachine> machine = hostMachine(module);
  if (!machine)
    return failure();
  llvmModule->setDataLayout(machine->createDataLayout());
  llvmModule->setTargetTriple(machine->getTargetTriple());
  // LLVM's -O3 pipeline (what the JIT of swiglu-run runs) before codegen.
  if (llvm::Error err = makeOptimizingTransformer(
          /*optLevel=*/3, /*sizeLevel=*/0, machine.get())(llvmModule.get()))
    return module.emitError("swiglu: LLVM optimization failed: ")
           << llvm::toString(std::move(err));

  llvm::raw_svector_ostream stream(out);
  if (llvmIR) {
    llvmModule->print(stream, nullptr);
    return success();
  }
  llvm::legacy::PassManager passes;
  if (machine->addPassesToEmitFile(passes, stream, nullptr,
                                   llvm::CodeGenFileType::ObjectFile))
    return module.emitError("swiglu: the host target cannot emit object files");
  passes.run(*llvmModule);
  return success();
}
