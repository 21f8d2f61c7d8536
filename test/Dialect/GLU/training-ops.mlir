// Round trip of glu.ffn_grad, glu.mlp_grad and glu.dropout through the custom
// syntax, then through the generic form.
// RUN: swiglu-opt %s | swiglu-opt | FileCheck %s
// RUN: swiglu-opt %s --mlir-print-op-generic | swiglu-opt | FileCheck %s

// LLaMA-style SwiGLU: dx, dWg, dWu, dWd.
// CHECK-LABEL: func.func @llama
// CHECK: glu.ffn_grad silu %{{.*}} : tensor<?x?x64xf32> grad %{{.*}} : tensor<?x?x64xf32> gate %{{.*}} : tensor<176x64xf32> up %{{.*}} : tensor<176x64xf32> down %{{.*}} : tensor<64x176xf32> -> tensor<?x?x64xf32>, tensor<176x64xf32>, tensor<176x64xf32>, tensor<64x176xf32>
func.func @llama(%x: tensor<?x?x64xf32>, %dy: tensor<?x?x64xf32>, %wg: tensor<176x64xf32>,
                 %wu: tensor<176x64xf32>, %wd: tensor<64x176xf32>)
    -> (tensor<?x?x64xf32>, tensor<176x64xf32>, tensor<176x64xf32>, tensor<64x176xf32>) {
  %dx, %dwg, %dwu, %dwd = glu.ffn_grad silu %x : tensor<?x?x64xf32> grad %dy : tensor<?x?x64xf32>
      gate %wg : tensor<176x64xf32> up %wu : tensor<176x64xf32> down %wd : tensor<64x176xf32>
      -> tensor<?x?x64xf32>, tensor<176x64xf32>, tensor<176x64xf32>, tensor<64x176xf32>
  return %dx, %dwg, %dwu, %dwd : tensor<?x?x64xf32>, tensor<176x64xf32>, tensor<176x64xf32>, tensor<64x176xf32>
}

// GPT-OSS: merged interleaved weight with biases, bf16, dropout after the gating.
// CHECK-LABEL: func.func @gpt_oss
// CHECK: glu.ffn_grad clamped_swiglu %{{.*}} : tensor<?x32xbf16> grad %{{.*}} : tensor<?x32xbf16> gate_up %{{.*}} : tensor<32x96xbf16> down %{{.*}} : tensor<48x32xbf16> gate_up_bias %{{.*}} : tensor<96xbf16> down_bias %{{.*}} : tensor<32xbf16> seed %{{.*}} : tensor<i64> packing interleaved layout in_out {alpha = 1.702000e+00 : f32, dropout = 1.000000e-01 : f32, limit = 7.000000e+00 : f32} -> tensor<?x32xbf16>, tensor<32x96xbf16>, tensor<48x32xbf16>, tensor<96xbf16>, tensor<32xbf16>
func.func @gpt_oss(%x: tensor<?x32xbf16>, %dy: tensor<?x32xbf16>, %w: tensor<32x96xbf16>,
                   %wd: tensor<48x32xbf16>, %b: tensor<96xbf16>, %bd: tensor<32xbf16>, %seed: tensor<i64>)
    -> (tensor<?x32xbf16>, tensor<32x96xbf16>, tensor<48x32xbf16>, tensor<96xbf16>, tensor<32xbf16>) {
  %r:5 = glu.ffn_grad clamped_swiglu %x : tensor<?x32xbf16> grad %dy : tensor<?x32xbf16>
      gate_up %w : tensor<32x96xbf16> down %wd : tensor<48x32xbf16>
      gate_up_bias %b : tensor<96xbf16> down_bias %bd : tensor<32xbf16> seed %seed : tensor<i64>
      packing interleaved layout in_out {alpha = 1.702 : f32, limit = 7.0 : f32, dropout = 0.1 : f32}
      -> tensor<?x32xbf16>, tensor<32x96xbf16>, tensor<48x32xbf16>, tensor<96xbf16>, tensor<32xbf16>
  return %r#0, %r#1, %r#2, %r#3, %r#4 : tensor<?x32xbf16>, tensor<32x96xbf16>, tensor<48x32xbf16>, tensor<96xbf16>, tensor<32xbf16>
}

// The classic GELU MLP with biases.
// CHECK-LABEL: func.func @gelu_mlp
// CHECK: glu.mlp_grad gelu_tanh %{{.*}} : tensor<?x16xf32> grad %{{.*}} : tensor<?x16xf32> up %{{.*}} : tensor<64x16xf32> down %{{.*}} : tensor<16x64xf32> up_bias %{{.*}} : tensor<64xf32> down_bias %{{.*}} : tensor<16xf32> -> tensor<?x16xf32>, tensor<64x16xf32>, tensor<16x64xf32>, tensor<64xf32>, tensor<16xf32>
func.func @gelu_mlp(%x: tensor<?x16xf32>, %dy: tensor<?x16xf32>, %w1: tensor<64x16xf32>,
                    %w2: tensor<16x64xf32>, %b1: tensor<64xf32>, %b2: tensor<16xf32>)
    -> (tensor<?x16xf32>, tensor<64x16xf32>, tensor<16x64xf32>, tensor<64xf32>, tensor<16xf32>) {
  %r:5 = glu.mlp_grad gelu_tanh %x : tensor<?x16xf32> grad %dy : tensor<?x16xf32>
      up %w1 : tensor<64x16xf32> down %w2 : tensor<16x64xf32>
      up_bias %b1 : tensor<64xf32> down_bias %b2 : tensor<16xf32>
      -> tensor<?x16xf32>, tensor<64x16xf32>, tensor<16x64xf32>, tensor<64xf32>, tensor<16xf32>
  return %r#0, %r#1, %r#2, %r#3, %r#4 : tensor<?x16xf32>, tensor<64x16xf32>, tensor<16x64xf32>, tensor<64xf32>, tensor<16xf32>
}

// CHECK-LABEL: func.func @dropout
// CHECK: glu.dropout %{{.*}}, %{{.*}} {p = 2.500000e-01 : f32} : tensor<?x176xbf16>, tensor<i64>
func.func @dropout(%h: tensor<?x176xbf16>, %seed: tensor<i64>) -> tensor<?x176xbf16> {
  %y = glu.dropout %h, %seed {p = 0.25 : f32} : tensor<?x176xbf16>, tensor<i64>
  return %y : tensor<?x176xbf16>
}

// The forward's pre-activations kept: no recompute.
// CHECK-LABEL: func.func @kept
// CHECK: glu.ffn_grad gelu_erf %{{.*}} : tensor<?x16xf32> grad %{{.*}} : tensor<?x16xf32> gate %{{.*}} : tensor<32x16xf32> up %{{.*}} : tensor<32x16xf32> down %{{.*}} : tensor<16x32xf32> gate_pre %{{.*}} : tensor<?x32xf32> up_pre %{{.*}} : tensor<?x32xf32> -> tensor<?x16xf32>, tensor<32x16xf32>, tensor<32x16xf32>, tensor<16x32xf32>
func.func @kept(%x: tensor<?x16xf32>, %dy: tensor<?x16xf32>, %wg: tensor<32x16xf32>, %wu: tensor<32x16xf32>,
                %wd: tensor<16x32xf32>, %g: tensor<?x32xf32>, %u: tensor<?x32xf32>)
    -> (tensor<?x16xf32>, tensor<32x16xf32>, tensor<32x16xf32>, tensor<16x32xf32>) {
  %r:4 = glu.ffn_grad gelu_erf %x : tensor<?x16xf32> grad %dy : tensor<?x16xf32>
      gate %wg : tensor<32x16xf32> up %wu : tensor<32x16xf32> down %wd : tensor<16x32xf32>
      gate_pre %g : tensor<?x32xf32> up_pre %u : tensor<?x32xf32>
      -> tensor<?x16xf32>, tensor<32x16xf32>, tensor<32x16xf32>, tensor<16x32xf32>
  return %r#0, %r#1, %r#2, %r#3 : tensor<?x16xf32>, tensor<32x16xf32>, tensor<32x16xf32>, tensor<16x32xf32>
}
