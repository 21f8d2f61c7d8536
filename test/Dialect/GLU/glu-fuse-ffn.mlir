// RUN: swiglu-opt %s --glu-fuse-ffn --split-input-file | FileCheck %s
// The hidden never exists beyond one tile: after bufferization the only
// buffers are the output, [64 x 256] chunks and the [64 x 64] output tile.
// RUN: swiglu-opt %s --glu-fuse-ffn --convert-glu-to-linalg --canonicalize \
// RUN:   --one-shot-bufferize=bufferize-function-boundaries --split-input-file \
// RUN:   | FileCheck %s --check-prefix=MEM

// CHECK-LABEL: func.func @llama_like
// CHECK-SAME: (%[[X:.*]]: tensor<512x64xf32>, %[[W:.*]]: tensor<2048x64xf32>, %[[WD:.*]]: tensor<64x1024xf32>, %[[BD:.*]]: tensor<64xf32>)
// CHECK: scf.forall (%[[I:.*]]) = (0) to (512) step (64) shared_outs(%[[OUT:.*]] = %{{.*}}) -> (tensor<512x64xf32>)
// CHECK:   %[[XT:.*]] = tensor.extract_slice %[[X]][%[[I]], 0] [64, 64] [1, 1]
// CHECK:   %[[ACC0:.*]] = linalg.fill {{.*}} -> tensor<64x64xf32>
// CHECK:   %[[ACC:.*]] = scf.for %[[F:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[A:.*]] = %[[ACC0]]) -> (tensor<64x64xf32>)
// CHECK:     %[[WG:.*]] = tensor.extract_slice %[[W]][%[[F]], 0] [256, 64] [1, 1]
// CHECK:     %[[UOFF:.*]] = affine.apply
// CHECK:     %[[WU:.*]] = tensor.extract_slice %[[W]][%[[UOFF]], 0] [256, 64] [1, 1]
// CHECK:     %[[G:.*]] = linalg.matmul {{.*}} ins(%[[XT]], %[[WG]] : tensor<64x64xf32>, tensor<256x64xf32>)
// CHECK:     %[[U:.*]] = linalg.matmul {{.*}} ins(%[[XT]], %[[WU]] : tensor<64x64xf32>, tensor<256x64xf32>)
// CHECK:     %[[H:.*]] = linalg.generic {{.*}} ins(%[[G]], %[[U]] : tensor<64x256xf32>, tensor<64x256xf32>)
// CHECK:       math.exp
// CHECK:     %[[WDC:.*]] = tensor.extract_slice %[[WD]][0, %[[F]]] [64, 256] [1, 1]
// CHECK:     %[[NEXT:.*]] = linalg.matmul {{.*}} ins(%[[H]], %[[WDC]] : tensor<64x256xf32>, tensor<64x256xf32>) outs(%[[A]] : tensor<64x64xf32>)
// CHECK:     scf.yield %[[NEXT]]
// CHECK:   %[[Y:.*]] = linalg.generic {{.*}} ins(%[[ACC]], %[[BD]] : tensor<64x64xf32>, tensor<64xf32>)
// CHECK:   scf.forall.in_parallel
// CHECK:     tensor.parallel_insert_slice %[[Y]] into %[[OUT]][%[[I]], 0] [64, 64] [1, 1]
// MEM-LABEL: func.func @llama_like
// MEM-NOT: memref<512x1024xf32>
// MEM-NOT: memref<512x2048xf32>
// MEM-DAG: memref.alloc() {{.*}} : memref<64x64xf32>
// MEM-DAG: memref.alloc() {{.*}} : memref<64x256xf32>
// MEM-NOT: memref<512x1024xf32>
// MEM-NOT: memref<512x2048xf32>
// MEM: return
func.func @llama_like(%x: tensor<512x64xf32>, %w: tensor<2048x64xf32>, %wd: tensor<64x1024xf32>,
                      %bd: tensor<64xf32>) -> tensor<512x64xf32> {
  %y = glu.ffn silu %x : tensor<512x64xf32> gate_up %w : tensor<2048x64xf32>
         down %wd : tensor<64x1024xf32> down_bias %bd : tensor<64xf32> -> tensor<512x64xf32>
  return %y : tensor<512x64xf32>
}

// -----

// Sizes that tiles do not divide and dynamic tokens: partial tiles through
// affine.min; in_out weights chunked along their columns; tile options.
// RUN: swiglu-opt %s --glu-fuse-ffn="tile-tokens=8 chunk-ff=16" --split-input-file | FileCheck %s --check-prefix=OPT
// OPT-LABEL: func.func @partial_tiles
// OPT: scf.forall (%[[I:.*]]) = (0) to (%{{.*}}) step (8)
// OPT:   %[[M:.*]] = affine.min #{{.*}}(%[[I]])[%{{.*}}]
// OPT:   scf.for %[[F:.*]] = %{{.*}} to %{{.*}} step %{{.*}}
// OPT:     %[[FS:.*]] = affine.min #{{.*}}(%[[F]])
// OPT:     tensor.extract_slice %{{.*}}[0, %[[F]]] [37, %[[FS]]] [1, 1] : tensor<37x129xbf16>
// OPT:     linalg.generic
// OPT:       math.tanh
// OPT:     tensor.extract_slice %{{.*}}[%[[F]], 0] [%[[FS]], 37] [1, 1] : tensor<129x37xbf16>
func.func @partial_tiles(%x: tensor<?x37xbf16>, %w1: tensor<37x129xbf16>, %w2: tensor<129x37xbf16>) -> tensor<?x37xbf16> {
  %y = glu.mlp gelu_tanh %x : tensor<?x37xbf16> up %w1 : tensor<37x129xbf16> down %w2 : tensor<129x37xbf16>
         layout in_out -> tensor<?x37xbf16>
  return %y : tensor<?x37xbf16>
}

// -----

// negative_: glu.gate_up and glu.gate are not whole blocks; left alone.
// CHECK-LABEL: func.func @negative_not_a_block
// CHECK: glu.gate_up
// CHECK: glu.gate
// CHECK-NOT: scf.forall
func.func @negative_not_a_block(%x: tensor<4x8xf32>, %w: tensor<32x8xf32>) -> tensor<4x16xf32> {
  %h = glu.gate_up silu %x : tensor<4x8xf32> gate_up %w : tensor<32x8xf32> -> tensor<4x16xf32>
  %g = glu.gate relu %h, %h : tensor<4x16xf32>
  return %g : tensor<4x16xf32>
}
