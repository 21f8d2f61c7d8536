"""Finding routed mixture-of-experts loops in a Dynamo FX graph.

Hugging Face's sparse MoE blocks (Mixtral, Qwen2/3-MoE, OLMoE, and those
with a router module, such as DeepSeek-V3's) run their experts in a loop

    expert_mask = F.one_hot(selected_experts, num_classes=E).permute(2, 1, 0)
    for e in range(E):
        idx, top_x = torch.where(expert_mask[e])
        x_e = hidden[None, top_x].reshape(-1, D)
        current = experts[e](x_e) * routing_weights[top_x, idx, None]
        final.index_add_(0, top_x, current.to(hidden.dtype))

Dynamo traces it into one graph when
`torch._dynamo.config.capture_dynamic_output_shape_ops` is set (torch.where
has a data-dependent size: without it the graph breaks there, each expert
lands in a graph of its own and is replaced as a dense block, if at all).
A loop over E identical gated experts without biases, each recognized by
fx.find_blocks, is replaced by one call of
`torch.ops.swiglu.moe(hidden, selected_experts, routing_weights, weights)`:
glu.moe with precomputed routing. The router (softmax and top-k,
renormalization, a router module's sigmoid and group-limited selection,
its scaling) stays in the graph as the model wrote it, so every routing
rule is kept as it is; only the dispatch, the experts and the combine
change hands.
"""

import dataclasses
import operator

import torch
import torch.nn.functional as F

from ..moe import MoESpec
from . import fx

_WHERE = {torch.where}
_ONE_HOT = {F.one_hot, torch._C._nn.one_hot}


@dataclasses.dataclass
class MoELoop:
    """A routed expert loop found in a graph."""

    name: str
    spec: object        # MoESpec, routing "precomputed"
    x: object           # node: the tokens [T, D] every expert reads from
    ids: object         # node: the experts chosen per token [T, k]
    weights: object     # node: their routing weights [T, k]
    experts: list       # nodes: gate, up, down of expert 0, then expert 1, ...
    acc: object         # node: the zeros the loop adds into
    adds: list          # nodes: its index_add_ calls
    blocks: list        # fx.Block of each expert, in expert order


def _call(node, targets):
    return isinstance(node, torch.fx.Node) and node.op == "call_function" and \
        node.target in targets


def _method(node, name):
    return isinstance(node, torch.fx.Node) and node.op == "call_method" and \
        node.target == name


def _getitem(node):
    """(base, index) of `base[index]`, or None."""
    if _call(node, {operator.getitem}) and len(node.args) == 2:
        return node.args
    return None


def _module_path(node):
    """The qualified name of the module whose forward made `node` (no
    module stack: the compiled module's own forward)."""
    return fx.module_path(node) or "<root>"


def _expert_of(where):
    """(expert index, mask, ids, E) when `where` is torch.where(mask[e]) of
    mask = F.one_hot(ids, num_classes=E).permute(2, 1, 0)."""
    if not _call(where, _WHERE) or len(where.args) != 1 or where.kwargs:
        return None
    item = _getitem(where.args[0])
    if item is None or not isinstance(item[1], int):
        return None
    mask, e = item
    if not _method(mask, "permute"):
        return None
    dims = mask.args[1:]
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    if tuple(dims) != (2, 1, 0) or not _call(mask.args[0], _ONE_HOT):
        return None
    one_hot = mask.args[0]
    E = one_hot.kwargs.get("num_classes", one_hot.args[1] if len(one_hot.args) > 1 else None)
    if not isinstance(E, int) or not 0 <= e < E:
        return None
    return e, mask, one_hot.args[0], E


def _gathered_from(x, top_x):
    """h when `x` is h[None, top_x].reshape(-1, D) (or h[top_x], viewed or not)."""
    while _method(x, "reshape") or _method(x, "view"):
        x = x.args[0]
    item = _getitem(x)
    if item is None:
        return None
    base, index = item
    if index is top_x or (isinstance(index, tuple) and len(index) == 2 and
                          index[0] is None and index[1] is top_x):
        return base
    return None


def _one_add(add, blocks):
    """(expert, ids node, routing weights node, tokens node, block, where
    node) of one `acc.index_add_(0, top_x, (block(x) * w[top_x, idx, None]).to(dtype))`."""
    if len(add.args) != 4 or add.kwargs or add.args[1] != 0:
        return None
    _, _, top_x, src = add.args
    while _method(src, "to"):
        src = src.args[0]
    if not (_call(src, fx._MUL) or _method(src, "mul")) or len(src.args) != 2:
        return None
    for out, scale in (src.args, src.args[::-1]):
        block = blocks.get(out)
        item = _getitem(scale)
        if block is None or item is None:
            continue
        rw, index = item
        if not (isinstance(index, tuple) and len(index) == 3 and index[0] is top_x
                and index[2] is None):
            continue
        idx = index[1]
        top, first = _getitem(top_x), _getitem(idx)
        if top is None or first is None or top[1] != 1 or first[1] != 0 or \
                top[0] is not first[0]:
            continue
        found = _expert_of(top[0])
        if found is None:
            continue
        e, _, ids, E = found
        h = _gathered_from(block.x, top_x)
        if h is None:
            continue
        return e, E, ids, rw, h, block
    return None


def find_loops(graph, found):
    """([MoELoop], the other entries of `found`): the routed expert loops
    of `graph` among the blocks fx.find_blocks found (`found`: its list of
    (name, Block or reason)); the experts' blocks are taken out of it."""
    blocks = {b.down: b for _, b in found if isinstance(b, fx.Block)}
    by_acc = {}
    for node in graph.nodes:
        if _method(node, "index_add_") and isinstance(node.args[0], torch.fx.Node):
            by_acc.setdefault(node.args[0], []).append(node)
    loops = []
    for acc, adds in by_acc.items():
        parts = [_one_add(a, blocks) for a in adds]
        if any(p is None for p in parts):
            continue
        E = parts[0][1]
        ids, rw, h = parts[0][2:5]
        if sorted(p[0] for p in parts) != list(range(E)) or any(
                p[1:5] != (E, ids, rw, h) for p in parts):
            continue
        parts.sort(key=lambda p: p[0])
        specs = {p[5].spec for p in parts}
        spec = parts[0][5].spec
        if len(specs) != 1 or not spec.gated or spec.bias or any(
                p[5].merged or p[5].needs_grad for p in parts) or \
                spec.d_out != spec.d_model or spec.alpha is not None or \
                spec.limit is not None:
            continue
        ids_v = fx._value(ids)
        if ids_v is None or ids_v.dim() != 2 or not isinstance(ids_v.shape[-1], int):
            continue
        moe = MoESpec(d_model=spec.d_model, d_ff=spec.d_ff, experts=E, top_k=ids_v.shape[-1],
                      activation=spec.activation, beta=spec.beta, dtype=spec.dtype,
                      routing="precomputed")
        experts = [w for p in parts for w in p[5].operands[:3]]
        loops.append(MoELoop(_module_path(adds[0]), moe, h, ids, rw, experts, acc, adds,
                             [p[5] for p in parts]))
    taken = {b.down for loop in loops for b in loop.blocks}
    rest = [(n, b) for n, b in found if not (isinstance(b, fx.Block) and b.down in taken)]
    return loops, rest


def replace_loop(graph, loop, block_id):
    """Replaces `loop` by a call of torch.ops.swiglu.moe and removes what
    only the loop used (the where's size assertions included)."""
    with graph.inserting_before(loop.adds[0]):
        call = graph.call_function(torch.ops.swiglu.moe.default,
                                   (loop.x, loop.ids, loop.weights, list(loop.experts),
                                    block_id))
    call.meta.update(loop.acc.meta)
    for user in list(loop.acc.users):
        if user not in loop.adds:
            user.replace_input_with(loop.acc, call)
    order = {n: i for i, n in enumerate(graph.nodes)}
    # What the loop made: everything downstream of its where calls, and the
    # accumulator; erased where nothing else uses it.
    todo = [a.args[2].args[0] for a in loop.adds] + [loop.acc]
    made = set()
    while todo:
        n = todo.pop()
        if n in made or n is call:
            continue
        made.add(n)
        todo.extend(n.users)
        if _getitem(n) is not None and _call(n.args[0], _WHERE):
            todo.append(n.args[0])
    made.update(n for b in loop.blocks for n in b.nodes + [b.down])
    for add in loop.adds:  # upstream of each where: mask[e], the mask, one_hot
        mask_e = add.args[2].args[0].args[0]
        made.update((mask_e, mask_e.args[0], mask_e.args[0].args[0]))
    for n in sorted(made, key=order.get, reverse=True):
        if not n.users:
            graph.erase_node(n)
    return call
