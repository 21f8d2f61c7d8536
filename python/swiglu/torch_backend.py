"""`torch.compile(model, backend="swiglu")`: a Dynamo backend.

    import torch, swiglu.torch_backend        # registers "swiglu"
    compiled = torch.compile(model, backend="swiglu")
    with torch.no_grad():
        y = compiled(x)
    print(swiglu.torch_backend.last_report())

The backend finds the FFN blocks of each graph Dynamo captures (gated or
plain, separate or merged projections, biases, every activation the dialect
has; `swiglu._torch.fx`), replaces each by a call of the custom op
`torch.ops.swiglu.ffn` (opaque to Inductor), and hands the graph to Inductor
(default) or runs it as it is (`options={"fallback": "eager"}`).

The op compiles its block once per (FFNSpec, pipeline options) in the
process: the token dim is dynamic in the compiled code, so new token counts
never compile again (Dynamo itself may retrace once when a shape first
changes, as for any backend; `dynamic=True` avoids that). It packs the
weights it is called with once and again only when one of them changes (its
storage, dtype or version counter: an in-place update, load_state_dict).
Blocks whose gradients are required are left to PyTorch's autograd (the
report says so); calls where PyTorch's path measured faster go to it
(`dispatch`, as in swiglu.torch_frontend).

Options (`torch.compile(..., options={...})`): "fallback": "inductor" or
"eager"; "pipeline": the CPU pipeline's options, e.g. "threads=2";
"dispatch": "auto", "always" or "never"; "inductor": a dict of Inductor
config patches.
"""

import logging

import torch

from ._torch import fx, kernel
from ._torch.module import Report

log = logging.getLogger("swiglu.torch")

OPTIONS = ("fallback", "pipeline", "dispatch", "inductor")
_blocks = {}      # id -> _OpBlock
_reports = []     # one Report per compiled graph, latest last


class _OpBlock:
    """What `torch.ops.swiglu.ffn` runs for one block of a graph."""

    def __init__(self, spec, merged, options, dispatch):
        self.spec, self.merged, self.options = spec, merged, options
        self.dispatch_mode = dispatch
        self.kernel = None
        self.dispatch = None
        self.calls = {"ours": 0, "dispatch": 0}

    def run(self, x, operands):
        weights = fx.split_merged(operands, self.merged)
        if self.kernel is None:
            self.kernel = kernel.shared_kernel(self.spec, self.options, weights)
            self.kernel.bind(weights)
            k, spec = self.kernel, self.spec
            self.dispatch = kernel.dispatch_for(self.dispatch_mode, spec, self.options, k,
                                                lambda t: kernel.eager(spec, weights, t))
        tokens = x.numel() // self.spec.d_model
        if not self.dispatch.use_ours(tokens):
            self.calls["dispatch"] += 1
            return kernel.eager(self.spec, weights, x)
        self.calls["ours"] += 1
        self.kernel.bind(weights)  # repacks if a weight changed
        return self.kernel(x.contiguous())


@torch.library.custom_op("swiglu::ffn", mutates_args=())
def ffn(x: torch.Tensor, operands: list[torch.Tensor | None], block: int) -> torch.Tensor:
    """The compiled FFN block `block` on x ([..., d_model]) with the
    operands [gate, up, down, b_gate, b_up, b_down] (merged blocks: gate_up
    and its bias in the gate slots)."""
    return _blocks[block].run(x, operands)


@ffn.register_fake
def _(x, operands, block):
    spec = _blocks[block].spec
    return x.new_empty(tuple(x.shape[:-1]) + (spec.out_features,))


def _check_options(options):
    options = dict(options or {})
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise ValueError("unknown swiglu backend option(s) %s (expected %s)" % (
            ", ".join(map(repr, unknown)), ", ".join(OPTIONS)))
    if options.get("fallback", "inductor") not in ("inductor", "eager"):
        raise ValueError("the swiglu backend's fallback must be 'inductor' or 'eager', "
                         "got %r" % (options["fallback"],))
    kernel.check_dispatch(options.get("dispatch", "auto"))
    return options


def replace_blocks(gm, example_inputs, pipeline=None, dispatch="auto"):
    """Replaces the FFN blocks of `gm` by calls of torch.ops.swiglu.ffn, in
    place; returns the Report."""
    report = Report()
    graph = gm.graph
    replaced = {}  # a block's last node -> the call that took its place
    for name, found in fx.find_blocks(graph, torch.is_grad_enabled()):
        if isinstance(found, str):
            report.append((name, found))
            continue
        kernel.compiled_block(found.spec, pipeline)  # compile now: errors surface here
        block_id = len(_blocks)
        _blocks[block_id] = _OpBlock(found.spec, found.merged, pipeline, dispatch)
        with graph.inserting_before(found.down):
            call = graph.call_function(torch.ops.swiglu.ffn.default,
                                       (replaced.get(found.x, found.x),
                                        list(found.operands), block_id))
        call.meta.update(found.down.meta)
        replaced[found.down] = call
        found.down.replace_all_uses_with(call)
        for node in [found.down] + found.nodes[::-1]:
            if not node.users:
                graph.erase_node(node)
        report.append((name, "replaced"))
        report.details[name] = kernel.spec_summary(found.spec) + (
            " (merged gate_up, %s)" % found.merged.replace("_", " ") if found.merged else "")
    graph.lint()
    gm.recompile()
    return report


def swiglu_backend(gm, example_inputs, options=None, mode=None):
    """The Dynamo backend: see the module doc."""
    options = _check_options(options)
    report = replace_blocks(gm, example_inputs, options.get("pipeline"),
                            options.get("dispatch", "auto"))
    _reports.append(report)
    for name, status in report:
        log.info("swiglu backend: %s: %s", name, status)
    if options.get("fallback", "inductor") == "eager":
        return gm.forward
    from torch._inductor.compile_fx import compile_fx
    patches = dict(options.get("inductor") or {})
    if mode:
        from torch._inductor import list_mode_options
        patches.update(list_mode_options(mode))
    return compile_fx(gm, example_inputs, config_patches=patches or None)


def last_report():
    """The Report of the graph compiled last (empty before any)."""
    return _reports[-1] if _reports else Report()


def reports():
    """Every graph's Report, in compilation order."""
    return list(_reports)


def block_stats():
    """{block id: {'ours': calls, 'dispatch': calls to PyTorch}} of every
    replaced block, and its packs (how often its weights were packed)."""
    return {i: dict(b.calls, packs=b.kernel.packs if b.kernel else 0)
            for i, b in _blocks.items()}


def register():
    """Registers the backend as "swiglu" (idempotent)."""
    from torch._dynamo.backends import registry
    # Found through the entry point (python/swiglu-*.dist-info), torch
    # registers it itself once this module is imported.
    if "swiglu" not in registry._COMPILER_FNS and registry._BACKENDS.get("swiglu") is None:
        registry.register_backend(swiglu_backend, name="swiglu")


register()
