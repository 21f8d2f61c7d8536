// RUN: swiglu-opt %s -split-input-file -verify-diagnostics

// Every verifier error of glu.ffn_grad, glu.mlp_grad and glu.dropout that the
// forward ops do not already test (their shape checks are shared).

func.func @too_few_results(%x: tensor<4x8xf32>, %dy: tensor<4x8xf32>, %wg: tensor<16x8xf32>, %wu: tensor<16x8xf32>, %wd: tensor<8x16xf32>) {
  // expected-error @+1 {{has 3 results, but it differentiates 4 operands (the input, each weight, each bias)}}
  %r:3 = glu.ffn_grad silu %x : tensor<4x8xf32> grad %dy : tensor<4x8xf32> gate %wg : tensor<16x8xf32> up %wu : tensor<16x8xf32> down %wd : tensor<8x16xf32> -> tensor<4x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>
  return
}
// -----
func.func @grad_type(%x: tensor<4x8xbf16>, %dy: tensor<4x8xbf16>, %wg: tensor<16x8xbf16>, %wu: tensor<16x8xbf16>, %wd: tensor<8x16xbf16>) {
  // expected-error @+1 {{result 1 has type 'tensor<16x8xf32>', but the operand it is the gradient of has type 'tensor<16x8xbf16>'}}
  %r:4 = glu.ffn_grad silu %x : tensor<4x8xbf16> grad %dy : tensor<4x8xbf16> gate %wg : tensor<16x8xbf16> up %wu : tensor<16x8xbf16> down %wd : tensor<8x16xbf16> -> tensor<4x8xbf16>, tensor<16x8xf32>, tensor<16x8xbf16>, tensor<8x16xbf16>
  return
}
// -----
func.func @grad_output_dim(%x: tensor<4x8xf32>, %dy: tensor<4x6xf32>, %wg: tensor<16x8xf32>, %wu: tensor<16x8xf32>, %wd: tensor<8x16xf32>) {
  // expected-error @+1 {{'grad' dim 1 is 6, but 'down' weight dim 0 gives d_out = 8}}
  %r:4 = glu.ffn_grad silu %x : tensor<4x8xf32> grad %dy : tensor<4x6xf32> gate %wg : tensor<16x8xf32> up %wu : tensor<16x8xf32> down %wd : tensor<8x16xf32> -> tensor<4x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>
  return
}
// -----
func.func @grad_output_batch(%x: tensor<4x8xf32>, %dy: tensor<5x8xf32>, %wg: tensor<16x8xf32>, %wu: tensor<16x8xf32>, %wd: tensor<8x16xf32>) {
  // expected-error @+1 {{'grad' batch dim 0 is 5 but the input's is 4}}
  %r:4 = glu.ffn_grad silu %x : tensor<4x8xf32> grad %dy : tensor<5x8xf32> gate %wg : tensor<16x8xf32> up %wu : tensor<16x8xf32> down %wd : tensor<8x16xf32> -> tensor<4x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>
  return
}
// -----
func.func @dropout_without_seed(%x: tensor<4x8xf32>, %dy: tensor<4x8xf32>, %wg: tensor<16x8xf32>, %wu: tensor<16x8xf32>, %wd: tensor<8x16xf32>) {
  // expected-error @+1 {{'dropout' needs a 'seed'}}
  %r:4 = glu.ffn_grad silu %x : tensor<4x8xf32> grad %dy : tensor<4x8xf32> gate %wg : tensor<16x8xf32> up %wu : tensor<16x8xf32> down %wd : tensor<8x16xf32> {dropout = 0.1 : f32} -> tensor<4x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>
  return
}
// -----
func.func @seed_without_dropout(%x: tensor<4x8xf32>, %dy: tensor<4x8xf32>, %wg: tensor<16x8xf32>, %wu: tensor<16x8xf32>, %wd: tensor<8x16xf32>, %s: tensor<i64>) {
  // expected-error @+1 {{'seed' is only used with 'dropout'}}
  %r:4 = glu.ffn_grad silu %x : tensor<4x8xf32> grad %dy : tensor<4x8xf32> gate %wg : tensor<16x8xf32> up %wu : tensor<16x8xf32> down %wd : tensor<8x16xf32> seed %s : tensor<i64> -> tensor<4x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>
  return
}
// -----
func.func @dropout_one(%x: tensor<4x8xf32>, %dy: tensor<4x8xf32>, %w1: tensor<16x8xf32>, %w2: tensor<8x16xf32>, %s: tensor<i64>) {
  // expected-error @+1 {{'dropout' must be in [0, 1), got 1.000000e+00}}
  %r:3 = glu.mlp_grad relu %x : tensor<4x8xf32> grad %dy : tensor<4x8xf32> up %w1 : tensor<16x8xf32> down %w2 : tensor<8x16xf32> seed %s : tensor<i64> {dropout = 1.0 : f32} -> tensor<4x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>
  return
}
// -----
func.func @mlp_clamped(%x: tensor<4x8xf32>, %dy: tensor<4x8xf32>, %w1: tensor<16x8xf32>, %w2: tensor<8x16xf32>) {
  // expected-error @+1 {{activation 'clamped_swiglu' gates an up projection and is not valid here}}
  %r:3 = glu.mlp_grad clamped_swiglu %x : tensor<4x8xf32> grad %dy : tensor<4x8xf32> up %w1 : tensor<16x8xf32> down %w2 : tensor<8x16xf32> -> tensor<4x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>
  return
}
// -----
func.func @mlp_grad_rank(%x: tensor<4x8xf32>, %dy: tensor<2x4x8xf32>, %w1: tensor<16x8xf32>, %w2: tensor<8x16xf32>) {
  // expected-error @+1 {{'grad' rank 3 differs from the input rank 2}}
  %r:3 = glu.mlp_grad relu %x : tensor<4x8xf32> grad %dy : tensor<2x4x8xf32> up %w1 : tensor<16x8xf32> down %w2 : tensor<8x16xf32> -> tensor<4x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>
  return
}
// -----
func.func @merged_and_separate(%x: tensor<4x8xf32>, %dy: tensor<4x8xf32>, %wg: tensor<16x8xf32>, %w: tensor<32x8xf32>, %wd: tensor<8x16xf32>) {
  // expected-error @+1 {{takes either 'gate' and 'up' weights or one merged 'gate_up' weight, not both}}
  %r:4 = glu.ffn_grad silu %x : tensor<4x8xf32> grad %dy : tensor<4x8xf32> gate %wg : tensor<16x8xf32> gate_up %w : tensor<32x8xf32> down %wd : tensor<8x16xf32> -> tensor<4x8xf32>, tensor<16x8xf32>, tensor<32x8xf32>, tensor<8x16xf32>
  return
}
// -----
func.func @dropout_p(%h: tensor<4x8xf32>, %s: tensor<i64>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'p' must be in [0, 1), got -5.000000e-01}}
  %y = glu.dropout %h, %s {p = -0.5 : f32} : tensor<4x8xf32>, tensor<i64>
  return %y : tensor<4x8xf32>
}
// -----
func.func @pre_alone(%x: tensor<4x8xf32>, %dy: tensor<4x8xf32>, %wg: tensor<16x8xf32>, %wu: tensor<16x8xf32>, %wd: tensor<8x16xf32>, %g: tensor<4x16xf32>) {
  // expected-error @+1 {{'gate_pre' and 'up_pre' go together}}
  %r:4 = glu.ffn_grad silu %x : tensor<4x8xf32> grad %dy : tensor<4x8xf32> gate %wg : tensor<16x8xf32> up %wu : tensor<16x8xf32> down %wd : tensor<8x16xf32> gate_pre %g : tensor<4x16xf32> -> tensor<4x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>
  return
}
// -----
func.func @pre_type(%x: tensor<4x8xbf16>, %dy: tensor<4x8xbf16>, %wg: tensor<16x8xbf16>, %wu: tensor<16x8xbf16>, %wd: tensor<8x16xbf16>, %g: tensor<4x16xbf16>) {
  // expected-error @+1 {{'gate_pre' has element type 'bf16', but the pre-activations are kept in acc_type 'f32'}}
  %r:4 = glu.ffn_grad silu %x : tensor<4x8xbf16> grad %dy : tensor<4x8xbf16> gate %wg : tensor<16x8xbf16> up %wu : tensor<16x8xbf16> down %wd : tensor<8x16xbf16> gate_pre %g : tensor<4x16xbf16> up_pre %g : tensor<4x16xbf16> -> tensor<4x8xbf16>, tensor<16x8xbf16>, tensor<16x8xbf16>, tensor<8x16xbf16>
  return
}
// -----
func.func @pre_dff(%x: tensor<4x8xf32>, %dy: tensor<4x8xf32>, %w1: tensor<16x8xf32>, %w2: tensor<8x16xf32>, %p: tensor<4x12xf32>) {
  // expected-error @+1 {{'up_pre' dim 1 is 12, expected 16 (d_ff)}}
  %r:3 = glu.mlp_grad relu %x : tensor<4x8xf32> grad %dy : tensor<4x8xf32> up %w1 : tensor<16x8xf32> down %w2 : tensor<8x16xf32> up_pre %p : tensor<4x12xf32> -> tensor<4x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>
  return
}
