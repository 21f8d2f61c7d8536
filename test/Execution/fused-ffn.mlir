// --glu-fuse-ffn (whole block streamed in d_ff chunks) against the numpy
// reference. Tiny tiles (2 tokens, 32 features) so that every case has
// several chunks and partial tiles.
// REQUIRES: numpy
// RUN: %python %S/run_cases.py --suite ffn-f32 --suite ffn-merged-bf16 --suite mlp --suite edge --suite dynamic-batch \
// RUN:   --passes='--glu-fuse-ffn=tile-tokens=2 chunk-ff=32' --workdir %t | FileCheck %s
// CHECK-NOT: FAIL
// CHECK: ALL {{[0-9]+}} CASES PASSED
