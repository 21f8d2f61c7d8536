// RUN: swiglu-opt %s | FileCheck %s
// Round trip through the custom syntax, then through the generic form.
// RUN: swiglu-opt %s | swiglu-opt | FileCheck %s
// RUN: swiglu-opt %s --mlir-print-op-generic | swiglu-opt | FileCheck %s

// CHECK-LABEL: func.func @llama_swiglu
// CHECK: glu.ffn silu %{{.*}} : tensor<?x?x4096xbf16> gate %{{.*}} : tensor<11008x4096xbf16> up %{{.*}} : tensor<11008x4096xbf16> down %{{.*}} : tensor<4096x11008xbf16> -> tensor<?x?x4096xbf16>
func.func @llama_swiglu(%x: tensor<?x?x4096xbf16>, %wg: tensor<11008x4096xbf16>,
                        %wu: tensor<11008x4096xbf16>, %wd: tensor<4096x11008xbf16>)
    -> tensor<?x?x4096xbf16> {
  %y = glu.ffn silu %x : tensor<?x?x4096xbf16>
         gate %wg : tensor<11008x4096xbf16> up %wu : tensor<11008x4096xbf16>
         down %wd : tensor<4096x11008xbf16> -> tensor<?x?x4096xbf16>
  return %y : tensor<?x?x4096xbf16>
}

// CHECK-LABEL: func.func @every_activation
// CHECK: glu.ffn sigmoid
// CHECK: glu.ffn identity
// CHECK: glu.ffn relu
// CHECK: glu.ffn gelu_erf
// CHECK: glu.ffn gelu_tanh
// CHECK: glu.ffn swish {{.*}} {beta = 1.500000e+00 : f32}
// CHECK: glu.ffn clamped_swiglu {{.*}} {alpha = 1.702000e+00 : f32, limit = 7.000000e+00 : f32}
func.func @every_activation(%x: tensor<4x8xf32>, %w: tensor<16x8xf32>, %wd: tensor<8x16xf32>) {
  %0 = glu.ffn sigmoid %x : tensor<4x8xf32> gate %w : tensor<16x8xf32> up %w : tensor<16x8xf32> down %wd : tensor<8x16xf32> -> tensor<4x8xf32>
  %1 = glu.ffn identity %x : tensor<4x8xf32> gate %w : tensor<16x8xf32> up %w : tensor<16x8xf32> down %wd : tensor<8x16xf32> -> tensor<4x8xf32>
  %2 = glu.ffn relu %x : tensor<4x8xf32> gate %w : tensor<16x8xf32> up %w : tensor<16x8xf32> down %wd : tensor<8x16xf32> -> tensor<4x8xf32>
  %3 = glu.ffn gelu_erf %x : tensor<4x8xf32> gate %w : tensor<16x8xf32> up %w : tensor<16x8xf32> down %wd : tensor<8x16xf32> -> tensor<4x8xf32>
  %4 = glu.ffn gelu_tanh %x : tensor<4x8xf32> gate %w : tensor<16x8xf32> up %w : tensor<16x8xf32> down %wd : tensor<8x16xf32> -> tensor<4x8xf32>
  %5 = glu.ffn swish %x : tensor<4x8xf32> gate %w : tensor<16x8xf32> up %w : tensor<16x8xf32> down %wd : tensor<8x16xf32> {beta = 1.5 : f32} -> tensor<4x8xf32>
  %6 = glu.ffn clamped_swiglu %x : tensor<4x8xf32> gate %w : tensor<16x8xf32> up %w : tensor<16x8xf32> down %wd : tensor<8x16xf32> {alpha = 1.702 : f32, limit = 7.0 : f32} -> tensor<4x8xf32>
  return
}

// GPT-OSS: merged interleaved weight in [in, out] layout, biases, clamping.
// CHECK-LABEL: func.func @gpt_oss
// CHECK: glu.ffn clamped_swiglu %{{.*}} : tensor<?x2880xbf16> gate_up %{{.*}} : tensor<2880x5760xbf16> down %{{.*}} : tensor<2880x2880xbf16> gate_up_bias %{{.*}} : tensor<5760xbf16> down_bias %{{.*}} : tensor<2880xbf16> packing interleaved layout in_out -> tensor<?x2880xbf16>
func.func @gpt_oss(%x: tensor<?x2880xbf16>, %w: tensor<2880x5760xbf16>, %b: tensor<5760xbf16>,
                   %wd: tensor<2880x2880xbf16>, %bd: tensor<2880xbf16>) -> tensor<?x2880xbf16> {
  %y = glu.ffn clamped_swiglu %x : tensor<?x2880xbf16>
         gate_up %w : tensor<2880x5760xbf16> down %wd : tensor<2880x2880xbf16>
         gate_up_bias %b : tensor<5760xbf16> down_bias %bd : tensor<2880xbf16>
         packing interleaved layout in_out -> tensor<?x2880xbf16>
  return %y : tensor<?x2880xbf16>
}

// The default layout and packing are elided when printed.
// CHECK-LABEL: func.func @defaults_elided
// CHECK: glu.ffn silu %{{.*}} gate_up %{{.*}} : tensor<32x8xf16> down %{{.*}} : tensor<8x16xf16> packing concat -> tensor<8xf16>
// CHECK-NOT: layout
func.func @defaults_elided(%x: tensor<8xf16>, %w: tensor<32x8xf16>, %wd: tensor<8x16xf16>) -> tensor<8xf16> {
  %y = glu.ffn silu %x : tensor<8xf16> gate_up %w : tensor<32x8xf16> down %wd : tensor<8x16xf16> packing concat layout out_in -> tensor<8xf16>
  return %y : tensor<8xf16>
}

// Separate biases, f32 activations with bf16 weights, f64 accumulation,
// d_out different from d_model, fully dynamic weights.
// CHECK-LABEL: func.func @biases_mixed_types
// CHECK: glu.ffn gelu_tanh {{.*}} gate_bias %{{.*}} : tensor<16xf32> up_bias %{{.*}} : tensor<16xf32> down_bias %{{.*}} : tensor<5xf32> {acc_type = f64} -> tensor<2x3x5xf32>
func.func @biases_mixed_types(%x: tensor<2x3x8xf32>, %wg: tensor<?x?xbf16>, %wu: tensor<16x8xbf16>,
                              %wd: tensor<5x16xbf16>, %bg: tensor<16xf32>, %bu: tensor<16xf32>,
                              %bd: tensor<5xf32>) -> tensor<2x3x5xf32> {
  %y = glu.ffn gelu_tanh %x : tensor<2x3x8xf32> gate %wg : tensor<?x?xbf16> up %wu : tensor<16x8xbf16>
         down %wd : tensor<5x16xbf16> gate_bias %bg : tensor<16xf32> up_bias %bu : tensor<16xf32>
         down_bias %bd : tensor<5xf32> {acc_type = f64} -> tensor<2x3x5xf32>
  return %y : tensor<2x3x5xf32>
}

// The classic non-gated FFN (GPT-2's MLP), side by side with the gated ones.
// CHECK-LABEL: func.func @gpt2_mlp
// CHECK: glu.mlp gelu_tanh %{{.*}} : tensor<?x768xf32> up %{{.*}} : tensor<768x3072xf32> down %{{.*}} : tensor<3072x768xf32> up_bias %{{.*}} : tensor<3072xf32> down_bias %{{.*}} : tensor<768xf32> layout in_out -> tensor<?x768xf32>
func.func @gpt2_mlp(%x: tensor<?x768xf32>, %w1: tensor<768x3072xf32>, %b1: tensor<3072xf32>,
                    %w2: tensor<3072x768xf32>, %b2: tensor<768xf32>) -> tensor<?x768xf32> {
  %y = glu.mlp gelu_tanh %x : tensor<?x768xf32> up %w1 : tensor<768x3072xf32>
         down %w2 : tensor<3072x768xf32> up_bias %b1 : tensor<3072xf32>
         down_bias %b2 : tensor<768xf32> layout in_out -> tensor<?x768xf32>
  return %y : tensor<?x768xf32>
}

// CHECK-LABEL: func.func @fused_gate_up
// CHECK: glu.gate_up silu %{{.*}} : tensor<?x4096xf16> gate_up %{{.*}} : tensor<22016x4096xf16> -> tensor<?x11008xf16>
// CHECK: glu.gate_up relu %{{.*}} gate_up_bias %{{.*}} : tensor<64xf16> packing interleaved {acc_type = f16} -> tensor<?x32xf16>
func.func @fused_gate_up(%x: tensor<?x4096xf16>, %w: tensor<22016x4096xf16>,
                         %x2: tensor<?x16xf16>, %w2: tensor<64x16xf16>, %b2: tensor<64xf16>)
    -> (tensor<?x11008xf16>, tensor<?x32xf16>) {
  %h = glu.gate_up silu %x : tensor<?x4096xf16> gate_up %w : tensor<22016x4096xf16> -> tensor<?x11008xf16>
  %h2 = glu.gate_up relu %x2 : tensor<?x16xf16> gate_up %w2 : tensor<64x16xf16>
          gate_up_bias %b2 : tensor<64xf16> packing interleaved {acc_type = f16} -> tensor<?x32xf16>
  return %h, %h2 : tensor<?x11008xf16>, tensor<?x32xf16>
}

// CHECK-LABEL: func.func @elementwise_gate
// CHECK: glu.gate swish %{{.*}}, %{{.*}} {beta = 5.000000e-01 : f32} : tensor<?x11008xbf16>
// CHECK: glu.gate clamped_swiglu %{{.*}}, %{{.*}} {limit = 3.000000e+00 : f32} : tensor<2x3x4xf32>
func.func @elementwise_gate(%g: tensor<?x11008xbf16>, %u: tensor<?x11008xbf16>,
                            %g3: tensor<2x3x4xf32>, %u3: tensor<2x3x4xf32>)
    -> (tensor<?x11008xbf16>, tensor<2x3x4xf32>) {
  %h = glu.gate swish %g, %u {beta = 0.5 : f32} : tensor<?x11008xbf16>
  %h3 = glu.gate clamped_swiglu %g3, %u3 {limit = 3.0 : f32} : tensor<2x3x4xf32>
  return %h, %h3 : tensor<?x11008xbf16>, tensor<2x3x4xf32>
}
