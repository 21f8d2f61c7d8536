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
from . import fx, kernel

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


def _strip(node, methods=("view", "reshape", "unsqueeze")):
    while any(_method(node, m) for m in methods):
        node = node.args[0]
    return node


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
    item = _getitem(_strip(x, ("view", "reshape")))
    if item is None:
        return None
    base, index = item
    if index is top_x or (isinstance(index, tuple) and len(index) == 2 and
                          index[0] is None and index[1] is top_x):
        return base
    return None


def _one_add(add, blocks):
    """(expert, E, ids node, routing weights node, tokens node, block) of
    one `acc.index_add_(0, top_x, (block(x) * w[top_x, idx, None]).to(dtype))`."""
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
    wheres = [a.args[2].args[0] for a in loop.adds]  # top_x = where(mask[e])[1]
    for add in loop.adds:
        graph.erase_node(add)
    # What the loop made: everything downstream of its where calls, and the
    # accumulator; erased where nothing else uses it.
    todo = wheres + [loop.acc]
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
    for where in wheres:  # upstream of each where: mask[e], the mask, one_hot
        mask_e = where.args[0]
        made.update((mask_e, mask_e.args[0], mask_e.args[0].args[0]))
    _erase_unused(graph, made)
    return call


def _erase_unused(graph, nodes):
    """Erases those of `nodes` that nothing uses, users before producers,
    but no in-place method (its effect is its use)."""
    order = {n: i for i, n in enumerate(graph.nodes)}
    for n in sorted(nodes, key=order.get, reverse=True):
        if not n.users and not (n.op == "call_method" and n.target.endswith("_")):
            graph.erase_node(n)


# -- Stacked experts run densely (GPT-OSS) ------------------------------------
#
# GPT-OSS's experts (Hugging Face's GptOssExperts, its CPU path) run every
# expert on every token with two bmm over stacked weights and weight each
# expert's output by dense [T, E] router scores, which the router builds
# as zeros with its top-k softmax scattered in:
#
#     scores = torch.zeros_like(logits).scatter_(1, ids, top_k_weights)
#     h = x.repeat(E, 1).view(E, -1, D)
#     gate_up = torch.bmm(h, gate_up_proj) + gate_up_proj_bias[..., None, :]
#     gate, up = gate_up[..., ::2], gate_up[..., 1::2]
#     out = torch.bmm(gating(gate, up), down_proj) + down_proj_bias[..., None, :]
#     out = (out.view(E, B, -1, D) * scores.transpose(0, 1).view(E, B, -1)[..., None]).sum(0)
#
# The scores are zero but at `ids`, so the sum is glu.moe's over the top k:
# E/k times fewer FLOPs. The gating is recognized by evaluating it against
# the clamped SwiGLU (alpha and limit among the graph's constants).

_BMM = {torch.bmm}
_ADD = {operator.add, torch.add}


def _param(node, shape_rank):
    if not isinstance(node, torch.fx.Node) or node.op not in ("placeholder", "get_attr"):
        return None
    v = fx._value(node)
    return node if v is not None and v.dim() == shape_rank else None


def _biased_bmm(node):
    """(lhs, stacked weight, bias or None) of `bmm(lhs, W) (+ b[..., None, :])`."""
    bias = None
    if _call(node, _ADD) and len(node.args) == 2:
        for mm, b in (node.args, node.args[::-1]):
            item = _getitem(b)
            if _call(mm, _BMM) and item is not None and _param(item[0], 2) is not None:
                node, bias = mm, item[0]
                break
        else:
            return None
    if not _call(node, _BMM) or len(node.args) != 2 or _param(node.args[1], 3) is None:
        return None
    return node.args[0], node.args[1], bias


def _interleaved_half(node, gate_up):
    """0 for gate_up[..., ::2], 1 for gate_up[..., 1::2], else None."""
    item = _getitem(node)
    if item is None or item[0] is not gate_up or not isinstance(item[1], tuple) or \
            len(item[1]) != 2 or item[1][0] is not Ellipsis or \
            not isinstance(item[1][1], slice):
        return None
    s = item[1][1]
    if s.step == 2 and s.stop is None and s.start in (None, 0, 1):
        return s.start or 0
    return None


def _clamped_swiglu(product, gate, up):
    """(alpha, limit) when the elementwise subgraph from (gate, up) to
    `product` computes GPT-OSS's clamped SwiGLU, else None."""
    from .. import reference
    nodes, todo = set(), [product]
    while todo:
        n = todo.pop()
        if n in nodes or n is gate or n is up:
            continue
        if not isinstance(n, torch.fx.Node) or n.op not in ("call_function", "call_method") \
                or len(nodes) >= 16:
            return None
        nodes.add(n)
        todo.extend(n.all_input_nodes)
    order = [n for n in product.graph.nodes if n in nodes]
    consts = sorted({float(abs(a)) for n in order for a in list(n.args) + list(
        n.kwargs.values()) if isinstance(a, float) and a})
    g = torch.linspace(-12, 12, 97, dtype=torch.float64)
    gg, uu = torch.meshgrid(g, g, indexing="ij")
    env = {gate: gg, up: uu}
    try:
        for n in order:
            args = torch.fx.node.map_arg(n.args, lambda m: env[m])
            kwargs = torch.fx.node.map_arg(n.kwargs, lambda m: env[m])
            env[n] = getattr(args[0], n.target)(*args[1:], **kwargs) \
                if n.op == "call_method" else n.target(*args, **kwargs)
    except Exception:  # not elementwise on two tensors
        return None
    got = env[product].numpy()
    for alpha in consts:
        for limit in consts:
            want = reference.gating("clamped_swiglu", gg.numpy(), uu.numpy(),
                                    alpha=alpha, limit=limit)
            if abs(got - want).max() <= 1e-9 * max(1.0, abs(want).max()):
                return alpha, limit
    return None


@dataclasses.dataclass
class StackedMoE:
    """GPT-OSS's dense stacked-expert block found in a graph."""

    name: str
    spec: object      # MoESpec: precomputed, in_out, interleaved, biases
    x: object         # node: the tokens [T, D]
    ids: object       # node: the top-k expert ids [T, k]
    weights: object   # node: their weights [T, k]
    experts: list     # nodes: gate_up_proj, down_proj, their biases
    out: object       # node: the sum the block's result replaces
    shape: tuple      # the view from [T, D] to out's shape (args of view)


def _stacked_one(total):
    """A StackedMoE ending in `total` = (... * scores ...).sum(0), or None."""
    if not (_method(total, "sum") or _call(total, {torch.sum})) or len(total.args) < 1:
        return None
    dim = total.kwargs.get("dim", total.args[1] if len(total.args) > 1 else None)
    if dim != 0 or not _call(total.args[0], fx._MUL) or len(total.args[0].args) != 2:
        return None
    for a, b in (total.args[0].args, total.args[0].args[::-1]):
        if not (_method(a, "view") or _method(a, "reshape")):
            continue
        down = _biased_bmm(a.args[0])
        scale = _getitem(b)
        scale = _strip(scale[0]) if scale is not None and scale[1] == (Ellipsis, None) \
            else _strip(b)
        if down is None or not _method(scale, "transpose") or \
                tuple(scale.args[1:]) not in ((0, 1), (1, 0)):
            continue
        scores = scale.args[0]
        if not _method(scores, "scatter_") or len(scores.args) != 4 or scores.args[1] != 1 \
                or not _call(scores.args[0], {torch.zeros_like}):
            continue
        ids, top_w = scores.args[2], scores.args[3]
        product, wd, bd = down
        halves = {}
        for n in product.graph.nodes:  # the two interleaved halves of gate_up
            if _getitem(n) is not None and isinstance(_getitem(n)[0], torch.fx.Node):
                half = _interleaved_half(n, _getitem(n)[0])
                if half is not None:
                    halves.setdefault(_getitem(n)[0], {})[half] = n
        for gate_up, pair in halves.items():
            if len(pair) != 2:
                continue
            up_proj = _biased_bmm(gate_up)
            act = _clamped_swiglu(product, pair[0], pair[1])
            if up_proj is None or act is None:
                continue
            h, wgu, bgu = up_proj
            rep = _strip(h)
            if not _method(rep, "repeat") or bd is None or bgu is None:
                continue
            x = rep.args[0]
            xv, wv, dv, idv = (fx._value(n) for n in (x, wgu, wd, ids))
            if xv is None or xv.dim() != 2 or wv is None or dv is None or idv is None:
                continue
            E, D, F2 = wv.shape
            if tuple(dv.shape) != (E, F2 // 2, D) or F2 % 2 or idv.dim() != 2:
                continue
            dtype = kernel.TORCH_TO_GLU.get(wv.dtype)
            if dtype is None or xv.dtype != wv.dtype:
                continue
            spec = MoESpec(d_model=D, d_ff=F2 // 2, experts=E, top_k=idv.shape[-1],
                           activation="clamped_swiglu", alpha=act[0], limit=act[1],
                           dtype=dtype, routing="precomputed", layout="in_out",
                           packing="interleaved", bias=True)
            return StackedMoE(_module_path(total), spec, x, ids, top_w,
                              [wgu, wd, bgu, bd], total, tuple(a.args[2:]))
    return None


def find_stacked(graph):
    """Every GPT-OSS-style dense stacked-expert block of `graph`."""
    return [s for s in map(_stacked_one, list(graph.nodes)) if s is not None]


def replace_stacked(graph, found, block_id):
    """Replaces `found` by torch.ops.swiglu.moe over the top-k experts
    (the weights: the top-k values scattered into the scores), viewed to
    the sum's shape; the dense bmm chain is left to dead code removal."""
    with graph.inserting_before(found.out):
        call = graph.call_function(torch.ops.swiglu.moe.default,
                                   (found.x, found.ids, found.weights,
                                    list(found.experts), block_id))
        view = graph.call_method("view", (call,) + found.shape)
    view.meta.update(found.out.meta)
    # What only the dense chain used: the ancestors of the old sum up to
    # the op's own inputs, erased where nothing else uses them (the
    # router's scores stay: the block returns them).
    inputs = {found.x, found.ids, found.weights}
    made, todo = set(), [found.out]
    while todo:
        n = todo.pop()
        if n in made or n in inputs or n.op in ("placeholder", "get_attr", "output"):
            continue
        made.add(n)
        todo.extend(n.all_input_nodes)
    found.out.replace_all_uses_with(view)
    _erase_unused(graph, made)
    return view
