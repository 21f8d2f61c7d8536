// glu.mlp: relu, gelu_erf, gelu_tanh, silu, sigmoid, identity (+ swish) x f32/f16/bf16 x layout x biases.
// REQUIRES: numpy
// RUN: %python %S/run_cases.py --suite mlp --workdir %t | FileCheck %s
// CHECK-NOT: FAIL
// CHECK: ALL 75 CASES PASSED
