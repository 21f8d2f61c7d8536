// RUN: swiglu-opt %s --glu-expand-shape-to-reshape --split-input-file | FileCheck %s
// The reference pipeline lowers it (LLVM 22's expand-strided-metadata alone
// crashes on such an expand_shape, llvm/llvm-project#186830).
// RUN: swiglu-opt %s --glu-cpu-reference-pipeline --split-input-file | FileCheck %s --check-prefix=LLVM

// CHECK-LABEL: func.func @two_dynamic_in_a_group
// CHECK: %[[SHAPE:.*]] = tensor.from_elements %{{.*}}, %{{.*}}, %{{.*}} : tensor<3xindex>
// CHECK: tensor.reshape %{{.*}}(%[[SHAPE]]) : (tensor<?x64xf32>, tensor<3xindex>) -> tensor<?x?x64xf32>
// LLVM-LABEL: llvm.func @two_dynamic_in_a_group
func.func @two_dynamic_in_a_group(%x: tensor<?x64xf32>, %a: index, %b: index) -> tensor<?x?x64xf32> {
  %e = tensor.expand_shape %x [[0, 1], [2]] output_shape [%a, %b, 64] : tensor<?x64xf32> into tensor<?x?x64xf32>
  return %e : tensor<?x?x64xf32>
}

// -----

// negative_: one dynamic size a group is left as it is.
// CHECK-LABEL: func.func @negative_one_dynamic
// CHECK: tensor.expand_shape
// CHECK-NOT: tensor.reshape
func.func @negative_one_dynamic(%x: tensor<?x64xf32>, %a: index) -> tensor<2x?x64xf32> {
  %e = tensor.expand_shape %x [[0, 1], [2]] output_shape [2, %a, 64] : tensor<?x64xf32> into tensor<2x?x64xf32>
  return %e : tensor<2x?x64xf32>
}
