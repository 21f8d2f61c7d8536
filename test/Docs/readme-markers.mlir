// Every code block of the README and of every page of docs/ says whether
// test/Docs runs it (readme_blocks.py --list, which fails on a block
// without a marker or an unterminated one; a directory stands for its *.md
// files, so a new page is checked without a change here).
// RUN: %python %S/readme_blocks.py --list %swiglu_src/README.md %swiglu_src/docs --src %swiglu_src | FileCheck %s
// CHECK: README.md:{{[0-9]+}} sh skip: installs packages and runs the whole test suite
// CHECK: README.md:{{[0-9]+}} sh run
// CHECK: README.md:{{[0-9]+}} python run
// CHECK: docs/README.md:{{[0-9]+}} - skip: a directory listing
// CHECK: docs/benchmarks.md:{{[0-9]+}} sh skip:
// CHECK: docs/capi.md:{{[0-9]+}} sh run
// CHECK: docs/dialect.md:{{[0-9]+}} mlir skip:
// CHECK: docs/gpu.md:{{[0-9]+}} sh skip:
// CHECK: docs/passes.md:{{[0-9]+}} sh run
// CHECK: docs/python.md:{{[0-9]+}} python run
// CHECK: docs/tools.md:{{[0-9]+}} python run
// The errors it reports.
// RUN: not %python %S/readme_blocks.py %S/Inputs/unmarked.md --src %swiglu_src --build %swiglu_obj --list 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: unmarked.md:5: code block (sh) without a `<!-- readme-test: run -->` or `<!-- readme-test: skip: why -->` marker on the line before it
// BAD: unmarked.md:11: a skipped block needs a reason
// BAD: unmarked.md:16: cannot run a 'cmake' block
// RUN: not %python %S/readme_blocks.py --list %S/Inputs/failing.md %S/Inputs/unmarked.md --src %swiglu_src > %t.out 2> %t.err
// RUN: FileCheck %s --check-prefix=LIST < %t.out
// RUN: FileCheck %s --check-prefix=BAD < %t.err
// LIST: test/Docs/Inputs/failing.md:4 sh run
// RUN: not %python %S/readme_blocks.py %swiglu_src/README.md %swiglu_src/docs --src %swiglu_src --build %swiglu_obj 2>&1 | FileCheck %s --check-prefix=ONE
// ONE: error: runs one Markdown file at a time (several only with --list)
// RUN: not %python %S/readme_blocks.py %S/Inputs/failing.md --src %swiglu_src --build %swiglu_obj --workdir %t 2>&1 | FileCheck %s --check-prefix=FAIL
// FAIL: === test/Docs/Inputs/failing.md:4 (sh)
// FAIL: FAIL test/Docs/Inputs/failing.md:4: the sh block exited with 3
