// RUN: swiglu-opt %s -split-input-file -verify-diagnostics

// Every verifier and parser error of the glu dialect, one case each.

func.func @mlp_clamped(%x: tensor<4x8xf32>, %w1: tensor<16x8xf32>, %w2: tensor<8x16xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{activation 'clamped_swiglu' gates an up projection and is not valid here}}
  %y = glu.mlp clamped_swiglu %x : tensor<4x8xf32> up %w1 : tensor<16x8xf32> down %w2 : tensor<8x16xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
// -----
func.func @beta_not_swish(%g: tensor<4xf32>, %u: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'beta' only applies to the 'swish' activation, not 'silu'}}
  %h = glu.gate silu %g, %u {beta = 2.0 : f32} : tensor<4xf32>
  return %h : tensor<4xf32>
}
// -----
func.func @alpha_not_clamped(%g: tensor<4xf32>, %u: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'alpha' only applies to the 'clamped_swiglu' activation, not 'silu'}}
  %h = glu.gate silu %g, %u {alpha = 2.0 : f32} : tensor<4xf32>
  return %h : tensor<4xf32>
}
// -----
func.func @limit_not_clamped(%g: tensor<4xf32>, %u: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'limit' only applies to the 'clamped_swiglu' activation, not 'swish'}}
  %h = glu.gate swish %g, %u {limit = 2.0 : f32} : tensor<4xf32>
  return %h : tensor<4xf32>
}
// -----
func.func @beta_inf(%g: tensor<4xf32>, %u: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'beta' must be finite, got INF}}
  %h = glu.gate swish %g, %u {beta = 0x7F800000 : f32} : tensor<4xf32>
  return %h : tensor<4xf32>
}
// -----
func.func @alpha_nan(%g: tensor<4xf32>, %u: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'alpha' must be finite, got nan}}
  %h = glu.gate clamped_swiglu %g, %u {alpha = 0x7FC00000 : f32} : tensor<4xf32>
  return %h : tensor<4xf32>
}
// -----
func.func @limit_negative(%g: tensor<4xf32>, %u: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'limit' must be positive and finite, got -1.000000e+00}}
  %h = glu.gate clamped_swiglu %g, %u {limit = -1.0 : f32} : tensor<4xf32>
  return %h : tensor<4xf32>
}
// -----
func.func @limit_zero(%g: tensor<4xf32>, %u: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'limit' must be positive and finite, got 0.000000e+00}}
  %h = glu.gate clamped_swiglu %g, %u {limit = 0.0 : f32} : tensor<4xf32>
  return %h : tensor<4xf32>
}
// -----
func.func @acc_narrower(%x: tensor<4x8xf32>, %w: tensor<32x8xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{acc_type 'f16' must be f32 or f64, or equal to every element type; it differs from 'f32'}}
  %h = glu.gate_up silu %x : tensor<4x8xf32> gate_up %w : tensor<32x8xf32> {acc_type = f16} -> tensor<4x16xf32>
  return %h : tensor<4x16xf32>
}
// -----
func.func @acc_bf16_weights(%x: tensor<4x8xf16>, %w: tensor<32x8xbf16>) -> tensor<4x16xf16> {
  // expected-error @+1 {{acc_type 'f16' must be f32 or f64, or equal to every element type; it differs from 'bf16'}}
  %h = glu.gate_up silu %x : tensor<4x8xf16> gate_up %w : tensor<32x8xbf16> {acc_type = f16} -> tensor<4x16xf16>
  return %h : tensor<4x16xf16>
}
// -----
func.func @both_forms(%x: tensor<4x8xf32>, %w: tensor<16x8xf32>, %wgu: tensor<32x8xf32>, %wd: tensor<8x16xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{takes either 'gate' and 'up' weights or one merged 'gate_up' weight, not both}}
  %y = glu.ffn silu %x : tensor<4x8xf32> gate %w : tensor<16x8xf32> up %w : tensor<16x8xf32> gate_up %wgu : tensor<32x8xf32> down %wd : tensor<8x16xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
// -----
func.func @missing_up(%x: tensor<4x8xf32>, %w: tensor<16x8xf32>, %wd: tensor<8x16xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{needs both a 'gate' and an 'up' weight, or one merged 'gate_up' weight}}
  %y = glu.ffn silu %x : tensor<4x8xf32> gate %w : tensor<16x8xf32> down %wd : tensor<8x16xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
// -----
func.func @gate_bias_with_merged(%x: tensor<4x8xf32>, %w: tensor<32x8xf32>, %wd: tensor<8x16xf32>, %b: tensor<16xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'gate_bias' needs separate 'gate' and 'up' weights; with a merged 'gate_up' weight use 'gate_up_bias'}}
  %y = glu.ffn silu %x : tensor<4x8xf32> gate_up %w : tensor<32x8xf32> down %wd : tensor<8x16xf32> gate_bias %b : tensor<16xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
// -----
func.func @merged_bias_with_separate(%x: tensor<4x8xf32>, %w: tensor<16x8xf32>, %wd: tensor<8x16xf32>, %b: tensor<32xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'gate_up_bias' needs a merged 'gate_up' weight}}
  %y = glu.ffn silu %x : tensor<4x8xf32> gate %w : tensor<16x8xf32> up %w : tensor<16x8xf32> down %wd : tensor<8x16xf32> gate_up_bias %b : tensor<32xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
// -----
func.func @packing_with_separate(%x: tensor<4x8xf32>, %w: tensor<16x8xf32>, %wd: tensor<8x16xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'packing' only applies to a merged 'gate_up' weight}}
  %y = glu.ffn silu %x : tensor<4x8xf32> gate %w : tensor<16x8xf32> up %w : tensor<16x8xf32> down %wd : tensor<8x16xf32> packing interleaved -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
// -----
func.func @input_0d(%x: tensor<f32>, %w: tensor<16x8xf32>, %wd: tensor<8x16xf32>) -> tensor<f32> {
  // expected-error @+1 {{input must have at least one dimension (d_model), got a 0-d tensor}}
  %y = glu.mlp relu %x : tensor<f32> up %w : tensor<16x8xf32> down %wd : tensor<8x16xf32> -> tensor<f32>
  return %y : tensor<f32>
}
// -----
func.func @weight_3d(%x: tensor<4x8xf32>, %w: tensor<2x16x8xf32>, %wd: tensor<8x16xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'up' weight must be 2-D, got rank 3}}
  %y = glu.mlp relu %x : tensor<4x8xf32> up %w : tensor<2x16x8xf32> down %wd : tensor<8x16xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
// -----
func.func @merged_odd(%x: tensor<4x8xf32>, %w: tensor<31x8xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{'gate_up' weight has 31 output features (dim 0); a merged gate/up weight needs an even number (2·d_ff)}}
  %h = glu.gate_up silu %x : tensor<4x8xf32> gate_up %w : tensor<31x8xf32> -> tensor<4x16xf32>
  return %h : tensor<4x16xf32>
}
// -----
func.func @weight_types_differ(%x: tensor<4x8xf32>, %wg: tensor<16x8xf32>, %wu: tensor<16x8xbf16>, %wd: tensor<8x16xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'up' weight has element type 'bf16', but 'gate' weight has 'f32'}}
  %y = glu.ffn silu %x : tensor<4x8xf32> gate %wg : tensor<16x8xf32> up %wu : tensor<16x8xbf16> down %wd : tensor<8x16xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
// -----
func.func @gate_d_model(%x: tensor<4x8xf32>, %wg: tensor<16x7xf32>, %wd: tensor<8x16xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'gate' weight dim 1 is 7, but input dim 1 gives d_model = 8 (layout out_in: weights are [out, in])}}
  %y = glu.ffn silu %x : tensor<4x8xf32> gate %wg : tensor<16x7xf32> up %wg : tensor<16x7xf32> down %wd : tensor<8x16xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
// -----
func.func @up_d_ff(%x: tensor<4x8xf32>, %wg: tensor<16x8xf32>, %wu: tensor<15x8xf32>, %wd: tensor<8x16xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'up' weight dim 0 is 15, but 'gate' weight dim 0 gives d_ff = 16 (layout out_in: weights are [out, in])}}
  %y = glu.ffn silu %x : tensor<4x8xf32> gate %wg : tensor<16x8xf32> up %wu : tensor<15x8xf32> down %wd : tensor<8x16xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
// -----
func.func @in_out_layout(%x: tensor<4x8xf32>, %wg: tensor<16x8xf32>, %wd: tensor<16x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'gate' weight dim 0 is 16, but input dim 1 gives d_model = 8 (layout in_out: weights are [in, out])}}
  %y = glu.ffn silu %x : tensor<4x8xf32> gate %wg : tensor<16x8xf32> up %wg : tensor<16x8xf32> down %wd : tensor<16x8xf32> layout in_out -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
// -----
func.func @down_d_ff(%x: tensor<4x8xf32>, %w: tensor<32x8xf32>, %wd: tensor<8x15xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'down' weight dim 1 is 15, but half of 'gate_up' weight dim 0 gives d_ff = 16 (layout out_in: weights are [out, in])}}
  %y = glu.ffn silu %x : tensor<4x8xf32> gate_up %w : tensor<32x8xf32> down %wd : tensor<8x15xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
// -----
func.func @result_d_out(%x: tensor<4x8xf32>, %w1: tensor<16x8xf32>, %w2: tensor<5x16xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{result dim 1 is 8, but 'down' weight dim 0 gives d_out = 5}}
  %y = glu.mlp relu %x : tensor<4x8xf32> up %w1 : tensor<16x8xf32> down %w2 : tensor<5x16xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
// -----
func.func @bias_2d(%x: tensor<4x8xf32>, %w1: tensor<16x8xf32>, %w2: tensor<8x16xf32>, %b: tensor<1x16xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'up_bias' must be 1-D, got rank 2}}
  %y = glu.mlp relu %x : tensor<4x8xf32> up %w1 : tensor<16x8xf32> down %w2 : tensor<8x16xf32> up_bias %b : tensor<1x16xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
// -----
func.func @bias_type(%x: tensor<4x8xf32>, %w1: tensor<16x8xbf16>, %w2: tensor<8x16xbf16>, %b: tensor<16xbf16>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'up_bias' has element type 'bf16', but the input has 'f32'}}
  %y = glu.mlp relu %x : tensor<4x8xf32> up %w1 : tensor<16x8xbf16> down %w2 : tensor<8x16xbf16> up_bias %b : tensor<16xbf16> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
// -----
func.func @bias_size(%x: tensor<4x8xf32>, %w1: tensor<16x8xf32>, %w2: tensor<8x16xf32>, %b: tensor<8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'up_bias' dim 0 is 8, but 'up' weight dim 0 gives d_ff = 16}}
  %y = glu.mlp relu %x : tensor<4x8xf32> up %w1 : tensor<16x8xf32> down %w2 : tensor<8x16xf32> up_bias %b : tensor<8xf32> down_bias %b : tensor<8xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
// -----
func.func @merged_bias_odd(%x: tensor<4x8xf32>, %w: tensor<32x8xf32>, %b: tensor<33xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{'gate_up_bias' has 33 elements; a merged gate/up bias needs an even number (2·d_ff)}}
  %h = glu.gate_up silu %x : tensor<4x8xf32> gate_up %w : tensor<32x8xf32> gate_up_bias %b : tensor<33xf32> -> tensor<4x16xf32>
  return %h : tensor<4x16xf32>
}
// -----
func.func @merged_bias_size(%x: tensor<4x8xf32>, %w: tensor<32x8xf32>, %b: tensor<30xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{half of 'gate_up_bias' dim 0 is 15, but half of 'gate_up' weight dim 0 gives d_ff = 16}}
  %h = glu.gate_up silu %x : tensor<4x8xf32> gate_up %w : tensor<32x8xf32> gate_up_bias %b : tensor<30xf32> -> tensor<4x16xf32>
  return %h : tensor<4x16xf32>
}
// -----
func.func @result_rank(%x: tensor<2x4x8xf32>, %w: tensor<32x8xf32>) -> tensor<8x16xf32> {
  // expected-error @+1 {{result rank 2 differs from the input rank 3}}
  %h = glu.gate_up silu %x : tensor<2x4x8xf32> gate_up %w : tensor<32x8xf32> -> tensor<8x16xf32>
  return %h : tensor<8x16xf32>
}
// -----
func.func @result_batch(%x: tensor<2x4x8xf32>, %w: tensor<32x8xf32>) -> tensor<2x5x16xf32> {
  // expected-error @+1 {{result batch dim 1 is 5 but the input's is 4}}
  %h = glu.gate_up silu %x : tensor<2x4x8xf32> gate_up %w : tensor<32x8xf32> -> tensor<2x5x16xf32>
  return %h : tensor<2x5x16xf32>
}
// -----
func.func @result_type(%x: tensor<4x8xf32>, %w: tensor<32x8xf32>) -> tensor<4x16xf16> {
  // expected-error @+1 {{result has element type 'f16', but the input has 'f32'}}
  %h = glu.gate_up silu %x : tensor<4x8xf32> gate_up %w : tensor<32x8xf32> -> tensor<4x16xf16>
  return %h : tensor<4x16xf16>
}
// -----
func.func @result_d_ff(%x: tensor<4x8xf32>, %w: tensor<32x8xf32>) -> tensor<4x32xf32> {
  // expected-error @+1 {{result dim 1 is 32, but half of 'gate_up' weight dim 0 gives d_ff = 16}}
  %h = glu.gate_up silu %x : tensor<4x8xf32> gate_up %w : tensor<32x8xf32> -> tensor<4x32xf32>
  return %h : tensor<4x32xf32>
}
// -----
func.func @f64_input(%g: tensor<4xf64>, %u: tensor<4xf64>) -> tensor<4xf64> {
  // expected-error @+1 {{operand #0 must be ranked tensor of 16-bit float or bfloat16 type or 32-bit float values, but got 'tensor<4xf64>'}}
  %h = glu.gate silu %g, %u : tensor<4xf64>
  return %h : tensor<4xf64>
}
// -----
func.func @unknown_activation(%g: tensor<4xf32>, %u: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{unknown activation 'swiglu'}}
  %h = glu.gate swiglu %g, %u : tensor<4xf32>
  return %h : tensor<4xf32>
}
// -----
func.func @unknown_layout(%x: tensor<4x8xf32>, %w: tensor<32x8xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{unknown layout 'row_major'}}
  %h = glu.gate_up silu %x : tensor<4x8xf32> gate_up %w : tensor<32x8xf32> layout row_major -> tensor<4x16xf32>
  return %h : tensor<4x16xf32>
}
// -----
func.func @gate_types_differ(%g: tensor<4xf32>, %u: tensor<5xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{failed to verify that all of {gate, up, result} have same type}}
  %h = "glu.gate"(%g, %u) <{activation = #glu<activation silu>}> : (tensor<4xf32>, tensor<5xf32>) -> tensor<4xf32>
  return %h : tensor<4xf32>
}
// -----
func.func @unranked(%g: tensor<*xf32>, %u: tensor<*xf32>) -> tensor<*xf32> {
  // expected-error @+1 {{invalid kind of type specified: expected builtin.tensor, but found 'tensor<*xf32>'}}
  %h = glu.gate silu %g, %u : tensor<*xf32>
  return %h : tensor<*xf32>
}
