"""The compiled module (`CompiledMLP`) and `compile_mlps`.

A CompiledMLP takes the place of an MLP module in its parent and registers
the original's children (the projections, the activation, dropout) under
the same names, so the model's state_dict, load_state_dict (strict too),
parameters (still the same nn.Parameter objects), `.to()`, pickling and
repr behave as before. The original module is kept, unregistered, for the
calls the compiled block does not take: PyTorch's own math then runs, with
its autograd. The compiled code itself is not pickled; it is rebuilt (from
this process's compile cache when it has it) on the first call after
unpickling or after a dtype change.
"""

import collections

import torch
from torch import nn

from . import activations, autograd, kernel, match, moe, paths
from .paths import PATHS  # noqa: F401  (swiglu.torch_frontend.PATHS)

BACKWARDS = ("pytorch", "compiled")


def check_backward(mode):
    if mode not in BACKWARDS:
        raise ValueError("backward must be one of %s, got %r" % (
            ", ".join(repr(m) for m in BACKWARDS), mode))
    return mode


class _FastPath:
    """The per-call path of a CompiledMLP, armed by a call that took 'ours'
    or 'dispatch' (all of CompiledMLP._path's checks passed): it redoes only
    the checks whose outcome can change between calls, on what they read
    (the input's dtype, device and width; grad mode; the projections and
    their parameters by identity, version counter and storage address, in
    place of the packing key; the dispatch decision from its dictionary),
    then runs ours or PyTorch's as that decision says. Any failing check, or
    a token count not decided yet, takes the full path, which re-arms this
    one."""

    __slots__ = ("kernel", "bound", "dtype", "d_model", "decisions", "modules",
                 "layers", "tensors", "absent")

    @classmethod
    def arm(cls, module, bound):
        """The fast path of `module` as it is now (`bound`: the kernel was
        bound to these weights), or None where its weights are not plain
        parameters of nn.Linear / Conv1D projections (then every call takes
        the full path)."""
        k, dispatch = module._runtime
        self = cls()
        self.kernel, self.bound = k, bound
        self.dtype, self.d_model = k.torch_dtype, k.spec.d_model
        self.decisions = dispatch.decisions
        self.modules = module._modules
        self.layers, self.tensors, self.absent = [], [], []
        for name in module.layout.names:
            layer = self.modules.get(name)
            if not (type(layer) is nn.Linear or type(layer).__name__ == "Conv1D"):
                return None
            params = layer._parameters
            if "weight" not in params or "bias" not in params:
                return None
            self.layers.append((name, layer))
            for key in ("weight", "bias"):
                t = params[key]
                if t is None:
                    self.absent.append((params, key))
                    continue
                try:
                    version = t._version
                except RuntimeError:  # an inference tensor: no version counter
                    return None
                self.tensors.append((params, key, t, version, t.data_ptr()))
        return self

    def __call__(self, module, x):
        """The block's output on `x`, or None where the full path must run."""
        if x.dtype is not self.dtype or not x.is_cpu or x.shape[-1] != self.d_model:
            return None
        ours = self.decisions.get(x.numel() // self.d_model)
        if ours is None or (ours and not self.bound):
            return None
        modules = self.modules
        for name, layer in self.layers:
            if modules.get(name) is not layer:
                return None
        grad = torch.is_grad_enabled()
        if grad and x.requires_grad:
            return None
        for params, key, t, version, address in self.tensors:
            if params[key] is not t or t._version != version or t.data_ptr() != address \
                    or (grad and t.requires_grad):
                return None
        for params, key in self.absent:
            if params[key] is not None:
                return None
        if ours:
            y, path = self.kernel(x), "ours"
        else:
            y, path = paths.run_original(module, x, (), {}), "dispatch"
        if module.last_path == path:
            module.stats[path] += 1
        else:
            paths.note(module, path)
        return y


class CompiledMLP(nn.Module):
    """An MLP replaced by a compiled swiglu block; see the module doc.

    `stats` counts the calls by path (PATHS); `last_path` is the last one.
    """

    def __init__(self, original, found, options=None, dispatch="auto", backward="pytorch"):
        super().__init__()
        for name, child in original.named_children():
            self.add_module(name, child)
        object.__setattr__(self, "_original", original)
        self.backward_mode = check_backward(backward)
        self.layout = found.layout
        self.activation, self.beta = found.activation, found.beta
        self.options = options
        self.dispatch_mode = kernel.check_dispatch(dispatch)
        self.original_type = type(original).__name__
        self.stats = collections.Counter()
        self.last_path = None
        self._runtime = None  # (Kernel, Dispatch) of the current weights' dtype
        self._fast = None     # _FastPath, armed by a call that ran ours
        # p of a dropout between the gating and the down projection (T5), 0.0
        # without dropout, None for a dropout elsewhere: training mode then
        # runs the original module.
        self.dropout_p = autograd.dropout_after_gating(original, found)
        self._training_blocks = {}  # (spec, p) -> autograd.TrainingBlock
        self._build(found.spec)

    # -- the compiled code ---------------------------------------------------

    def _build(self, spec):
        self._fast = None
        k = kernel.Kernel(spec, self.options)
        weights = self.layout.weights(self)
        k.bind(weights)

        def ours(x):
            return k(x)

        def theirs(x):
            return self._original(x)

        self._runtime = (k, kernel.dispatch_for(self.dispatch_mode, spec, self.options,
                                                ours, theirs))

    def _current_spec(self, weights):
        spec = kernel.spec_for(weights, self.activation, self.beta, self.layout.gated)
        return None if isinstance(spec, str) else spec

    @property
    def spec(self):
        """The FFNSpec of the weights as they are now (None if the dtype is
        not one the kernels take)."""
        return self._current_spec(self.layout.weights(self))

    def dispatch_description(self):
        return self._runtime[1].describe() if self._runtime else "not built"

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_runtime"] = None  # ctypes handles: rebuilt after unpickling
        state["_fast"] = None
        state["_training_blocks"] = {}
        return state

    def __setstate__(self, state):
        state.setdefault("_fast", None)  # pickled before the per-call path
        super().__setstate__(state)

    # -- calls ---------------------------------------------------------------

    def _path(self, x, args, kwargs):
        if args or kwargs or not isinstance(x, torch.Tensor):
            return "signature"
        if self.training and (self.dropout_p is None or self.backward_mode == "pytorch"):
            return "training"
        weights = self.layout.weights(self)
        wants_grad = torch.is_grad_enabled() and (x.requires_grad or any(
            w is not None and w.requires_grad for w in weights))
        if not x.is_cpu:
            return "device"
        runtime = self._runtime
        # A new dtype, or a bias that appeared or went: another block.
        if runtime is None or runtime[0].torch_dtype != weights[2].dtype or \
                runtime[0].spec.bias != any(b is not None for b in weights[3:]):
            spec = self._current_spec(weights)
            if spec is None:
                return "weights"
            self._build(spec)
            runtime = self._runtime
        k, dispatch = runtime
        if x.dtype != k.torch_dtype or x.shape[-1] != k.spec.d_model:
            return "dtype"
        if wants_grad or self.training:
            return "autograd" if self.backward_mode == "compiled" else "grad"
        if not dispatch.use_ours(x.numel() // k.spec.d_model):
            return "dispatch"
        k.bind(weights)  # repacks if a weight changed
        return "ours"

    # Opaque to torch.compile: Dynamo runs the module as it is (a graph
    # break) instead of tracing ctypes calls and numpy-backed results.
    @torch.compiler.disable
    def forward(self, x, *args, **kwargs):
        fast = self._fast
        if fast is not None and not (args or kwargs or self.training) \
                and type(x) is torch.Tensor:
            y = fast(self, x)
            if y is not None:
                return y
        path = self._path(x, args, kwargs)
        paths.note(self, path)
        if path in ("ours", "dispatch"):
            object.__setattr__(self, "_fast", _FastPath.arm(self, path == "ours"))
        if path == "ours":
            return self._runtime[0](x)
        if path == "autograd":
            p = self.dropout_p if self.training else 0.0
            spec = self._runtime[0].spec
            block = self._training_blocks.get((spec, p))
            if block is None:
                block = self._training_blocks[(spec, p)] = autograd.TrainingBlock(
                    spec, self.options, p)
            return autograd.apply(block, x, self.layout.weights(self),
                                  autograd.draw_seed() if p else 0)
        return paths.run_original(self, x, args, kwargs)

    def extra_repr(self):
        spec = self.spec
        what = kernel.spec_summary(spec) if spec else "dtype not compiled"
        return "%s, replaces=%s (%s)" % (what, self.original_type, self.layout.describe())


class Report(list):
    """What compile_mlps saw: a list of (qualified name, status), status
    'replaced' or 'left alone: <why>', for every MLP-like module, and
    `details[name]`: the block and the dispatch decision of each replaced
    one. `str(report)` is a readable table."""

    def __init__(self):
        super().__init__()
        self.details = {}

    def __str__(self):
        lines = []
        for name, status in self:
            lines.append("%s: %s" % (name or "<root>", status))
            if name in self.details:
                lines.append("    " + self.details[name])
        return "\n".join(lines)


def _probe_ours(module, compiled, spec):
    """Whether the compiled block reproduces `module` on the probe input."""
    x = match.probe_input(spec)
    expected = match._run_eval(module, x)
    if expected is None:
        return False
    with torch.no_grad():
        got = compiled._runtime[0](x)
    return match._close(got, expected, spec.dtype)


def compile_mlps(model, options=None, dispatch="auto", backward="pytorch"):
    """Replaces, in place, every MLP of `model` the dialect has by a
    CompiledMLP, and every mixture-of-experts block of softmax top-k routed
    gated experts (Mixtral, Qwen-MoE, OLMoE) by a CompiledMoE (moe.py); an
    MoE block left alone keeps its experts, which are then replaced one by
    one. `options`: the CPU pipeline's options (e.g. 'threads=2');
    `dispatch`: 'auto' (time ours and PyTorch's per shape, run the faster),
    'always' (ours whenever it can) or 'never'; `backward`: what runs when
    gradients are required or in training mode: 'pytorch' (PyTorch's
    autograd on the original math: faster on the CPU today) or 'compiled'
    (the compiled forward and the compiled backward, which recomputes the
    hidden: about 8 % of the activation memory; docs/training.md). Returns a
    Report."""
    kernel.check_dispatch(dispatch)
    check_backward(backward)
    if not isinstance(model, nn.Module):
        raise TypeError("compile_mlps takes an nn.Module, got %s" % type(model).__name__)
    report = Report()
    for name, module in list(model.named_modules()):
        if isinstance(module, (CompiledMLP, moe.CompiledMoE)) or any(
                name.startswith(done + ".") for done, status in report
                if status == "replaced"):
            continue
        found_moe = moe.match_moe(module) if name else None
        if isinstance(found_moe, str):
            report.append((name, "left alone: " + found_moe))
            continue
        if found_moe is not None:
            compiled = moe.CompiledMoE(module, found_moe, options, dispatch)
            if moe.probe(module, compiled):
                compiled.train(module.training)
                parent_name, _, child = name.rpartition(".")
                setattr(model.get_submodule(parent_name), child, compiled)
                report.append((name, "replaced"))
                report.details[name] = "%s from %s; %s" % (
                    compiled.describe(), type(module).__name__,
                    compiled.dispatch_description())
                continue
            report.append((name, "left alone: the compiled MoE block's output differs "
                           "from the module's"))
            continue
        found = match.match(module)
        if found is None:
            continue
        if isinstance(found, str):
            report.append((name, "left alone: " + found))
            continue
        if not name:
            report.append((name, "left alone: the root module cannot be replaced"))
            continue
        compiled = CompiledMLP(module, found, options, dispatch, backward)
        if not _probe_ours(module, compiled, found.spec):
            report.append((name, "left alone: the compiled %s block's output differs "
                           "from the module's" % activations.describe(found.activation,
                                                                        found.beta)))
            continue
        compiled.train(module.training)
        parent_name, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent_name), child, compiled)
        report.append((name, "replaced"))
        report.details[name] = "%s from %s (%s); %s" % (
            kernel.spec_summary(found.spec), type(module).__name__,
            found.layout.describe(), compiled.dispatch_description())
    return report
