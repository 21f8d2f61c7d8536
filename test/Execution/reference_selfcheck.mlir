// Self-checks of the numpy reference (python/swiglu/reference.py): known
// values, overflow-free sigmoid/silu, the clamped SwiGLU formula at hand-
// computed points, packing and layout equivalences, the .npy convention.
// REQUIRES: numpy
// RUN: %python %S/reference_selfcheck.py | FileCheck %s
// CHECK: SELFCHECK OK {{[0-9]+}} checks
