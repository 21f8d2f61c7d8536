//===- GLU.h - The glu dialect ----------------------------------*- C++ -*-===//
//
// The `glu` dialect: gated (and plain) transformer feed-forward blocks. See
// GLUOps.td for the ops and their semantics.
//
//===----------------------------------------------------------------------===//

#ifndef GLU_DIALECT_GLU_IR_GLU_H
#define GLU_DIALECT_GLU_IR_GLU_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "glu/Dialect/GLU/IR/GLUOpsDialect.h.inc"

#include "glu/Dialect/GLU/IR/GLUEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "glu/Dialect/GLU/IR/GLUAttrs.h.inc"

#define GET_OP_CLASSES
#include "glu/Dialect/GLU/IR/GLUOps.h.inc"

namespace mlir::glu {

/// True if `activation` is a gating function of the pair (gate, up) rather
/// than an activation of the gate alone (today: `clamped_swiglu`).
inline bool isPairGating(Activation activation) {
  return activation == Activation::clamped_swiglu;
}

/// The output-feature dim of a 2-D weight stored with `layout`: 0 for
/// `out_in` ([out, in]), 1 for `in_out` ([in, out]).
inline int64_t outputDim(Layout layout) {
  return layout == Layout::out_in ? 0 : 1;
}

} // namespace mlir::glu

#endif // GLU_DIALECT_GLU_IR_GLU_H
