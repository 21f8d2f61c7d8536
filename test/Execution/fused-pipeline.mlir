// The --glu-fuse pipeline: gate/up merged (argument weights packed once by
// the emitted packing function, which the driver runs first), then fused.
// REQUIRES: numpy
// RUN: %python %S/run_cases.py --suite ffn-f32 --suite ffn-bf16 --suite mixed \
// RUN:   --passes='--glu-fuse=tile-tokens=2 chunk-ff=32 packing=interleaved' --workdir %t | FileCheck %s
// The LLaMA-shaped block with the default tiles.
// RUN: %python %S/run_cases.py --suite llama --passes=--glu-fuse --workdir %t | FileCheck %s
// CHECK-NOT: FAIL
// CHECK: ALL {{[0-9]+}} CASES PASSED
