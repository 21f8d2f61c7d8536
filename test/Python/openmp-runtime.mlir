// Compiled blocks in a process with PyTorch run their parallel regions on
// libgomp's threads (libSwigluGompBridge.so): numpy-checked results at uneven
// splits and team sizes, one OpenMP runtime in the process.
// REQUIRES: torch
// RUN: env SWIGLU_CAPI_LIBRARY=%swiglu_obj/lib/libSwigluCAPI.so \
// RUN:   %python -m pytest -q -p no:cacheprovider \
// RUN:   %swiglu_src/python/tests/test_openmp_runtime.py | FileCheck %s
// CHECK: 6 passed
// CHECK-NOT: failed
// CHECK-NOT: skipped
