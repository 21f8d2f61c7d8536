// --glu-fuse-activation (gate and up per tile, gating before the store)
// against the numpy reference, with tiles that divide nothing.
// REQUIRES: numpy
// RUN: %python %S/run_cases.py --suite gate_up --suite ffn-f16 --suite ffn-merged-f32 --suite edge \
// RUN:   --passes='--glu-fuse-activation=tile-tokens=3 tile-ff=32' --workdir %t | FileCheck %s
// CHECK-NOT: FAIL
// CHECK: ALL {{[0-9]+}} CASES PASSED
