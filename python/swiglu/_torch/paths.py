"""The paths a call of a replaced module (CompiledMLP, CompiledMoE) takes,
and what the two share around them: counting and logging the path, and
calling the original module for PyTorch's math."""

import logging

log = logging.getLogger("swiglu.torch")

# Why a call ran PyTorch's math instead of the compiled block.
PATHS = {
    "ours": "the compiled block",
    "autograd": "the compiled block and its compiled backward (gradients required or "
                "training mode; dropout after the gating from Philox)",
    "dispatch": "PyTorch (measured faster at this token count)",
    "grad": "PyTorch (gradients are required: autograd on the original math)",
    "training": "PyTorch (training mode: backward='pytorch', or a dropout the compiled "
                "block does not have)",
    "device": "PyTorch (the input is not on the CPU)",
    "dtype": "PyTorch (the input's dtype differs from the weights')",
    "weights": "PyTorch (the weights' dtype or device is not compiled)",
    "signature": "PyTorch (called with more than one argument)",
}


def note(module, path):
    """Counts the call in `module.stats`, sets `last_path`, and logs a switch
    to a PyTorch path (INFO, once per switch)."""
    module.stats[path] += 1
    if path != module.last_path:
        if path not in ("ours", "dispatch"):
            log.info("swiglu: %s runs %s", module.original_type, PATHS[path])
        # A plain attribute: past nn.Module.__setattr__, which costs more
        # than the rest of the bookkeeping of a call.
        object.__setattr__(module, "last_path", path)


def run_original(module, x, args, kwargs):
    """PyTorch's math: the original module (kept unregistered), in the
    replacement's training mode."""
    original = module._original
    if original.training != module.training:
        original.train(module.training)
    return original(x, *args, **kwargs)
