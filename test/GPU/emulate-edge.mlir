// Edge shapes on the GPU kernels, emulated: 1 token, rank 1 to 4, odd sizes
// (d_model 7/37/129: partial tiles, K not a multiple of 8 so no cp.async,
// scalar decode loads), 129 tokens (several token tiles), dynamic weights,
// d_out != d_model; decode and tiled kernels. Then mixed weight types,
// acc_type f16 and several dynamic batch dims.
// REQUIRES: numpy
// RUN: %python %S/../Execution/run_cases.py --suite edge --workdir %t.decode --swiglu-run %swiglu_obj/bin/swiglu-gpu-emulate | FileCheck %s --check-prefix=EDGE
// RUN: env SWIGLU_GPU_EMULATE_OPTIONS=decode-tokens=0 %python %S/../Execution/run_cases.py --suite edge --workdir %t.tiled --swiglu-run %swiglu_obj/bin/swiglu-gpu-emulate | FileCheck %s --check-prefix=EDGE
// RUN: env SWIGLU_GPU_EMULATE_OPTIONS=decode-tokens=0 %python %S/../Execution/run_cases.py --suite mixed --case '^((?!f64).)*$' --workdir %t.mixed --swiglu-run %swiglu_obj/bin/swiglu-gpu-emulate | FileCheck %s --check-prefix=MIXED
// RUN: %python %S/../Execution/run_cases.py --suite acc-f16 --suite dynamic-batch --workdir %t.acc --swiglu-run %swiglu_obj/bin/swiglu-gpu-emulate | FileCheck %s --check-prefix=ACC
// EDGE-NOT: FAIL
// EDGE: ALL 44 CASES PASSED
// MIXED-NOT: FAIL
// MIXED: ALL 8 CASES PASSED
// ACC-NOT: FAIL
// ACC: ALL 10 CASES PASSED
