// LLaMA MLP: down_proj(silu(gate_proj(x)) * up_proj(x)), nn.Linear without
// bias, exported by torch-mlir (linalg-on-tensors and TOSA, f32 and bf16),
// raised with --glu-raise, run raised and unraised and compared with PyTorch.
// torch-mlir's linalg keeps the [out, in] weights behind linalg.transpose
// (out_in); its TOSA folds the transposes into [1, in, out] constants (in_out).
// REQUIRES: torch_mlir
// RUN: %python %S/torch_ffn.py --kind llama --dtype f32 --output-type linalg-on-tensors --workdir %t | FileCheck %s --check-prefix=F32-LINALG
// RUN: %python %S/torch_ffn.py --kind llama --dtype f32 --output-type tosa --workdir %t | FileCheck %s --check-prefix=F32-TOSA
// RUN: %python %S/torch_ffn.py --kind llama --dtype bf16 --output-type linalg-on-tensors --workdir %t | FileCheck %s --check-prefix=BF16-LINALG
// RUN: %python %S/torch_ffn.py --kind llama --dtype bf16 --output-type tosa --workdir %t | FileCheck %s --check-prefix=BF16-TOSA

// F32-LINALG: REMARK glu-raise: raised to glu.ffn silu
// F32-LINALG-NOT: REMARK
// F32-LINALG: RAISED IR BEGIN
// F32-LINALG: glu.ffn silu %arg0 : tensor<2x5x64xf32> gate %{{.*}} : tensor<176x64xf32> up %{{.*}} : tensor<176x64xf32> down %{{.*}} : tensor<64x176xf32> -> tensor<2x5x64xf32>
// F32-LINALG-NOT: linalg.
// F32-LINALG: RAISED IR END
// F32-LINALG: CONTRACTIONS LEFT 0
// F32-LINALG-NOT: FAIL
// F32-LINALG: SUMMARY PASS llama f32 linalg-on-tensors raised=glu.ffn silu

// F32-TOSA: REMARK glu-raise: raised to glu.ffn silu
// F32-TOSA: glu.ffn silu %arg0 : tensor<2x5x64xf32> gate %{{.*}} : tensor<64x176xf32> up %{{.*}} : tensor<64x176xf32> down %{{.*}} : tensor<176x64xf32> layout in_out -> tensor<2x5x64xf32>
// F32-TOSA-NOT: tosa.matmul
// F32-TOSA: CONTRACTIONS LEFT 0
// F32-TOSA-NOT: FAIL
// F32-TOSA: SUMMARY PASS llama f32 tosa raised=glu.ffn silu

// bf16: PyTorch and torch-mlir round every intermediate to bf16, so the block
// is raised only with allow-rounding-changes (the driver passes it for bf16).
// BF16-LINALG: REMARK glu-raise: raised to glu.ffn silu
// BF16-LINALG: glu.ffn silu %arg0 : tensor<2x5x64xbf16> gate %{{.*}} : tensor<176x64xbf16> up %{{.*}} : tensor<176x64xbf16> down %{{.*}} : tensor<64x176xbf16> -> tensor<2x5x64xbf16>
// BF16-LINALG: CONTRACTIONS LEFT 0
// BF16-LINALG-NOT: FAIL
// BF16-LINALG: SUMMARY PASS llama bf16 linalg-on-tensors raised=glu.ffn silu

// BF16-TOSA: REMARK glu-raise: raised to glu.ffn silu
// BF16-TOSA: glu.ffn silu %arg0 : tensor<2x5x64xbf16> gate %{{.*}} : tensor<64x176xbf16> up %{{.*}} : tensor<64x176xbf16> down %{{.*}} : tensor<176x64xbf16> layout in_out -> tensor<2x5x64xbf16>
// BF16-TOSA: CONTRACTIONS LEFT 0
// BF16-TOSA-NOT: FAIL
// BF16-TOSA: SUMMARY PASS llama bf16 tosa raised=glu.ffn silu
