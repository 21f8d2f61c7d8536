// A SwiGLU whose merged projection interleaves gate and up
// (silu(gu[..., ::2]) * gu[..., 1::2]). torch-mlir writes the strided slice
// as tensor.extract_slice with stride 2 in linalg, and in TOSA as a reshape
// to [rows, 2F, 1], a tosa.gather of constant indices 0, 2, 4, ... (1, 3,
// 5, ...) and a reshape back (with the rows regrouped [1, 10] -> [2, 5]):
// both raised to glu.ffn ... packing interleaved.
// REQUIRES: torch_mlir
// RUN: %python %S/torch_ffn.py --kind interleaved --dtype f32 --output-type linalg-on-tensors --workdir %t | FileCheck %s --check-prefix=F32-LINALG
// RUN: %python %S/torch_ffn.py --kind interleaved --dtype f32 --output-type tosa --workdir %t | FileCheck %s --check-prefix=F32-TOSA
// RUN: %python %S/torch_ffn.py --kind interleaved --dtype bf16 --output-type tosa --workdir %t | FileCheck %s --check-prefix=BF16-TOSA

// F32-LINALG: glu.ffn silu %arg0 : tensor<2x5x64xf32> gate_up %{{.*}} : tensor<352x64xf32> down %{{.*}} : tensor<64x176xf32> packing interleaved -> tensor<2x5x64xf32>
// F32-LINALG-NOT: FAIL
// F32-LINALG: SUMMARY PASS interleaved f32 linalg-on-tensors raised=glu.ffn silu

// F32-TOSA: glu.ffn silu %arg0 : tensor<2x5x64xf32> gate_up %{{.*}} : tensor<64x352xf32> down %{{.*}} : tensor<176x64xf32> packing interleaved layout in_out -> tensor<2x5x64xf32>
// F32-TOSA-NOT: tosa.gather
// F32-TOSA-NOT: FAIL
// F32-TOSA: SUMMARY PASS interleaved f32 tosa raised=glu.ffn silu

// BF16-TOSA: glu.ffn silu %arg0 : tensor<2x5x64xbf16> {{.*}} packing interleaved layout in_out -> tensor<2x5x64xbf16>
// BF16-TOSA-NOT: FAIL
// BF16-TOSA: SUMMARY PASS interleaved bf16 tosa raised=glu.ffn silu
