// glu.ffn with merged gate/up weights (concat and interleaved), every
// activation, both layouts, emulated: f32 through the simt kernels
// (shared-memory tiles), bf16 through the tensor-core kernels (nvvm.mma.sync
// on packed bf16 pairs).
// REQUIRES: numpy
// RUN: env SWIGLU_GPU_EMULATE_OPTIONS=decode-tokens=0 %python %S/../Execution/run_cases.py --suite ffn-merged-f32 --case '[.]bias$' --workdir %t.simt --swiglu-run %swiglu_obj/bin/swiglu-gpu-emulate | FileCheck %s --check-prefix=SIMT
// RUN: env SWIGLU_GPU_EMULATE_OPTIONS=decode-tokens=0 %python %S/../Execution/run_cases.py --suite ffn-merged-bf16 --case 'nobias$' --workdir %t.mma --swiglu-run %swiglu_obj/bin/swiglu-gpu-emulate | FileCheck %s --check-prefix=MMA
// SIMT-NOT: FAIL
// SIMT: ALL 44 CASES PASSED
// MMA-NOT: FAIL
// MMA: ALL 44 CASES PASSED
