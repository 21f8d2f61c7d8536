// round-hidden on the training ops of a bf16 block (PyTorch's bf16
// autograd): the fused dh epilogue stores the hidden, dg and du rounded to
// bf16, so with bf16-dot every GEMM of the backward runs AVX512-BF16 dot
// products: the recompute and dh (as without the option), dx = dg·Wg +
// du·Wu (dg, du in place, the weights in panels of k pairs), and the three
// weight gradients, whose K is the tokens: both operands packed in k pairs
// (A in [S][K/2][12] strips), an odd count zero-padded. The packs are views
// of the op's byte workspace; dx and the weight gradients are rounded to
// bf16 in their GEMMs' epilogues (no f32 result, no rounding generic).
// RUN: swiglu-opt %s --convert-glu-to-cpu-kernels='threads=2 bf16-dot=true round-hidden=true' | FileCheck %s
// RUN: swiglu-opt %s --convert-glu-to-cpu-kernels='threads=2 bf16-dot=true' | FileCheck %s --check-prefix=OFF
// RUN: swiglu-opt %s --convert-glu-to-cpu-kernels='threads=2 round-hidden=true' | FileCheck %s --check-prefix=WIDEN

// CHECK-LABEL: func.func @ffn
// The recompute of g and u: bf16 x in place, bf16 panels of k pairs.
// CHECK: memref.view %{{.*}}[%{{.*}}][%{{.*}}, %{{.*}}] : memref<?xi8> to memref<?x?x128xbf16>
// CHECK: func.call @[[DOT:__glu_cpu_gemm_panel]](
// CHECK: func.call @[[DOT]](
// dh with the elementwise backward: the hidden, dg and du in bf16.
// CHECK-COUNT-3: memref.view %{{.*}} : memref<?xi8> to memref<?x?xbf16>
// CHECK: func.call @[[FUSED:__glu_cpu_gemm_panel_0]](
// dx = dg·Wg, then + du·Wu: bf16 dg, du read in place.
// CHECK: func.call @[[DOT]](%{{.*}} : (memref<?x?xbf16, strided<[?, 1], offset: ?>>
// CHECK: func.call @[[INIT:__glu_cpu_gemm_panel_1]](%{{.*}} : (memref<?x?xbf16, strided<[?, 1], offset: ?>>, memref<?x?x128xbf16>, memref<?x?x?xf32>, memref<?x?xbf16>,
// dWg, dWu, dWd: A (dgᵀ, duᵀ, the hidden's transpose) in strips of k pairs,
// two rows of 6 interleaved.
// CHECK: memref.view %{{.*}}[%{{.*}}][%{{.*}}, %{{.*}}] : memref<?xi8> to memref<?x?x12xbf16>
// CHECK: vector.shuffle %{{.*}}, %{{.*}} [0, 6, 1, 7, 2, 8, 3, 9, 4, 10, 5, 11] : vector<6xbf16>, vector<6xbf16>
// CHECK: func.call @[[WGRAD:__glu_cpu_gemm_panel_2]](%{{.*}} : (memref<?x?x12xbf16>, memref<?x?x128xbf16>, memref<?x?x?xf32>, memref<?x?xbf16>,
// CHECK: func.call @[[WGRAD]](
// CHECK: func.call @[[WGRAD]](
// CHECK: func.call @[[WGRAD]](
// CHECK: func.call @[[WGRAD]](
// CHECK: func.call @[[WGRAD]](
// CHECK-NOT: func.call @__glu_cpu_gemm_panel
// CHECK-NOT: linalg.generic
// CHECK: return
// Every panel function is dot products, none an FMA.
// CHECK-LABEL: func.func private @__glu_cpu_gemm_panel(
// CHECK-NOT: vector.fma
// CHECK: x86vector.avx512.dot
// CHECK-LABEL: func.func private @__glu_cpu_gemm_panel_0(
// CHECK-NOT: vector.fma
// CHECK: x86vector.avx512.dot
// CHECK: arith.truncf %{{.*}} : vector<16xf32> to vector<16xbf16>
// CHECK: vector.maskedstore %{{.*}} : memref<?x?xbf16>, vector<16xi1>, vector<16xbf16>
// CHECK-LABEL: func.func private @__glu_cpu_gemm_panel_1(
// CHECK-NOT: vector.fma
// CHECK: x86vector.avx512.dot
// CHECK: arith.truncf %{{.*}} : vector<16xf32> to vector<16xbf16>
// CHECK-LABEL: func.func private @__glu_cpu_gemm_panel_2(
// CHECK-NOT: vector.fma
// The A pair of lane r from its strip: [strip, kp, 2r].
// CHECK: vector.load %{{.*}}[%{{.*}}, %{{.*}}, %c2{{.*}}] : memref<?x?x12xbf16>, vector<2xbf16>
// CHECK: x86vector.avx512.dot
// CHECK-NOT: vector.fma
// CHECK: arith.truncf %{{.*}} : vector<16xf32> to vector<16xbf16>
// CHECK: vector.maskedstore %{{.*}} : memref<?x?xbf16>, vector<16xi1>, vector<16xbf16>

// Without the option (the op's semantics: f32 hidden, dg, du), only the
// recompute and dh run dot products; dx and the weight gradients widen.
// OFF-LABEL: func.func @ffn
// OFF-NOT: memref<?x?x12xbf16>
// OFF-LABEL: func.func private @__glu_cpu_gemm_panel(
// OFF: x86vector.avx512.dot
// OFF-LABEL: func.func private @__glu_cpu_gemm_panel_0(
// OFF: x86vector.avx512.dot
// OFF: vector.maskedstore %{{.*}} : memref<?x?xf32>, vector<16xi1>, vector<16xf32>
// OFF-LABEL: func.func private @__glu_cpu_gemm_panel_1(
// OFF-NOT: x86vector.avx512.dot
// OFF: vector.fma
// OFF-LABEL: func.func private @__glu_cpu_gemm_panel_2(
// OFF-NOT: x86vector.avx512.dot
// OFF: vector.fma
// OFF-LABEL: func.func private @__glu_cpu_gemm_panel_3(
// OFF-NOT: x86vector.avx512.dot
// OFF: vector.fma

// Without bf16-dot the rounding is the same (bf16 stores in the epilogue);
// the GEMMs widen.
// WIDEN-LABEL: func.func private @__glu_cpu_gemm_panel_0(
// WIDEN: arith.truncf %{{.*}} : vector<16xf32> to vector<16xbf16>
// WIDEN-NOT: x86vector.avx512.dot

func.func @ffn(%x: tensor<?x64xbf16>, %dy: tensor<?x64xbf16>, %wg: tensor<176x64xbf16>, %wu: tensor<176x64xbf16>, %wd: tensor<64x176xbf16>) -> (tensor<?x64xbf16>, tensor<176x64xbf16>, tensor<176x64xbf16>, tensor<64x176xbf16>) {
  %r:4 = glu.ffn_grad silu %x : tensor<?x64xbf16> grad %dy : tensor<?x64xbf16> gate %wg : tensor<176x64xbf16> up %wu : tensor<176x64xbf16> down %wd : tensor<64x176xbf16> -> tensor<?x64xbf16>, tensor<176x64xbf16>, tensor<176x64xbf16>, tensor<64x176xbf16>
  return %r#0, %r#1, %r#2, %r#3 : tensor<?x64xbf16>, tensor<176x64xbf16>, tensor<176x64xbf16>, tensor<64x176xbf16>
}
