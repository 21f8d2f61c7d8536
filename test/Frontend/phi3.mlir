// Phi-3's MLP (transformers' Phi3MLP: gate_up_proj, chunk, up * silu(gate)),
// with a static and with a dynamic sequence length. With a dynamic one,
// torch-mlir writes the rows of the flattened [2, S] batch as
// affine.apply(S * 2), and the slices' and reshapes' row count as that
// divided by 2 (arith.divsi): read as S, so the slices take every row and
// the block is raised with its dynamic dim. (torch-mlir 20261001 cannot
// export a dynamic dim to TOSA: torch.aten.size.int is not legalized.)
// REQUIRES: torch_mlir
// RUN: %python %S/torch_ffn.py --kind phi3 --dtype f32 --output-type linalg-on-tensors --workdir %t | FileCheck %s --check-prefix=STATIC
// RUN: %python %S/torch_ffn.py --kind phi3 --dtype f32 --output-type linalg-on-tensors --dynamic-seq --workdir %t | FileCheck %s --check-prefix=DYNAMIC
// RUN: %python %S/torch_ffn.py --kind phi3 --dtype bf16 --output-type linalg-on-tensors --dynamic-seq --workdir %t | FileCheck %s --check-prefix=DYNAMIC-BF16

// STATIC: glu.ffn silu %arg0 : tensor<2x5x64xf32> gate_up %{{.*}} : tensor<352x64xf32> down %{{.*}} : tensor<64x176xf32> packing concat -> tensor<2x5x64xf32>
// STATIC-NOT: FAIL
// STATIC: SUMMARY PASS phi3 f32 linalg-on-tensors raised=glu.ffn silu

// DYNAMIC: func.func @main(%arg0: tensor<2x?x64xf32>) -> tensor<2x?x64xf32>
// DYNAMIC: glu.ffn silu %arg0 : tensor<2x?x64xf32> gate_up %{{.*}} : tensor<352x64xf32> down %{{.*}} : tensor<64x176xf32> packing concat -> tensor<2x?x64xf32>
// DYNAMIC-NOT: FAIL
// DYNAMIC: SUMMARY PASS phi3 f32 linalg-on-tensors raised=glu.ffn silu

// DYNAMIC-BF16: glu.ffn silu %arg0 : tensor<2x?x64xbf16> {{.*}} packing concat -> tensor<2x?x64xbf16>
// DYNAMIC-BF16-NOT: FAIL
// DYNAMIC-BF16: SUMMARY PASS phi3 bf16 linalg-on-tensors raised=glu.ffn silu
