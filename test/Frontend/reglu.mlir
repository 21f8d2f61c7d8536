// ReGLU: down(relu(gate(x)) * up(x)), exported by torch-mlir, raised, run
// and compared with PyTorch.
// REQUIRES: torch_mlir
// RUN: %python %S/torch_ffn.py --kind reglu --dtype f32 --output-type linalg-on-tensors --workdir %t | FileCheck %s --check-prefix=F32-LINALG
// RUN: %python %S/torch_ffn.py --kind reglu --dtype f32 --output-type tosa --workdir %t | FileCheck %s --check-prefix=F32-TOSA
// RUN: %python %S/torch_ffn.py --kind reglu --dtype bf16 --output-type linalg-on-tensors --workdir %t | FileCheck %s --check-prefix=BF16-LINALG

// F32-LINALG: glu.ffn relu %arg0 : tensor<2x5x64xf32> gate %{{.*}} : tensor<176x64xf32> up %{{.*}} : tensor<176x64xf32> down %{{.*}} : tensor<64x176xf32> -> tensor<2x5x64xf32>
// F32-LINALG-NOT: FAIL
// F32-LINALG: SUMMARY PASS reglu f32 linalg-on-tensors raised=glu.ffn relu

// F32-TOSA: glu.ffn relu %arg0 : tensor<2x5x64xf32> {{.*}} layout in_out -> tensor<2x5x64xf32>
// F32-TOSA-NOT: FAIL
// F32-TOSA: SUMMARY PASS reglu f32 tosa raised=glu.ffn relu

// BF16-LINALG: glu.ffn relu %arg0 : tensor<2x5x64xbf16> {{.*}} -> tensor<2x5x64xbf16>
// BF16-LINALG-NOT: FAIL
// BF16-LINALG: SUMMARY PASS reglu bf16 linalg-on-tensors raised=glu.ffn relu
