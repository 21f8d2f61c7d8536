// The training ops through convert-glu-to-cpu-kernels (GradKernels.cpp):
// the reference lowering's structure (GradToLinalg.cpp) with every GEMM on
// packed operands and the register-tiled micro-kernel. One byte buffer per
// op, kept between calls (a global of the module, taken with an atomic
// exchange of a flag, else a fresh allocation): the A strips, the B panels
// (viewed as f32 or bf16) and the intermediates (g, u, the hidden, dg, du,
// the first half of dx; not the op's results), then per GEMM: B packed into
// [P][K][64] panels and A into [RB][K][6] strips by all workers
// (scf.forall), and the workers calling a shared panel function, row- or
// panel-parallel (scf.if). Without dropout the dh GEMM's epilogue is the
// elementwise backward (no linalg.generic left); with dropout, the dh GEMM
// and the reference's generic (Philox mask).
// RUN: swiglu-opt %s --convert-glu-to-cpu-kernels='threads=2' --split-input-file | FileCheck %s
// RUN: swiglu-opt %s --convert-glu-to-cpu-kernels='threads=2 grad-kernels=false' --split-input-file | FileCheck %s --check-prefix=OFF

// CHECK: memref.global "private" @__glu_grad_arena : memref<268435456xi8> = uninitialized
// CHECK: memref.global "private" @__glu_grad_arena_busy : memref<1xi64> = dense<0>
// CHECK-LABEL: func.func @ffn
// CHECK: %[[FLAG:.*]] = memref.get_global @__glu_grad_arena_busy : memref<1xi64>
// CHECK: %[[OLD:.*]] = memref.atomic_rmw assign %c1_i64, %[[FLAG]][%{{.*}}] : (i64, memref<1xi64>) -> i64
// CHECK: %[[TOOK:.*]] = arith.cmpi eq, %[[OLD]], %c0_i64
// CHECK: %[[WS:.*]] = scf.if %{{.*}} -> (memref<?xi8>) {
// CHECK:   memref.get_global @__glu_grad_arena : memref<268435456xi8>
// CHECK: } else {
// CHECK:   memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?xi8>
// Buffers of 2 MB and more are advised to transparent huge pages.
// CHECK: func.call @madvise(%{{.*}}, %{{.*}}, %c14_i32)
// g and u recomputed: plain GEMMs, x (f32, contiguous rows) read in place,
// Wg and Wu ([out, in]) packed through 16 x 16 in-register transposes.
// CHECK: memref.view %[[WS]][%{{.*}}][%{{.*}}, %{{.*}}] : memref<?xi8> to memref<?x?x64xf32>
// CHECK: scf.forall
// CHECK-COUNT-64: vector.shuffle
// CHECK: scf.if
// CHECK:   scf.forall (%{{.*}}) in (%{{.*}})
// CHECK:     func.call @[[PLAIN:__glu_cpu_gemm_panel]](
// CHECK:   scf.forall (%{{.*}}) in (%{{.*}})
// CHECK:     func.call @[[PLAIN]](
// CHECK: func.call @[[PLAIN]](
// dh fused with the derivative: three results (hidden, dg, du), in the
// arena.
// CHECK-COUNT-3: memref.view %[[WS]][%{{.*}}][%{{.*}}, %{{.*}}] : memref<?xi8> to memref<?x?xf32>
// CHECK: func.call @[[FUSED:__glu_cpu_gemm_panel_0]](
// dx = dg·Wg, then + du·Wu (init).
// CHECK: func.call @[[PLAIN]](
// CHECK: func.call @[[INIT:__glu_cpu_gemm_panel_1]](
// dWg, dWu, dWd: A transposed (dgᵀ, duᵀ, dyᵀ), packed into strips.
// The results are fresh buffers (the caller's), not the arena's.
// CHECK: memref.view %[[WS]][%{{.*}}][%{{.*}}, %{{.*}}] : memref<?xi8> to memref<?x?x6xf32>
// CHECK-NOT: memref.view %[[WS]]{{.*}} to memref<?x?xf32>
// CHECK-COUNT-6: func.call @[[PACKED:__glu_cpu_gemm_panel_2]](
// CHECK-NOT: linalg.generic
// The arena is free again at the end.
// CHECK: scf.if %[[TOOK]] {
// CHECK:   %[[FLAG2:.*]] = memref.get_global @__glu_grad_arena_busy
// CHECK:   memref.atomic_rmw assign %c0_i64{{.*}}, %[[FLAG2]]
// CHECK: return
// The micro-kernel: 6 x 4 vectors of accumulators, 4 panel loads and 6
// broadcasts per k, from A's rows in place or from a strip.
// CHECK-LABEL: func.func private @__glu_cpu_gemm_panel(
// CHECK: scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK-COUNT-4: vector.load
// CHECK: memref.load %{{.*}}[%{{.*}}, %{{.*}}] : memref<?x?xf32, strided<[?, 1], offset: ?>>
// CHECK: vector.broadcast
// CHECK-COUNT-4: vector.fma
// CHECK: vector.maskedstore
// The fused epilogue: g and u read where dh is, SiLU's σ, three stores.
// CHECK-LABEL: func.func private @__glu_cpu_gemm_panel_0(
// CHECK: vector.maskedload
// CHECK: vector.maskedload
// CHECK: math.exp
// CHECK: vector.maskedstore
// CHECK: vector.maskedstore
// CHECK: vector.maskedstore
// CHECK-LABEL: func.func private @__glu_cpu_gemm_panel_1(
// CHECK: vector.maskedload
// CHECK: arith.addf
// CHECK: vector.maskedstore
// CHECK-LABEL: func.func private @__glu_cpu_gemm_panel_2(
// CHECK: memref.load %{{.*}}[%{{.*}}, %{{.*}}, %{{.*}}] : memref<?x?x6xf32>
// OFF-LABEL: func.func @ffn
// OFF: glu.ffn_grad
// OFF-NOT: __glu_cpu_gemm_panel
func.func @ffn(%x: tensor<?x64xf32>, %dy: tensor<?x64xf32>, %wg: tensor<176x64xf32>, %wu: tensor<176x64xf32>, %wd: tensor<64x176xf32>) -> (tensor<?x64xf32>, tensor<176x64xf32>, tensor<176x64xf32>, tensor<64x176xf32>) {
  %r:4 = glu.ffn_grad silu %x : tensor<?x64xf32> grad %dy : tensor<?x64xf32> gate %wg : tensor<176x64xf32> up %wu : tensor<176x64xf32> down %wd : tensor<64x176xf32> -> tensor<?x64xf32>, tensor<176x64xf32>, tensor<176x64xf32>, tensor<64x176xf32>
  return %r#0, %r#1, %r#2, %r#3 : tensor<?x64xf32>, tensor<176x64xf32>, tensor<176x64xf32>, tensor<64x176xf32>
}

// -----

// glu.mlp_grad with dropout: the dh GEMM, then the reference's elementwise
// generic with the Philox4x32-10 mask, then the other GEMMs and the bias
// sums.
// CHECK-LABEL: func.func @mlp_dropout
// CHECK: func.call @[[P:__glu_cpu_gemm_panel]](
// CHECK: func.call @[[P]](
// CHECK: linalg.generic
// CHECK-COUNT-20: arith.mului_extended
// CHECK: func.call @[[P]](
// CHECK: func.call @[[T:__glu_cpu_gemm_panel_0]](
// CHECK: return
// CHECK-NOT: func.func private @__glu_cpu_gemm_panel_1(
func.func @mlp_dropout(%x: tensor<?x8xf32>, %dy: tensor<?x8xf32>, %w1: tensor<16x8xf32>, %w2: tensor<8x16xf32>, %b1: tensor<16xf32>, %s: tensor<i64>)
    -> (tensor<?x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>, tensor<16xf32>) {
  %r:4 = glu.mlp_grad relu %x : tensor<?x8xf32> grad %dy : tensor<?x8xf32> up %w1 : tensor<16x8xf32> down %w2 : tensor<8x16xf32> up_bias %b1 : tensor<16xf32> seed %s : tensor<i64> {dropout = 0.25 : f32} -> tensor<?x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>, tensor<16xf32>
  return %r#0, %r#1, %r#2, %r#3 : tensor<?x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>, tensor<16xf32>
}

// -----

// Accumulation in f64: left to convert-glu-to-linalg (the kernels
// accumulate in f32).
// CHECK-LABEL: func.func @f64
// CHECK: glu.mlp_grad
// CHECK-NOT: __glu_cpu_gemm_panel
func.func @f64(%x: tensor<4x8xf32>, %dy: tensor<4x8xf32>, %w1: tensor<16x8xf32>, %w2: tensor<8x16xf32>)
    -> (tensor<4x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>) {
  %r:3 = glu.mlp_grad gelu_erf %x : tensor<4x8xf32> grad %dy : tensor<4x8xf32> up %w1 : tensor<16x8xf32> down %w2 : tensor<8x16xf32> {acc_type = f64} -> tensor<4x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>
  return %r#0, %r#1, %r#2 : tensor<4x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>
}
