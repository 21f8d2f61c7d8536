// RUN: swiglu-opt %s --glu-raise --split-input-file | FileCheck %s
// RUN: swiglu-opt %s --glu-raise=remarks=true --split-input-file -verify-diagnostics -o /dev/null

// Exporters' spellings of real models' FFNs, written by hand as torch-mlir
// writes them (test/Frontend runs the exports themselves), and the near
// misses around them.

#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#row3 = affine_map<(d0, d1, d2) -> (d2)>
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row2 = affine_map<(d0, d1) -> (d1)>

// GPT-OSS, one expert with 2-D weights (x @ W[e] + b[e]), torch-mlir's
// linalg: the gate_up bias added to the whole product, strided slices for
// the even (gate) and odd (up) features, gate.clamp(max=7) as cmpf ugt +
// select, up.clamp(-7, 7), alpha as an f64 constant rounded by truncf,
// sigmoid as 1 / (1 + exp(-x)), (up + 1) * glu.
// CHECK-LABEL: func.func @gptoss_2d
// CHECK-SAME: (%[[X:.*]]: tensor<6x8xf32>, %[[W:.*]]: tensor<8x8xf32>, %[[B:.*]]: tensor<8xf32>, %[[WD:.*]]: tensor<4x8xf32>, %[[BD:.*]]: tensor<8xf32>)
// CHECK: glu.ffn clamped_swiglu %[[X]] : tensor<6x8xf32> gate_up %[[W]] : tensor<8x8xf32> down %[[WD]] : tensor<4x8xf32> gate_up_bias %[[B]] : tensor<8xf32> down_bias %[[BD]] : tensor<8xf32> packing interleaved layout in_out -> tensor<6x8xf32>
// CHECK-NOT: extract_slice
func.func @gptoss_2d(%x: tensor<6x8xf32>, %w: tensor<8x8xf32>, %b: tensor<8xf32>,
                     %wd: tensor<4x8xf32>, %bd: tensor<8xf32>) -> tensor<6x8xf32> {
  %zero = arith.constant 0.000000e+00 : f32
  %one = arith.constant 1.000000e+00 : f32
  %alpha = arith.constant 1.702000e+00 : f64
  %lim = arith.constant 7.000000e+00 : f32
  %nlim = arith.constant -7.000000e+00 : f32
  %e8 = tensor.empty() : tensor<6x8xf32>
  %f8 = linalg.fill ins(%zero : f32) outs(%e8 : tensor<6x8xf32>) -> tensor<6x8xf32>
  %gu = linalg.matmul ins(%x, %w : tensor<6x8xf32>, tensor<8x8xf32>) outs(%f8 : tensor<6x8xf32>) -> tensor<6x8xf32>
  %gub = linalg.generic {indexing_maps = [#id2, #row2, #id2], iterator_types = ["parallel", "parallel"]} ins(%gu, %b : tensor<6x8xf32>, tensor<8xf32>) outs(%e8 : tensor<6x8xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.addf %in, %in_0 : f32
    linalg.yield %0 : f32
  } -> tensor<6x8xf32>
  %g = tensor.extract_slice %gub[0, 0] [6, 4] [1, 2] : tensor<6x8xf32> to tensor<6x4xf32>
  %u = tensor.extract_slice %gub[0, 1] [6, 4] [1, 2] : tensor<6x8xf32> to tensor<6x4xf32>
  %e4 = tensor.empty() : tensor<6x4xf32>
  %gc = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]} ins(%g : tensor<6x4xf32>) outs(%e4 : tensor<6x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.cmpf ugt, %in, %lim : f32
    %1 = arith.select %0, %lim, %in : f32
    linalg.yield %1 : f32
  } -> tensor<6x4xf32>
  %uc = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]} ins(%u : tensor<6x4xf32>) outs(%e4 : tensor<6x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.cmpf ult, %in, %nlim : f32
    %1 = arith.select %0, %nlim, %in : f32
    %2 = arith.cmpf ugt, %1, %lim : f32
    %3 = arith.select %2, %lim, %1 : f32
    linalg.yield %3 : f32
  } -> tensor<6x4xf32>
  %h = linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]} ins(%gc, %uc : tensor<6x4xf32>, tensor<6x4xf32>) outs(%e4 : tensor<6x4xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %a = arith.truncf %alpha : f64 to f32
    %0 = arith.mulf %in, %a : f32
    %1 = arith.negf %0 : f32
    %2 = math.exp %1 : f32
    %3 = arith.addf %2, %one : f32
    %4 = arith.divf %one, %3 : f32
    %5 = arith.mulf %in, %4 : f32
    %6 = arith.addf %in_0, %one : f32
    %7 = arith.mulf %6, %5 : f32
    linalg.yield %7 : f32
  } -> tensor<6x4xf32>
  %y0 = linalg.matmul ins(%h, %wd : tensor<6x4xf32>, tensor<4x8xf32>) outs(%f8 : tensor<6x8xf32>) -> tensor<6x8xf32>
  // expected-remark @-1 {{glu-raise: raised to glu.ffn clamped_swiglu}}
  %y = linalg.generic {indexing_maps = [#id2, #row2, #id2], iterator_types = ["parallel", "parallel"]} ins(%y0, %bd : tensor<6x8xf32>, tensor<8xf32>) outs(%e8 : tensor<6x8xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.addf %in, %in_0 : f32
    linalg.yield %0 : f32
  } -> tensor<6x8xf32>
  return %y : tensor<6x8xf32>
}

// -----

#id2 = affine_map<(d0, d1) -> (d0, d1)>

// Another alpha and limit (1.5, 5): written on the op.
// CHECK-LABEL: func.func @clamped_other_parameters
// CHECK: glu.ffn clamped_swiglu {{.*}} packing interleaved layout in_out {alpha = 1.500000e+00 : f32, limit = 5.000000e+00 : f32}
func.func @clamped_other_parameters(%x: tensor<6x8xf32>, %w: tensor<8x8xf32>, %wd: tensor<4x8xf32>) -> tensor<6x8xf32> {
  %zero = arith.constant 0.000000e+00 : f32
  %one = arith.constant 1.000000e+00 : f32
  %alpha = arith.constant 1.500000e+00 : f32
  %lim = arith.constant 5.000000e+00 : f32
  %nlim = arith.constant -5.000000e+00 : f32
  %e8 = tensor.empty() : tensor<6x8xf32>
  %f8 = linalg.fill ins(%zero : f32) outs(%e8 : tensor<6x8xf32>) -> tensor<6x8xf32>
  %gu = linalg.matmul ins(%x, %w : tensor<6x8xf32>, tensor<8x8xf32>) outs(%f8 : tensor<6x8xf32>) -> tensor<6x8xf32>
  %g = tensor.extract_slice %gu[0, 0] [6, 4] [1, 2] : tensor<6x8xf32> to tensor<6x4xf32>
  %u = tensor.extract_slice %gu[0, 1] [6, 4] [1, 2] : tensor<6x8xf32> to tensor<6x4xf32>
  %e4 = tensor.empty() : tensor<6x4xf32>
  %h = linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]} ins(%g, %u : tensor<6x4xf32>, tensor<6x4xf32>) outs(%e4 : tensor<6x4xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %gc = arith.minimumf %in, %lim : f32
    %u0 = arith.maximumf %in_0, %nlim : f32
    %uc = arith.minimumf %u0, %lim : f32
    %0 = arith.mulf %gc, %alpha : f32
    %1 = arith.negf %0 : f32
    %2 = math.exp %1 : f32
    %3 = arith.addf %2, %one : f32
    %4 = arith.divf %gc, %3 : f32
    %6 = arith.addf %uc, %one : f32
    %7 = arith.mulf %6, %4 : f32
    linalg.yield %7 : f32
  } -> tensor<6x4xf32>
  %y = linalg.matmul ins(%h, %wd : tensor<6x4xf32>, tensor<4x8xf32>) outs(%f8 : tensor<6x8xf32>) -> tensor<6x8xf32>
  // expected-remark @-1 {{glu-raise: raised to glu.ffn clamped_swiglu}}
  return %y : tensor<6x8xf32>
}

// -----

#id2 = affine_map<(d0, d1) -> (d0, d1)>

// Gemma's gelu_pytorch_tanh as torch-mlir's f32 linalg writes it: x**3 as
// math.fpowi and sqrt(2/pi) as 7.977240e-01 (pi = 22/7). Raised as
// gelu_tanh, with the constant and the difference in the remark.
// CHECK-LABEL: func.func @gemma_inexact_sqrt_2_over_pi
// CHECK: glu.ffn gelu_tanh
func.func @gemma_inexact_sqrt_2_over_pi(%x: tensor<6x8xf32>, %wg: tensor<8x4xf32>, %wu: tensor<8x4xf32>, %wd: tensor<4x8xf32>) -> tensor<6x8xf32> {
  %zero = arith.constant 0.000000e+00 : f32
  %c3_i64 = arith.constant 3 : i64
  %cst_0 = arith.constant 4.471500e-02 : f32
  %cst_1 = arith.constant 7.977240e-01 : f32
  %cst_2 = arith.constant 1.000000e+00 : f32
  %cst_3 = arith.constant 5.000000e-01 : f32
  %e4 = tensor.empty() : tensor<6x4xf32>
  %f4 = linalg.fill ins(%zero : f32) outs(%e4 : tensor<6x4xf32>) -> tensor<6x4xf32>
  %g = linalg.matmul ins(%x, %wg : tensor<6x8xf32>, tensor<8x4xf32>) outs(%f4 : tensor<6x4xf32>) -> tensor<6x4xf32>
  %u = linalg.matmul ins(%x, %wu : tensor<6x8xf32>, tensor<8x4xf32>) outs(%f4 : tensor<6x4xf32>) -> tensor<6x4xf32>
  %h = linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]} ins(%g, %u : tensor<6x4xf32>, tensor<6x4xf32>) outs(%e4 : tensor<6x4xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %12 = math.fpowi %in, %c3_i64 : f32, i64
    %13 = arith.mulf %12, %cst_0 : f32
    %14 = arith.addf %in, %13 : f32
    %15 = arith.mulf %14, %cst_1 : f32
    %16 = math.tanh %15 : f32
    %17 = arith.addf %16, %cst_2 : f32
    %18 = arith.mulf %17, %cst_3 : f32
    %19 = arith.mulf %in, %18 : f32
    %20 = arith.mulf %19, %in_0 : f32
    linalg.yield %20 : f32
  } -> tensor<6x4xf32>
  %e8 = tensor.empty() : tensor<6x8xf32>
  %f8 = linalg.fill ins(%zero : f32) outs(%e8 : tensor<6x8xf32>) -> tensor<6x8xf32>
  %y = linalg.matmul ins(%h, %wd : tensor<6x4xf32>, tensor<4x8xf32>) outs(%f8 : tensor<6x8xf32>) -> tensor<6x8xf32>
  // expected-remark @-1 {{glu-raise: raised to glu.ffn gelu_tanh (the frontend writes sqrt(2/pi) as 0.797724, the op uses 0.7978846: the activation differs by at most 5.1e-05 from the IR as written)}}
  return %y : tensor<6x8xf32>
}

// -----

#id2 = affine_map<(d0, d1) -> (d0, d1)>

// A constant further from sqrt(2/pi) than 3e-4 (0.79): not that spelling,
// not raised.
// CHECK-LABEL: func.func @negative_gelu_tanh_constant_too_far
// CHECK-NOT: glu.ffn
func.func @negative_gelu_tanh_constant_too_far(%x: tensor<6x8xf32>, %wg: tensor<8x4xf32>, %wu: tensor<8x4xf32>, %wd: tensor<4x8xf32>) -> tensor<6x8xf32> {
  %zero = arith.constant 0.000000e+00 : f32
  %c3_i64 = arith.constant 3 : i64
  %cst_0 = arith.constant 4.471500e-02 : f32
  %cst_1 = arith.constant 7.900000e-01 : f32
  %cst_2 = arith.constant 1.000000e+00 : f32
  %cst_3 = arith.constant 5.000000e-01 : f32
  %e4 = tensor.empty() : tensor<6x4xf32>
  %f4 = linalg.fill ins(%zero : f32) outs(%e4 : tensor<6x4xf32>) -> tensor<6x4xf32>
  %g = linalg.matmul ins(%x, %wg : tensor<6x8xf32>, tensor<8x4xf32>) outs(%f4 : tensor<6x4xf32>) -> tensor<6x4xf32>
  %u = linalg.matmul ins(%x, %wu : tensor<6x8xf32>, tensor<8x4xf32>) outs(%f4 : tensor<6x4xf32>) -> tensor<6x4xf32>
  %h = linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]} ins(%g, %u : tensor<6x4xf32>, tensor<6x4xf32>) outs(%e4 : tensor<6x4xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %12 = math.fpowi %in, %c3_i64 : f32, i64
    %13 = arith.mulf %12, %cst_0 : f32
    %14 = arith.addf %in, %13 : f32
    %15 = arith.mulf %14, %cst_1 : f32
    %16 = math.tanh %15 : f32
    %17 = arith.addf %16, %cst_2 : f32
    %18 = arith.mulf %17, %cst_3 : f32
    %19 = arith.mulf %in, %18 : f32
    %20 = arith.mulf %19, %in_0 : f32
    linalg.yield %20 : f32
  } -> tensor<6x4xf32>
  %e8 = tensor.empty() : tensor<6x8xf32>
  %f8 = linalg.fill ins(%zero : f32) outs(%e8 : tensor<6x8xf32>) -> tensor<6x8xf32>
  %y = linalg.matmul ins(%h, %wd : tensor<6x4xf32>, tensor<4x8xf32>) outs(%f8 : tensor<6x8xf32>) -> tensor<6x8xf32>
  // expected-remark @-1 {{glu-raise: not raised: the elementwise ops compute no gating act(g) * u with a supported activation (sigmoid, identity, relu, gelu_erf, gelu_tanh, silu, swish, clamped_swiglu)}}
  return %y : tensor<6x8xf32>
}

// -----

#id2 = affine_map<(d0, d1) -> (d0, d1)>

// T5's gelu_new with Python floats: f64 constants rounded to f32 by truncf
// inside the f32 body. Nothing computed is rounded: raised without
// allow-rounding-changes.
// CHECK-LABEL: func.func @t5_truncf_of_constants
// CHECK: glu.ffn gelu_tanh
func.func @t5_truncf_of_constants(%x: tensor<6x8xf32>, %wg: tensor<8x4xf32>, %wu: tensor<8x4xf32>, %wd: tensor<4x8xf32>) -> tensor<6x8xf32> {
  %zero = arith.constant 0.000000e+00 : f32
  %half = arith.constant 5.000000e-01 : f64
  %one = arith.constant 1.000000e+00 : f64
  %k = arith.constant 0.79788456080286541 : f64
  %c = arith.constant 4.471500e-02 : f64
  %three = arith.constant 3.000000e+00 : f32
  %e4 = tensor.empty() : tensor<6x4xf32>
  %f4 = linalg.fill ins(%zero : f32) outs(%e4 : tensor<6x4xf32>) -> tensor<6x4xf32>
  %g = linalg.matmul ins(%x, %wg : tensor<6x8xf32>, tensor<8x4xf32>) outs(%f4 : tensor<6x4xf32>) -> tensor<6x4xf32>
  %u = linalg.matmul ins(%x, %wu : tensor<6x8xf32>, tensor<8x4xf32>) outs(%f4 : tensor<6x4xf32>) -> tensor<6x4xf32>
  %h = linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]} ins(%g, %u : tensor<6x4xf32>, tensor<6x4xf32>) outs(%e4 : tensor<6x4xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.truncf %half : f64 to f32
    %1 = arith.mulf %in, %0 : f32
    %2 = math.powf %in, %three : f32
    %3 = arith.truncf %c : f64 to f32
    %4 = arith.mulf %2, %3 : f32
    %5 = arith.addf %in, %4 : f32
    %6 = arith.truncf %k : f64 to f32
    %7 = arith.mulf %5, %6 : f32
    %8 = math.tanh %7 : f32
    %9 = arith.truncf %one : f64 to f32
    %10 = arith.addf %8, %9 : f32
    %11 = arith.mulf %1, %10 : f32
    %12 = arith.mulf %11, %in_0 : f32
    linalg.yield %12 : f32
  } -> tensor<6x4xf32>
  %e8 = tensor.empty() : tensor<6x8xf32>
  %f8 = linalg.fill ins(%zero : f32) outs(%e8 : tensor<6x8xf32>) -> tensor<6x8xf32>
  %y = linalg.matmul ins(%h, %wd : tensor<6x4xf32>, tensor<4x8xf32>) outs(%f8 : tensor<6x8xf32>) -> tensor<6x8xf32>
  // expected-remark @-1 {{glu-raise: raised to glu.ffn gelu_tanh}}
  return %y : tensor<6x8xf32>
}

// -----

#id2 = affine_map<(d0, d1) -> (d0, d1)>

// A stride-3 slice of a projection is no half of a merged one: a near miss
// naming the slice.
// CHECK-LABEL: func.func @negative_stride_3_slices
// CHECK-NOT: glu.ffn
func.func @negative_stride_3_slices(%x: tensor<6x8xf32>, %w: tensor<8x12xf32>, %wd: tensor<4x8xf32>) -> tensor<6x8xf32> {
  %zero = arith.constant 0.000000e+00 : f32
  %e12 = tensor.empty() : tensor<6x12xf32>
  %f12 = linalg.fill ins(%zero : f32) outs(%e12 : tensor<6x12xf32>) -> tensor<6x12xf32>
  %gu = linalg.matmul ins(%x, %w : tensor<6x8xf32>, tensor<8x12xf32>) outs(%f12 : tensor<6x12xf32>) -> tensor<6x12xf32>
  %g = tensor.extract_slice %gu[0, 0] [6, 4] [1, 3] : tensor<6x12xf32> to tensor<6x4xf32>
  %u = tensor.extract_slice %gu[0, 1] [6, 4] [1, 3] : tensor<6x12xf32> to tensor<6x4xf32>
  %e4 = tensor.empty() : tensor<6x4xf32>
  %h = linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]} ins(%g, %u : tensor<6x4xf32>, tensor<6x4xf32>) outs(%e4 : tensor<6x4xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.maximumf %in, %zero : f32
    %1 = arith.mulf %0, %in_0 : f32
    linalg.yield %1 : f32
  } -> tensor<6x4xf32>
  %e8 = tensor.empty() : tensor<6x8xf32>
  %f8 = linalg.fill ins(%zero : f32) outs(%e8 : tensor<6x8xf32>) -> tensor<6x8xf32>
  %y = linalg.matmul ins(%h, %wd : tensor<6x4xf32>, tensor<4x8xf32>) outs(%f8 : tensor<6x8xf32>) -> tensor<6x8xf32>
  // expected-remark @-1 {{glu-raise: not raised: the hidden reads 'tensor.extract_slice' of a projection, which is not a half of a merged gate/up projection the pass recognizes (the first and second half, or the even and odd features, of every row)}}
  return %y : tensor<6x8xf32>
}

// -----

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row2 = affine_map<(d0, d1) -> (d1)>

// The gate and up halves sliced from two sums of the same product with
// different biases.
// CHECK-LABEL: func.func @negative_halves_with_different_biases
// CHECK-NOT: glu.ffn
func.func @negative_halves_with_different_biases(%x: tensor<6x8xf32>, %w: tensor<8x8xf32>, %b1: tensor<8xf32>, %b2: tensor<8xf32>, %wd: tensor<4x8xf32>) -> tensor<6x8xf32> {
  %zero = arith.constant 0.000000e+00 : f32
  %e8 = tensor.empty() : tensor<6x8xf32>
  %f8 = linalg.fill ins(%zero : f32) outs(%e8 : tensor<6x8xf32>) -> tensor<6x8xf32>
  %gu = linalg.matmul ins(%x, %w : tensor<6x8xf32>, tensor<8x8xf32>) outs(%f8 : tensor<6x8xf32>) -> tensor<6x8xf32>
  %s1 = linalg.generic {indexing_maps = [#id2, #row2, #id2], iterator_types = ["parallel", "parallel"]} ins(%gu, %b1 : tensor<6x8xf32>, tensor<8xf32>) outs(%e8 : tensor<6x8xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.addf %in, %in_0 : f32
    linalg.yield %0 : f32
  } -> tensor<6x8xf32>
  %s2 = linalg.generic {indexing_maps = [#id2, #row2, #id2], iterator_types = ["parallel", "parallel"]} ins(%gu, %b2 : tensor<6x8xf32>, tensor<8xf32>) outs(%e8 : tensor<6x8xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.addf %in, %in_0 : f32
    linalg.yield %0 : f32
  } -> tensor<6x8xf32>
  %g = tensor.extract_slice %s1[0, 0] [6, 4] [1, 2] : tensor<6x8xf32> to tensor<6x4xf32>
  %u = tensor.extract_slice %s2[0, 1] [6, 4] [1, 2] : tensor<6x8xf32> to tensor<6x4xf32>
  %e4 = tensor.empty() : tensor<6x4xf32>
  %h = linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]} ins(%g, %u : tensor<6x4xf32>, tensor<6x4xf32>) outs(%e4 : tensor<6x4xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.maximumf %in, %zero : f32
    %1 = arith.mulf %0, %in_0 : f32
    linalg.yield %1 : f32
  } -> tensor<6x4xf32>
  %y = linalg.matmul ins(%h, %wd : tensor<6x4xf32>, tensor<4x8xf32>) outs(%f8 : tensor<6x8xf32>) -> tensor<6x8xf32>
  // expected-remark @-1 {{glu-raise: not raised: the gate and up halves of the merged projection are sliced from sums with different biases}}
  return %y : tensor<6x8xf32>
}

// -----

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row2 = affine_map<(d0, d1) -> (d1)>

// A bias in the accumulator and another added before the slices.
// CHECK-LABEL: func.func @negative_merged_two_biases
// CHECK-NOT: glu.ffn
func.func @negative_merged_two_biases(%x: tensor<6x8xf32>, %w: tensor<8x8xf32>, %b1: tensor<8xf32>, %b2: tensor<8xf32>, %wd: tensor<4x8xf32>) -> tensor<6x8xf32> {
  %zero = arith.constant 0.000000e+00 : f32
  %e8 = tensor.empty() : tensor<6x8xf32>
  %f8 = linalg.fill ins(%zero : f32) outs(%e8 : tensor<6x8xf32>) -> tensor<6x8xf32>
  %init = linalg.broadcast ins(%b1 : tensor<8xf32>) outs(%e8 : tensor<6x8xf32>) dimensions = [0]
  %gu = linalg.matmul ins(%x, %w : tensor<6x8xf32>, tensor<8x8xf32>) outs(%init : tensor<6x8xf32>) -> tensor<6x8xf32>
  %s = linalg.generic {indexing_maps = [#id2, #row2, #id2], iterator_types = ["parallel", "parallel"]} ins(%gu, %b2 : tensor<6x8xf32>, tensor<8xf32>) outs(%e8 : tensor<6x8xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.addf %in, %in_0 : f32
    linalg.yield %0 : f32
  } -> tensor<6x8xf32>
  %g = tensor.extract_slice %s[0, 0] [6, 4] [1, 2] : tensor<6x8xf32> to tensor<6x4xf32>
  %u = tensor.extract_slice %s[0, 1] [6, 4] [1, 2] : tensor<6x8xf32> to tensor<6x4xf32>
  %e4 = tensor.empty() : tensor<6x4xf32>
  %h = linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]} ins(%g, %u : tensor<6x4xf32>, tensor<6x4xf32>) outs(%e4 : tensor<6x4xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.maximumf %in, %zero : f32
    %1 = arith.mulf %0, %in_0 : f32
    linalg.yield %1 : f32
  } -> tensor<6x4xf32>
  %y = linalg.matmul ins(%h, %wd : tensor<6x4xf32>, tensor<4x8xf32>) outs(%f8 : tensor<6x8xf32>) -> tensor<6x8xf32>
  // expected-remark @-1 {{glu-raise: not raised: the merged gate/up projection has two biases}}
  return %y : tensor<6x8xf32>
}

// -----

// An interleaved SwiGLU in torch-mlir's TOSA: p[..., ::2] and p[..., 1::2] as
// a reshape to [rows, 2F, 1], a tosa.gather of tiled constant indices and a
// reshape back.
// CHECK-LABEL: func.func @interleaved_tosa_gather
// CHECK: glu.ffn silu %{{.*}} : tensor<1x6x8xf32> gate_up %{{.*}} : tensor<8x8xf32> down %{{.*}} : tensor<4x8xf32> packing interleaved layout in_out -> tensor<1x6x8xf32>
func.func @interleaved_tosa_gather(%x: tensor<1x6x8xf32>, %w: tensor<1x8x8xf32>, %wd: tensor<1x4x8xf32>) -> tensor<1x6x8xf32> {
  %zp = "tosa.const"() <{values = dense<0.000000e+00> : tensor<1xf32>}> : () -> tensor<1xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %s1 = tosa.const_shape {values = dense<[6, 8, 1]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %s2 = tosa.const_shape {values = dense<[6, 1]> : tensor<2xindex>} : () -> !tosa.shape<2>
  %s3 = tosa.const_shape {values = dense<[1, 6, 4]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %ie = "tosa.const"() <{values = dense<[[0, 2, 4, 6]]> : tensor<1x4xi32>}> : () -> tensor<1x4xi32>
  %io = "tosa.const"() <{values = dense<[[1, 3, 5, 7]]> : tensor<1x4xi32>}> : () -> tensor<1x4xi32>
  %gu = tosa.matmul %x, %w, %zp, %zp : (tensor<1x6x8xf32>, tensor<1x8x8xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x6x8xf32>
  %r = tosa.reshape %gu, %s1 : (tensor<1x6x8xf32>, !tosa.shape<3>) -> tensor<6x8x1xf32>
  %te = tosa.tile %ie, %s2 : (tensor<1x4xi32>, !tosa.shape<2>) -> tensor<6x4xi32>
  %ge = tosa.gather %r, %te : (tensor<6x8x1xf32>, tensor<6x4xi32>) -> tensor<6x4x1xf32>
  %g = tosa.reshape %ge, %s3 : (tensor<6x4x1xf32>, !tosa.shape<3>) -> tensor<1x6x4xf32>
  %to = tosa.tile %io, %s2 : (tensor<1x4xi32>, !tosa.shape<2>) -> tensor<6x4xi32>
  %go = tosa.gather %r, %to : (tensor<6x8x1xf32>, tensor<6x4xi32>) -> tensor<6x4x1xf32>
  %u = tosa.reshape %go, %s3 : (tensor<6x4x1xf32>, !tosa.shape<3>) -> tensor<1x6x4xf32>
  %sg = tosa.sigmoid %g : (tensor<1x6x4xf32>) -> tensor<1x6x4xf32>
  %a = tosa.mul %g, %sg, %shift : (tensor<1x6x4xf32>, tensor<1x6x4xf32>, tensor<1xi8>) -> tensor<1x6x4xf32>
  %h = tosa.mul %a, %u, %shift : (tensor<1x6x4xf32>, tensor<1x6x4xf32>, tensor<1xi8>) -> tensor<1x6x4xf32>
  %y = tosa.matmul %h, %wd, %zp, %zp : (tensor<1x6x4xf32>, tensor<1x4x8xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x6x8xf32>
  // expected-remark @-1 {{glu-raise: raised to glu.ffn silu}}
  return %y : tensor<1x6x8xf32>
}

// -----

// A gather of features that are not every other one: a near miss naming the
// reshape that ends the gather.
// CHECK-LABEL: func.func @negative_tosa_gather_not_strided
// CHECK-NOT: glu.ffn
func.func @negative_tosa_gather_not_strided(%x: tensor<1x6x8xf32>, %w: tensor<1x8x8xf32>, %wd: tensor<1x4x8xf32>) -> tensor<1x6x8xf32> {
  %zp = "tosa.const"() <{values = dense<0.000000e+00> : tensor<1xf32>}> : () -> tensor<1xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %s1 = tosa.const_shape {values = dense<[6, 8, 1]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %s2 = tosa.const_shape {values = dense<[6, 1]> : tensor<2xindex>} : () -> !tosa.shape<2>
  %s3 = tosa.const_shape {values = dense<[1, 6, 4]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %ie = "tosa.const"() <{values = dense<[[0, 2, 4, 5]]> : tensor<1x4xi32>}> : () -> tensor<1x4xi32>
  %io = "tosa.const"() <{values = dense<[[1, 3, 5, 7]]> : tensor<1x4xi32>}> : () -> tensor<1x4xi32>
  %gu = tosa.matmul %x, %w, %zp, %zp : (tensor<1x6x8xf32>, tensor<1x8x8xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x6x8xf32>
  %r = tosa.reshape %gu, %s1 : (tensor<1x6x8xf32>, !tosa.shape<3>) -> tensor<6x8x1xf32>
  %te = tosa.tile %ie, %s2 : (tensor<1x4xi32>, !tosa.shape<2>) -> tensor<6x4xi32>
  %ge = tosa.gather %r, %te : (tensor<6x8x1xf32>, tensor<6x4xi32>) -> tensor<6x4x1xf32>
  %g = tosa.reshape %ge, %s3 : (tensor<6x4x1xf32>, !tosa.shape<3>) -> tensor<1x6x4xf32>
  %to = tosa.tile %io, %s2 : (tensor<1x4xi32>, !tosa.shape<2>) -> tensor<6x4xi32>
  %go = tosa.gather %r, %to : (tensor<6x8x1xf32>, tensor<6x4xi32>) -> tensor<6x4x1xf32>
  %u = tosa.reshape %go, %s3 : (tensor<6x4x1xf32>, !tosa.shape<3>) -> tensor<1x6x4xf32>
  %sg = tosa.sigmoid %g : (tensor<1x6x4xf32>) -> tensor<1x6x4xf32>
  %a = tosa.mul %g, %sg, %shift : (tensor<1x6x4xf32>, tensor<1x6x4xf32>, tensor<1xi8>) -> tensor<1x6x4xf32>
  %h = tosa.mul %a, %u, %shift : (tensor<1x6x4xf32>, tensor<1x6x4xf32>, tensor<1xi8>) -> tensor<1x6x4xf32>
  %y = tosa.matmul %h, %wd, %zp, %zp : (tensor<1x6x4xf32>, tensor<1x4x8xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x6x8xf32>
  // expected-remark @-1 {{glu-raise: not raised: the hidden reads 'tosa.reshape' of a projection, which is not a half of a merged gate/up projection the pass recognizes (the first and second half, or the even and odd features, of every row)}}
  return %y : tensor<1x6x8xf32>
}
