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
goes to Inductor. Measured once per (spec, operands present, options, token
count) in the process, outside the tracing context of the graph being
compiled.
"""

import statistics
import time

import torch

MARGIN = 1.15
ROUNDS = 40         # interleaved timed calls per side, after WARMUP
WARMUP = 5
BUDGET_S = 0.3      # fewer rounds where one call is slow
EVICT_BYTES = 4 << 20

_measured = {}      # (spec, present, options, tokens) -> Measurement


class Measurement:
    """The proxy's times (seconds: lower quartile of the timed calls) and
    the decision."""

    def __init__(self, tokens, ours_s, inductor_s, compile_s):
        self.tokens, self.ours_s, self.inductor_s = tokens, ours_s, inductor_s
        self.compile_s = compile_s

    @property
    def replace(self):
        return self.inductor_s >= MARGIN * self.ours_s

    def describe(self):
        return ("versus Inductor at %d tokens (norm + block + residual): ours %.1f µs, "
                "Inductor's %.1f µs (%.2f×; replaced where ≥ %.2f×)" % (
                    self.tokens, 1e6 * self.ours_s, 1e6 * self.inductor_s,
                    self.inductor_s / self.ours_s, MARGIN))


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
        compile_s = time.perf_counter() - start
        evict = torch.zeros(EVICT_BYTES // 4)
        times = ([], [])
        for fn in fns:   # warm-up; the slower of the two decides the rounds
            for _ in range(WARMUP):
                fn(x, nw, *flat)
        one = max(min(_time(fn, x, nw, flat, evict) for _ in range(2)) for fn in fns)
        rounds = max(8, min(ROUNDS, int(BUDGET_S / 2 / max(one, 1e-7))))
        for r in range(rounds):
            order = (0, 1) if r % 2 == 0 else (1, 0)
            for i in order:
                times[i].append(_time(fns[i], x, nw, flat, evict))
    q = [statistics.quantiles(t, n=4)[0] for t in times]
    return Measurement(tokens, q[1], q[0], compile_s)


def _time(fn, x, nw, flat, evict):
    evict.add_(1.0)
    start = time.perf_counter()
    fn(x, nw, *flat)
    return time.perf_counter() - start


def versus_inductor(spec, present, options, tokens, ours_op):
    """The Measurement of `spec` (operands `present`, as slots_of gives
    them; pipeline `options`) at `tokens` tokens, measured once per
    process. `ours_op(h, weights, slots)` runs our block on the proxy's
    operands (the present ones; `slots` says which of the six they are)."""
    key = (spec, tuple(present), options or None, int(tokens))
    if key not in _measured:
        # Away from the tracing context of the graph being compiled: the
        # proxy's compilation is one of its own.
        from torch._guards import tracing
        with tracing(None):
            _measured[key] = _measure(spec, present, options, int(tokens), ours_op)
    return _measured[key]
