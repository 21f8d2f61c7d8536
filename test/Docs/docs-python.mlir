// docs/python.md's code blocks, run as written (readme_blocks.py): the
// Python package (compiled, bound, checked against numpy, the reference
// lowering) and the PyTorch front end.
// REQUIRES: numpy, torch
// RUN: %python %S/readme_blocks.py %swiglu_src/docs/python.md --src %swiglu_src \
// RUN:   --build %swiglu_obj --python %python --workdir %t | FileCheck %s
// CHECK: === docs/python.md:{{[0-9]+}} (python)
// CHECK: glu.ffn silu
// CHECK: === docs/python.md:{{[0-9]+}} (python)
// CHECK: [('1', 'replaced')]
// CHECK: README BLOCKS: 2 run, 1 skipped, all passed
