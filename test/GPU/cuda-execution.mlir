// On a machine with a usable GPU: the execution suites run on the device
// through kernel bundles (swiglu-gpu-compile, then swiglu-gpu-run via
// gpu_runner.py) and are compared with the float64 numpy reference; with
// 5 tokens (decode kernels) and with the decode kernels off (tensor-core and
// simt kernels). Skipped here (no GPU); see bench/gpu/README.md.
// REQUIRES: cuda-gpu, numpy
// RUN: env SWIGLU_BIN=%swiglu_obj/bin %python %S/../Execution/run_cases.py --suite ffn-bf16 --suite ffn-merged-f16 --suite mlp --suite gate_up --suite gate --suite edge --workdir %t.decode --swiglu-run %S/gpu_runner.py | FileCheck %s
// RUN: env SWIGLU_BIN=%swiglu_obj/bin SWIGLU_GPU_OPTIONS=decode-tokens=0 %python %S/../Execution/run_cases.py --suite ffn-f32 --suite ffn-bf16 --suite ffn-merged-bf16 --suite mlp --suite gate_up --suite edge --workdir %t.tiled --swiglu-run %S/gpu_runner.py | FileCheck %s
// The mma kernels with every stage count and the 128-wide tiles (beyond
// 48 KiB of dynamic shared memory: the launcher's opt-in).
// RUN: env SWIGLU_BIN=%swiglu_obj/bin SWIGLU_GPU_OPTIONS="decode-tokens=0 mma-stages=2" %python %S/../Execution/run_cases.py --suite mma-tiles --suite mixed --case '^((?!f64).)*$' --workdir %t.s2 --swiglu-run %S/gpu_runner.py | FileCheck %s
// RUN: env SWIGLU_BIN=%swiglu_obj/bin SWIGLU_GPU_OPTIONS="decode-tokens=0" %python %S/../Execution/run_cases.py --suite mma-tiles --suite mixed --case '^((?!f64).)*$' --workdir %t.s3 --swiglu-run %S/gpu_runner.py | FileCheck %s
// RUN: env SWIGLU_BIN=%swiglu_obj/bin SWIGLU_GPU_OPTIONS="decode-tokens=0 mma-stages=4 mma-tile-m=128 mma-tile-n=128" %python %S/../Execution/run_cases.py --suite mma-tiles --suite mixed --suite ffn-merged-bf16 --case '^((?!f64).)*$' --workdir %t.s4 --swiglu-run %S/gpu_runner.py | FileCheck %s
// RUN: env SWIGLU_BIN=%swiglu_obj/bin %python %S/../Execution/run_cases.py --suite llama --workdir %t.llama --swiglu-run %S/gpu_runner.py | FileCheck %s
// CHECK-NOT: FAIL
// CHECK: ALL {{[0-9]+}} CASES PASSED
