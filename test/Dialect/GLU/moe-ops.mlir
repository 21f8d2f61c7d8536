// RUN: swiglu-opt %s | FileCheck %s
// Round trip of glu.route and glu.moe through the custom syntax, then through
// the generic form.
// RUN: swiglu-opt %s | swiglu-opt | FileCheck %s
// RUN: swiglu-opt %s --mlir-print-op-generic | swiglu-opt | FileCheck %s

// Mixtral: softmax over 8 experts, top-2, renormalized; separate weights.
// CHECK-LABEL: func.func @mixtral
// CHECK: glu.route softmax %{{.*}} : tensor<?x8xf32> top_k 2 {renormalize} -> tensor<?x2xi32>, tensor<?x2xf32>
// CHECK: glu.moe silu %{{.*}} : tensor<?x64xbf16> experts %{{.*}} : tensor<?x2xi32> weights %{{.*}} : tensor<?x2xf32> gate %{{.*}} : tensor<8x96x64xbf16> up %{{.*}} : tensor<8x96x64xbf16> down %{{.*}} : tensor<8x64x96xbf16> -> tensor<?x64xbf16>
func.func @mixtral(%x: tensor<?x64xbf16>, %logits: tensor<?x8xf32>, %wg: tensor<8x96x64xbf16>,
                   %wu: tensor<8x96x64xbf16>, %wd: tensor<8x64x96xbf16>) -> tensor<?x64xbf16> {
  %ids, %w = glu.route softmax %logits : tensor<?x8xf32> top_k 2 {renormalize}
               -> tensor<?x2xi32>, tensor<?x2xf32>
  %y = glu.moe silu %x : tensor<?x64xbf16> experts %ids : tensor<?x2xi32> weights %w : tensor<?x2xf32>
         gate %wg : tensor<8x96x64xbf16> up %wu : tensor<8x96x64xbf16>
         down %wd : tensor<8x64x96xbf16> -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// DeepSeek-V3: sigmoid scores, selection bias, group-limited top-8 of 32,
// renormalized and scaled; ids as i64.
// CHECK-LABEL: func.func @deepseek
// CHECK: glu.route sigmoid %{{.*}} : tensor<4x32xf32> top_k 8 selection_bias %{{.*}} : tensor<32xf32> groups 8 topk_groups 4 group_score top2_sum {renormalize, scaling = 2.500000e+00 : f32} -> tensor<4x8xi64>, tensor<4x8xf32>
func.func @deepseek(%logits: tensor<4x32xf32>, %bias: tensor<32xf32>) -> (tensor<4x8xi64>, tensor<4x8xf32>) {
  %ids, %w = glu.route sigmoid %logits : tensor<4x32xf32> top_k 8 selection_bias %bias : tensor<32xf32>
               groups 8 topk_groups 4 group_score top2_sum {renormalize, scaling = 2.5 : f32}
               -> tensor<4x8xi64>, tensor<4x8xf32>
  return %ids, %w : tensor<4x8xi64>, tensor<4x8xf32>
}

// GPT-OSS: top-k then softmax; interleaved merged gate/up with biases,
// [in, out] weights, clamped SwiGLU.
// CHECK-LABEL: func.func @gpt_oss
// CHECK: glu.route topk_softmax %{{.*}} : tensor<?x4xf32> top_k 2 -> tensor<?x2xi32>, tensor<?x2xf32>
// CHECK: glu.moe clamped_swiglu %{{.*}} : tensor<?x32xf32> experts %{{.*}} : tensor<?x2xi32> weights %{{.*}} : tensor<?x2xf32> gate_up %{{.*}} : tensor<4x32x96xf32> down %{{.*}} : tensor<4x48x32xf32> gate_up_bias %{{.*}} : tensor<4x96xf32> down_bias %{{.*}} : tensor<4x32xf32> packing interleaved layout in_out {alpha = 1.702000e+00 : f32, limit = 7.000000e+00 : f32} -> tensor<?x32xf32>
func.func @gpt_oss(%x: tensor<?x32xf32>, %logits: tensor<?x4xf32>, %wgu: tensor<4x32x96xf32>,
                   %bgu: tensor<4x96xf32>, %wd: tensor<4x48x32xf32>, %bd: tensor<4x32xf32>) -> tensor<?x32xf32> {
  %ids, %w = glu.route topk_softmax %logits : tensor<?x4xf32> top_k 2 -> tensor<?x2xi32>, tensor<?x2xf32>
  %y = glu.moe clamped_swiglu %x : tensor<?x32xf32> experts %ids : tensor<?x2xi32> weights %w : tensor<?x2xf32>
         gate_up %wgu : tensor<4x32x96xf32> down %wd : tensor<4x48x32xf32>
         gate_up_bias %bgu : tensor<4x96xf32> down_bias %bd : tensor<4x32xf32>
         packing interleaved layout in_out {alpha = 1.702 : f32, limit = 7.0 : f32} -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}
