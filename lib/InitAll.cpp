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

void mlir::glu::registerAllDialects(DialectRegistry &registry) {
  registry.insert<GLUDialect>();
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
}

void mlir::glu::registerAllPasses() {
  mlir::registerAllPasses();
  registerGLUConversionPasses();
  registerGLUPasses();
  registerGLUPipelines();
}
