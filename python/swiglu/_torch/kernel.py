"""A compiled block called on torch tensors.

`Kernel(spec, options)` holds the compiled code of an FFNSpec (compiled once
per (spec, options) in this process), packs the weights of a block from
torch tensors, repacks them when one of them changes (a tensor's version
counter, its storage or its dtype), and runs the block on a CPU tensor with
no numpy array: the input's buffer goes to the compiled code as it is, and
the compiled code writes the result into a tensor allocated here
(destination passing).

`Dispatch` measures, once per shape and dtype, the compiled block against
PyTorch's own path at a few token counts, and picks the faster one per call.
"""

import logging
import math
import time
import weakref

import numpy as np
import torch
import torch.nn.functional as F

from ..ffn import FFNSpec, numpy_dtype
from ..moe import MoESpec
from . import activations

log = logging.getLogger("swiglu.torch")

TORCH_TO_GLU = {torch.float32: "f32", torch.bfloat16: "bf16", torch.float16: "f16"}
GLU_TO_TORCH = {v: k for k, v in TORCH_TO_GLU.items()}
DISPATCH_MODES = ("auto", "always", "never")
MEASURED_TOKENS = (1, 16, 128)

_compiled = {}      # (spec, options) -> CompiledFFN
_dispatch = {}      # (spec, options) -> Dispatch
_kernels = {}       # (spec, options, weight ids) -> (Kernel, weak refs): torch_backend
compile_count = 0   # how many blocks this process compiled (tests check reuse)


def check_dispatch(mode):
    if mode not in DISPATCH_MODES:
        raise ValueError("dispatch must be one of %s, got %r" % (
            ", ".join(repr(m) for m in DISPATCH_MODES), mode))
    return mode


def compiled_block(spec, options=None):
    """spec.compile(options=options), once per process."""
    global compile_count
    key = (spec, options or None)
    if key not in _compiled:
        _compiled[key] = spec.compile(options=options or None)
        compile_count += 1
    return _compiled[key]


def to_numpy(t):
    """A numpy view (or copy, when not contiguous) of a CPU tensor."""
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().view(numpy_dtype("bf16"))
    return t.numpy()


def from_numpy(a):
    if a.dtype == numpy_dtype("bf16"):
        return torch.from_numpy(a.view(np.int16)).view(torch.bfloat16)
    return torch.from_numpy(a)


def shared_kernel(spec, options, weights, make=None):
    """The Kernel of `spec` (or what `make(spec, options)` makes) for these
    weight tensors, shared by every graph (and every recompilation) that
    calls the block with them: their weights are packed once."""
    key = (spec, options or None, tuple(
        id(t._base if t._base is not None else t) for t in weights if t is not None))
    found = _kernels.get(key)
    if found is not None and _same_owners(found[1], weights):
        return found[0]
    k = (make or Kernel)(spec, options)
    _kernels[key] = (k, _owners(weights))
    return k


def spec_for(weights, activation, beta, gated):
    """The FFNSpec of a block whose weights are `weights` (gate, up, down,
    b_gate, b_up, b_down: tensors or None; nn.Linear's [out, in] layout), or
    the reason there is none."""
    gate, up, down = weights[:3]
    dtype = TORCH_TO_GLU.get(down.dtype)
    if dtype is None:
        return "dtype %s is not one the kernels take (float32, bfloat16, float16)" % (
            str(down.dtype).replace("torch.", ""))
    present = [t for t in weights if t is not None]
    if any(t.dtype != down.dtype for t in present):
        return "its weights and biases do not share one dtype"
    if any(t.device.type != "cpu" for t in present):
        return "its weights are not on the CPU"
    d_ff, d_model = up.shape
    if (gated and tuple(gate.shape) != (d_ff, d_model)) or down.dim() != 2 or \
            down.shape[1] != d_ff:
        return "its projections' shapes do not chain (d_model -> d_ff -> d_out)"
    return FFNSpec(d_model=d_model, d_ff=d_ff, activation=activation, beta=beta,
                   gated=gated, dtype=dtype, packing="concat" if gated else None,
                   bias=any(b is not None for b in weights[3:]), d_out=down.shape[0])


def eager(spec, weights, x):
    """The block in PyTorch (F.linear), the path dispatch falls back to."""
    gate, up, down, bg, bu, bd = weights
    h = F.linear(x, up, bu)
    if spec.gated:
        h = activations.apply(spec.activation, spec.beta, F.linear(x, gate, bg)) * h
    else:
        h = activations.apply(spec.activation, spec.beta, h)
    return F.linear(h, down, bd)


def _version_key(weights):
    """What identifies the packed contents of `weights`: each tensor's
    storage address and version counter (bumped by every in-place update:
    optimizer steps, load_state_dict, copy_; a dtype or shape change makes a
    new storage)."""
    key = []
    for t in weights:
        if t is None:
            key.append(None)
            continue
        try:
            key.append((t.data_ptr(), t._version))
        except RuntimeError:  # inference tensors have no version counter
            key.append((t.data_ptr(), None))
    return tuple(key)


def _owners(weights):
    """Weak references to the tensors owning `weights` (a view's base), so
    that a new tensor at a freed one's address is not taken for it."""
    refs = []
    for t in weights:
        if t is not None:
            base = t._base if t._base is not None else t
            refs.append(weakref.ref(base))
    return refs


def _same_owners(refs, weights):
    owners = [t._base if t._base is not None else t for t in weights if t is not None]
    return len(refs) == len(owners) and all(r() is o for r, o in zip(refs, owners))


class Kernel:
    """The compiled block of `spec` bound to weights given as torch tensors
    (gate, up, down, b_gate, b_up, b_down; None where absent)."""

    def __init__(self, spec, options=None):
        self.spec = spec
        self.options = options
        self.compiled = compiled_block(spec, options)
        self.torch_dtype = GLU_TO_TORCH[spec.dtype]
        self._d_model, self._out_features = spec.d_model, spec.out_features
        self._bound = None
        self.call_into = None
        self._key = None
        self._refs = []
        self.packs = 0  # how many times weights were packed

    def bind(self, weights):
        """Packs `weights` unless they are the ones packed last (same storage,
        same version counters)."""
        key = _version_key(weights)
        if key == self._key and _same_owners(self._refs, weights):
            return
        gate, up, down, bg, bu, bd = weights
        spec = self.spec
        with torch.no_grad():
            arrays = {"w_down": to_numpy(down)}
            if spec.gated:
                arrays["w_gate_up"] = to_numpy(torch.cat([gate, up], 0))
            else:
                arrays["w_up"] = to_numpy(up)
            if spec.bias:
                def bias(b, n):
                    return b if b is not None else torch.zeros(n, dtype=down.dtype)
                F_ = spec.d_ff
                if spec.gated:
                    arrays["b_gate_up"] = to_numpy(torch.cat([bias(bg, F_), bias(bu, F_)]))
                else:
                    arrays["b_up"] = to_numpy(bias(bu, F_))
                arrays["b_down"] = to_numpy(bias(bd, spec.out_features))
        self._bound = self.compiled.bind(**arrays)
        self.call_into = self._bound.call_into  # (x address, tokens, out address)
        self._key = key
        self._refs = _owners(weights)
        self.packs += 1

    def __call__(self, x):
        """The block on `x` ([..., d_model], CPU, the spec's dtype)."""
        if not x.is_contiguous():
            x = x.contiguous()
        if self._d_model == self._out_features:
            # Half the cost of torch.empty(shape, dtype=...): no shape or
            # dtype to parse. x is contiguous, so y is too.
            y = torch.empty_like(x)
        else:
            y = torch.empty(x.shape[:-1] + (self._out_features,), dtype=x.dtype)
        tokens = x.numel() // self._d_model
        if tokens:
            self.call_into(x.data_ptr(), tokens, y.data_ptr())
        return y


def _best_seconds(fn, reps):
    """The fastest of `reps` runs: the least disturbed by other load."""
    best = float("inf")
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


class Dispatch:
    """Which path runs a call of n tokens: the compiled block ('ours') or
    PyTorch's ('eager'). In 'auto' mode both are timed once at each of
    MEASURED_TOKENS (the best of a few runs, after a warm-up) and a call takes
    the faster path at the measured token count nearest to it (on a log
    scale)."""

    def __init__(self, mode, table=()):
        self.mode = mode
        self.table = list(table)  # [(tokens, ours_s, eager_s)]
        self.decisions = {}       # tokens -> whether ours runs

    @classmethod
    def measure(cls, ours, theirs, spec, tokens=MEASURED_TOKENS, budget_s=0.5):
        torch_dtype = GLU_TO_TORCH[spec.dtype]
        table = []
        generator = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for n in tokens:
                x = torch.randn(n, spec.d_model, generator=generator).to(torch_dtype)
                ours(x), theirs(x)  # warm-up
                one = max(_best_seconds(lambda: ours(x), 1),
                          _best_seconds(lambda: theirs(x), 1))
                reps = max(1, min(7, int(budget_s / len(tokens) / 2 / max(one, 1e-6))))
                table.append((n, _best_seconds(lambda: ours(x), reps),
                              _best_seconds(lambda: theirs(x), reps)))
        return cls("auto", table)

    def use_ours(self, tokens):
        """Whether a call of `tokens` tokens runs ours; remembered in
        `decisions` (tokens -> bool), which the front end's per-call path
        reads directly."""
        decision = self.decisions.get(tokens)
        if decision is None:
            if self.mode != "auto":
                decision = self.mode == "always"
            else:
                n = math.log(max(tokens, 1))
                _, ours, theirs = min(self.table,
                                      key=lambda e: (abs(math.log(e[0]) - n), -e[0]))
                decision = ours <= theirs
            self.decisions[tokens] = decision
        return decision

    def describe(self):
        if self.mode != "auto":
            return "dispatch %s: %s" % (self.mode, "always ours" if self.mode == "always"
                                        else "always PyTorch")
        parts = ["%d tokens: ours %.3g ms, PyTorch %.3g ms -> %s" % (
            n, 1e3 * o, 1e3 * t, "ours" if o <= t else "PyTorch") for n, o, t in self.table]
        return "dispatch auto (" + "; ".join(parts) + ")"


def dispatch_for(mode, spec, options, ours, theirs):
    """The Dispatch of `mode` for this spec, measured once per process per
    (spec, options) in 'auto' mode."""
    if mode != "auto":
        return Dispatch(mode)
    key = (spec, options or None)
    if key not in _dispatch:
        _dispatch[key] = Dispatch.measure(ours, theirs, spec)
        log.info("swiglu: %s %s", spec_summary(spec), _dispatch[key].describe())
    return _dispatch[key]


def spec_summary(spec):
    if isinstance(spec, MoESpec):
        return "moe %s E=%d top_k=%d%s d_model=%d d_ff=%d %s" % (
            activations.describe(spec.activation, spec.beta), spec.experts, spec.top_k,
            " renormalized" if spec.renormalize else "", spec.d_model, spec.d_ff, spec.dtype)
    return "%s %s d_model=%d d_ff=%d d_out=%d %s%s" % (
        "ffn" if spec.gated else "mlp", activations.describe(spec.activation, spec.beta),
        spec.d_model, spec.d_ff, spec.out_features, spec.dtype, " bias" if spec.bias else "")
