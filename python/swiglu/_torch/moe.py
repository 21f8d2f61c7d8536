"""Mixture-of-experts blocks: recognizing them and the compiled module.

A module is an MoE candidate when it has a router (`gate` or `router`, an
nn.Linear from d_model to E outputs) and `experts`, an nn.ModuleList of E
gated MLPs that match.match recognizes (Mixtral's w1/w3/w2, Qwen-MoE's
gate_proj/up_proj/down_proj, ...) with one activation and shape, and a
`top_k` (or `num_experts_per_tok`) attribute. That is the sparse block of
Hugging Face's Mixtral, Qwen2-MoE without its shared expert, Qwen3-MoE and
OLMoE. Its routing is taken to be a softmax over the router's logits, the
top k, renormalized or not (`norm_topk_prob` when the module has it, else
whichever reproduces the module); the module is replaced only if the
compiled block reproduces its output on a probe input, and its return
value's form (a tensor, or Hugging Face's `(hidden, router_logits)`) is
kept.

CompiledMoE follows CompiledMLP (module.py): the original's children are
registered under their names (state_dict, parameters, pickling unchanged),
the original runs PyTorch's math where the compiled block does not apply
(gradients, training, other devices and dtypes, token counts where PyTorch
measured faster), and the experts' weights are packed once and repacked
when one of them changes.
"""

import collections
import dataclasses
import logging

import torch
import torch.nn.functional as F
from torch import nn

from ..moe import MoESpec
from . import activations, kernel, match

log = logging.getLogger("swiglu.torch")

ROUTER_NAMES = ("gate", "router")
TOPK_ATTRS = ("top_k", "num_experts_per_tok")
SHARED_NAMES = ("shared_expert", "shared_experts")


@dataclasses.dataclass(frozen=True)
class MoEMatch:
    router: str          # the router's child name
    layout: object       # every expert's match.Layout
    spec: MoESpec
    returns_logits: bool  # the module returns (hidden, router_logits)


def _first_tensor(out):
    if isinstance(out, torch.Tensor):
        return out, False
    if isinstance(out, tuple) and out and isinstance(out[0], torch.Tensor):
        return out[0], len(out) == 2 and isinstance(out[1], torch.Tensor)
    return None, False


def _run_eval(module, x):
    was = module.training
    module.eval()
    try:
        with torch.no_grad():
            return module(x)
    except Exception:  # not callable like an MoE block
        return None
    finally:
        module.train(was)


def expert_weights(module, found):
    """(router [E, D], [(gate, up, down) per expert]) of `module` now."""
    router = module._modules[found.router].weight
    experts = [found.layout.weights(e)[:3] for e in module._modules["experts"]]
    return router, experts


def eager(spec, router, experts, x2):
    """The MoE block in PyTorch from its definition (softmax routing in f32,
    the top k, renormalized or not; each chosen expert's gated block)."""
    logits = F.linear(x2, router)
    probs = torch.softmax(logits.float(), dim=-1)
    w, sel = torch.topk(probs, spec.top_k, dim=-1)
    if spec.renormalize:
        w = w / w.sum(dim=-1, keepdim=True)
    out = torch.zeros(x2.shape[0], spec.d_model, dtype=torch.float32)
    ffn = kernel.spec_for(experts[0] + (None, None, None), spec.activation, spec.beta, True)
    for e, (wg, wu, wd) in enumerate(experts):
        rows, slot = torch.where(sel == e)
        if rows.numel():
            y = kernel.eager(ffn, (wg, wu, wd, None, None, None), x2[rows])
            out.index_add_(0, rows, y.float() * w[rows, slot, None])
    return out.to(x2.dtype), logits


def match_moe(module):
    """An MoEMatch for `module`, the reason (a string) it cannot be one, or
    None when it does not look like an MoE block."""
    router_name = next((n for n in ROUTER_NAMES
                        if isinstance(module._modules.get(n), nn.Linear)), None)
    experts = module._modules.get("experts")
    if router_name is None or not isinstance(experts, nn.ModuleList) or not len(experts):
        return None
    shared = [n for n in SHARED_NAMES if n in module._modules]
    if shared:
        return "MoE block with a shared expert (%s): not supported yet" % shared[0]
    router = module._modules[router_name]
    if router.bias is not None:
        return "MoE block whose router has a bias: not supported yet"
    if router.out_features != len(experts):
        return "MoE block whose router has %d outputs for %d experts" % (
            router.out_features, len(experts))
    top_k = next((getattr(module, a) for a in TOPK_ATTRS if isinstance(
        getattr(module, a, None), int)), None)
    if top_k is None:
        return "MoE block without a top_k or num_experts_per_tok attribute"
    found = [match.match(e) for e in experts]
    for i, f in enumerate(found):
        if not isinstance(f, match.Match):
            return "MoE block whose expert %d is not a block the dialect has (%s)" % (
                i, f or "not an MLP")
    first = found[0]
    if not first.layout.gated or first.spec.bias or any(
            f.spec != first.spec or f.layout != first.layout for f in found):
        return "MoE block whose experts are not identical gated blocks without biases"
    fs = first.spec
    norm = getattr(module, "norm_topk_prob", None)
    candidates = [bool(norm)] if isinstance(norm, bool) else [True, False]
    x = match.probe_input(fs)
    got, returns_logits = _first_tensor(_run_eval(module, x))
    if got is None:
        return "MoE block that a [2, 5, %d] tensor cannot be passed through" % fs.d_model
    candidate = MoEMatch(router_name, first.layout, None, returns_logits)
    router_w, expert_w = expert_weights(module, candidate)
    for renormalize in candidates:
        spec = MoESpec(d_model=fs.d_model, d_ff=fs.d_ff, experts=len(experts), top_k=top_k,
                       activation=first.activation, beta=first.beta, dtype=fs.dtype,
                       renormalize=renormalize)
        with torch.no_grad():
            formula, _ = eager(spec, router_w, expert_w, x.reshape(-1, fs.d_model))
        if match._close(formula.view_as(got), got, fs.dtype):
            return dataclasses.replace(candidate, spec=spec)
    return "MoE block whose output differs from softmax top-%d routing (renormalized " \
           "or not) of its experts" % top_k


class MoEKernel:
    """The compiled block of an MoESpec bound to the experts' weights."""

    def __init__(self, spec, options=None):
        self.spec = spec
        self.torch_dtype = kernel.GLU_TO_TORCH[spec.dtype]
        key = ("moe", spec, options or None)
        if key not in kernel._compiled:
            kernel._compiled[key] = spec.compile(options=options or None)
        self.compiled = kernel._compiled[key]
        self._bound = None
        self._key = None
        self.packs = 0

    def bind(self, experts):
        flat = [t for e in experts for t in e]
        key = kernel._version_key(flat)
        if key == self._key:
            return
        with torch.no_grad():
            stacked = [kernel.to_numpy(torch.stack([e[i] for e in experts])) for i in range(3)]
        self._bound = self.compiled.bind(w_gate=stacked[0], w_up=stacked[1],
                                         w_down=stacked[2])
        self._key = key
        self.packs += 1

    def __call__(self, x2, logits):
        """y [T, d_model] for x2 [T, d_model] (contiguous) and f32 logits."""
        logits = logits.float().contiguous()
        y = self._bound.call_pointer(x2.data_ptr(), logits.data_ptr(), x2.shape[0])
        return kernel.from_numpy(y)


class CompiledMoE(nn.Module):
    """An MoE block replaced by the compiled glu.route + glu.moe; see the
    module doc. `stats` and `last_path` as CompiledMLP's."""

    def __init__(self, original, found, options=None, dispatch="auto"):
        super().__init__()
        for name, child in original.named_children():
            self.add_module(name, child)
        object.__setattr__(self, "_original", original)
        self.found = found
        self.options = options
        self.dispatch_mode = kernel.check_dispatch(dispatch)
        self.original_type = type(original).__name__
        self.stats = collections.Counter()
        self.last_path = None
        self._runtime = None
        self._build()

    def _build(self):
        k = MoEKernel(self.found.spec, self.options)
        router, experts = expert_weights(self, self.found)
        k.bind(experts)
        ours = lambda x: self._ours(k, router, x.unsqueeze(0))  # noqa: E731
        theirs = lambda x: self._original(x.unsqueeze(0))  # noqa: E731
        self._runtime = (k, kernel.dispatch_for(self.dispatch_mode, self.found.spec,
                                                self.options, ours, theirs))

    def _ours(self, k, router, x):
        x2 = x.reshape(-1, k.spec.d_model)
        if not x2.is_contiguous():
            x2 = x2.contiguous()
        logits = F.linear(x2, router)
        y = k(x2, logits).view(x.shape)
        return (y, logits) if self.found.returns_logits else y

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_runtime"] = None
        return state

    def dispatch_description(self):
        return self._runtime[1].describe() if self._runtime else "not built"

    def _path(self, x, args, kwargs):
        if args or kwargs or not isinstance(x, torch.Tensor):
            return "signature"
        if self.training:
            return "training"
        if torch.is_grad_enabled() and (x.requires_grad or any(
                p.requires_grad for p in self.parameters())):
            return "grad"
        if x.device.type != "cpu":
            return "device"
        router, experts = expert_weights(self, self.found)
        if router.dtype != kernel.GLU_TO_TORCH[self.found.spec.dtype] or any(
                t.dtype != router.dtype or t.device.type != "cpu" for e in experts for t in e):
            return "weights"
        if self._runtime is None:
            self._build()
        k, dispatch = self._runtime
        if x.dtype != k.torch_dtype or x.shape[-1] != k.spec.d_model:
            return "dtype"
        if not dispatch.use_ours(x.numel() // k.spec.d_model):
            return "dispatch"
        k.bind(experts)
        return "ours"

    def forward(self, x, *args, **kwargs):
        from .module import PATHS
        path = self._path(x, args, kwargs)
        self.stats[path] += 1
        if path != self.last_path and path not in ("ours", "dispatch"):
            log.info("swiglu: %s runs %s", self.original_type, PATHS[path])
        self.last_path = path
        if path == "ours":
            router = self._modules[self.found.router].weight
            return self._ours(self._runtime[0], router, x)
        original = self._original
        if original.training != self.training:
            original.train(self.training)
        return original(x, *args, **kwargs)

    def extra_repr(self):
        return "%s, replaces=%s (experts %s)" % (
            describe(self.found.spec), self.original_type, self.found.layout.describe())


describe = kernel.spec_summary


def probe(module, compiled):
    """Whether the compiled block reproduces `module` on the probe input."""
    spec = compiled.found.spec
    x = match.probe_input(spec)
    expected, _ = _first_tensor(_run_eval(module, x))
    if expected is None:
        return False
    with torch.no_grad():
        router = compiled._modules[compiled.found.router].weight
        got, _ = _first_tensor(compiled._ours(compiled._runtime[0], router, x))
    return match._close(got, expected, spec.dtype)
