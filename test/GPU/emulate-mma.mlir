// The tensor-core (mma) kernels, emulated, with every cp.async stage count
// and block tile: ragged token counts, features and reductions against
// the 64/128 tiles and the 32-wide K step, more K steps than stages, and
// each staging path (cp.async along K or N, registers, f32 x as hi + lo).
// The emulator lands a cp.async group only when a wait_group needs it, so
// a stage read before its wait shows stale data; it refuses an ldmatrix
// whose rows conflict on shared-memory banks, and races between warps (a
// stage refilled while another warp may still read it, read before the
// barrier after its copies).
// REQUIRES: numpy
// RUN: env SWIGLU_GPU_EMULATE_OPTIONS="decode-tokens=0 mma-stages=2" %python %S/../Execution/run_cases.py --suite mma-tiles --workdir %t.s2 --swiglu-run %swiglu_obj/bin/swiglu-gpu-emulate | FileCheck %s
// RUN: env SWIGLU_GPU_EMULATE_OPTIONS="decode-tokens=0" %python %S/../Execution/run_cases.py --suite mma-tiles --workdir %t.s3 --swiglu-run %swiglu_obj/bin/swiglu-gpu-emulate | FileCheck %s
// RUN: env SWIGLU_GPU_EMULATE_OPTIONS="decode-tokens=0 mma-stages=4" %python %S/../Execution/run_cases.py --suite mma-tiles --workdir %t.s4 --swiglu-run %swiglu_obj/bin/swiglu-gpu-emulate | FileCheck %s
// RUN: env SWIGLU_GPU_EMULATE_OPTIONS="decode-tokens=0 mma-stages=2 mma-tile-m=128" %python %S/../Execution/run_cases.py --suite mma-tiles --workdir %t.m128 --swiglu-run %swiglu_obj/bin/swiglu-gpu-emulate | FileCheck %s
// RUN: env SWIGLU_GPU_EMULATE_OPTIONS="decode-tokens=0 mma-stages=3 mma-tile-n=128" %python %S/../Execution/run_cases.py --suite mma-tiles --workdir %t.n128 --swiglu-run %swiglu_obj/bin/swiglu-gpu-emulate | FileCheck %s
// RUN: env SWIGLU_GPU_EMULATE_OPTIONS="decode-tokens=0 mma-stages=4 mma-tile-m=128 mma-tile-n=128" %python %S/../Execution/run_cases.py --suite mma-tiles --workdir %t.big --swiglu-run %swiglu_obj/bin/swiglu-gpu-emulate | FileCheck %s
// The existing f16/bf16 suites on the largest tiles.
// RUN: env SWIGLU_GPU_EMULATE_OPTIONS="decode-tokens=0 mma-stages=4 mma-tile-m=128 mma-tile-n=128" %python %S/../Execution/run_cases.py --suite ffn-bf16 --suite ffn-merged-f16 --suite mixed --case '^((?!f64).)*$' --workdir %t.suites --swiglu-run %swiglu_obj/bin/swiglu-gpu-emulate | FileCheck %s --check-prefix=SUITES
// CHECK-NOT: FAIL
// CHECK: ALL 5 CASES PASSED
// SUITES-NOT: FAIL
// SUITES: ALL {{[0-9]+}} CASES PASSED
