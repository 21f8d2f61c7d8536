#!/usr/bin/env python3
"""What the code we generate needs at run time: nothing beyond libc, libm and
the OpenMP runtime, on any x86 CPU.

Every combination of op, element types and accumulation type below is
compiled through every CPU route, for several target CPUs, and the symbols
each artifact leaves undefined are checked against what libc, libm and
libomp export:

  swiglu-compile    the shared library it links (fast and --reference
                    pipelines); also its DT_NEEDED entries, which must be
                    libc, libm or libomp;
  python            the Python package (the C API's swigluCompileModule, an
                    object file, linked by the package into a .so);
  swiglu-run        the object its JIT compiled (--object-file).

Targets: the host without AVX512_BF16 (what Intel Xeons whose hypervisor
hides it look like; on such a CPU LLVM lowers f32 -> bf16 to a call of
compiler-rt's __truncsfbf2, which nothing links); x86-64 (no AVX, no F16C:
f16 conversions would call __truncsfhf2/__extendhfsf2); icelake-server
(through swiglu-compile only: it may not run here); with --all-targets the
host as it is too.

Prints one line per artifact, `OK <route> <target> <case>` or `BAD ... needs
<symbols>`, then `ALL <n> ARTIFACTS CLEAN` or `<k> OF <n> ARTIFACTS NEED
MORE`, and exits non-zero if any does.

Usage: runtime_deps.py --build BUILD --python-dir SRC/python --workdir DIR
           [--quick]
"""

import argparse
import os
import re
import subprocess
import sys

# (name, x type, weight type, acc type or None, op template). {X} {W} the
# element types; {ACC} the acc_type attribute dictionary (or nothing).
OPS = {
    "ffn": """
func.func @case(%x: tensor<?x64x{X}>, %wg: tensor<96x64x{W}>, %wu: tensor<96x64x{W}>,
                %wd: tensor<64x96x{W}>) -> tensor<?x64x{X}> {
  %y = glu.ffn silu %x : tensor<?x64x{X}> gate %wg : tensor<96x64x{W}>
         up %wu : tensor<96x64x{W}> down %wd : tensor<64x96x{W}> {ACC}
         -> tensor<?x64x{X}>
  return %y : tensor<?x64x{X}>
}""",
    "ffn-merged-bias": """
func.func @case(%x: tensor<?x64x{X}>, %w: tensor<64x192x{W}>, %wd: tensor<96x48x{W}>,
                %b: tensor<192x{X}>, %bd: tensor<48x{X}>) -> tensor<?x48x{X}> {
  %y = glu.ffn gelu_tanh %x : tensor<?x64x{X}> gate_up %w : tensor<64x192x{W}>
         down %wd : tensor<96x48x{W}> gate_up_bias %b : tensor<192x{X}>
         down_bias %bd : tensor<48x{X}> packing interleaved layout in_out {ACC}
         -> tensor<?x48x{X}>
  return %y : tensor<?x48x{X}>
}""",
    "mlp": """
func.func @case(%x: tensor<?x64x{X}>, %w1: tensor<96x64x{W}>, %w2: tensor<64x96x{W}>,
                %b1: tensor<96x{X}>) -> tensor<?x64x{X}> {
  %y = glu.mlp gelu_erf %x : tensor<?x64x{X}> up %w1 : tensor<96x64x{W}>
         down %w2 : tensor<64x96x{W}> up_bias %b1 : tensor<96x{X}> {ACC}
         -> tensor<?x64x{X}>
  return %y : tensor<?x64x{X}>
}""",
    "gate_up": """
func.func @case(%x: tensor<?x64x{X}>, %w: tensor<192x64x{W}>) -> tensor<?x96x{X}> {
  %y = glu.gate_up relu %x : tensor<?x64x{X}> gate_up %w : tensor<192x64x{W}> {ACC}
         -> tensor<?x96x{X}>
  return %y : tensor<?x96x{X}>
}""",
    "gate": """
func.func @case(%g: tensor<?x96x{X}>, %u: tensor<?x96x{X}>) -> tensor<?x96x{X}> {
  %y = glu.gate clamped_swiglu %g, %u {ACC_INNER} : tensor<?x96x{X}>
  return %y : tensor<?x96x{X}>
}""",
}

# (x type, weight type, acc type): the element types the dialect allows,
# with every accumulation type it allows.
TYPES = [
    ("f32", "f32", None), ("bf16", "bf16", None), ("f16", "f16", None),
    ("f32", "bf16", None), ("f32", "f16", None), ("bf16", "f32", None),
    ("bf16", "bf16", "f64"), ("f16", "f16", "f64"), ("bf16", "bf16", "bf16"),
    ("f16", "f16", "f16"), ("f32", "f32", "f64"),
]
QUICK_TYPES = [("bf16", "bf16", None), ("f16", "f16", None),
               ("bf16", "bf16", "f64"), ("bf16", "bf16", "bf16")]

# (name, target-cpu, target-features, runs here)
# (name, target-cpu, target-features, every route: else swiglu-compile only,
# for a CPU that may not run here). The host with AVX512_BF16, if it has it,
# is the one case that cannot call __truncsfbf2; --all-targets adds it.
TARGETS = [
    ("host-no-bf16", "host", "-avx512bf16", True),
    ("x86-64", "x86-64", "", True),
    ("icelake-server", "icelake-server", "", False),
]
HOST = ("host", "host", "", True)

ALLOWED_NEEDED = {"libc.so.6", "libm.so.6", "libomp.so.5"}

# LLVM's binutils (set from --llvm-bin).
NM = "llvm-nm"
READELF = "llvm-readelf"


def case_text(op, x, w, acc):
    text = OPS[op].replace("{X}", x).replace("{W}", w)
    if op == "gate":
        inner = "{acc_type = %s, limit = 7.0 : f32}" % acc if acc else ""
        return text.replace("{ACC_INNER}", inner)
    return text.replace("{ACC}", "{acc_type = %s}" % acc if acc else "")


def exported(paths):
    """Every dynamic symbol the libraries at `paths` define."""
    names = set()
    for path in paths:
        out = subprocess.run([NM, "-D", "--defined-only", path],
                             capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            parts = line.split()
            if len(parts) >= 3:
                names.add(parts[2].split("@")[0])
    return names


def undefined(path):
    """Undefined symbols of an object or shared library (weak ones left
    out: the loader does not need them)."""
    args = [NM, "-u"] + (["-D"] if path.endswith(".so") else []) + [path]
    out = subprocess.run(args, capture_output=True, text=True,
                         check=True).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "U":
            names.add(parts[1].split("@")[0])
    return names


def needed(path):
    out = subprocess.run([READELF, "-d", path], capture_output=True,
                         text=True, check=True).stdout
    return set(re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out))


def find_library(name, extra_dirs):
    for d in extra_dirs + ["/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
                           "/lib64", "/usr/lib64", "/lib", "/usr/lib"]:
        p = os.path.join(d, name)
        if os.path.exists(p):
            return os.path.realpath(p)
    sys.exit("error: %s not found" % name)


def inputs(text, workdir, name):
    """Small random .npy files for @case's arguments (swiglu-run's
    convention: bf16 as its uint16 bit patterns); 5 tokens."""
    import numpy as np
    import ml_dtypes
    rng = np.random.default_rng(0)
    paths = []
    for i, (dims, elem) in enumerate(re.findall(
            r"%\w+: tensor<((?:[?\d]+x)+)(\w+)>", text.split("->")[0])):
        shape = [5 if d == "?" else int(d) for d in dims.rstrip("x").split("x")]
        a = rng.standard_normal(shape).astype(np.float32) * 0.5
        if elem == "bf16":
            a = a.astype(ml_dtypes.bfloat16).view(np.uint16)
        elif elem == "f16":
            a = a.astype(np.float16)
        path = os.path.join(workdir, "%s.arg%d.npy" % (name, i))
        np.save(path, a)
        paths.append(path)
    return paths


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--python-dir", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--llvm-lib", default="/usr/lib/llvm-22/lib")
    ap.add_argument("--llvm-bin", default="/usr/lib/llvm-22/bin")
    ap.add_argument("--quick", action="store_true",
                    help="bf16/f16 types only")
    ap.add_argument("--all-targets", action="store_true",
                    help="the host as it is too")
    args = ap.parse_args()
    global NM, READELF
    NM = os.path.join(args.llvm_bin, "llvm-nm")
    READELF = os.path.join(args.llvm_bin, "llvm-readelf")
    os.makedirs(args.workdir, exist_ok=True)
    sys.path.insert(0, args.python_dir)
    os.environ.setdefault("SWIGLU_CAPI_LIBRARY",
                          os.path.join(args.build, "lib", "libSwigluCAPI.so"))
    from swiglu import _capi
    from swiglu.ffn import Library

    allowed = exported([find_library("libc.so.6", []),
                        find_library("libm.so.6", []),
                        find_library("libomp.so.5", [args.llvm_lib])])
    compile_tool = os.path.join(args.build, "bin", "swiglu-compile")
    run_tool = os.path.join(args.build, "bin", "swiglu-run")
    ctx = _capi.Context()
    total = bad = 0

    def check(route, target, name, path, so):
        nonlocal total, bad
        total += 1
        missing = sorted(undefined(path) - allowed)
        extra = sorted(needed(path) - ALLOWED_NEEDED) if so else []
        if missing or extra:
            bad += 1
            print("BAD %s %s %s needs %s" % (
                route, target, name,
                " ".join(missing + ["[NEEDED %s]" % n for n in extra])),
                flush=True)
        else:
            print("OK %s %s %s" % (route, target, name), flush=True)

    types = QUICK_TYPES if args.quick else TYPES
    for op in OPS:
        for x, w, acc in types:
            if op == "gate" and w != x:
                continue  # glu.gate has no weights
            name = "%s.%s.%s.acc-%s" % (op, x, w, acc or "default")
            src = os.path.join(args.workdir, name + ".mlir")
            text = case_text(op, x, w, acc)
            with open(src, "w") as f:
                f.write(text)
            for tname, cpu, features, runs in TARGETS + ([HOST] if args.all_targets else []):
                opts = "target-cpu=%s" % cpu
                if features:
                    opts += " target-features=%s" % features
                base = os.path.join(args.workdir, "%s.%s" % (name, tname))
                for pipeline, flag in (("fast", []), ("reference", ["--reference"])):
                    so = "%s.%s.so" % (base, pipeline)
                    subprocess.run([compile_tool, src, "-o", so,
                                    "--options=" + opts] + flag, check=True)
                    check("swiglu-compile-" + pipeline, tname, name, so, True)
                if not runs:
                    continue
                code = ctx.compile(text, "cpu{%s}" % opts)
                library = Library(code)
                check("python", tname, name,
                      os.path.join(library._dir.name, "f.so"), True)
                if runs:
                    obj = base + ".jit.o"
                    subprocess.run(
                        [run_tool, src, "--entry=case",
                         "--pipeline=glu-cpu-pipeline{pack-at-load=false %s}" % opts,
                         "--target-cpu=" + cpu,
                         "--target-features=" + features,
                         "--object-file=" + obj] +
                        [a for p in inputs(text, args.workdir, name) for a in ("-i", p)],
                        check=True, stdout=subprocess.DEVNULL)
                    check("swiglu-run", tname, name, obj, False)
    ctx.close()
    if bad:
        print("%d OF %d ARTIFACTS NEED MORE" % (bad, total))
        return 1
    print("ALL %d ARTIFACTS CLEAN" % total)
    return 0


if __name__ == "__main__":
    sys.exit(main())
