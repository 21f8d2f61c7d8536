// glu.ffn, separate gate/up weights, bf16: every activation x layout x biases (none/all).
// REQUIRES: numpy
// RUN: %python %S/run_cases.py --suite ffn-bf16 --workdir %t | FileCheck %s
// CHECK-NOT: FAIL
// CHECK: ALL 44 CASES PASSED
