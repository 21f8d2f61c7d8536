// RUN: swiglu-opt %s --glu-moe-to-experts="grouped-decode-tokens=8" \
// RUN:   --convert-glu-to-cpu-kernels="threads=2 vector-bits=512 micro-vectors=4 remarks=true" \
// RUN:   -verify-diagnostics | FileCheck %s
// The decode branch of glu-moe-to-experts (a glu.moe tagged
// glu.grouped_decode) as one grouped kernel: a serial counting sort of the
// entries by expert, then two parallel regions for all the chosen experts,
// both over (slot, panel) items, then the weighted combine, on the panels
// that the per-expert branch's glu.ffn ops pack at load time. (Numerics:
// test/Execution/moe_decode.mlir.)

// CHECK-LABEL: func.func @moe(
// CHECK-SAME:    tensor<8x3x64x64xbf16> {glu.packed_by = @moe_pack_weights}
// CHECK-SAME:    tensor<8x1x96x64xbf16> {glu.packed_by = @moe_pack_weights}
// CHECK:         %[[SMALL:.*]] = arith.cmpi ule, %{{.*}}, %c8 : index
// CHECK:         scf.if %[[SMALL]]
// CHECK-NOT:       glu.moe
// First projections: items (slot, panel), contiguous ranges per worker.
// CHECK:           scf.forall (%{{.*}}) in (2)
// CHECK:             scf.for
// CHECK:               %[[SLOT:.*]] = arith.divui
// CHECK:               %[[PANEL:.*]] = arith.remui
// CHECK:               %[[E:.*]] = memref.load %{{.*}}[%[[SLOT]]] : memref<?xindex>
// CHECK:               %[[P1:.*]] = memref.subview %{{.*}}[%[[E]], 0, 0, 0]
// CHECK:               func.call @[[FIRST:__glu_cpu_panel[_0-9]*]](%{{.*}}, %[[P1]], %{{.*}}, %[[SLOT]], %[[PANEL]],
// Down projections: items (slot, output panel) too; then, serially, each
// row times its routing weight added to its token's sum, rounded once.
// CHECK:           scf.forall (%{{.*}}) in (2)
// CHECK:             scf.for
// CHECK:               %[[S:.*]] = arith.divui
// CHECK:               %[[Q:.*]] = arith.remui
// CHECK:               %[[E2:.*]] = memref.load %{{.*}}[%[[S]]] : memref<?xindex>
// CHECK:               %[[P2:.*]] = memref.subview %{{.*}}[%[[E2]], 0, 0, 0]
// CHECK:               func.call @__glu_cpu_down_panel{{.*}}(%{{.*}}, %[[P2]], %{{.*}}, %[[S]], %[[Q]],
// CHECK:           scf.for
// CHECK:             arith.mulf %{{.*}} : vector<16xf32>
// CHECK:             arith.addf %{{.*}} : vector<16xf32>
// CHECK:             vector.maskedstore
// CHECK-NOT:       scf.forall
// CHECK:         } else {
// The per-expert branch runs the same first-projection panel function.
// CHECK:           scf.for
// CHECK:             scf.forall
// CHECK:               func.call @[[FIRST]](
// CHECK-LABEL: func.func @moe_pack_weights(
// CHECK-SAME:    -> (tensor<8x3x64x64xbf16>, tensor<8x1x96x64xbf16>)
func.func @moe(%x: tensor<?x64xf32>, %ids: tensor<?x2xi32>, %w: tensor<?x2xf32>,
               %wg: tensor<8x96x64xbf16>, %wu: tensor<8x96x64xbf16>, %wd: tensor<8x64x96xbf16>,
               %bd: tensor<8x64xf32>) -> tensor<?x64xf32> {
  // expected-remark@+1 {{glu.moe decode: one grouped kernel for the chosen experts}}
  %y = glu.moe silu %x : tensor<?x64xf32> experts %ids : tensor<?x2xi32> weights %w : tensor<?x2xf32>
         gate %wg : tensor<8x96x64xbf16> up %wu : tensor<8x96x64xbf16>
         down %wd : tensor<8x64x96xbf16> down_bias %bd : tensor<8x64xf32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// Weights not packed at load time (a private function): no panels for the
// grouped kernel, whose branch is then never taken; the per-expert branch
// computes every input.
// CHECK-LABEL: func.func private @not_at_load(
// CHECK:         %[[NO:.*]] = arith.constant false
// CHECK:         scf.if %[[NO]]
// CHECK-NOT:       glu.moe
// CHECK-NOT:       scf.forall
// CHECK:         } else {
// CHECK:           scf.forall
func.func private @not_at_load(%x: tensor<?x64xf32>, %ids: tensor<?x2xi32>, %w: tensor<?x2xf32>,
               %wg: tensor<8x96x64xf32>, %wu: tensor<8x96x64xf32>, %wd: tensor<8x64x96xf32>)
               -> tensor<?x64xf32> {
  // expected-remark@+1 {{glu.moe decode left to the per-expert branch}}
  %y = glu.moe gelu_tanh %x : tensor<?x64xf32> experts %ids : tensor<?x2xi32> weights %w : tensor<?x2xf32>
         gate %wg : tensor<8x96x64xf32> up %wu : tensor<8x96x64xf32>
         down %wd : tensor<8x64x96xf32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}
