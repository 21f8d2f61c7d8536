// Whole models: ops of one configuration share their panel functions (one
// @__glu_cpu_panel / @__glu_cpu_down_panel pair for both SwiGLU layers; the
// GeGLU layer, another activation, gets its own pair), and one public
// @layers_pack_weights packs the weights of every layer (glu.packs: their
// argument positions, layer by layer); the function takes the panels where
// its first weight was.
// RUN: swiglu-opt %s --convert-glu-to-cpu-kernels='threads=2' | FileCheck %s

// CHECK-LABEL: func.func @layers(
// CHECK-SAME:    %{{.*}}: tensor<?x64xf32>,
// CHECK-SAME:    tensor<3x64x64xf32> {glu.packed_by = @layers_pack_weights}
// CHECK-SAME:    tensor<1x96x64xf32> {glu.packed_by = @layers_pack_weights}
// CHECK-SAME:    tensor<3x64x64xf32> {glu.packed_by = @layers_pack_weights}
// CHECK-SAME:    tensor<1x96x64xf32> {glu.packed_by = @layers_pack_weights}
// CHECK-SAME:    tensor<3x64x64xf32> {glu.packed_by = @layers_pack_weights}
// CHECK-SAME:    tensor<1x96x64xf32> {glu.packed_by = @layers_pack_weights})
// CHECK-COUNT-4: call @__glu_cpu_panel(
// CHECK-NOT:     call @__glu_cpu_pack
// CHECK-COUNT-2: call @__glu_cpu_panel_0(
// CHECK: func.func @layers_pack_weights({{.*}}) -> (tensor<3x64x64xf32>, tensor<1x96x64xf32>, tensor<3x64x64xf32>, tensor<1x96x64xf32>, tensor<3x64x64xf32>, tensor<1x96x64xf32>)
// CHECK-SAME:    glu.packing_function, glu.packs = array<i64: 1, 2, 3, 4, 5, 6, 7, 8, 9>
// CHECK-NOT: func.func @layers_pack_weights
// CHECK-DAG: func.func private @__glu_cpu_panel(
// CHECK-DAG: func.func private @__glu_cpu_down_panel(
// CHECK-DAG: func.func private @__glu_cpu_panel_0(
// CHECK-DAG: func.func private @__glu_cpu_down_panel_0(
// CHECK-NOT: func.func private @__glu_cpu_panel_1(
func.func @layers(%x: tensor<?x64xf32>, %wg: tensor<96x64xf32>, %wu: tensor<96x64xf32>,
                  %wd: tensor<64x96xf32>, %wg2: tensor<96x64xf32>, %wu2: tensor<96x64xf32>,
                  %wd2: tensor<64x96xf32>, %wg3: tensor<96x64xf32>, %wu3: tensor<96x64xf32>,
                  %wd3: tensor<64x96xf32>) -> tensor<?x64xf32> {
  %y = glu.ffn silu %x : tensor<?x64xf32> gate %wg : tensor<96x64xf32> up %wu : tensor<96x64xf32>
         down %wd : tensor<64x96xf32> -> tensor<?x64xf32>
  %z = glu.ffn silu %y : tensor<?x64xf32> gate %wg2 : tensor<96x64xf32> up %wu2 : tensor<96x64xf32>
         down %wd2 : tensor<64x96xf32> -> tensor<?x64xf32>
  %g = glu.ffn gelu_tanh %z : tensor<?x64xf32> gate %wg3 : tensor<96x64xf32> up %wu3 : tensor<96x64xf32>
         down %wd3 : tensor<64x96xf32> -> tensor<?x64xf32>
  return %g : tensor<?x64xf32>
}
