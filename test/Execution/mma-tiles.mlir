// The shapes of the GPU mma-kernel suite (test/GPU/emulate-mma.mlir) on
// the CPU reference lowering: ragged token counts, features and reductions.
// REQUIRES: numpy
// RUN: %python %S/run_cases.py --suite mma-tiles --workdir %t | FileCheck %s
// CHECK-NOT: FAIL
// CHECK: ALL 5 CASES PASSED
