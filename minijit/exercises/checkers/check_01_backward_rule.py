"""Checks for exercise 1: a backward rule (``tutorials/exercises/01_backward_rule.py``).

The student's module registers ``exercise::hypot`` with their rule; the checks compare the
gradients with the formula, with finite differences (gradcheck), through broadcasting, under
``create_graph`` and in a traced function.
"""
from __future__ import annotations

import numpy as np
import pytest

import minijit
from minijit.autograd import GradcheckError, gradcheck
from minijit.exercises.loader import load_exercise

ex = load_exercise(1)


def _f64(*shape, seed=0, low=0.2):
    rng = np.random.default_rng(seed)
    sign = rng.choice([-1.0, 1.0], size=shape)
    data = sign * rng.uniform(low, 2.0, size=shape)
    return minijit.from_numpy(data).requires_grad_()


def _gradcheck(a, b):
    try:
        return gradcheck(ex.hypot, (a, b))
    except GradcheckError as exc:
        raise AssertionError("your gradients disagree with finite differences:\n" +
                             str(exc)[:600]) from None


def test_gradients_match_the_formula():
    """gives d/da = a / hypot and d/db = b / hypot"""
    a = minijit.tensor([3.0, -1.0, 0.5], requires_grad=True)
    b = minijit.tensor([4.0, 2.0, -0.25], requires_grad=True)
    out = ex.hypot(a, b)
    assert type(out.grad_fn).__name__ == "HypotBackward0"
    out.sum().backward()
    expected_a = a.detach().numpy() / out.detach().numpy()
    expected_b = b.detach().numpy() / out.detach().numpy()
    assert a.grad is not None and b.grad is not None, "both inputs should get a gradient"
    assert np.allclose(a.grad.numpy(), expected_a, rtol=1e-6), \
        f"grad of a: got {a.grad.tolist()}, expected {expected_a.tolist()}"
    assert np.allclose(b.grad.numpy(), expected_b, rtol=1e-6), \
        f"grad of b: got {b.grad.tolist()}, expected {expected_b.tolist()}"


def test_the_incoming_gradient_is_used():
    """multiplies by the incoming gradient (the chain rule)"""
    a = minijit.tensor([3.0, 6.0], requires_grad=True)
    b = minijit.tensor([4.0, 8.0], requires_grad=True)
    (ex.hypot(a, b) * minijit.tensor([2.0, -1.0])).sum().backward()
    assert np.allclose(a.grad.numpy(), [2 * 0.6, -0.6]), \
        f"with an incoming gradient [2, -1], grad of a should be [1.2, -0.6], got {a.grad}"


def test_gradcheck():
    """passes gradcheck (finite differences) in float64"""
    assert _gradcheck(_f64(5, seed=1), _f64(5, seed=2))


def test_broadcasting():
    """works when b is broadcast against a (3×4 with 4)"""
    a, b = _f64(3, 4, seed=3), _f64(4, seed=4)
    out = ex.hypot(a, b)
    out.sum().backward()
    assert tuple(a.grad.shape) == (3, 4) and tuple(b.grad.shape) == (4,), \
        (f"grad shapes {tuple(a.grad.shape)} and {tuple(b.grad.shape)}; return full-size "
         "gradients and let the engine sum b's down")
    assert _gradcheck(_f64(3, 4, seed=5), _f64(4, seed=6))


def test_one_input_without_grad():
    """works when only one input requires grad"""
    a = _f64(4, seed=7)
    b = minijit.from_numpy(np.array([1.0, -2.0, 0.5, 3.0]))
    ex.hypot(a, b).sum().backward()
    expected = a.detach().numpy() / np.hypot(a.detach().numpy(), b.numpy())
    assert np.allclose(a.grad.numpy(), expected)


def test_rule_is_written_in_minijit_ops():
    """the rule is made of minijit ops, so gradients of gradients work (create_graph)"""
    a, b = _f64(3, seed=8), _f64(3, seed=9)
    out = ex.hypot(a, b).sum()
    ga, _ = minijit.autograd.grad(out, (a, b), create_graph=True)
    assert isinstance(ga, minijit.Tensor) and ga.requires_grad and ga.grad_fn is not None, \
        ("the gradient has no grad_fn: compute it with minijit tensor operations, not NumPy, "
         "so that the tape records it")
    assert minijit.autograd.gradgradcheck(ex.hypot, (_f64(3, seed=10), _f64(3, seed=11)))


def test_saved_inputs_are_protected():
    """SAVES lists what the rule reads: changing an input in place before backward is caught"""
    assert {"self", "other"} <= set(ex.SAVES), \
        (f"SAVES = {tuple(ex.SAVES)!r}: any correct rule reads both inputs (the sign of each "
         "gradient comes from them), so list 'self' and 'other' (and 'result' if you read it)")
    a = minijit.tensor([3.0, 1.0], requires_grad=True)
    b = minijit.tensor([4.0, 1.0])
    x = a * 1                     # a non-leaf we may write into
    y = b.clone()
    out = ex.hypot(x, y)
    y.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()
    out2 = ex.hypot(x, b)
    x.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out2.sum().backward()


def test_traced_gradients_match_eager():
    """a traced function using hypot gets the same gradients"""
    fn = lambda a, b: ex.hypot(a * 2, b).sum()  # noqa: E731
    traced = minijit.jit.trace(fn, (minijit.rand(3), minijit.rand(3)))
    a1, b1 = _f64(3, seed=12), _f64(3, seed=13)
    a2, b2 = a1.detach().clone().requires_grad_(), b1.detach().clone().requires_grad_()
    fn(a1, b1).backward()
    traced(a2, b2).backward()
    assert np.allclose(a1.grad.numpy(), a2.grad.numpy()) and \
        np.allclose(b1.grad.numpy(), b2.grad.numpy())
