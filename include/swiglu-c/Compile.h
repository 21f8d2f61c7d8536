/*===- Compile.h - Compile a module of glu IR for a target --------*- C -*-===*\
|*                                                                            *|
|* One call from IR to an artifact, for other compilers and engines.          *|
\*===----------------------------------------------------------------------===*/

#ifndef SWIGLU_C_COMPILE_H
#define SWIGLU_C_COMPILE_H

#include "mlir-c/IR.h"
#include "mlir-c/Support.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Receives the compiled artifact; `bytes` is valid during the call only.
typedef void (*SwigluArtifactCallback)(MlirStringRef bytes, void *userData);

/// Compiles `module` (func.funcs on tensors with glu and upstream ops) for
/// `target` and hands the artifact to `callback`:
///
///   "cpu"          an ELF object file for the host CPU through
///                  --glu-cpu-pipeline (packed-weight kernels, OpenMP: link
///                  with libomp): each public function `f` has the C entry
///                  point `_mlir_ciface_f` (memref descriptors, see README)
///                  next to `f`; weights that are arguments are packed by
///                  `f_pack_weights` (see convert-glu-to-cpu-kernels);
///   "cpu-reference" the same through --glu-cpu-reference-pipeline (the
///                  reference semantics: plain loops, no runtime library);
///   "cpu-llvm-ir", "cpu-reference-llvm-ir"  the same code as LLVM IR text;
///   "gpu-ptx[:sm_XY]"  the PTX of the module's GPU kernels
///                  (--glu-gpu-pipeline, chip sm_90 unless named; no CUDA
///                  needed);
///   "gpu-manifest[:sm_XY]"  their launch records as JSON, {entry: record},
///                  the "entries" of a bundle's manifest.json (README, GPU).
///
/// Options of --glu-cpu-pipeline follow in braces, e.g.
/// "cpu{threads=2 round-hidden=true}".
///
/// The module is lowered in place. Errors (invalid IR, an unknown target, a
/// pass failure) are reported as diagnostics through the context's
/// diagnostic handlers, never printed or aborted on, and the call returns
/// failure without calling `callback`.
MLIR_CAPI_EXPORTED MlirLogicalResult
swigluCompileModule(MlirModule module, MlirStringRef target,
                    SwigluArtifactCallback callback, void *userData);

/// Describes the CPU that --glu-cpu-pipeline with `options` (its options as
/// in "cpu{...}", without the braces; "" for the defaults) compiles for, as
/// JSON: {"cpu": LLVM's CPU name, "features": LLVM's feature string,
/// "vector_bits": the kernels' vector width, "tuning_key": the CPU part of
/// the tuning cache's keys}. On success `callback` gets the JSON; on failure
/// (bad options, an unknown CPU or feature) it gets the error message and
/// the call returns failure.
MLIR_CAPI_EXPORTED MlirLogicalResult
swigluDescribeCPUTarget(MlirStringRef options, SwigluArtifactCallback callback,
                        void *userData);

#ifdef __cplusplus
}
#endif

#endif /* SWIGLU_C_COMPILE_H */
