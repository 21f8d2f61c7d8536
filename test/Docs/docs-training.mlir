// docs/training.md's code block, run as written (readme_blocks.py): the
// compiled glu.ffn_grad with dropout against the numpy reference.
// REQUIRES: numpy
// RUN: %python %S/readme_blocks.py %swiglu_src/docs/training.md --src %swiglu_src \
// RUN:   --build %swiglu_obj --python %python --workdir %t | FileCheck %s
// CHECK: === docs/training.md:{{[0-9]+}} (python)
// CHECK: glu.ffn_grad silu %x : tensor<?x64xf32> grad %dy : tensor<?x64xf32>
// CHECK: README BLOCKS: 1 run, 4 skipped, all passed
