#!/usr/bin/env python3
"""Runs the example code blocks of a Markdown file exactly as written.

The README and every page of docs/ are such files: test/Docs has a lit test
per file with blocks to run (readme.mlir, docs-<page>.mlir), and
readme-markers.mlir lists the blocks of all of them (--list).

Every fenced code block of the file must be preceded (on the line before
its opening fence, blank lines allowed in between) by one of

  <!-- readme-test: run -->
  <!-- readme-test: skip: <why> -->

so that a new example cannot silently escape the test. The blocks marked
`run` are run in order, in one scratch directory that mirrors the checkout
(a symlink to each top-level entry of the source tree, and `build` linking
to the build directory under test), so relative paths such as
`build/bin/swiglu-opt` or `examples/llama_ffn/llama_ffn.mlir` mean what they
mean in a checkout, and files that one block writes are there for the next:

  * sh / bash blocks: `bash -e -o pipefail <block>`, with the build's tools,
    LLVM's tools (mlir-opt, FileCheck) and the Python environment on PATH;
  * python blocks: the given Python (the project's virtual environment) with
    PYTHONPATH=python, as the README says.

SWIGLU_CAPI_LIBRARY points the Python package at the build under test.
A block's output is printed under a `=== <file>:<line> (<lang>)` header,
<file> being the path relative to SRC (README.md, docs/cpu.md); the run
fails at the first block that exits non-zero, or that runs longer than
--timeout. Ends with `README BLOCKS: <n> run, <k> skipped, all passed`.

With --list, nothing is run: each block of each file is listed with what
would be done with it, and a block without a marker fails. --list takes
several files, and a directory stands for its *.md files.

Usage: readme_blocks.py FILE.md --src SRC --build BUILD --python PY
           [--llvm-bin DIR] [--workdir DIR]
       readme_blocks.py --list FILE.md|DIR... --src SRC [--build BUILD]
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

MARKER = re.compile(r"^<!--\s*readme-test:\s*(run|skip)\b\s*:?\s*(.*?)\s*-->\s*$")
FENCE = re.compile(r"^(```+|~~~+)\s*([\w+-]*)")
LANGS = {"sh": "sh", "bash": "sh", "shell": "sh", "python": "python",
         "py": "python"}


def parse_blocks(path):
    """[(line, lang, text, action, reason)] of every fenced block; raises
    ValueError naming a block without a marker."""
    lines = open(path, encoding="utf-8").read().split("\n")
    blocks, errors = [], []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, lang = m.group(1), m.group(2).lower()
        start = i + 1
        j = start
        while j < len(lines) and not lines[j].startswith(fence):
            j += 1
        if j == len(lines):
            errors.append("%s:%d: unterminated code block" % (path, i + 1))
            break
        k = i - 1
        while k >= 0 and not lines[k].strip():
            k -= 1
        mk = MARKER.match(lines[k].strip()) if k >= 0 else None
        if not mk:
            errors.append("%s:%d: code block (%s) without a `<!-- readme-test: "
                          "run -->` or `<!-- readme-test: skip: why -->` "
                          "marker on the line before it" % (path, i + 1,
                                                             lang or "no language"))
        else:
            action, reason = mk.group(1), mk.group(2)
            if action == "run" and lang not in LANGS:
                errors.append("%s:%d: cannot run a %r block (only %s)" % (
                    path, i + 1, lang, ", ".join(sorted(LANGS))))
            if action == "skip" and not reason:
                errors.append("%s:%d: a skipped block needs a reason "
                              "(`<!-- readme-test: skip: why -->`)" % (path, i + 1))
            blocks.append((i + 1, lang, "\n".join(lines[start:j]) + "\n",
                           action, reason))
        i = j + 1
    if errors:
        raise ValueError("\n".join(errors))
    return blocks


def display_name(path, src):
    """`path` relative to the source tree when it lies in it (README.md,
    docs/cpu.md), else its base name."""
    path, src = os.path.realpath(path), os.path.realpath(src)
    if os.path.commonpath([path, src]) == src:
        return os.path.relpath(path, src)
    return os.path.basename(path)


def expand(paths):
    """The files named, a directory standing for its *.md files (sorted)."""
    files = []
    for p in paths:
        if os.path.isdir(p):
            files += sorted(os.path.join(p, n) for n in os.listdir(p)
                            if n.endswith(".md"))
        else:
            files.append(p)
    return files


def make_scratch(src, build, workdir):
    """A directory that looks like the checkout, with `build` -> build."""
    if os.path.exists(workdir):
        shutil.rmtree(workdir)
    os.makedirs(workdir)
    for name in os.listdir(src):
        if name in ("build", ".git"):
            continue
        os.symlink(os.path.join(src, name), os.path.join(workdir, name))
    os.symlink(os.path.abspath(build), os.path.join(workdir, "build"))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("markdown", nargs="+",
                    help="the Markdown file (with --list: files, or "
                    "directories standing for their *.md files)")
    ap.add_argument("--src", required=True, help="the source tree")
    ap.add_argument("--build", default=None, help="the build tree under test")
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--llvm-bin", default="/usr/lib/llvm-22/bin")
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--timeout", type=int, default=300,
                    help="seconds per block")
    ap.add_argument("--list", action="store_true",
                    help="only list the blocks and what is done with them")
    args = ap.parse_args(argv)
    if args.list:
        files = expand(args.markdown)
        if not files:
            print("no Markdown file in %s" % " ".join(args.markdown),
                  file=sys.stderr)
            return 1
        status = 0
        for path in files:
            try:
                blocks = parse_blocks(path)
            except ValueError as e:
                print(e, file=sys.stderr)
                status = 1
                continue
            name = display_name(path, args.src)
            for line, lang, text, action, reason in blocks:
                print("%s:%d %s %s%s" % (name, line, lang or "-", action,
                                         (": " + reason) if reason else ""))
        return status
    if len(args.markdown) != 1 or os.path.isdir(args.markdown[0]):
        ap.error("runs one Markdown file at a time (several only with --list)")
    if not args.build:
        ap.error("--build is required to run the blocks")
    markdown = args.markdown[0]
    try:
        blocks = parse_blocks(markdown)
    except ValueError as e:
        print(e, file=sys.stderr)
        return 1
    name = display_name(markdown, args.src)

    workdir = args.workdir or tempfile.mkdtemp(prefix="readme-")
    make_scratch(os.path.abspath(args.src), args.build, workdir)
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([
        os.path.join(os.path.abspath(args.build), "bin"), args.llvm_bin,
        os.path.dirname(args.python), env.get("PATH", "")])
    env["PYTHONPATH"] = "python"
    env["SWIGLU_CAPI_LIBRARY"] = os.path.join(os.path.abspath(args.build),
                                              "lib", "libSwigluCAPI.so")
    run = skipped = 0
    for line, lang, text, action, reason in blocks:
        if action == "skip":
            skipped += 1
            print("=== %s:%d (%s) skipped: %s" % (name, line, lang or "-", reason))
            continue
        kind = LANGS[lang]
        script = os.path.join(workdir, ".block-%d.%s" % (
            line, "sh" if kind == "sh" else "py"))
        with open(script, "w") as f:
            f.write(text)
        cmd = (["bash", "-e", "-o", "pipefail", script] if kind == "sh"
               else [args.python, script])
        print("=== %s:%d (%s)" % (name, line, lang), flush=True)
        t0 = time.time()
        try:
            proc = subprocess.run(cmd, cwd=workdir, env=env,
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True,
                                  timeout=args.timeout)
        except subprocess.TimeoutExpired:
            print("FAIL %s:%d: timed out after %d s" % (name, line, args.timeout))
            return 1
        sys.stdout.write(proc.stdout)
        if proc.returncode != 0:
            print("FAIL %s:%d: the %s block exited with %d (after %.1f s); it "
                  "was run as `%s` in %s" % (name, line, lang, proc.returncode,
                                            time.time() - t0, " ".join(cmd),
                                            workdir))
            return 1
        print("--- ok (%.1f s)" % (time.time() - t0), flush=True)
        run += 1
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    print("README BLOCKS: %d run, %d skipped, all passed" % (run, skipped))
    return 0


if __name__ == "__main__":
    sys.exit(main())
