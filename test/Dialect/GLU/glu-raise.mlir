// RUN: swiglu-opt %s --glu-raise --split-input-file | FileCheck %s
// RUN: swiglu-opt %s --glu-raise=remarks=true --split-input-file -verify-diagnostics -o /dev/null
// RUN: swiglu-opt %s --glu-raise=allow-rounding-changes=true --split-input-file | FileCheck %s --check-prefix=RELAXED

// The torch-mlir form of a LLaMA MLP: nn.Linear weights transposed by
// linalg.transpose, 3-D activations collapsed to 2-D before each matmul (the
// shared input separately for gate and up) and expanded back, SiLU as
// x / (1 + exp(-x)). The op keeps the frontend's batch dims.
// CHECK-LABEL: func.func @llama_f32
// CHECK-SAME: (%[[X:.*]]: tensor<2x5x64xf32>, %[[WG:.*]]: tensor<96x64xf32>, %[[WU:.*]]: tensor<96x64xf32>, %[[WD:.*]]: tensor<64x96xf32>)
// CHECK-NOT: linalg.
// CHECK: %[[Y:.*]] = glu.ffn silu %[[X]] : tensor<2x5x64xf32> gate %[[WG]] : tensor<96x64xf32> up %[[WU]] : tensor<96x64xf32> down %[[WD]] : tensor<64x96xf32> -> tensor<2x5x64xf32>
// CHECK-NOT: linalg.
// CHECK: return %[[Y]]
#map = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
func.func @llama_f32(%x: tensor<2x5x64xf32>, %wg: tensor<96x64xf32>, %wu: tensor<96x64xf32>,
                     %wd: tensor<64x96xf32>) -> tensor<2x5x64xf32> {
  %cst = arith.constant 0.000000e+00 : f32
  %one = arith.constant 1.000000e+00 : f32
  %0 = tensor.empty() : tensor<64x96xf32>
  %wgT = linalg.transpose ins(%wg : tensor<96x64xf32>) outs(%0 : tensor<64x96xf32>) permutation = [1, 0]
  %xg = tensor.collapse_shape %x [[0, 1], [2]] : tensor<2x5x64xf32> into tensor<10x64xf32>
  %1 = tensor.empty() : tensor<10x96xf32>
  %2 = linalg.fill ins(%cst : f32) outs(%1 : tensor<10x96xf32>) -> tensor<10x96xf32>
  %g2 = linalg.matmul ins(%xg, %wgT : tensor<10x64xf32>, tensor<64x96xf32>) outs(%2 : tensor<10x96xf32>) -> tensor<10x96xf32>
  %g = tensor.expand_shape %g2 [[0, 1], [2]] output_shape [2, 5, 96] : tensor<10x96xf32> into tensor<2x5x96xf32>
  %3 = tensor.empty() : tensor<2x5x96xf32>
  %act = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%g : tensor<2x5x96xf32>) outs(%3 : tensor<2x5x96xf32>) {
  ^bb0(%in: f32, %out: f32):
    %n = arith.negf %in : f32
    %e = math.exp %n : f32
    %d = arith.addf %e, %one : f32
    %s = arith.divf %in, %d : f32
    linalg.yield %s : f32
  } -> tensor<2x5x96xf32>
  %wuT = linalg.transpose ins(%wu : tensor<96x64xf32>) outs(%0 : tensor<64x96xf32>) permutation = [1, 0]
  %xu = tensor.collapse_shape %x [[0, 1], [2]] : tensor<2x5x64xf32> into tensor<10x64xf32>
  %u2 = linalg.matmul ins(%xu, %wuT : tensor<10x64xf32>, tensor<64x96xf32>) outs(%2 : tensor<10x96xf32>) -> tensor<10x96xf32>
  %u = tensor.expand_shape %u2 [[0, 1], [2]] output_shape [2, 5, 96] : tensor<10x96xf32> into tensor<2x5x96xf32>
  %h = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%act, %u : tensor<2x5x96xf32>, tensor<2x5x96xf32>) outs(%3 : tensor<2x5x96xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<2x5x96xf32>
  %4 = tensor.empty() : tensor<96x64xf32>
  %wdT = linalg.transpose ins(%wd : tensor<64x96xf32>) outs(%4 : tensor<96x64xf32>) permutation = [1, 0]
  %h2 = tensor.collapse_shape %h [[0, 1], [2]] : tensor<2x5x96xf32> into tensor<10x96xf32>
  %5 = tensor.empty() : tensor<10x64xf32>
  %6 = linalg.fill ins(%cst : f32) outs(%5 : tensor<10x64xf32>) -> tensor<10x64xf32>
  // expected-remark @+1 {{glu-raise: raised to glu.ffn silu}}
  %y2 = linalg.matmul ins(%h2, %wdT : tensor<10x96xf32>, tensor<96x64xf32>) outs(%6 : tensor<10x64xf32>) -> tensor<10x64xf32>
  %y = tensor.expand_shape %y2 [[0, 1], [2]] output_shape [2, 5, 64] : tensor<10x64xf32> into tensor<2x5x64xf32>
  return %y : tensor<2x5x64xf32>
}

// -----

// in_out weights used as they are; SiLU as x * sigmoid(x) in two generics,
// the gating multiply as u * act(g).
// CHECK-LABEL: func.func @in_out_two_generics
// CHECK-SAME: (%[[X:.*]]: tensor<8x64xf32>, %[[WG:.*]]: tensor<64x96xf32>, %[[WU:.*]]: tensor<64x96xf32>, %[[WD:.*]]: tensor<96x64xf32>)
// CHECK: %[[Y:.*]] = glu.ffn silu %[[X]] : tensor<8x64xf32> gate %[[WG]] : tensor<64x96xf32> up %[[WU]] : tensor<64x96xf32> down %[[WD]] : tensor<96x64xf32> layout in_out -> tensor<8x64xf32>
// CHECK: return %[[Y]]
#map = affine_map<(d0, d1) -> (d0, d1)>
func.func @in_out_two_generics(%x: tensor<8x64xf32>, %wg: tensor<64x96xf32>, %wu: tensor<64x96xf32>,
                               %wd: tensor<96x64xf32>) -> tensor<8x64xf32> {
  %zero = arith.constant dense<0.0> : tensor<8x96xf32>
  %zero_d = arith.constant dense<0.0> : tensor<8x64xf32>
  %one = arith.constant 1.0 : f32
  %e = tensor.empty() : tensor<8x96xf32>
  %g = linalg.matmul ins(%x, %wg : tensor<8x64xf32>, tensor<64x96xf32>) outs(%zero : tensor<8x96xf32>) -> tensor<8x96xf32>
  %u = linalg.matmul ins(%x, %wu : tensor<8x64xf32>, tensor<64x96xf32>) outs(%zero : tensor<8x96xf32>) -> tensor<8x96xf32>
  %sig = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]}
      ins(%g : tensor<8x96xf32>) outs(%e : tensor<8x96xf32>) {
  ^bb0(%in: f32, %out: f32):
    %n = arith.negf %in : f32
    %ex = math.exp %n : f32
    %d = arith.addf %one, %ex : f32
    %r = arith.divf %one, %d : f32
    linalg.yield %r : f32
  } -> tensor<8x96xf32>
  %silu = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel"]}
      ins(%g, %sig : tensor<8x96xf32>, tensor<8x96xf32>) outs(%e : tensor<8x96xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<8x96xf32>
  %h = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel"]}
      ins(%u, %silu : tensor<8x96xf32>, tensor<8x96xf32>) outs(%e : tensor<8x96xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<8x96xf32>
  // expected-remark @+1 {{glu-raise: raised to glu.ffn silu}}
  %y = linalg.matmul ins(%h, %wd : tensor<8x96xf32>, tensor<96x64xf32>) outs(%zero_d : tensor<8x64xf32>) -> tensor<8x64xf32>
  return %y : tensor<8x64xf32>
}

// -----

// out_in weights read through transposed-B indexing_maps; GELU in its erf
// form 0.5 * x * (1 + erf(x * 0.70710678)).
// CHECK-LABEL: func.func @transposed_b_gelu_erf
// CHECK-SAME: (%[[X:.*]]: tensor<8x64xf32>, %[[WG:.*]]: tensor<96x64xf32>, %[[WU:.*]]: tensor<96x64xf32>, %[[WD:.*]]: tensor<64x96xf32>)
// CHECK: glu.ffn gelu_erf %[[X]] : tensor<8x64xf32> gate %[[WG]] : tensor<96x64xf32> up %[[WU]] : tensor<96x64xf32> down %[[WD]] : tensor<64x96xf32> -> tensor<8x64xf32>
#map = affine_map<(d0, d1) -> (d0, d1)>
#lhs = affine_map<(d0, d1, d2) -> (d0, d2)>
#rhsT = affine_map<(d0, d1, d2) -> (d1, d2)>
#out = affine_map<(d0, d1, d2) -> (d0, d1)>
func.func @transposed_b_gelu_erf(%x: tensor<8x64xf32>, %wg: tensor<96x64xf32>, %wu: tensor<96x64xf32>,
                                 %wd: tensor<64x96xf32>) -> tensor<8x64xf32> {
  %cst = arith.constant 0.0 : f32
  %half = arith.constant 0.5 : f32
  %one = arith.constant 1.0 : f32
  %rsqrt2 = arith.constant 0.707106769 : f32
  %e = tensor.empty() : tensor<8x96xf32>
  %z = linalg.fill ins(%cst : f32) outs(%e : tensor<8x96xf32>) -> tensor<8x96xf32>
  %g = linalg.matmul indexing_maps = [#lhs, #rhsT, #out]
      ins(%x, %wg : tensor<8x64xf32>, tensor<96x64xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %u = linalg.matmul indexing_maps = [#lhs, #rhsT, #out]
      ins(%x, %wu : tensor<8x64xf32>, tensor<96x64xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %h = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel"]}
      ins(%g, %u : tensor<8x96xf32>, tensor<8x96xf32>) outs(%e : tensor<8x96xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %0 = arith.mulf %a, %rsqrt2 : f32
    %1 = math.erf %0 : f32
    %2 = arith.addf %1, %one : f32
    %3 = arith.mulf %a, %half : f32
    %4 = arith.mulf %3, %2 : f32
    %5 = arith.mulf %4, %b : f32
    linalg.yield %5 : f32
  } -> tensor<8x96xf32>
  %ed = tensor.empty() : tensor<8x64xf32>
  %zd = linalg.fill ins(%cst : f32) outs(%ed : tensor<8x64xf32>) -> tensor<8x64xf32>
  // expected-remark @+1 {{glu-raise: raised to glu.ffn gelu_erf}}
  %y = linalg.matmul indexing_maps = [#lhs, #rhsT, #out]
      ins(%h, %wd : tensor<8x96xf32>, tensor<64x96xf32>) outs(%zd : tensor<8x64xf32>) -> tensor<8x64xf32>
  return %y : tensor<8x64xf32>
}

// -----

// Contractions written as linalg.generic (with extf of the weight: f32
// activations, bf16 weights) and weights transposed by a generic; GELU in its
// tanh form with math.powf.
// CHECK-LABEL: func.func @generic_contraction_gelu_tanh
// CHECK-SAME: (%[[X:.*]]: tensor<8x64xf32>, %[[WG:.*]]: tensor<96x64xbf16>, %[[WU:.*]]: tensor<96x64xbf16>, %[[WD:.*]]: tensor<64x96xbf16>)
// CHECK: glu.ffn gelu_tanh %[[X]] : tensor<8x64xf32> gate %[[WG]] : tensor<96x64xbf16> up %[[WU]] : tensor<96x64xbf16> down %[[WD]] : tensor<64x96xbf16> -> tensor<8x64xf32>
#id = affine_map<(d0, d1) -> (d0, d1)>
#tr = affine_map<(d0, d1) -> (d1, d0)>
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>
func.func @generic_contraction_gelu_tanh(%x: tensor<8x64xf32>, %wg: tensor<96x64xbf16>, %wu: tensor<96x64xbf16>,
                                         %wd: tensor<64x96xbf16>) -> tensor<8x64xf32> {
  %cst = arith.constant 0.0 : f32
  %half = arith.constant 0.5 : f32
  %one = arith.constant 1.0 : f32
  %three = arith.constant 3.0 : f32
  %k0 = arith.constant 0.044715 : f32
  %k1 = arith.constant 0.797884583 : f32
  %t = tensor.empty() : tensor<64x96xbf16>
  %wgT = linalg.generic {indexing_maps = [#tr, #id], iterator_types = ["parallel", "parallel"]}
      ins(%wg : tensor<96x64xbf16>) outs(%t : tensor<64x96xbf16>) {
  ^bb0(%in: bf16, %out: bf16):
    linalg.yield %in : bf16
  } -> tensor<64x96xbf16>
  %wuT = linalg.generic {indexing_maps = [#tr, #id], iterator_types = ["parallel", "parallel"]}
      ins(%wu : tensor<96x64xbf16>) outs(%t : tensor<64x96xbf16>) {
  ^bb0(%in: bf16, %out: bf16):
    linalg.yield %in : bf16
  } -> tensor<64x96xbf16>
  %e = tensor.empty() : tensor<8x96xf32>
  %z = linalg.fill ins(%cst : f32) outs(%e : tensor<8x96xf32>) -> tensor<8x96xf32>
  %g = linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %wgT : tensor<8x64xf32>, tensor<64x96xbf16>) outs(%z : tensor<8x96xf32>) {
  ^bb0(%in: f32, %w: bf16, %acc: f32):
    %0 = arith.extf %w : bf16 to f32
    %1 = arith.mulf %in, %0 : f32
    %2 = arith.addf %acc, %1 : f32
    linalg.yield %2 : f32
  } -> tensor<8x96xf32>
  %u = linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %wuT : tensor<8x64xf32>, tensor<64x96xbf16>) outs(%z : tensor<8x96xf32>) {
  ^bb0(%in: f32, %w: bf16, %acc: f32):
    %0 = arith.extf %w : bf16 to f32
    %1 = arith.mulf %0, %in : f32
    %2 = arith.addf %1, %acc : f32
    linalg.yield %2 : f32
  } -> tensor<8x96xf32>
  %act = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g : tensor<8x96xf32>) outs(%e : tensor<8x96xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = math.powf %in, %three : f32
    %1 = arith.mulf %0, %k0 : f32
    %2 = arith.addf %in, %1 : f32
    %3 = arith.mulf %2, %k1 : f32
    %4 = math.tanh %3 : f32
    %5 = arith.addf %4, %one : f32
    %6 = arith.mulf %in, %half : f32
    %7 = arith.mulf %6, %5 : f32
    linalg.yield %7 : f32
  } -> tensor<8x96xf32>
  %h = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%act, %u : tensor<8x96xf32>, tensor<8x96xf32>) outs(%e : tensor<8x96xf32>) {
  ^bb0(%p: f32, %q: f32, %out: f32):
    %0 = arith.mulf %p, %q : f32
    linalg.yield %0 : f32
  } -> tensor<8x96xf32>
  %td = tensor.empty() : tensor<96x64xbf16>
  %wdT = linalg.transpose ins(%wd : tensor<64x96xbf16>) outs(%td : tensor<96x64xbf16>) permutation = [1, 0]
  %ed = tensor.empty() : tensor<8x64xf32>
  %zd = linalg.fill ins(%cst : f32) outs(%ed : tensor<8x64xf32>) -> tensor<8x64xf32>
  // expected-remark @+1 {{glu-raise: raised to glu.ffn gelu_tanh}}
  %y = linalg.matmul ins(%h, %wdT : tensor<8x96xf32>, tensor<96x64xbf16>) outs(%zd : tensor<8x64xf32>) -> tensor<8x64xf32>
  return %y : tensor<8x64xf32>
}

// -----

// Biases: gate bias added after the matmul (bias first), up bias (bias
// second) through a linalg.broadcast, down bias as the matmul's accumulator
// init; ReLU as arith.maximumf.
// CHECK-LABEL: func.func @biases_relu
// CHECK-SAME: (%[[X:.*]]: tensor<8x64xf32>, %[[WG:.*]]: tensor<96x64xf32>, %[[BG:.*]]: tensor<96xf32>, %[[WU:.*]]: tensor<96x64xf32>, %[[BU:.*]]: tensor<96xf32>, %[[WD:.*]]: tensor<64x96xf32>, %[[BD:.*]]: tensor<64xf32>)
// CHECK: glu.ffn relu %[[X]] : tensor<8x64xf32> gate %[[WG]] : tensor<96x64xf32> up %[[WU]] : tensor<96x64xf32> down %[[WD]] : tensor<64x96xf32> gate_bias %[[BG]] : tensor<96xf32> up_bias %[[BU]] : tensor<96xf32> down_bias %[[BD]] : tensor<64xf32> -> tensor<8x64xf32>
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>
func.func @biases_relu(%x: tensor<8x64xf32>, %wg: tensor<96x64xf32>, %bg: tensor<96xf32>,
                       %wu: tensor<96x64xf32>, %bu: tensor<96xf32>,
                       %wd: tensor<64x96xf32>, %bd: tensor<64xf32>) -> tensor<8x64xf32> {
  %cst = arith.constant 0.0 : f32
  %t = tensor.empty() : tensor<64x96xf32>
  %wgT = linalg.transpose ins(%wg : tensor<96x64xf32>) outs(%t : tensor<64x96xf32>) permutation = [1, 0]
  %wuT = linalg.transpose ins(%wu : tensor<96x64xf32>) outs(%t : tensor<64x96xf32>) permutation = [1, 0]
  %e = tensor.empty() : tensor<8x96xf32>
  %z = linalg.fill ins(%cst : f32) outs(%e : tensor<8x96xf32>) -> tensor<8x96xf32>
  %g0 = linalg.matmul ins(%x, %wgT : tensor<8x64xf32>, tensor<64x96xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %g = linalg.generic {indexing_maps = [#row, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%bg, %g0 : tensor<96xf32>, tensor<8x96xf32>) outs(%e : tensor<8x96xf32>) {
  ^bb0(%b: f32, %v: f32, %out: f32):
    %0 = arith.addf %b, %v : f32
    linalg.yield %0 : f32
  } -> tensor<8x96xf32>
  %u0 = linalg.matmul ins(%x, %wuT : tensor<8x64xf32>, tensor<64x96xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %bub = linalg.broadcast ins(%bu : tensor<96xf32>) outs(%e : tensor<8x96xf32>) dimensions = [0]
  %u = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%u0, %bub : tensor<8x96xf32>, tensor<8x96xf32>) outs(%e : tensor<8x96xf32>) {
  ^bb0(%v: f32, %b: f32, %out: f32):
    %0 = arith.addf %v, %b : f32
    linalg.yield %0 : f32
  } -> tensor<8x96xf32>
  %h = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g, %u : tensor<8x96xf32>, tensor<8x96xf32>) outs(%e : tensor<8x96xf32>) {
  ^bb0(%p: f32, %q: f32, %out: f32):
    %0 = arith.maximumf %p, %cst : f32
    %1 = arith.mulf %0, %q : f32
    linalg.yield %1 : f32
  } -> tensor<8x96xf32>
  %td = tensor.empty() : tensor<96x64xf32>
  %wdT = linalg.transpose ins(%wd : tensor<64x96xf32>) outs(%td : tensor<96x64xf32>) permutation = [1, 0]
  %ed = tensor.empty() : tensor<8x64xf32>
  %bdb = linalg.broadcast ins(%bd : tensor<64xf32>) outs(%ed : tensor<8x64xf32>) dimensions = [0]
  // expected-remark @+1 {{glu-raise: raised to glu.ffn relu}}
  %y = linalg.matmul ins(%h, %wdT : tensor<8x96xf32>, tensor<96x64xf32>) outs(%bdb : tensor<8x64xf32>) -> tensor<8x64xf32>
  return %y : tensor<8x64xf32>
}

// -----

// One fused generic (as linalg-fuse-elementwise-ops leaves it) computing
// silu(g + bg) * (u + bu) from row-broadcast biases; the down bias added
// after the matmul, bias second.
// CHECK-LABEL: func.func @fused_biases
// CHECK-SAME: (%[[X:.*]]: tensor<8x64xf32>, %[[WG:.*]]: tensor<64x96xf32>, %[[WU:.*]]: tensor<64x96xf32>, %[[WD:.*]]: tensor<96x64xf32>, %[[BG:.*]]: tensor<96xf32>, %[[BU:.*]]: tensor<96xf32>, %[[BD:.*]]: tensor<64xf32>)
// CHECK: %[[Y:.*]] = glu.ffn silu %[[X]] : tensor<8x64xf32> gate %[[WG]] : tensor<64x96xf32> up %[[WU]] : tensor<64x96xf32> down %[[WD]] : tensor<96x64xf32> gate_bias %[[BG]] : tensor<96xf32> up_bias %[[BU]] : tensor<96xf32> down_bias %[[BD]] : tensor<64xf32> layout in_out -> tensor<8x64xf32>
// CHECK-NOT: linalg.
// CHECK: return %[[Y]]
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>
func.func @fused_biases(%x: tensor<8x64xf32>, %wg: tensor<64x96xf32>, %wu: tensor<64x96xf32>,
                        %wd: tensor<96x64xf32>, %bg: tensor<96xf32>, %bu: tensor<96xf32>,
                        %bd: tensor<64xf32>) -> tensor<8x64xf32> {
  %cst = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %e = tensor.empty() : tensor<8x96xf32>
  %z = linalg.fill ins(%cst : f32) outs(%e : tensor<8x96xf32>) -> tensor<8x96xf32>
  %g = linalg.matmul ins(%x, %wg : tensor<8x64xf32>, tensor<64x96xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %u = linalg.matmul ins(%x, %wu : tensor<8x64xf32>, tensor<64x96xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %h = linalg.generic {indexing_maps = [#id, #row, #id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g, %bg, %u, %bu : tensor<8x96xf32>, tensor<96xf32>, tensor<8x96xf32>, tensor<96xf32>) outs(%e : tensor<8x96xf32>) {
  ^bb0(%gv: f32, %gb: f32, %uv: f32, %ub: f32, %out: f32):
    %0 = arith.addf %gv, %gb : f32
    %1 = arith.negf %0 : f32
    %2 = math.exp %1 : f32
    %3 = arith.addf %2, %one : f32
    %4 = arith.divf %one, %3 : f32
    %5 = arith.mulf %0, %4 : f32
    %6 = arith.addf %uv, %ub : f32
    %7 = arith.mulf %5, %6 : f32
    linalg.yield %7 : f32
  } -> tensor<8x96xf32>
  %ed = tensor.empty() : tensor<8x64xf32>
  %zd = linalg.fill ins(%cst : f32) outs(%ed : tensor<8x64xf32>) -> tensor<8x64xf32>
  // expected-remark @+1 {{glu-raise: raised to glu.ffn silu}}
  %y0 = linalg.matmul ins(%h, %wd : tensor<8x96xf32>, tensor<96x64xf32>) outs(%zd : tensor<8x64xf32>) -> tensor<8x64xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%y0, %bd : tensor<8x64xf32>, tensor<64xf32>) outs(%ed : tensor<8x64xf32>) {
  ^bb0(%v: f32, %b: f32, %out: f32):
    %0 = arith.addf %v, %b : f32
    linalg.yield %0 : f32
  } -> tensor<8x64xf32>
  return %y : tensor<8x64xf32>
}

// -----

// The spellings of the other activations: ReLU as cmpf ugt + select, sigmoid
// (GLU) as 1 / (exp(-x) + 1), no activation (Bilinear), Swish-1.5 as
// x * sigmoid(1.5 * x), and SiLU computed as x * sigmoid(x) with a bias
// between.
// CHECK-LABEL: func.func @relu_select
// CHECK: glu.ffn relu
// CHECK-LABEL: func.func @sigmoid
// CHECK: glu.ffn sigmoid
// CHECK-LABEL: func.func @bilinear
// CHECK: glu.ffn identity
// CHECK-LABEL: func.func @swish
// CHECK: glu.ffn swish {{.*}} {beta = 1.500000e+00 : f32} -> tensor<8x64xf32>
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @relu_select(%x: tensor<8x64xf32>, %wg: tensor<64x96xf32>, %wu: tensor<64x96xf32>,
                       %wd: tensor<96x64xf32>) -> tensor<8x64xf32> {
  %cst = arith.constant 0.0 : f32
  %z = arith.constant dense<0.0> : tensor<8x96xf32>
  %zd = arith.constant dense<0.0> : tensor<8x64xf32>
  %e = tensor.empty() : tensor<8x96xf32>
  %g = linalg.matmul ins(%x, %wg : tensor<8x64xf32>, tensor<64x96xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %u = linalg.matmul ins(%x, %wu : tensor<8x64xf32>, tensor<64x96xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g : tensor<8x96xf32>) outs(%e : tensor<8x96xf32>) {
  ^bb0(%in: f32, %out: f32):
    %c = arith.cmpf ugt, %in, %cst : f32
    %s = arith.select %c, %in, %cst : f32
    linalg.yield %s : f32
  } -> tensor<8x96xf32>
  %h = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%r, %u : tensor<8x96xf32>, tensor<8x96xf32>) outs(%e : tensor<8x96xf32>) {
  ^bb0(%p: f32, %q: f32, %out: f32):
    %0 = arith.mulf %p, %q : f32
    linalg.yield %0 : f32
  } -> tensor<8x96xf32>
  // expected-remark @+1 {{glu-raise: raised to glu.ffn relu}}
  %y = linalg.matmul ins(%h, %wd : tensor<8x96xf32>, tensor<96x64xf32>) outs(%zd : tensor<8x64xf32>) -> tensor<8x64xf32>
  return %y : tensor<8x64xf32>
}
func.func @sigmoid(%x: tensor<8x64xf32>, %wg: tensor<64x96xf32>, %wu: tensor<64x96xf32>,
                   %wd: tensor<96x64xf32>) -> tensor<8x64xf32> {
  %one = arith.constant 1.0 : f32
  %z = arith.constant dense<0.0> : tensor<8x96xf32>
  %zd = arith.constant dense<0.0> : tensor<8x64xf32>
  %e = tensor.empty() : tensor<8x96xf32>
  %g = linalg.matmul ins(%x, %wg : tensor<8x64xf32>, tensor<64x96xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %u = linalg.matmul ins(%x, %wu : tensor<8x64xf32>, tensor<64x96xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %h = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%u, %g : tensor<8x96xf32>, tensor<8x96xf32>) outs(%e : tensor<8x96xf32>) {
  ^bb0(%q: f32, %p: f32, %out: f32):
    %0 = arith.negf %p : f32
    %1 = math.exp %0 : f32
    %2 = arith.addf %1, %one : f32
    %3 = arith.divf %one, %2 : f32
    %4 = arith.mulf %q, %3 : f32
    linalg.yield %4 : f32
  } -> tensor<8x96xf32>
  // expected-remark @+1 {{glu-raise: raised to glu.ffn sigmoid}}
  %y = linalg.matmul ins(%h, %wd : tensor<8x96xf32>, tensor<96x64xf32>) outs(%zd : tensor<8x64xf32>) -> tensor<8x64xf32>
  return %y : tensor<8x64xf32>
}
func.func @bilinear(%x: tensor<8x64xf32>, %wg: tensor<64x96xf32>, %wu: tensor<64x96xf32>,
                    %wd: tensor<96x64xf32>) -> tensor<8x64xf32> {
  %z = arith.constant dense<0.0> : tensor<8x96xf32>
  %zd = arith.constant dense<0.0> : tensor<8x64xf32>
  %e = tensor.empty() : tensor<8x96xf32>
  %g = linalg.matmul ins(%x, %wg : tensor<8x64xf32>, tensor<64x96xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %u = linalg.matmul ins(%x, %wu : tensor<8x64xf32>, tensor<64x96xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %h = linalg.mul ins(%g, %u : tensor<8x96xf32>, tensor<8x96xf32>) outs(%e : tensor<8x96xf32>) -> tensor<8x96xf32>
  // expected-remark @+1 {{glu-raise: raised to glu.ffn identity}}
  %y = linalg.matmul ins(%h, %wd : tensor<8x96xf32>, tensor<96x64xf32>) outs(%zd : tensor<8x64xf32>) -> tensor<8x64xf32>
  return %y : tensor<8x64xf32>
}
func.func @swish(%x: tensor<8x64xf32>, %wg: tensor<64x96xf32>, %wu: tensor<64x96xf32>,
                 %wd: tensor<96x64xf32>) -> tensor<8x64xf32> {
  %one = arith.constant 1.0 : f32
  %beta = arith.constant 1.5 : f32
  %z = arith.constant dense<0.0> : tensor<8x96xf32>
  %zd = arith.constant dense<0.0> : tensor<8x64xf32>
  %e = tensor.empty() : tensor<8x96xf32>
  %g = linalg.matmul ins(%x, %wg : tensor<8x64xf32>, tensor<64x96xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %u = linalg.matmul ins(%x, %wu : tensor<8x64xf32>, tensor<64x96xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %h = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g, %u : tensor<8x96xf32>, tensor<8x96xf32>) outs(%e : tensor<8x96xf32>) {
  ^bb0(%p: f32, %q: f32, %out: f32):
    %0 = arith.mulf %p, %beta : f32
    %1 = arith.negf %0 : f32
    %2 = math.exp %1 : f32
    %3 = arith.addf %one, %2 : f32
    %4 = arith.divf %p, %3 : f32
    %5 = arith.mulf %4, %q : f32
    linalg.yield %5 : f32
  } -> tensor<8x96xf32>
  // expected-remark @+1 {{glu-raise: raised to glu.ffn swish}}
  %y = linalg.matmul ins(%h, %wd : tensor<8x96xf32>, tensor<96x64xf32>) outs(%zd : tensor<8x64xf32>) -> tensor<8x64xf32>
  return %y : tensor<8x64xf32>
}

// -----

// Non-gated: down(gelu(up(x) + b1)) + b2 -> glu.mlp, GELU as x * Phi(x) with
// Phi = 0.5 * erfc(-x / sqrt(2)).
// CHECK-LABEL: func.func @mlp_gelu
// CHECK-SAME: (%[[X:.*]]: tensor<8x64xf32>, %[[W1:.*]]: tensor<256x64xf32>, %[[B1:.*]]: tensor<256xf32>, %[[W2:.*]]: tensor<64x256xf32>, %[[B2:.*]]: tensor<64xf32>)
// CHECK: glu.mlp gelu_erf %[[X]] : tensor<8x64xf32> up %[[W1]] : tensor<256x64xf32> down %[[W2]] : tensor<64x256xf32> up_bias %[[B1]] : tensor<256xf32> down_bias %[[B2]] : tensor<64xf32> -> tensor<8x64xf32>
#id = affine_map<(d0, d1) -> (d0, d1)>
#lhs = affine_map<(d0, d1, d2) -> (d0, d2)>
#rhsT = affine_map<(d0, d1, d2) -> (d1, d2)>
#out = affine_map<(d0, d1, d2) -> (d0, d1)>
func.func @mlp_gelu(%x: tensor<8x64xf32>, %w1: tensor<256x64xf32>, %b1: tensor<256xf32>,
                    %w2: tensor<64x256xf32>, %b2: tensor<64xf32>) -> tensor<8x64xf32> {
  %half = arith.constant 0.5 : f32
  %k = arith.constant -0.707106769 : f32
  %e = tensor.empty() : tensor<8x256xf32>
  %bb1 = linalg.broadcast ins(%b1 : tensor<256xf32>) outs(%e : tensor<8x256xf32>) dimensions = [0]
  %p = linalg.matmul indexing_maps = [#lhs, #rhsT, #out]
      ins(%x, %w1 : tensor<8x64xf32>, tensor<256x64xf32>) outs(%bb1 : tensor<8x256xf32>) -> tensor<8x256xf32>
  %a = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%p : tensor<8x256xf32>) outs(%e : tensor<8x256xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.mulf %in, %k : f32
    %1 = math.erfc %0 : f32
    %2 = arith.mulf %1, %half : f32
    %3 = arith.mulf %in, %2 : f32
    linalg.yield %3 : f32
  } -> tensor<8x256xf32>
  %ed = tensor.empty() : tensor<8x64xf32>
  %bb2 = linalg.broadcast ins(%b2 : tensor<64xf32>) outs(%ed : tensor<8x64xf32>) dimensions = [0]
  // expected-remark @+1 {{glu-raise: raised to glu.mlp gelu_erf}}
  %y = linalg.matmul indexing_maps = [#lhs, #rhsT, #out]
      ins(%a, %w2 : tensor<8x256xf32>, tensor<64x256xf32>) outs(%bb2 : tensor<8x64xf32>) -> tensor<8x64xf32>
  return %y : tensor<8x64xf32>
}

// -----

// bf16 activations and weights computed exactly as the glu op does: matmuls
// accumulate in f32 (bf16 x bf16 -> f32), activation and gating in f32, one
// truncf at the end. The op takes and returns bf16.
// CHECK-LABEL: func.func @bf16_exact
// CHECK-SAME: (%[[X:.*]]: tensor<8x64xbf16>, %[[WG:.*]]: tensor<96x64xbf16>, %[[WU:.*]]: tensor<96x64xbf16>, %[[WD:.*]]: tensor<64x96xbf16>)
// CHECK: %[[Y:.*]] = glu.ffn silu %[[X]] : tensor<8x64xbf16> gate %[[WG]] : tensor<96x64xbf16> up %[[WU]] : tensor<96x64xbf16> down %[[WD]] : tensor<64x96xbf16> -> tensor<8x64xbf16>
// CHECK-NOT: linalg.
// CHECK: return %[[Y]]
#id = affine_map<(d0, d1) -> (d0, d1)>
#lhs = affine_map<(d0, d1, d2) -> (d0, d2)>
#rhsT = affine_map<(d0, d1, d2) -> (d1, d2)>
#out = affine_map<(d0, d1, d2) -> (d0, d1)>
func.func @bf16_exact(%x: tensor<8x64xbf16>, %wg: tensor<96x64xbf16>, %wu: tensor<96x64xbf16>,
                      %wd: tensor<64x96xbf16>) -> tensor<8x64xbf16> {
  %cst = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %e = tensor.empty() : tensor<8x96xf32>
  %z = linalg.fill ins(%cst : f32) outs(%e : tensor<8x96xf32>) -> tensor<8x96xf32>
  %g = linalg.matmul indexing_maps = [#lhs, #rhsT, #out]
      ins(%x, %wg : tensor<8x64xbf16>, tensor<96x64xbf16>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %u = linalg.matmul indexing_maps = [#lhs, #rhsT, #out]
      ins(%x, %wu : tensor<8x64xbf16>, tensor<96x64xbf16>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %h = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g, %u : tensor<8x96xf32>, tensor<8x96xf32>) outs(%e : tensor<8x96xf32>) {
  ^bb0(%p: f32, %q: f32, %out: f32):
    %0 = arith.negf %p : f32
    %1 = math.exp %0 : f32
    %2 = arith.addf %1, %one : f32
    %3 = arith.divf %p, %2 : f32
    %4 = arith.mulf %3, %q : f32
    linalg.yield %4 : f32
  } -> tensor<8x96xf32>
  %ed = tensor.empty() : tensor<8x64xf32>
  %zd = linalg.fill ins(%cst : f32) outs(%ed : tensor<8x64xf32>) -> tensor<8x64xf32>
  // expected-remark @+1 {{glu-raise: raised to glu.ffn silu}}
  %y0 = linalg.matmul indexing_maps = [#lhs, #rhsT, #out]
      ins(%h, %wd : tensor<8x96xf32>, tensor<64x96xbf16>) outs(%zd : tensor<8x64xf32>) -> tensor<8x64xf32>
  %eb = tensor.empty() : tensor<8x64xbf16>
  %y = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%y0 : tensor<8x64xf32>) outs(%eb : tensor<8x64xbf16>) {
  ^bb0(%in: f32, %out: bf16):
    %0 = arith.truncf %in : f32 to bf16
    linalg.yield %0 : bf16
  } -> tensor<8x64xbf16>
  return %y : tensor<8x64xbf16>
}

// -----

// bf16 the way torch-mlir emits it from a bf16 model: bf16 matmul outputs,
// the activation computed in f32 between extf and truncf, the gating in
// bf16. The glu op would not round these intermediates: not raised unless
// allow-rounding-changes.
// CHECK-LABEL: func.func @bf16_rounding
// CHECK-NOT: glu.ffn
// RELAXED-LABEL: func.func @bf16_rounding
// RELAXED-SAME: (%[[X:.*]]: tensor<8x64xbf16>, %[[WG:.*]]: tensor<96x64xbf16>, %[[WU:.*]]: tensor<96x64xbf16>, %[[WD:.*]]: tensor<64x96xbf16>)
// RELAXED: glu.ffn silu %[[X]] : tensor<8x64xbf16> gate %[[WG]] : tensor<96x64xbf16> up %[[WU]] : tensor<96x64xbf16> down %[[WD]] : tensor<64x96xbf16> -> tensor<8x64xbf16>
#id = affine_map<(d0, d1) -> (d0, d1)>
#lhs = affine_map<(d0, d1, d2) -> (d0, d2)>
#rhsT = affine_map<(d0, d1, d2) -> (d1, d2)>
#out = affine_map<(d0, d1, d2) -> (d0, d1)>
func.func @bf16_rounding(%x: tensor<8x64xbf16>, %wg: tensor<96x64xbf16>, %wu: tensor<96x64xbf16>,
                         %wd: tensor<64x96xbf16>) -> tensor<8x64xbf16> {
  %cst = arith.constant 0.0 : bf16
  %one = arith.constant 1.0 : f32
  %e = tensor.empty() : tensor<8x96xbf16>
  %z = linalg.fill ins(%cst : bf16) outs(%e : tensor<8x96xbf16>) -> tensor<8x96xbf16>
  %g = linalg.matmul indexing_maps = [#lhs, #rhsT, #out]
      ins(%x, %wg : tensor<8x64xbf16>, tensor<96x64xbf16>) outs(%z : tensor<8x96xbf16>) -> tensor<8x96xbf16>
  %u = linalg.matmul indexing_maps = [#lhs, #rhsT, #out]
      ins(%x, %wu : tensor<8x64xbf16>, tensor<96x64xbf16>) outs(%z : tensor<8x96xbf16>) -> tensor<8x96xbf16>
  %act = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g : tensor<8x96xbf16>) outs(%e : tensor<8x96xbf16>) {
  ^bb0(%in: bf16, %out: bf16):
    %0 = arith.extf %in : bf16 to f32
    %1 = arith.negf %0 : f32
    %2 = math.exp %1 : f32
    %3 = arith.addf %2, %one : f32
    %4 = arith.divf %0, %3 : f32
    %5 = arith.truncf %4 : f32 to bf16
    linalg.yield %5 : bf16
  } -> tensor<8x96xbf16>
  %h = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%act, %u : tensor<8x96xbf16>, tensor<8x96xbf16>) outs(%e : tensor<8x96xbf16>) {
  ^bb0(%p: bf16, %q: bf16, %out: bf16):
    %0 = arith.mulf %p, %q : bf16
    linalg.yield %0 : bf16
  } -> tensor<8x96xbf16>
  %ed = tensor.empty() : tensor<8x64xbf16>
  %zd = linalg.fill ins(%cst : bf16) outs(%ed : tensor<8x64xbf16>) -> tensor<8x64xbf16>
  // expected-remark @+1 {{glu-raise: not raised: the projections accumulate in bf16, but the glu op computes in f32 and rounds only its result; raise anyway with allow-rounding-changes=true}}
  %y = linalg.matmul indexing_maps = [#lhs, #rhsT, #out]
      ins(%h, %wd : tensor<8x96xbf16>, tensor<64x96xbf16>) outs(%zd : tensor<8x64xbf16>) -> tensor<8x64xbf16>
  return %y : tensor<8x64xbf16>
}

// -----

// Dynamic batch and token dims, torch-mlir style: every size from tensor.dim.
// The expand back reads the input's dims, so the op keeps them.
// CHECK-LABEL: func.func @dynamic
// CHECK-SAME: (%[[X:.*]]: tensor<?x?x64xf32>, %[[WG:.*]]: tensor<96x64xf32>, %[[WU:.*]]: tensor<96x64xf32>, %[[WD:.*]]: tensor<64x96xf32>)
// CHECK: %[[Y:.*]] = glu.ffn silu %[[X]] : tensor<?x?x64xf32> gate %[[WG]] : tensor<96x64xf32> up %[[WU]] : tensor<96x64xf32> down %[[WD]] : tensor<64x96xf32> -> tensor<?x?x64xf32>
// CHECK-NOT: linalg.
// CHECK: return %[[Y]]
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @dynamic(%x: tensor<?x?x64xf32>, %wg: tensor<96x64xf32>, %wu: tensor<96x64xf32>,
                   %wd: tensor<64x96xf32>) -> tensor<?x?x64xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %cst = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %b = tensor.dim %x, %c0 : tensor<?x?x64xf32>
  %s = tensor.dim %x, %c1 : tensor<?x?x64xf32>
  %t = tensor.empty() : tensor<64x96xf32>
  %wgT = linalg.transpose ins(%wg : tensor<96x64xf32>) outs(%t : tensor<64x96xf32>) permutation = [1, 0]
  %wuT = linalg.transpose ins(%wu : tensor<96x64xf32>) outs(%t : tensor<64x96xf32>) permutation = [1, 0]
  %x2 = tensor.collapse_shape %x [[0, 1], [2]] : tensor<?x?x64xf32> into tensor<?x64xf32>
  %n = tensor.dim %x2, %c0 : tensor<?x64xf32>
  %e = tensor.empty(%n) : tensor<?x96xf32>
  %z = linalg.fill ins(%cst : f32) outs(%e : tensor<?x96xf32>) -> tensor<?x96xf32>
  %g = linalg.matmul ins(%x2, %wgT : tensor<?x64xf32>, tensor<64x96xf32>) outs(%z : tensor<?x96xf32>) -> tensor<?x96xf32>
  %u = linalg.matmul ins(%x2, %wuT : tensor<?x64xf32>, tensor<64x96xf32>) outs(%z : tensor<?x96xf32>) -> tensor<?x96xf32>
  %h = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g, %u : tensor<?x96xf32>, tensor<?x96xf32>) outs(%e : tensor<?x96xf32>) {
  ^bb0(%p: f32, %q: f32, %out: f32):
    %0 = arith.negf %p : f32
    %1 = math.exp %0 : f32
    %2 = arith.addf %1, %one : f32
    %3 = arith.divf %p, %2 : f32
    %4 = arith.mulf %3, %q : f32
    linalg.yield %4 : f32
  } -> tensor<?x96xf32>
  %td = tensor.empty() : tensor<96x64xf32>
  %wdT = linalg.transpose ins(%wd : tensor<64x96xf32>) outs(%td : tensor<96x64xf32>) permutation = [1, 0]
  %ed = tensor.empty(%n) : tensor<?x64xf32>
  %zd = linalg.fill ins(%cst : f32) outs(%ed : tensor<?x64xf32>) -> tensor<?x64xf32>
  // expected-remark @+1 {{glu-raise: raised to glu.ffn silu}}
  %y2 = linalg.matmul ins(%h, %wdT : tensor<?x96xf32>, tensor<96x64xf32>) outs(%zd : tensor<?x64xf32>) -> tensor<?x64xf32>
  %y = tensor.expand_shape %y2 [[0, 1], [2]] output_shape [%b, %s, 64] : tensor<?x64xf32> into tensor<?x?x64xf32>
  return %y : tensor<?x?x64xf32>
}

// -----

// The expand back takes sizes the pass cannot relate to the input's: the op
// works on the collapsed rows and the expand stays.
// CHECK-LABEL: func.func @dynamic_unrelated_expand
// CHECK: %[[X2:.*]] = tensor.collapse_shape
// CHECK: %[[Y2:.*]] = glu.ffn silu %[[X2]] : tensor<?x64xf32> {{.*}} -> tensor<?x64xf32>
// CHECK: %[[Y:.*]] = tensor.expand_shape %[[Y2]]
// CHECK: return %[[Y]]
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @dynamic_unrelated_expand(%x: tensor<?x?x64xf32>, %wg: tensor<64x96xf32>, %wu: tensor<64x96xf32>,
                                    %wd: tensor<96x64xf32>, %b: index, %s: index) -> tensor<?x?x64xf32> {
  %c0 = arith.constant 0 : index
  %cst = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %x2 = tensor.collapse_shape %x [[0, 1], [2]] : tensor<?x?x64xf32> into tensor<?x64xf32>
  %n = tensor.dim %x2, %c0 : tensor<?x64xf32>
  %e = tensor.empty(%n) : tensor<?x96xf32>
  %z = linalg.fill ins(%cst : f32) outs(%e : tensor<?x96xf32>) -> tensor<?x96xf32>
  %g = linalg.matmul ins(%x2, %wg : tensor<?x64xf32>, tensor<64x96xf32>) outs(%z : tensor<?x96xf32>) -> tensor<?x96xf32>
  %u = linalg.matmul ins(%x2, %wu : tensor<?x64xf32>, tensor<64x96xf32>) outs(%z : tensor<?x96xf32>) -> tensor<?x96xf32>
  %h = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g, %u : tensor<?x96xf32>, tensor<?x96xf32>) outs(%e : tensor<?x96xf32>) {
  ^bb0(%p: f32, %q: f32, %out: f32):
    %0 = arith.negf %p : f32
    %1 = math.exp %0 : f32
    %2 = arith.addf %1, %one : f32
    %3 = arith.divf %p, %2 : f32
    %4 = arith.mulf %3, %q : f32
    linalg.yield %4 : f32
  } -> tensor<?x96xf32>
  %ed = tensor.empty(%n) : tensor<?x64xf32>
  %zd = linalg.fill ins(%cst : f32) outs(%ed : tensor<?x64xf32>) -> tensor<?x64xf32>
  // expected-remark @+1 {{glu-raise: raised to glu.ffn silu}}
  %y2 = linalg.matmul ins(%h, %wd : tensor<?x96xf32>, tensor<96x64xf32>) outs(%zd : tensor<?x64xf32>) -> tensor<?x64xf32>
  %y = tensor.expand_shape %y2 [[0, 1], [2]] output_shape [%b, %s, 64] : tensor<?x64xf32> into tensor<?x?x64xf32>
  return %y : tensor<?x?x64xf32>
}

// -----

// linalg.batch_matmul on the 3-D input with each weight broadcast over the
// batch (torch-mlir's aten.matmul of a 3-D and a 2-D tensor).
// CHECK-LABEL: func.func @batch_matmul_broadcast
// CHECK-SAME: (%[[X:.*]]: tensor<2x5x64xf32>, %[[WG:.*]]: tensor<64x96xf32>, %[[WU:.*]]: tensor<64x96xf32>, %[[WD:.*]]: tensor<96x64xf32>)
// CHECK: glu.ffn silu %[[X]] : tensor<2x5x64xf32> gate %[[WG]] : tensor<64x96xf32> up %[[WU]] : tensor<64x96xf32> down %[[WD]] : tensor<96x64xf32> layout in_out -> tensor<2x5x64xf32>
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
func.func @batch_matmul_broadcast(%x: tensor<2x5x64xf32>, %wg: tensor<64x96xf32>, %wu: tensor<64x96xf32>,
                                  %wd: tensor<96x64xf32>) -> tensor<2x5x64xf32> {
  %cst = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %bw = tensor.empty() : tensor<2x64x96xf32>
  %wgb = linalg.broadcast ins(%wg : tensor<64x96xf32>) outs(%bw : tensor<2x64x96xf32>) dimensions = [0]
  %wub = linalg.broadcast ins(%wu : tensor<64x96xf32>) outs(%bw : tensor<2x64x96xf32>) dimensions = [0]
  %e = tensor.empty() : tensor<2x5x96xf32>
  %z = linalg.fill ins(%cst : f32) outs(%e : tensor<2x5x96xf32>) -> tensor<2x5x96xf32>
  %g = linalg.batch_matmul ins(%x, %wgb : tensor<2x5x64xf32>, tensor<2x64x96xf32>) outs(%z : tensor<2x5x96xf32>) -> tensor<2x5x96xf32>
  %u = linalg.batch_matmul ins(%x, %wub : tensor<2x5x64xf32>, tensor<2x64x96xf32>) outs(%z : tensor<2x5x96xf32>) -> tensor<2x5x96xf32>
  %h = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%g, %u : tensor<2x5x96xf32>, tensor<2x5x96xf32>) outs(%e : tensor<2x5x96xf32>) {
  ^bb0(%p: f32, %q: f32, %out: f32):
    %0 = arith.negf %p : f32
    %1 = math.exp %0 : f32
    %2 = arith.addf %1, %one : f32
    %3 = arith.divf %p, %2 : f32
    %4 = arith.mulf %3, %q : f32
    linalg.yield %4 : f32
  } -> tensor<2x5x96xf32>
  %bwd = tensor.empty() : tensor<2x96x64xf32>
  %wdb = linalg.broadcast ins(%wd : tensor<96x64xf32>) outs(%bwd : tensor<2x96x64xf32>) dimensions = [0]
  %ed = tensor.empty() : tensor<2x5x64xf32>
  %zd = linalg.fill ins(%cst : f32) outs(%ed : tensor<2x5x64xf32>) -> tensor<2x5x64xf32>
  // expected-remark @+1 {{glu-raise: raised to glu.ffn silu}}
  %y = linalg.batch_matmul ins(%h, %wdb : tensor<2x5x96xf32>, tensor<2x96x64xf32>) outs(%zd : tensor<2x5x64xf32>) -> tensor<2x5x64xf32>
  return %y : tensor<2x5x64xf32>
}

// -----

// Two blocks in a row: the second reads the first's result.
// CHECK-LABEL: func.func @two_blocks
// CHECK-SAME: (%[[X:.*]]: tensor<8x64xf32>, %[[W1:.*]]: tensor<64x96xf32>, %[[W2:.*]]: tensor<64x96xf32>, %[[W3:.*]]: tensor<96x64xf32>)
// CHECK: %[[Y1:.*]] = glu.ffn relu %[[X]] :
// CHECK: %[[Y2:.*]] = glu.ffn relu %[[Y1]] :
// CHECK: return %[[Y2]]
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @two_blocks(%x: tensor<8x64xf32>, %w1: tensor<64x96xf32>, %w2: tensor<64x96xf32>,
                      %w3: tensor<96x64xf32>) -> tensor<8x64xf32> {
  %cst = arith.constant 0.0 : f32
  %z = arith.constant dense<0.0> : tensor<8x96xf32>
  %zd = arith.constant dense<0.0> : tensor<8x64xf32>
  %e = tensor.empty() : tensor<8x96xf32>
  %g = linalg.matmul ins(%x, %w1 : tensor<8x64xf32>, tensor<64x96xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %u = linalg.matmul ins(%x, %w2 : tensor<8x64xf32>, tensor<64x96xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %h = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g, %u : tensor<8x96xf32>, tensor<8x96xf32>) outs(%e : tensor<8x96xf32>) {
  ^bb0(%p: f32, %q: f32, %out: f32):
    %0 = arith.maxnumf %p, %cst : f32
    %1 = arith.mulf %0, %q : f32
    linalg.yield %1 : f32
  } -> tensor<8x96xf32>
  // expected-remark @+1 {{glu-raise: raised to glu.ffn relu}}
  %y = linalg.matmul ins(%h, %w3 : tensor<8x96xf32>, tensor<96x64xf32>) outs(%zd : tensor<8x64xf32>) -> tensor<8x64xf32>
  %g2 = linalg.matmul ins(%y, %w1 : tensor<8x64xf32>, tensor<64x96xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %u2 = linalg.matmul ins(%y, %w2 : tensor<8x64xf32>, tensor<64x96xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %h2 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g2, %u2 : tensor<8x96xf32>, tensor<8x96xf32>) outs(%e : tensor<8x96xf32>) {
  ^bb0(%p: f32, %q: f32, %out: f32):
    %0 = arith.maxnumf %p, %cst : f32
    %1 = arith.mulf %0, %q : f32
    linalg.yield %1 : f32
  } -> tensor<8x96xf32>
  // expected-remark @+1 {{glu-raise: raised to glu.ffn relu}}
  %y2 = linalg.matmul ins(%h2, %w3 : tensor<8x96xf32>, tensor<96x64xf32>) outs(%zd : tensor<8x64xf32>) -> tensor<8x64xf32>
  return %y2 : tensor<8x64xf32>
}

// -----

// TOSA: tosa.matmul on [1, tokens, d] with transposed and reshaped weights,
// sigmoid and mul for SiLU, reshapes back, a bias add on the result.
// CHECK-LABEL: func.func @tosa_silu
// CHECK-SAME: (%[[X:.*]]: tensor<2x5x64xf32>, %[[WG:.*]]: tensor<96x64xf32>, %[[WU:.*]]: tensor<96x64xf32>, %[[WD:.*]]: tensor<64x96xf32>, %[[BD:.*]]: tensor<64xf32>)
// CHECK: %[[Y:.*]] = glu.ffn silu %[[X]] : tensor<2x5x64xf32> gate %[[WG]] : tensor<96x64xf32> up %[[WU]] : tensor<96x64xf32> down %[[WD]] : tensor<64x96xf32> down_bias %[[BD]] : tensor<64xf32> -> tensor<2x5x64xf32>
// CHECK-NOT: tosa.
// CHECK: return %[[Y]]
func.func @tosa_silu(%x: tensor<2x5x64xf32>, %wg: tensor<96x64xf32>, %wu: tensor<96x64xf32>,
                     %wd: tensor<64x96xf32>, %bd: tensor<64xf32>) -> tensor<2x5x64xf32> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %s1 = tosa.const_shape {values = dense<[1, 10, 64]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %s2 = tosa.const_shape {values = dense<[1, 64, 96]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %s3 = tosa.const_shape {values = dense<[1, 96, 64]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %s4 = tosa.const_shape {values = dense<[2, 5, 64]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %sb = tosa.const_shape {values = dense<[1, 1, 64]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %x3 = tosa.reshape %x, %s1 : (tensor<2x5x64xf32>, !tosa.shape<3>) -> tensor<1x10x64xf32>
  %wgT = tosa.transpose %wg {perms = array<i32: 1, 0>} : (tensor<96x64xf32>) -> tensor<64x96xf32>
  %wg3 = tosa.reshape %wgT, %s2 : (tensor<64x96xf32>, !tosa.shape<3>) -> tensor<1x64x96xf32>
  %g = tosa.matmul %x3, %wg3, %zp, %zp : (tensor<1x10x64xf32>, tensor<1x64x96xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x10x96xf32>
  %wuT = tosa.transpose %wu {perms = array<i32: 1, 0>} : (tensor<96x64xf32>) -> tensor<64x96xf32>
  %wu3 = tosa.reshape %wuT, %s2 : (tensor<64x96xf32>, !tosa.shape<3>) -> tensor<1x64x96xf32>
  %u = tosa.matmul %x3, %wu3, %zp, %zp : (tensor<1x10x64xf32>, tensor<1x64x96xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x10x96xf32>
  %sg = tosa.sigmoid %g : (tensor<1x10x96xf32>) -> tensor<1x10x96xf32>
  %silu = tosa.mul %g, %sg, %shift : (tensor<1x10x96xf32>, tensor<1x10x96xf32>, tensor<1xi8>) -> tensor<1x10x96xf32>
  %h = tosa.mul %silu, %u, %shift : (tensor<1x10x96xf32>, tensor<1x10x96xf32>, tensor<1xi8>) -> tensor<1x10x96xf32>
  %wdT = tosa.transpose %wd {perms = array<i32: 1, 0>} : (tensor<64x96xf32>) -> tensor<96x64xf32>
  %wd3 = tosa.reshape %wdT, %s3 : (tensor<96x64xf32>, !tosa.shape<3>) -> tensor<1x96x64xf32>
  // expected-remark @+1 {{glu-raise: raised to glu.ffn silu}}
  %y3 = tosa.matmul %h, %wd3, %zp, %zp : (tensor<1x10x96xf32>, tensor<1x96x64xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x10x64xf32>
  %y0 = tosa.reshape %y3, %s4 : (tensor<1x10x64xf32>, !tosa.shape<3>) -> tensor<2x5x64xf32>
  %bd3 = tosa.reshape %bd, %sb : (tensor<64xf32>, !tosa.shape<3>) -> tensor<1x1x64xf32>
  %y = tosa.add %y0, %bd3 : (tensor<2x5x64xf32>, tensor<1x1x64xf32>) -> tensor<2x5x64xf32>
  return %y : tensor<2x5x64xf32>
}

// -----

// negative_: gate and up read different inputs.
// CHECK-LABEL: func.func @negative_different_inputs
// CHECK-NOT: glu.ffn
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @negative_different_inputs(%x: tensor<8x64xf32>, %x2: tensor<8x64xf32>, %wg: tensor<64x96xf32>,
                                     %wu: tensor<64x96xf32>, %wd: tensor<96x64xf32>) -> tensor<8x64xf32> {
  %z = arith.constant dense<0.0> : tensor<8x96xf32>
  %zd = arith.constant dense<0.0> : tensor<8x64xf32>
  %one = arith.constant 1.0 : f32
  %e = tensor.empty() : tensor<8x96xf32>
  %g = linalg.matmul ins(%x, %wg : tensor<8x64xf32>, tensor<64x96xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %u = linalg.matmul ins(%x2, %wu : tensor<8x64xf32>, tensor<64x96xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %h = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g, %u : tensor<8x96xf32>, tensor<8x96xf32>) outs(%e : tensor<8x96xf32>) {
  ^bb0(%p: f32, %q: f32, %out: f32):
    %0 = arith.negf %p : f32
    %1 = math.exp %0 : f32
    %2 = arith.addf %1, %one : f32
    %3 = arith.divf %p, %2 : f32
    %4 = arith.mulf %3, %q : f32
    linalg.yield %4 : f32
  } -> tensor<8x96xf32>
  // expected-remark @+1 {{glu-raise: not raised: the gate and up projections read different inputs}}
  %y = linalg.matmul ins(%h, %wd : tensor<8x96xf32>, tensor<96x64xf32>) outs(%zd : tensor<8x64xf32>) -> tensor<8x64xf32>
  return %y : tensor<8x64xf32>
}

// -----

// negative_: wrong constants: 1 / (exp(-x) + 0.5) is no sigmoid, and
// x / (exp(-x) + 0) is no SiLU.
// CHECK-LABEL: func.func @negative_wrong_constant
// CHECK-NOT: glu.ffn
// CHECK-LABEL: func.func @negative_zero_instead_of_one
// CHECK-NOT: glu.ffn
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @negative_wrong_constant(%x: tensor<8x64xf32>, %wg: tensor<64x96xf32>, %wu: tensor<64x96xf32>,
                                   %wd: tensor<96x64xf32>) -> tensor<8x64xf32> {
  %z = arith.constant dense<0.0> : tensor<8x96xf32>
  %zd = arith.constant dense<0.0> : tensor<8x64xf32>
  %one = arith.constant 1.0 : f32
  %half = arith.constant 0.5 : f32
  %e = tensor.empty() : tensor<8x96xf32>
  %g = linalg.matmul ins(%x, %wg : tensor<8x64xf32>, tensor<64x96xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %u = linalg.matmul ins(%x, %wu : tensor<8x64xf32>, tensor<64x96xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %h = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g, %u : tensor<8x96xf32>, tensor<8x96xf32>) outs(%e : tensor<8x96xf32>) {
  ^bb0(%p: f32, %q: f32, %out: f32):
    %0 = arith.negf %p : f32
    %1 = math.exp %0 : f32
    %2 = arith.addf %1, %half : f32
    %3 = arith.divf %one, %2 : f32
    %4 = arith.mulf %3, %q : f32
    linalg.yield %4 : f32
  } -> tensor<8x96xf32>
  // expected-remark @+1 {{glu-raise: not raised: the elementwise ops compute no gating act(g) * u with a supported activation}}
  %y = linalg.matmul ins(%h, %wd : tensor<8x96xf32>, tensor<96x64xf32>) outs(%zd : tensor<8x64xf32>) -> tensor<8x64xf32>
  return %y : tensor<8x64xf32>
}
func.func @negative_zero_instead_of_one(%x: tensor<8x64xf32>, %wg: tensor<64x96xf32>, %wu: tensor<64x96xf32>,
                                        %wd: tensor<96x64xf32>) -> tensor<8x64xf32> {
  %z = arith.constant dense<0.0> : tensor<8x96xf32>
  %zd = arith.constant dense<0.0> : tensor<8x64xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x96xf32>
  %g = linalg.matmul ins(%x, %wg : tensor<8x64xf32>, tensor<64x96xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %u = linalg.matmul ins(%x, %wu : tensor<8x64xf32>, tensor<64x96xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %h = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g, %u : tensor<8x96xf32>, tensor<8x96xf32>) outs(%e : tensor<8x96xf32>) {
  ^bb0(%p: f32, %q: f32, %out: f32):
    %0 = arith.negf %p : f32
    %1 = math.exp %0 : f32
    %2 = arith.addf %1, %zero : f32
    %3 = arith.divf %p, %2 : f32
    %4 = arith.mulf %3, %q : f32
    linalg.yield %4 : f32
  } -> tensor<8x96xf32>
  // expected-remark @+1 {{glu-raise: not raised: the elementwise ops compute no gating act(g) * u with a supported activation}}
  %y = linalg.matmul ins(%h, %wd : tensor<8x96xf32>, tensor<96x64xf32>) outs(%zd : tensor<8x64xf32>) -> tensor<8x64xf32>
  return %y : tensor<8x64xf32>
}

// -----

// negative_: x * sigmoid(y) * u with y another value: the activation's
// argument is not the gate projection alone.
// CHECK-LABEL: func.func @negative_other_value
// CHECK-NOT: glu.ffn
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @negative_other_value(%x: tensor<8x64xf32>, %y0: tensor<8x96xf32>, %wg: tensor<64x96xf32>,
                                %wu: tensor<64x96xf32>, %wd: tensor<96x64xf32>) -> tensor<8x64xf32> {
  %z = arith.constant dense<0.0> : tensor<8x96xf32>
  %zd = arith.constant dense<0.0> : tensor<8x64xf32>
  %one = arith.constant 1.0 : f32
  %e = tensor.empty() : tensor<8x96xf32>
  %g = linalg.matmul ins(%x, %wg : tensor<8x64xf32>, tensor<64x96xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %u = linalg.matmul ins(%x, %wu : tensor<8x64xf32>, tensor<64x96xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %h = linalg.generic {indexing_maps = [#id, #id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g, %y0, %u : tensor<8x96xf32>, tensor<8x96xf32>, tensor<8x96xf32>) outs(%e : tensor<8x96xf32>) {
  ^bb0(%p: f32, %r: f32, %q: f32, %out: f32):
    %0 = arith.negf %r : f32
    %1 = math.exp %0 : f32
    %2 = arith.addf %1, %one : f32
    %3 = arith.divf %p, %2 : f32
    %4 = arith.mulf %3, %q : f32
    linalg.yield %4 : f32
  } -> tensor<8x96xf32>
  // expected-remark @+1 {{glu-raise: not raised: the hidden depends on a value that is neither a projection nor a bias broadcast along rows}}
  %y = linalg.matmul ins(%h, %wd : tensor<8x96xf32>, tensor<96x64xf32>) outs(%zd : tensor<8x64xf32>) -> tensor<8x64xf32>
  return %y : tensor<8x64xf32>
}

// -----

// negative_: the gate matmul accumulates into a tensor that is neither zero
// nor a row-broadcast bias.
// CHECK-LABEL: func.func @negative_nonzero_init
// CHECK-NOT: glu.ffn
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @negative_nonzero_init(%x: tensor<8x64xf32>, %acc: tensor<8x96xf32>, %wg: tensor<64x96xf32>,
                                 %wu: tensor<64x96xf32>, %wd: tensor<96x64xf32>) -> tensor<8x64xf32> {
  %z = arith.constant dense<0.0> : tensor<8x96xf32>
  %zd = arith.constant dense<0.0> : tensor<8x64xf32>
  %one = arith.constant 1.0 : f32
  %e = tensor.empty() : tensor<8x96xf32>
  %g = linalg.matmul ins(%x, %wg : tensor<8x64xf32>, tensor<64x96xf32>) outs(%acc : tensor<8x96xf32>) -> tensor<8x96xf32>
  %u = linalg.matmul ins(%x, %wu : tensor<8x64xf32>, tensor<64x96xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %h = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g, %u : tensor<8x96xf32>, tensor<8x96xf32>) outs(%e : tensor<8x96xf32>) {
  ^bb0(%p: f32, %q: f32, %out: f32):
    %0 = arith.negf %p : f32
    %1 = math.exp %0 : f32
    %2 = arith.addf %1, %one : f32
    %3 = arith.divf %p, %2 : f32
    %4 = arith.mulf %3, %q : f32
    linalg.yield %4 : f32
  } -> tensor<8x96xf32>
  // expected-remark @+1 {{glu-raise: not raised: the gate projection's accumulator starts neither at zero nor at a bias broadcast along rows}}
  %y = linalg.matmul ins(%h, %wd : tensor<8x96xf32>, tensor<96x64xf32>) outs(%zd : tensor<8x64xf32>) -> tensor<8x64xf32>
  return %y : tensor<8x64xf32>
}

// -----

// negative_: the hidden is also returned; the gate projection is also
// returned.
// CHECK-LABEL: func.func @negative_hidden_escapes
// CHECK-NOT: glu.ffn
// CHECK-LABEL: func.func @negative_gate_escapes
// CHECK-NOT: glu.ffn
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @negative_hidden_escapes(%x: tensor<8x64xf32>, %wg: tensor<64x96xf32>, %wu: tensor<64x96xf32>,
                                   %wd: tensor<96x64xf32>) -> (tensor<8x64xf32>, tensor<8x96xf32>) {
  %z = arith.constant dense<0.0> : tensor<8x96xf32>
  %zd = arith.constant dense<0.0> : tensor<8x64xf32>
  %cst = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x96xf32>
  %g = linalg.matmul ins(%x, %wg : tensor<8x64xf32>, tensor<64x96xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %u = linalg.matmul ins(%x, %wu : tensor<8x64xf32>, tensor<64x96xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %h = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g, %u : tensor<8x96xf32>, tensor<8x96xf32>) outs(%e : tensor<8x96xf32>) {
  ^bb0(%p: f32, %q: f32, %out: f32):
    %0 = arith.maximumf %p, %cst : f32
    %1 = arith.mulf %0, %q : f32
    linalg.yield %1 : f32
  } -> tensor<8x96xf32>
  // expected-remark @+1 {{glu-raise: not raised: the hidden (or a value computing it) has another user}}
  %y = linalg.matmul ins(%h, %wd : tensor<8x96xf32>, tensor<96x64xf32>) outs(%zd : tensor<8x64xf32>) -> tensor<8x64xf32>
  return %y, %h : tensor<8x64xf32>, tensor<8x96xf32>
}
func.func @negative_gate_escapes(%x: tensor<8x64xf32>, %wg: tensor<64x96xf32>, %wu: tensor<64x96xf32>,
                                 %wd: tensor<96x64xf32>) -> (tensor<8x64xf32>, tensor<8x96xf32>) {
  %z = arith.constant dense<0.0> : tensor<8x96xf32>
  %zd = arith.constant dense<0.0> : tensor<8x64xf32>
  %cst = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x96xf32>
  %g = linalg.matmul ins(%x, %wg : tensor<8x64xf32>, tensor<64x96xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %u = linalg.matmul ins(%x, %wu : tensor<8x64xf32>, tensor<64x96xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %h = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g, %u : tensor<8x96xf32>, tensor<8x96xf32>) outs(%e : tensor<8x96xf32>) {
  ^bb0(%p: f32, %q: f32, %out: f32):
    %0 = arith.maximumf %p, %cst : f32
    %1 = arith.mulf %0, %q : f32
    linalg.yield %1 : f32
  } -> tensor<8x96xf32>
  // expected-remark @+1 {{glu-raise: not raised: the gate projection's result has another user}}
  %y = linalg.matmul ins(%h, %wd : tensor<8x96xf32>, tensor<96x64xf32>) outs(%zd : tensor<8x64xf32>) -> tensor<8x64xf32>
  return %y, %g : tensor<8x64xf32>, tensor<8x96xf32>
}

// -----

// negative_: the gate weight is [out, in], the others [in, out].
// CHECK-LABEL: func.func @negative_mixed_layouts
// CHECK-NOT: glu.ffn
#id = affine_map<(d0, d1) -> (d0, d1)>
#lhs = affine_map<(d0, d1, d2) -> (d0, d2)>
#rhsT = affine_map<(d0, d1, d2) -> (d1, d2)>
#out = affine_map<(d0, d1, d2) -> (d0, d1)>
func.func @negative_mixed_layouts(%x: tensor<8x64xf32>, %wg: tensor<96x64xf32>, %wu: tensor<64x96xf32>,
                                  %wd: tensor<96x64xf32>) -> tensor<8x64xf32> {
  %z = arith.constant dense<0.0> : tensor<8x96xf32>
  %zd = arith.constant dense<0.0> : tensor<8x64xf32>
  %cst = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x96xf32>
  %g = linalg.matmul indexing_maps = [#lhs, #rhsT, #out]
      ins(%x, %wg : tensor<8x64xf32>, tensor<96x64xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %u = linalg.matmul ins(%x, %wu : tensor<8x64xf32>, tensor<64x96xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %h = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g, %u : tensor<8x96xf32>, tensor<8x96xf32>) outs(%e : tensor<8x96xf32>) {
  ^bb0(%p: f32, %q: f32, %out: f32):
    %0 = arith.maximumf %p, %cst : f32
    %1 = arith.mulf %0, %q : f32
    linalg.yield %1 : f32
  } -> tensor<8x96xf32>
  // expected-remark @+1 {{glu-raise: not raised: mixed weight layouts (gate out_in, up in_out, down in_out); the glu ops take one layout for all weights}}
  %y = linalg.matmul ins(%h, %wd : tensor<8x96xf32>, tensor<96x64xf32>) outs(%zd : tensor<8x64xf32>) -> tensor<8x64xf32>
  return %y : tensor<8x64xf32>
}

// -----

// negative_: three projections meet in the hidden; and a hidden read by the
// down projection through a normalization (a reduction) is no block at all
// (no remark).
// CHECK-LABEL: func.func @negative_three_projections
// CHECK-NOT: glu.ffn
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @negative_three_projections(%x: tensor<8x64xf32>, %wg: tensor<64x96xf32>, %wu: tensor<64x96xf32>,
                                      %wv: tensor<64x96xf32>, %wd: tensor<96x64xf32>) -> tensor<8x64xf32> {
  %z = arith.constant dense<0.0> : tensor<8x96xf32>
  %zd = arith.constant dense<0.0> : tensor<8x64xf32>
  %cst = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x96xf32>
  %g = linalg.matmul ins(%x, %wg : tensor<8x64xf32>, tensor<64x96xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %u = linalg.matmul ins(%x, %wu : tensor<8x64xf32>, tensor<64x96xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %v = linalg.matmul ins(%x, %wv : tensor<8x64xf32>, tensor<64x96xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %h = linalg.generic {indexing_maps = [#id, #id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g, %u, %v : tensor<8x96xf32>, tensor<8x96xf32>, tensor<8x96xf32>) outs(%e : tensor<8x96xf32>) {
  ^bb0(%p: f32, %q: f32, %r: f32, %out: f32):
    %0 = arith.maximumf %p, %cst : f32
    %1 = arith.mulf %0, %q : f32
    %2 = arith.mulf %1, %r : f32
    linalg.yield %2 : f32
  } -> tensor<8x96xf32>
  // expected-remark @+1 {{glu-raise: not raised: the hidden depends on 3 projections; a block has one (mlp) or two (ffn)}}
  %y = linalg.matmul ins(%h, %wd : tensor<8x96xf32>, tensor<96x64xf32>) outs(%zd : tensor<8x64xf32>) -> tensor<8x64xf32>
  return %y : tensor<8x64xf32>
}

// -----

// negative_: a plain linear layer on a normalized input is left alone,
// silently.
// CHECK-LABEL: func.func @negative_norm
// CHECK-NOT: glu.
#id = affine_map<(d0, d1) -> (d0, d1)>
#rowsum = affine_map<(d0, d1) -> (d0)>
func.func @negative_norm(%x: tensor<8x64xf32>, %w: tensor<64x96xf32>, %wd: tensor<96x64xf32>) -> tensor<8x64xf32> {
  %z = arith.constant dense<0.0> : tensor<8x96xf32>
  %zd = arith.constant dense<0.0> : tensor<8x64xf32>
  %zs = arith.constant dense<0.0> : tensor<8xf32>
  %p = linalg.matmul ins(%x, %w : tensor<8x64xf32>, tensor<64x96xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %ss = linalg.generic {indexing_maps = [#id, #rowsum], iterator_types = ["parallel", "reduction"]}
      ins(%p : tensor<8x96xf32>) outs(%zs : tensor<8xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %acc, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<8xf32>
  %e = tensor.empty() : tensor<8x96xf32>
  %n = linalg.generic {indexing_maps = [#id, #rowsum, #id], iterator_types = ["parallel", "parallel"]}
      ins(%p, %ss : tensor<8x96xf32>, tensor<8xf32>) outs(%e : tensor<8x96xf32>) {
  ^bb0(%in: f32, %s: f32, %out: f32):
    %0 = math.rsqrt %s : f32
    %1 = arith.mulf %in, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<8x96xf32>
  %y = linalg.matmul ins(%n, %wd : tensor<8x96xf32>, tensor<96x64xf32>) outs(%zd : tensor<8x64xf32>) -> tensor<8x64xf32>
  return %y : tensor<8x64xf32>
}

// -----

// A merged gate/up projection (one matmul to 2F features) split by two
// extract_slices: first half gate, second half up -> packing concat; biases
// added to the halves become one gate_up_bias.
// CHECK-LABEL: func.func @merged_concat
// CHECK-SAME: (%[[X:.*]]: tensor<8x64xf32>, %[[W:.*]]: tensor<192x64xf32>, %[[BG:.*]]: tensor<96xf32>, %[[BU:.*]]: tensor<96xf32>, %[[WD:.*]]: tensor<64x96xf32>)
// CHECK: %[[B:.*]] = tensor.concat dim(0) %[[BG]], %[[BU]]
// CHECK: glu.ffn silu %[[X]] : tensor<8x64xf32> gate_up %[[W]] : tensor<192x64xf32> down %[[WD]] : tensor<64x96xf32> gate_up_bias %[[B]] : tensor<192xf32> packing concat -> tensor<8x64xf32>
// CHECK-NOT: extract_slice
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>
#lhs = affine_map<(d0, d1, d2) -> (d0, d2)>
#rhsT = affine_map<(d0, d1, d2) -> (d1, d2)>
#out = affine_map<(d0, d1, d2) -> (d0, d1)>
func.func @merged_concat(%x: tensor<8x64xf32>, %w: tensor<192x64xf32>, %bg: tensor<96xf32>, %bu: tensor<96xf32>,
                         %wd: tensor<64x96xf32>) -> tensor<8x64xf32> {
  %cst = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %e2 = tensor.empty() : tensor<8x192xf32>
  %z2 = linalg.fill ins(%cst : f32) outs(%e2 : tensor<8x192xf32>) -> tensor<8x192xf32>
  %gu = linalg.matmul indexing_maps = [#lhs, #rhsT, #out]
      ins(%x, %w : tensor<8x64xf32>, tensor<192x64xf32>) outs(%z2 : tensor<8x192xf32>) -> tensor<8x192xf32>
  %g = tensor.extract_slice %gu[0, 0] [8, 96] [1, 1] : tensor<8x192xf32> to tensor<8x96xf32>
  %u = tensor.extract_slice %gu[0, 96] [8, 96] [1, 1] : tensor<8x192xf32> to tensor<8x96xf32>
  %e = tensor.empty() : tensor<8x96xf32>
  %h = linalg.generic {indexing_maps = [#id, #row, #id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g, %bg, %u, %bu : tensor<8x96xf32>, tensor<96xf32>, tensor<8x96xf32>, tensor<96xf32>) outs(%e : tensor<8x96xf32>) {
  ^bb0(%p: f32, %pb: f32, %q: f32, %qb: f32, %o: f32):
    %0 = arith.addf %p, %pb : f32
    %1 = arith.negf %0 : f32
    %2 = math.exp %1 : f32
    %3 = arith.addf %2, %one : f32
    %4 = arith.divf %0, %3 : f32
    %5 = arith.addf %q, %qb : f32
    %6 = arith.mulf %4, %5 : f32
    linalg.yield %6 : f32
  } -> tensor<8x96xf32>
  %ed = tensor.empty() : tensor<8x64xf32>
  %zd = linalg.fill ins(%cst : f32) outs(%ed : tensor<8x64xf32>) -> tensor<8x64xf32>
  // expected-remark @+1 {{glu-raise: raised to glu.ffn silu}}
  %y = linalg.matmul indexing_maps = [#lhs, #rhsT, #out]
      ins(%h, %wd : tensor<8x96xf32>, tensor<64x96xf32>) outs(%zd : tensor<8x64xf32>) -> tensor<8x64xf32>
  return %y : tensor<8x64xf32>
}

// -----

// GPT-OSS-style interleaved halves (even features gate, odd features up),
// in_out weights, a 2F bias broadcast into the accumulator.
// CHECK-LABEL: func.func @merged_interleaved
// CHECK-SAME: (%[[X:.*]]: tensor<8x64xf32>, %[[W:.*]]: tensor<64x192xf32>, %[[B:.*]]: tensor<192xf32>, %[[WD:.*]]: tensor<96x64xf32>)
// CHECK: glu.ffn gelu_tanh %[[X]] : tensor<8x64xf32> gate_up %[[W]] : tensor<64x192xf32> down %[[WD]] : tensor<96x64xf32> gate_up_bias %[[B]] : tensor<192xf32> packing interleaved layout in_out -> tensor<8x64xf32>
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @merged_interleaved(%x: tensor<8x64xf32>, %w: tensor<64x192xf32>, %b: tensor<192xf32>,
                              %wd: tensor<96x64xf32>) -> tensor<8x64xf32> {
  %cst = arith.constant 0.0 : f32
  %half = arith.constant 0.5 : f32
  %one = arith.constant 1.0 : f32
  %k0 = arith.constant 0.044715 : f32
  %k1 = arith.constant 0.797884583 : f32
  %e2 = tensor.empty() : tensor<8x192xf32>
  %bb = linalg.broadcast ins(%b : tensor<192xf32>) outs(%e2 : tensor<8x192xf32>) dimensions = [0]
  %gu = linalg.matmul ins(%x, %w : tensor<8x64xf32>, tensor<64x192xf32>) outs(%bb : tensor<8x192xf32>) -> tensor<8x192xf32>
  %g = tensor.extract_slice %gu[0, 0] [8, 96] [1, 2] : tensor<8x192xf32> to tensor<8x96xf32>
  %u = tensor.extract_slice %gu[0, 1] [8, 96] [1, 2] : tensor<8x192xf32> to tensor<8x96xf32>
  %e = tensor.empty() : tensor<8x96xf32>
  %h = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g, %u : tensor<8x96xf32>, tensor<8x96xf32>) outs(%e : tensor<8x96xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
    %0 = arith.mulf %p, %p : f32
    %1 = arith.mulf %0, %p : f32
    %2 = arith.mulf %1, %k0 : f32
    %3 = arith.addf %p, %2 : f32
    %4 = arith.mulf %3, %k1 : f32
    %5 = math.tanh %4 : f32
    %6 = arith.addf %5, %one : f32
    %7 = arith.mulf %p, %half : f32
    %8 = arith.mulf %7, %6 : f32
    %9 = arith.mulf %8, %q : f32
    linalg.yield %9 : f32
  } -> tensor<8x96xf32>
  %zd = arith.constant dense<0.0> : tensor<8x64xf32>
  // expected-remark @+1 {{glu-raise: raised to glu.ffn gelu_tanh}}
  %y = linalg.matmul ins(%h, %wd : tensor<8x96xf32>, tensor<96x64xf32>) outs(%zd : tensor<8x64xf32>) -> tensor<8x64xf32>
  return %y : tensor<8x64xf32>
}

// -----

// negative_: the activation applies to the second half of the merged
// projection (the glu ops put the gate first).
// CHECK-LABEL: func.func @negative_merged_swapped
// CHECK-NOT: glu.ffn
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @negative_merged_swapped(%x: tensor<8x64xf32>, %w: tensor<64x192xf32>,
                                   %wd: tensor<96x64xf32>) -> tensor<8x64xf32> {
  %cst = arith.constant 0.0 : f32
  %z2 = arith.constant dense<0.0> : tensor<8x192xf32>
  %gu = linalg.matmul ins(%x, %w : tensor<8x64xf32>, tensor<64x192xf32>) outs(%z2 : tensor<8x192xf32>) -> tensor<8x192xf32>
  %u = tensor.extract_slice %gu[0, 0] [8, 96] [1, 1] : tensor<8x192xf32> to tensor<8x96xf32>
  %g = tensor.extract_slice %gu[0, 96] [8, 96] [1, 1] : tensor<8x192xf32> to tensor<8x96xf32>
  %e = tensor.empty() : tensor<8x96xf32>
  %h = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g, %u : tensor<8x96xf32>, tensor<8x96xf32>) outs(%e : tensor<8x96xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
    %0 = arith.maximumf %p, %cst : f32
    %1 = arith.mulf %0, %q : f32
    linalg.yield %1 : f32
  } -> tensor<8x96xf32>
  %zd = arith.constant dense<0.0> : tensor<8x64xf32>
  // expected-remark @+1 {{glu-raise: not raised: the merged projection's halves are in the wrong order (gate must be the first half, or the even features)}}
  %y = linalg.matmul ins(%h, %wd : tensor<8x96xf32>, tensor<96x64xf32>) outs(%zd : tensor<8x64xf32>) -> tensor<8x64xf32>
  return %y : tensor<8x64xf32>
}

// -----

// negative_: SiLU except above 100 (a piecewise lookalike): the probes
// bracket every constant.
// CHECK-LABEL: func.func @negative_piecewise
// CHECK-NOT: glu.ffn
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @negative_piecewise(%x: tensor<8x64xf32>, %wg: tensor<64x96xf32>, %wu: tensor<64x96xf32>,
                              %wd: tensor<96x64xf32>) -> tensor<8x64xf32> {
  %z = arith.constant dense<0.0> : tensor<8x96xf32>
  %zd = arith.constant dense<0.0> : tensor<8x64xf32>
  %one = arith.constant 1.0 : f32
  %zero = arith.constant 0.0 : f32
  %big = arith.constant 100.0 : f32
  %e = tensor.empty() : tensor<8x96xf32>
  %g = linalg.matmul ins(%x, %wg : tensor<8x64xf32>, tensor<64x96xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %u = linalg.matmul ins(%x, %wu : tensor<8x64xf32>, tensor<64x96xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %h = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g, %u : tensor<8x96xf32>, tensor<8x96xf32>) outs(%e : tensor<8x96xf32>) {
  ^bb0(%p: f32, %q: f32, %out: f32):
    %0 = arith.negf %p : f32
    %1 = math.exp %0 : f32
    %2 = arith.addf %1, %one : f32
    %3 = arith.divf %p, %2 : f32
    %c = arith.cmpf ogt, %p, %big : f32
    %4 = arith.select %c, %zero, %3 : f32
    %5 = arith.mulf %4, %q : f32
    linalg.yield %5 : f32
  } -> tensor<8x96xf32>
  // expected-remark @+1 {{glu-raise: not raised: the elementwise ops compute no gating act(g) * u with a supported activation}}
  %y = linalg.matmul ins(%h, %wd : tensor<8x96xf32>, tensor<96x64xf32>) outs(%zd : tensor<8x64xf32>) -> tensor<8x64xf32>
  return %y : tensor<8x64xf32>
}

// -----

// bf16 input extended to f32 by a generic, everything after in f32 and an
// f32 result: the op takes the extended (f32) input; the same with one truncf
// at the end takes the bf16 input itself.
// CHECK-LABEL: func.func @extf_input_f32_result
// CHECK-SAME: (%[[X:.*]]: tensor<8x64xbf16>, %[[WG:.*]]: tensor<64x96xf32>, %[[WU:.*]]: tensor<64x96xf32>, %[[WD:.*]]: tensor<96x64xf32>)
// CHECK: %[[XF:.*]] = linalg.generic
// CHECK: arith.extf
// CHECK: glu.ffn relu %[[XF]] : tensor<8x64xf32> gate %[[WG]] : tensor<64x96xf32> up %[[WU]] : tensor<64x96xf32> down %[[WD]] : tensor<96x64xf32> layout in_out -> tensor<8x64xf32>
// CHECK-LABEL: func.func @extf_input_bf16_result
// CHECK-SAME: (%[[X:.*]]: tensor<8x64xbf16>,
// CHECK-NOT: linalg.generic
// CHECK: glu.ffn relu %[[X]] : tensor<8x64xbf16> {{.*}} -> tensor<8x64xbf16>
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @extf_input_f32_result(%x: tensor<8x64xbf16>, %wg: tensor<64x96xf32>, %wu: tensor<64x96xf32>,
                                 %wd: tensor<96x64xf32>) -> tensor<8x64xf32> {
  %cst = arith.constant 0.0 : f32
  %z = arith.constant dense<0.0> : tensor<8x96xf32>
  %zd = arith.constant dense<0.0> : tensor<8x64xf32>
  %ex = tensor.empty() : tensor<8x64xf32>
  %xf = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<8x64xbf16>) outs(%ex : tensor<8x64xf32>) {
  ^bb0(%in: bf16, %o: f32):
    %0 = arith.extf %in : bf16 to f32
    linalg.yield %0 : f32
  } -> tensor<8x64xf32>
  %e = tensor.empty() : tensor<8x96xf32>
  %g = linalg.matmul ins(%xf, %wg : tensor<8x64xf32>, tensor<64x96xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %u = linalg.matmul ins(%xf, %wu : tensor<8x64xf32>, tensor<64x96xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %h = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g, %u : tensor<8x96xf32>, tensor<8x96xf32>) outs(%e : tensor<8x96xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
    %0 = arith.maximumf %p, %cst : f32
    %1 = arith.mulf %0, %q : f32
    linalg.yield %1 : f32
  } -> tensor<8x96xf32>
  // expected-remark @+1 {{glu-raise: raised to glu.ffn relu}}
  %y = linalg.matmul ins(%h, %wd : tensor<8x96xf32>, tensor<96x64xf32>) outs(%zd : tensor<8x64xf32>) -> tensor<8x64xf32>
  return %y : tensor<8x64xf32>
}
func.func @extf_input_bf16_result(%x: tensor<8x64xbf16>, %wg: tensor<64x96xf32>, %wu: tensor<64x96xf32>,
                                  %wd: tensor<96x64xf32>) -> tensor<8x64xbf16> {
  %cst = arith.constant 0.0 : f32
  %z = arith.constant dense<0.0> : tensor<8x96xf32>
  %zd = arith.constant dense<0.0> : tensor<8x64xf32>
  %ex = tensor.empty() : tensor<8x64xf32>
  %xf = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<8x64xbf16>) outs(%ex : tensor<8x64xf32>) {
  ^bb0(%in: bf16, %o: f32):
    %0 = arith.extf %in : bf16 to f32
    linalg.yield %0 : f32
  } -> tensor<8x64xf32>
  %e = tensor.empty() : tensor<8x96xf32>
  %g = linalg.matmul ins(%xf, %wg : tensor<8x64xf32>, tensor<64x96xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %u = linalg.matmul ins(%xf, %wu : tensor<8x64xf32>, tensor<64x96xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %h = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g, %u : tensor<8x96xf32>, tensor<8x96xf32>) outs(%e : tensor<8x96xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
    %0 = arith.maximumf %p, %cst : f32
    %1 = arith.mulf %0, %q : f32
    linalg.yield %1 : f32
  } -> tensor<8x96xf32>
  // expected-remark @+1 {{glu-raise: raised to glu.ffn relu}}
  %y0 = linalg.matmul ins(%h, %wd : tensor<8x96xf32>, tensor<96x64xf32>) outs(%zd : tensor<8x64xf32>) -> tensor<8x64xf32>
  %eb = tensor.empty() : tensor<8x64xbf16>
  %y = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%y0 : tensor<8x64xf32>) outs(%eb : tensor<8x64xbf16>) {
  ^bb0(%in: f32, %o: bf16):
    %0 = arith.truncf %in : f32 to bf16
    linalg.yield %0 : bf16
  } -> tensor<8x64xbf16>
  return %y : tensor<8x64xbf16>
}

// -----

// negative_: f32 input and result with a bf16 bias added in f32: the glu op
// takes biases of the input's type only, so the block cannot be stated.
// CHECK-LABEL: func.func @negative_bias_type
// CHECK-NOT: glu.ffn
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>
func.func @negative_bias_type(%x: tensor<8x64xf32>, %wg: tensor<64x96xf32>, %wu: tensor<64x96xf32>,
                              %bg: tensor<96xbf16>, %wd: tensor<96x64xf32>) -> tensor<8x64xf32> {
  %cst = arith.constant 0.0 : f32
  %z = arith.constant dense<0.0> : tensor<8x96xf32>
  %zd = arith.constant dense<0.0> : tensor<8x64xf32>
  %e = tensor.empty() : tensor<8x96xf32>
  %g = linalg.matmul ins(%x, %wg : tensor<8x64xf32>, tensor<64x96xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %u = linalg.matmul ins(%x, %wu : tensor<8x64xf32>, tensor<64x96xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %h = linalg.generic {indexing_maps = [#id, #row, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g, %bg, %u : tensor<8x96xf32>, tensor<96xbf16>, tensor<8x96xf32>) outs(%e : tensor<8x96xf32>) {
  ^bb0(%p: f32, %b: bf16, %q: f32, %o: f32):
    %0 = arith.extf %b : bf16 to f32
    %1 = arith.addf %p, %0 : f32
    %2 = arith.maximumf %1, %cst : f32
    %3 = arith.mulf %2, %q : f32
    linalg.yield %3 : f32
  } -> tensor<8x96xf32>
  // expected-remark @+1 {{glu-raise: not raised: the gate bias has element type bf16, the block's input and result f32}}
  %y = linalg.matmul ins(%h, %wd : tensor<8x96xf32>, tensor<96x64xf32>) outs(%zd : tensor<8x64xf32>) -> tensor<8x64xf32>
  return %y : tensor<8x64xf32>
}

// -----

// linalg.batch_matmul with a batch of 1: input and weights given a unit
// batch dim by expand_shape.
// CHECK-LABEL: func.func @batch_of_one
// CHECK-SAME: (%[[X:.*]]: tensor<8x64xf32>, %[[WG:.*]]: tensor<64x96xf32>, %[[WU:.*]]: tensor<64x96xf32>, %[[WD:.*]]: tensor<96x64xf32>)
// CHECK: %[[Y:.*]] = glu.ffn sigmoid %[[X]] : tensor<8x64xf32> {{.*}} layout in_out -> tensor<8x64xf32>
// CHECK: return %[[Y]]
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
func.func @batch_of_one(%x: tensor<8x64xf32>, %wg: tensor<64x96xf32>, %wu: tensor<64x96xf32>,
                        %wd: tensor<96x64xf32>) -> tensor<8x64xf32> {
  %one = arith.constant 1.0 : f32
  %z = arith.constant dense<0.0> : tensor<1x8x96xf32>
  %zd = arith.constant dense<0.0> : tensor<1x8x64xf32>
  %x3 = tensor.expand_shape %x [[0, 1], [2]] output_shape [1, 8, 64] : tensor<8x64xf32> into tensor<1x8x64xf32>
  %wg3 = tensor.expand_shape %wg [[0, 1], [2]] output_shape [1, 64, 96] : tensor<64x96xf32> into tensor<1x64x96xf32>
  %wu3 = tensor.expand_shape %wu [[0, 1], [2]] output_shape [1, 64, 96] : tensor<64x96xf32> into tensor<1x64x96xf32>
  %wd3 = tensor.expand_shape %wd [[0, 1], [2]] output_shape [1, 96, 64] : tensor<96x64xf32> into tensor<1x96x64xf32>
  %g = linalg.batch_matmul ins(%x3, %wg3 : tensor<1x8x64xf32>, tensor<1x64x96xf32>) outs(%z : tensor<1x8x96xf32>) -> tensor<1x8x96xf32>
  %u = linalg.batch_matmul ins(%x3, %wu3 : tensor<1x8x64xf32>, tensor<1x64x96xf32>) outs(%z : tensor<1x8x96xf32>) -> tensor<1x8x96xf32>
  %e = tensor.empty() : tensor<1x8x96xf32>
  %h = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%g, %u : tensor<1x8x96xf32>, tensor<1x8x96xf32>) outs(%e : tensor<1x8x96xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
    %0 = arith.negf %p : f32
    %1 = math.exp %0 : f32
    %2 = arith.addf %one, %1 : f32
    %3 = arith.divf %q, %2 : f32
    linalg.yield %3 : f32
  } -> tensor<1x8x96xf32>
  // expected-remark @+1 {{glu-raise: raised to glu.ffn sigmoid}}
  %y3 = linalg.batch_matmul ins(%h, %wd3 : tensor<1x8x96xf32>, tensor<1x96x64xf32>) outs(%zd : tensor<1x8x64xf32>) -> tensor<1x8x64xf32>
  %y = tensor.collapse_shape %y3 [[0, 1], [2]] : tensor<1x8x64xf32> into tensor<8x64xf32>
  return %y : tensor<8x64xf32>
}

// -----

// negative_: near misses with a remark each: an op the pass cannot read in a
// body; a non-gated block without activation; one whose activation is not
// supported (softplus); the up projection also returned; a gate bias both in
// the accumulator and added; f64 computation; weights of two element types;
// a batch of distinct weights.
// CHECK-LABEL: func.func @negative_index_in_body
// CHECK-NOT: glu.
// CHECK-LABEL: func.func @negative_mlp_no_activation
// CHECK-NOT: glu.
// CHECK-LABEL: func.func @negative_mlp_softplus
// CHECK-NOT: glu.
// CHECK-LABEL: func.func @negative_up_escapes
// CHECK-NOT: glu.
// CHECK-LABEL: func.func @negative_two_gate_biases
// CHECK-NOT: glu.
// CHECK-LABEL: func.func @negative_f64
// CHECK-NOT: glu.
// CHECK-LABEL: func.func @negative_weight_types
// CHECK-NOT: glu.
// CHECK-LABEL: func.func @negative_batched_weights
// CHECK-NOT: glu.
#id = affine_map<(d0, d1) -> (d0, d1)>
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#row = affine_map<(d0, d1) -> (d1)>
func.func @negative_index_in_body(%x: tensor<8x64xf32>, %wg: tensor<64x96xf32>, %wu: tensor<64x96xf32>,
                                  %wd: tensor<96x64xf32>) -> tensor<8x64xf32> {
  %z = arith.constant dense<0.0> : tensor<8x96xf32>
  %zd = arith.constant dense<0.0> : tensor<8x64xf32>
  %e = tensor.empty() : tensor<8x96xf32>
  %g = linalg.matmul ins(%x, %wg : tensor<8x64xf32>, tensor<64x96xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %u = linalg.matmul ins(%x, %wu : tensor<8x64xf32>, tensor<64x96xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %h = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g, %u : tensor<8x96xf32>, tensor<8x96xf32>) outs(%e : tensor<8x96xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
    %i = linalg.index 1 : index
    %c = arith.index_cast %i : index to i32
    %f = arith.sitofp %c : i32 to f32
    %0 = arith.mulf %p, %f : f32
    %1 = arith.mulf %0, %q : f32
    linalg.yield %1 : f32
  } -> tensor<8x96xf32>
  // expected-remark @+1 {{glu-raise: not raised: 'linalg.index' between the projections is not an elementwise operation the pass can read}}
  %y = linalg.matmul ins(%h, %wd : tensor<8x96xf32>, tensor<96x64xf32>) outs(%zd : tensor<8x64xf32>) -> tensor<8x64xf32>
  return %y : tensor<8x64xf32>
}
func.func @negative_mlp_no_activation(%x: tensor<8x64xf32>, %w1: tensor<64x96xf32>, %b1: tensor<96xf32>,
                                      %w2: tensor<96x64xf32>) -> tensor<8x64xf32> {
  %z = arith.constant dense<0.0> : tensor<8x96xf32>
  %zd = arith.constant dense<0.0> : tensor<8x64xf32>
  %e = tensor.empty() : tensor<8x96xf32>
  %p = linalg.matmul ins(%x, %w1 : tensor<8x64xf32>, tensor<64x96xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %a = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%p, %b1 : tensor<8x96xf32>, tensor<96xf32>) outs(%e : tensor<8x96xf32>) {
  ^bb0(%v: f32, %b: f32, %o: f32):
    %0 = arith.addf %v, %b : f32
    linalg.yield %0 : f32
  } -> tensor<8x96xf32>
  // expected-remark @+1 {{glu-raise: not raised: there is no activation between the two projections}}
  %y = linalg.matmul ins(%a, %w2 : tensor<8x96xf32>, tensor<96x64xf32>) outs(%zd : tensor<8x64xf32>) -> tensor<8x64xf32>
  return %y : tensor<8x64xf32>
}
func.func @negative_mlp_softplus(%x: tensor<8x64xf32>, %w1: tensor<64x96xf32>,
                                 %w2: tensor<96x64xf32>) -> tensor<8x64xf32> {
  %z = arith.constant dense<0.0> : tensor<8x96xf32>
  %zd = arith.constant dense<0.0> : tensor<8x64xf32>
  %e = tensor.empty() : tensor<8x96xf32>
  %p = linalg.matmul ins(%x, %w1 : tensor<8x64xf32>, tensor<64x96xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %a = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%p : tensor<8x96xf32>) outs(%e : tensor<8x96xf32>) {
  ^bb0(%v: f32, %o: f32):
    %0 = math.exp %v : f32
    %1 = math.log1p %0 : f32
    linalg.yield %1 : f32
  } -> tensor<8x96xf32>
  // expected-remark @+1 {{glu-raise: not raised: the elementwise ops compute no supported activation}}
  %y = linalg.matmul ins(%a, %w2 : tensor<8x96xf32>, tensor<96x64xf32>) outs(%zd : tensor<8x64xf32>) -> tensor<8x64xf32>
  return %y : tensor<8x64xf32>
}
func.func @negative_up_escapes(%x: tensor<8x64xf32>, %wg: tensor<64x96xf32>, %wu: tensor<64x96xf32>,
                               %wd: tensor<96x64xf32>) -> (tensor<8x64xf32>, tensor<8x96xf32>) {
  %z = arith.constant dense<0.0> : tensor<8x96xf32>
  %zd = arith.constant dense<0.0> : tensor<8x64xf32>
  %e = tensor.empty() : tensor<8x96xf32>
  %g = linalg.matmul ins(%x, %wg : tensor<8x64xf32>, tensor<64x96xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %u = linalg.matmul ins(%x, %wu : tensor<8x64xf32>, tensor<64x96xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %h = linalg.mul ins(%g, %u : tensor<8x96xf32>, tensor<8x96xf32>) outs(%e : tensor<8x96xf32>) -> tensor<8x96xf32>
  // expected-remark @+1 {{glu-raise: not raised: the up projection's result has another user}}
  %y = linalg.matmul ins(%h, %wd : tensor<8x96xf32>, tensor<96x64xf32>) outs(%zd : tensor<8x64xf32>) -> tensor<8x64xf32>
  return %y, %u : tensor<8x64xf32>, tensor<8x96xf32>
}
func.func @negative_two_gate_biases(%x: tensor<8x64xf32>, %wg: tensor<64x96xf32>, %bg: tensor<96xf32>, %bg2: tensor<96xf32>,
                                    %wu: tensor<64x96xf32>, %wd: tensor<96x64xf32>) -> tensor<8x64xf32> {
  %cst = arith.constant 0.0 : f32
  %z = arith.constant dense<0.0> : tensor<8x96xf32>
  %zd = arith.constant dense<0.0> : tensor<8x64xf32>
  %e = tensor.empty() : tensor<8x96xf32>
  %bgb = linalg.broadcast ins(%bg : tensor<96xf32>) outs(%e : tensor<8x96xf32>) dimensions = [0]
  %g = linalg.matmul ins(%x, %wg : tensor<8x64xf32>, tensor<64x96xf32>) outs(%bgb : tensor<8x96xf32>) -> tensor<8x96xf32>
  %u = linalg.matmul ins(%x, %wu : tensor<8x64xf32>, tensor<64x96xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %h = linalg.generic {indexing_maps = [#id, #row, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g, %bg2, %u : tensor<8x96xf32>, tensor<96xf32>, tensor<8x96xf32>) outs(%e : tensor<8x96xf32>) {
  ^bb0(%p: f32, %b: f32, %q: f32, %o: f32):
    %0 = arith.addf %p, %b : f32
    %1 = arith.maximumf %0, %cst : f32
    %2 = arith.mulf %1, %q : f32
    linalg.yield %2 : f32
  } -> tensor<8x96xf32>
  // expected-remark @+1 {{glu-raise: not raised: the gate projection has two biases}}
  %y = linalg.matmul ins(%h, %wd : tensor<8x96xf32>, tensor<96x64xf32>) outs(%zd : tensor<8x64xf32>) -> tensor<8x64xf32>
  return %y : tensor<8x64xf32>
}
func.func @negative_f64(%x: tensor<8x64xf64>, %wg: tensor<64x96xf64>, %wu: tensor<64x96xf64>,
                        %wd: tensor<96x64xf64>) -> tensor<8x64xf64> {
  %z = arith.constant dense<0.0> : tensor<8x96xf64>
  %zd = arith.constant dense<0.0> : tensor<8x64xf64>
  %e = tensor.empty() : tensor<8x96xf64>
  %g = linalg.matmul ins(%x, %wg : tensor<8x64xf64>, tensor<64x96xf64>) outs(%z : tensor<8x96xf64>) -> tensor<8x96xf64>
  %u = linalg.matmul ins(%x, %wu : tensor<8x64xf64>, tensor<64x96xf64>) outs(%z : tensor<8x96xf64>) -> tensor<8x96xf64>
  %h = linalg.mul ins(%g, %u : tensor<8x96xf64>, tensor<8x96xf64>) outs(%e : tensor<8x96xf64>) -> tensor<8x96xf64>
  // expected-remark @+1 {{glu-raise: not raised: the block's result is f64; the glu ops take f32, f16 or bf16}}
  %y = linalg.matmul ins(%h, %wd : tensor<8x96xf64>, tensor<96x64xf64>) outs(%zd : tensor<8x64xf64>) -> tensor<8x64xf64>
  return %y : tensor<8x64xf64>
}
func.func @negative_weight_types(%x: tensor<8x64xf32>, %wg: tensor<64x96xbf16>, %wu: tensor<64x96xf32>,
                                 %wd: tensor<96x64xf32>) -> tensor<8x64xf32> {
  %z = arith.constant dense<0.0> : tensor<8x96xf32>
  %zd = arith.constant dense<0.0> : tensor<8x64xf32>
  %e = tensor.empty() : tensor<8x96xf32>
  %g = linalg.matmul ins(%x, %wg : tensor<8x64xf32>, tensor<64x96xbf16>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %u = linalg.matmul ins(%x, %wu : tensor<8x64xf32>, tensor<64x96xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %h = linalg.mul ins(%g, %u : tensor<8x96xf32>, tensor<8x96xf32>) outs(%e : tensor<8x96xf32>) -> tensor<8x96xf32>
  // expected-remark @+1 {{glu-raise: not raised: the weights' element types differ or are not f32, f16 or bf16}}
  %y = linalg.matmul ins(%h, %wd : tensor<8x96xf32>, tensor<96x64xf32>) outs(%zd : tensor<8x64xf32>) -> tensor<8x64xf32>
  return %y : tensor<8x64xf32>
}
func.func @negative_batched_weights(%x: tensor<2x5x64xf32>, %wg: tensor<2x64x96xf32>, %wu: tensor<2x64x96xf32>,
                                    %wd: tensor<2x96x64xf32>) -> tensor<2x5x64xf32> {
  %z = arith.constant dense<0.0> : tensor<2x5x96xf32>
  %zd = arith.constant dense<0.0> : tensor<2x5x64xf32>
  %e = tensor.empty() : tensor<2x5x96xf32>
  %g = linalg.batch_matmul ins(%x, %wg : tensor<2x5x64xf32>, tensor<2x64x96xf32>) outs(%z : tensor<2x5x96xf32>) -> tensor<2x5x96xf32>
  %u = linalg.batch_matmul ins(%x, %wu : tensor<2x5x64xf32>, tensor<2x64x96xf32>) outs(%z : tensor<2x5x96xf32>) -> tensor<2x5x96xf32>
  %h = linalg.mul ins(%g, %u : tensor<2x5x96xf32>, tensor<2x5x96xf32>) outs(%e : tensor<2x5x96xf32>) -> tensor<2x5x96xf32>
  // expected-remark @+1 {{glu-raise: not raised: the gate projection multiplies by a batch of weights, not one weight}}
  %y = linalg.batch_matmul ins(%h, %wd : tensor<2x5x96xf32>, tensor<2x96x64xf32>) outs(%zd : tensor<2x5x64xf32>) -> tensor<2x5x64xf32>
  return %y : tensor<2x5x64xf32>
}

// -----

// negative_: the activation rounded to bf16 (truncf) before the gating in
// f32: not exact, so only raised with allow-rounding-changes.
// CHECK-LABEL: func.func @negative_truncf_between
// CHECK-NOT: glu.ffn
// RELAXED-LABEL: func.func @negative_truncf_between
// RELAXED: glu.ffn silu {{.*}} : tensor<8x64xf32> {{.*}} -> tensor<8x64xf32>
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @negative_truncf_between(%x: tensor<8x64xf32>, %wg: tensor<64x96xf32>, %wu: tensor<64x96xf32>,
                                   %wd: tensor<96x64xf32>) -> tensor<8x64xf32> {
  %z = arith.constant dense<0.0> : tensor<8x96xf32>
  %zd = arith.constant dense<0.0> : tensor<8x64xf32>
  %one = arith.constant 1.0 : f32
  %e = tensor.empty() : tensor<8x96xf32>
  %g = linalg.matmul ins(%x, %wg : tensor<8x64xf32>, tensor<64x96xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %u = linalg.matmul ins(%x, %wu : tensor<8x64xf32>, tensor<64x96xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %h = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g, %u : tensor<8x96xf32>, tensor<8x96xf32>) outs(%e : tensor<8x96xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
    %0 = arith.negf %p : f32
    %1 = math.exp %0 : f32
    %2 = arith.addf %1, %one : f32
    %3 = arith.divf %p, %2 : f32
    %4 = arith.truncf %3 : f32 to bf16
    %5 = arith.extf %4 : bf16 to f32
    %6 = arith.mulf %5, %q : f32
    linalg.yield %6 : f32
  } -> tensor<8x96xf32>
  // expected-remark @+1 {{glu-raise: not raised: the frontend rounds intermediate values (truncf), but the glu op computes in f32 and rounds only its result; raise anyway with allow-rounding-changes=true}}
  %y = linalg.matmul ins(%h, %wd : tensor<8x96xf32>, tensor<96x64xf32>) outs(%zd : tensor<8x64xf32>) -> tensor<8x64xf32>
  return %y : tensor<8x64xf32>
}

// -----

// A whole pre-norm layer: RMSNorm (a reduction) before the block, a residual
// add after it. Only the block is raised: the norm and the residual stay, and
// the gate projection reading the normalized input gets no remark.
// CHECK-LABEL: func.func @layer
// CHECK: %[[N:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK: %[[Y:.*]] = glu.ffn silu %[[N]] :
// CHECK: %[[R:.*]] = linalg.generic {{.*}} ins(%{{.*}}, %[[Y]] :
// CHECK: return %[[R]]
#id = affine_map<(d0, d1) -> (d0, d1)>
#rowsum = affine_map<(d0, d1) -> (d0)>
#row = affine_map<(d0, d1) -> (d1)>
func.func @layer(%x: tensor<8x64xf32>, %nw: tensor<64xf32>, %wg: tensor<64x96xf32>, %wu: tensor<64x96xf32>, %wd: tensor<96x64xf32>) -> tensor<8x64xf32> {
  %cst = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %zs = arith.constant dense<0.0> : tensor<8xf32>
  %ss = linalg.generic {indexing_maps = [#id, #rowsum], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<8x64xf32>) outs(%zs : tensor<8xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %acc, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<8xf32>
  %ex = tensor.empty() : tensor<8x64xf32>
  %n = linalg.generic {indexing_maps = [#id, #rowsum, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss, %nw : tensor<8x64xf32>, tensor<8xf32>, tensor<64xf32>) outs(%ex : tensor<8x64xf32>) {
  ^bb0(%in: f32, %s: f32, %w: f32, %out: f32):
    %0 = math.rsqrt %s : f32
    %1 = arith.mulf %in, %0 : f32
    %2 = arith.mulf %1, %w : f32
    linalg.yield %2 : f32
  } -> tensor<8x64xf32>
  %z = arith.constant dense<0.0> : tensor<8x96xf32>
  %zd = arith.constant dense<0.0> : tensor<8x64xf32>
  %e = tensor.empty() : tensor<8x96xf32>
  %g = linalg.matmul ins(%n, %wg : tensor<8x64xf32>, tensor<64x96xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %u = linalg.matmul ins(%n, %wu : tensor<8x64xf32>, tensor<64x96xf32>) outs(%z : tensor<8x96xf32>) -> tensor<8x96xf32>
  %h = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g, %u : tensor<8x96xf32>, tensor<8x96xf32>) outs(%e : tensor<8x96xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
    %0 = arith.negf %p : f32
    %1 = math.exp %0 : f32
    %2 = arith.addf %1, %one : f32
    %3 = arith.divf %p, %2 : f32
    %4 = arith.mulf %3, %q : f32
    linalg.yield %4 : f32
  } -> tensor<8x96xf32>
  // expected-remark @+1 {{glu-raise: raised to glu.ffn silu}}
  %y = linalg.matmul ins(%h, %wd : tensor<8x96xf32>, tensor<96x64xf32>) outs(%zd : tensor<8x64xf32>) -> tensor<8x64xf32>
  %r = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %y : tensor<8x64xf32>, tensor<8x64xf32>) outs(%ex : tensor<8x64xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %0 = arith.addf %a, %b : f32
    linalg.yield %0 : f32
  } -> tensor<8x64xf32>
  return %r : tensor<8x64xf32>
}

// -----

// torch-mlir's TOSA form of nn.Linear with constant weights: the transposes
// are folded into the constants, which become [1, in, out] (a unit batch, no
// reshape of a matrix). Each is collapsed to a matrix for the op (in_out).
// CHECK-LABEL: func.func @tosa_unit_batch_weights
// CHECK-SAME: (%[[X:.*]]: tensor<2x5x64xf32>, %[[WG:.*]]: tensor<1x64x96xf32>, %[[WU:.*]]: tensor<1x64x96xf32>, %[[WD:.*]]: tensor<1x96x64xf32>)
// CHECK-DAG: %[[G:.*]] = tensor.collapse_shape %[[WG]] {{\[\[}}0, 1], [2]] : tensor<1x64x96xf32> into tensor<64x96xf32>
// CHECK-DAG: %[[U:.*]] = tensor.collapse_shape %[[WU]] {{\[\[}}0, 1], [2]] : tensor<1x64x96xf32> into tensor<64x96xf32>
// CHECK-DAG: %[[D:.*]] = tensor.collapse_shape %[[WD]] {{\[\[}}0, 1], [2]] : tensor<1x96x64xf32> into tensor<96x64xf32>
// CHECK: %[[Y:.*]] = glu.ffn gelu_tanh %[[X]] : tensor<2x5x64xf32> gate %[[G]] : tensor<64x96xf32> up %[[U]] : tensor<64x96xf32> down %[[D]] : tensor<96x64xf32> layout in_out -> tensor<2x5x64xf32>
// CHECK-NOT: tosa.
// CHECK: return %[[Y]]
func.func @tosa_unit_batch_weights(%x: tensor<2x5x64xf32>, %wg: tensor<1x64x96xf32>, %wu: tensor<1x64x96xf32>,
                                   %wd: tensor<1x96x64xf32>) -> tensor<2x5x64xf32> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %half = "tosa.const"() <{values = dense<5.000000e-01> : tensor<2x5x96xf32>}> : () -> tensor<2x5x96xf32>
  %one = "tosa.const"() <{values = dense<1.000000e+00> : tensor<2x5x96xf32>}> : () -> tensor<2x5x96xf32>
  %three = "tosa.const"() <{values = dense<3.000000e+00> : tensor<2x5x96xf32>}> : () -> tensor<2x5x96xf32>
  %k = "tosa.const"() <{values = dense<4.471500e-02> : tensor<2x5x96xf32>}> : () -> tensor<2x5x96xf32>
  %twoOverPi = "tosa.const"() <{values = dense<0.636619746> : tensor<2x5x96xf32>}> : () -> tensor<2x5x96xf32>
  %s1 = tosa.const_shape {values = dense<[1, 10, 64]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %s2 = tosa.const_shape {values = dense<[2, 5, 96]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %s3 = tosa.const_shape {values = dense<[1, 10, 96]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %s4 = tosa.const_shape {values = dense<[2, 5, 64]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %x3 = tosa.reshape %x, %s1 : (tensor<2x5x64xf32>, !tosa.shape<3>) -> tensor<1x10x64xf32>
  %g3 = tosa.matmul %x3, %wg, %zp, %zp : (tensor<1x10x64xf32>, tensor<1x64x96xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x10x96xf32>
  %g = tosa.reshape %g3, %s2 : (tensor<1x10x96xf32>, !tosa.shape<3>) -> tensor<2x5x96xf32>
  %u3 = tosa.matmul %x3, %wu, %zp, %zp : (tensor<1x10x64xf32>, tensor<1x64x96xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x10x96xf32>
  %u = tosa.reshape %u3, %s2 : (tensor<1x10x96xf32>, !tosa.shape<3>) -> tensor<2x5x96xf32>
  // 0.5*g*(1 + tanh(pow(2/pi, 0.5)*(g + 0.044715*pow(g, 3)))), as torch-mlir writes it.
  %0 = tosa.mul %half, %g, %shift : (tensor<2x5x96xf32>, tensor<2x5x96xf32>, tensor<1xi8>) -> tensor<2x5x96xf32>
  %1 = tosa.pow %twoOverPi, %half : (tensor<2x5x96xf32>, tensor<2x5x96xf32>) -> tensor<2x5x96xf32>
  %2 = tosa.pow %g, %three : (tensor<2x5x96xf32>, tensor<2x5x96xf32>) -> tensor<2x5x96xf32>
  %3 = tosa.mul %k, %2, %shift : (tensor<2x5x96xf32>, tensor<2x5x96xf32>, tensor<1xi8>) -> tensor<2x5x96xf32>
  %4 = tosa.add %g, %3 : (tensor<2x5x96xf32>, tensor<2x5x96xf32>) -> tensor<2x5x96xf32>
  %5 = tosa.mul %1, %4, %shift : (tensor<2x5x96xf32>, tensor<2x5x96xf32>, tensor<1xi8>) -> tensor<2x5x96xf32>
  %6 = tosa.tanh %5 : (tensor<2x5x96xf32>) -> tensor<2x5x96xf32>
  %7 = tosa.add %6, %one : (tensor<2x5x96xf32>, tensor<2x5x96xf32>) -> tensor<2x5x96xf32>
  %8 = tosa.mul %0, %7, %shift : (tensor<2x5x96xf32>, tensor<2x5x96xf32>, tensor<1xi8>) -> tensor<2x5x96xf32>
  %h = tosa.mul %8, %u, %shift : (tensor<2x5x96xf32>, tensor<2x5x96xf32>, tensor<1xi8>) -> tensor<2x5x96xf32>
  %h3 = tosa.reshape %h, %s3 : (tensor<2x5x96xf32>, !tosa.shape<3>) -> tensor<1x10x96xf32>
  // expected-remark @+1 {{glu-raise: raised to glu.ffn gelu_tanh}}
  %y3 = tosa.matmul %h3, %wd, %zp, %zp : (tensor<1x10x96xf32>, tensor<1x96x64xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x10x64xf32>
  %y = tosa.reshape %y3, %s4 : (tensor<1x10x64xf32>, !tosa.shape<3>) -> tensor<2x5x64xf32>
  return %y : tensor<2x5x64xf32>
}

// -----

// torch-mlir's TOSA form of `gate, up = gate_up_proj(x).chunk(2, dim=-1)`:
// one tosa.matmul to 2F features, split by two tosa.slice ops.
// CHECK-LABEL: func.func @tosa_merged_slices
// CHECK-SAME: (%[[X:.*]]: tensor<2x5x64xf32>, %[[W:.*]]: tensor<1x64x192xf32>, %[[WD:.*]]: tensor<1x96x64xf32>)
// CHECK-DAG: %[[GU:.*]] = tensor.collapse_shape %[[W]] {{\[\[}}0, 1], [2]] : tensor<1x64x192xf32> into tensor<64x192xf32>
// CHECK-DAG: %[[D:.*]] = tensor.collapse_shape %[[WD]] {{\[\[}}0, 1], [2]] : tensor<1x96x64xf32> into tensor<96x64xf32>
// CHECK: %[[Y:.*]] = glu.ffn silu %[[X]] : tensor<2x5x64xf32> gate_up %[[GU]] : tensor<64x192xf32> down %[[D]] : tensor<96x64xf32> packing concat layout in_out -> tensor<2x5x64xf32>
// CHECK-NOT: tosa.
// CHECK: return %[[Y]]
func.func @tosa_merged_slices(%x: tensor<2x5x64xf32>, %w: tensor<1x64x192xf32>,
                              %wd: tensor<1x96x64xf32>) -> tensor<2x5x64xf32> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %s1 = tosa.const_shape {values = dense<[1, 10, 64]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %s2 = tosa.const_shape {values = dense<[2, 5, 192]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %size = tosa.const_shape {values = dense<[2, 5, 96]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %start0 = tosa.const_shape {values = dense<0> : tensor<3xindex>} : () -> !tosa.shape<3>
  %start1 = tosa.const_shape {values = dense<[0, 0, 96]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %s3 = tosa.const_shape {values = dense<[1, 10, 96]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %s4 = tosa.const_shape {values = dense<[2, 5, 64]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %x3 = tosa.reshape %x, %s1 : (tensor<2x5x64xf32>, !tosa.shape<3>) -> tensor<1x10x64xf32>
  %gu3 = tosa.matmul %x3, %w, %zp, %zp : (tensor<1x10x64xf32>, tensor<1x64x192xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x10x192xf32>
  %gu = tosa.reshape %gu3, %s2 : (tensor<1x10x192xf32>, !tosa.shape<3>) -> tensor<2x5x192xf32>
  %g = tosa.slice %gu, %start0, %size : (tensor<2x5x192xf32>, !tosa.shape<3>, !tosa.shape<3>) -> tensor<2x5x96xf32>
  %u = tosa.slice %gu, %start1, %size : (tensor<2x5x192xf32>, !tosa.shape<3>, !tosa.shape<3>) -> tensor<2x5x96xf32>
  %sg = tosa.sigmoid %g : (tensor<2x5x96xf32>) -> tensor<2x5x96xf32>
  %silu = tosa.mul %g, %sg, %shift : (tensor<2x5x96xf32>, tensor<2x5x96xf32>, tensor<1xi8>) -> tensor<2x5x96xf32>
  %h = tosa.mul %silu, %u, %shift : (tensor<2x5x96xf32>, tensor<2x5x96xf32>, tensor<1xi8>) -> tensor<2x5x96xf32>
  %h3 = tosa.reshape %h, %s3 : (tensor<2x5x96xf32>, !tosa.shape<3>) -> tensor<1x10x96xf32>
  // expected-remark @+1 {{glu-raise: raised to glu.ffn silu}}
  %y3 = tosa.matmul %h3, %wd, %zp, %zp : (tensor<1x10x96xf32>, tensor<1x96x64xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x10x64xf32>
  %y = tosa.reshape %y3, %s4 : (tensor<1x10x64xf32>, !tosa.shape<3>) -> tensor<2x5x64xf32>
  return %y : tensor<2x5x64xf32>
}

// -----

// torch-mlir's TOSA form of a bf16 nn.Linear with bias: the bf16 biases are
// extended (tosa.cast) to f32 and reshaped to [1, N] before the add. Here
// everything is computed in f32 and rounded once at the end, so the block is
// raised as is, with the bf16 biases.
// CHECK-LABEL: func.func @tosa_bf16_cast_biases
// CHECK-SAME: (%[[X:.*]]: tensor<10x64xbf16>, %[[WG:.*]]: tensor<64x96xbf16>, %[[BG:.*]]: tensor<96xbf16>, %[[WU:.*]]: tensor<64x96xbf16>, %[[BU:.*]]: tensor<96xbf16>, %[[WD:.*]]: tensor<96x64xbf16>, %[[BD:.*]]: tensor<64xbf16>)
// CHECK: %[[Y:.*]] = glu.ffn silu %[[X]] : tensor<10x64xbf16> gate %[[WG]] : tensor<64x96xbf16> up %[[WU]] : tensor<64x96xbf16> down %[[WD]] : tensor<96x64xbf16> gate_bias %[[BG]] : tensor<96xbf16> up_bias %[[BU]] : tensor<96xbf16> down_bias %[[BD]] : tensor<64xbf16> layout in_out -> tensor<10x64xbf16>
// CHECK-NOT: tosa.
// CHECK: return %[[Y]]
func.func @tosa_bf16_cast_biases(%x: tensor<10x64xbf16>, %wg: tensor<64x96xbf16>, %bg: tensor<96xbf16>,
                                 %wu: tensor<64x96xbf16>, %bu: tensor<96xbf16>,
                                 %wd: tensor<96x64xbf16>, %bd: tensor<64xbf16>) -> tensor<10x64xbf16> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %s1 = tosa.const_shape {values = dense<[1, 10, 64]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %sw = tosa.const_shape {values = dense<[1, 64, 96]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %sh = tosa.const_shape {values = dense<[10, 96]> : tensor<2xindex>} : () -> !tosa.shape<2>
  %sb = tosa.const_shape {values = dense<[1, 96]> : tensor<2xindex>} : () -> !tosa.shape<2>
  %sh3 = tosa.const_shape {values = dense<[1, 10, 96]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %swd = tosa.const_shape {values = dense<[1, 96, 64]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %sy = tosa.const_shape {values = dense<[10, 64]> : tensor<2xindex>} : () -> !tosa.shape<2>
  %sbd = tosa.const_shape {values = dense<[1, 64]> : tensor<2xindex>} : () -> !tosa.shape<2>
  %xf = tosa.cast %x : (tensor<10x64xbf16>) -> tensor<10x64xf32>
  %x3 = tosa.reshape %xf, %s1 : (tensor<10x64xf32>, !tosa.shape<3>) -> tensor<1x10x64xf32>
  %wgf = tosa.cast %wg : (tensor<64x96xbf16>) -> tensor<64x96xf32>
  %wg3 = tosa.reshape %wgf, %sw : (tensor<64x96xf32>, !tosa.shape<3>) -> tensor<1x64x96xf32>
  %g3 = tosa.matmul %x3, %wg3, %zp, %zp : (tensor<1x10x64xf32>, tensor<1x64x96xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x10x96xf32>
  %g0 = tosa.reshape %g3, %sh : (tensor<1x10x96xf32>, !tosa.shape<2>) -> tensor<10x96xf32>
  %bgf = tosa.cast %bg : (tensor<96xbf16>) -> tensor<96xf32>
  %bg2 = tosa.reshape %bgf, %sb : (tensor<96xf32>, !tosa.shape<2>) -> tensor<1x96xf32>
  %g = tosa.add %g0, %bg2 : (tensor<10x96xf32>, tensor<1x96xf32>) -> tensor<10x96xf32>
  %wuf = tosa.cast %wu : (tensor<64x96xbf16>) -> tensor<64x96xf32>
  %wu3 = tosa.reshape %wuf, %sw : (tensor<64x96xf32>, !tosa.shape<3>) -> tensor<1x64x96xf32>
  %u3 = tosa.matmul %x3, %wu3, %zp, %zp : (tensor<1x10x64xf32>, tensor<1x64x96xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x10x96xf32>
  %u0 = tosa.reshape %u3, %sh : (tensor<1x10x96xf32>, !tosa.shape<2>) -> tensor<10x96xf32>
  %buf = tosa.cast %bu : (tensor<96xbf16>) -> tensor<96xf32>
  %bu2 = tosa.reshape %buf, %sb : (tensor<96xf32>, !tosa.shape<2>) -> tensor<1x96xf32>
  %u = tosa.add %u0, %bu2 : (tensor<10x96xf32>, tensor<1x96xf32>) -> tensor<10x96xf32>
  %sg = tosa.sigmoid %g : (tensor<10x96xf32>) -> tensor<10x96xf32>
  %silu = tosa.mul %g, %sg, %shift : (tensor<10x96xf32>, tensor<10x96xf32>, tensor<1xi8>) -> tensor<10x96xf32>
  %h = tosa.mul %silu, %u, %shift : (tensor<10x96xf32>, tensor<10x96xf32>, tensor<1xi8>) -> tensor<10x96xf32>
  %h3 = tosa.reshape %h, %sh3 : (tensor<10x96xf32>, !tosa.shape<3>) -> tensor<1x10x96xf32>
  %wdf = tosa.cast %wd : (tensor<96x64xbf16>) -> tensor<96x64xf32>
  %wd3 = tosa.reshape %wdf, %swd : (tensor<96x64xf32>, !tosa.shape<3>) -> tensor<1x96x64xf32>
  // expected-remark @+1 {{glu-raise: raised to glu.ffn silu}}
  %y3 = tosa.matmul %h3, %wd3, %zp, %zp : (tensor<1x10x96xf32>, tensor<1x96x64xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x10x64xf32>
  %y0 = tosa.reshape %y3, %sy : (tensor<1x10x64xf32>, !tosa.shape<2>) -> tensor<10x64xf32>
  %bdf = tosa.cast %bd : (tensor<64xbf16>) -> tensor<64xf32>
  %bd2 = tosa.reshape %bdf, %sbd : (tensor<64xf32>, !tosa.shape<2>) -> tensor<1x64xf32>
  %yf = tosa.add %y0, %bd2 : (tensor<10x64xf32>, tensor<1x64xf32>) -> tensor<10x64xf32>
  %y = tosa.cast %yf : (tensor<10x64xf32>) -> tensor<10x64xbf16>
  return %y : tensor<10x64xbf16>
}

// -----

// negative_: torch-mlir's linalg form of a bf16 merged gate_up_proj: a
// bf16 x bf16 matmul into an f32 accumulator, rounded to bf16 (a truncf
// generic) before the chunk's extract_slices. The halves are found through
// the rounding, which makes the block inexact: only raised with
// allow-rounding-changes.
// CHECK-LABEL: func.func @negative_merged_rounded_before_slices
// CHECK-NOT: glu.ffn
// RELAXED-LABEL: func.func @negative_merged_rounded_before_slices
// RELAXED-SAME: (%[[X:.*]]: tensor<8x64xbf16>, %[[W:.*]]: tensor<64x192xbf16>, %[[WD:.*]]: tensor<96x64xbf16>)
// RELAXED: glu.ffn silu %[[X]] : tensor<8x64xbf16> gate_up %[[W]] : tensor<64x192xbf16> down %[[WD]] : tensor<96x64xbf16> packing concat layout in_out -> tensor<8x64xbf16>
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @negative_merged_rounded_before_slices(%x: tensor<8x64xbf16>, %w: tensor<64x192xbf16>,
                                                 %wd: tensor<96x64xbf16>) -> tensor<8x64xbf16> {
  %cst = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %e2 = tensor.empty() : tensor<8x192xf32>
  %z2 = linalg.fill ins(%cst : f32) outs(%e2 : tensor<8x192xf32>) -> tensor<8x192xf32>
  %gu = linalg.matmul ins(%x, %w : tensor<8x64xbf16>, tensor<64x192xbf16>) outs(%z2 : tensor<8x192xf32>) -> tensor<8x192xf32>
  %eb = tensor.empty() : tensor<8x192xbf16>
  %gub = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%gu : tensor<8x192xf32>) outs(%eb : tensor<8x192xbf16>) {
  ^bb0(%in: f32, %o: bf16):
    %0 = arith.truncf %in : f32 to bf16
    linalg.yield %0 : bf16
  } -> tensor<8x192xbf16>
  %g = tensor.extract_slice %gub[0, 0] [8, 96] [1, 1] : tensor<8x192xbf16> to tensor<8x96xbf16>
  %u = tensor.extract_slice %gub[0, 96] [8, 96] [1, 1] : tensor<8x192xbf16> to tensor<8x96xbf16>
  %e = tensor.empty() : tensor<8x96xf32>
  %h = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g, %u : tensor<8x96xbf16>, tensor<8x96xbf16>) outs(%e : tensor<8x96xf32>) {
  ^bb0(%p: bf16, %q: bf16, %o: f32):
    %0 = arith.extf %p : bf16 to f32
    %1 = arith.extf %q : bf16 to f32
    %2 = arith.negf %0 : f32
    %3 = math.exp %2 : f32
    %4 = arith.addf %3, %one : f32
    %5 = arith.divf %0, %4 : f32
    %6 = arith.mulf %5, %1 : f32
    linalg.yield %6 : f32
  } -> tensor<8x96xf32>
  %ed = tensor.empty() : tensor<8x64xf32>
  %zd = linalg.fill ins(%cst : f32) outs(%ed : tensor<8x64xf32>) -> tensor<8x64xf32>
  // expected-remark @+1 {{glu-raise: not raised: the frontend rounds intermediate values (truncf), but the glu op computes in f32 and rounds only its result; raise anyway with allow-rounding-changes=true}}
  %yf = linalg.matmul ins(%h, %wd : tensor<8x96xf32>, tensor<96x64xbf16>) outs(%zd : tensor<8x64xf32>) -> tensor<8x64xf32>
  %ey = tensor.empty() : tensor<8x64xbf16>
  %y = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%yf : tensor<8x64xf32>) outs(%ey : tensor<8x64xbf16>) {
  ^bb0(%in: f32, %o: bf16):
    %0 = arith.truncf %in : f32 to bf16
    linalg.yield %0 : bf16
  } -> tensor<8x64xbf16>
  return %y : tensor<8x64xbf16>
}
