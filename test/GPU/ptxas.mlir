// ptxas (CUDA toolkit) assembles the PTX of every op x dtype for sm_90 and
// of an ffn per dtype for sm_80 (default O3 kernels: decode, mma with
// cp.async and mma.sync, simt).
// REQUIRES: ptxas, numpy
// RUN: %python %S/variants.py --small > %t.mlir
// RUN: %python %S/variants.py --tiny > %t.tiny.mlir
// RUN: swiglu-gpu-compile %t.mlir -o %t.sm90 --chip=sm_90 --ptxas=%ptxas | FileCheck %s --check-prefix=SM90
// RUN: %python %S/check_bundle.py %t.sm90 15 | FileCheck %s --check-prefix=BUNDLE90
// RUN: swiglu-gpu-compile %t.tiny.mlir -o %t.sm80 --chip=sm_80 --ptxas=%ptxas | FileCheck %s --check-prefix=SM80
// RUN: %python %S/check_bundle.py %t.sm80 3 | FileCheck %s --check-prefix=BUNDLE80
// RUN: %ptxas -arch=sm_90 %t.sm90/kernels.ptx -o %t.again.cubin
// SM90: wrote {{.*}} (15 entries, PTX + cubin for sm_90)
// BUNDLE90: BUNDLE 15 entries {{[0-9]+}} kernels decode:{{[0-9]+}} mma:{{[0-9]+}} simt:{{[0-9]+}} chip=sm_90 cubin=yes
// SM80: wrote {{.*}} (3 entries, PTX + cubin for sm_80)
// BUNDLE80: BUNDLE 3 entries {{[0-9]+}} kernels decode:{{[0-9]+}} mma:{{[0-9]+}} simt:{{[0-9]+}} chip=sm_80 cubin=yes
