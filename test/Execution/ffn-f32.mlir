// glu.ffn, separate gate/up weights, f32: every activation x layout x biases (none/all).
// REQUIRES: numpy
// RUN: %python %S/run_cases.py --suite ffn-f32 --workdir %t | FileCheck %s
// CHECK-NOT: FAIL
// CHECK: ALL 44 CASES PASSED
