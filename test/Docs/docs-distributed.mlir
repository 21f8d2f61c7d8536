// docs/distributed.md's code blocks, run as written (readme_blocks.py) in
// one directory: inputs, the block split for 2 ranks through swiglu-run
// under mpirun, a compiled library called from C and from Python on 2
// ranks, and the
// outputs against numpy and the single process.
// REQUIRES: numpy, mpi
// RUN: %python %S/readme_blocks.py %swiglu_src/docs/distributed.md --src %swiglu_src \
// RUN:   --build %swiglu_obj --python %python --workdir %t | FileCheck %s
// CHECK: === docs/distributed.md:{{[0-9]+}} (python)
// CHECK: === docs/distributed.md:{{[0-9]+}} (sh)
// CHECK: === docs/distributed.md:{{[0-9]+}} (sh)
// CHECK: tp: ranks=2 tokens=16 calls=5 median_ms={{[0-9.]+}}
// CHECK: === docs/distributed.md:{{[0-9]+}} (sh)
// CHECK: tp.py: rank 0 wrote out_py2.npy (16, 1024)
// CHECK: === docs/distributed.md:{{[0-9]+}} (sh)
// CHECK: out_one.npy: MATCH
// CHECK: out_tp2.npy: MATCH
// CHECK: out_lib2.npy: MATCH
// CHECK: out_py2.npy: MATCH
// CHECK: README BLOCKS: 5 run, 1 skipped, all passed
