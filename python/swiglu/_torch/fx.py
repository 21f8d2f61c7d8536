"""Finding FFN blocks in a Dynamo FX graph.

A block ends in a projection `down = linear(h, Wd, bd)` whose input is used
by it alone, and is either

* gated: `h = A * B` where B is a projection `linear(x, Wu, bu)` and A is an
  activation of another projection `linear(x, Wg, bg)` of the same x, or
  the two halves of one merged projection chunked in two on its last dim
  (Phi-3's `gate_up_proj(x).chunk(2, -1)`), in either order;
* plain: `h = act(linear(x, W1, b1))`.

The activation is whatever elementwise subgraph lies between the gate
projection and the product (F.silu, F.gelu(approximate=...), torch.relu,
x * torch.sigmoid(1.702 * x), GPT-2's tanh formula, nothing for Bilinear):
it is recognized by evaluating it (activations.identify), not by the names
of its ops. Weights must be graph inputs (Dynamo lifts parameters to
placeholders) or attributes, with static shapes; every intermediate must
be used by the block alone, so that the block can be cut out.
"""

import dataclasses
import operator
import re

import torch
import torch.nn.functional as F
from torch.fx.node import map_arg

from . import activations, kernel

_LINEAR = {torch._C._nn.linear, F.linear}
_MUL = {operator.mul, torch.mul, torch.Tensor.mul}
_CHUNK = {torch.chunk, torch.Tensor.chunk}
_MAX_ACT_NODES = 16  # GPT-2's tanh GELU written out takes 9


def _value(node):
    return node.meta.get("example_value", node.meta.get("val"))


def _linear(node):
    """(x, w, b) of a linear node, or None."""
    if not isinstance(node, torch.fx.Node) or node.op != "call_function" or \
            node.target not in _LINEAR:
        return None
    args = list(node.args) + [None] * (3 - len(node.args))
    x, w, b = args[:3]
    w = node.kwargs.get("weight", w)
    b = node.kwargs.get("bias", b)
    if not isinstance(w, torch.fx.Node) or w.op not in ("placeholder", "get_attr"):
        return None
    if b is not None and (not isinstance(b, torch.fx.Node) or
                          b.op not in ("placeholder", "get_attr")):
        return None
    return x, w, b


def _chunk_half(node):
    """(linear node, half) when `node` is half `half` of a linear's output
    chunked in two on its last dim, else None."""
    if node.op != "call_function" or node.target is not operator.getitem:
        return None
    chunk, half = node.args
    if not isinstance(chunk, torch.fx.Node) or half not in (0, 1):
        return None
    is_chunk = (chunk.op == "call_method" and chunk.target == "chunk") or (
        chunk.op == "call_function" and chunk.target in _CHUNK)
    if not is_chunk:
        return None
    args = list(chunk.args)
    chunks = chunk.kwargs.get("chunks", args[1] if len(args) > 1 else None)
    dim = chunk.kwargs.get("dim", args[2] if len(args) > 2 else 0)
    lin = args[0]
    if chunks != 2 or _linear(lin) is None:
        return None
    rank = _value(lin).dim() if _value(lin) is not None else None
    if rank is None or dim not in (-1, rank - 1):
        return None
    return lin, half


def _projection(node):
    """(linear node, half or None) when `node` is a projection's output."""
    if not isinstance(node, torch.fx.Node):
        return None
    if _linear(node) is not None:
        return node, None
    return _chunk_half(node)


def _dropout(node):
    """'inactive' when `node` is F.dropout(x, p, training=False) or with
    p = 0 (the identity), 'active' for a dropout in training mode, else None."""
    if not isinstance(node, torch.fx.Node) or node.op != "call_function" or \
            node.target not in (F.dropout, torch.dropout) or \
            not isinstance(node.args[0], torch.fx.Node):
        return None
    training = node.kwargs.get("training", node.kwargs.get(
        "train", node.args[2] if len(node.args) > 2 else True))
    p = node.kwargs.get("p", node.args[1] if len(node.args) > 1 else 0.5)
    return "inactive" if training is False or p == 0 else "active"


def _dropout_p(node):
    """The p of a dropout node as a float, or None when it is not a
    constant in [0, 1)."""
    p = node.kwargs.get("p", node.args[1] if len(node.args) > 1 else 0.5)
    return float(p) if isinstance(p, (int, float)) and 0 <= p < 1 else None


def _only_used_by(node, allowed):
    return all(u in allowed for u in node.users)


def _activation_subgraph(top, stop):
    """(root, nodes): the elementwise subgraph `nodes` (in graph order)
    ending in `top` and starting at one projection output `root` (not
    `stop`); nodes is empty when `top` is that output. None otherwise."""
    nodes, roots, todo = set(), set(), [top]
    while todo:
        n = todo.pop()
        if n in nodes or n in roots:
            continue
        if _projection(n) is not None:
            roots.add(n)
            continue
        if n.op not in ("call_function", "call_method") or len(nodes) >= _MAX_ACT_NODES:
            return None
        nodes.add(n)
        todo.extend(n.all_input_nodes)
    if len(roots) != 1:
        return None
    root = roots.pop()
    if root is stop:
        return None
    shape = getattr(_value(root), "shape", None)
    if shape is None or any(getattr(_value(n), "shape", None) != shape for n in nodes):
        return None  # not elementwise
    return root, [n for n in top.graph.nodes if n in nodes]


def _evaluator(root, nodes, top):
    def evaluate(t):
        env = {root: t}
        for n in nodes:
            args = map_arg(n.args, lambda m: env[m])
            kwargs = map_arg(n.kwargs, lambda m: env[m])
            if n.op == "call_method":
                env[n] = getattr(args[0], n.target)(*args[1:], **kwargs)
            else:
                env[n] = n.target(*args, **kwargs)
        return env[top]
    return evaluate


@dataclasses.dataclass
class Block:
    """A block found in a graph: the nodes it reads and the one it ends in."""

    name: str
    spec: object            # FFNSpec
    merged: str             # None, "gate_first" or "up_first"
    x: object               # node
    operands: list          # [gate_w, up_w, down_w, gate_b, up_b, down_b]: nodes or None
    down: object            # the node the block's result replaces
    nodes: list             # every node of the block (removed after replacement)
    needs_grad: bool = False  # gradients are required: the compiled backward runs
    dropout: float = 0.0      # p of a training-mode dropout after the gating


def module_path(node):
    """The qualified name of the module whose forward made `node`, from
    Dynamo's module stack ("" for the root), or None without one."""
    stack = node.meta.get("nn_module_stack")
    if not stack:
        return None
    path = list(stack.values())[-1]
    path = str(path[0] if isinstance(path, tuple) else path)
    path = re.sub(r"^L\['\w+'\]\.?", "", path)
    return re.sub(r"\[(\d+)\]", r".\1", path)


def block_name(down):
    """The qualified name of the module holding the block ending in `down`
    (the down projection's parent), from Dynamo's module stack."""
    path = module_path(down)
    if path is None:
        return down.name
    return path.rpartition(".")[0] or "<root>"


def _gated(h):
    """(gate root, up, act nodes, act top) when h = act(gate) * up."""
    is_mul = (h.op == "call_function" and h.target in _MUL) or (
        h.op == "call_method" and h.target == "mul")
    if not is_mul or len(h.args) != 2 or h.kwargs:
        return None
    p, q = h.args
    if not all(isinstance(n, torch.fx.Node) for n in (p, q)):
        return None
    for a, b in ((p, q), (q, p)):
        up = _projection(b)
        if up is None:
            continue
        found = _activation_subgraph(a, stop=b)
        if found is None:
            continue
        root, nodes = found
        gate = _projection(root)
        if (gate[1] is None) != (up[1] is None):
            continue  # one from a merged projection, one not
        if gate[1] is not None and (root.args[0] is not b.args[0] or gate[1] == up[1]):
            continue  # not the two halves of one chunk
        return root, b, nodes, a
    return None


def find_blocks(graph, grad_required, backward="pytorch"):
    """[(name, Block or the reason it was not taken)] for every candidate:
    every projection whose input is a product or an activation of a
    projection. Where gradients are required (grad mode on, and x or a
    weight requires grad) a block is taken only with backward="compiled"."""
    found = []
    taken = set()
    for down in list(graph.nodes):
        lin = _linear(down)
        if lin is None or not isinstance(lin[0], torch.fx.Node):
            continue
        h, wd, bd = lin
        skipped = []  # dropout between the product and down
        active = []   # p of each training-mode one
        while _dropout(h) is not None:
            if _dropout(h) == "active":
                active.append(_dropout_p(h))
            skipped.append(h)
            h = h.args[0]
        gated = _gated(h)
        if gated is not None:
            root, up, act_nodes, top = gated
            half = _projection(root)[1]
            kind = "gated" if half is None else ("gate_first" if half == 0 else "up_first")
        else:
            sub = _activation_subgraph(h, stop=None)
            if sub is None or not sub[1] or _projection(sub[0])[1] is not None:
                continue  # not h = act(linear(x)): not a block
            root, act_nodes = sub
            up, top, kind = root, h, "plain"
        name = block_name(down)
        if kind == "gated":
            inner = [root, up]
            lin_nodes = [root, up]
        elif kind == "plain":
            inner = lin_nodes = [up]
        else:
            chunk = root.args[0]
            inner = [chunk.args[0], chunk, root, up]
            lin_nodes = [chunk.args[0]]
        body = inner + act_nodes + ([h] if gated is not None else []) + skipped
        if any(n in taken for n in body):
            continue
        allowed = set(body) | {down}
        if not all(_only_used_by(n, allowed) for n in body):
            found.append((name, "left alone: an intermediate of the block is used elsewhere"))
            continue
        x = _linear(lin_nodes[0])[0]
        if any(_linear(n)[0] is not x for n in lin_nodes):
            found.append((name, "left alone: gate and up project different inputs"))
            continue
        act = activations.identify(_evaluator(root, act_nodes, top))
        if act is None:
            found.append((name, "left alone: its activation is not one of the dialect's"))
            continue
        if kind == "plain" and act[0] == "identity":
            continue  # two projections in a row: no block
        if kind == "gated":
            (_, wg, bg), (_, wu, bu) = _linear(root), _linear(up)
            operands, merged = [wg, wu, wd, bg, bu, bd], None
        elif kind == "plain":
            _, wu, bu = _linear(up)
            operands, merged = [None, wu, wd, None, bu, bd], None
        else:
            _, w, b = _linear(lin_nodes[0])
            operands, merged = [w, None, wd, b, None, bd], kind
        values = [_value(n) if n is not None else None for n in operands]
        xv = _value(x) if isinstance(x, torch.fx.Node) else None
        if xv is None or any(n is not None and v is None for n, v in zip(operands, values)):
            found.append((name, "left alone: the graph carries no shapes for it"))
            continue
        if not isinstance(xv.shape[-1], int) or any(
                v is not None and not all(isinstance(s, int) for s in v.shape) for v in values):
            found.append((name, "left alone: its weights or d_model are dynamic"))
            continue
        needs_grad = grad_required and (xv.requires_grad or any(
            v is not None and v.requires_grad for v in values))
        if active and (len(active) > 1 or not isinstance(active[0], float) or
                       not needs_grad or backward != "compiled"):
            found.append((name, "left alone: a dropout in training mode between the "
                          "activation and the down projection (reproduced only by the "
                          "compiled backward: one dropout, gradients required, "
                          "backward='compiled')"))
            continue
        if needs_grad and backward != "compiled":
            found.append((name, "left alone: gradients are required (backward='pytorch': "
                          "PyTorch's autograd runs the original math)"))
            continue
        tensors = split_merged(values, merged)
        if xv.dtype != values[2].dtype:
            found.append((name, "left alone: the input's dtype differs from the weights'"))
            continue
        spec = kernel.spec_for(tensors, act[0], act[1], kind != "plain")
        if isinstance(spec, str):
            found.append((name, "left alone: " + spec))
            continue
        taken.update(body)
        found.append((name, Block(name, spec, merged, x, operands, down, body, needs_grad,
                                  active[0] if active else 0.0)))
    return found


def split_merged(operands, merged):
    """(gate, up, down, b_gate, b_up, b_down) from the op's operands, where a
    merged block passes its gate_up weight and bias in the gate slots."""
    if not merged:
        return list(operands)
    w, _, wd, b, _, bd = operands
    wg, wu = w.chunk(2, 0)
    bg, bu = b.chunk(2) if b is not None else (None, None)
    if merged == "up_first":
        wg, wu, bg, bu = wu, wg, bu, bg
    return [wg, wu, wd, bg, bu, bd]
