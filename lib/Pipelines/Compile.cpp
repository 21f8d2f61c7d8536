//===- Compile.cpp - glu IR to host code ----------------------------------===//

#include "glu/Pipelines/Pipelines.h"
#include "glu/Pipelines/Target.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Target/LLVMIR/Export.h"

#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"


using namespace mlir;

LogicalResult mlir::glu::compileForCPU(ModuleOp module, bool reference,
                                        bool llvmIR,
                                        llvm::SmallVectorImpl<char> &out,
                                        const CPUPipelineOptions *options) {
  MLIRContext *context = module.getContext();
  std::string error;
  FailureOr<CPUTarget> target =
      options ? resolveCPUTarget(options->targetCPU, options->targetFeatures,
                                 error)
              : resolveCPUTarget("host", "", error);
  if (failed(target))
    return mlir::emitError(module.getLoc(), "swiglu: ") << error;
  std::unique_ptr<llvm::TargetMachine> machine = target->createMachine();
  if (!machine)
    return module.emitError("swiglu: no LLVM target machine for ")
           << target->triple;
  // Public functions get C entry points that never write into their
  // arguments.
  module.walk([](func::FuncOp func) {
    if (func.isPublic() && !func.isDeclaration())
      prepareCEntryPoint(func);
  });
  PassManager pm(context);
  if (reference) // of the options, round-hidden applies (the training ops)
    buildCPUReferencePipeline(pm, options && options->roundHidden);
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
