//===- swiglu-opt.cpp - mlir-opt with the glu dialect and passes ----------===//
//
// Every upstream dialect and pass, plus the glu dialect, its passes and
// pipelines: `swiglu-opt` is used exactly like `mlir-opt`.
//
//===----------------------------------------------------------------------===//

#include "glu/InitAll.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::glu::registerAllPasses();
  mlir::DialectRegistry registry;
  mlir::glu::registerAllDialects(registry);
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "swiglu-opt: the glu dialect and its passes\n", registry));
}
