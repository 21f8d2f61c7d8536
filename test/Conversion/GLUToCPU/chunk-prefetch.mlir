// Small batches of 2-3 full row blocks (12-18 tokens with 6-row
// micro-kernels), split over the workers by panels as decode is, run panel
// functions whose micro-kernels prefetch the next K chunk of the panel into L2, each row
// block its share of the chunk's rows, so that the memory streams while the
// later blocks compute on the chunk in L2. A row of NR weights is one
// prefetch a 64-byte line (4 for f32 and for bf16 pairs, 2 for widened
// bf16). The share's division is a multiply by 2^32 / blocks and a shift.
// Decode of up to 2 MR - 1 tokens and prefill call the panel functions
// without prefetches.
// RUN: swiglu-opt %s --convert-glu-to-cpu-kernels='threads=2 prefetch-min-bytes=0' | FileCheck %s
// RUN: swiglu-opt %s --convert-glu-to-cpu-kernels='threads=2 bf16-dot=true prefetch-min-bytes=0' | FileCheck %s --check-prefix=DOT
//
// Only ops whose weights take at least prefetch-min-bytes (default 4 MiB)
// get the prefetching panels: @f32's are 3 x 96 x 64 x 4 = 73728 bytes,
// @bf16's half that.
// RUN: swiglu-opt %s --convert-glu-to-cpu-kernels='threads=2' | FileCheck %s --check-prefix=NONE
// RUN: swiglu-opt %s --convert-glu-to-cpu-kernels='threads=2 prefetch-min-bytes=73729' | FileCheck %s --check-prefix=NONE
// RUN: swiglu-opt %s --convert-glu-to-cpu-kernels='threads=2 prefetch-min-bytes=73728' | FileCheck %s --check-prefix=F32ONLY
// NONE-LABEL: func.func @f32(
// NONE-NOT:     prefetch
// NONE:         func.call @__glu_cpu_panel(
// NONE-NOT:     prefetch
// F32ONLY-LABEL: func.func @f32(
// F32ONLY:         func.call @__glu_cpu_panel_prefetch(
// F32ONLY-LABEL: func.func @bf16(
// F32ONLY-NOT:     call @__glu_cpu{{.*}}_prefetch
// F32ONLY-LABEL: func.func private @__glu_cpu_panel_prefetch(

// CHECK-LABEL: func.func @f32(
// Token-parallel (prefill): the plain panels.
// CHECK:         scf.forall
// CHECK:           func.call @__glu_cpu_panel(
// CHECK:           func.call @__glu_cpu_down_panel(
// Panel-parallel: the prefetching panels for 2 MR <= rows <= 3 MR.
// CHECK:         %[[ROWS:.*]] = arith.minsi %c96
// CHECK:         %[[MORE:.*]] = arith.cmpi sge, %[[ROWS]], %c12
// CHECK:         %[[FEW:.*]] = arith.cmpi slt, %[[ROWS]], %c19
// CHECK:         %[[SMALL:.*]] = arith.andi %[[MORE]], %[[FEW]]
// CHECK:         scf.forall
// CHECK:           scf.if %[[SMALL]] {
// CHECK-NEXT:        func.call @__glu_cpu_panel_prefetch(
// CHECK:           } else {
// CHECK-NEXT:        func.call @__glu_cpu_panel(
// CHECK:         scf.forall
// CHECK:           scf.if %[[SMALL]] {
// CHECK-NEXT:        func.call @__glu_cpu_down_panel_prefetch(
// CHECK:           } else {
// CHECK-NEXT:        func.call @__glu_cpu_down_panel(

// CHECK-LABEL: func.func private @__glu_cpu_panel(
// CHECK-NOT:     memref.prefetch
// CHECK-LABEL: func.func private @__glu_cpu_down_panel(
// CHECK-NOT:     memref.prefetch

// CHECK-LABEL: func.func private @__glu_cpu_panel_prefetch(
// CHECK-SAME:    %{{[^:]*}}: memref<?x?xf32, {{.*}}>, %[[PANELS:[^:]*]]: memref<?x?x?xf32,
// CHECK:         %[[BLOCKS:.*]] = arith.ceildivsi %{{.*}}, %c6
// CHECK:         %[[RECIPROCAL:.*]] = arith.ceildivsi %c4294967296{{.*}}, %[[BLOCKS]]
// CHECK:         scf.index_switch
// CHECK:         case 1 {
// CHECK:           scf.for
// CHECK-COUNT-4:     vector.fma
// CHECK:             %[[SHARE:.*]] = arith.muli %{{.*}}, %[[RECIPROCAL]]
// CHECK:             %[[QUOTIENT:.*]] = arith.shrui %[[SHARE]], %c32
// CHECK:             %[[AHEAD:.*]] = arith.addi %{{.*}}, %[[QUOTIENT]]
// CHECK:             %[[ROW1:.*]] = arith.minsi %[[AHEAD]]
// CHECK-COUNT-4:     memref.prefetch %[[PANELS]][%{{.*}}, %[[ROW1]], %{{.*}}], read, locality<2>, data
// CHECK:         default {
// CHECK:           scf.for
// CHECK-COUNT-24:    vector.fma
// CHECK:             %[[ROW:.*]] = arith.minsi
// CHECK-COUNT-4:     memref.prefetch %[[PANELS]][%{{.*}}, %[[ROW]], %{{.*}}], read, locality<2>, data
// CHECK-NOT:     memref.prefetch
// CHECK-LABEL: func.func private @__glu_cpu_down_panel_prefetch(
// CHECK:         default {
// CHECK-COUNT-4:     memref.prefetch
// CHECK-NOT:     memref.prefetch

// Widened bf16 weights: the kernels on the chunk widened once (several row
// blocks) and those widening as they stream (one block) prefetch alike.
// CHECK-LABEL: func.func private @__glu_cpu_panel_prefetch_0(
// CHECK:         default {
// CHECK:             vector.fma
// CHECK-COUNT-2:     memref.prefetch %{{.*}} : memref<?x?x?xbf16
// CHECK:         default {
// CHECK:             vector.fma
// CHECK-COUNT-2:     memref.prefetch %{{.*}} : memref<?x?x?xbf16
// CHECK-NOT:     memref.prefetch
// CHECK-LABEL: func.func private @__glu_cpu_down_panel_prefetch_0(

// bf16 dot products: a row of k pairs is 2 x NR bf16, 4 lines.
// DOT-LABEL: func.func private @__glu_cpu_panel_prefetch_0(
// DOT:         default {
// DOT:           scf.for
// DOT:             x86vector.avx512.dot
// DOT-COUNT-4:     memref.prefetch %{{.*}} : memref<?x?x?xbf16
// DOT-NOT:         memref.prefetch
// DOT:             scf.yield
func.func @f32(%x: tensor<?x64xf32>, %wg: tensor<96x64xf32>, %wu: tensor<96x64xf32>,
               %wd: tensor<64x96xf32>) -> tensor<?x64xf32> {
  %y = glu.ffn silu %x : tensor<?x64xf32> gate %wg : tensor<96x64xf32>
      up %wu : tensor<96x64xf32> down %wd : tensor<64x96xf32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

func.func @bf16(%x: tensor<?x64xbf16>, %wg: tensor<96x64xbf16>, %wu: tensor<96x64xbf16>,
                %wd: tensor<64x96xbf16>) -> tensor<?x64xbf16> {
  %y = glu.ffn silu %x : tensor<?x64xbf16> gate %wg : tensor<96x64xbf16>
      up %wu : tensor<96x64xbf16> down %wd : tensor<64x96xbf16> -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}
