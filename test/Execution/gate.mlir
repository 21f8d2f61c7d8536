// glu.gate: every activation x f32/f16/bf16 on 3-D tensors (static and dynamic), with extreme values and NaN.
// REQUIRES: numpy
// RUN: %python %S/run_cases.py --suite gate --workdir %t | FileCheck %s
// CHECK-NOT: FAIL
// CHECK: ALL 33 CASES PASSED
