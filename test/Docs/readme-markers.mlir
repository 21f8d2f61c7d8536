// Every code block of the README says whether readme.mlir runs it, and a
// block without a marker, or an unterminated one, is an error.
// RUN: %python %S/readme_blocks.py %swiglu_src/README.md --src %swiglu_src --build %swiglu_obj --list | FileCheck %s
// CHECK: README.md:{{[0-9]+}} sh run
// CHECK: README.md:{{[0-9]+}} python run
// RUN: not %python %S/readme_blocks.py %S/Inputs/unmarked.md --src %swiglu_src --build %swiglu_obj --list 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: unmarked.md:5: code block (sh) without a `<!-- readme-test: run -->` or `<!-- readme-test: skip: why -->` marker on the line before it
// BAD: unmarked.md:11: a skipped block needs a reason
// BAD: unmarked.md:16: cannot run a 'cmake' block
// RUN: not %python %S/readme_blocks.py %S/Inputs/failing.md --src %swiglu_src --build %swiglu_obj --workdir %t 2>&1 | FileCheck %s --check-prefix=FAIL
// FAIL: === failing.md:4 (sh)
// FAIL: FAIL failing.md:4: the sh block exited with 3
