// The fast CPU pipeline (--glu-cpu-pipeline: packed weights, register-tiled
// vector kernels, OpenMP) against the independent numpy reference, with the
// same tolerances as the reference lowering. Each case compiles the full
// pipeline, so this is a selection: every op kind, activation, layout,
// packing and dtype appears, with edge sizes and dynamic dims.
// REQUIRES: numpy
//
// Weights packed once by @case_pack_weights (convert-glu-to-cpu-kernels run
// first by swiglu-opt; the driver runs the packing function, then the case):
// RUN: %python %S/run_cases.py --suite ffn-f32 --suite ffn-merged-bf16 \
// RUN:   --case '\.(silu|gelu_tanh|clamped|swish_b1\.5)\..*(out_in\.bias|in_out\.nobias)' \
// RUN:   --passes=--convert-glu-to-cpu-kernels --pipeline=glu-cpu-pipeline \
// RUN:   --workdir %t/load | FileCheck %s
//
// Packing on every call (the entry keeps its signature): edge sizes (1, 7,
// 37, 129 tokens and features, ranks 1-4), dynamic batch dims, mixed
// element types, f16 accumulation (left to the reference lowering), and
// the other op kinds.
// RUN: %python %S/run_cases.py --suite edge --suite dynamic-batch --suite mixed \
// RUN:   --suite acc-f16 --pipeline='glu-cpu-pipeline{pack-at-load=false}' \
// RUN:   --workdir %t/call | FileCheck %s
// RUN: %python %S/run_cases.py --suite mlp --suite gate_up --suite ffn-f16 --suite gate \
// RUN:   --case '\.(sigmoid|identity|relu|gelu_erf)\..*(out_in\.bias|in_out\.nobias)' \
// RUN:   --pipeline='glu-cpu-pipeline{pack-at-load=false}' --workdir %t/kinds | FileCheck %s
//
// Small tiles, three workers and 256-bit vectors: every loop has remainders.
// RUN: %python %S/run_cases.py --suite edge --case 'ffn|mlp|gate_up' \
// RUN:   --pipeline='glu-cpu-pipeline{pack-at-load=false vector-bits=256 micro-rows=3 k-chunk=7 tile-tokens=5 threads=3}' \
// RUN:   --workdir %t/small | FileCheck %s
//
// Small tiles with the host's vectors (AVX-512: micro-rows=3 with 4
// vectors), three workers, K chunks of 8 (even: bf16 dot products take k in
// pairs), token blocks of 5: partial row blocks everywhere.
// RUN: %python %S/run_cases.py --suite edge --case 'ffn|mlp|gate_up' \
// RUN:   --pipeline='glu-cpu-pipeline{pack-at-load=false micro-rows=3 k-chunk=8 tile-tokens=5 threads=3}' \
// RUN:   --workdir %t/small512 | FileCheck %s
//
// The LLaMA-2-7B-shaped bf16 block.
// RUN: %python %S/run_cases.py --suite llama \
// RUN:   --pipeline='glu-cpu-pipeline{pack-at-load=false}' --workdir %t/llama | FileCheck %s

// CHECK-NOT: FAIL
// CHECK: ALL {{[0-9]+}} CASES PASSED
