// Edge shapes: one token, rank-1 and rank-3/4 inputs, odd sizes, dynamic weights, d_out != d_model, partial biases, spelled-out defaults.
// REQUIRES: numpy
// RUN: %python %S/run_cases.py --suite edge --workdir %t | FileCheck %s
// CHECK-NOT: FAIL
// CHECK: ALL 44 CASES PASSED
