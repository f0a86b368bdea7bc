"""Reference solution of exercise 3 (``tutorials/exercises/03_dead_code.py``): dead code.

Compare with minijit's own pass, ``minijit/jit/passes/dce.py``, which also drops loop-carried
values that are never read.
"""
from __future__ import annotations

from minijit.jit.ir import Block, Graph, Node, parse_ir
from minijit.ops.registry import Tag, find

EFFECT_KINDS = frozenset({
    "prim::Print", "prim::RaiseException", "prim::SetAttr", "prim::CallMethod",
    "prim::CallFunction", "prim::PythonOp", "aten::append", "aten::_set_item", "aten::insert",
    "aten::pop", "aten::clear", "aten::extend", "aten::warn", "aten::Delete",
})


def has_side_effects(node: Node) -> bool:
    """Whether ``node`` must be kept even when nobody reads its outputs."""
    if node.kind in EFFECT_KINDS:
        return True
    op = find(node.kind)
    return op is not None and Tag.INPLACE in op.tags


def _has_effects_inside(block: Block) -> bool:
    """Does any node of ``block``, at any depth, have side effects?"""
    for node in block.nodes:
        if has_side_effects(node) or any(_has_effects_inside(b) for b in node.blocks):
            return True
    return False


def _is_dead(node: Node) -> bool:
    if any(out.uses for out in node.outputs):
        return False
    if node.blocks:
        return not any(_has_effects_inside(b) for b in node.blocks)
    return not has_side_effects(node)


def _drop_unused_if_outputs(node: Node) -> bool:
    changed = False
    for i in reversed(range(len(node.outputs))):       # from the end: indices stay valid
        if not node.outputs[i].uses:
            node.erase_output(i)
            for block in node.blocks:
                block.erase_output(i)
            changed = True
    return changed


def _sweep(block: Block) -> bool:
    """One backwards walk over ``block`` (and the blocks inside it)."""
    changed = False
    for node in reversed(block.nodes):
        if node.kind == "prim::If":
            changed |= _drop_unused_if_outputs(node)
        for inner in node.blocks:
            changed |= _sweep(inner)
        if _is_dead(node):
            node.destroy()
            changed = True
    return changed


def eliminate_dead_code(graph: Graph) -> bool:
    """Remove dead nodes; True if anything was removed."""
    changed = False
    while _sweep(graph.block):
        changed = True
    return changed


if __name__ == "__main__":
    demo = parse_ir("""graph(%x : Tensor):
  %1 : int = prim::Constant[value=1]()
  %2 : Tensor = aten::mul(%x, %x)
  %3 : Tensor = aten::add(%2, %x, %1)
  %4 : Tensor = aten::tanh(%x)
  return (%4)
""")
    print(demo)
    print("changed:", eliminate_dead_code(demo))
    print(demo)
