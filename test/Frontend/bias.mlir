// The LLaMA MLP with bias=True on all three nn.Linear: the biases become
// gate_bias, up_bias and down_bias (bf16 biases are extended to f32 by
// torch-mlir; the op takes the bf16 originals).
// REQUIRES: torch_mlir
// RUN: %python %S/torch_ffn.py --kind bias --dtype f32 --output-type linalg-on-tensors --workdir %t | FileCheck %s --check-prefix=F32-LINALG
// RUN: %python %S/torch_ffn.py --kind bias --dtype f32 --output-type tosa --workdir %t | FileCheck %s --check-prefix=F32-TOSA
// RUN: %python %S/torch_ffn.py --kind bias --dtype bf16 --output-type linalg-on-tensors --workdir %t | FileCheck %s --check-prefix=BF16-LINALG
// RUN: %python %S/torch_ffn.py --kind bias --dtype bf16 --output-type tosa --workdir %t | FileCheck %s --check-prefix=BF16-TOSA

// F32-LINALG: glu.ffn silu %arg0 : tensor<2x5x64xf32> gate %{{.*}} : tensor<176x64xf32> up %{{.*}} : tensor<176x64xf32> down %{{.*}} : tensor<64x176xf32> gate_bias %{{.*}} : tensor<176xf32> up_bias %{{.*}} : tensor<176xf32> down_bias %{{.*}} : tensor<64xf32> -> tensor<2x5x64xf32>
// F32-LINALG-NOT: FAIL
// F32-LINALG: SUMMARY PASS bias f32 linalg-on-tensors raised=glu.ffn silu

// F32-TOSA: glu.ffn silu %arg0 : tensor<2x5x64xf32> {{.*}} gate_bias %{{.*}} : tensor<176xf32> up_bias %{{.*}} : tensor<176xf32> down_bias %{{.*}} : tensor<64xf32> layout in_out -> tensor<2x5x64xf32>
// F32-TOSA-NOT: FAIL
// F32-TOSA: SUMMARY PASS bias f32 tosa raised=glu.ffn silu

// BF16-LINALG: glu.ffn silu %arg0 : tensor<2x5x64xbf16> {{.*}} gate_bias %{{.*}} : tensor<176xbf16> up_bias %{{.*}} : tensor<176xbf16> down_bias %{{.*}} : tensor<64xbf16> -> tensor<2x5x64xbf16>
// BF16-LINALG-NOT: FAIL
// BF16-LINALG: SUMMARY PASS bias bf16 linalg-on-tensors raised=glu.ffn silu

// BF16-TOSA: glu.ffn silu %arg0 : tensor<2x5x64xbf16> {{.*}} gate_bias %{{.*}} : tensor<176xbf16> up_bias %{{.*}} : tensor<176xbf16> down_bias %{{.*}} : tensor<64xbf16> layout in_out -> tensor<2x5x64xbf16>
// BF16-TOSA-NOT: FAIL
// BF16-TOSA: SUMMARY PASS bias bf16 tosa raised=glu.ffn silu
