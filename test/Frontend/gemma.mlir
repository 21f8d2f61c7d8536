// Gemma 1-3's MLP (GemmaMLP: down(gelu_pytorch_tanh(gate(x)) * up(x))),
// exported by torch-mlir. Its f32 linalg lowering multiplies by
// 7.977240e-01 = sqrt(7/11) (sqrt(2/pi) with pi = 22/7) instead of
// sqrt(2/pi) = 0.7978846 (2.0e-4 relative): glu-raise takes a constant
// within 3e-4 of sqrt(2/pi) as that exporter's spelling, raises gelu_tanh
// (PyTorch's formula, the exact constant) and says so in the remark, with
// the largest difference it makes to the activation. The raised block then
// matches PyTorch to 4e-7 of max|out|, the export as written only to about
// 1e-5 (torch_ffn.py gives it 1e-4). The bf16 export rounds every
// intermediate: raised with allow-rounding-changes, also by
// --glu-cpu-pipeline's own raise (the cpu-exported lines).
// REQUIRES: torch_mlir
// RUN: %python %S/torch_ffn.py --kind gemma --dtype f32 --output-type linalg-on-tensors --workdir %t | FileCheck %s --check-prefix=F32-LINALG
// RUN: %python %S/torch_ffn.py --kind gemma --dtype f32 --output-type tosa --workdir %t | FileCheck %s --check-prefix=F32-TOSA
// RUN: %python %S/torch_ffn.py --kind gemma --dtype bf16 --output-type linalg-on-tensors --workdir %t | FileCheck %s --check-prefix=BF16-LINALG

// F32-LINALG: REMARK glu-raise: raised to glu.ffn gelu_tanh (the frontend writes sqrt(2/pi) as 0.797724, the op uses 0.7978846: the activation differs by at most 5.1e-05 from the IR as written)
// F32-LINALG: glu.ffn gelu_tanh %arg0 : tensor<2x5x64xf32> gate %{{.*}} : tensor<176x64xf32> up %{{.*}} : tensor<176x64xf32> down %{{.*}} : tensor<64x176xf32> -> tensor<2x5x64xf32>
// F32-LINALG-NOT: FAIL
// F32-LINALG: PASS raised-vs-torch
// F32-LINALG: PASS cpu-exported-vs-torch
// F32-LINALG: SUMMARY PASS gemma f32 linalg-on-tensors raised=glu.ffn gelu_tanh

// F32-TOSA: REMARK glu-raise: raised to glu.ffn gelu_tanh{{$}}
// F32-TOSA-NOT: FAIL
// F32-TOSA: SUMMARY PASS gemma f32 tosa raised=glu.ffn gelu_tanh

// BF16-LINALG: glu.ffn gelu_tanh %arg0 : tensor<2x5x64xbf16> {{.*}} -> tensor<2x5x64xbf16>
// BF16-LINALG-NOT: FAIL
// BF16-LINALG: PASS cpu-exported-vs-float64
// BF16-LINALG: SUMMARY PASS gemma bf16 linalg-on-tensors raised=glu.ffn gelu_tanh
