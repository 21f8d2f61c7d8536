//===- main.cpp - A downstream user of the installed swiglu package -------===//
//
// Registers the glu dialect, parses a file, fuses its FFN blocks and lowers
// them to linalg, then prints the result.
//
//===----------------------------------------------------------------------===//

#include "glu/Conversion/Passes.h"
#include "glu/InitAll.h"
#include "glu/Pipelines/Pipelines.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/raw_ostream.h"

int main(int argc, char **argv) {
  if (argc != 2) {
    llvm::errs() << "usage: glu-downstream <file.mlir>\n";
    return 2;
  }
  mlir::DialectRegistry registry;
  mlir::glu::registerAllDialects(registry);
  mlir::MLIRContext context(registry);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceFile<mlir::ModuleOp>(argv[1], &context);
  if (!module)
    return 1;
  mlir::PassManager pm(&context);
  mlir::glu::FusePipelineOptions options;
  mlir::glu::buildFusePipeline(pm, options);
  pm.addNestedPass<mlir::func::FuncOp>(mlir::glu::createConvertGLUToLinalg());
  if (mlir::failed(pm.run(*module)))
    return 1;
  module->print(llvm::outs());
  return 0;
}
