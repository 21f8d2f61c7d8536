// glu.route and glu.moe have no GPU lowering yet: the GPU pipeline says so
// (the CPU pipelines run them, test/Execution/moe.mlir).
// RUN: swiglu-opt %s --glu-gpu-pipeline -verify-diagnostics -split-input-file

func.func @route(%logits: tensor<?x8xf32>) -> (tensor<?x2xi32>, tensor<?x2xf32>) {
  // expected-error @+1 {{convert-glu-to-gpu: 'glu.route' has no GPU lowering yet (the CPU pipelines run it)}}
  %ids, %w = glu.route softmax %logits : tensor<?x8xf32> top_k 2 -> tensor<?x2xi32>, tensor<?x2xf32>
  return %ids, %w : tensor<?x2xi32>, tensor<?x2xf32>
}
// -----
func.func @moe(%x: tensor<?x64xf32>, %ids: tensor<?x2xi32>, %w: tensor<?x2xf32>,
               %wg: tensor<4x96x64xf32>, %wu: tensor<4x96x64xf32>, %wd: tensor<4x64x96xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{convert-glu-to-gpu: 'glu.moe' has no GPU lowering yet (the CPU pipelines run it)}}
  %y = glu.moe silu %x : tensor<?x64xf32> experts %ids : tensor<?x2xi32> weights %w : tensor<?x2xf32>
         gate %wg : tensor<4x96x64xf32> up %wu : tensor<4x96x64xf32> down %wd : tensor<4x64x96xf32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}
