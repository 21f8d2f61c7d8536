// The Python package's tests (python/tests), through the C API library of
// this build.
// REQUIRES: numpy
// RUN: env SWIGLU_CAPI_LIBRARY=%swiglu_obj/lib/libSwigluCAPI.so \
// RUN:   %python -m pytest -q -p no:cacheprovider %swiglu_src/python/tests | FileCheck %s
// CHECK: {{[0-9]+}} passed
// CHECK-NOT: failed
