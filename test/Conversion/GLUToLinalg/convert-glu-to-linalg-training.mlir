// RUN: swiglu-opt %s --convert-glu-to-linalg --cse --split-input-file | FileCheck %s

// glu.mlp_grad with dropout: the pre-activation recomputed (W1 [out, in]
// transposed once), dh = dy·W2, one elementwise generic that recomputes the
// Philox4x32-10 mask (10 rounds of 2 mului_extended; p = 0.25 drops words
// below 2^30, kept values times 1/(1-p) = 1.33333337), then dx and the weight
// gradients. Every GEMM is an scf.forall over 32-row tiles of a generic over
// (mb, kb, n, mi, ki): rows in pairs, K in blocks of 4 (expand_shape), then
// the odd last row, and a plain (m, k, n) generic for the K % 4 rest when K
// (here the token count) is dynamic.
// CHECK-DAG: #[[$A5:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d3, d1, d4)>
// CHECK-DAG: #[[$B5:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d1, d4, d2)>
// CHECK-DAG: #[[$C5:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d3, d2)>
// CHECK-DAG: #[[$AT5:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d1, d4, d0, d3)>
// CHECK-DAG: #[[$AT:.*]] = affine_map<(d0, d1, d2) -> (d1, d0)>
// CHECK-LABEL: func.func @mlp_dropout
// CHECK-SAME: (%[[X:.*]]: tensor<?x8xf32>, %[[DY:.*]]: tensor<?x8xf32>, %[[W1:.*]]: tensor<16x8xf32>, %[[W2:.*]]: tensor<8x16xf32>, %[[SEED:.*]]: tensor<i64>)
// CHECK: linalg.transpose ins(%[[W1]] : tensor<16x8xf32>)
// CHECK: %[[PRE:.*]] = scf.forall (%{{.*}}) = (0) to (%{{.*}}) step (32)
// CHECK:   tensor.expand_shape %{{.*}} {{\[}}[0, 1], [2, 3]] output_shape [%{{.*}}, 2, 2, 4] : tensor<?x8xf32> into tensor<?x2x2x4xf32>
// CHECK:   linalg.generic {indexing_maps = [#[[$A5]], #[[$B5]], #[[$C5]]], iterator_types = ["parallel", "reduction", "parallel", "parallel", "reduction"]}
// CHECK:   tensor.collapse_shape
// CHECK:   tensor.expand_shape %{{.*}} {{\[}}[0, 1], [2, 3]] output_shape [%{{.*}}, 1, 2, 4] : tensor<?x8xf32> into tensor<?x1x2x4xf32>
// CHECK:   tensor.parallel_insert_slice
// CHECK: %[[DH:.*]] = scf.forall
// CHECK: tensor.extract %[[SEED]][] : tensor<i64>
// CHECK: %[[E:.*]]:2 = linalg.generic {{.*}} ins(%[[PRE]], %[[DH]] : tensor<?x16xf32>, tensor<?x16xf32>)
// CHECK-COUNT-20: arith.mului_extended
// CHECK: %[[KEEP:.*]] = arith.cmpi uge, %{{.*}}, %c1073741824_i32 : i32
// CHECK: arith.select %[[KEEP]], %cst{{.*}}, %cst : f32
// CHECK: scf.forall
// CHECK:   linalg.generic {indexing_maps = [#[[$A5]], #[[$B5]], #[[$C5]]]
// CHECK: scf.forall
// CHECK:   linalg.generic {indexing_maps = [#[[$AT5]], #[[$B5]], #[[$C5]]]
// CHECK:   linalg.generic {indexing_maps = [#[[$AT]], {{.*}} iterator_types = ["parallel", "reduction", "parallel"]}
// CHECK: return
func.func @mlp_dropout(%x: tensor<?x8xf32>, %dy: tensor<?x8xf32>, %w1: tensor<16x8xf32>, %w2: tensor<8x16xf32>, %s: tensor<i64>)
    -> (tensor<?x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>) {
  %r:3 = glu.mlp_grad relu %x : tensor<?x8xf32> grad %dy : tensor<?x8xf32> up %w1 : tensor<16x8xf32> down %w2 : tensor<8x16xf32> seed %s : tensor<i64> {dropout = 0.25 : f32} -> tensor<?x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>
  return %r#0, %r#1, %r#2 : tensor<?x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>
}

// -----

// Kept pre-activations: no recompute GEMM before dh; a merged interleaved
// weight's gradient from one product with the merged [M, 2F] gradient
// (dg at even, du at odd features); bf16 operands widened to f32 once before
// the GEMMs, bf16 results rounded once.
// CHECK-LABEL: func.func @kept_merged
// CHECK-SAME: (%[[X:.*]]: tensor<?x8xbf16>, %[[DY:.*]]: tensor<?x8xbf16>, %[[W:.*]]: tensor<32x8xbf16>, %[[WD:.*]]: tensor<8x16xbf16>, %[[G:.*]]: tensor<?x16xf32>, %[[U:.*]]: tensor<?x16xf32>)
// CHECK-NOT: linalg.transpose
// CHECK: linalg.generic {{.*}} ins(%[[DY]] : tensor<?x8xbf16>) outs(%{{.*}} : tensor<?x8xf32>)
// CHECK:   arith.extf %{{.*}} : bf16 to f32
// CHECK: linalg.generic {{.*}} ins(%[[WD]] : tensor<8x16xbf16>) outs(%{{.*}} : tensor<8x16xf32>)
// CHECK: %[[DH:.*]] = scf.forall
// CHECK:   tensor.expand_shape %{{.*}} {{\[}}[0, 1], [2]] output_shape [2, 4, 16] : tensor<8x16xf32> into tensor<2x4x16xf32>
// CHECK: %[[E:.*]]:3 = linalg.generic {{.*}} ins(%[[G]], %[[DH]], %[[U]] : tensor<?x16xf32>, tensor<?x16xf32>, tensor<?x16xf32>)
// CHECK: %[[M0:.*]] = tensor.insert_slice %[[E]]#1 into %{{.*}}[0, 0] [%{{.*}}, 16] [1, 2]
// CHECK: %[[M:.*]] = tensor.insert_slice %[[E]]#2 into %[[M0]][0, 1] [%{{.*}}, 16] [1, 2]
// CHECK: linalg.generic {{.*}} ins(%[[W]] : tensor<32x8xbf16>) outs(%{{.*}} : tensor<32x8xf32>)
// CHECK: scf.forall
// CHECK:   tensor.expand_shape %{{.*}} {{\[}}[0, 1], [2]] output_shape [8, 4, 8] : tensor<32x8xf32> into tensor<8x4x8xf32>
// CHECK: linalg.generic {{.*}} ins(%[[X]] : tensor<?x8xbf16>) outs(%{{.*}} : tensor<?x8xf32>)
// CHECK: scf.forall
// CHECK:   tensor.expand_shape %{{.*}} : tensor<?x8xf32> into tensor<?x4x8xf32>
// CHECK: arith.truncf %{{.*}} : f32 to bf16
// CHECK: return %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x8xbf16>, tensor<32x8xbf16>, tensor<8x16xbf16>
func.func @kept_merged(%x: tensor<?x8xbf16>, %dy: tensor<?x8xbf16>, %w: tensor<32x8xbf16>, %wd: tensor<8x16xbf16>,
                       %g: tensor<?x16xf32>, %u: tensor<?x16xf32>) -> (tensor<?x8xbf16>, tensor<32x8xbf16>, tensor<8x16xbf16>) {
  %r:3 = glu.ffn_grad silu %x : tensor<?x8xbf16> grad %dy : tensor<?x8xbf16> gate_up %w : tensor<32x8xbf16> down %wd : tensor<8x16xbf16> gate_pre %g : tensor<?x16xf32> up_pre %u : tensor<?x16xf32> packing interleaved -> tensor<?x8xbf16>, tensor<32x8xbf16>, tensor<8x16xbf16>
  return %r#0, %r#1, %r#2 : tensor<?x8xbf16>, tensor<32x8xbf16>, tensor<8x16xbf16>
}
