// Destination passing: a result whose one use is
// `bufferization.materialize_in_destination ... in restrict writable` into a
// contiguous rank-2 memref argument is computed in that memref: the down
// panels store into it, no result buffer is allocated and no copy is left.
// Any other destination (strided, or a result with more uses) keeps the
// fresh result buffer and the materialization.
// RUN: swiglu-opt %s --convert-glu-to-cpu-kernels='threads=2' | FileCheck %s

// CHECK-LABEL: func.func @into(
// CHECK-SAME:    %[[OUT:[a-z0-9]+]]: memref<?x64xf32>)
// CHECK-NOT:     memref.alloc({{[^)]*}}) {alignment = 64 : i64} : memref<?x?xf32>
// CHECK:         %[[CAST:.*]] = memref.cast %[[OUT]] : memref<?x64xf32> to memref<?x?xf32>
// CHECK-NOT:     memref.alloc({{[^)]*}}) {alignment = 64 : i64} : memref<?x?xf32>
// CHECK:         call @__glu_cpu_down_panel({{.*}}%[[CAST]],
// CHECK-NOT:     materialize_in_destination
// CHECK:         return
func.func @into(%x: tensor<?x64xf32>, %wg: tensor<96x64xf32>, %wu: tensor<96x64xf32>,
                %wd: tensor<64x96xf32>, %out: memref<?x64xf32>) {
  %y = glu.ffn silu %x : tensor<?x64xf32> gate %wg : tensor<96x64xf32>
      up %wu : tensor<96x64xf32> down %wd : tensor<64x96xf32> -> tensor<?x64xf32>
  bufferization.materialize_in_destination %y in restrict writable %out
      : (tensor<?x64xf32>, memref<?x64xf32>) -> ()
  return
}

// A strided destination: the kernels write their own buffer, then the copy.
// CHECK-LABEL: func.func @strided(
// CHECK:         memref.alloc({{[^)]*}}) {alignment = 64 : i64} : memref<?x?xf32>
// CHECK:         bufferization.materialize_in_destination
func.func @strided(%x: tensor<?x64xf32>, %wg: tensor<96x64xf32>, %wu: tensor<96x64xf32>,
                   %wd: tensor<64x96xf32>, %out: memref<?x64xf32, strided<[128, 1]>>) {
  %y = glu.ffn silu %x : tensor<?x64xf32> gate %wg : tensor<96x64xf32>
      up %wu : tensor<96x64xf32> down %wd : tensor<64x96xf32> -> tensor<?x64xf32>
  bufferization.materialize_in_destination %y in restrict writable %out
      : (tensor<?x64xf32>, memref<?x64xf32, strided<[128, 1]>>) -> ()
  return
}

// The result is also returned: it needs its own buffer.
// CHECK-LABEL: func.func @also_returned(
// CHECK:         memref.alloc({{[^)]*}}) {alignment = 64 : i64} : memref<?x?xf32>
// CHECK:         bufferization.materialize_in_destination
func.func @also_returned(%x: tensor<?x64xf32>, %wg: tensor<96x64xf32>, %wu: tensor<96x64xf32>,
                         %wd: tensor<64x96xf32>, %out: memref<?x64xf32>) -> tensor<?x64xf32> {
  %y = glu.ffn silu %x : tensor<?x64xf32> gate %wg : tensor<96x64xf32>
      up %wu : tensor<96x64xf32> down %wd : tensor<64x96xf32> -> tensor<?x64xf32>
  bufferization.materialize_in_destination %y in restrict writable %out
      : (tensor<?x64xf32>, memref<?x64xf32>) -> ()
  return %y : tensor<?x64xf32>
}
