// RUN: swiglu-opt %s --convert-glu-to-linalg --cse --split-input-file | FileCheck %s

// LLaMA's SwiGLU, PyTorch layout: batch dims collapsed, three matmuls reading
// the [out, in] weights transposed, silu·up in f32, one truncf at the end.
// CHECK-DAG: #[[$LHS:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[$RHS_T:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[$OUT:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @swiglu_out_in
// CHECK-SAME: (%[[X:.*]]: tensor<?x?x64xbf16>, %[[WG:.*]]: tensor<96x64xbf16>, %[[WU:.*]]: tensor<96x64xbf16>, %[[WD:.*]]: tensor<64x96xbf16>)
// CHECK: %[[X2:.*]] = tensor.collapse_shape %[[X]] {{\[}}[0, 1], [2]] : tensor<?x?x64xbf16> into tensor<?x64xbf16>
// CHECK: %[[G:.*]] = linalg.matmul indexing_maps = [#[[$LHS]], #[[$RHS_T]], #[[$OUT]]] ins(%[[X2]], %[[WG]] : tensor<?x64xbf16>, tensor<96x64xbf16>) outs(%{{.*}} : tensor<?x96xf32>)
// CHECK: %[[U:.*]] = linalg.matmul indexing_maps = [#[[$LHS]], #[[$RHS_T]], #[[$OUT]]] ins(%[[X2]], %[[WU]] : tensor<?x64xbf16>, tensor<96x64xbf16>) outs(%{{.*}} : tensor<?x96xf32>)
// CHECK: %[[H:.*]] = linalg.generic {{.*}} ins(%[[G]], %[[U]] : tensor<?x96xf32>, tensor<?x96xf32>) outs(%{{.*}} : tensor<?x96xf32>)
// CHECK: ^bb0(%[[GV:.*]]: f32, %[[UV:.*]]: f32, %{{.*}}: f32):
// σ(g) without overflow: e = exp(-|g|), r = 1/(1 + e), g ≥ 0 ? r : e·r.
// CHECK:   %[[ABS:.*]] = math.absf %[[GV]] : f32
// CHECK:   %[[NEG:.*]] = arith.negf %[[ABS]] : f32
// CHECK:   %[[E:.*]] = math.exp %[[NEG]] : f32
// CHECK:   %[[DEN:.*]] = arith.addf %{{.*}}, %[[E]] : f32
// CHECK:   %[[R:.*]] = arith.divf %{{.*}}, %[[DEN]] : f32
// CHECK:   %[[NONNEG:.*]] = arith.cmpf oge, %[[GV]], %{{.*}} : f32
// CHECK:   %[[ER:.*]] = arith.mulf %[[E]], %[[R]] : f32
// CHECK:   %[[SIG:.*]] = arith.select %[[NONNEG]], %[[R]], %[[ER]] : f32
// CHECK:   %[[SILU:.*]] = arith.mulf %[[GV]], %[[SIG]] : f32
// CHECK:   %[[PROD:.*]] = arith.mulf %[[SILU]], %[[UV]] : f32
// CHECK:   linalg.yield %[[PROD]] : f32
// CHECK: %[[Y:.*]] = linalg.matmul indexing_maps = [#[[$LHS]], #[[$RHS_T]], #[[$OUT]]] ins(%[[H]], %[[WD]] : tensor<?x96xf32>, tensor<64x96xbf16>) outs(%{{.*}} : tensor<?x64xf32>)
// CHECK: %[[R:.*]] = linalg.generic {{.*}} ins(%[[Y]] : tensor<?x64xf32>) outs(%{{.*}} : tensor<?x64xbf16>)
// CHECK:   arith.truncf %{{.*}} : f32 to bf16
// CHECK: %[[OUTV:.*]] = tensor.expand_shape %[[R]] {{\[}}[0, 1], [2]] output_shape [%{{.*}}, %{{.*}}, 64] : tensor<?x64xbf16> into tensor<?x?x64xbf16>
// CHECK: return %[[OUTV]]
func.func @swiglu_out_in(%x: tensor<?x?x64xbf16>, %wg: tensor<96x64xbf16>,
                         %wu: tensor<96x64xbf16>, %wd: tensor<64x96xbf16>) -> tensor<?x?x64xbf16> {
  %y = glu.ffn silu %x : tensor<?x?x64xbf16> gate %wg : tensor<96x64xbf16>
         up %wu : tensor<96x64xbf16> down %wd : tensor<64x96xbf16> -> tensor<?x?x64xbf16>
  return %y : tensor<?x?x64xbf16>
}

// -----

// GPT-OSS: merged interleaved [in, out] weight split with stride-2 slices,
// the bias split the same way; clamps and (u' + 1) in the gating.
// CHECK-LABEL: func.func @clamped_interleaved_in_out
// CHECK-SAME: (%[[X:.*]]: tensor<5x8xf32>, %[[W:.*]]: tensor<8x32xf32>, %[[B:.*]]: tensor<32xf32>
// CHECK-DAG: %[[WG:.*]] = tensor.extract_slice %[[W]][0, 0] [8, 16] [1, 2] : tensor<8x32xf32> to tensor<8x16xf32>
// CHECK-DAG: %[[WU:.*]] = tensor.extract_slice %[[W]][0, 1] [8, 16] [1, 2] : tensor<8x32xf32> to tensor<8x16xf32>
// CHECK-DAG: linalg.matmul ins(%[[X]], %[[WG]] : tensor<5x8xf32>, tensor<8x16xf32>)
// CHECK-DAG: linalg.matmul ins(%[[X]], %[[WU]] : tensor<5x8xf32>, tensor<8x16xf32>)
// CHECK-DAG: %[[BG:.*]] = tensor.extract_slice %[[B]][0] [16] [2] : tensor<32xf32> to tensor<16xf32>
// CHECK-DAG: %[[BU:.*]] = tensor.extract_slice %[[B]][1] [16] [2] : tensor<32xf32> to tensor<16xf32>
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}}, %[[BG]], %[[BU]] :
// CHECK: ^bb0(%[[GV:.*]]: f32, %[[UV:.*]]: f32, %[[BGV:.*]]: f32, %[[BUV:.*]]: f32, %{{.*}}: f32):
// CHECK-DAG: %[[G:.*]] = arith.addf %[[GV]], %[[BGV]] : f32
// CHECK-DAG: %[[U:.*]] = arith.addf %[[UV]], %[[BUV]] : f32
// CHECK-DAG: %[[L:.*]] = arith.constant 7.000000e+00 : f32
// CHECK-DAG: %[[NL:.*]] = arith.constant -7.000000e+00 : f32
// CHECK-DAG: %[[GC:.*]] = arith.minimumf %[[G]], %[[L]] : f32
// CHECK-DAG: %[[ULO:.*]] = arith.maximumf %[[U]], %[[NL]] : f32
// CHECK-DAG: %[[UC:.*]] = arith.minimumf %[[ULO]], %[[L]] : f32
// CHECK-DAG: %[[ALPHA:.*]] = arith.constant 1.702000e+00 : f32
// CHECK-DAG: arith.mulf %[[ALPHA]], %[[GC]] : f32
// CHECK: %[[UP1:.*]] = arith.addf %[[UC]], %{{.*}} : f32
// CHECK: %[[OUTV:.*]] = arith.mulf %{{.*}}, %[[UP1]] : f32
// CHECK: linalg.yield %[[OUTV]] : f32
func.func @clamped_interleaved_in_out(%x: tensor<5x8xf32>, %w: tensor<8x32xf32>, %b: tensor<32xf32>,
                                      %wd: tensor<16x8xf32>) -> tensor<5x8xf32> {
  %y = glu.ffn clamped_swiglu %x : tensor<5x8xf32> gate_up %w : tensor<8x32xf32>
         down %wd : tensor<16x8xf32> gate_up_bias %b : tensor<32xf32>
         packing interleaved layout in_out -> tensor<5x8xf32>
  return %y : tensor<5x8xf32>
}

// -----

// A concatenated merged weight of dynamic size: halves at 0 and 2F/2.
// CHECK: #[[$HALF:.*]] = affine_map<()[s0] -> (s0 floordiv 2)>
// CHECK-LABEL: func.func @concat_dynamic
// CHECK-SAME: (%[[X:.*]]: tensor<3x8xf16>, %[[W:.*]]: tensor<?x8xf16>)
// CHECK: %[[N:.*]] = tensor.dim %[[W]], %{{.*}} : tensor<?x8xf16>
// CHECK: %[[F:.*]] = affine.apply #[[$HALF]]()[%[[N]]]
// CHECK: tensor.extract_slice %[[W]][0, 0] [%[[F]], 8] [1, 1]
// CHECK: tensor.extract_slice %[[W]][%[[F]], 0] [%[[F]], 8] [1, 1]
// CHECK: linalg.generic
// CHECK:   math.erf
// CHECK:   arith.truncf %{{.*}} : f32 to f16
// CHECK: tensor.cast %{{.*}} : tensor<3x?xf16> to tensor<3x4xf16>
func.func @concat_dynamic(%x: tensor<3x8xf16>, %w: tensor<?x8xf16>) -> tensor<3x4xf16> {
  %h = glu.gate_up gelu_erf %x : tensor<3x8xf16> gate_up %w : tensor<?x8xf16> -> tensor<3x4xf16>
  return %h : tensor<3x4xf16>
}

// -----

// One dynamic batch dim among several: an expand_shape restores them.
// CHECK-LABEL: func.func @batch_one_dynamic
// CHECK: tensor.collapse_shape %{{.*}} {{\[}}[0, 1, 2], [3]] : tensor<2x?x3x8xf32> into tensor<?x8xf32>
// CHECK: tensor.expand_shape %{{.*}} {{\[}}[0, 1, 2], [3]] output_shape [2, %{{.*}}, 3, 8] : tensor<?x8xf32> into tensor<2x?x3x8xf32>
func.func @batch_one_dynamic(%x: tensor<2x?x3x8xf32>, %w1: tensor<16x8xf32>, %w2: tensor<8x16xf32>) -> tensor<2x?x3x8xf32> {
  %y = glu.mlp silu %x : tensor<2x?x3x8xf32> up %w1 : tensor<16x8xf32> down %w2 : tensor<8x16xf32> -> tensor<2x?x3x8xf32>
  return %y : tensor<2x?x3x8xf32>
}

// -----

// A rank-1 input is one token: expanded to [1, D] and collapsed back.
// CHECK-LABEL: func.func @mlp_one_token
// CHECK: tensor.expand_shape %{{.*}} {{\[}}[0, 1]] output_shape [1, 8] : tensor<8xf32> into tensor<1x8xf32>
// CHECK: linalg.matmul
// CHECK: linalg.generic
// CHECK:   arith.maximumf
// CHECK: linalg.matmul
// CHECK: tensor.collapse_shape %{{.*}} {{\[}}[0, 1]] : tensor<1x8xf32> into tensor<8xf32>
func.func @mlp_one_token(%x: tensor<8xf32>, %w1: tensor<16x8xf32>, %w2: tensor<8x16xf32>) -> tensor<8xf32> {
  %y = glu.mlp relu %x : tensor<8xf32> up %w1 : tensor<16x8xf32> down %w2 : tensor<8x16xf32> -> tensor<8xf32>
  return %y : tensor<8xf32>
}

// -----

// The elementwise gating, any rank; bf16 extended to f32 and rounded back.
// CHECK-LABEL: func.func @gate_tanh
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel"]
// CHECK:   arith.extf %{{.*}} : bf16 to f32
// CHECK:   arith.extf %{{.*}} : bf16 to f32
// CHECK:   math.tanh
// CHECK:   arith.truncf %{{.*}} : f32 to bf16
func.func @gate_tanh(%g: tensor<2x3x4xbf16>, %u: tensor<2x3x4xbf16>) -> tensor<2x3x4xbf16> {
  %h = glu.gate gelu_tanh %g, %u : tensor<2x3x4xbf16>
  return %h : tensor<2x3x4xbf16>
}
