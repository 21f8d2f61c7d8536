/*===- Registration.h - Register the swiglu dialects and passes --*- C -*-===*\
|*                                                                            *|
|* The C counterparts of glu/InitAll.h.                                       *|
\*===----------------------------------------------------------------------===*/

#ifndef SWIGLU_C_REGISTRATION_H
#define SWIGLU_C_REGISTRATION_H

#include "mlir-c/IR.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Adds the glu dialect and every upstream dialect (and extension) that its
/// passes and pipelines use to `registry`.
MLIR_CAPI_EXPORTED void swigluRegisterAllDialects(MlirDialectRegistry registry);

/// Registers every glu pass and pipeline (and the upstream ones) with the
/// global registry, so that mlirParsePassPipeline knows them by name.
/// Idempotent.
MLIR_CAPI_EXPORTED void swigluRegisterAllPasses(void);

#ifdef __cplusplus
}
#endif

#endif /* SWIGLU_C_REGISTRATION_H */
