//===- InitAll.cpp - Register every glu dialect, pass and pipeline --------===//

#include "glu/InitAll.h"

#include "glu/Conversion/Passes.h"
#include "glu/Dialect/GLU/IR/GLU.h"
#include "glu/Dialect/GLU/Transforms/Passes.h"
#include "glu/Pipelines/Pipelines.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"

void mlir::glu::registerAllDialects(DialectRegistry &registry) {
  registry.insert<GLUDialect>();
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  // gpu-module-to-binary translates kernels to LLVM IR (NVVM, GPU, LLVM).
  mlir::registerAllToLLVMIRTranslations(registry);
}

void mlir::glu::registerAllPasses() {
  mlir::registerAllPasses();
  registerGLUConversionPasses();
  registerGLUPasses();
  registerGLUPipelines();
}
