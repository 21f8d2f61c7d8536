// PTX for every variant: every op x dtype and every activation x dtype of the
// execution suites (ffn separate/concat/interleaved, mlp, gate_up, gate;
// layouts, packings and biases rotating), through --glu-gpu-pipeline at
// opt-level 0 (the default O3 is covered by ptxas.mlir). No CUDA needed.
// REQUIRES: numpy
// RUN: %python %S/variants.py > %t.mlir
// RUN: swiglu-gpu-compile %t.mlir -o %t.bundle --no-cubin --pipeline-options="opt-level=0" | FileCheck %s --check-prefix=COMPILE
// RUN: %python %S/check_bundle.py %t.bundle 36 | FileCheck %s
// COMPILE: wrote {{.*}} (36 entries, PTX)
// CHECK: BUNDLE 36 entries 192 kernels decode:{{[0-9]+}} mma:{{[0-9]+}} simt:{{[0-9]+}} chip=sm_90 cubin=no
