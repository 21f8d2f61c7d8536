// All-f16 computations with acc_type = f16.
// REQUIRES: numpy
// RUN: %python %S/run_cases.py --suite acc-f16 --workdir %t | FileCheck %s
// CHECK-NOT: FAIL
// CHECK: ALL 4 CASES PASSED
