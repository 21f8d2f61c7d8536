//===- Pipelines.h - Registered glu pass pipelines --------------*- C++ -*-===//
//
// Pass pipelines that take `glu` IR (tensors, function level) down to the
// LLVM dialect. They are registered with the pass registry so that
// `swiglu-opt --<name>` runs them, and are callable from C++ so that the
// runner and the C API build exactly the same pipeline.
//
//===----------------------------------------------------------------------===//

#ifndef GLU_PIPELINES_PIPELINES_H
#define GLU_PIPELINES_PIPELINES_H

namespace mlir {
class OpPassManager;
} // namespace mlir

namespace mlir::glu {

/// The reference CPU pipeline: `glu` → linalg/arith/math/tensor (the reference
/// semantics of `--convert-glu-to-linalg`) → bufferization (function
/// boundaries bufferized with identity layouts, results returned as freshly
/// allocated buffers owned by the caller) → loops → LLVM dialect. Simple and
/// obviously right, not fast: every later pipeline is checked against it.
void buildCPUReferencePipeline(OpPassManager &pm);

/// Registers the pipelines above as `--glu-cpu-reference-pipeline`.
void registerGLUPipelines();

} // namespace mlir::glu

#endif // GLU_PIPELINES_PIPELINES_H
