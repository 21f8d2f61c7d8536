// T5 v1.1 / Flan-T5's gated-gelu FFN (transformers' T5DenseGatedActDense
// with NewGELUActivation, written with Python floats: sqrt(2/pi) and
// 0.044715 as f64 constants that torch-mlir rounds to f32 with truncf inside
// the f32 body). A truncf of a constant rounds no intermediate value: it is
// folded, and the f32 block is raised without allow-rounding-changes.
// REQUIRES: torch_mlir
// RUN: %python %S/torch_ffn.py --kind t5 --dtype f32 --output-type linalg-on-tensors --workdir %t | FileCheck %s --check-prefix=F32-LINALG
// RUN: %python %S/torch_ffn.py --kind t5 --dtype f32 --output-type tosa --workdir %t | FileCheck %s --check-prefix=F32-TOSA
// RUN: %python %S/torch_ffn.py --kind t5 --dtype bf16 --output-type linalg-on-tensors --workdir %t | FileCheck %s --check-prefix=BF16-LINALG

// F32-LINALG-NOT: REMARK glu-raise: not raised
// F32-LINALG: REMARK glu-raise: raised to glu.ffn gelu_tanh{{$}}
// F32-LINALG: glu.ffn gelu_tanh %arg0 : tensor<2x5x64xf32> gate %{{.*}} : tensor<176x64xf32> up %{{.*}} : tensor<176x64xf32> down %{{.*}} : tensor<64x176xf32> -> tensor<2x5x64xf32>
// F32-LINALG-NOT: FAIL
// F32-LINALG: SUMMARY PASS t5 f32 linalg-on-tensors raised=glu.ffn gelu_tanh

// F32-TOSA: glu.ffn gelu_tanh %arg0 : tensor<2x5x64xf32> {{.*}} layout in_out -> tensor<2x5x64xf32>
// F32-TOSA-NOT: FAIL
// F32-TOSA: SUMMARY PASS t5 f32 tosa raised=glu.ffn gelu_tanh

// BF16-LINALG: glu.ffn gelu_tanh %arg0 : tensor<2x5x64xbf16> {{.*}} -> tensor<2x5x64xbf16>
// BF16-LINALG-NOT: FAIL
// BF16-LINALG: SUMMARY PASS t5 bf16 linalg-on-tensors raised=glu.ffn gelu_tanh
