#!/usr/bin/env python3
"""Checks the links of the README and of the pages of docs/.

For each Markdown file given (a directory stands for its *.md files):

  * every relative link `[text](target)` or `[text](target#anchor)` outside
    code blocks and code spans names a file or directory that exists,
    relative to the file that holds the link, inside the source tree;
  * an anchor (`#anchor`, `page.md#anchor`) into a Markdown file names one
    of its headings, spelled as GitHub spells them (lower case, punctuation
    dropped, spaces as hyphens, `-1`, `-2` for repeated headings);
  * with --tests DIR: every file with a block marked
    `<!-- readme-test: run -->` is run by a lit test in DIR, i.e. some
    `DIR/*.mlir` has a RUN line naming `%swiglu_src/<its path>`.

Links to other sites (http:, https:, mailto:) are not checked.
Prints each problem as `<file>:<line>: ...` and ends with
`DOCS: <n> files, <k> links, all good`, exit status 1 on a problem.

Usage: docs_check.py --src SRC [--tests DIR] FILE.md|DIR...
"""

import argparse
import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from readme_blocks import FENCE, display_name, expand, parse_blocks  # noqa: E402

LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
EXTERNAL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def prose_lines(path):
    """[(line number, text)] of the lines outside fenced code blocks."""
    out, fence = [], None
    for n, line in enumerate(open(path, encoding="utf-8").read().split("\n"), 1):
        if fence:
            if line.startswith(fence):
                fence = None
            continue
        m = FENCE.match(line)
        if m:
            fence = m.group(1)
            continue
        out.append((n, line))
    return out


def slug(heading):
    """GitHub's anchor for a heading's text."""
    text = CODE_SPAN.sub(lambda m: m.group(2), heading)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links: their text
    text = re.sub(r"[*_]{1,3}([^*_]+)[*_]{1,3}", r"\1", text)  # emphasis
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


_anchor_cache = {}


def anchors(path):
    """The anchors of a Markdown file's headings."""
    path = os.path.realpath(path)
    if path not in _anchor_cache:
        seen, result = {}, set()
        for _, line in prose_lines(path):
            m = HEADING.match(line)
            if not m:
                continue
            base = slug(m.group(2))
            k = seen.get(base, 0)
            seen[base] = k + 1
            result.add(base if k == 0 else "%s-%d" % (base, k))
        _anchor_cache[path] = result
    return _anchor_cache[path]


def check_links(path, src, problems):
    name = display_name(path, src)
    count = 0
    for n, line in prose_lines(path):
        line = CODE_SPAN.sub("", line)
        for m in LINK.finditer(line):
            target = m.group(1)
            if EXTERNAL.match(target):
                continue
            count += 1
            file_part, _, anchor = target.partition("#")
            if file_part:
                dest = os.path.normpath(os.path.join(os.path.dirname(path), file_part))
                real = os.path.realpath(dest)
                if os.path.commonpath([real, os.path.realpath(src)]) != os.path.realpath(src):
                    problems.append("%s:%d: link %r leaves the source tree" % (name, n, target))
                    continue
                if not os.path.exists(dest):
                    problems.append("%s:%d: link %r: no such file %s" % (
                        name, n, target, display_name(dest, src)))
                    continue
            else:
                dest = path
            if anchor and dest.endswith(".md") and os.path.isfile(dest):
                if anchor not in anchors(dest):
                    problems.append("%s:%d: link %r: %s has no heading with the "
                                    "anchor #%s" % (name, n, target,
                                                    display_name(dest, src), anchor))
    return count


def check_tests(path, src, tests_dir, problems):
    blocks = parse_blocks(path)
    if not any(action == "run" for _, _, _, action, _ in blocks):
        return
    rel = display_name(path, src)
    needle = "%swiglu_src/" + rel
    for t in sorted(os.listdir(tests_dir)):
        if not t.endswith(".mlir"):
            continue
        for line in open(os.path.join(tests_dir, t), encoding="utf-8"):
            if "RUN:" in line and re.search(re.escape(needle) + r"(\s|$)", line):
                return
    problems.append("%s: has blocks marked run, but no lit test in %s runs it "
                    "(a RUN line naming %s)" % (rel, display_name(tests_dir, src), needle))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("markdown", nargs="+")
    ap.add_argument("--src", required=True, help="the source tree")
    ap.add_argument("--tests", help="the lit tests that run the files' blocks")
    args = ap.parse_args(argv)
    files = expand(args.markdown)
    problems, links = [], 0
    for path in files:
        links += check_links(path, args.src, problems)
        if args.tests:
            try:
                check_tests(path, args.src, args.tests, problems)
            except ValueError as e:  # blocks without markers: one line each
                problems += str(e).split("\n")
    for p in problems:
        print(p)
    if not files:
        print("no Markdown file in %s" % " ".join(args.markdown))
        return 1
    if problems:
        print("DOCS: %d files, %d links, %d problems" % (len(files), links, len(problems)))
        return 1
    print("DOCS: %d files, %d links, all good" % (len(files), links))
    return 0


if __name__ == "__main__":
    sys.exit(main())
