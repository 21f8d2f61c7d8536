// convert-glu-to-linalg's round-hidden: glu.ffn_grad/glu.mlp_grad of bf16
// blocks round the elementwise backward's results (the dropped-out hidden,
// dg, du) to bf16 before the GEMMs and bias sums read them (PyTorch's bf16
// autograd; the same rounding as convert-glu-to-cpu-kernels' option). f32
// blocks, and every block without the option, keep them in acc_type.
// RUN: swiglu-opt %s --convert-glu-to-linalg='round-hidden=true' --split-input-file | FileCheck %s
// RUN: swiglu-opt %s --convert-glu-to-linalg --split-input-file | FileCheck %s --check-prefix=OFF

// CHECK-LABEL: func.func @ffn_bf16
// CHECK: linalg.generic
// CHECK: math.exp
// CHECK: linalg.yield %{{.*}}, %{{.*}}, %{{.*}} : f32, f32, f32
// CHECK-COUNT-3: arith.truncf %{{.*}} : f32 to bf16
// dx = dg·Wg reads the rounded dg, widened back for the f32 GEMM.
// CHECK: arith.extf %{{.*}} : bf16 to f32
// OFF-LABEL: func.func @ffn_bf16
// OFF: linalg.yield %{{.*}}, %{{.*}}, %{{.*}} : f32, f32, f32
// OFF-NOT: ins(%{{.*}} : tensor<?x176xf32>) outs(%{{.*}} : tensor<?x176xbf16>)
// OFF: return
func.func @ffn_bf16(%x: tensor<?x64xbf16>, %dy: tensor<?x64xbf16>, %wg: tensor<176x64xbf16>, %wu: tensor<176x64xbf16>, %wd: tensor<64x176xbf16>) -> (tensor<?x64xbf16>, tensor<176x64xbf16>, tensor<176x64xbf16>, tensor<64x176xbf16>) {
  %r:4 = glu.ffn_grad silu %x : tensor<?x64xbf16> grad %dy : tensor<?x64xbf16> gate %wg : tensor<176x64xbf16> up %wu : tensor<176x64xbf16> down %wd : tensor<64x176xbf16> -> tensor<?x64xbf16>, tensor<176x64xbf16>, tensor<176x64xbf16>, tensor<64x176xbf16>
  return %r#0, %r#1, %r#2, %r#3 : tensor<?x64xbf16>, tensor<176x64xbf16>, tensor<176x64xbf16>, tensor<64x176xbf16>
}

// -----

// An f32 block: nothing rounded.
// CHECK-LABEL: func.func @mlp_f32
// CHECK-NOT: arith.truncf
// CHECK: return
func.func @mlp_f32(%x: tensor<?x64xf32>, %dy: tensor<?x64xf32>, %wu: tensor<176x64xf32>, %wd: tensor<64x176xf32>) -> (tensor<?x64xf32>, tensor<176x64xf32>, tensor<64x176xf32>) {
  %r:3 = glu.mlp_grad gelu_erf %x : tensor<?x64xf32> grad %dy : tensor<?x64xf32> up %wu : tensor<176x64xf32> down %wd : tensor<64x176xf32> -> tensor<?x64xf32>, tensor<176x64xf32>, tensor<64x176xf32>
  return %r#0, %r#1, %r#2 : tensor<?x64xf32>, tensor<176x64xf32>, tensor<64x176xf32>
}
