// The README's example code blocks, run exactly as written (shell blocks
// with bash, the build's and LLVM's tools on PATH; Python blocks with the
// project's Python, PYTHONPATH=python) in a scratch copy of the checkout
// whose build/ is the build under test. Blocks marked
// `<!-- readme-test: skip: why -->` are listed, not run.
// REQUIRES: numpy, torch_mlir
// RUN: %python %S/readme_blocks.py %swiglu_src/README.md --src %swiglu_src \
// RUN:   --build %swiglu_obj --python %python --workdir %t | FileCheck %s
// CHECK: === README.md:{{[0-9]+}} (sh)
// CHECK: remark: glu.ffn silu: d_model=1024 d_ff=2816
// CHECK: === README.md:{{[0-9]+}} (python)
// CHECK: === README.md:{{[0-9]+}} (sh)
// CHECK: ms
// CHECK: === README.md:{{[0-9]+}} (python)
// CHECK: glu.ffn silu
// CHECK: === README.md:{{[0-9]+}} (python)
// CHECK: [('1', 'replaced')]
// CHECK: README BLOCKS: {{[1-9][0-9]*}} run, {{[0-9]+}} skipped, all passed
