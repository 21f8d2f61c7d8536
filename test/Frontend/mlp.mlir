// A plain MLP fc2(gelu(fc1(x))) with biases: raised to glu.mlp gelu_erf.
// REQUIRES: torch_mlir
// RUN: %python %S/torch_ffn.py --kind mlp --dtype f32 --output-type linalg-on-tensors --workdir %t | FileCheck %s --check-prefix=F32-LINALG
// RUN: %python %S/torch_ffn.py --kind mlp --dtype f32 --output-type tosa --workdir %t | FileCheck %s --check-prefix=F32-TOSA
// RUN: %python %S/torch_ffn.py --kind mlp --dtype bf16 --output-type linalg-on-tensors --workdir %t | FileCheck %s --check-prefix=BF16-LINALG

// F32-LINALG: glu.mlp gelu_erf %arg0 : tensor<2x5x64xf32> up %{{.*}} : tensor<176x64xf32> down %{{.*}} : tensor<64x176xf32> up_bias %{{.*}} : tensor<176xf32> down_bias %{{.*}} : tensor<64xf32> -> tensor<2x5x64xf32>
// F32-LINALG-NOT: FAIL
// F32-LINALG: SUMMARY PASS mlp f32 linalg-on-tensors raised=glu.mlp gelu_erf

// F32-TOSA: glu.mlp gelu_erf %arg0 : tensor<2x5x64xf32> up %{{.*}} : tensor<64x176xf32> down %{{.*}} : tensor<176x64xf32> up_bias %{{.*}} : tensor<176xf32> down_bias %{{.*}} : tensor<64xf32> layout in_out -> tensor<2x5x64xf32>
// F32-TOSA-NOT: FAIL
// F32-TOSA: SUMMARY PASS mlp f32 tosa raised=glu.mlp gelu_erf

// BF16-LINALG: glu.mlp gelu_erf %arg0 : tensor<2x5x64xbf16> {{.*}} -> tensor<2x5x64xbf16>
// BF16-LINALG-NOT: FAIL
// BF16-LINALG: SUMMARY PASS mlp bf16 linalg-on-tensors raised=glu.mlp gelu_erf
