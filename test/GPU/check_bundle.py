"""Checks a kernel bundle written by swiglu-gpu-compile: the manifest's
format, that every launched kernel is an .entry of the PTX, that the PTX
calls nothing external (no libdevice: __nv_*), and prints a summary line:
`BUNDLE <entries> entries <kernels> kernels <kinds> chip=<chip> cubin=<yes/no>`."""

import json
import os
import re
import sys


def main():
    bundle = sys.argv[1]
    expect = int(sys.argv[2]) if len(sys.argv) > 2 else None
    m = json.load(open(os.path.join(bundle, "manifest.json")))
    assert m["format"] == "swiglu-gpu-bundle" and m["version"] == 1, m
    ptx = open(os.path.join(bundle, m["ptx"])).read()
    entries = set(re.findall(r"\.entry\s+(\w+)\(", ptx))
    kinds = {}
    for name, e in m["entries"].items():
        for launch in e["launches"]:
            k = launch["kernel"]
            if k not in entries:
                sys.exit("FAIL %s: kernel %s not in the PTX" % (name, k))
            kinds[launch["kind"]] = kinds.get(launch["kind"], 0) + 1
            for a in launch["args"]:
                ok = (a.startswith("size:") and a[5:] in e["sizes"]) or \
                    a in ("result",) or re.fullmatch(r"arg\d+", a) or \
                    a in [t["name"] for t in e["temporaries"]]
                if not ok:
                    sys.exit("FAIL %s: bad argument %s" % (name, a))
    if "__nv_" in ptx or ".extern .func" in ptx:
        sys.exit("FAIL: the PTX calls external functions (libdevice?)")
    if expect is not None and len(m["entries"]) != expect:
        sys.exit("FAIL: %d entries, expected %d" % (len(m["entries"]), expect))
    cubin = m.get("cubin")
    if cubin:
        data = open(os.path.join(bundle, cubin), "rb").read(4)
        assert data == b"\x7fELF", "the cubin is not an ELF file"
    print("BUNDLE %d entries %d kernels %s chip=%s cubin=%s" % (
        len(m["entries"]), len(entries),
        " ".join("%s:%d" % kv for kv in sorted(kinds.items())), m["chip"],
        "yes" if cubin else "no"))


if __name__ == "__main__":
    main()
