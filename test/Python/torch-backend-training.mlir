// Training through torch.compile(model, backend="swiglu",
// options={"backward": "compiled"}): swiglu::ffn's autograd formula runs the
// compiled glu.ffn_grad / glu.mlp_grad under Dynamo, AOTAutograd and
// Inductor; outputs, gradients and a loss curve against eager autograd, no
// recompilation across token counts, nothing d_ff-wide saved.
// REQUIRES: torch
// RUN: env SWIGLU_CAPI_LIBRARY=%swiglu_obj/lib/libSwigluCAPI.so \
// RUN:   %python -m pytest -q -p no:cacheprovider \
// RUN:   %swiglu_src/python/tests/test_torch_backend_training.py | FileCheck %s
// CHECK: {{[0-9]+}} passed
// CHECK-NOT: failed
// CHECK-NOT: skipped
