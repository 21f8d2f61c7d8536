// The Python tests of the training ops (python/tests/test_grad*.py: glu.ffn_grad
// and glu.mlp_grad, dropout, the compiled backward's kernels and rounding)
// against the numpy reference of the derivatives; pytest.mlir runs the rest.
// REQUIRES: numpy
// RUN: env SWIGLU_CAPI_LIBRARY=%swiglu_obj/lib/libSwigluCAPI.so \
// RUN:   %python -m pytest -q -p no:cacheprovider %swiglu_src/python/tests/test_grad*.py \
// RUN:   | FileCheck %s
// CHECK: {{[0-9]+}} passed
// CHECK-NOT: failed
