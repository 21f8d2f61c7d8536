// RUN: swiglu-opt %s -split-input-file -verify-diagnostics

// Every verifier error of glu.moe and glu.route, one case each.

func.func @moe_rank1_input(%x: tensor<2x4x8xf32>, %ids: tensor<4x2xi32>, %w: tensor<4x2xf32>, %wg: tensor<3x16x8xf32>, %wu: tensor<3x16x8xf32>, %wd: tensor<3x8x16xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{input must be 2-D [tokens, d_model], got rank 3}}
  %y = glu.moe silu %x : tensor<2x4x8xf32> experts %ids : tensor<4x2xi32> weights %w : tensor<4x2xf32> gate %wg : tensor<3x16x8xf32> up %wu : tensor<3x16x8xf32> down %wd : tensor<3x8x16xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
// -----
func.func @moe_weight_rank(%x: tensor<4x8xf32>, %ids: tensor<4x2xi32>, %w: tensor<4x2xf32>, %wg: tensor<16x8xf32>, %wu: tensor<3x16x8xf32>, %wd: tensor<3x8x16xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'gate' weight must be 3-D [experts, out, in], got rank 2}}
  %y = glu.moe silu %x : tensor<4x8xf32> experts %ids : tensor<4x2xi32> weights %w : tensor<4x2xf32> gate %wg : tensor<16x8xf32> up %wu : tensor<3x16x8xf32> down %wd : tensor<3x8x16xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
// -----
func.func @moe_experts_mismatch(%x: tensor<4x8xf32>, %ids: tensor<4x2xi32>, %w: tensor<4x2xf32>, %wg: tensor<3x16x8xf32>, %wu: tensor<3x16x8xf32>, %wd: tensor<4x8x16xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'down' weight dim 0 is 4, but 'gate' weight dim 0 gives experts = 3}}
  %y = glu.moe silu %x : tensor<4x8xf32> experts %ids : tensor<4x2xi32> weights %w : tensor<4x2xf32> gate %wg : tensor<3x16x8xf32> up %wu : tensor<3x16x8xf32> down %wd : tensor<4x8x16xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
// -----
func.func @moe_dff_mismatch(%x: tensor<4x8xf32>, %ids: tensor<4x2xi32>, %w: tensor<4x2xf32>, %wg: tensor<3x16x8xf32>, %wu: tensor<3x12x8xf32>, %wd: tensor<3x8x16xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'up' weight dim 1 is 12, but 'gate' weight dim 1 gives d_ff = 16}}
  %y = glu.moe silu %x : tensor<4x8xf32> experts %ids : tensor<4x2xi32> weights %w : tensor<4x2xf32> gate %wg : tensor<3x16x8xf32> up %wu : tensor<3x12x8xf32> down %wd : tensor<3x8x16xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
// -----
func.func @moe_ids_rank(%x: tensor<4x8xf32>, %ids: tensor<4xi32>, %w: tensor<4x2xf32>, %wg: tensor<3x16x8xf32>, %wu: tensor<3x16x8xf32>, %wd: tensor<3x8x16xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'experts' must be 2-D [tokens, k], got rank 1}}
  %y = glu.moe silu %x : tensor<4x8xf32> experts %ids : tensor<4xi32> weights %w : tensor<4x2xf32> gate %wg : tensor<3x16x8xf32> up %wu : tensor<3x16x8xf32> down %wd : tensor<3x8x16xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
// -----
func.func @moe_ids_tokens(%x: tensor<4x8xf32>, %ids: tensor<5x2xi32>, %w: tensor<4x2xf32>, %wg: tensor<3x16x8xf32>, %wu: tensor<3x16x8xf32>, %wd: tensor<3x8x16xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'experts' has 5 tokens (dim 0), but the input has 4}}
  %y = glu.moe silu %x : tensor<4x8xf32> experts %ids : tensor<5x2xi32> weights %w : tensor<4x2xf32> gate %wg : tensor<3x16x8xf32> up %wu : tensor<3x16x8xf32> down %wd : tensor<3x8x16xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
// -----
func.func @moe_weights_k(%x: tensor<4x8xf32>, %ids: tensor<4x2xi32>, %w: tensor<4x3xf32>, %wg: tensor<3x16x8xf32>, %wu: tensor<3x16x8xf32>, %wd: tensor<3x8x16xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'weights' dim 1 is 3, but 'experts' dim 1 is 2}}
  %y = glu.moe silu %x : tensor<4x8xf32> experts %ids : tensor<4x2xi32> weights %w : tensor<4x3xf32> gate %wg : tensor<3x16x8xf32> up %wu : tensor<3x16x8xf32> down %wd : tensor<3x8x16xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
// -----
func.func @moe_bias_rank(%x: tensor<4x8xf32>, %ids: tensor<4x2xi32>, %w: tensor<4x2xf32>, %wg: tensor<3x16x8xf32>, %wu: tensor<3x16x8xf32>, %wd: tensor<3x8x16xf32>, %bd: tensor<8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'down_bias' must be 2-D [experts, n], got rank 1}}
  %y = glu.moe silu %x : tensor<4x8xf32> experts %ids : tensor<4x2xi32> weights %w : tensor<4x2xf32> gate %wg : tensor<3x16x8xf32> up %wu : tensor<3x16x8xf32> down %wd : tensor<3x8x16xf32> down_bias %bd : tensor<8xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
// -----
func.func @moe_bias_experts(%x: tensor<4x8xf32>, %ids: tensor<4x2xi32>, %w: tensor<4x2xf32>, %wg: tensor<3x16x8xf32>, %wu: tensor<3x16x8xf32>, %wd: tensor<3x8x16xf32>, %bd: tensor<2x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'down_bias' dim 0 is 2, but 'gate' weight dim 0 gives experts = 3}}
  %y = glu.moe silu %x : tensor<4x8xf32> experts %ids : tensor<4x2xi32> weights %w : tensor<4x2xf32> gate %wg : tensor<3x16x8xf32> up %wu : tensor<3x16x8xf32> down %wd : tensor<3x8x16xf32> down_bias %bd : tensor<2x8xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
// -----
func.func @moe_acc_type(%x: tensor<4x8xf32>, %ids: tensor<4x2xi32>, %w: tensor<4x2xf32>, %wg: tensor<3x16x8xf32>, %wu: tensor<3x16x8xf32>, %wd: tensor<3x8x16xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{acc_type must be f32 (each expert's output and the weighted sum are kept in f32), got 'f64'}}
  %y = glu.moe silu %x : tensor<4x8xf32> experts %ids : tensor<4x2xi32> weights %w : tensor<4x2xf32> gate %wg : tensor<3x16x8xf32> up %wu : tensor<3x16x8xf32> down %wd : tensor<3x8x16xf32> {acc_type = f64} -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
// -----
func.func @moe_both_forms(%x: tensor<4x8xf32>, %ids: tensor<4x2xi32>, %w: tensor<4x2xf32>, %wg: tensor<3x16x8xf32>, %wu: tensor<3x16x8xf32>, %wd: tensor<3x8x16xf32>, %wgu: tensor<3x32x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{takes either 'gate' and 'up' weights or one merged 'gate_up' weight, not both}}
  %y = glu.moe silu %x : tensor<4x8xf32> experts %ids : tensor<4x2xi32> weights %w : tensor<4x2xf32> gate %wg : tensor<3x16x8xf32> up %wu : tensor<3x16x8xf32> gate_up %wgu : tensor<3x32x8xf32> down %wd : tensor<3x8x16xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
// -----
func.func @moe_result_tokens(%x: tensor<4x8xf32>, %ids: tensor<4x2xi32>, %w: tensor<4x2xf32>, %wg: tensor<3x16x8xf32>, %wu: tensor<3x16x8xf32>, %wd: tensor<3x8x16xf32>) -> tensor<5x8xf32> {
  // expected-error @+1 {{result batch dim 0 is 5 but the input's is 4}}
  %y = glu.moe silu %x : tensor<4x8xf32> experts %ids : tensor<4x2xi32> weights %w : tensor<4x2xf32> gate %wg : tensor<3x16x8xf32> up %wu : tensor<3x16x8xf32> down %wd : tensor<3x8x16xf32> -> tensor<5x8xf32>
  return %y : tensor<5x8xf32>
}
// -----
func.func @route_rank(%l: tensor<8xf32>) -> (tensor<4x2xi32>, tensor<4x2xf32>) {
  // expected-error @+1 {{logits must be 2-D [tokens, experts], got rank 1}}
  %ids, %w = glu.route softmax %l : tensor<8xf32> top_k 2 -> tensor<4x2xi32>, tensor<4x2xf32>
  return %ids, %w : tensor<4x2xi32>, tensor<4x2xf32>
}
// -----
func.func @route_topk(%l: tensor<4x8xf32>) -> (tensor<4x9xi32>, tensor<4x9xf32>) {
  // expected-error @+1 {{top_k = 9 exceeds the 8 experts}}
  %ids, %w = glu.route softmax %l : tensor<4x8xf32> top_k 9 -> tensor<4x9xi32>, tensor<4x9xf32>
  return %ids, %w : tensor<4x9xi32>, tensor<4x9xf32>
}
// -----
func.func @route_ids_k(%l: tensor<4x8xf32>) -> (tensor<4x3xi32>, tensor<4x2xf32>) {
  // expected-error @+1 {{'expert_ids' dim 1 is 3, but top_k = 2}}
  %ids, %w = glu.route softmax %l : tensor<4x8xf32> top_k 2 -> tensor<4x3xi32>, tensor<4x2xf32>
  return %ids, %w : tensor<4x3xi32>, tensor<4x2xf32>
}
// -----
func.func @route_weights_tokens(%l: tensor<4x8xf32>) -> (tensor<4x2xi32>, tensor<5x2xf32>) {
  // expected-error @+1 {{'weights' has 5 tokens, but the logits have 4}}
  %ids, %w = glu.route softmax %l : tensor<4x8xf32> top_k 2 -> tensor<4x2xi32>, tensor<5x2xf32>
  return %ids, %w : tensor<4x2xi32>, tensor<5x2xf32>
}
// -----
func.func @route_bias_size(%l: tensor<4x8xf32>, %b: tensor<7xf32>) -> (tensor<4x2xi32>, tensor<4x2xf32>) {
  // expected-error @+1 {{'selection_bias' has 7 elements, but the logits have 8 experts}}
  %ids, %w = glu.route sigmoid %l : tensor<4x8xf32> top_k 2 selection_bias %b : tensor<7xf32> -> tensor<4x2xi32>, tensor<4x2xf32>
  return %ids, %w : tensor<4x2xi32>, tensor<4x2xf32>
}
// -----
func.func @route_groups_split(%l: tensor<4x8xf32>) -> (tensor<4x2xi32>, tensor<4x2xf32>) {
  // expected-error @+1 {{the 8 experts do not split into 3 groups}}
  %ids, %w = glu.route sigmoid %l : tensor<4x8xf32> top_k 2 groups 3 topk_groups 1 -> tensor<4x2xi32>, tensor<4x2xf32>
  return %ids, %w : tensor<4x2xi32>, tensor<4x2xf32>
}
// -----
func.func @route_topk_groups(%l: tensor<4x8xf32>) -> (tensor<4x2xi32>, tensor<4x2xf32>) {
  // expected-error @+1 {{'topk_groups' must be in [1, groups = 4], got 5}}
  %ids, %w = glu.route sigmoid %l : tensor<4x8xf32> top_k 2 groups 4 topk_groups 5 -> tensor<4x2xi32>, tensor<4x2xf32>
  return %ids, %w : tensor<4x2xi32>, tensor<4x2xf32>
}
// -----
func.func @route_group_top2(%l: tensor<4x8xf32>) -> (tensor<4x2xi32>, tensor<4x2xf32>) {
  // expected-error @+1 {{group_score top2_sum needs at least 2 experts a group, got 1}}
  %ids, %w = glu.route sigmoid %l : tensor<4x8xf32> top_k 2 groups 8 topk_groups 4 -> tensor<4x2xi32>, tensor<4x2xf32>
  return %ids, %w : tensor<4x2xi32>, tensor<4x2xf32>
}
// -----
func.func @route_group_k(%l: tensor<4x8xf32>) -> (tensor<4x5xi32>, tensor<4x5xf32>) {
  // expected-error @+1 {{top_k = 5 exceeds the 4 experts of the topk_groups best groups}}
  %ids, %w = glu.route sigmoid %l : tensor<4x8xf32> top_k 5 groups 4 topk_groups 2 -> tensor<4x5xi32>, tensor<4x5xf32>
  return %ids, %w : tensor<4x5xi32>, tensor<4x5xf32>
}
// -----
func.func @route_group_dynamic(%l: tensor<4x?xf32>) -> (tensor<4x2xi32>, tensor<4x2xf32>) {
  // expected-error @+1 {{group-limited routing needs a static number of experts}}
  %ids, %w = glu.route sigmoid %l : tensor<4x?xf32> top_k 2 groups 2 topk_groups 1 group_score max -> tensor<4x2xi32>, tensor<4x2xf32>
  return %ids, %w : tensor<4x2xi32>, tensor<4x2xf32>
}
// -----
func.func @route_group_score_alone(%l: tensor<4x8xf32>) -> (tensor<4x2xi32>, tensor<4x2xf32>) {
  // expected-error @+1 {{'group_score' needs 'groups'}}
  %ids, %w = glu.route sigmoid %l : tensor<4x8xf32> top_k 2 group_score max -> tensor<4x2xi32>, tensor<4x2xf32>
  return %ids, %w : tensor<4x2xi32>, tensor<4x2xf32>
}
// -----
func.func @route_scaling(%l: tensor<4x8xf32>) -> (tensor<4x2xi32>, tensor<4x2xf32>) {
  // expected-error @+1 {{'scaling' must be finite, got INF}}
  %ids, %w = glu.route softmax %l : tensor<4x8xf32> top_k 2 {scaling = 0x7F800000 : f32} -> tensor<4x2xi32>, tensor<4x2xf32>
  return %ids, %w : tensor<4x2xi32>, tensor<4x2xf32>
}
// -----
func.func @route_topk_zero(%l: tensor<4x8xf32>) -> (tensor<4x2xi32>, tensor<4x2xf32>) {
  // expected-error @+1 {{attribute 'top_k' failed to satisfy constraint: 64-bit signless integer attribute whose value is positive}}
  %ids, %w = glu.route softmax %l : tensor<4x8xf32> top_k 0 -> tensor<4x2xi32>, tensor<4x2xf32>
  return %ids, %w : tensor<4x2xi32>, tensor<4x2xf32>
}
// -----
func.func @route_topk_groups_alone(%l: tensor<4x8xf32>) -> (tensor<4x2xi32>, tensor<4x2xf32>) {
  // expected-error @+1 {{'groups' and 'topk_groups' go together}}
  %ids, %w = glu.route sigmoid %l : tensor<4x8xf32> top_k 2 {topk_groups = 2 : i64} -> tensor<4x2xi32>, tensor<4x2xf32>
  return %ids, %w : tensor<4x2xi32>, tensor<4x2xf32>
}
