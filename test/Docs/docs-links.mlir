// Every relative link of the README and of the pages of docs/ names a file
// that exists, and a heading of it for an #anchor; every page with a block
// marked run has a lit test here that runs it (docs_check.py).
// RUN: %python %S/docs_check.py --src %swiglu_src --tests %S %swiglu_src/README.md %swiglu_src/docs | FileCheck %s
// CHECK-NOT: {{^}}README.md:
// CHECK-NOT: {{^}}docs/
// CHECK: DOCS: {{[0-9]+}} files, {{[0-9]+}} links, all good
// What it reports (Inputs/badlinks.md; failing.md has a run block that no
// test names as %swiglu_src/...; unmarked.md's blocks have no markers).
// RUN: not %python %S/docs_check.py --src %swiglu_src --tests %S %S/Inputs | FileCheck %s --check-prefix=BAD
// BAD: test/Docs/Inputs/badlinks.md:7: link 'nowhere.md': no such file test/Docs/Inputs/nowhere.md
// BAD-NEXT: test/Docs/Inputs/badlinks.md:7: link 'failing.md#no-such-heading': test/Docs/Inputs/failing.md has no heading with the anchor #no-such-heading
// BAD-NEXT: test/Docs/Inputs/badlinks.md:8: link '#nothing': test/Docs/Inputs/badlinks.md has no heading with the anchor #nothing
// BAD-NEXT: test/Docs/Inputs/badlinks.md:8: link '../../../../../../etc/passwd' leaves the source tree
// BAD-NEXT: test/Docs/Inputs/failing.md: has blocks marked run, but no lit test in test/Docs runs it
// BAD-NEXT: unmarked.md:5: code block (sh) without a
// BAD: DOCS: 3 files, 8 links, 8 problems
