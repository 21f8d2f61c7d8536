// glu.gate_up: packing x layout x bias x f32/f16/bf16, every activation in turn.
// REQUIRES: numpy
// RUN: %python %S/run_cases.py --suite gate_up --workdir %t | FileCheck %s
// CHECK-NOT: FAIL
// CHECK: ALL 72 CASES PASSED
