// GPT-OSS's expert MLP (transformers' GptOssExperts: interleaved gate/up
// with biases, clamped SwiGLU with alpha = 1.702 and limit 7, (up + 1)),
// one expert, with 3-D weights (torch.bmm, the batched path) and 2-D weights
// (one expert's slice), exported by torch-mlir to linalg and to TOSA: raised
// to glu.ffn clamped_swiglu with the gate_up bias (added to the whole
// product before torch-mlir slices it: strided extract_slice in linalg,
// reshape + tosa.gather in TOSA), run and compared with PyTorch. The
// pre-activations span about [-10, 10], so both clamps are exercised. The
// bf16 exports write alpha as 1.703125 (1.702 rounded to bf16, where
// PyTorch multiplies by the Python float 1.702): taken as 1.702, the op's
// default (no alpha attribute), and raised with allow-rounding-changes.
// REQUIRES: torch_mlir
// RUN: %python %S/torch_ffn.py --kind gptoss --dtype f32 --output-type linalg-on-tensors --workdir %t | FileCheck %s --check-prefix=LINALG-3D
// RUN: %python %S/torch_ffn.py --kind gptoss --dtype f32 --output-type tosa --workdir %t | FileCheck %s --check-prefix=TOSA-3D
// RUN: %python %S/torch_ffn.py --kind gptoss_2d --dtype f32 --output-type linalg-on-tensors --workdir %t | FileCheck %s --check-prefix=LINALG-2D
// RUN: %python %S/torch_ffn.py --kind gptoss_2d --dtype f32 --output-type tosa --workdir %t | FileCheck %s --check-prefix=TOSA-2D
// RUN: %python %S/torch_ffn.py --kind gptoss --dtype bf16 --output-type linalg-on-tensors --workdir %t | FileCheck %s --check-prefix=BF16-LINALG-3D
// RUN: %python %S/torch_ffn.py --kind gptoss --dtype bf16 --output-type tosa --workdir %t | FileCheck %s --check-prefix=BF16-TOSA-3D

// LINALG-3D: REMARK glu-raise: raised to glu.ffn clamped_swiglu
// LINALG-3D: glu.ffn clamped_swiglu %arg0 : tensor<2x5x64xf32> gate_up %{{.*}} : tensor<64x352xf32> down %{{.*}} : tensor<176x64xf32> gate_up_bias %{{.*}} : tensor<352xf32> down_bias %{{.*}} : tensor<64xf32> packing interleaved layout in_out -> tensor<2x5x64xf32>
// LINALG-3D-NOT: extract_slice
// LINALG-3D: CONTRACTIONS LEFT 0
// LINALG-3D-NOT: FAIL
// LINALG-3D: SUMMARY PASS gptoss f32 linalg-on-tensors raised=glu.ffn clamped_swiglu

// TOSA-3D: glu.ffn clamped_swiglu %arg0 : tensor<2x5x64xf32> gate_up %{{.*}} : tensor<64x352xf32> down %{{.*}} : tensor<176x64xf32> gate_up_bias %{{.*}} : tensor<352xf32> down_bias %{{.*}} : tensor<64xf32> packing interleaved layout in_out -> tensor<2x5x64xf32>
// TOSA-3D-NOT: tosa.gather
// TOSA-3D-NOT: FAIL
// TOSA-3D: SUMMARY PASS gptoss f32 tosa raised=glu.ffn clamped_swiglu

// LINALG-2D: glu.ffn clamped_swiglu %arg0 : tensor<2x5x64xf32> gate_up %{{.*}} : tensor<64x352xf32> down %{{.*}} : tensor<176x64xf32> gate_up_bias %{{.*}} : tensor<352xf32> down_bias %{{.*}} : tensor<64xf32> packing interleaved layout in_out -> tensor<2x5x64xf32>
// LINALG-2D-NOT: FAIL
// LINALG-2D: SUMMARY PASS gptoss_2d f32 linalg-on-tensors raised=glu.ffn clamped_swiglu

// TOSA-2D: glu.ffn clamped_swiglu %arg0 : tensor<2x5x64xf32> {{.*}} packing interleaved layout in_out -> tensor<2x5x64xf32>
// TOSA-2D-NOT: FAIL
// TOSA-2D: SUMMARY PASS gptoss_2d f32 tosa raised=glu.ffn clamped_swiglu

// BF16-LINALG-3D: glu.ffn clamped_swiglu %arg0 : tensor<2x5x64xbf16> gate_up %{{.*}} : tensor<64x352xbf16> down %{{.*}} : tensor<176x64xbf16> gate_up_bias %{{.*}} : tensor<352xbf16> down_bias %{{.*}} : tensor<64xbf16> packing interleaved layout in_out -> tensor<2x5x64xbf16>
// BF16-LINALG-3D-NOT: FAIL
// BF16-LINALG-3D: SUMMARY PASS gptoss bf16 linalg-on-tensors raised=glu.ffn clamped_swiglu

// BF16-TOSA-3D: glu.ffn clamped_swiglu %arg0 : tensor<2x5x64xbf16> {{.*}} packing interleaved layout in_out -> tensor<2x5x64xbf16>
// BF16-TOSA-3D-NOT: FAIL
// BF16-TOSA-3D: SUMMARY PASS gptoss bf16 tosa raised=glu.ffn clamped_swiglu
