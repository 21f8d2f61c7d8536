// glu.ffn, merged gate_up weight (concat, interleaved), f32: every activation x layout x biases.
// REQUIRES: numpy
// RUN: %python %S/run_cases.py --suite ffn-merged-f32 --workdir %t | FileCheck %s
// CHECK-NOT: FAIL
// CHECK: ALL 88 CASES PASSED
