"""Checks for exercise 2: a fusible op (``tutorials/exercises/02_fusible_op.py``).

The record is registered by the student's ``get_op()``; the checks run it eagerly, compare
its NumPy template with its kernel, run gradcheck, and run a traced function through the
optimising executor (``minijit/jit/runtime/executor.py``), which must fuse the op.
"""
from __future__ import annotations

import re

import numpy as np
import pytest

import minijit
from minijit.autograd import GradcheckError, gradcheck
from minijit.exercises.loader import load_exercise
from minijit.jit.codegen.numpy_kernel import fusible_reason
from minijit.jit.runtime.executor import GraphExecutor
from minijit.ops import kernels
from minijit.ops.registry import OpInfo, Tag

ex = load_exercise(2)
KIND = "aten::exercise_hardswish"
POINTS = np.array([-5.0, -3.5, -2.9, -1.0, -0.2, 0.0, 0.7, 2.2, 2.95, 3.4, 8.0])


def _reference(x):
    return x * np.clip(x + 3, 0, 6) / 6


def _local_grad(x):
    return np.where(x < -3, 0.0, np.where(x > 3, 1.0, (2 * x + 3) / 6))


def f(x, y):
    return ex.exercise_hardswish(x * y + 1.0) * 2.0 - y


def _inputs(seed, requires_grad=False):
    rng = np.random.default_rng(seed)
    x = minijit.from_numpy(rng.uniform(-4, 4, (6, 7)).astype(np.float32))
    y = minijit.from_numpy(rng.uniform(0.5, 1.5, (6, 7)).astype(np.float32))
    if requires_grad:
        x.requires_grad_()
        y.requires_grad_()
    return x, y


def _optimised(x, y):
    traced = minijit.jit.trace(f, (x.detach(), y.detach()))
    executor = GraphExecutor(traced.graph)
    executor.run((x, y))              # the profiling run
    return executor


def test_the_record():
    """the record has the right schema, the POINTWISE tag and both templates"""
    op = ex.get_op()
    assert isinstance(op, OpInfo), f"make_op() must return an OpInfo, not {type(op).__name__}"
    assert op.kind == KIND, f"the op's kind is {op.kind}, expected {KIND} (use SCHEMA)"
    assert Tag.POINTWISE in op.tags, "tag it Tag.POINTWISE: the fuser only fuses those"
    assert isinstance(op.numpy_template, str) and "{self}" in op.numpy_template, \
        "numpy_template must be an expression with {self} where the input goes"
    assert isinstance(op.cuda_template, str) and "{self}" in op.cuda_template and \
        "np." not in op.cuda_template, "cuda_template must be a CUDA C expression with {self}"
    assert op.backward is not None, "give the op a backward rule"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_eager_values(dtype):
    """computes hardswish eagerly, keeping the dtype"""
    x = minijit.from_numpy(POINTS.astype(dtype))
    out = ex.exercise_hardswish(x)
    assert out.dtype == getattr(minijit, dtype), f"{dtype} in, {out.dtype} out"
    assert np.allclose(out.numpy(), _reference(POINTS), atol=1e-6), \
        f"hardswish({POINTS.tolist()}) gave {out.tolist()}"


def test_template_matches_kernel():
    """the NumPy template computes what the kernel computes"""
    op = ex.get_op()
    arr = POINTS.astype(np.float32)
    value = eval(op.numpy_template.format(self="x"), {"np": np, "_k": kernels, "x": arr})
    assert np.allclose(value, _reference(arr), atol=1e-6), \
        f"the template gives {np.asarray(value).tolist()}, hardswish is {_reference(arr).tolist()}"
    assert np.asarray(value).dtype == np.float32, "the template must keep float32"


def test_gradients():
    """the backward rule matches the derivative and passes gradcheck"""
    x = minijit.from_numpy(POINTS.copy()).requires_grad_()
    ex.exercise_hardswish(x).sum().backward()
    assert x.grad is not None, "no gradient: give the record backward= and saves=('self',)"
    assert np.allclose(x.grad.numpy(), _local_grad(POINTS), atol=1e-6), \
        f"gradient {x.grad.tolist()}, expected {_local_grad(POINTS).tolist()}"
    rng = np.random.default_rng(0)
    away = rng.uniform(-5, 5, 20)
    away = away[(np.abs(away - 3) > 0.05) & (np.abs(away + 3) > 0.05)]   # not on the kinks
    try:
        assert gradcheck(ex.exercise_hardswish, (minijit.from_numpy(away).requires_grad_(),))
    except GradcheckError as exc:
        raise AssertionError(f"gradcheck failed:\n{str(exc)[:500]}") from None


def test_node_is_fusible():
    """the fuser accepts the op's node (fusible_reason is None)"""
    ex.get_op()
    traced = minijit.jit.trace(lambda x: ex.exercise_hardswish(x), (minijit.rand(3),))
    node = next(n for n in traced.graph.nodes if n.kind == KIND)
    reason = fusible_reason(node)
    assert reason is None, f"the fuser refuses the node: {reason}"


def test_fuses_with_its_neighbours():
    """the optimised graph has one fusion group holding the op and its neighbours"""
    x, y = _inputs(1)
    executor = _optimised(x, y)
    graph = executor.graph_for((x, y))
    groups = [n for n in graph.nodes if n.kind == "prim::FusionGroup"]
    assert len(groups) == 1, f"expected one prim::FusionGroup:\n{graph}"
    inside = [n.kind for n in groups[0].attrs["Subgraph"].nodes]
    assert KIND in inside, f"{KIND} is not inside the fusion group:\n{graph}"
    assert {"aten::mul", "aten::add", "aten::sub"} <= set(inside), \
        f"the whole chain should be one group, the group has {inside}"
    assert np.allclose(executor.run((x, y)).numpy(), f(x, y).numpy(), atol=1e-6), \
        "the fused result differs from the eager one"


def test_generated_kernel_uses_the_template():
    """the generated kernel is made from your numpy_template"""
    x, y = _inputs(2)
    executor = _optimised(x, y)
    executor.run((x, y))
    sources = "\n".join(k.source for k in executor.kernels())
    op = ex.get_op()
    assert sources, "no kernel was generated: the op was not fused"
    calls = re.findall(r"np\.\w+", op.numpy_template)
    missing = [c for c in calls if c not in sources]
    assert not missing, (f"the generated kernel does not use {missing} from your template "
                         f"{op.numpy_template!r}:\n{sources}")


def test_cuda_generator_reads_the_template():
    """the CUDA kernel generator builds a kernel from your cuda_template (no GPU needed)"""
    op = ex.get_op()
    cuda = pytest.importorskip("minijit.jit.codegen.cuda_kernel")
    from minijit.jit.codegen.numpy_kernel import GroupInfo
    from minijit.jit.ir import parse_ir
    graph = parse_ir(f"graph(%x : Tensor):\n  %1 : Tensor = {KIND}(%x)\n  return (%1)\n")
    kernel = cuda.generate_cuda_kernel(GroupInfo(graph), (np.dtype("float32"),), (False,))
    calls = re.findall(r"[A-Za-z_]\w*(?=\()", op.cuda_template)
    missing = [c for c in calls if c not in kernel.body]
    assert not missing, (f"the CUDA kernel does not call {missing} from your template "
                         f"{op.cuda_template!r}:\n{kernel.body}")


def test_fused_gradients_match_eager():
    """with gradients, the fused code gives eager's gradients"""
    x, y = _inputs(3, requires_grad=True)
    executor = _optimised(x, y)
    executor.run((x, y)).sum().backward()
    fused = (x.grad.numpy().copy(), y.grad.numpy().copy())
    x.grad = y.grad = None
    f(x, y).sum().backward()
    assert np.allclose(fused[0], x.grad.numpy(), atol=1e-5) and \
        np.allclose(fused[1], y.grad.numpy(), atol=1e-5), "fused gradients differ from eager's"
