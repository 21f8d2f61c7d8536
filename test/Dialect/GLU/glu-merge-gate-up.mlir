// RUN: swiglu-opt %s --glu-merge-gate-up --split-input-file --verify-diagnostics | FileCheck %s
// RUN: swiglu-opt %s --glu-merge-gate-up=packing=interleaved --split-input-file --verify-diagnostics | FileCheck %s --check-prefix=INTER

// Argument weights of a public function: a load-time packing function, and
// the block takes the packed weight.
// CHECK-LABEL: func.func @args
// CHECK-SAME: (%[[X:.*]]: tensor<?x8xf32>, %[[W:.*]]: tensor<32x8xf32> {glu.packed_by = @args_pack_gate_up}, %[[WD:.*]]: tensor<8x16xf32>)
// CHECK: glu.ffn silu %[[X]] : tensor<?x8xf32> gate_up %[[W]] : tensor<32x8xf32> down %[[WD]] : tensor<8x16xf32> packing concat -> tensor<?x8xf32>
// CHECK-LABEL: func.func @args_pack_gate_up
// CHECK-SAME: (%[[G:.*]]: tensor<16x8xf32>, %[[U:.*]]: tensor<16x8xf32>) -> tensor<32x8xf32> attributes {glu.packing_function}
// CHECK: %[[M:.*]] = tensor.concat dim(0) %[[G]], %[[U]]
// CHECK: return %[[M]]
// INTER-LABEL: func.func @args_pack_gate_up
// INTER: tensor.expand_shape {{.*}} into tensor<16x1x8xf32>
// INTER: tensor.concat dim(1) {{.*}} -> tensor<16x2x8xf32>
// INTER: tensor.collapse_shape {{.*}} into tensor<32x8xf32>
func.func @args(%x: tensor<?x8xf32>, %wg: tensor<16x8xf32>, %wu: tensor<16x8xf32>,
                %wd: tensor<8x16xf32>) -> tensor<?x8xf32> {
  %y = glu.ffn silu %x : tensor<?x8xf32> gate %wg : tensor<16x8xf32> up %wu : tensor<16x8xf32>
         down %wd : tensor<8x16xf32> -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// in_out weights merge along columns; a bias with no partner packs zeros.
// CHECK-LABEL: func.func @in_out_one_bias
// CHECK-SAME: %{{.*}}: tensor<8x32xf32> {glu.packed_by = @in_out_one_bias_pack_gate_up}, %{{.*}}: tensor<32xf32> {glu.packed_by = @in_out_one_bias_pack_gate_up}
// CHECK: glu.ffn gelu_tanh {{.*}} gate_up_bias {{.*}} : tensor<32xf32> packing concat layout in_out
// CHECK-LABEL: func.func @in_out_one_bias_pack_gate_up
// CHECK-SAME: (%[[G:.*]]: tensor<8x16xf32>, %[[U:.*]]: tensor<8x16xf32>, %[[BU:.*]]: tensor<16xf32>) -> (tensor<8x32xf32>, tensor<32xf32>)
// CHECK: %[[W:.*]] = tensor.concat dim(1) %[[G]], %[[U]]
// CHECK: %[[Z:.*]] = linalg.fill
// CHECK: %[[B:.*]] = tensor.concat dim(0) %[[Z]], %[[BU]]
// CHECK: return %[[W]], %[[B]]
func.func @in_out_one_bias(%x: tensor<?x8xf32>, %wg: tensor<8x16xf32>, %wu: tensor<8x16xf32>,
                           %bu: tensor<16xf32>, %wd: tensor<16x8xf32>) -> tensor<?x8xf32> {
  %y = glu.ffn gelu_tanh %x : tensor<?x8xf32> gate %wg : tensor<8x16xf32> up %wu : tensor<8x16xf32>
         down %wd : tensor<16x8xf32> up_bias %bu : tensor<16xf32> layout in_out -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// Constant weights are merged at compile time.
// CHECK-LABEL: func.func @constants
// CHECK-DAG: %[[W:.*]] = arith.constant dense<{{\[}}[1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00], [-1.000000e+00, -2.000000e+00], [-3.000000e+00, -4.000000e+00]]> : tensor<4x2xf32>
// CHECK-DAG: %[[B:.*]] = arith.constant dense<[5.000000e-01, 2.500000e-01, 2.000000e+00, 2.000000e+00]> : tensor<4xf32>
// CHECK: glu.ffn relu %{{.*}} gate_up %[[W]] : tensor<4x2xf32> {{.*}} gate_up_bias %[[B]] : tensor<4xf32> packing concat
// INTER-LABEL: func.func @constants
// INTER-DAG: arith.constant dense<{{\[}}[1.000000e+00, 2.000000e+00], [-1.000000e+00, -2.000000e+00], [3.000000e+00, 4.000000e+00], [-3.000000e+00, -4.000000e+00]]> : tensor<4x2xf32>
// INTER-DAG: arith.constant dense<[5.000000e-01, 2.000000e+00, 2.500000e-01, 2.000000e+00]> : tensor<4xf32>
func.func @constants(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %wg = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %wu = arith.constant dense<[[-1.0, -2.0], [-3.0, -4.0]]> : tensor<2x2xf32>
  %wd = arith.constant dense<1.0> : tensor<2x2xf32>
  %bg = arith.constant dense<[0.5, 0.25]> : tensor<2xf32>
  %bu = arith.constant dense<2.0> : tensor<2xf32>
  %y = glu.ffn relu %x : tensor<3x2xf32> gate %wg : tensor<2x2xf32> up %wu : tensor<2x2xf32>
         down %wd : tensor<2x2xf32> gate_bias %bg : tensor<2xf32> up_bias %bu : tensor<2xf32> -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

// dense_resource weights stay resources; in_out + interleaved merges columns
// element by element (checked through the blob's bytes).
// CHECK-LABEL: func.func @resources
// CHECK: %[[W:.*]] = arith.constant dense_resource<glu_gate_up> : tensor<2x4xf16>
// CHECK: glu.ffn silu {{.*}} gate_up %[[W]]
// CHECK: glu_gate_up: "0x08000000003C004000BC00C00042004400C200C4"
// INTER: glu_gate_up: "0x08000000003C00BC004000C0004200C2004400C4"
func.func @resources(%x: tensor<3x2xf16>) -> tensor<3x2xf16> {
  %wg = arith.constant dense_resource<gate> : tensor<2x2xf16>
  %wu = arith.constant dense_resource<up> : tensor<2x2xf16>
  %wd = arith.constant dense<1.0> : tensor<2x2xf16>
  %y = glu.ffn silu %x : tensor<3x2xf16> gate %wg : tensor<2x2xf16> up %wu : tensor<2x2xf16>
         down %wd : tensor<2x2xf16> layout in_out -> tensor<3x2xf16>
  return %y : tensor<3x2xf16>
}
{-#
  dialect_resources: {
    builtin: {
      gate: "0x08000000003C004000420044",
      up: "0x0800000000BC00C000C200C4"
    }
  }
#-}

// -----

// negative_: a weight also used by another op cannot be replaced.
// CHECK-LABEL: func.func @negative_shared_weight
// CHECK: glu.ffn silu {{.*}} gate %{{.*}} up %{{.*}}
func.func @negative_shared_weight(%x: tensor<?x8xf32>, %wg: tensor<16x8xf32>, %wu: tensor<16x8xf32>,
                                  %wd: tensor<8x16xf32>) -> (tensor<?x8xf32>, tensor<16x8xf32>) {
  // expected-remark @+1 {{glu-merge-gate-up: not merged: the weights are neither constants nor arguments of the enclosing function used only by this op}}
  %y = glu.ffn silu %x : tensor<?x8xf32> gate %wg : tensor<16x8xf32> up %wu : tensor<16x8xf32>
         down %wd : tensor<8x16xf32> -> tensor<?x8xf32>
  return %y, %wg : tensor<?x8xf32>, tensor<16x8xf32>
}

// -----

// negative_: a private function's callers could not be given the packed weight.
// CHECK-LABEL: func.func private @negative_private
// CHECK: glu.ffn silu {{.*}} gate %{{.*}} up %{{.*}}
func.func private @negative_private(%x: tensor<?x8xf32>, %wg: tensor<16x8xf32>, %wu: tensor<16x8xf32>,
                                    %wd: tensor<8x16xf32>) -> tensor<?x8xf32> {
  // expected-remark @+1 {{glu-merge-gate-up: not merged: @negative_private is private or called in this module, so its callers cannot be given the packed weight}}
  %y = glu.ffn silu %x : tensor<?x8xf32> gate %wg : tensor<16x8xf32> up %wu : tensor<16x8xf32>
         down %wd : tensor<8x16xf32> -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// negative_: an already merged block is left alone.
// CHECK-LABEL: func.func @negative_merged
// CHECK: glu.ffn silu {{.*}} gate_up %{{.*}} : tensor<32x8xf32>
// CHECK-NOT: pack_gate_up
func.func @negative_merged(%x: tensor<?x8xf32>, %w: tensor<32x8xf32>, %wd: tensor<8x16xf32>) -> tensor<?x8xf32> {
  %y = glu.ffn silu %x : tensor<?x8xf32> gate_up %w : tensor<32x8xf32> down %wd : tensor<8x16xf32> -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}
