// The vectorized activation math of the fast CPU pipeline (polynomial
// exp/tanh/erf in the kernels' epilogues) over the whole f32 range, ±Inf and
// NaN, against the float64 numpy reference; and the reference lowering (libm)
// for comparison. See activation_accuracy.py for the error measure.
// REQUIRES: numpy
// RUN: %python %S/activation_accuracy.py --workdir %t/fast | FileCheck %s
// RUN: %python %S/activation_accuracy.py --workdir %t/ref --pipeline=glu-cpu-reference-pipeline | FileCheck %s
// CHECK-NOT: FAIL
// CHECK: ALL ACTIVATIONS ACCURATE
