// The GPU kernels of glu.ffn, run on the CPU by swiglu-gpu-emulate (the
// kernels' IR interpreted thread by thread, through the launch records) and
// compared with the float64 numpy reference of test/Execution:
// bf16 with 5 tokens (decode kernels: warp per feature, shuffles, 16-byte
// loads, and thread per feature for in_out), f16 with the decode kernels
// off (tensor-core kernels: cp.async staging, nvgpu.mma.sync).
// REQUIRES: numpy
// RUN: %python %S/../Execution/run_cases.py --suite ffn-bf16 --workdir %t.decode --swiglu-run %swiglu_obj/bin/swiglu-gpu-emulate | FileCheck %s --check-prefix=DECODE
// RUN: env SWIGLU_GPU_EMULATE_OPTIONS=decode-tokens=0 %python %S/../Execution/run_cases.py --suite ffn-f16 --workdir %t.mma --swiglu-run %swiglu_obj/bin/swiglu-gpu-emulate | FileCheck %s --check-prefix=MMA
// DECODE-NOT: FAIL
// DECODE: ALL 44 CASES PASSED
// MMA-NOT: FAIL
// MMA: ALL 44 CASES PASSED
