"""Mixture-of-experts blocks: recognizing them and the compiled module.

A module is an MoE candidate when it has a router child (`gate` or
`router`) and `experts`, in one of the forms Hugging Face's models use:

- **inline routing** (Mixtral, Qwen2/3-MoE, OLMoE): the router is an
  nn.Linear to E logits and the block itself takes the softmax and the top
  k, renormalized or not (`norm_topk_prob` where the module has it, else
  whichever reproduces the module); compiled as glu.route + glu.moe;
- **a router module** (DeepSeek-V3's sigmoid, bias-corrected, group-limited
  `DeepseekV3TopkRouter`, GPT-OSS's top-k-then-softmax `GptOssTopKRouter`):
  a module with a `weight` [E, D] and a `top_k` that returns the expert ids
  and their weights (or dense [T, E] scores); it keeps running in PyTorch,
  exactly as the model defines it, and glu.moe takes its ids and weights.

`experts` is an nn.ModuleList of E identical gated MLPs without biases that
match.match recognizes (w1/w3/w2, gate_proj/up_proj/down_proj, ...), or one
module holding them stacked as GPT-OSS's `GptOssExperts` does
(`gate_up_proj` [E, D, 2F] with gate and up interleaved, `down_proj`
[E, F, D], their biases, clamped SwiGLU with its `alpha` and `limit`). A
shared expert (`shared_experts`, DeepSeek; `shared_expert` with a sigmoid
`shared_expert_gate`, Qwen2-MoE) is added to the output; it is itself
replaced by a CompiledMLP when match.match recognizes it.

A candidate is replaced only if the compiled block reproduces the module's
output (and its second output, Hugging Face's router logits or scores, when
it returns a pair) on a probe input. CompiledMoE follows CompiledMLP
(module.py): the original's children are registered under their names
(state_dict, parameters, pickling unchanged), the original runs PyTorch's
math where the compiled block does not apply (gradients, training, other
devices and dtypes, token counts where PyTorch measured faster), and the
experts' weights are packed once and repacked when one of them changes.
"""

import collections
import dataclasses

import torch
import torch.nn.functional as F
from torch import nn

from ..moe import MoESpec
from . import activations, kernel, match, paths

ROUTER_NAMES = ("gate", "router")
TOPK_ATTRS = ("top_k", "num_experts_per_tok")
# GPT-OSS's stacked experts: spec operand -> parameter of the experts module.
STACKED_PARAMS = (("w_gate_up", "gate_up_proj"), ("w_down", "down_proj"),
                  ("b_gate_up", "gate_up_proj_bias"), ("b_down", "down_proj_bias"))


@dataclasses.dataclass(frozen=True)
class MoEMatch:
    style: str               # "inline" (nn.Linear router) or "router" (a router module)
    router: str              # the router's child name
    layout: object = None    # each expert's match.Layout (an nn.ModuleList of experts)
    stacked: bool = False    # experts as stacked parameters (GPT-OSS)
    shared: str = None       # a shared expert's child name
    shared_gate: str = None  # its sigmoid gate's child name (Qwen2-MoE)
    returns_pair: bool = False  # the module returns (hidden, router logits / scores)
    spec: MoESpec = None


def _top_k(*modules):
    for m in modules:
        for a in TOPK_ATTRS:
            if isinstance(getattr(m, a, None), int):
                return getattr(m, a)
    return None


def _split(out):
    """(first tensor, second tensor or None) of a module's output."""
    if isinstance(out, torch.Tensor):
        return out, None
    if isinstance(out, tuple) and out and isinstance(out[0], torch.Tensor):
        second = out[1] if len(out) == 2 and isinstance(out[1], torch.Tensor) else None
        return out[0], second
    return None, None


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


def weight_tensors(module, found):
    """The tensors the packed experts are made of (their version counters
    say when to repack)."""
    experts = module._modules["experts"]
    if found.stacked:
        return [getattr(experts, p) for _, p in STACKED_PARAMS]
    return [t for e in experts for t in found.layout.weights(e)[:3]]


def expert_arrays(module, found):
    """The experts' weights as the spec's stacked numpy arrays."""
    experts = module._modules["experts"]
    with torch.no_grad():
        if found.stacked:
            return {n: kernel.to_numpy(getattr(experts, p)) for n, p in STACKED_PARAMS}
        per = [found.layout.weights(e)[:3] for e in experts]
        return {name: kernel.to_numpy(torch.stack([w[i] for w in per]))
                for i, name in enumerate(("w_gate", "w_up", "w_down"))}


def route(module, found, x2):
    """(routing tensors for the compiled block, the module's second output):
    the logits of an inline router; the ids and weights of a router module."""
    router = module._modules[found.router]
    if found.style == "inline":
        logits = F.linear(x2, router.weight)
        return (logits.float().contiguous(),), logits
    first, second = _split(router(x2))
    if first is None or second is None:
        raise RuntimeError("the router did not return two tensors")
    ids, w = (first, second) if not first.is_floating_point() else (second, first)
    scores = w
    if w.shape[-1] != found.spec.top_k:  # dense [T, E] scores: the chosen ones
        w = w.gather(1, ids)
    return (ids.to(torch.int64).contiguous(), w.float().contiguous()), scores


def _routed_eager(spec, experts, layout, x2, ids, w):
    """The routed experts' weighted sum in PyTorch (ModuleList experts)."""
    out = torch.zeros(x2.shape[0], spec.d_model, dtype=torch.float32)
    for e, expert in enumerate(experts):
        rows, slot = torch.where(ids == e)
        if rows.numel():
            gate, up, down = layout.weights(expert)[:3]
            h = activations.apply(spec.activation, spec.beta, F.linear(x2[rows], gate))
            y = F.linear(h * F.linear(x2[rows], up), down)
            out.index_add_(0, rows, y.float() * w[rows, slot, None])
    return out


def _shared(module, found, x):
    if not found.shared:
        return None
    y = module._modules[found.shared](x)
    if found.shared_gate:
        y = torch.sigmoid(module._modules[found.shared_gate](x)) * y
    return y


def _experts_of(module, router_e):
    """(layout, stacked, spec fields) of the `experts` child, or a reason."""
    experts = module._modules.get("experts")
    if isinstance(experts, nn.ModuleList):
        if len(experts) != router_e:
            return "its router has %d outputs for %d experts" % (router_e, len(experts))
        found = [match.match(e) for e in experts]
        for i, f in enumerate(found):
            if not isinstance(f, match.Match):
                return "its expert %d is not a block the dialect has (%s)" % (
                    i, f or "not an MLP")
        first = found[0]
        if not first.layout.gated or first.spec.bias or any(
                f.spec != first.spec or f.layout != first.layout for f in found):
            return "its experts are not identical gated blocks without biases"
        fs = first.spec
        return first.layout, False, dict(d_model=fs.d_model, d_ff=fs.d_ff, dtype=fs.dtype,
                                         activation=first.activation, beta=first.beta)
    params = {p: getattr(experts, p, None) for _, p in STACKED_PARAMS}
    if all(isinstance(t, torch.Tensor) for t in params.values()):
        gu, down = params["gate_up_proj"], params["down_proj"]
        if gu.dim() != 3 or down.dim() != 3 or gu.shape[0] != router_e or \
                gu.shape[2] % 2 or tuple(down.shape) != (router_e, gu.shape[2] // 2,
                                                         gu.shape[1]):
            return "its stacked experts' shapes are not [E, D, 2F] and [E, F, D]"
        dtype = kernel.TORCH_TO_GLU.get(gu.dtype)
        if dtype is None or any(t.dtype != gu.dtype for t in params.values()):
            return "its stacked experts' dtype is not one the kernels take"
        alpha, limit = getattr(experts, "alpha", None), getattr(experts, "limit", None)
        if not isinstance(alpha, float) or not isinstance(limit, float):
            return "its stacked experts have no clamped SwiGLU alpha and limit"
        return None, True, dict(d_model=gu.shape[1], d_ff=gu.shape[2] // 2, dtype=dtype,
                                activation="clamped_swiglu", alpha=alpha, limit=limit,
                                layout="in_out", packing="interleaved", bias=True)
    return "its experts are neither an nn.ModuleList of MLPs nor stacked " \
        "gate_up_proj/down_proj parameters"


def match_moe(module):
    """An MoEMatch for `module` (its spec still to be confirmed by the
    compiled block's probe), the reason (a string) it cannot be one, or None
    when it does not look like an MoE block."""
    if "experts" not in module._modules:
        return None
    router_name = next((n for n in ROUTER_NAMES if n in module._modules), None)
    if router_name is None:
        return None
    router = module._modules[router_name]
    if isinstance(router, nn.Linear):
        style = "inline"
        if router.bias is not None:
            return "MoE block whose router has a bias: not supported yet"
    elif isinstance(getattr(router, "weight", None), torch.Tensor) and \
            router.weight.dim() == 2 and _top_k(router) is not None:
        style = "router"
    else:
        return None
    top_k = _top_k(module, router)
    if top_k is None:
        return "MoE block without a top_k or num_experts_per_tok attribute"
    experts = _experts_of(module, router.weight.shape[0])
    if isinstance(experts, str):
        return "MoE block: " + experts
    layout, stacked, fields = experts
    shared = next((n for n in ("shared_experts", "shared_expert") if n in module._modules),
                  None)
    shared_gate = "shared_expert_gate" if shared and "shared_expert_gate" in \
        module._modules else None
    x = match.probe_input(MoESpec(experts=1, top_k=1, **{
        k: fields[k] for k in ("d_model", "d_ff", "dtype")}))
    got, second = _split(_run_eval(module, x))
    if got is None:
        return "MoE block that a [2, 5, %d] tensor cannot be passed through" % (
            fields["d_model"])
    base = MoEMatch(style, router_name, layout, stacked, shared, shared_gate,
                    second is not None)
    spec = dict(fields, experts=router.weight.shape[0], top_k=top_k)
    if style == "router":
        return dataclasses.replace(base, spec=MoESpec(routing="precomputed", **spec))
    # Inline: which renormalization reproduces the module (PyTorch's math).
    norm = getattr(module, "norm_topk_prob", None)
    x2 = x.reshape(-1, fields["d_model"])
    with torch.no_grad():
        probs = torch.softmax(F.linear(x2, router.weight).float(), dim=-1)
        w, ids = torch.topk(probs, top_k, dim=-1)
        shared_y = _shared(module, base, x2)
        for renormalize in ([bool(norm)] if isinstance(norm, bool) else [True, False]):
            ww = w / w.sum(dim=-1, keepdim=True) if renormalize else w
            y = _routed_eager(MoESpec(**spec), module._modules["experts"], layout, x2, ids, ww)
            if shared_y is not None:
                y = y + shared_y.float()
            if match._close(y.to(got.dtype).view_as(got), got, fields["dtype"]):
                return dataclasses.replace(base, spec=MoESpec(renormalize=renormalize, **spec))
    return "MoE block whose output differs from softmax top-%d routing (renormalized " \
           "or not) of its experts" % top_k


class MoEKernel:
    """The compiled block of an MoESpec bound to a module's experts."""

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

    def bind(self, module, found):
        """Packs the module's experts unless they are the ones packed last."""
        self.bind_tensors(weight_tensors(module, found), lambda: expert_arrays(module, found))

    def bind_tensors(self, tensors, arrays):
        """Packs `arrays()` (the spec's stacked numpy arrays, made from
        `tensors`) unless `tensors` are unchanged since the last pack
        (storage and version counter)."""
        key = kernel._version_key(tensors)
        if key == self._key:
            return
        self._bound = self.compiled.bind(**arrays())
        self._key = key
        self.packs += 1

    def __call__(self, x2, routing):
        y = self._bound.call_pointer(x2.shape[0], x2.data_ptr(),
                                     *[r.data_ptr() for r in routing])
        return kernel.from_numpy(y)


class CompiledMoE(nn.Module):
    """An MoE block replaced by the compiled glu.moe (and glu.route); see
    the module doc. `stats` and `last_path` as CompiledMLP's."""

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
        self.shared_status = self._compile_shared()
        self._build()

    def _compile_shared(self):
        """Replaces the shared expert by a CompiledMLP where it is one."""
        name = self.found.shared
        if not name:
            return None
        from .module import CompiledMLP, _probe_ours
        child = self._modules[name]
        found = match.match(child)
        if not isinstance(found, match.Match):
            return "shared expert left alone: %s" % (found or "not an MLP")
        compiled = CompiledMLP(child, found, self.options, self.dispatch_mode)
        if not _probe_ours(child, compiled, found.spec):
            return "shared expert left alone: the compiled block's output differs"
        compiled.train(child.training)
        setattr(self, name, compiled)
        return "shared expert replaced (%s)" % kernel.spec_summary(found.spec)

    def _build(self):
        k = MoEKernel(self.found.spec, self.options)
        k.bind(self, self.found)
        self._runtime = (k, kernel.dispatch_for(
            self.dispatch_mode, self.found.spec, self.options,
            lambda x: self._ours(k, x.unsqueeze(0)),
            lambda x: self._original(x.unsqueeze(0))))

    def _ours(self, k, x):
        x2 = x.reshape(-1, k.spec.d_model)
        if not x2.is_contiguous():
            x2 = x2.contiguous()
        routing, second = route(self, self.found, x2)
        y = k(x2, routing)
        shared = _shared(self, self.found, x2)
        if shared is not None:
            y = y + shared
        y = y.view(x.shape)
        return (y, second) if self.found.returns_pair else y

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
        tensors = weight_tensors(self, self.found)
        dtype = kernel.TORCH_TO_GLU.get(tensors[0].dtype)
        if dtype is None or any(t.dtype != tensors[0].dtype or t.device.type != "cpu"
                                for t in tensors):
            return "weights"
        if dtype != self.found.spec.dtype:  # model.to(dtype): the block of that dtype
            self.found = dataclasses.replace(
                self.found, spec=dataclasses.replace(self.found.spec, dtype=dtype))
            self._runtime = None
        if self._runtime is None:
            self._build()
        k, dispatch = self._runtime
        if x.dtype != k.torch_dtype or x.shape[-1] != k.spec.d_model:
            return "dtype"
        if not dispatch.use_ours(x.numel() // k.spec.d_model):
            return "dispatch"
        k.bind(self, self.found)
        return "ours"

    # Opaque to torch.compile: Dynamo runs the module as it is (a graph
    # break) instead of tracing ctypes calls and numpy-backed results.
    @torch.compiler.disable
    def forward(self, x, *args, **kwargs):
        path = self._path(x, args, kwargs)
        paths.note(self, path)
        if path == "ours":
            return self._ours(self._runtime[0], x)
        return paths.run_original(self, x, args, kwargs)

    def describe(self):
        f = self.found
        experts = "stacked experts" if f.stacked else "experts " + f.layout.describe()
        routing = "its router module's routing" if f.style == "router" else \
            "softmax top-%d%s" % (f.spec.top_k, ", renormalized" if f.spec.renormalize else "")
        parts = [kernel.spec_summary(f.spec), experts, routing]
        if self.shared_status:
            parts.append(self.shared_status)
        return "; ".join(parts)

    def extra_repr(self):
        return "%s, replaces=%s" % (self.describe(), self.original_type)


def probe(module, compiled):
    """Whether the compiled block reproduces `module` (both outputs of a
    pair) on the probe input."""
    spec = compiled.found.spec
    x = match.probe_input(spec)
    expected, expected_second = _split(_run_eval(module, x))
    if expected is None:
        return False
    with torch.no_grad():
        got, second = _split(compiled._ours(compiled._runtime[0], x))
    if not match._close(got, expected, spec.dtype):
        return False
    return expected_second is None or (
        second is not None and second.shape == expected_second.shape and
        torch.allclose(second.float(), expected_second.float(), rtol=1e-4, atol=1e-5))
