// glu.mlp (with biases), glu.gate_up and glu.gate kernels, emulated against the numpy
// reference: mlp with the tiled kernels, gate_up with both the decode and
// the tiled kernels, gate (extreme values, NaN).
// REQUIRES: numpy
// RUN: env SWIGLU_GPU_EMULATE_OPTIONS=decode-tokens=0 %python %S/../Execution/run_cases.py --suite mlp --case '[.]bias$' --workdir %t.mlp --swiglu-run %swiglu_obj/bin/swiglu-gpu-emulate | FileCheck %s --check-prefix=MLP
// RUN: %python %S/../Execution/run_cases.py --suite gate_up --case 'out_in' --workdir %t.gu --swiglu-run %swiglu_obj/bin/swiglu-gpu-emulate | FileCheck %s --check-prefix=GUDECODE
// RUN: env SWIGLU_GPU_EMULATE_OPTIONS=decode-tokens=0 %python %S/../Execution/run_cases.py --suite gate_up --case 'in_out' --workdir %t.gut --swiglu-run %swiglu_obj/bin/swiglu-gpu-emulate | FileCheck %s --check-prefix=GUTILED
// RUN: %python %S/../Execution/run_cases.py --suite gate --workdir %t.gate --swiglu-run %swiglu_obj/bin/swiglu-gpu-emulate | FileCheck %s --check-prefix=GATE
// MLP-NOT: FAIL
// MLP: ALL 39 CASES PASSED
// GUDECODE-NOT: FAIL
// GUDECODE: ALL 36 CASES PASSED
// GUTILED-NOT: FAIL
// GUTILED: ALL 36 CASES PASSED
// GATE-NOT: FAIL
// GATE: ALL 33 CASES PASSED
