"""Reference solution of exercise 7 (``tutorials/exercises/07_kernel_template.py``).

minijit's own generator, ``minijit/jit/codegen/numpy_kernel.py``, starts the same way.
"""
from __future__ import annotations

from typing import Callable, Dict

import numpy as np

from minijit.jit.ir import Graph, Value, parse_ir
from minijit.ops import kernels
from minijit.ops.registry import find


def kernel_source(subgraph: Graph) -> str:
    """The Python source of ``def kernel(a0, ...)`` computing ``subgraph`` on arrays."""
    text: Dict[Value, str] = {}
    params = []
    for i, value in enumerate(subgraph.inputs):
        text[value] = f"a{i}"
        params.append(f"a{i}")
    lines = [f"def kernel({', '.join(params)}):"]
    for node in subgraph.nodes:
        if node.kind == "prim::Constant":
            text[node.output()] = repr(node.attrs.get("value"))
            continue
        op = find(node.kind)
        if op is None or not op.numpy_template:
            raise ValueError(f"{node.kind} has no NumPy template")
        schema = op.schema_for_len[len(node.inputs)]
        fields = {arg.name: text[v] for arg, v in zip(schema.arguments, node.inputs)}
        name = f"t{len(lines) - 1}"
        lines.append(f"    {name} = {op.numpy_template.format(**fields)}")
        text[node.output()] = name
    outputs = "".join(f"{text[v]}, " for v in subgraph.outputs)
    lines.append(f"    return ({outputs.rstrip(' ')})")
    return "\n".join(lines) + "\n"


# ---- given -----------------------------------------------------------------------------------
def compile_kernel(source: str) -> Callable:
    """Run the generated source and return its ``kernel`` function."""
    namespace = {"np": np, "_k": kernels}
    exec(compile(source, "<generated kernel>", "exec"), namespace)
    return namespace["kernel"]


EXAMPLE = """graph(%x : Tensor, %y : Tensor):
  %1 : int = prim::Constant[value=1]()
  %2 : Tensor = aten::mul(%x, %y)
  %3 : Tensor = aten::add(%2, %x, %1)
  %4 : Tensor = aten::tanh(%3)
  return (%4)
"""

if __name__ == "__main__":
    source = kernel_source(parse_ir(EXAMPLE))
    print(source)
    kernel = compile_kernel(source)
    x, y = np.array([0.5, -1.0], np.float32), np.array([2.0, 3.0], np.float32)
    print(kernel(x, y), "expected", np.tanh(x * y + x))
