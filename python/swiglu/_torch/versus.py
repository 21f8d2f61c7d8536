"""Whether a block is worth replacing in a graph that Inductor compiles:
our kernel against Inductor's code for the same block, measured when the
backend compiles the graph.

Inductor fuses the elementwise work around a projection (the activation
and the product into one loop, the norm before the block and the residual
after it into the neighbouring kernels); the custom op that replaces a
block is opaque to it and splits those fusions. So the isolated block is
the wrong comparison: at hidden 128 and one token ours is the faster block
alone (23 µs against 28) and still the slower model. The measurement here
compiles a proxy of the block's usual surroundings twice with Inductor,

    y = x + block(rms_norm(x))         (block: Inductor's, or swiglu::ffn)

at the graph's example token count, with random weights of the block's
shapes and dtype, and times the two in interleaved rounds with a 4 MB
buffer written between calls (in a model the other layers' weights have
evicted this block's from the L2). A block is replaced only where ours is
at least MARGIN times faster: the proxy overstates ours' gain against the
whole model (at hidden 128 it measured 1.2–1.5× at 16 tokens where the model
gained 1.08×, 0.9–1.15× at one token where the model lost 0.93×), and a tie
goes to Inductor. Each side's time is its fastest call, the rounds going on
until neither improved for a while (at most 2 s): other load only adds
time. Measured once per (spec, operands present, options, token count) in
the process, outside the tracing context of the graph being compiled, and
kept in a cache on disk (cache_path(): per CPU model, core and thread
counts, torch version, block, operands, options and token count), so that
later processes take the same decision without compiling or timing (not
a measurement whose fastest calls were still improving when the 2 s ran
out: the machine was busy).
"""

import json
import math
import os
import time

import torch

from .._files import cpu_model, write_json

MARGIN = 1.15
# A dynamic graph (every token count from 2 up, sizes 0 and 1 being
# specialized) is measured at its example's count and at these, and decided
# by the geometric mean of Inductor's time over ours: its example count is
# merely the second shape Dynamo saw, and one count's measurement near the
# margin decided for every other count (hidden 128: left alone on 1.10× at
# 512 tokens, where the model ran 1.42× Inductor's speed at 128 with ours).
DYNAMIC_TOKENS = (16, 128, 512)
MIN_ROUNDS = 20     # interleaved timed calls per side, after WARMUP ...
STEADY_ROUNDS = 10  # ... until neither fastest call improved in this many
MAX_ROUNDS = 400
MAX_S = 2.0         # or this many seconds of timing
WARMUP = 5
EVICT_BYTES = 4 << 20

_measured = {}      # (spec, present, options, tokens) -> Measurement


class Measurement:
    """The proxy's times (seconds: the fastest of the timed calls) and the
    decision."""

    def __init__(self, tokens, ours_s, inductor_s, compile_s, cached=None):
        self.tokens, self.ours_s, self.inductor_s = tokens, ours_s, inductor_s
        self.compile_s = compile_s
        self.cached = cached  # when the cache had it: the date it was measured
        self.steady = True    # whether the fastest calls stopped improving in time

    @property
    def replace(self):
        return self.inductor_s >= MARGIN * self.ours_s

    def describe(self):
        return ("versus Inductor at %d tokens (norm + block + residual): ours %.1f µs, "
                "Inductor's %.1f µs (%.2f×; replaced where ≥ %.2f×)" % (
                    self.tokens, 1e6 * self.ours_s, 1e6 * self.inductor_s,
                    self.inductor_s / self.ours_s, MARGIN)) + (
                        "; from the cache, measured %s" % self.cached if self.cached else "") + (
                        "; unsteady (the machine was busy: not cached)" if not self.steady
                        else "")


def replace_for(measurements):
    """Whether to replace a block measured at these token counts: the
    geometric mean of Inductor's time over ours is at least MARGIN (one
    measurement: its ratio)."""
    ratios = [m.inductor_s / m.ours_s for m in measurements]
    return math.exp(sum(map(math.log, ratios)) / len(ratios)) >= MARGIN


def describe_all(measurements):
    """The report's text for a decision over several token counts."""
    if len(measurements) == 1:
        return measurements[0].describe()
    ratios = [m.inductor_s / m.ours_s for m in measurements]
    parts = ["%d tokens: ours %.1f µs, Inductor's %.1f µs (%.2f×)%s%s" % (
        m.tokens, 1e6 * m.ours_s, 1e6 * m.inductor_s, r,
        "; from the cache, measured %s" % m.cached if m.cached else "",
        "; unsteady" if not m.steady else "") for m, r in zip(measurements, ratios)]
    return ("versus Inductor (norm + block + residual), a dynamic graph measured at %s; "
            "geometric mean %.2f× (replaced where ≥ %.2f×)" % (
                "; ".join(parts), math.exp(sum(map(math.log, ratios)) / len(ratios)), MARGIN))


def _weights(spec, slots):
    """Random operands of the block's shapes and dtype ([gate, up, down,
    b_gate, b_up, b_down], None where `slots` says absent)."""
    g = torch.Generator().manual_seed(0)
    dtype = {"f32": torch.float32, "bf16": torch.bfloat16, "f16": torch.float16}[spec.dtype]
    d, f, o = spec.d_model, spec.d_ff, spec.out_features
    shapes = [(f, d), (f, d), (o, f), (f,), (f,), (o,)]
    return [(torch.randn(shape, generator=g) / shape[-1] ** 0.5).to(dtype) if here else None
            for shape, here in zip(shapes, slots)]


def slots_of(present, merged):
    """The operands the proxy has: a merged block's gate_up (and its bias)
    as separate gate and up (the same compiled block for ours; for
    Inductor two projections in place of one of twice the width)."""
    if merged:
        return (True, True, True, present[3], present[3], present[5])
    return tuple(present)


def _proxy(block):
    def run(x, nw, *weights):
        h = nw * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6))
        return x + block(h, list(weights))
    return run


def _measure(spec, present, options, tokens, ours_op):
    from torch._inductor.compile_fx import compile_fx
    from torch.fx.experimental.proxy_tensor import make_fx
    from . import kernel

    slots = present
    operands = _weights(spec, slots)
    flat = [t for t in operands if t is not None]
    dtype = flat[0].dtype
    g = torch.Generator().manual_seed(1)
    x = torch.randn(1, tokens, spec.d_model, generator=g).to(dtype)
    nw = torch.ones(spec.d_model, dtype=dtype)

    def theirs(h, weights):
        it = iter(weights)
        return kernel.eager(spec, [next(it) if s else None for s in slots], h)

    def ours(h, weights):
        return ours_op(h, weights, slots)

    start = time.perf_counter()
    with torch.inference_mode():
        fns = []
        for block in (theirs, ours):
            gm = make_fx(_proxy(block))(x, nw, *flat)
            fns.append(compile_fx(gm, [x, nw] + flat))
        _quiet_compile_workers()
        compile_s = time.perf_counter() - start
        evict = torch.zeros(EVICT_BYTES // 4)
        times = ([], [])
        for fn in fns:   # warm-up
            for _ in range(WARMUP):
                fn(x, nw, *flat)
        # Rounds until both fastest calls are steady: on a busy machine a
        # parallel region waits for a preempted thread (10 ms and more), and
        # then it takes more calls to see an undisturbed one.
        best, since, r = [float("inf")] * 2, 0, 0
        start = time.perf_counter()
        while r < MAX_ROUNDS and (r < MIN_ROUNDS or since < STEADY_ROUNDS) and \
                time.perf_counter() - start < MAX_S:
            improved = False
            for i in ((0, 1) if r % 2 == 0 else (1, 0)):
                t = _time(fns[i], x, nw, flat, evict)
                times[i].append(t)
                if t < best[i]:
                    best[i], improved = t, True
            since = 0 if improved else since + 1
            r += 1
    # The fastest call of each: other load only ever adds time, and on a
    # busy machine a parallel region waits for a preempted thread (10 ms and
    # more), so even a lower quartile can be all waiting.
    m = Measurement(tokens, min(times[1]), min(times[0]), compile_s)
    m.steady = since >= STEADY_ROUNDS
    return m


def _quiet_compile_workers():
    """Waits until Inductor's pool of compile workers (processes it starts
    at its first compilation) is up: until then, their start takes the
    cores, and on two cores our parallel regions (which wait for every
    thread of the team) measured 20 ms a call instead of 40 µs."""
    try:
        from torch._inductor.async_compile import AsyncCompile
        wait = getattr(AsyncCompile, "wait_process_pool_ready", None)
        if wait is not None:
            wait(timeout=60)
    except Exception:  # no pool (compile_threads=1), or another torch: time anyway
        pass


def _time(fn, x, nw, flat, evict):
    evict.add_(1.0)
    start = time.perf_counter()
    fn(x, nw, *flat)
    return time.perf_counter() - start


def cache_path():
    """$SWIGLU_VERSUS_CACHE, or ~/.cache/swiglu/versus-inductor.json; None
    when $SWIGLU_VERSUS_CACHE is "off"."""
    path = os.environ.get("SWIGLU_VERSUS_CACHE")
    if path == "off":
        return None
    return path or os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")),
                                "swiglu", "versus-inductor.json")


def cache_key(spec, present, options, tokens):
    """What a measurement depends on: the machine (CPU model, core count,
    torch's thread count), torch's version, the block, its operands, the
    pipeline options and the token count."""
    return "|".join([cpu_model(), "%d cpus" % (os.cpu_count() or 0),
                     "%d threads" % torch.get_num_threads(), "torch " + torch.__version__,
                     repr(spec), "".join("1" if p else "0" for p in present),
                     options or "", "%d tokens" % tokens])


def _load(path):
    try:
        with open(path) as f:
            cache = json.load(f)
        return cache if isinstance(cache.get("entries"), dict) else {"entries": {}}
    except (OSError, ValueError, AttributeError):
        return {"entries": {}}


def _save(path, key, m):
    """Adds the entry (read, update, write to a temporary file, rename: a
    concurrent writer loses at most its own entry)."""
    try:
        cache = _load(path)
        cache["entries"][key] = {"ours_s": m.ours_s, "inductor_s": m.inductor_s,
                                 "measured": time.strftime("%Y-%m-%d %H:%M:%S UTC",
                                                           time.gmtime())}
        write_json(path, cache, ".versus-")
    except OSError:
        pass  # a read-only home: measured again next time


def versus_inductor(spec, present, options, tokens, ours_op):
    """The Measurement of `spec` (operands `present`, as slots_of gives
    them; pipeline `options`) at `tokens` tokens, measured once per
    process. `ours_op(h, weights, slots)` runs our block on the proxy's
    operands (the present ones; `slots` says which of the six they are)."""
    key = (spec, tuple(present), options or None, int(tokens))
    if key in _measured:
        return _measured[key]
    path = cache_path()
    disk_key = cache_key(spec, present, options, int(tokens))
    entry = _load(path)["entries"].get(disk_key) if path else None
    if entry is not None:
        m = Measurement(int(tokens), entry["ours_s"], entry["inductor_s"], 0.0,
                        cached=entry.get("measured", True))
    else:
        # Away from the tracing context of the graph being compiled: the
        # proxy's compilation is one of its own.
        from torch._guards import tracing
        with tracing(None):
            m = _measure(spec, present, options, int(tokens), ours_op)
        if path and m.steady:  # a disturbed measurement is not kept for later
            _save(path, disk_key, m)
    _measured[key] = m
    return m
