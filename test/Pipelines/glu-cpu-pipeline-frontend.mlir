// What frontends write goes into --glu-cpu-pipeline as it comes: its raise
// takes allow-rounding-changes (a bf16 export rounds every intermediate, so
// it is raised, into the kernels, only with it), and TOSA is lowered inside
// both CPU pipelines.
// RUN: swiglu-opt %s --split-input-file --glu-cpu-pipeline | FileCheck %s --check-prefix=DEFAULT
// RUN: swiglu-opt %s --split-input-file --glu-cpu-pipeline=allow-rounding-changes=true | FileCheck %s --check-prefix=ALLOW
// RUN: swiglu-opt %s --split-input-file --glu-cpu-reference-pipeline | FileCheck %s --check-prefix=REFERENCE

#id2 = affine_map<(d0, d1) -> (d0, d1)>

// torch-mlir's bf16 SwiGLU: bf16 matmuls (rounded products), the SiLU in
// bf16.
// DEFAULT-LABEL: llvm.func @bf16_swiglu(
// DEFAULT-NOT: llvm.call @__glu_cpu_panel
// ALLOW-LABEL: llvm.func @bf16_swiglu(
// ALLOW: llvm.call @__glu_cpu_panel
// REFERENCE-LABEL: llvm.func @bf16_swiglu(
func.func @bf16_swiglu(%x: tensor<4x8xbf16>, %wg: tensor<8x16xbf16>, %wu: tensor<8x16xbf16>, %wd: tensor<16x8xbf16>) -> tensor<4x8xbf16> {
  %zero = arith.constant 0.000000e+00 : bf16
  %one = arith.constant 1.000000e+00 : bf16
  %e16 = tensor.empty() : tensor<4x16xbf16>
  %f16 = linalg.fill ins(%zero : bf16) outs(%e16 : tensor<4x16xbf16>) -> tensor<4x16xbf16>
  %g = linalg.matmul ins(%x, %wg : tensor<4x8xbf16>, tensor<8x16xbf16>) outs(%f16 : tensor<4x16xbf16>) -> tensor<4x16xbf16>
  %u = linalg.matmul ins(%x, %wu : tensor<4x8xbf16>, tensor<8x16xbf16>) outs(%f16 : tensor<4x16xbf16>) -> tensor<4x16xbf16>
  %h = linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]} ins(%g, %u : tensor<4x16xbf16>, tensor<4x16xbf16>) outs(%e16 : tensor<4x16xbf16>) {
  ^bb0(%in: bf16, %in_0: bf16, %out: bf16):
    %0 = arith.negf %in : bf16
    %1 = math.exp %0 : bf16
    %2 = arith.addf %1, %one : bf16
    %3 = arith.divf %in, %2 : bf16
    %4 = arith.mulf %3, %in_0 : bf16
    linalg.yield %4 : bf16
  } -> tensor<4x16xbf16>
  %e8 = tensor.empty() : tensor<4x8xbf16>
  %f8 = linalg.fill ins(%zero : bf16) outs(%e8 : tensor<4x8xbf16>) -> tensor<4x8xbf16>
  %y = linalg.matmul ins(%h, %wd : tensor<4x16xbf16>, tensor<16x8xbf16>) outs(%f8 : tensor<4x8xbf16>) -> tensor<4x8xbf16>
  return %y : tensor<4x8xbf16>
}

// -----

// A TOSA block with tosa.const weights (as torch-mlir writes them): both
// pipelines compile it.
// DEFAULT-LABEL: llvm.func @tosa_relu_glu(
// DEFAULT: llvm.call @__glu_cpu_panel
// ALLOW-LABEL: llvm.func @tosa_relu_glu(
// ALLOW: llvm.call @__glu_cpu_panel
// REFERENCE-LABEL: llvm.func @tosa_relu_glu(
// REFERENCE-NOT: tosa.
func.func @tosa_relu_glu(%x: tensor<1x4x8xf32>) -> tensor<1x4x8xf32> {
  %zp = "tosa.const"() <{values = dense<0.000000e+00> : tensor<1xf32>}> : () -> tensor<1xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %wg = "tosa.const"() <{values = dense<0.125> : tensor<1x8x16xf32>}> : () -> tensor<1x8x16xf32>
  %wu = "tosa.const"() <{values = dense<0.25> : tensor<1x8x16xf32>}> : () -> tensor<1x8x16xf32>
  %wd = "tosa.const"() <{values = dense<0.5> : tensor<1x16x8xf32>}> : () -> tensor<1x16x8xf32>
  %bd = "tosa.const"() <{values = dense<1.0> : tensor<1x1x8xf32>}> : () -> tensor<1x1x8xf32>
  %g = tosa.matmul %x, %wg, %zp, %zp : (tensor<1x4x8xf32>, tensor<1x8x16xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x4x16xf32>
  %u = tosa.matmul %x, %wu, %zp, %zp : (tensor<1x4x8xf32>, tensor<1x8x16xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x4x16xf32>
  %r = tosa.clamp %g {max_val = 3.40282347E+38 : f32, min_val = 0.000000e+00 : f32} : (tensor<1x4x16xf32>) -> tensor<1x4x16xf32>
  %h = tosa.mul %r, %u, %shift : (tensor<1x4x16xf32>, tensor<1x4x16xf32>, tensor<1xi8>) -> tensor<1x4x16xf32>
  %y0 = tosa.matmul %h, %wd, %zp, %zp : (tensor<1x4x16xf32>, tensor<1x16x8xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x4x8xf32>
  %y = tosa.add %y0, %bd : (tensor<1x4x8xf32>, tensor<1x1x8xf32>) -> tensor<1x4x8xf32>
  return %y : tensor<1x4x8xf32>
}
