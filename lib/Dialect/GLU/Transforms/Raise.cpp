//===- Raise.cpp - Raise frontend FFN blocks into glu ops -----------------===//

#include "glu/Dialect/GLU/IR/GLU.h"
#include "glu/Dialect/GLU/Transforms/Passes.h"

namespace mlir::glu {
#define GEN_PASS_DEF_GLURAISE
#include "glu/Dialect/GLU/Transforms/Passes.h.inc"
} // namespace mlir::glu

using namespace mlir;
using namespace mlir::glu;

namespace {

struct GLURaisePass : glu::impl::GLURaiseBase<GLURaisePass> {
  using GLURaiseBase::GLURaiseBase;

  void runOnOperation() override {}
};

} // namespace
