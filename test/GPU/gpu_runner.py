#!/usr/bin/env python3
"""swiglu-run's command line on a real GPU, for test/Execution/run_cases.py
(--swiglu-run=<this file>):

    gpu_runner.py case.mlir --entry=case -i a.npy ... -o out.npy

compiles the module into a kernel bundle next to the output with
swiglu-gpu-compile (pipeline options from $SWIGLU_GPU_OPTIONS), then runs it
with swiglu-gpu-run. Both tools are taken from $SWIGLU_BIN or PATH."""

import os
import shutil
import subprocess
import sys


def tool(name):
    d = os.environ.get("SWIGLU_BIN")
    return os.path.join(d, name) if d else (shutil.which(name) or name)


def main():
    args = sys.argv[1:]
    mlir = args[0]
    entry = [a for a in args if a.startswith("--entry=")]
    rest = [a for a in args[1:] if not a.startswith("--entry=")]
    out = rest[rest.index("-o") + 1]
    bundle = os.path.join(os.path.dirname(os.path.abspath(out)), "bundle")
    compile_cmd = [tool("swiglu-gpu-compile"), mlir, "-o", bundle]
    if os.environ.get("SWIGLU_GPU_OPTIONS"):
        compile_cmd.append("--pipeline-options=" + os.environ["SWIGLU_GPU_OPTIONS"])
    proc = subprocess.run(compile_cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        return proc.returncode
    return subprocess.run([tool("swiglu-gpu-run"), bundle, *entry, *rest]).returncode


if __name__ == "__main__":
    sys.exit(main())
