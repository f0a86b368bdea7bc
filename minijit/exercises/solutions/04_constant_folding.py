"""Reference solution of exercise 4 (``tutorials/exercises/04_constant_folding.py``).

minijit's own pass, ``minijit/jit/passes/constant_propagation.py``, does the same and also
removes loops that never run.
"""
from __future__ import annotations

from typing import Any, Tuple

from minijit.jit.ir import Block, Graph, Node, Value, parse_ir
from minijit.jit.passes.dce import eliminate_dead_code
from minijit.jit.passes.pass_manager import is_pure


def constant_of(value: Value) -> Tuple[bool, Any]:
    """``(True, v)`` for a value made by ``prim::Constant[value=v]``, else ``(False, None)``."""
    if value.node.kind != "prim::Constant":
        return False, None
    return True, value.node.attrs.get("value")


def run_node(node: Node) -> Any:
    """Run ``node`` on its constant inputs, with the interpreter's handler; its one output."""
    from minijit.jit.runtime.interpreter import handler_for
    return handler_for(node)([constant_of(v)[1] for v in node.inputs])[0]


def can_fold(node: Node) -> bool:
    """Whether ``node`` may be computed now and replaced by a constant."""
    if node.kind == "prim::Constant" or node.blocks or len(node.outputs) != 1:
        return False
    if node.output().type.kind in ("Tensor", "List", "Dict"):
        return False
    if not is_pure(node):
        return False
    return all(v.node.kind == "prim::Constant" for v in node.inputs)


def _fold_node(graph: Graph, node: Node) -> bool:
    if not node.in_block_list or not can_fold(node):
        return False
    try:
        value = run_node(node)
    except Exception:  # noqa: BLE001 - the error will happen, and be reported, at run time
        return False
    with graph.insert_point(node):
        const = graph.insert_constant(value)
    node.output().replace_all_uses_with(const)
    node.destroy()
    return True


def _inline_branch(node: Node, branch: Block) -> list:
    moved = branch.nodes
    for inner in moved:
        inner.move_before(node)
    for out, ret in zip(node.outputs, branch.returns):
        out.replace_all_uses_with(ret)
    node.destroy()
    return moved


def _fold_block(graph: Graph, block: Block) -> bool:
    changed = False
    for node in block.nodes:
        if not node.in_block_list:
            continue
        if node.kind == "prim::If":
            known, cond = constant_of(node.inputs[0])
            if known and isinstance(cond, (bool, int)):
                for inner in _inline_branch(node, node.blocks[0] if cond else node.blocks[1]):
                    for b in inner.blocks:
                        _fold_block(graph, b)
                    _fold_node(graph, inner)
                changed = True
                continue
        for b in node.blocks:
            changed |= _fold_block(graph, b)
        changed |= _fold_node(graph, node)
    return changed


def fold_constants(graph: Graph) -> bool:
    """Fold constant nodes and constant ``prim::If`` everywhere; True if anything changed."""
    changed = False
    while _fold_block(graph, graph.block):
        changed = True
    if changed:
        eliminate_dead_code(graph)
    return changed


if __name__ == "__main__":
    demo = parse_ir("""graph(%x : Tensor):
  %1 : int = prim::Constant[value=2]()
  %2 : int = prim::Constant[value=3]()
  %3 : int = aten::mul(%1, %2)
  %4 : bool = aten::gt(%3, %1)
  %5 : Tensor = prim::If(%4)
    block0():
      %6 : Tensor = aten::add(%x, %3, %1)
      -> (%6)
    block1():
      -> (%x)
  return (%5)
""")
    print(demo)
    print("changed:", fold_constants(demo))
    print(demo)
