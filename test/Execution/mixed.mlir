// Weights of their own element type (f32 x with bf16/f16 weights, ...) and acc_type = f64.
// REQUIRES: numpy
// RUN: %python %S/run_cases.py --suite mixed --workdir %t | FileCheck %s
// CHECK-NOT: FAIL
// CHECK: ALL 11 CASES PASSED
