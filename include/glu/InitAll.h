//===- InitAll.h - Register every glu dialect, pass and pipeline -*- C++ -*-===//
//
// One place that lists what this project adds to MLIR, so that swiglu-opt,
// swiglu-run (and later the plugin, the C API and Python) register the same set.
//
//===----------------------------------------------------------------------===//

#ifndef GLU_INITALL_H
#define GLU_INITALL_H

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace mlir::glu {

/// Adds the `glu` dialect and every upstream dialect (and interface
/// implementation) its passes and pipelines produce or need.
void registerAllDialects(DialectRegistry &registry);

/// Registers every glu pass and pipeline with the global pass registry.
void registerAllPasses();

} // namespace mlir::glu

#endif // GLU_INITALL_H
