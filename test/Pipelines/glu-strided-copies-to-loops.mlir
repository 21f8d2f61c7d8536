// glu-strided-copies-to-loops: a memref.copy from or to a non-contiguous
// buffer becomes loops (upstream would call memrefCopy of MLIR's runtime
// library); contiguous copies (a memcpy) and unranked ones stay.
// RUN: swiglu-opt %s --glu-strided-copies-to-loops | FileCheck %s

// CHECK-LABEL: func.func @strided(
// CHECK-NOT:     memref.copy
// CHECK:         scf.for
// CHECK:           scf.for
// CHECK:             %[[V:.*]] = memref.load %arg0
// CHECK:             memref.store %[[V]], %arg1
func.func @strided(%a: memref<?x4xf32, strided<[8, 2]>>, %b: memref<?x4xf32>) {
  memref.copy %a, %b : memref<?x4xf32, strided<[8, 2]>> to memref<?x4xf32>
  return
}

// CHECK-LABEL: func.func @contiguous(
// CHECK:         memref.copy
func.func @contiguous(%a: memref<2x4xf32>, %b: memref<2x4xf32>) {
  memref.copy %a, %b : memref<2x4xf32> to memref<2x4xf32>
  return
}

// CHECK-LABEL: func.func @unranked(
// CHECK:         memref.copy
func.func @unranked(%a: memref<*xf32>, %b: memref<*xf32>) {
  memref.copy %a, %b : memref<*xf32> to memref<*xf32>
  return
}
