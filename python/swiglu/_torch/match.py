"""Recognizing the MLP modules of a model.

A module is an MLP candidate when its children carry one of the projection
namings below (nn.Linear, or a Hugging Face Conv1D with its [in, out]
weight); its activation is the module or function in one of ACT_ATTRS,
recognized by what it computes (activations.identify), or, without such an
attribute, whichever of the dialect's activations reproduces the module's
output. A candidate is accepted only if the block's formula with its
weights reproduces the module's output on a random probe input, so a module
that merely has these names but computes something else is left alone.
"""

import dataclasses
import re

import torch
from torch import nn

from . import activations, kernel

# (gate, up, down): the gated blocks, output down(act(gate(x)) * up(x)).
GATED_NAMES = (("gate_proj", "up_proj", "down_proj"),   # LLaMA, Mistral, Qwen, Gemma, OLMo
               ("wi_0", "wi_1", "wo"),                   # T5 v1.1 / mT5 / Flan-T5 (gated-gelu)
               ("w1", "w3", "w2"))                       # Meta's LLaMA, Mixtral experts
# (gate_up, down): one merged projection chunked into gate and up (Phi-3).
MERGED_NAMES = (("gate_up_proj", "down_proj"),)
# (up, down): the plain MLP, output down(act(up(x))).
PLAIN_NAMES = (("fc1", "fc2"),                           # OPT, ViT, CLIP, Phi-1/2
               ("c_fc", "c_proj"),                       # GPT-2 (Conv1D)
               ("wi", "wo"),                             # T5 (dense-relu-dense)
               ("up_proj", "down_proj"),
               ("dense_h_to_4h", "dense_4h_to_h"),       # GPT-NeoX, Falcon
               ("lin1", "lin2"), ("w_1", "w_2"))
ACT_ATTRS = ("act_fn", "activation_fn", "act", "activation", "act_func")
MLP_LIKE = re.compile(r"mlp|feed_?forward|ffn|dense.*act|glu", re.IGNORECASE)


def _projection(module, name):
    """(weight in [out, in], bias) of child `name`, or None."""
    layer = module._modules.get(name) if name in module._modules else getattr(module, name, None)
    if type(layer) is nn.Linear:
        # The per-call path (CompiledMLP reads its weights on every call):
        # nn.Linear registers both, bias as None when absent, and the
        # dictionary is a few times faster than nn.Module.__getattr__.
        params = layer._parameters
        return params["weight"], params["bias"]
    if isinstance(layer, nn.Linear):
        return layer.weight, layer.bias
    if type(layer).__name__ == "Conv1D" and getattr(layer, "weight", None) is not None \
            and layer.weight.dim() == 2:  # Hugging Face's GPT-2 layer: [in, out]
        return layer.weight.t(), getattr(layer, "bias", None)
    return None


@dataclasses.dataclass(frozen=True)
class Layout:
    """Where a recognized block's weights are in its module."""

    kind: str           # "gated", "merged" or "plain"
    names: tuple        # the children, as in the tables above
    up_first: bool = False  # merged: the chunk order is [up ‖ gate]

    @property
    def gated(self):
        return self.kind != "plain"

    def weights(self, module):
        """(gate, up, down, b_gate, b_up, b_down) of `module` now."""
        if self.kind == "gated":
            g, u, d = self.names
            (wg, bg), (wu, bu), (wd, bd) = (_projection(module, g), _projection(module, u),
                                            _projection(module, d))
            return wg, wu, wd, bg, bu, bd
        if self.kind == "merged":
            (w, b), (wd, bd) = (_projection(module, n) for n in self.names)
            wg, wu = w.chunk(2, dim=0)
            bg, bu = b.chunk(2) if b is not None else (None, None)
            if self.up_first:
                wg, wu, bg, bu = wu, wg, bu, bg
            return wg, wu, wd, bg, bu, bd
        (wu, bu), (wd, bd) = _projection(module, self.names[0]), _projection(module, self.names[1])
        return None, wu, wd, None, bu, bd

    def describe(self):
        text = "/".join(self.names)
        return text + (" (chunk order up, gate)" if self.up_first else "")


@dataclasses.dataclass(frozen=True)
class Match:
    layout: Layout
    activation: str
    beta: float
    spec: object  # FFNSpec


def _layouts(module):
    for names in GATED_NAMES:
        if all(_projection(module, n) for n in names):
            yield Layout("gated", names)
    for names in MERGED_NAMES:
        if all(_projection(module, n) for n in names):
            yield Layout("merged", names)
            yield Layout("merged", names, up_first=True)
    for names in PLAIN_NAMES:
        if all(_projection(module, n) for n in names):
            yield Layout("plain", names)


def is_mlp_like(module):
    """Whether `module` is worth a line in the report."""
    if any(True for _ in _layouts(module)):
        return True
    children = [n for n, _ in module.named_children()]
    named = {n for names in GATED_NAMES + MERGED_NAMES + PLAIN_NAMES for n in names}
    return bool(MLP_LIKE.search(type(module).__name__)) or (
        sum(isinstance(c, nn.Linear) for c in module.children()) >= 2 and
        len(named.intersection(children)) >= 1)


def _close(got, expected, dtype):
    if got.shape != expected.shape:
        return False
    scale = expected.float().abs().max().item() or 1.0
    tol = {"f32": 1e-4, "f16": 2e-2, "bf16": 3e-2}[dtype]
    return (got.float() - expected.float()).abs().max().item() <= tol * scale


def probe_input(spec, tokens=5):
    generator = torch.Generator().manual_seed(0)
    return torch.randn(2, tokens, spec.d_model, generator=generator).to(
        kernel.GLU_TO_TORCH[spec.dtype])


def _run_eval(module, x):
    """module(x) in eval mode (no dropout), under no_grad, or None."""
    was = module.training
    module.eval()
    try:
        with torch.no_grad():
            out = module(x)
        return out if isinstance(out, torch.Tensor) else None
    except Exception:  # not callable like an MLP
        return None
    finally:
        module.train(was)


def match(module):
    """A Match for `module`, or the reason (a string) it is not a block the
    dialect has, or None when it does not look like an MLP at all."""
    layouts = list(_layouts(module))
    if not layouts:
        if is_mlp_like(module):
            return "no projection naming it knows (gate_proj/up_proj/down_proj, " \
                   "wi_0/wi_1/wo, gate_up_proj/down_proj, fc1/fc2, wi/wo, ...)"
        return None
    own = [n for n, _ in module.named_parameters(recurse=False)] + \
        [n for n, _ in module.named_buffers(recurse=False)]
    if own:
        return "it has parameters or buffers of its own (%s)" % ", ".join(own)
    act_attr = next((a for a in ACT_ATTRS if hasattr(module, a)), None)
    if act_attr is not None:
        found = activations.of_module(getattr(module, act_attr))
        if found is None:
            return "its activation %s (%s) is not one of the dialect's" % (
                act_attr, type(getattr(module, act_attr)).__name__)
        candidates = [found]
    else:
        candidates = list(activations.CANDIDATES)
    reasons = []
    for layout in layouts:
        weights = layout.weights(module)
        spec = kernel.spec_for(weights, "identity", None, layout.gated)
        if isinstance(spec, str):
            reasons.append(spec)
            continue
        x = probe_input(spec)
        expected = _run_eval(module, x)
        if expected is None:
            reasons.append("calling it on a [2, 5, %d] tensor fails" % spec.d_model)
            continue
        for name, beta in candidates:
            spec = kernel.spec_for(weights, name, beta, layout.gated)
            with torch.no_grad():
                formula = kernel.eager(spec, weights, x)
            if _close(formula, expected, spec.dtype):
                return Match(layout, name, beta, spec)
        reasons.append("its output differs from the %s block %s(%s)" % (
            "gated" if layout.gated else "plain", layout.describe(),
            " / ".join(activations.describe(*c) for c in candidates)))
    return "; ".join(dict.fromkeys(reasons))
