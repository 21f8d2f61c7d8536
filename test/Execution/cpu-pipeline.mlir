// The fast CPU pipeline (--glu-cpu-pipeline: packed weights, register-tiled
// vector kernels, OpenMP) against the independent numpy reference, with the
// same tolerances as the reference lowering.
// REQUIRES: numpy
//
// Weights packed once by @case_pack_weights (convert-glu-to-cpu-kernels run
// first by swiglu-opt; the driver runs the packing function, then the case):
// RUN: %python %S/run_cases.py --suite ffn-f32 --suite ffn-merged-bf16 \
// RUN:   --case '\.(silu|gelu_tanh|clamped|swish_b1\.5|relu)\.' \
// RUN:   --passes=--convert-glu-to-cpu-kernels --pipeline=glu-cpu-pipeline \
// RUN:   --workdir %t/load | FileCheck %s
//
// Packing on every call (the entry keeps its signature): every op kind,
// edge sizes (1, 7, 37, 129 tokens and features), dynamic batch dims,
// mixed element types, f16 accumulation (left to the reference lowering).
// RUN: %python %S/run_cases.py --suite mlp --suite edge --suite dynamic-batch \
// RUN:   --suite mixed --suite acc-f16 --suite gate \
// RUN:   --pipeline='glu-cpu-pipeline{pack-at-load=false}' --workdir %t/call | FileCheck %s
// RUN: %python %S/run_cases.py --suite gate_up --suite ffn-f16 --case 'silu|gelu_erf' \
// RUN:   --pipeline='glu-cpu-pipeline{pack-at-load=false}' --workdir %t/call2 | FileCheck %s
//
// Small tiles, one worker and 256-bit vectors: every loop has remainders.
// RUN: %python %S/run_cases.py --suite edge \
// RUN:   --pipeline='glu-cpu-pipeline{pack-at-load=false vector-bits=256 micro-rows=3 k-chunk=7 tile-tokens=5 threads=3}' \
// RUN:   --workdir %t/small | FileCheck %s
//
// The LLaMA-2-7B-shaped bf16 block.
// RUN: %python %S/run_cases.py --suite llama \
// RUN:   --pipeline='glu-cpu-pipeline{pack-at-load=false}' --workdir %t/llama | FileCheck %s

// CHECK-NOT: FAIL
// CHECK: ALL {{[0-9]+}} CASES PASSED
