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
Calls where PyTorch's path measured faster go to it (`dispatch`, as in
swiglu.torch_frontend).

Training: where gradients are required, `backward` decides, as
compile_mlps' `backward=` does: "pytorch" (default: PyTorch's autograd,
faster in f32 at equal memory) leaves the block as it is; "compiled"
replaces it too, and the op's autograd formula (torch.library
register_autograd) saves x and the weights only and calls
`torch.ops.swiglu.ffn_backward`, the compiled glu.ffn_grad / glu.mlp_grad,
which recomputes the hidden: AOTAutograd and Inductor trace both ops. A
dropout in training mode after the gating (T5) is reproduced there: the
graph draws a seed per call from PyTorch's generator, the forward applies
glu.dropout's mask (Philox, keyed by the seed and each element's index)
and the compiled backward recomputes it from the same seed.

Routed mixture-of-experts loops (Mixtral's and Qwen-MoE's per-expert
`torch.where` / `index_add_` loop, traced whole when
torch._dynamo.config.capture_dynamic_output_shape_ops is set) become one
`torch.ops.swiglu.moe` each (fx_moe.py, _torch/moe_op.py), the router left
in the graph; GPT-OSS's dense stacked experts (every expert on every
token, weighted by top-k scores scattered into zeros) become one over the
top k.

With Inductor, a block it could compile itself is replaced only where ours
measured faster (`replace`, versus.py): the custom op splits Inductor's
fusions, which on small blocks costs more than our kernel gains.

Options (`torch.compile(..., options={...})`): "fallback": "inductor" or
"eager"; "pipeline": the CPU pipeline's options, e.g. "threads=2";
"dispatch": "auto", "always" or "never"; "inductor": a dict of Inductor
config patches; "backward": "pytorch" or "compiled"; "replace": "auto"
(with Inductor and dispatch "auto": measured against Inductor; else
always), "always" or "never".
"""

import itertools
from typing import Optional
import logging

import torch

from ._torch import autograd, fx, fx_moe, kernel, moe_op, versus
from ._torch.module import Report, check_backward

log = logging.getLogger("swiglu.torch")

OPTIONS = ("fallback", "pipeline", "dispatch", "inductor", "backward", "replace")
REPLACE_MODES = ("auto", "always", "never")
_blocks = {}      # id -> _OpBlock (negative ids: versus.py's measurements)
_block_ids = itertools.count()
_reports = []     # one Report per compiled graph, latest last


class _OpBlock:
    """What `torch.ops.swiglu.ffn` (and, for training, its backward
    `torch.ops.swiglu.ffn_backward`) runs for one block of a graph."""

    def __init__(self, spec, merged, present, options, dispatch, training=None):
        self.spec, self.merged, self.options = spec, merged, options
        self.present = present  # which of the 6 operands the op's weights are
        self.dispatch_mode = dispatch
        self.training = training  # autograd.TrainingBlock: backward="compiled"
        self.kernel = None
        self.dispatch = None
        self.calls = {"ours": 0, "dispatch": 0, "backward": 0}

    def operands(self, weights):
        """[gate, up, down, b_gate, b_up, b_down] (None where absent) from the
        op's list of the present ones."""
        it = iter(weights)
        return [next(it) if p else None for p in self.present]

    def run(self, x, tensors, seed=None):
        weights = fx.split_merged(self.operands(tensors), self.merged)
        if self.training is not None and self.training.dropout:
            # The dropout's mask from the seed the graph drew; the compiled
            # backward recomputes it from the same seed.
            self.calls["ours"] += 1
            return self.training.forward(x.contiguous(), weights, int(seed))[0]
        if self.kernel is None:
            self.kernel = kernel.shared_kernel(self.spec, self.options, weights)
            self.kernel.bind(weights)
            k, spec = self.kernel, self.spec
            self.dispatch = kernel.dispatch_for(self.dispatch_mode, spec, self.options, k,
                                                lambda t: kernel.eager(spec, weights, t))
        tokens = x.numel() // self.spec.d_model
        if not self.dispatch.use_ours(tokens):
            self.calls["dispatch"] += 1
            with torch.no_grad():
                return kernel.eager(self.spec, weights, x)
        self.calls["ours"] += 1
        self.kernel.bind(weights)  # repacks if a weight changed
        return self.kernel(x.contiguous())

    def backward(self, x, dy, tensors, seed=None):
        """[dx] + the gradient of each of the op's weights (a merged block's
        gate_up gradient concatenated as its weight is)."""
        self.calls["backward"] += 1
        operands = self.operands(tensors)
        weights = fx.split_merged(operands, self.merged)
        dx, dwg, dwu, dwd, dbg, dbu, dbd = self.training.backward(
            x.contiguous(), dy.contiguous(), weights, 0 if seed is None else int(seed))
        if self.merged:
            first, second = (dwg, dwu) if self.merged == "gate_first" else (dwu, dwg)
            grads = [torch.cat([first, second], 0), None, dwd]
            if operands[3] is not None:
                first, second = (dbg, dbu) if self.merged == "gate_first" else (dbu, dbg)
                grads.append(torch.cat([first, second], 0))
            else:
                grads.append(None)
            grads += [None, dbd]
        else:
            grads = [dwg, dwu, dwd, dbg, dbu, dbd]
        out = [dx]
        for t, g in zip(operands, grads):
            if t is not None:
                out.append(g.to(t.dtype) if g.dtype != t.dtype else g)
        return out


@torch.library.custom_op("swiglu::ffn", mutates_args=())
def ffn(x: torch.Tensor, weights: list[torch.Tensor], block: int,
        seed: Optional[torch.Tensor] = None) -> torch.Tensor:
    """The compiled FFN block `block` on x ([..., d_model]) with the
    weights and biases the block has, in the order gate, up, down, b_gate,
    b_up, b_down (merged blocks: gate_up and its bias in the gate slots).
    (A list of tensors, not of optional ones: torch.library's autograd
    gives a gradient to each element of the one, none to the other.)
    `seed`: an int64 scalar, the dropout's seed, for a block with a
    training-mode dropout after the gating (drawn by the graph from
    PyTorch's generator at each call)."""
    return _blocks[block].run(x, weights, seed)


@ffn.register_fake
def _(x, weights, block, seed=None):
    spec = _blocks[block].spec
    return x.new_empty(tuple(x.shape[:-1]) + (spec.out_features,))


@torch.library.custom_op("swiglu::ffn_backward", mutates_args=())
def ffn_backward(x: torch.Tensor, dy: torch.Tensor, weights: list[torch.Tensor],
                 block: int, seed: Optional[torch.Tensor] = None) -> list[torch.Tensor]:
    """The compiled glu.ffn_grad / glu.mlp_grad of block `block`: [dx] and
    the gradient of each of `weights`. It recomputes the hidden (and the
    dropout's mask, from `seed`) from x: the forward keeps nothing
    d_ff-wide."""
    return _blocks[block].backward(x, dy, weights, seed)


@ffn_backward.register_fake
def _(x, dy, weights, block, seed=None):
    return [torch.empty_like(x)] + [torch.empty_like(t) for t in weights]


def _setup_context(ctx, inputs, output):
    x, weights, block, seed = inputs
    ctx.block, ctx.has_seed = block, seed is not None
    # x, the weights and the seed: nothing d_ff-wide.
    ctx.save_for_backward(x, *weights, *([seed] if seed is not None else []))


def _backward(ctx, dy):
    if _blocks[ctx.block].training is None:
        raise RuntimeError(
            "swiglu backend: block %d was compiled for inference (no_grad, or "
            "backward='pytorch'): it has no backward" % ctx.block)
    x, *weights = ctx.saved_tensors
    seed = weights.pop() if ctx.has_seed else None
    dx, *grads = torch.ops.swiglu.ffn_backward(x, dy, weights, ctx.block, seed)
    return dx, grads, None, None


ffn.register_autograd(_backward, setup_context=_setup_context)


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
    check_backward(options.get("backward", "pytorch"))
    if options.get("replace", "auto") not in REPLACE_MODES:
        raise ValueError("replace must be one of %s, got %r" % (
            ", ".join(repr(m) for m in REPLACE_MODES), options["replace"]))
    return options


def _tokens(x):
    """The token count of the example x (a dynamic dim: its hint, with no
    guard), or None."""
    n = 1
    for s in tuple(x.shape)[:-1]:
        if not isinstance(s, int):
            s = getattr(s.node, "hint", None)
            if not isinstance(s, int):
                return None
        n *= s
    return n


_probe_ids = iter(range(-1, -(1 << 62), -1))  # ids of the measurement's own blocks


def _ours_for_proxy(spec, pipeline):
    """ours_op for versus.versus_inductor: our block through the custom op,
    as the graph would call it."""
    made = {}

    def ours_op(h, weights, slots):
        if slots not in made:
            made[slots] = next(_probe_ids)
            _blocks[made[slots]] = _OpBlock(spec, None, slots, pipeline, "always")
        return torch.ops.swiglu.ffn(h, weights, made[slots])
    return ours_op


def _versus_inductor(found, pipeline):
    """(replace?, what was measured) of an inference block in a graph
    Inductor compiles (versus.py)."""
    x = fx._value(found.x)
    tokens = _tokens(x)
    if tokens is None or tokens < 1:
        return True, "not measured against Inductor (no token count)"
    present = versus.slots_of([n is not None for n in found.operands], found.merged)
    dynamic = any(not isinstance(s, int) for s in tuple(x.shape)[:-1])
    counts = sorted({tokens, *versus.DYNAMIC_TOKENS}) if dynamic else [tokens]
    ours = _ours_for_proxy(found.spec, pipeline)
    try:
        ms = [versus.versus_inductor(found.spec, present, pipeline, n, ours) for n in counts]
    except Exception as e:  # the proxy failed to compile or run: ours, as before
        log.warning("swiglu backend: measuring %s against Inductor failed: %s",
                    kernel.spec_summary(found.spec), e)
        return True, "not measured against Inductor (%s: %s)" % (type(e).__name__, e)
    return versus.replace_for(ms), versus.describe_all(ms)


def replace_blocks(gm, example_inputs, pipeline=None, dispatch="auto", backward="pytorch",
                   versus_inductor=False):
    """Replaces the FFN blocks of `gm` by calls of torch.ops.swiglu.ffn, in
    place; returns the Report. `backward`: what computes the gradients of a
    block that needs them: "pytorch" leaves such a block as it is (PyTorch's
    autograd on the original math), "compiled" replaces it too, its
    gradients from the compiled glu.ffn_grad / glu.mlp_grad.
    `versus_inductor`: an inference block is replaced only where ours
    measured faster than Inductor's code for it (versus.py)."""
    report = Report()
    graph = gm.graph
    replaced = {}  # a block's last node -> the call that took its place
    loops, blocks = fx_moe.find_loops(
        graph, fx.find_blocks(graph, torch.is_grad_enabled(), backward))
    for found in fx_moe.find_stacked(graph):  # GPT-OSS's dense stacked experts
        block_id = moe_op.register(found.spec, pipeline)
        fx_moe.replace_stacked(graph, found, block_id)
        report.append((found.name, "replaced"))
        report.details[found.name] = kernel.spec_summary(found.spec) + (
            "; stacked experts run on the top-k only (glu.moe, the model's own "
            "routing), block %d" % block_id)
    for loop in loops:  # routed expert loops: one glu.moe each
        block_id = moe_op.register(loop.spec, pipeline)
        fx_moe.replace_loop(graph, loop, block_id)
        report.append((loop.name, "replaced"))
        report.details[loop.name] = kernel.spec_summary(loop.spec) + (
            "; routed experts (glu.moe, the model's own routing), block %d" % block_id)
    for name, found in blocks:
        if isinstance(found, str):
            report.append((name, found))
            continue
        kernel.compiled_block(found.spec, pipeline)  # compile now: errors surface here
        measured = ""
        if versus_inductor and not found.needs_grad:
            replace, measured = _versus_inductor(found, pipeline)
            if not replace:
                report.append((name, "left alone: Inductor's code for it measured faster"))
                report.details[name] = kernel.spec_summary(found.spec) + "; " + measured
                continue
            measured = "; " + measured
        # The backward compiled now too (once per spec and options).
        training = autograd.TrainingBlock(found.spec, pipeline, dropout=found.dropout) \
            if found.needs_grad else None
        block_id = next(_block_ids)
        present = tuple(n is not None for n in found.operands)
        _blocks[block_id] = _OpBlock(found.spec, found.merged, present, pipeline, dispatch,
                                     training)
        with graph.inserting_before(found.down):
            args = (replaced.get(found.x, found.x),
                    [n for n in found.operands if n is not None], block_id)
            if found.dropout:  # a fresh seed per call, from PyTorch's generator
                args += (graph.call_function(torch.randint, (0, 2**63 - 1, ()),
                                             {"dtype": torch.int64}),)
            call = graph.call_function(torch.ops.swiglu.ffn.default, args)
        call.meta.update(found.down.meta)
        replaced[found.down] = call
        found.down.replace_all_uses_with(call)
        for node in [found.down] + found.nodes[::-1]:
            if not node.users:
                graph.erase_node(node)
        report.append((name, "replaced"))
        report.details[name] = kernel.spec_summary(found.spec) + (
            " (merged gate_up, %s)" % found.merged.replace("_", " ") if found.merged else "") + (
            "; block %d, backward: compiled (%s, recomputes the hidden%s)" % (
                block_id, "glu.ffn_grad" if found.spec.gated else "glu.mlp_grad",
                " and the mask of its dropout p=%g" % found.dropout if found.dropout else "")
            if training else "; block %d, inference" % block_id) + measured
    graph.lint()
    gm.recompile()
    return report


def swiglu_backend(gm, example_inputs, options=None, mode=None):
    """The Dynamo backend: see the module doc."""
    options = _check_options(options)
    inductor = options.get("fallback", "inductor") == "inductor"
    replace = options.get("replace", "auto")
    if replace == "auto":  # dispatch "always": ours wherever it can run
        replace = "measure" if inductor and options.get("dispatch", "auto") == "auto" \
            else "always"
    if replace == "never":
        report = Report()
        report.extend((name, "left alone: replace='never'" if not isinstance(found, str)
                       else found)
                      for name, found in fx.find_blocks(gm.graph, torch.is_grad_enabled(),
                                                        options.get("backward", "pytorch")))
    else:
        report = replace_blocks(gm, example_inputs, options.get("pipeline"),
                                options.get("dispatch", "auto"),
                                options.get("backward", "pytorch"), replace == "measure")
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
    """{block id: {'ours': calls, 'dispatch': calls to PyTorch, 'backward':
    calls of the compiled backward}} of every replaced block, its packs
    (how often its weights were packed) and 'training' (whether it was
    compiled with the compiled backward)."""
    return {i: dict(b.calls, packs=b.kernel.packs if b.kernel else 0,
                    training=b.training is not None)
            for i, b in _blocks.items() if i >= 0}


def register():
    """Registers the backend as "swiglu" (idempotent)."""
    from torch._dynamo.backends import registry
    # Found through the entry point (python/swiglu-*.dist-info), torch
    # registers it itself once this module is imported.
    if "swiglu" not in registry._COMPILER_FNS and registry._BACKENDS.get("swiglu") is None:
        registry.register_backend(swiglu_backend, name="swiglu")


register()
