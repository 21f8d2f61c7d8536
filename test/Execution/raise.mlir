// --glu-raise preserves semantics: each function below is frontend IR
// (upstream linalg/tensor/arith/math/tosa ops only). raise_check.py JIT-runs
// it as written (TOSA lowered to linalg) and after --glu-raise, checks that it
// became the glu op named in its CASE line, and compares both results with
// the float64 numpy reference of that op (python/swiglu/reference.py) and
// with each other.
// REQUIRES: numpy
// RUN: %python %S/raise_check.py %s --workdir %t | FileCheck %s
// CHECK-NOT: FAIL
// CHECK: ALL 12 CASES PASSED

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#row = affine_map<(d0, d1) -> (d1)>
#tr = affine_map<(d0, d1) -> (d1, d0)>
#lhs = affine_map<(d0, d1, d2) -> (d0, d2)>
#rhsT = affine_map<(d0, d1, d2) -> (d1, d2)>
#out = affine_map<(d0, d1, d2) -> (d0, d1)>

// torch-mlir's LLaMA MLP: transposed nn.Linear weights, 3-D input collapsed
// separately for gate and up, SiLU as x / (1 + exp(-x)).
// CASE: {"entry": "llama_f32", "op": "ffn", "act": "silu", "raised": "glu.ffn silu", "out": "f32", "args": {"x": [[2, 5, 64], "f32"], "w_gate": [[96, 64], "f32"], "w_up": [[96, 64], "f32"], "w_down": [[64, 96], "f32"]}}
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
  %act = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%g : tensor<2x5x96xf32>) outs(%3 : tensor<2x5x96xf32>) {
  ^bb0(%in: f32, %o: f32):
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
  %h = linalg.generic {indexing_maps = [#id3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%act, %u : tensor<2x5x96xf32>, tensor<2x5x96xf32>) outs(%3 : tensor<2x5x96xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<2x5x96xf32>
  %4 = tensor.empty() : tensor<96x64xf32>
  %wdT = linalg.transpose ins(%wd : tensor<64x96xf32>) outs(%4 : tensor<96x64xf32>) permutation = [1, 0]
  %h2 = tensor.collapse_shape %h [[0, 1], [2]] : tensor<2x5x96xf32> into tensor<10x96xf32>
  %5 = tensor.empty() : tensor<10x64xf32>
  %6 = linalg.fill ins(%cst : f32) outs(%5 : tensor<10x64xf32>) -> tensor<10x64xf32>
  %y2 = linalg.matmul ins(%h2, %wdT : tensor<10x96xf32>, tensor<96x64xf32>) outs(%6 : tensor<10x64xf32>) -> tensor<10x64xf32>
  %y = tensor.expand_shape %y2 [[0, 1], [2]] output_shape [2, 5, 64] : tensor<10x64xf32> into tensor<2x5x64xf32>
  return %y : tensor<2x5x64xf32>
}

// in_out weights; gate bias added after the matmul, up bias as the
// accumulator init, down bias added after; GELU (tanh form) via math.powf.
// CASE: {"entry": "biases_gelu_tanh", "op": "ffn", "act": "gelu_tanh", "layout": "in_out", "raised": "glu.ffn gelu_tanh", "out": "f32", "args": {"x": [[7, 64], "f32"], "w_gate": [[64, 96], "f32"], "b_gate": [[96], "f32"], "w_up": [[64, 96], "f32"], "b_up": [[96], "f32"], "w_down": [[96, 64], "f32"], "b_down": [[64], "f32"]}}
func.func @biases_gelu_tanh(%x: tensor<7x64xf32>, %wg: tensor<64x96xf32>, %bg: tensor<96xf32>,
                            %wu: tensor<64x96xf32>, %bu: tensor<96xf32>,
                            %wd: tensor<96x64xf32>, %bd: tensor<64xf32>) -> tensor<7x64xf32> {
  %cst = arith.constant 0.0 : f32
  %half = arith.constant 0.5 : f32
  %one = arith.constant 1.0 : f32
  %three = arith.constant 3.0 : f32
  %k0 = arith.constant 0.044715 : f32
  %k1 = arith.constant 0.797884583 : f32
  %e = tensor.empty() : tensor<7x96xf32>
  %z = linalg.fill ins(%cst : f32) outs(%e : tensor<7x96xf32>) -> tensor<7x96xf32>
  %g0 = linalg.matmul ins(%x, %wg : tensor<7x64xf32>, tensor<64x96xf32>) outs(%z : tensor<7x96xf32>) -> tensor<7x96xf32>
  %g = linalg.generic {indexing_maps = [#row, #id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%bg, %g0 : tensor<96xf32>, tensor<7x96xf32>) outs(%e : tensor<7x96xf32>) {
  ^bb0(%b: f32, %v: f32, %o: f32):
    %0 = arith.addf %b, %v : f32
    linalg.yield %0 : f32
  } -> tensor<7x96xf32>
  %bub = linalg.broadcast ins(%bu : tensor<96xf32>) outs(%e : tensor<7x96xf32>) dimensions = [0]
  %u = linalg.matmul ins(%x, %wu : tensor<7x64xf32>, tensor<64x96xf32>) outs(%bub : tensor<7x96xf32>) -> tensor<7x96xf32>
  %h = linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%g, %u : tensor<7x96xf32>, tensor<7x96xf32>) outs(%e : tensor<7x96xf32>) {
  ^bb0(%in: f32, %q: f32, %o: f32):
    %0 = math.powf %in, %three : f32
    %1 = arith.mulf %0, %k0 : f32
    %2 = arith.addf %in, %1 : f32
    %3 = arith.mulf %2, %k1 : f32
    %4 = math.tanh %3 : f32
    %5 = arith.addf %4, %one : f32
    %6 = arith.mulf %in, %half : f32
    %7 = arith.mulf %6, %5 : f32
    %8 = arith.mulf %7, %q : f32
    linalg.yield %8 : f32
  } -> tensor<7x96xf32>
  %ed = tensor.empty() : tensor<7x64xf32>
  %zd = linalg.fill ins(%cst : f32) outs(%ed : tensor<7x64xf32>) -> tensor<7x64xf32>
  %y0 = linalg.matmul ins(%h, %wd : tensor<7x96xf32>, tensor<96x64xf32>) outs(%zd : tensor<7x64xf32>) -> tensor<7x64xf32>
  %y = linalg.generic {indexing_maps = [#id2, #row, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%y0, %bd : tensor<7x64xf32>, tensor<64xf32>) outs(%ed : tensor<7x64xf32>) {
  ^bb0(%v: f32, %b: f32, %o: f32):
    %0 = arith.addf %v, %b : f32
    linalg.yield %0 : f32
  } -> tensor<7x64xf32>
  return %y : tensor<7x64xf32>
}

// Transposed-B indexing_maps; GELU (erf form).
// CASE: {"entry": "gelu_erf_transposed_b", "op": "ffn", "act": "gelu_erf", "raised": "glu.ffn gelu_erf", "out": "f32", "args": {"x": [[9, 64], "f32"], "w_gate": [[96, 64], "f32"], "w_up": [[96, 64], "f32"], "w_down": [[64, 96], "f32"]}}
func.func @gelu_erf_transposed_b(%x: tensor<9x64xf32>, %wg: tensor<96x64xf32>, %wu: tensor<96x64xf32>,
                                 %wd: tensor<64x96xf32>) -> tensor<9x64xf32> {
  %cst = arith.constant 0.0 : f32
  %half = arith.constant 0.5 : f32
  %one = arith.constant 1.0 : f32
  %rsqrt2 = arith.constant 0.707106769 : f32
  %e = tensor.empty() : tensor<9x96xf32>
  %z = linalg.fill ins(%cst : f32) outs(%e : tensor<9x96xf32>) -> tensor<9x96xf32>
  %g = linalg.matmul indexing_maps = [#lhs, #rhsT, #out]
      ins(%x, %wg : tensor<9x64xf32>, tensor<96x64xf32>) outs(%z : tensor<9x96xf32>) -> tensor<9x96xf32>
  %u = linalg.matmul indexing_maps = [#lhs, #rhsT, #out]
      ins(%x, %wu : tensor<9x64xf32>, tensor<96x64xf32>) outs(%z : tensor<9x96xf32>) -> tensor<9x96xf32>
  %h = linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%u, %g : tensor<9x96xf32>, tensor<9x96xf32>) outs(%e : tensor<9x96xf32>) {
  ^bb0(%b: f32, %a: f32, %o: f32):
    %0 = arith.mulf %a, %rsqrt2 : f32
    %1 = math.erf %0 : f32
    %2 = arith.addf %one, %1 : f32
    %3 = arith.mulf %half, %a : f32
    %4 = arith.mulf %3, %2 : f32
    %5 = arith.mulf %b, %4 : f32
    linalg.yield %5 : f32
  } -> tensor<9x96xf32>
  %ed = tensor.empty() : tensor<9x64xf32>
  %zd = linalg.fill ins(%cst : f32) outs(%ed : tensor<9x64xf32>) -> tensor<9x64xf32>
  %y = linalg.matmul indexing_maps = [#lhs, #rhsT, #out]
      ins(%h, %wd : tensor<9x96xf32>, tensor<64x96xf32>) outs(%zd : tensor<9x64xf32>) -> tensor<9x64xf32>
  return %y : tensor<9x64xf32>
}

// Swish-1.5 as x * sigmoid(1.5 x), in two generics.
// CASE: {"entry": "swish_beta", "op": "ffn", "act": "swish", "beta": 1.5, "layout": "in_out", "raised": "glu.ffn swish", "out": "f32", "args": {"x": [[6, 64], "f32"], "w_gate": [[64, 96], "f32"], "w_up": [[64, 96], "f32"], "w_down": [[96, 64], "f32"]}}
func.func @swish_beta(%x: tensor<6x64xf32>, %wg: tensor<64x96xf32>, %wu: tensor<64x96xf32>,
                      %wd: tensor<96x64xf32>) -> tensor<6x64xf32> {
  %one = arith.constant 1.0 : f32
  %beta = arith.constant 1.5 : f32
  %z = arith.constant dense<0.0> : tensor<6x96xf32>
  %zd = arith.constant dense<0.0> : tensor<6x64xf32>
  %e = tensor.empty() : tensor<6x96xf32>
  %g = linalg.matmul ins(%x, %wg : tensor<6x64xf32>, tensor<64x96xf32>) outs(%z : tensor<6x96xf32>) -> tensor<6x96xf32>
  %u = linalg.matmul ins(%x, %wu : tensor<6x64xf32>, tensor<64x96xf32>) outs(%z : tensor<6x96xf32>) -> tensor<6x96xf32>
  %sig = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%g : tensor<6x96xf32>) outs(%e : tensor<6x96xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.mulf %in, %beta : f32
    %1 = arith.negf %0 : f32
    %2 = math.exp %1 : f32
    %3 = arith.addf %one, %2 : f32
    %4 = arith.divf %one, %3 : f32
    linalg.yield %4 : f32
  } -> tensor<6x96xf32>
  %h = linalg.generic {indexing_maps = [#id2, #id2, #id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%g, %sig, %u : tensor<6x96xf32>, tensor<6x96xf32>, tensor<6x96xf32>) outs(%e : tensor<6x96xf32>) {
  ^bb0(%a: f32, %s: f32, %b: f32, %o: f32):
    %0 = arith.mulf %a, %s : f32
    %1 = arith.mulf %0, %b : f32
    linalg.yield %1 : f32
  } -> tensor<6x96xf32>
  %y = linalg.matmul ins(%h, %wd : tensor<6x96xf32>, tensor<96x64xf32>) outs(%zd : tensor<6x64xf32>) -> tensor<6x64xf32>
  return %y : tensor<6x64xf32>
}

// Non-gated: down(relu(up(x) + b1)) + b2, ReLU as cmpf ugt + select,
// transposed weights.
// CASE: {"entry": "mlp_relu", "op": "mlp", "act": "relu", "raised": "glu.mlp relu", "out": "f32", "args": {"x": [[5, 64], "f32"], "w_up": [[128, 64], "f32"], "b_up": [[128], "f32"], "w_down": [[64, 128], "f32"], "b_down": [[64], "f32"]}}
func.func @mlp_relu(%x: tensor<5x64xf32>, %w1: tensor<128x64xf32>, %b1: tensor<128xf32>,
                    %w2: tensor<64x128xf32>, %b2: tensor<64xf32>) -> tensor<5x64xf32> {
  %cst = arith.constant 0.0 : f32
  %t1 = tensor.empty() : tensor<64x128xf32>
  %w1T = linalg.transpose ins(%w1 : tensor<128x64xf32>) outs(%t1 : tensor<64x128xf32>) permutation = [1, 0]
  %e = tensor.empty() : tensor<5x128xf32>
  %bb1 = linalg.broadcast ins(%b1 : tensor<128xf32>) outs(%e : tensor<5x128xf32>) dimensions = [0]
  %p = linalg.matmul ins(%x, %w1T : tensor<5x64xf32>, tensor<64x128xf32>) outs(%bb1 : tensor<5x128xf32>) -> tensor<5x128xf32>
  %a = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%p : tensor<5x128xf32>) outs(%e : tensor<5x128xf32>) {
  ^bb0(%in: f32, %o: f32):
    %c = arith.cmpf ugt, %in, %cst : f32
    %s = arith.select %c, %in, %cst : f32
    linalg.yield %s : f32
  } -> tensor<5x128xf32>
  %t2 = tensor.empty() : tensor<128x64xf32>
  %w2T = linalg.transpose ins(%w2 : tensor<64x128xf32>) outs(%t2 : tensor<128x64xf32>) permutation = [1, 0]
  %ed = tensor.empty() : tensor<5x64xf32>
  %zd = linalg.fill ins(%cst : f32) outs(%ed : tensor<5x64xf32>) -> tensor<5x64xf32>
  %y0 = linalg.matmul ins(%a, %w2T : tensor<5x128xf32>, tensor<128x64xf32>) outs(%zd : tensor<5x64xf32>) -> tensor<5x64xf32>
  %y = linalg.generic {indexing_maps = [#row, #id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%b2, %y0 : tensor<64xf32>, tensor<5x64xf32>) outs(%ed : tensor<5x64xf32>) {
  ^bb0(%b: f32, %v: f32, %o: f32):
    %0 = arith.addf %b, %v : f32
    linalg.yield %0 : f32
  } -> tensor<5x64xf32>
  return %y : tensor<5x64xf32>
}

// Sigmoid (the original GLU) as 1 / (exp(-x) + 1).
// CASE: {"entry": "glu_sigmoid", "op": "ffn", "act": "sigmoid", "layout": "in_out", "raised": "glu.ffn sigmoid", "out": "f32", "args": {"x": [[4, 64], "f32"], "w_gate": [[64, 96], "f32"], "w_up": [[64, 96], "f32"], "w_down": [[96, 64], "f32"]}}
func.func @glu_sigmoid(%x: tensor<4x64xf32>, %wg: tensor<64x96xf32>, %wu: tensor<64x96xf32>,
                       %wd: tensor<96x64xf32>) -> tensor<4x64xf32> {
  %one = arith.constant 1.0 : f32
  %z = arith.constant dense<0.0> : tensor<4x96xf32>
  %zd = arith.constant dense<0.0> : tensor<4x64xf32>
  %e = tensor.empty() : tensor<4x96xf32>
  %g = linalg.matmul ins(%x, %wg : tensor<4x64xf32>, tensor<64x96xf32>) outs(%z : tensor<4x96xf32>) -> tensor<4x96xf32>
  %u = linalg.matmul ins(%x, %wu : tensor<4x64xf32>, tensor<64x96xf32>) outs(%z : tensor<4x96xf32>) -> tensor<4x96xf32>
  %h = linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%g, %u : tensor<4x96xf32>, tensor<4x96xf32>) outs(%e : tensor<4x96xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
    %0 = arith.negf %p : f32
    %1 = math.exp %0 : f32
    %2 = arith.addf %1, %one : f32
    %3 = arith.divf %one, %2 : f32
    %4 = arith.mulf %q, %3 : f32
    linalg.yield %4 : f32
  } -> tensor<4x96xf32>
  %y = linalg.matmul ins(%h, %wd : tensor<4x96xf32>, tensor<96x64xf32>) outs(%zd : tensor<4x64xf32>) -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}

// No activation (Bilinear), the gating multiply as linalg.mul.
// CASE: {"entry": "bilinear", "op": "ffn", "act": "identity", "layout": "in_out", "raised": "glu.ffn identity", "out": "f32", "args": {"x": [[4, 64], "f32"], "w_gate": [[64, 96], "f32"], "w_up": [[64, 96], "f32"], "w_down": [[96, 64], "f32"]}}
func.func @bilinear(%x: tensor<4x64xf32>, %wg: tensor<64x96xf32>, %wu: tensor<64x96xf32>,
                    %wd: tensor<96x64xf32>) -> tensor<4x64xf32> {
  %z = arith.constant dense<0.0> : tensor<4x96xf32>
  %zd = arith.constant dense<0.0> : tensor<4x64xf32>
  %e = tensor.empty() : tensor<4x96xf32>
  %g = linalg.matmul ins(%x, %wg : tensor<4x64xf32>, tensor<64x96xf32>) outs(%z : tensor<4x96xf32>) -> tensor<4x96xf32>
  %u = linalg.matmul ins(%x, %wu : tensor<4x64xf32>, tensor<64x96xf32>) outs(%z : tensor<4x96xf32>) -> tensor<4x96xf32>
  %h = linalg.mul ins(%g, %u : tensor<4x96xf32>, tensor<4x96xf32>) outs(%e : tensor<4x96xf32>) -> tensor<4x96xf32>
  %y = linalg.matmul ins(%h, %wd : tensor<4x96xf32>, tensor<96x64xf32>) outs(%zd : tensor<4x64xf32>) -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}

// bf16 activations and weights, matmuls accumulating in f32, one truncf at
// the end: exactly the glu op with bf16 input and result.
// CASE: {"entry": "bf16_exact", "op": "ffn", "act": "silu", "raised": "glu.ffn silu", "out": "bf16", "args": {"x": [[8, 64], "bf16"], "w_gate": [[96, 64], "bf16"], "w_up": [[96, 64], "bf16"], "w_down": [[64, 96], "bf16"]}}
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
  %h = linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%g, %u : tensor<8x96xf32>, tensor<8x96xf32>) outs(%e : tensor<8x96xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
    %0 = arith.negf %p : f32
    %1 = math.exp %0 : f32
    %2 = arith.addf %1, %one : f32
    %3 = arith.divf %p, %2 : f32
    %4 = arith.mulf %3, %q : f32
    linalg.yield %4 : f32
  } -> tensor<8x96xf32>
  %ed = tensor.empty() : tensor<8x64xf32>
  %zd = linalg.fill ins(%cst : f32) outs(%ed : tensor<8x64xf32>) -> tensor<8x64xf32>
  %y0 = linalg.matmul indexing_maps = [#lhs, #rhsT, #out]
      ins(%h, %wd : tensor<8x96xf32>, tensor<64x96xbf16>) outs(%zd : tensor<8x64xf32>) -> tensor<8x64xf32>
  %eb = tensor.empty() : tensor<8x64xbf16>
  %y = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%y0 : tensor<8x64xf32>) outs(%eb : tensor<8x64xbf16>) {
  ^bb0(%in: f32, %o: bf16):
    %0 = arith.truncf %in : f32 to bf16
    linalg.yield %0 : bf16
  } -> tensor<8x64xbf16>
  return %y : tensor<8x64xbf16>
}

// A dynamic token dim, sizes from tensor.dim (run on 2x5x64). (With two
// dynamic dims the unraised form is not run: the reference lowering of a
// tensor.expand_shape with two dynamic sizes crashes in MLIR 22's
// expand-strided-metadata; the dialect test covers the raise.)
// CASE: {"entry": "dynamic", "op": "ffn", "act": "silu", "raised": "glu.ffn silu %arg0 : tensor<2x?x64xf32>", "out": "f32", "args": {"x": [[2, 5, 64], "f32"], "w_gate": [[96, 64], "f32"], "w_up": [[96, 64], "f32"], "w_down": [[64, 96], "f32"]}}
func.func @dynamic(%x: tensor<2x?x64xf32>, %wg: tensor<96x64xf32>, %wu: tensor<96x64xf32>,
                   %wd: tensor<64x96xf32>) -> tensor<2x?x64xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %cst = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %s = tensor.dim %x, %c1 : tensor<2x?x64xf32>
  %t = tensor.empty() : tensor<64x96xf32>
  %wgT = linalg.transpose ins(%wg : tensor<96x64xf32>) outs(%t : tensor<64x96xf32>) permutation = [1, 0]
  %wuT = linalg.transpose ins(%wu : tensor<96x64xf32>) outs(%t : tensor<64x96xf32>) permutation = [1, 0]
  %x2 = tensor.collapse_shape %x [[0, 1], [2]] : tensor<2x?x64xf32> into tensor<?x64xf32>
  %n = tensor.dim %x2, %c0 : tensor<?x64xf32>
  %e = tensor.empty(%n) : tensor<?x96xf32>
  %z = linalg.fill ins(%cst : f32) outs(%e : tensor<?x96xf32>) -> tensor<?x96xf32>
  %g = linalg.matmul ins(%x2, %wgT : tensor<?x64xf32>, tensor<64x96xf32>) outs(%z : tensor<?x96xf32>) -> tensor<?x96xf32>
  %u = linalg.matmul ins(%x2, %wuT : tensor<?x64xf32>, tensor<64x96xf32>) outs(%z : tensor<?x96xf32>) -> tensor<?x96xf32>
  %h = linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%g, %u : tensor<?x96xf32>, tensor<?x96xf32>) outs(%e : tensor<?x96xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
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
  %y2 = linalg.matmul ins(%h, %wdT : tensor<?x96xf32>, tensor<96x64xf32>) outs(%zd : tensor<?x64xf32>) -> tensor<?x64xf32>
  %y = tensor.expand_shape %y2 [[0, 1], [2]] output_shape [2, %s, 64] : tensor<?x64xf32> into tensor<2x?x64xf32>
  return %y : tensor<2x?x64xf32>
}

// TOSA: tosa.matmul on reshaped input and transposed, reshaped weights,
// sigmoid + mul for SiLU, a bias add after the reshape back.
// CASE: {"entry": "tosa_silu", "op": "ffn", "act": "silu", "raised": "glu.ffn silu", "out": "f32", "args": {"x": [[2, 5, 64], "f32"], "w_gate": [[96, 64], "f32"], "w_up": [[96, 64], "f32"], "w_down": [[64, 96], "f32"], "b_down": [[64], "f32"]}}
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
  %y3 = tosa.matmul %h, %wd3, %zp, %zp : (tensor<1x10x96xf32>, tensor<1x96x64xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x10x64xf32>
  %y0 = tosa.reshape %y3, %s4 : (tensor<1x10x64xf32>, !tosa.shape<3>) -> tensor<2x5x64xf32>
  %bd3 = tosa.reshape %bd, %sb : (tensor<64xf32>, !tosa.shape<3>) -> tensor<1x1x64xf32>
  %y = tosa.add %y0, %bd3 : (tensor<2x5x64xf32>, tensor<1x1x64xf32>) -> tensor<2x5x64xf32>
  return %y : tensor<2x5x64xf32>
}

// A merged gate/up projection split by extract_slice into its concat
// halves, with biases added to the halves.
// CASE: {"entry": "merged_concat", "op": "ffn", "act": "silu", "packing": "concat", "raised": "glu.ffn silu", "out": "f32", "args": {"x": [[8, 64], "f32"], "w_gate_up": [[192, 64], "f32"], "b_gate": [[96], "f32"], "b_up": [[96], "f32"], "w_down": [[64, 96], "f32"]}}
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
  %h = linalg.generic {indexing_maps = [#id2, #row, #id2, #row, #id2], iterator_types = ["parallel", "parallel"]}
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
  %y = linalg.matmul indexing_maps = [#lhs, #rhsT, #out]
      ins(%h, %wd : tensor<8x96xf32>, tensor<64x96xf32>) outs(%zd : tensor<8x64xf32>) -> tensor<8x64xf32>
  return %y : tensor<8x64xf32>
}

// Interleaved halves (strided slices), in_out, a 2F bias in the accumulator.
// CASE: {"entry": "merged_interleaved", "op": "ffn", "act": "relu", "packing": "interleaved", "layout": "in_out", "raised": "glu.ffn relu", "out": "f32", "args": {"x": [[8, 64], "f32"], "w_gate_up": [[64, 192], "f32"], "b_gate_up": [[192], "f32"], "w_down": [[96, 64], "f32"]}}
func.func @merged_interleaved(%x: tensor<8x64xf32>, %w: tensor<64x192xf32>, %b: tensor<192xf32>,
                              %wd: tensor<96x64xf32>) -> tensor<8x64xf32> {
  %cst = arith.constant 0.0 : f32
  %e2 = tensor.empty() : tensor<8x192xf32>
  %bb = linalg.broadcast ins(%b : tensor<192xf32>) outs(%e2 : tensor<8x192xf32>) dimensions = [0]
  %gu = linalg.matmul ins(%x, %w : tensor<8x64xf32>, tensor<64x192xf32>) outs(%bb : tensor<8x192xf32>) -> tensor<8x192xf32>
  %g = tensor.extract_slice %gu[0, 0] [8, 96] [1, 2] : tensor<8x192xf32> to tensor<8x96xf32>
  %u = tensor.extract_slice %gu[0, 1] [8, 96] [1, 2] : tensor<8x192xf32> to tensor<8x96xf32>
  %e = tensor.empty() : tensor<8x96xf32>
  %h = linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%g, %u : tensor<8x96xf32>, tensor<8x96xf32>) outs(%e : tensor<8x96xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
    %0 = arith.maximumf %p, %cst : f32
    %1 = arith.mulf %0, %q : f32
    linalg.yield %1 : f32
  } -> tensor<8x96xf32>
  %zd = arith.constant dense<0.0> : tensor<8x64xf32>
  %y = linalg.matmul ins(%h, %wd : tensor<8x96xf32>, tensor<96x64xf32>) outs(%zd : tensor<8x64xf32>) -> tensor<8x64xf32>
  return %y : tensor<8x64xf32>
}
