// RUN: swiglu-opt %s --split-input-file --convert-glu-to-cpu-kernels='threads=2' | FileCheck %s
// RUN: swiglu-opt %s --split-input-file --convert-glu-to-cpu-kernels='threads=2 pack-at-load=false' | FileCheck %s --check-prefix=PERCALL
// RUN: swiglu-opt %s --split-input-file --convert-glu-to-cpu-kernels='threads=2 bf16-dot=true' | FileCheck %s --check-prefix=DOT
// RUN: swiglu-opt %s --split-input-file --convert-glu-to-cpu-kernels='remarks=true' -verify-diagnostics -o /dev/null

// Argument weights of a public function are packed once by an emitted
// packing function; the function takes the panels in their place:
// [ceil(F / 32)][K][64] for gate/up (32 gate then 32 up features a panel)
// and [ceil(N / 64)][padded F][64] for the down projection.
// CHECK-LABEL: func.func @ffn(
// CHECK-SAME:    %{{.*}}: tensor<?x96xf32>,
// CHECK-SAME:    %{{.*}}: tensor<4x96x64xf32> {glu.packed_by = @ffn_pack_weights},
// CHECK-SAME:    %{{.*}}: tensor<2x128x64xf32> {glu.packed_by = @ffn_pack_weights},
// CHECK-SAME:    %{{.*}}: tensor<100xf32>)
// CHECK-NOT:     glu.ffn
// Two workers, each calling the panel functions (one copy of the
// micro-kernels for both ways of splitting the work).
// CHECK:         scf.forall (%{{.*}}) in (2)
// CHECK:         func.call @__glu_cpu_panel(
// CHECK:         func.call @__glu_cpu_down_panel(
// CHECK-LABEL: func.func @ffn_pack_weights(
// CHECK-SAME:    tensor<100x96xf32>, %{{.*}}: tensor<100x96xf32>, %{{.*}}: tensor<80x100xf32>)
// CHECK-SAME:    -> (tensor<4x96x64xf32>, tensor<2x128x64xf32>)
// CHECK-SAME:    attributes {glu.packing_function, glu.packs = array<i64: 1, 2, 3>}
// The micro-kernel accumulates 6 rows x 4 vectors; the epilogue gates.
// CHECK-LABEL: func.func private @__glu_cpu_panel(
// CHECK:         scf.index_switch
// CHECK-COUNT-24:  vector.fma {{.*}} : vector<16xf32>
// CHECK:         math.exp {{.*}} : vector<16xf32>
// CHECK-LABEL: func.func private @__glu_cpu_down_panel(
// CHECK:         vector.maskedstore

// PERCALL-LABEL: func.func @ffn(
// PERCALL-SAME:    tensor<100x96xf32>, %{{.*}}: tensor<100x96xf32>, %{{.*}}: tensor<80x100xf32>, %{{.*}}: tensor<100xf32>)
// PERCALL:         call @__glu_cpu_pack_ffn_0(
// PERCALL-LABEL: func.func private @__glu_cpu_pack_ffn_0(
func.func @ffn(%x: tensor<?x96xf32>, %wg: tensor<100x96xf32>, %wu: tensor<100x96xf32>,
               %wd: tensor<80x100xf32>, %bg: tensor<100xf32>) -> tensor<?x80xf32> {
  %y = glu.ffn silu %x : tensor<?x96xf32>
      gate %wg : tensor<100x96xf32> up %wu : tensor<100x96xf32>
      down %wd : tensor<80x100xf32> gate_bias %bg : tensor<100xf32>
      -> tensor<?x80xf32>
  return %y : tensor<?x80xf32>
}

// -----

// bf16 x and weights: with bf16-dot the gate/up panels hold k pairs
// ([P][K/2][128]) and the micro-kernel uses AVX512-BF16 dot products; the
// down projection (f32 hidden) keeps f32 FMAs on widened bf16 weights.
// DOT-LABEL: func.func @bf16(
// DOT-SAME:    tensor<2x32x128xbf16> {glu.packed_by = @bf16_pack_weights}
// DOT-LABEL: func.func private @__glu_cpu_panel
// DOT:         x86vector.avx512.dot {{.*}} : vector<32xbf16> -> vector<16xf32>
// DOT-LABEL: func.func private @__glu_cpu_down_panel
// DOT:         vector.fma {{.*}} : vector<16xf32>
func.func @bf16(%x: tensor<3x64xbf16>, %wgu: tensor<128x64xbf16>, %wd: tensor<64x64xbf16>)
    -> tensor<3x64xbf16> {
  %y = glu.ffn gelu_tanh %x : tensor<3x64xbf16> gate_up %wgu : tensor<128x64xbf16>
      down %wd : tensor<64x64xbf16> packing interleaved -> tensor<3x64xbf16>
  return %y : tensor<3x64xbf16>
}

// -----

// Weights of a function that is called in the module cannot become
// arguments of another type: they are packed on every call.
// CHECK-LABEL: func.func private @callee(
// CHECK:         call @__glu_cpu_pack_callee_0
func.func private @callee(%x: tensor<4x32xf32>, %w1: tensor<32x64xf32>, %w2: tensor<64x32xf32>)
    -> tensor<4x32xf32> {
  %y = glu.mlp relu %x : tensor<4x32xf32> up %w1 : tensor<32x64xf32>
      down %w2 : tensor<64x32xf32> layout in_out -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}
func.func @caller(%x: tensor<4x32xf32>, %w1: tensor<32x64xf32>, %w2: tensor<64x32xf32>)
    -> tensor<4x32xf32> {
  %y = func.call @callee(%x, %w1, %w2) : (tensor<4x32xf32>, tensor<32x64xf32>, tensor<64x32xf32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

// -----

// Accumulation in another type than f32 is left to the reference lowering.
// CHECK-LABEL: func.func @acc_f64(
// CHECK:         glu.gate_up
func.func @acc_f64(%x: tensor<4x32xf32>, %w: tensor<64x32xf32>) -> tensor<4x32xf32> {
  // expected-remark @below {{convert-glu-to-cpu-kernels: left to the reference lowering: acc_type 'f64' (the kernels accumulate in f32)}}
  %y = glu.gate_up silu %x : tensor<4x32xf32> gate_up %w : tensor<64x32xf32>
      {acc_type = f64} -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

// -----

// Constant weights are packed at compile time into constant panels: gate
// feature 0 (1.0) and up feature 0 (2.0) land in columns 0 and 32 of panel
// 0; the padding is zero.
// CHECK-LABEL: func.func @constants(
// CHECK-NOT:     __glu_cpu_pack
// CHECK:         arith.constant dense<{{.*}}> : tensor<1x2x64xf32>
// CHECK-NOT:     __glu_cpu_pack
func.func @constants(%x: tensor<4x2xf32>) -> tensor<4x1xf32> {
  %w = arith.constant dense<[[1.0, 0.0], [2.0, 0.0]]> : tensor<2x2xf32>
  %y = glu.gate_up silu %x : tensor<4x2xf32> gate_up %w : tensor<2x2xf32> -> tensor<4x1xf32>
  return %y : tensor<4x1xf32>
}
