// A merged gate_up_proj = nn.Linear(d, 2F) with
// `gate, up = gate_up_proj(x).chunk(2, dim=-1)`: torch-mlir slices the 2F
// features (tensor.extract_slice in linalg, tosa.slice in TOSA; in bf16 after
// rounding the product to bf16). Raised to glu.ffn with one gate_up weight,
// packing concat.
// REQUIRES: torch_mlir
// RUN: %python %S/torch_ffn.py --kind merged --dtype f32 --output-type linalg-on-tensors --workdir %t | FileCheck %s --check-prefix=F32-LINALG
// RUN: %python %S/torch_ffn.py --kind merged --dtype f32 --output-type tosa --workdir %t | FileCheck %s --check-prefix=F32-TOSA
// RUN: %python %S/torch_ffn.py --kind merged --dtype bf16 --output-type linalg-on-tensors --workdir %t | FileCheck %s --check-prefix=BF16-LINALG
// RUN: %python %S/torch_ffn.py --kind merged --dtype bf16 --output-type tosa --workdir %t | FileCheck %s --check-prefix=BF16-TOSA

// F32-LINALG: glu.ffn silu %arg0 : tensor<2x5x64xf32> gate_up %{{.*}} : tensor<352x64xf32> down %{{.*}} : tensor<64x176xf32> packing concat -> tensor<2x5x64xf32>
// F32-LINALG-NOT: extract_slice
// F32-LINALG-NOT: FAIL
// F32-LINALG: SUMMARY PASS merged f32 linalg-on-tensors raised=glu.ffn silu

// F32-TOSA: glu.ffn silu %arg0 : tensor<2x5x64xf32> gate_up %{{.*}} : tensor<64x352xf32> down %{{.*}} : tensor<176x64xf32> packing concat layout in_out -> tensor<2x5x64xf32>
// F32-TOSA-NOT: tosa.slice
// F32-TOSA-NOT: FAIL
// F32-TOSA: SUMMARY PASS merged f32 tosa raised=glu.ffn silu

// BF16-LINALG: glu.ffn silu %arg0 : tensor<2x5x64xbf16> gate_up %{{.*}} : tensor<352x64xbf16> down %{{.*}} : tensor<64x176xbf16> packing concat -> tensor<2x5x64xbf16>
// BF16-LINALG-NOT: FAIL
// BF16-LINALG: SUMMARY PASS merged bf16 linalg-on-tensors raised=glu.ffn silu

// BF16-TOSA: glu.ffn silu %arg0 : tensor<2x5x64xbf16> gate_up %{{.*}} : tensor<64x352xbf16> down %{{.*}} : tensor<176x64xbf16> packing concat layout in_out -> tensor<2x5x64xbf16>
// BF16-TOSA-NOT: FAIL
// BF16-TOSA: SUMMARY PASS merged bf16 tosa raised=glu.ffn silu
