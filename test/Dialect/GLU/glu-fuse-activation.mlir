// RUN: swiglu-opt %s --glu-fuse-activation --split-input-file | FileCheck %s
// The [tokens, 2·d_ff] gate/up intermediate is never allocated: after
// bufferization only the [512 x 1024] hidden and [64 x 256] tiles exist.
// RUN: swiglu-opt %s --glu-fuse-activation --convert-glu-to-linalg --canonicalize \
// RUN:   --one-shot-bufferize=bufferize-function-boundaries --split-input-file \
// RUN:   | FileCheck %s --check-prefix=MEM
// Without fusion the gate and up results are whole [512 x 1024] buffers.
// RUN: swiglu-opt %s --convert-glu-to-linalg --canonicalize \
// RUN:   --one-shot-bufferize=bufferize-function-boundaries --split-input-file \
// RUN:   | FileCheck %s --check-prefix=UNFUSED

// CHECK-LABEL: func.func @gate_up
// CHECK: scf.forall (%[[I:.*]]) = (0) to (512) step (64) shared_outs(%[[H:.*]] = %{{.*}}) -> (tensor<512x1024xf16>)
// CHECK:   %[[ROW:.*]] = tensor.extract_slice %[[H]][%[[I]], 0] [64, 1024] [1, 1]
// CHECK:   scf.for %[[J:.*]] = {{.*}} iter_args(%[[R:.*]] = %[[ROW]]) -> (tensor<64x1024xf16>)
// CHECK:     %[[G:.*]] = linalg.matmul {{.*}} -> tensor<64x256xf32>
// CHECK:     %[[U:.*]] = linalg.matmul {{.*}} -> tensor<64x256xf32>
// CHECK:     %[[T:.*]] = linalg.generic {{.*}} ins(%[[G]], %[[U]] : {{.*}}) outs(%{{.*}} : tensor<64x256xf16>)
// CHECK:     tensor.insert_slice %[[T]] into %[[R]][0, %[[J]]] [64, 256] [1, 1]
// MEM-LABEL: func.func @gate_up
// MEM-NOT: memref<512x2048
// MEM-NOT: memref.alloc() {{.*}} : memref<512x1024xf32>
// MEM-DAG: memref.alloc() {{.*}} : memref<64x256xf32>
// MEM-DAG: memref.alloc() {{.*}} : memref<512x1024xf16>
// MEM-NOT: memref<512x2048
// MEM-NOT: memref.alloc() {{.*}} : memref<512x1024xf32>
// MEM: return
// UNFUSED-LABEL: func.func @gate_up
// UNFUSED-COUNT-2: memref.alloc() {{.*}} : memref<512x1024xf32>
func.func @gate_up(%x: tensor<512x64xf16>, %w: tensor<2048x64xf16>) -> tensor<512x1024xf16> {
  %h = glu.gate_up silu %x : tensor<512x64xf16> gate_up %w : tensor<2048x64xf16>
         packing interleaved -> tensor<512x1024xf16>
  return %h : tensor<512x1024xf16>
}

// -----

// glu.ffn: the hidden is built tile by tile (in acc_type), then one plain
// down projection.
// CHECK-LABEL: func.func @ffn_separate
// CHECK: %[[H:.*]] = scf.forall {{.*}} -> (tensor<?x16xf32>)
// CHECK:   linalg.matmul {{.*}} ins(%{{.*}}, %{{.*}} : tensor<?x8xbf16>, tensor<16x8xbf16>)
// CHECK: %[[Y:.*]] = linalg.matmul {{.*}} ins(%[[H]], %{{.*}} : tensor<?x16xf32>, tensor<8x16xbf16>)
func.func @ffn_separate(%x: tensor<?x8xbf16>, %wg: tensor<16x8xbf16>, %wu: tensor<16x8xbf16>,
                        %wd: tensor<8x16xbf16>) -> tensor<?x8xbf16> {
  %y = glu.ffn relu %x : tensor<?x8xbf16> gate %wg : tensor<16x8xbf16> up %wu : tensor<16x8xbf16>
         down %wd : tensor<8x16xbf16> -> tensor<?x8xbf16>
  return %y : tensor<?x8xbf16>
}

// -----

// negative_: glu.mlp has no gate; glu.gate is already elementwise.
// CHECK-LABEL: func.func @negative_mlp
// CHECK: glu.mlp
// CHECK-NOT: scf.forall
func.func @negative_mlp(%x: tensor<4x8xf32>, %w1: tensor<16x8xf32>, %w2: tensor<8x16xf32>) -> tensor<4x8xf32> {
  %y = glu.mlp relu %x : tensor<4x8xf32> up %w1 : tensor<16x8xf32> down %w2 : tensor<8x16xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
