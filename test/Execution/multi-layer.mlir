// Whole models through the fast pipeline: a 5-layer stack (SwiGLU, SwiGLU,
// GeGLU-tanh, ReLU MLP with biases, SwiGLU) in one function, compiled into one
// library through the C API and compared with the float64 numpy reference,
// with weights as arguments (one model_pack_weights for all layers) and as
// constants (packed at compile time). See multi_layer.py.
// REQUIRES: numpy
// RUN: env SWIGLU_CAPI_LIBRARY=%swiglu_obj/lib/libSwigluCAPI.so \
// RUN:   %python %S/multi_layer.py | FileCheck %s
// CHECK: arguments: 14 matrices packed into 3x48x64 1x96x64 3x48x64 1x96x64 3x48x64 1x96x64 2x48x64 1x128x64 3x48x64 1x96x64
// CHECK-NOT: FAIL
// CHECK: ALL OK
