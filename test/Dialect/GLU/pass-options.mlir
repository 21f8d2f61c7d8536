// Bad pass options are rejected before anything runs, with a clear message.
// RUN: not swiglu-opt %s --glu-fuse-ffn=tile-tokens=0 2>&1 | FileCheck %s --check-prefix=FFN
// RUN: not swiglu-opt %s --glu-fuse-ffn=chunk-ff=-1 2>&1 | FileCheck %s --check-prefix=FFN
// RUN: not swiglu-opt %s --glu-fuse-activation=tile-ff=0 2>&1 | FileCheck %s --check-prefix=ACT
// RUN: not swiglu-opt %s --glu-merge-gate-up=packing=zigzag 2>&1 | FileCheck %s --check-prefix=MERGE
// RUN: not swiglu-opt %s --glu-fuse=packing=zigzag 2>&1 | FileCheck %s --check-prefix=MERGE
// FFN: error: glu-fuse-ffn: tile-tokens and chunk-ff must be positive
// ACT: error: glu-fuse-activation: tile-tokens and tile-ff must be positive
// MERGE: error: glu-merge-gate-up: packing must be 'concat' or 'interleaved', got 'zigzag'
// MERGE-NOT: builtin.module
func.func @f(%x: tensor<4x8xf32>, %wg: tensor<16x8xf32>, %wu: tensor<16x8xf32>, %wd: tensor<8x16xf32>) -> tensor<4x8xf32> {
  %y = glu.ffn silu %x : tensor<4x8xf32> gate %wg : tensor<16x8xf32> up %wu : tensor<16x8xf32> down %wd : tensor<8x16xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
