// RUN: swiglu-opt %s --glu-moe-to-experts | FileCheck %s
// RUN: swiglu-opt %s --glu-moe-to-experts="grouped-decode-tokens=8" | FileCheck %s --check-prefix=GROUPED
// Each expert of a glu.moe becomes a glu.ffn on the tokens routed to it (x
// widened to f32, the expert's weights sliced as stored, f32 biases), inside
// a loop over experts that skips experts without tokens; the weighted rows
// are summed in f32 and rounded once. (Numerics: test/Execution/moe.mlir.)
// With grouped-decode-tokens=8 (GROUPED), inputs of at most 8 tokens keep
// the glu.moe, tagged for convert-glu-to-cpu-kernels' grouped kernel
// (test/Conversion/GLUToCPU/moe-grouped-decode.mlir); the others take the
// per-expert loop.

// CHECK-LABEL: func.func @mixtral
// CHECK:         %[[XF:.*]] = linalg.generic {{.*}} ins(%{{.*}} : tensor<?x64xbf16>) outs(%{{.*}} : tensor<?x64xf32>)
// CHECK:         scf.for %[[E:.*]] = {{.*}} iter_args(%{{.*}} = %{{.*}}) -> (tensor<?x?xf32>)
// CHECK:           scf.if %{{.*}} -> (tensor<?x?xf32>)
// CHECK:             %[[WG:.*]] = tensor.extract_slice %{{.*}}[%[[E]], 0, 0] [1, 96, 64] [1, 1, 1] : tensor<8x96x64xbf16> to tensor<96x64xbf16>
// CHECK:             glu.ffn silu %{{.*}} : tensor<?x64xf32> gate %[[WG]] : tensor<96x64xbf16> up %{{.*}} : tensor<96x64xbf16> down %{{.*}} : tensor<64x96xbf16> down_bias %{{.*}} : tensor<64xf32> -> tensor<?x64xf32>
// CHECK:           } else {
// CHECK:         arith.truncf %{{.*}} : f32 to bf16
// CHECK-NOT:     glu.moe
func.func @mixtral(%x: tensor<?x64xbf16>, %ids: tensor<?x2xi32>, %w: tensor<?x2xf32>,
                   %wg: tensor<8x96x64xbf16>, %wu: tensor<8x96x64xbf16>, %wd: tensor<8x64x96xbf16>,
                   %bd: tensor<8x64xbf16>) -> tensor<?x64xbf16> {
  %y = glu.moe silu %x : tensor<?x64xbf16> experts %ids : tensor<?x2xi32> weights %w : tensor<?x2xf32>
         gate %wg : tensor<8x96x64xbf16> up %wu : tensor<8x96x64xbf16>
         down %wd : tensor<8x64x96xbf16> down_bias %bd : tensor<8x64xbf16> -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}


// GROUPED-LABEL: func.func @mixtral
// GROUPED:         %[[T:.*]] = tensor.dim %{{.*}}, %{{.*}} : tensor<?x64xbf16>
// GROUPED:         %[[SMALL:.*]] = arith.cmpi ule, %[[T]], %{{.*}} : index
// GROUPED:         %[[Y:.*]] = scf.if %[[SMALL]] -> (tensor<?x64xbf16>) {
// GROUPED:           %[[M:.*]] = glu.moe silu
// GROUPED-SAME:        glu.grouped_decode
// GROUPED:           scf.yield %[[M]]
// GROUPED:         } else {
// GROUPED-NOT:       glu.moe
// GROUPED:           scf.for
// GROUPED:             glu.ffn silu
// GROUPED:         return %[[Y]]

// A static token count above the limit: the per-expert loop alone.
// GROUPED-LABEL: func.func @prefill
// GROUPED-NOT:     glu.moe
// GROUPED-NOT:     arith.cmpi ule
// GROUPED:         scf.for
// GROUPED:           glu.ffn silu
// GROUPED:         return
func.func @prefill(%x: tensor<16x64xf32>, %ids: tensor<16x2xi32>, %w: tensor<16x2xf32>,
                   %wg: tensor<8x96x64xf32>, %wu: tensor<8x96x64xf32>, %wd: tensor<8x64x96xf32>)
                   -> tensor<16x64xf32> {
  %y = glu.moe silu %x : tensor<16x64xf32> experts %ids : tensor<16x2xi32> weights %w : tensor<16x2xf32>
         gate %wg : tensor<8x96x64xf32> up %wu : tensor<8x96x64xf32>
         down %wd : tensor<8x64x96xf32> -> tensor<16x64xf32>
  return %y : tensor<16x64xf32>
}
