// --glu-cpu-pipeline compiles what the reference pipeline compiles, raised
// or not: here torch-mlir's f32 linalg spelling of gelu(approximate="tanh")
// alone (no block to raise), with x**3 as math.fpowi, which the fast
// pipeline expands into multiplications before its float legalization (no
// llvm.powi, whose non-constant form is a compiler-rt call). Both pipelines
// run it; numpy evaluates the same formula with the exporter's constant.
// REQUIRES: torch_mlir
// RUN: rm -rf %t && mkdir -p %t
// RUN: swiglu-opt %s --glu-cpu-pipeline | FileCheck %s --implicit-check-not=powi
// RUN: %python %S/../Runner/npy_tool.py write %t/x.npy f32 2x5x16 --seed 7
// RUN: swiglu-run %s --pipeline=glu-cpu-pipeline -i %t/x.npy -o %t/fast.npy
// RUN: swiglu-run %s -i %t/x.npy -o %t/ref.npy
// RUN: %python %S/../Runner/npy_tool.py check %t/fast.npy f32 "0.5 * x * (1 + np.tanh(np.float32(0.797724) * (x + np.float32(0.044715) * x**3)))" x=%t/x.npy --rtol 1e-5 --atol 1e-6 | FileCheck %s --check-prefix=RUN-CHECK
// RUN: %python %S/../Runner/npy_tool.py check %t/ref.npy f32 "0.5 * x * (1 + np.tanh(np.float32(0.797724) * (x + np.float32(0.044715) * x**3)))" x=%t/x.npy --rtol 1e-5 --atol 1e-6 | FileCheck %s --check-prefix=RUN-CHECK

// CHECK: llvm.func @main
// RUN-CHECK: OK f32 (2, 5, 16)

#map = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
func.func @main(%arg0: tensor<2x5x16xf32>) -> tensor<2x5x16xf32> {
  %c3_i64 = arith.constant 3 : i64
  %cst_0 = arith.constant 4.471500e-02 : f32
  %cst_1 = arith.constant 7.977240e-01 : f32
  %cst_2 = arith.constant 1.000000e+00 : f32
  %cst_3 = arith.constant 5.000000e-01 : f32
  %0 = tensor.empty() : tensor<2x5x16xf32>
  %1 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%arg0 : tensor<2x5x16xf32>) outs(%0 : tensor<2x5x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %12 = math.fpowi %in, %c3_i64 : f32, i64
    %13 = arith.mulf %12, %cst_0 : f32
    %14 = arith.addf %in, %13 : f32
    %15 = arith.mulf %14, %cst_1 : f32
    %16 = math.tanh %15 : f32
    %17 = arith.addf %16, %cst_2 : f32
    %18 = arith.mulf %17, %cst_3 : f32
    %19 = arith.mulf %in, %18 : f32
    linalg.yield %19 : f32
  } -> tensor<2x5x16xf32>
  return %1 : tensor<2x5x16xf32>
}
