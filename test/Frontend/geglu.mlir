// GeGLU: down(gelu(gate(x)) * up(x)) with the erf GELU and the tanh GELU,
// exported by torch-mlir, raised, run and compared with PyTorch.
// REQUIRES: torch_mlir
// RUN: %python %S/torch_ffn.py --kind geglu_erf --dtype f32 --output-type linalg-on-tensors --workdir %t | FileCheck %s --check-prefix=ERF-F32-LINALG
// RUN: %python %S/torch_ffn.py --kind geglu_erf --dtype f32 --output-type tosa --workdir %t | FileCheck %s --check-prefix=ERF-F32-TOSA
// RUN: %python %S/torch_ffn.py --kind geglu_erf --dtype bf16 --output-type linalg-on-tensors --workdir %t | FileCheck %s --check-prefix=ERF-BF16-LINALG
// RUN: %python %S/torch_ffn.py --kind geglu_tanh --dtype f32 --output-type tosa --workdir %t | FileCheck %s --check-prefix=TANH-F32-TOSA
// RUN: %python %S/torch_ffn.py --kind geglu_tanh --dtype bf16 --output-type linalg-on-tensors --workdir %t | FileCheck %s --check-prefix=TANH-BF16-LINALG
// RUN: %python %S/torch_ffn.py --kind geglu_tanh --dtype f32 --output-type linalg-on-tensors --workdir %t | FileCheck %s --check-prefix=TANH-F32-LINALG

// ERF-F32-LINALG: glu.ffn gelu_erf %arg0 : tensor<2x5x64xf32> gate %{{.*}} : tensor<176x64xf32> up %{{.*}} : tensor<176x64xf32> down %{{.*}} : tensor<64x176xf32> -> tensor<2x5x64xf32>
// ERF-F32-LINALG-NOT: FAIL
// ERF-F32-LINALG: SUMMARY PASS geglu_erf f32 linalg-on-tensors raised=glu.ffn gelu_erf

// ERF-F32-TOSA: glu.ffn gelu_erf %arg0 : tensor<2x5x64xf32> {{.*}} layout in_out -> tensor<2x5x64xf32>
// ERF-F32-TOSA-NOT: FAIL
// ERF-F32-TOSA: SUMMARY PASS geglu_erf f32 tosa raised=glu.ffn gelu_erf

// ERF-BF16-LINALG: glu.ffn gelu_erf %arg0 : tensor<2x5x64xbf16> {{.*}} -> tensor<2x5x64xbf16>
// ERF-BF16-LINALG-NOT: FAIL
// ERF-BF16-LINALG: SUMMARY PASS geglu_erf bf16 linalg-on-tensors raised=glu.ffn gelu_erf

// TOSA writes sqrt(2/pi) as tosa.pow(0.636619746, 0.5): raised.
// TANH-F32-TOSA: glu.ffn gelu_tanh %arg0 : tensor<2x5x64xf32> {{.*}} layout in_out -> tensor<2x5x64xf32>
// TANH-F32-TOSA-NOT: FAIL
// TANH-F32-TOSA: SUMMARY PASS geglu_tanh f32 tosa raised=glu.ffn gelu_tanh

// bf16 computes the tanh GELU in bf16 (constants 7.968750e-01 : bf16): the
// constant is within bf16's precision of sqrt(2/pi), raised with
// allow-rounding-changes.
// TANH-BF16-LINALG: glu.ffn gelu_tanh %arg0 : tensor<2x5x64xbf16> {{.*}} -> tensor<2x5x64xbf16>
// TANH-BF16-LINALG-NOT: FAIL
// TANH-BF16-LINALG: SUMMARY PASS geglu_tanh bf16 linalg-on-tensors raised=glu.ffn gelu_tanh

// torch-mlir 20261001's linalg lowering of gelu(approximate="tanh") in f32
// multiplies by 7.977240e-01 = sqrt(7/11) (sqrt(2/pi) with pi = 22/7)
// instead of sqrt(2/pi) = 0.7978846, 2.0e-4 off: raised as gelu_tanh (the
// formula PyTorch computes) with a remark stating the constant and the
// difference (gemma.mlir has the details). The export as written is off
// PyTorch by about 8e-6 of max|out| here; the raised block by 2e-7.
// TANH-F32-LINALG: REMARK glu-raise: raised to glu.ffn gelu_tanh (the frontend writes sqrt(2/pi) as 0.797724, the op uses 0.7978846: the activation differs by at most 5.1e-05 from the IR as written)
// TANH-F32-LINALG: glu.ffn gelu_tanh %arg0 : tensor<2x5x64xf32>
// TANH-F32-LINALG: CONTRACTIONS LEFT 0
// TANH-F32-LINALG-NOT: FAIL
// TANH-F32-LINALG: SUMMARY PASS geglu_tanh f32 linalg-on-tensors raised=glu.ffn gelu_tanh
