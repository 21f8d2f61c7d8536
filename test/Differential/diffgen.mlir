// A fixed-seed batch of differential cases: random op × activation (β, α,
// limit) × types (mixed weights, acc_type) × layout × packing × biases ×
// shapes (1, primes, rank 1-4, dynamic dims) × pipeline (reference,
// glu-fuse-activation, glu-fuse-ffn, glu-fuse with random tiles), each run
// with swiglu-run and compared with the numpy reference (about 40 s).
// `scripts/soak.sh [minutes]` runs random seeds instead.
// REQUIRES: numpy
// RUN: %python %S/diffgen.py --seed 1000 --cases 200 --workdir %t | FileCheck %s
// CHECK-NOT: FAIL
// CHECK: ALL 200 CASES PASSED
