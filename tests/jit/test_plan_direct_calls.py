"""Raw plans call ops directly where shape analysis knows everything (Note [Plan steps]),
and use an op's ``specialise`` kernel only after checking it against ``impl``."""
from __future__ import annotations

import numpy as np
import pytest

import minijit
from minijit.jit.options import OptimizationOptions
from minijit.jit.runtime.executor import GraphExecutor
from minijit.ops.registry import find


@minijit.jit.script
def gate(x, w, b):
    y = minijit.nn.functional.linear(x[0], w, b)
    if y.sum() > 0:
        y = -y
    return y


def _plan(fn, *args):
    ex = GraphExecutor(fn.graph, OptimizationOptions(fallback_on_error=False))
    with minijit.no_grad():
        ex.run(args)
        out = ex.run(args)
    return ex.plans()[0], out


def test_known_small_ops_become_direct_calls_and_conversions():
    x, w, b = minijit.rand(2, 3, 4), minijit.rand(5, 4), minijit.rand(5)
    plan, out = _plan(gate, x, w, b)
    src = plan.program.source
    assert plan.mode == "raw"
    # select, linear, sum, gt and neg call the ops' kernels; aten::Bool is Python's bool()
    assert src.count("(np, ") == 5, src
    assert "= bool(" in src
    want = x[0] @ w.t() + b
    want = -want if want.sum() > 0 else want
    np.testing.assert_allclose(out.numpy(), want.numpy(), rtol=1e-6)


def test_specialised_kernels_are_the_ops_own_after_a_check():
    x, w, b = minijit.rand(2, 3, 4), minijit.rand(5, 4), minijit.rand(5)
    plan, _ = _plan(gate, x, w, b)
    ns = plan.program.namespace
    kernels = {v for k, v in ns.items() if k.startswith("d")}
    # select, sum and linear have a specialise rule, and it was used (not the general impl)
    for name in ("select", "sum", "linear"):
        op = find(name)
        assert op.impl not in kernels
        assert any(getattr(k, "__qualname__", "").startswith(f"_{name}_specialise")
                   for k in kernels), name


def test_a_specialisation_that_disagrees_with_impl_is_not_used(monkeypatch):
    op = find("select")
    # A wrong rule: always takes index 0.
    monkeypatch.setattr(op, "specialise",
                        lambda x, dim, index: (lambda xp, x, dim, index: x[0]))
    x, w, b = minijit.rand(2, 3, 4), minijit.rand(5, 4), minijit.rand(5)

    @minijit.jit.script
    def second(x):
        return x[1] * 2.0

    plan, out = _plan(second, x)
    assert op.impl in plan.program.namespace.values()
    np.testing.assert_array_equal(out.numpy(), (x[1] * 2.0).numpy())


@pytest.mark.parametrize("shape", [(300, 300)])
def test_large_tensors_keep_the_handlers(shape):
    # Past DIRECT_MAX_ELEMENTS the handler's checks cost nothing next to the work.
    x, w, b = minijit.rand(2, *shape), minijit.rand(shape[1], shape[1]), minijit.rand(shape[1])
    plan, _ = _plan(gate, x, w, b)
    # select, linear, sum and neg see 90,000 elements; only the comparison of the 0-dim sum
    # is called directly.
    assert plan.program.source.count("(np, ") == 1


def test_runtime_errors_still_read_as_pytorch_errors():
    @minijit.jit.script
    def pick(x, i: int):
        return x.select(0, i) + 1.0

    x = minijit.rand(3, 4)
    ex = GraphExecutor(pick.graph)
    with minijit.no_grad():
        ex.run((x, 1))
        ex.run((x, 1))
        with pytest.raises(Exception, match=r"select\(\): index 7 out of range"):
            ex.run((x, 7))
