"""The compiled forward and backward of a block as a torch.autograd.Function.

`TrainingBlock(spec, options, dropout)` runs a block for autograd:

* forward: without dropout the compiled forward (the fast kernels,
  `kernel.Kernel`); with dropout `p` after the gating, PyTorch's math with
  the mask of glu.dropout (Philox4x32-10 keyed by a seed drawn from
  PyTorch's generator, `reference_grad.dropout_factor`), computed without
  autograd. Either way only x, the weights and the seed are kept for the
  backward: nothing d_ff-wide. With `keep_pre=True` the forward (PyTorch's
  math) keeps the f32 pre-activations g, u instead, and the backward does
  not recompute them (docs/training.md: when that pays).
* backward: the compiled glu.ffn_grad / glu.mlp_grad (--glu-cpu-pipeline),
  which recomputes the hidden (and the mask, from the seed) from x.

bf16 blocks are compiled with `round-hidden=true` (`training_options`):
PyTorch's bf16 autograd rounds the hidden, dg and du to bf16, and so does
the compiled block then (the forward's down projection and every GEMM of
the backward run AVX512-BF16 dot products); an explicit round-hidden in
`options` wins.

`apply(block, x, weights)` is what CompiledMLP calls when gradients are
required or in training mode. See docs/training.md.
"""

import dataclasses

import torch
import torch.nn.functional as F

from .. import reference_grad, training
from . import activations, kernel

_grads = {}  # (spec, dropout, options) -> training.CompiledGrad
compile_count = 0


def compiled_grad(spec, dropout, options=None, keep_pre=False):
    """The compiled backward of `spec` with dropout `dropout`, once per process."""
    global compile_count
    key = (spec, float(dropout), options or None, keep_pre)
    if key not in _grads:
        _grads[key] = training.compile_grad(spec, dropout, options=options or None,
                                            keep_pre=keep_pre)
        compile_count += 1
    return _grads[key]


def training_options(spec, options=None):
    """The pipeline options a TrainingBlock compiles `spec` with: `options`,
    plus round-hidden=true for bf16 blocks (PyTorch's bf16 semantics: the
    hidden, dg and du rounded to bf16) unless `options` sets round-hidden."""
    if spec.dtype != "bf16" or (options and "round-hidden" in options):
        return options
    return "%s round-hidden=true" % options if options else "round-hidden=true"


def dropout_factor(seed, shape, p, dtype=torch.float32):
    """The dropout factor (1/(1-p) or 0) of glu.dropout for a hidden of `shape`."""
    return torch.from_numpy(reference_grad.dropout_factor(seed, tuple(shape), p)).to(dtype)


def draw_seed():
    """A 63-bit seed from PyTorch's default generator (torch.manual_seed
    makes runs repeatable)."""
    return int(torch.randint(0, 2**63 - 1, (), dtype=torch.int64))


class TrainingBlock:
    """The compiled forward and backward of one block (an FFNSpec as the
    front end builds it: separate or concatenated gate/up in [out, in])."""

    def __init__(self, spec, options=None, dropout=0.0, keep_pre=False):
        self.spec = spec
        options = training_options(spec, options)
        self.options = options
        # The forward in PyTorch's math (dropout, keep_pre) rounds the
        # dropped-out hidden as the compiled code does.
        self.rounds = spec.dtype == "bf16" and any(
            "round-hidden=%s" % v in (options or "") for v in ("true", "1"))
        self.dropout = float(dropout)
        self.keep_pre = keep_pre
        self.kernel = kernel.Kernel(spec, options)
        # The backward takes the gate and up weights apart: no concatenation.
        self.grad_spec = dataclasses.replace(spec, packing=None) if spec.gated else spec
        self.grad = compiled_grad(self.grad_spec, self.dropout, options, keep_pre)

    def forward(self, x, weights, seed):
        """(y, the tensors to keep for the backward besides x and the
        weights: the f32 pre-activations with keep_pre, else none)."""
        if not self.dropout and not self.keep_pre:
            self.kernel.bind(weights)
            return self.kernel(x), ()
        gate, up, down, bg, bu, bd = weights
        f = lambda w: None if w is None else w.float()
        if self.rounds:
            # PyTorch's bf16 math, which round-hidden reproduces: bf16 GEMMs
            # (g and u rounded to bf16, kept as f32), the gating in f32, the
            # hidden rounded to bf16 before the down projection.
            u = F.linear(x, up, bu).float()
            g = F.linear(x, gate, bg).float() if self.spec.gated else u
        else:
            xs = x.float()
            u = F.linear(xs, f(up), f(bu))
            g = F.linear(xs, f(gate), f(bg)) if self.spec.gated else u
        act = activations.apply(self.spec.activation, self.spec.beta, g)
        h = act * u if self.spec.gated else act
        d = self.spec.d_model
        if self.dropout:
            h = h * dropout_factor(seed, (x.numel() // d, self.spec.d_ff),
                                   self.dropout).view(h.shape)
        kept = ((g, u) if self.spec.gated else (u,)) if self.keep_pre else ()
        if self.rounds:
            return F.linear(h.to(torch.bfloat16), down, bd), kept
        return F.linear(h, f(down), f(bd)).to(x.dtype), kept

    def backward(self, x, dy, weights, seed, kept=()):
        spec = self.grad_spec
        gate, up, down, bg, bu, bd = weights
        arrays = {"w_up": up, "w_down": down}
        if spec.gated:
            arrays["w_gate"] = gate
        if spec.bias:
            zeros = lambda n: torch.zeros(n, dtype=down.dtype)
            arrays["b_up"] = bu if bu is not None else zeros(spec.d_ff)
            arrays["b_down"] = bd if bd is not None else zeros(spec.out_features)
            if spec.gated:
                arrays["b_gate"] = bg if bg is not None else zeros(spec.d_ff)
        for name, t in zip(training.pre_names(spec), kept):
            arrays[name] = t.reshape(-1, spec.d_ff)
        arrays = {k: kernel.to_numpy(v) for k, v in arrays.items()}
        d = spec.d_model
        g = self.grad(kernel.to_numpy(x.reshape(-1, d)),
                      kernel.to_numpy(dy.reshape(-1, spec.out_features)), seed=seed, **arrays)
        t = {k: kernel.from_numpy(v) for k, v in g.items()}
        return (t["x"].view(x.shape), t.get("w_gate"), t["w_up"], t["w_down"],
                t.get("b_gate") if bg is not None else None,
                t.get("b_up") if bu is not None else None,
                t.get("b_down") if bd is not None else None)


class FFNFunction(torch.autograd.Function):
    """y = block(x; weights) with the compiled backward."""

    @staticmethod
    def forward(ctx, block, seed, x, gate, up, down, bg, bu, bd):
        weights = (gate, up, down, bg, bu, bd)
        ctx.block, ctx.seed = block, seed
        y, kept = block.forward(x, weights, seed)
        ctx.save_for_backward(x, *weights, *kept)
        return y

    @staticmethod
    def backward(ctx, dy):
        x, *rest = ctx.saved_tensors
        weights, kept = rest[:6], rest[6:]
        grads = ctx.block.backward(x, dy, weights, ctx.seed, kept)
        return (None, None) + tuple(
            g if g is not None and ctx.needs_input_grad[i + 2] else None
            for i, g in enumerate(grads))


def apply(block, x, weights, seed=0):
    """The block on `x` with autograd through the compiled backward."""
    return FFNFunction.apply(block, seed, x, *weights)


def dropout_after_gating(module, found):
    """The p of the dropout between the gating and the output projection of
    `module` (T5's gated FFN), 0.0 if it has no dropout, or None if it has a
    dropout elsewhere (whose place this front end does not reproduce)."""
    drops = [m for m in module.modules() if isinstance(m, torch.nn.Dropout) and m.p > 0]
    if not drops:
        return 0.0
    if len(drops) > 1:
        return None
    seen = []
    handle = drops[0].register_forward_hook(lambda m, inp, out: seen.append(inp[0]))
    was = module.training
    module.eval()
    try:
        from . import match
        x = match.probe_input(found.spec)
        with torch.no_grad():
            module(x)
            weights = found.layout.weights(module)
            gate, up, down, bg, bu, bd = weights
            h = F.linear(x, up, bu)
            a = activations.apply(found.activation, found.beta,
                                  F.linear(x, gate, bg) if found.layout.gated else h)
            h = a * h if found.layout.gated else a
    finally:
        handle.remove()
        module.train(was)
    if len(seen) != 1 or seen[0].shape != h.shape or \
            not torch.allclose(seen[0].float(), h.float(), rtol=1e-3, atol=1e-4):
        return None
    return float(drops[0].p)
