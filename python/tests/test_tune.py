"""swiglu.tune: the tuner writes an entry the pipeline finds, and a block
compiled with the cache still matches the reference."""

import json

import numpy as np
import pytest

import swiglu
from swiglu import _capi, tune

from test_ffn import assert_close, random_operands, reference_of


def test_describe_cpu_target():
    host = _capi.describe_cpu_target("")
    assert host["cpu"] and host["vector_bits"] in (128, 256, 512)
    assert host["tuning_key"] == "%s/v%d" % (host["cpu"], host["vector_bits"])
    v3 = _capi.describe_cpu_target("target-cpu=x86-64-v3")
    assert (v3["cpu"], v3["vector_bits"]) == ("x86-64-v3", 256)
    assert _capi.describe_cpu_target("target-cpu=x86-64-v3 vector-bits=128")["vector_bits"] == 128
    with pytest.raises(swiglu.SwigluError, match="unknown target CPU 'pentium9'"):
        _capi.describe_cpu_target("target-cpu=pentium9")


def test_tune_writes_an_entry_the_pipeline_uses(tmp_path, capsys):
    cache = tmp_path / "tuning.json"
    assert tune.main(["--d-model", "64", "--d-ff", "96", "--tokens", "32",
                      "--threads", "1", "--budget-s", "1", "--cache", str(cache)]) == 0
    entries = json.loads(cache.read_text())["entries"]
    key = "%s|ffn|f32xf32|64x96" % _capi.describe_cpu_target("threads=1")["tuning_key"]
    assert list(entries) == [key]
    entry = entries[key]
    assert {"micro-rows", "micro-vectors", "k-chunk", "tile-tokens", "gflops"} <= set(entry)
    # A configuration the pipeline reads back: its packed panels have the
    # entry's width (micro-vectors vectors), and the results are right.
    spec = swiglu.FFNSpec(d_model=64, d_ff=96)
    x, arrays = random_operands(spec, tokens=(40,))
    y = spec.compile(options="tuning-cache=%s" % cache).bind(**arrays)(x)
    assert_close(spec, y, reference_of(spec, x, arrays))
    # A second tuning of another shape keeps the first entry.
    assert tune.main(["--d-model", "32", "--d-ff", "64", "--tokens", "16", "--threads", "1",
                      "--budget-s", "0.5", "--cache", str(cache)]) == 0
    assert len(json.loads(cache.read_text())["entries"]) == 2


def test_tuned_entry_changes_the_kernels(tmp_path):
    """An entry for this CPU and shape is what the kernels use: a compiled
    block with micro-vectors=2 packs its weights in panels half as wide."""
    host = _capi.describe_cpu_target("")
    spec = swiglu.FFNSpec(d_model=64, d_ff=96)
    key = "%s|ffn|f32xf32|64x96" % host["tuning_key"]
    cache = tmp_path / "t.json"
    cache.write_text(json.dumps({"version": 1, "entries": {key: {
        "micro-rows": 4, "micro-vectors": 2, "k-chunk": 256, "tile-tokens": 48}}}))
    x, arrays = random_operands(spec, tokens=(9,))
    tuned = spec.compile(options="tuning-cache=%s" % cache)
    plain = spec.compile()
    assert_close(spec, tuned.bind(**arrays)(x), reference_of(spec, x, arrays))
    lanes = host["vector_bits"] // 32
    # The gate/up panels [panels][d_model][NR], NR = micro-vectors x lanes.
    assert tuned._weights(arrays)[0].shape[-1] == 2 * lanes
    assert plain._weights(arrays)[0].shape[-1] == (4 if host["vector_bits"] == 512 else 2) * lanes


def test_bad_cache(tmp_path):
    cache = tmp_path / "bad.json"
    cache.write_text("{\"version\": 2}")
    with pytest.raises(swiglu.SwigluError, match="not a tuning cache"):
        tune.main(["--d-model", "16", "--d-ff", "32", "--cache", str(cache)])
    spec = swiglu.FFNSpec(d_model=16, d_ff=32)
    with pytest.raises(swiglu.SwigluError, match="expected an object with \"version\": 1"):
        spec.compile(options="tuning-cache=%s" % cache)
