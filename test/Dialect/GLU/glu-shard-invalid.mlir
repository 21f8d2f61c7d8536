// RUN: swiglu-opt %s --glu-shard=ranks=4 --split-input-file --verify-diagnostics
// Bad options, on the module:
// RUN: not swiglu-opt %s --glu-shard=ranks=0 --split-input-file 2>&1 | FileCheck %s --check-prefix=RANKS
// RANKS: error: glu-shard: ranks must be at least 1 (ranks=0)
// RUN: not swiglu-opt %s --glu-shard="ranks=2 strategy=pipeline" --split-input-file 2>&1 | FileCheck %s --check-prefix=STRATEGY
// STRATEGY: error: glu-shard: strategy must be tensor or tokens, not 'pipeline'
// RUN: not swiglu-opt %s --glu-shard="ranks=2 strategy=tokens weights=local" --split-input-file 2>&1 | FileCheck %s --check-prefix=LOCAL
// LOCAL: error: glu-shard: weights=local needs strategy=tensor
// RUN: not swiglu-opt %s --glu-shard="ranks=2 weights=some" --split-input-file 2>&1 | FileCheck %s --check-prefix=WEIGHTS
// WEIGHTS: error: glu-shard: weights must be full or local, not 'some'
// RUN: not swiglu-opt %s --glu-shard="ranks=2 mpi=LAM" --split-input-file 2>&1 | FileCheck %s --check-prefix=MPI
// MPI: error: glu-shard: mpi must be OpenMPI or MPICH, not 'LAM'

func.func @gate_up(%x: tensor<4x8xf32>, %w: tensor<32x8xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{glu-shard: 'glu.gate_up' is not supported: only glu.ffn and glu.mlp, whose outputs are summed over the ranks, are split}}
  %h = glu.gate_up silu %x : tensor<4x8xf32> gate_up %w : tensor<32x8xf32> packing concat -> tensor<4x16xf32>
  return %h : tensor<4x16xf32>
}

// -----

func.func @merged(%x: tensor<4x8xf32>, %w: tensor<32x8xf32>, %wd: tensor<8x16xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{glu-shard: a merged gate_up weight is not supported; give separate gate and up weights (run glu-shard before glu-merge-gate-up)}}
  %y = glu.ffn silu %x : tensor<4x8xf32> gate_up %w : tensor<32x8xf32> down %wd : tensor<8x16xf32> packing concat -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @bf16(%x: tensor<4x8xbf16>, %wg: tensor<16x8xbf16>, %wu: tensor<16x8xbf16>, %wd: tensor<8x16xbf16>) -> tensor<4x8xbf16> {
  // expected-error @+1 {{glu-shard: the all-reduce of the outputs needs f32 or f64 results (upstream's MPI lowering has no 16-bit float type), not 'bf16'}}
  %y = glu.ffn silu %x : tensor<4x8xbf16> gate %wg : tensor<16x8xbf16> up %wu : tensor<16x8xbf16> down %wd : tensor<8x16xbf16> -> tensor<4x8xbf16>
  return %y : tensor<4x8xbf16>
}

// -----

func.func @dynamic_dff(%x: tensor<4x8xf32>, %wg: tensor<?x8xf32>, %wu: tensor<?x8xf32>, %wd: tensor<8x?xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{glu-shard: strategy=tensor needs a static d_ff (the hidden width)}}
  %y = glu.ffn silu %x : tensor<4x8xf32> gate %wg : tensor<?x8xf32> up %wu : tensor<?x8xf32> down %wd : tensor<8x?xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @too_many_ranks(%x: tensor<4x8xf32>, %wg: tensor<3x8xf32>, %wu: tensor<3x8xf32>, %wd: tensor<8x3xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{glu-shard: ranks=4 is more than d_ff=3: some ranks would own no feature}}
  %y = glu.ffn silu %x : tensor<4x8xf32> gate %wg : tensor<3x8xf32> up %wu : tensor<3x8xf32> down %wd : tensor<8x3xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
