"""Small helpers for the caches the package keeps on disk."""

import json
import os
import platform
import tempfile


def write_json(path, obj, prefix):
    """Writes `obj` as JSON to a temporary file (named `prefix`...) in the
    same directory, then renames it over `path`: a failed run leaves the old
    file whole, and a reader never sees half a file."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=prefix, dir=directory)
    with os.fdopen(fd, "w") as f:
        json.dump(obj, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def cpu_model():
    """The CPU's model name (/proc/cpuinfo), or what `platform` knows."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown cpu"
