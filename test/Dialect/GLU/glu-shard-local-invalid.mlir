// RUN: swiglu-opt %s --glu-shard="ranks=2 weights=local" --split-input-file --verify-diagnostics

// expected-error @+1 {{glu-shard: weights=local needs a public function with a body}}
func.func private @private_ffn(%x: tensor<4x8xf32>, %wg: tensor<16x8xf32>, %wu: tensor<16x8xf32>, %wd: tensor<8x16xf32>) -> tensor<4x8xf32> {
  %y = glu.ffn silu %x : tensor<4x8xf32> gate %wg : tensor<16x8xf32> up %wu : tensor<16x8xf32> down %wd : tensor<8x16xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @constant_weight(%x: tensor<4x8xf32>, %wu: tensor<16x8xf32>, %wd: tensor<8x16xf32>) -> tensor<4x8xf32> {
  %wg = arith.constant dense<1.0> : tensor<16x8xf32>
  // expected-error @+1 {{glu-shard: weights=local needs every weight matrix to be an argument of @constant_weight used by this op alone}}
  %y = glu.ffn silu %x : tensor<4x8xf32> gate %wg : tensor<16x8xf32> up %wu : tensor<16x8xf32> down %wd : tensor<8x16xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// expected-error @+1 {{glu-shard: the symbol @glu_ranks exists and is not a shard.grid of shape 2}}
func.func private @glu_ranks()

func.func @clash(%x: tensor<4x8xf32>, %wg: tensor<16x8xf32>, %wu: tensor<16x8xf32>, %wd: tensor<8x16xf32>) -> tensor<4x8xf32> {
  %y = glu.ffn silu %x : tensor<4x8xf32> gate %wg : tensor<16x8xf32> up %wu : tensor<16x8xf32> down %wd : tensor<8x16xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// expected-error @+1 {{glu-shard: the module has a dlti.map without "MPI:Implementation": add "MPI:Implementation" = "OpenMPI" to it}}
module attributes {dlti.map = #dlti.map<"other" = 1 : i64>} {
  func.func @dlti(%x: tensor<4x8xf32>, %wg: tensor<16x8xf32>, %wu: tensor<16x8xf32>, %wd: tensor<8x16xf32>) -> tensor<4x8xf32> {
    %y = glu.ffn silu %x : tensor<4x8xf32> gate %wg : tensor<16x8xf32> up %wu : tensor<16x8xf32> down %wd : tensor<8x16xf32> -> tensor<4x8xf32>
    return %y : tensor<4x8xf32>
  }
}
