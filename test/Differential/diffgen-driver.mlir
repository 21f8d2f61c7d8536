// The generator itself: a seed always gives the same case and pipeline
// (whatever --cases batch it is drawn in), and a failure names its seed and
// the command that replays it, and fails the run.
// REQUIRES: numpy
// RUN: %python %S/diffgen.py --seed 41 --cases 3 --print-mlir > %t.batch
// RUN: %python %S/diffgen.py --seed 42 --cases 1 --print-mlir > %t.one
// RUN: grep -A1000 'seed=42 ' %t.batch | grep -B1000 -m1 '^// seed=43 ' | sed '$d' > %t.from-batch
// RUN: diff %t.one %t.from-batch
// Forcing the pipeline keeps the case and gives that pipeline's options.
// RUN: %python %S/diffgen.py --seed 42 --cases 1 --pipeline fuse-ffn --print-mlir | FileCheck %s --check-prefix=FORCED
// FORCED: // seed=42 pipeline=fuse-ffn --glu-fuse-ffn=tile-tokens={{[0-9]+}} chunk-ff={{[0-9]+}}
//
// A runner that always fails: every case fails, the seeds are listed.
// RUN: not %python %S/diffgen.py --seed 7 --cases 2 --pipeline reference --swiglu-run false --workdir %t.fail > %t.out
// RUN: FileCheck %s --check-prefix=FAIL < %t.out
// FAIL: FAIL seed=7 pipeline=reference diff.7.{{.*}} swiglu-run exited with 1
// FAIL: replay: {{.*}}diffgen.py --seed 7 --cases 1 --pipeline reference --swiglu-run {{.*}}false
// FAIL: FAIL seed=8 pipeline=reference
// FAIL: 2 OF 2 CASES FAILED ({{.*}}); failing seeds: 7 8
//
// Bad arguments are refused.
// RUN: not %python %S/diffgen.py --pipeline no-such-pipeline 2>&1 | FileCheck %s --check-prefix=BADPIPE
// BADPIPE: invalid choice: 'no-such-pipeline'
// RUN: not %python %S/diffgen.py --cases 0 2>&1 | FileCheck %s --check-prefix=BADN
// BADN: --cases must be at least 1
