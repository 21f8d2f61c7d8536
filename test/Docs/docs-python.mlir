// docs/python.md's code blocks, run as written (readme_blocks.py): the
// Python package (compiled, bound, checked against numpy, the reference
// lowering), the PyTorch front end and the torch.compile backend.
// REQUIRES: numpy, torch
// RUN: %python %S/readme_blocks.py %swiglu_src/docs/python.md --src %swiglu_src \
// RUN:   --build %swiglu_obj --python %python --workdir %t | FileCheck %s
// CHECK: === docs/python.md:{{[0-9]+}} (python)
// CHECK: glu.ffn silu
// CHECK: === docs/python.md:{{[0-9]+}} (python)
// CHECK: 1: replaced
// CHECK-NEXT: ffn silu d_model=64 d_ff=176 d_out=64 f32 from MLP (gate_proj/up_proj/down_proj); dispatch auto
// CHECK: === docs/python.md:{{[0-9]+}} (python)
// CHECK: 1: replaced
// CHECK-NEXT: mlp gelu_erf d_model=64 d_ff=256 d_out=64 f32 bias
// CHECK: README BLOCKS: 4 run, 3 skipped, all passed
