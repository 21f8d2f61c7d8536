// RUN: swiglu-opt %s --glu-shard=ranks=2 --split-input-file | FileCheck %s
// RUN: swiglu-opt %s --glu-shard=ranks=4 --split-input-file --canonicalize | FileCheck %s --check-prefix=UNEVEN
// RUN: swiglu-opt %s --glu-shard="ranks=2 strategy=tokens" --split-input-file | FileCheck %s --check-prefix=TOKENS
// RUN: swiglu-opt %s --glu-shard="ranks=2 weights=local" --split-input-file | FileCheck %s --check-prefix=LOCAL
// The split module lowers through both CPU pipelines to calls of MPI.
// RUN: swiglu-opt %s --glu-shard=ranks=2 --split-input-file --glu-cpu-pipeline=threads=1 | FileCheck %s --check-prefix=LLVM
// RUN: swiglu-opt %s --glu-shard=ranks=2 --split-input-file --glu-cpu-reference-pipeline | FileCheck %s --check-prefix=LLVM

// Tensor-parallel: gate/up rows and down columns of this rank's features,
// the down bias on rank 0 only, one all-reduce (sum) of the output.
// CHECK: module attributes {dlti.map = #dlti.map<"MPI:Implementation" = "OpenMPI">}
// CHECK: shard.grid @glu_ranks(shape = 2)
// CHECK-LABEL: func.func @ffn(
// CHECK: %[[SIZE:.*]] = mpi.comm_size
// CHECK: cf.assert {{.*}}"glu-shard: @ffn was compiled for 2 MPI ranks (ranks=2), but MPI_COMM_WORLD has another size: run it with mpirun -np 2"
// CHECK: %[[RANK:.*]] = shard.process_linear_index on @glu_ranks
// CHECK: tensor.extract_slice %arg1[{{.*}}, 0] [64, 32] [1, 1] : tensor<128x32xf32> to tensor<64x32xf32>
// CHECK: tensor.extract_slice %arg2[{{.*}}, 0] [64, 32] [1, 1] : tensor<128x32xf32> to tensor<64x32xf32>
// CHECK: tensor.extract_slice %arg3[0, {{.*}}] [32, 64] [1, 1] : tensor<32x128xf32> to tensor<32x64xf32>
// CHECK: %[[BIAS:.*]] = arith.select %{{.*}}, %arg4, %{{.*}} : tensor<32xf32>
// CHECK: %[[PART:.*]] = glu.ffn silu {{.*}} down_bias %[[BIAS]]
// CHECK: %[[SUM:.*]] = shard.all_reduce %[[PART]] on @glu_ranks grid_axes = [0] : tensor<?x32xf32> -> tensor<?x32xf32>
// CHECK: return %[[SUM]]

// UNEVEN-LABEL: func.func @ffn(
// 128 = 4·32: even.
// UNEVEN: tensor.extract_slice %arg1[{{.*}}, 0] [32, 32] [1, 1]
// UNEVEN-NOT: tensor.pad

// TOKENS-LABEL: func.func @ffn(
// TOKENS: %[[ROWS:.*]] = tensor.extract_slice %arg0[{{.*}}, 0] [{{.*}}, 32] [1, 1] : tensor<?x32xf32> to tensor<?x32xf32>
// TOKENS: %[[PART:.*]] = glu.ffn silu %[[ROWS]] : tensor<?x32xf32> gate %arg1 : tensor<128x32xf32>
// TOKENS: %[[ZEROS:.*]] = linalg.fill
// TOKENS: %[[PLACED:.*]] = tensor.insert_slice %[[PART]] into %[[ZEROS]]
// TOKENS: shard.all_reduce %[[PLACED]] on @glu_ranks

// LOCAL-LABEL: func.func @ffn(%arg0: tensor<?x32xf32>, %arg1: tensor<64x32xf32> {glu.shard_of = 1 : i64}, %arg2: tensor<64x32xf32> {glu.shard_of = 2 : i64}, %arg3: tensor<32x64xf32> {glu.shard_of = 3 : i64}, %arg4: tensor<32xf32>)
// LOCAL: glu.ffn silu %arg0 : tensor<?x32xf32> gate %arg1 : tensor<64x32xf32> up %arg2 : tensor<64x32xf32> down %arg3 : tensor<32x64xf32>
// LOCAL-LABEL: func.func @ffn_shard_weights(%arg0: tensor<128x32xf32>, %arg1: tensor<128x32xf32>, %arg2: tensor<32x128xf32>) -> (tensor<64x32xf32>, tensor<64x32xf32>, tensor<32x64xf32>) attributes {glu.shard_function, glu.shards = array<i64: 1, 2, 3>}

// LLVM-DAG: llvm.func @MPI_Allreduce(
// LLVM-DAG: llvm.func @MPI_Comm_size(
// LLVM-DAG: llvm.mlir.global external @ompi_mpi_op_sum()
// LLVM-NOT: shard.
// LLVM-NOT: mpi.
func.func @ffn(%x: tensor<?x32xf32>, %wg: tensor<128x32xf32>, %wu: tensor<128x32xf32>,
               %wd: tensor<32x128xf32>, %bd: tensor<32xf32>) -> tensor<?x32xf32> {
  %y = glu.ffn silu %x : tensor<?x32xf32> gate %wg : tensor<128x32xf32>
         up %wu : tensor<128x32xf32> down %wd : tensor<32x128xf32>
         down_bias %bd : tensor<32xf32> -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// -----

// glu.mlp, layout in_out, 100 features: 2·50, and 4·25 with no padding;
// the up bias is split with the up weight.
// CHECK-LABEL: func.func @mlp(
// CHECK: tensor.extract_slice %arg1[0, {{.*}}] [16, 50] [1, 1] : tensor<16x100xf32> to tensor<16x50xf32>
// CHECK: tensor.extract_slice %arg2[{{.*}}] [50] [1] : tensor<100xf32> to tensor<50xf32>
// CHECK: tensor.extract_slice %arg3[{{.*}}, 0] [50, 16] [1, 1] : tensor<100x16xf32> to tensor<50x16xf32>
// CHECK: glu.mlp gelu_erf
// CHECK: shard.all_reduce
// UNEVEN-LABEL: func.func @mlp(
func.func @mlp(%x: tensor<8x16xf32>, %w1: tensor<16x100xf32>, %b1: tensor<100xf32>,
               %w2: tensor<100x16xf32>) -> tensor<8x16xf32> {
  %y = glu.mlp gelu_erf %x : tensor<8x16xf32> up %w1 : tensor<16x100xf32>
         down %w2 : tensor<100x16xf32> up_bias %b1 : tensor<100xf32> layout in_out
         -> tensor<8x16xf32>
  return %y : tensor<8x16xf32>
}

// -----

// 10 features over 4 ranks: 3, 3, 2, 2, each padded with zeros to 3.
// UNEVEN-LABEL: func.func @uneven(
// UNEVEN: %[[W:.*]] = tensor.extract_slice %arg1[{{.*}}, 0] [{{.*}}, 8] [1, 1] : tensor<10x8xf32> to tensor<?x8xf32>
// UNEVEN: tensor.pad %[[W]] low[0, 0] high[{{.*}}, 0]
// UNEVEN: } : tensor<?x8xf32> to tensor<3x8xf32>
// UNEVEN: glu.ffn silu %arg0 : tensor<4x8xf32> gate %{{.*}} : tensor<3x8xf32> up %{{.*}} : tensor<3x8xf32> down %{{.*}} : tensor<8x3xf32>
func.func @uneven(%x: tensor<4x8xf32>, %wg: tensor<10x8xf32>, %wu: tensor<10x8xf32>,
                  %wd: tensor<8x10xf32>) -> tensor<4x8xf32> {
  %y = glu.ffn silu %x : tensor<4x8xf32> gate %wg : tensor<10x8xf32>
         up %wu : tensor<10x8xf32> down %wd : tensor<8x10xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
