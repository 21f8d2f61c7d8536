//===- SwigluPlugin.cpp - The glu dialect and passes as an mlir-opt plugin ===//
//
// A shared library that upstream tools load at run time:
//
//   mlir-opt --load-dialect-plugin=libSwigluPlugin.so \
//            --load-pass-plugin=libSwigluPlugin.so --glu-fuse-ffn in.mlir
//
// It registers only what this project adds (the glu dialect, its passes and
// pipelines); the host tool already has every upstream dialect and pass.
// Like upstream mlir-opt, it links libMLIR.so, so there is one MLIR per
// process.
//
//===----------------------------------------------------------------------===//

#include "glu/Conversion/Passes.h"
#include "glu/Dialect/GLU/IR/GLU.h"
#include "glu/Dialect/GLU/Transforms/Passes.h"
#include "glu/Pipelines/Pipelines.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/Plugins/DialectPlugin.h"
#include "mlir/Tools/Plugins/PassPlugin.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/Compiler.h"

using namespace mlir;

extern "C" LLVM_ATTRIBUTE_WEAK DialectPluginLibraryInfo
mlirGetDialectPluginInfo() {
  return {MLIR_PLUGIN_API_VERSION, "GLU", LLVM_VERSION_STRING,
          [](DialectRegistry *registry) {
            registry->insert<glu::GLUDialect>();
          }};
}

extern "C" LLVM_ATTRIBUTE_WEAK PassPluginLibraryInfo mlirGetPassPluginInfo() {
  return {MLIR_PLUGIN_API_VERSION, "GLUPasses", LLVM_VERSION_STRING, []() {
            glu::registerGLUPasses();
            glu::registerGLUConversionPasses();
            glu::registerGLUPipelines();
          }};
}
