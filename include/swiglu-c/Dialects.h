/*===- Dialects.h - C API of the glu dialect ----------------------*- C -*-===*\
|*                                                                            *|
|* The glu dialect's handle, for mlirDialectHandleRegisterDialect and        *|
|* mlirDialectHandleLoadDialect.                                              *|
\*===----------------------------------------------------------------------===*/

#ifndef SWIGLU_C_DIALECTS_H
#define SWIGLU_C_DIALECTS_H

#include "mlir-c/IR.h"

#ifdef __cplusplus
extern "C" {
#endif

MLIR_DECLARE_CAPI_DIALECT_REGISTRATION(GLU, glu);

#ifdef __cplusplus
}
#endif

#endif /* SWIGLU_C_DIALECTS_H */
