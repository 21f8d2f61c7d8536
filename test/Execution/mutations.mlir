// The tolerances are tight enough to catch real bugs: every result is also
// compared with deliberately wrong references (gate/up swapped, the other
// packing, weights read in the other layout, a bias dropped or swapped, a
// neighbouring activation, another beta/alpha, no clamping), and each of
// these must be detected. The only mutants allowed to go unnoticed are
// marked informative (gelu_erf vs gelu_tanh after a projection: the two GELUs
// differ by <= 4.7e-4, below the accumulation bound; glu.gate tells them
// apart; and rounding ffn's hidden, about one output rounding).
// REQUIRES: numpy
// RUN: %python %S/run_cases.py --suite mutations --mutations --workdir %t | FileCheck %s
// CHECK-NOT: SURVIVED
// CHECK-NOT: FAIL
// CHECK: MUTANT mut.ffn.separate.silu.f32 swap-gate-up detected
// CHECK: MUTANT mut.ffn.separate.silu.f32 transposed-weights detected
// CHECK: MUTANT mut.ffn.separate.silu.f32 drop-gate_bias detected
// CHECK: MUTANT mut.ffn.separate.silu.f32 drop-up_bias detected
// CHECK: MUTANT mut.ffn.separate.silu.f32 drop-down_bias detected
// CHECK: MUTANT mut.ffn.separate.silu.f32 act-gelu_erf detected
// CHECK: MUTANT mut.ffn.concat.clamped.f32.in_out packing-interleaved detected
// CHECK: MUTANT mut.ffn.concat.clamped.f32.in_out no-clamp detected
// CHECK: MUTANT mut.gate_up.interleaved.silu.f32 packing-concat detected
// CHECK: MUTANT mut.gate.gelu_erf.f32 act-gelu_tanh detected
// CHECK: MUTANT mut.ffn.interleaved.clamped.bf16.in_out packing-concat detected
// CHECK: MUTANT mut.ffn.interleaved.clamped.bf16.in_out alpha-1.0 detected
// CHECK: ALL 84 CASES PASSED
