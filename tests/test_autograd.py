"""Autograd: gradients by finite differences for every op (a table over the registry), and
the tape's user-visible rules (accumulation, leaves, grad modes, hooks, in-place checks) with
PyTorch's exact messages.

The plain tests need only NumPy; the ``conformance`` ones replay scenarios in torch and
compare the error texts live.
"""
from __future__ import annotations

import warnings
import zlib
from typing import Any, Callable, List, Tuple

import numpy as np
import pytest

import minijit
from minijit import autograd
from minijit.autograd.gradcheck import GradcheckError
from minijit.ops import dispatch, registry
from minijit.ops.registry import Tag
from minijit.ops.samples import map_tensors, sample_maker

SAVED_FREED = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed when "
    "you call .backward() or autograd.grad(). Specify retain_graph=True if you need to backward "
    "through the graph a second time or if you need to access saved tensors after calling "
    "backward.")
HINT = ("Hint: enable anomaly detection to find the operation that failed to compute its "
        "gradient, with torch.autograd.set_detect_anomaly(True, check_nan=False).")


def _torch():
    return pytest.importorskip("torch")


# ---- gradcheck over the registry ----------------------------------------------------------------
def _diff_cases() -> List[Tuple[registry.OpInfo, int]]:
    cases = []
    for op in registry.all_ops():
        # Random in-place ops redraw on every call: finite differences mean nothing there
        # (their zero derivative is compared with PyTorch's in the conformance tests).
        if op.differentiable and Tag.RANDOM not in op.tags:
            count = len(op.sample_inputs(sample_maker(0)))
            cases.extend((op, i) for i in range(count))
    return cases


DIFF_CASES = _diff_cases()


def _as_float64_leaves(args: Any, kwargs: Any) -> Tuple[Any, Any, list]:
    leaves: list = []

    def convert(t: Any) -> Any:
        if not t.dtype.is_floating_point:
            return t
        leaf = minijit.from_numpy(np.array(t._data, dtype=np.float64))
        leaf.requires_grad_(True)
        leaves.append(leaf)
        return leaf
    return map_tensors(args, convert), map_tensors(kwargs, convert), leaves


def _function_of(op: registry.OpInfo, args: tuple, kwargs: dict) -> Callable:
    """The sample as a function of its tensors (in-place ops act on a clone of self)."""
    def fn(*tensors: Any) -> Any:
        it = iter(tensors)
        new_args = map_tensors(list(args), lambda t: next(it))
        new_kwargs = map_tensors(kwargs, lambda t: next(it))
        if Tag.INPLACE in op.tags:
            new_args[0] = new_args[0].clone()
        return dispatch.call(op, tuple(new_args), new_kwargs)
    return fn


def _all_tensors(args: Any, kwargs: Any) -> list:
    found: list = []
    map_tensors(args, lambda t: found.append(t) or t)
    map_tensors(kwargs, lambda t: found.append(t) or t)
    return found


@pytest.mark.parametrize("op,index", DIFF_CASES, ids=[f"{op.name}-{i}" for op, i in DIFF_CASES])
def test_gradcheck(op: registry.OpInfo, index: int) -> None:
    """Analytical gradients agree with finite differences (float64, PyTorch's fast mode)."""
    sample = op.sample_inputs(sample_maker(zlib.crc32(op.name.encode())))[index]
    if not getattr(sample, "gradcheck", True):
        pytest.skip("sample sits on a non-differentiable point")
    args, kwargs = sample
    args, kwargs, leaves = _as_float64_leaves(args, kwargs)
    if not leaves:
        pytest.skip("no floating inputs")
    fn = _function_of(op, args, kwargs)
    tensors = _all_tensors(args, kwargs)
    try:
        with minijit.no_grad():
            fn(*tensors)
    except (RuntimeError, IndexError, TypeError, NotImplementedError):
        pytest.skip("sample is an error case (checked against PyTorch elsewhere)")
    assert autograd.gradcheck(fn, tensors, fast_mode=True, eps=1e-6, atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("op", sorted({op for op, _ in DIFF_CASES}, key=lambda o: o.name),
                         ids=lambda op: op.name)
def test_gradcheck_full_jacobian_and_second_derivative(op: registry.OpInfo) -> None:
    """The whole Jacobian, and (where the backward is itself differentiable) the Hessian-
    vector product, for each op's first differentiable sample."""
    for sample in op.sample_inputs(sample_maker(zlib.crc32(op.name.encode()))):
        if not getattr(sample, "gradcheck", True):
            continue
        args, kwargs = sample
        args, kwargs, leaves = _as_float64_leaves(args, kwargs)
        if not leaves:
            continue
        fn = _function_of(op, args, kwargs)
        tensors = _all_tensors(args, kwargs)
        try:
            with minijit.no_grad():
                fn(*tensors)
        except (RuntimeError, IndexError, TypeError, NotImplementedError):
            continue
        assert autograd.gradcheck(fn, tensors, eps=1e-6, atol=1e-5, rtol=1e-3)
        if Tag.RANDOM not in op.tags:
            assert autograd.gradgradcheck(fn, tensors, eps=1e-6, atol=1e-4, rtol=1e-3,
                                          fast_mode=True)
        return


def test_gradcheck_catches_a_wrong_derivative() -> None:
    x = minijit.rand(4, dtype=minijit.float64, requires_grad=True)

    def wrong(t: Any) -> Any:          # d/dx of x*x is 2x, but detach hides half of it
        return t * t.detach()
    with pytest.raises(GradcheckError, match="Jacobian mismatch"):
        autograd.gradcheck(wrong, (x,))
    assert not autograd.gradcheck(wrong, (x,), raise_exception=False, fast_mode=True)


# ---- accumulation, leaves, requires_grad --------------------------------------------------------
def test_grad_accumulates_across_backward_calls() -> None:
    x = minijit.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * x).sum().backward()
    assert x.grad.tolist() == [5.0, 7.0]
    x.grad = None
    (x * 2).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]


def test_shared_gradient_buffers_are_not_aliased() -> None:
    """``a + b`` passes the same gradient to both leaves; accumulating into one must not
    change the other."""
    a = minijit.ones(2, requires_grad=True)
    b = minijit.ones(2, requires_grad=True)
    (a + b).sum().backward()
    (a * 5).sum().backward()
    assert a.grad.tolist() == [6.0, 6.0]
    assert b.grad.tolist() == [1.0, 1.0]


def test_leaf_and_non_leaf_rules() -> None:
    x = minijit.rand(3, requires_grad=True)
    c = minijit.rand(3)
    y = x * 2
    assert x.is_leaf and c.is_leaf and not y.is_leaf
    assert y.requires_grad and not (c * 2).requires_grad
    assert type(y.grad_fn).__name__ == "MulBackward0" and y.grad_fn.name() == "MulBackward0"
    assert x.grad_fn is None
    y.sum().backward()
    assert x.grad is not None and c.grad is None
    with pytest.warns(UserWarning, match="is not a leaf Tensor is being accessed"):
        assert y.grad is None


def test_integer_results_do_not_require_grad() -> None:
    x = minijit.rand(3, requires_grad=True)
    assert not x.argmax().requires_grad
    assert not (x > 0).requires_grad
    values, indices = x.max(0)
    assert values.requires_grad and not indices.requires_grad


def test_requires_grad_errors() -> None:
    with pytest.raises(RuntimeError) as info:
        minijit.tensor([1, 2]).requires_grad_()
    assert str(info.value) == "only Tensors of floating point dtype can require gradients"
    y = minijit.rand(2, requires_grad=True) * 2
    with pytest.raises(RuntimeError) as info:
        y.requires_grad_(False)
    assert str(info.value) == (
        "you can only change requires_grad flags of leaf variables. If you want to use a "
        "computed variable in a subgraph that doesn't require differentiation use var_no_grad "
        "= var.detach().")
    y.requires_grad_(True)                     # a no-op, allowed
    with pytest.raises(RuntimeError) as info:
        minijit.tensor([1.0, 2.0]).sum().backward()
    assert str(info.value) == ("element 0 of tensors does not require grad and does not have a "
                               "grad_fn")
    with pytest.raises(RuntimeError) as info:
        (minijit.rand(2, requires_grad=True) * 2).backward()
    assert str(info.value) == "grad can be implicitly created only for scalar outputs"


def test_detach_shares_memory_and_version_but_not_history() -> None:
    x = minijit.rand(3, requires_grad=True)
    y = x * 2
    d = y.detach()
    assert d.grad_fn is None and not d.requires_grad and d.is_leaf
    d.add_(1)
    assert np.shares_memory(d._data, y._data)
    assert y._version[0] == 1               # same version counter: autograd would notice
    data = y.data
    data.mul_(2)
    assert y._version[0] == 1               # .data has its own counter
    z = minijit.rand(2) * 1
    assert z.detach_() is z


# ---- grad modes ---------------------------------------------------------------------------------
def test_no_grad_and_enable_grad_as_context_managers() -> None:
    x = minijit.rand(2, requires_grad=True)
    with minijit.no_grad():
        assert not minijit.is_grad_enabled()
        y = x * 2
        with minijit.enable_grad():
            z = x * 2
        w = x * 2
    assert minijit.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad and not w.requires_grad


def test_grad_modes_as_decorators() -> None:
    x = minijit.rand(2, requires_grad=True)

    @minijit.no_grad()
    def inference(t):
        return t * 2

    @minijit.enable_grad()
    def training(t):
        return t * 2

    assert not inference(x).requires_grad
    with minijit.no_grad():
        assert training(x).requires_grad
    assert minijit.is_grad_enabled()


def test_set_grad_enabled_as_function_context_and_decorator() -> None:
    x = minijit.rand(2, requires_grad=True)
    minijit.set_grad_enabled(False)
    try:
        assert not minijit.is_grad_enabled()
        assert not (x * 2).requires_grad
    finally:
        minijit.set_grad_enabled(True)
    with minijit.set_grad_enabled(False):
        assert not (x * 2).requires_grad
        with minijit.set_grad_enabled(True):
            assert (x * 2).requires_grad
    assert minijit.is_grad_enabled()

    @minijit.set_grad_enabled(False)
    def f(t):
        return t * 2
    assert minijit.is_grad_enabled()            # making the decorator changed nothing
    assert not f(x).requires_grad
    assert minijit.is_grad_enabled()
    with minijit.inference_mode():
        assert not (x * 2).requires_grad


def test_grad_mode_restored_after_exception() -> None:
    with pytest.raises(ValueError):
        with minijit.no_grad():
            raise ValueError
    assert minijit.is_grad_enabled()


# ---- autograd.grad ------------------------------------------------------------------------------
def test_autograd_grad_and_second_derivatives() -> None:
    x = minijit.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x ** 3).sum()
    (g,) = autograd.grad(y, x, create_graph=True)
    np.testing.assert_allclose(g.numpy(force=True), [3.0, 12.0, 27.0])
    assert g.requires_grad
    (h,) = autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), [6.0, 12.0, 18.0])
    assert x.grad is None                       # autograd.grad does not accumulate
    z = x.tanh()
    (gz,) = autograd.grad(z, x, grad_outputs=minijit.ones(3))
    np.testing.assert_allclose(gz.numpy(), 1 - np.tanh([1.0, 2.0, 3.0]) ** 2, rtol=1e-5)


def test_autograd_grad_unused_and_errors() -> None:
    x = minijit.rand(2, requires_grad=True)
    u = minijit.rand(2, requires_grad=True)
    with pytest.raises(RuntimeError) as info:
        autograd.grad((x * 2).sum(), [x, u])
    assert str(info.value) == ("The differentiated Tensor at index 1 appears to not have been "
                               "used in the graph. Set allow_unused=True if this is the desired "
                               "behavior.")
    gx, gu = autograd.grad((x * 2).sum(), [x, u], allow_unused=True)
    assert gu is None and gx.tolist() == [2.0, 2.0]
    gx, gu = autograd.grad((x * 2).sum(), [x, u], materialize_grads=True)
    assert gu.tolist() == [0.0, 0.0]
    with pytest.raises(RuntimeError,
                       match="One of the differentiated Tensors does not require grad"):
        autograd.grad((x * 2).sum(), minijit.ones(2))
    with pytest.raises(RuntimeError) as info:
        autograd.grad(x * 2, x, grad_outputs=minijit.ones(3))
    assert str(info.value) == ("Mismatch in shape: grad_output[0] has a shape of "
                               "torch.Size([3]) and output[0] has a shape of torch.Size([2]).")


def test_backward_inputs_argument() -> None:
    a = minijit.rand(2, requires_grad=True)
    b = minijit.rand(2, requires_grad=True)
    (a * b).sum().backward(inputs=[a])
    assert a.grad is not None and b.grad is None


# ---- broadcasting and dtypes --------------------------------------------------------------------
def test_broadcast_gradients_are_reduced_to_input_shapes() -> None:
    a = minijit.rand(3, 1, requires_grad=True)
    b = minijit.rand(4, requires_grad=True)
    c = minijit.rand((), requires_grad=True)
    ((a + b) * c).sum().backward()
    assert a.grad.shape == (3, 1) and b.grad.shape == (4,) and c.grad.shape == ()
    np.testing.assert_allclose(a.grad.numpy(), np.full((3, 1), 4 * c.item()), rtol=1e-5)
    np.testing.assert_allclose(b.grad.numpy(), np.full(4, 3 * c.item()), rtol=1e-5)


def test_gradients_keep_the_input_dtype() -> None:
    a = minijit.rand(3, dtype=minijit.float64, requires_grad=True)
    b = minijit.rand(3, dtype=minijit.float32, requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.dtype is minijit.float64 and b.grad.dtype is minijit.float32
    x = minijit.rand(2, 3, requires_grad=True)
    x.to(minijit.float64).sum().backward()
    assert x.grad.dtype is minijit.float32


# ---- backward twice -----------------------------------------------------------------------------
TWICE = {
    # expression of a leaf x -> whether a second backward without retain_graph fails
    "sum of add": (lambda x: (x + x).sum(), False),
    "add scalar": (lambda x: (x + 1).sum(), False),
    "mul by leaf": (lambda x: (x * x).sum(), True),
    "exp": (lambda x: x.exp().sum(), True),
    "tanh": (lambda x: x.tanh().sum(), True),
    "view and sum": (lambda x: x.view(-1).sum(), False),
    "neg": (lambda x: (-x).sum(), False),
    "matmul": (lambda x: (x @ x).sum(), True),
}


@pytest.mark.parametrize("name", list(TWICE))
def test_backward_twice(name: str) -> None:
    fn, fails = TWICE[name]
    x = minijit.rand(3, requires_grad=True)
    loss = fn(x)
    loss.backward()
    if fails:
        with pytest.raises(RuntimeError) as info:
            loss.backward()
        assert str(info.value) == SAVED_FREED
    else:
        loss.backward()
    loss2 = fn(x)
    loss2.backward(retain_graph=True)
    loss2.backward()                            # retained: fine


@pytest.mark.conformance
@pytest.mark.parametrize("name", list(TWICE))
def test_backward_twice_like_torch(name: str) -> None:
    torch = _torch()
    fn, _ = TWICE[name]
    outcomes = []
    for lib in (torch, minijit):
        x = lib.rand(3, requires_grad=True)
        loss = fn(x)
        loss.backward()
        try:
            loss.backward()
            outcomes.append(None)
        except RuntimeError as exc:
            outcomes.append(str(exc))
    assert outcomes[0] == outcomes[1]


# ---- in-place operations ------------------------------------------------------------------------
@pytest.mark.parametrize("call", [lambda t: t.add_(1), lambda t: t.mul_(2), lambda t: t.zero_(),
                                  lambda t: t.copy_(minijit.ones(3)), lambda t: t.fill_(2.0),
                                  lambda t: t.sub_(minijit.ones(3)), lambda t: t.div_(2),
                                  lambda t: t.clamp_(0, 1) if hasattr(t, "clamp_") else t.relu_(),
                                  lambda t: t.__setitem__(0, 5.0),
                                  lambda t: t.__iadd__(1)],
                         ids=["add_", "mul_", "zero_", "copy_", "fill_", "sub_", "div_",
                              "clamp_or_relu_", "setitem", "iadd"])
def test_inplace_ops_bump_the_version_counter(call: Callable) -> None:
    t = minijit.rand(3)
    view = t[1:]
    before = t._version[0]
    out = call(t)
    assert out is None or out is t
    assert t._version[0] == before + 1
    assert view._version is t._version        # views share the counter


def _modified_saved_tensor_cases(lib: Any) -> dict:
    def saved_leaf():
        a = lib.rand(3, requires_grad=True)
        w = lib.rand(3)
        c = a * w
        w.add_(1)
        c.sum().backward()

    def saved_output():
        a = lib.rand(3, requires_grad=True)
        b = a.exp()
        b.add_(1)
        b.sum().backward()

    def saved_non_leaf():
        a = lib.rand(3, requires_grad=True)
        b = a * 2
        c = b * b
        b.mul_(3)
        c.sum().backward()

    def saved_sigmoid_result():
        x = lib.rand(2, 3, requires_grad=True)
        y = x.sigmoid()
        y.mul_(2)
        y.sum().backward()

    def saved_view_of_modified_base():
        x = lib.rand(3, requires_grad=True)
        y = x * 2
        v = y[0:2]
        z = v * v
        y.add_(1)
        z.sum().backward()

    def base_modified_through_view():
        x = lib.rand(3, requires_grad=True)
        y = x * 2
        v = y[0:2]
        z = y * y
        v.add_(1)
        z.sum().backward()

    def double_typed():
        x = lib.rand(4, dtype=lib.float64, requires_grad=True)
        y = x.tanh()
        y.zero_()
        y.sum().backward()

    return {"saved leaf": saved_leaf, "saved output": saved_output,
            "saved non-leaf": saved_non_leaf, "sigmoid result": saved_sigmoid_result,
            "view of modified base": saved_view_of_modified_base,
            "base modified through view": base_modified_through_view,
            "float64": double_typed}


MODIFIED = {
    "saved leaf": "[torch.FloatTensor [3]] is at version 1",
    "saved output": "[torch.FloatTensor [3]], which is output 0 of Exp, is at version 1",
    "saved non-leaf": "[torch.FloatTensor [3]], which is output 0 of Mul, is at version 1",
    "sigmoid result": "[torch.FloatTensor [2, 3]], which is output 0 of Sigmoid, is at version 1",
    "view of modified base": "[torch.FloatTensor [2]], which is output 0 of AsStrided, is at "
                             "version 1",
    "base modified through view": "[torch.FloatTensor [3]], which is output 0 of "
                                  "torch::autograd::CopySlices, is at version 1",
    "float64": "[torch.DoubleTensor [4]], which is output 0 of Tanh, is at version 1",
}


@pytest.mark.parametrize("name", list(MODIFIED))
def test_modified_saved_tensor_error(name: str) -> None:
    with pytest.raises(RuntimeError) as info:
        _modified_saved_tensor_cases(minijit)[name]()
    assert str(info.value) == (
        "one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: {MODIFIED[name]}; expected version 0 instead. {HINT}")


@pytest.mark.conformance
@pytest.mark.parametrize("name", list(MODIFIED))
def test_modified_saved_tensor_error_like_torch(name: str) -> None:
    torch = _torch()
    with pytest.raises(RuntimeError) as theirs:
        _modified_saved_tensor_cases(torch)[name]()
    with pytest.raises(RuntimeError) as ours:
        _modified_saved_tensor_cases(minijit)[name]()
    assert str(ours.value) == str(theirs.value)


def test_inplace_on_leaf_errors_and_no_grad_escape() -> None:
    x = minijit.rand(3, requires_grad=True)
    with pytest.raises(RuntimeError) as info:
        x.add_(1)
    assert str(info.value) == ("a leaf Variable that requires grad is being used in an in-place "
                               "operation.")
    with pytest.raises(RuntimeError) as info:
        x[0].mul_(2)
    assert str(info.value) == ("a view of a leaf Variable that requires grad is being used in an "
                               "in-place operation.")
    with minijit.no_grad():
        x.add_(1)                                  # optimizer steps do this
    assert x.is_leaf and x.requires_grad and x._version[0] == 1


def test_inplace_rebases_history_and_gradients_are_right() -> None:
    x = minijit.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    y.mul_(x)                                      # y = 2x^2 -> dy/dx = 4x
    assert type(y.grad_fn).__name__ == "MulBackward0"
    y.sum().backward()
    assert x.grad.tolist() == [4.0, 8.0, 12.0]
    x.grad = None
    y = x * 2
    y.mul_(y)                                      # saved `other` is overwritten by the write
    with pytest.raises(RuntimeError, match="output 0 of Mul, is at version 1; expected version 0"):
        y.sum().backward()
    x.grad = None
    y = x * 2
    y.add_(1)
    y.sin_()                                       # saves the pre-write value of self
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.cos(2 * np.array([1, 2, 3]) + 1) * 2,
                               rtol=1e-5)


def test_inplace_into_a_view_makes_copy_slices() -> None:
    x = minijit.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    y[0] = 10.0
    assert type(y.grad_fn).__name__ == "CopySlices"
    assert y.grad_fn.name() == "torch::autograd::CopySlices"
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 2.0, 2.0]
    x.grad = None
    y = x * 2
    v = y[1:]
    v.mul_(5)
    assert type(v.grad_fn).__name__ == "AsStridedBackward0"
    (y * minijit.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert x.grad.tolist() == [2.0, 20.0, 30.0]
    x.grad = None
    y = x * 2
    v = y[0:2]
    y.mul_(3)                                      # the view's history is rebuilt when read
    assert type(v.grad_fn).__name__ == "AsStridedBackward0"
    v.sum().backward()
    assert x.grad.tolist() == [6.0, 6.0, 0.0]
    a = minijit.zeros(3)
    a[1:] = x[:2]                                  # writing a value that requires grad
    assert a.requires_grad and type(a.grad_fn).__name__ == "CopySlices"


# ---- hooks --------------------------------------------------------------------------------------
def test_tensor_hooks_and_removal() -> None:
    x = minijit.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    handle = x.register_hook(lambda g: seen.append(g.tolist()))
    doubler = x.register_hook(lambda g: g * 2)
    (x * 3).sum().backward()
    assert seen == [[3.0, 3.0]] and x.grad.tolist() == [6.0, 6.0]
    handle.remove()
    doubler.remove()
    x.grad = None
    (x * 3).sum().backward()
    assert seen == [[3.0, 3.0]] and x.grad.tolist() == [3.0, 3.0]
    with pytest.raises(RuntimeError, match="cannot register a hook on a tensor that doesn't "
                                           "require gradient"):
        minijit.ones(2).register_hook(lambda g: g)


def test_non_leaf_hooks_and_retain_grad() -> None:
    x = minijit.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.retain_grad()
    y.register_hook(lambda g: g * 10)              # runs before retain_grad's store
    (y * y).sum().backward()
    assert y.retains_grad
    assert y.grad.tolist() == [60.0, 120.0]
    assert x.grad.tolist() == [180.0, 360.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert y.grad is not None                  # no non-leaf warning when retained


def test_hooks_see_the_gradient_that_flows() -> None:
    x = minijit.rand(3, requires_grad=True)
    y = x.exp()
    grads = []
    y.register_hook(lambda g: grads.append(g))
    (y * 2).sum().backward()
    assert grads[0].tolist() == [2.0, 2.0, 2.0]


# ---- graph shapes --------------------------------------------------------------------------------
GRAPHS = {
    "diamond": lambda T, x: (x.exp() * x.sin() + x.exp()).sum(),
    "reuse a leaf many times": lambda T, x: (x * x * x + x).sum(),
    "only one split output used": lambda T, x: x.split(2)[0].sum(),
    "max values used, indices not": lambda T, x: x.view(2, 3).max(1).values.sum(),
    "unbind all used": lambda T, x: sum(t * (i + 1) for i, t in enumerate(x.unbind())),
    "views of views": lambda T, x: x.view(2, 3).t()[1:].sum(),
    "dead branch": lambda T, x: (x * 2).sum() + (x.detach() * 3).sum(),
    "broadcast against itself": lambda T, x: (x.view(6, 1) * x.view(1, 6)).sum(),
}


@pytest.mark.conformance
@pytest.mark.parametrize("name", list(GRAPHS))
def test_graph_shapes_like_torch(name: str) -> None:
    torch = _torch()
    data = np.linspace(-1, 1, 6)
    grads = []
    for T in (torch, minijit):
        x = T.tensor(data, requires_grad=True)
        GRAPHS[name](T, x).backward()
        grads.append(np.asarray(x.grad.numpy()))
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-12, atol=1e-12)


def test_backward_with_create_graph_makes_differentiable_grads() -> None:
    x = minijit.tensor([1.0, 2.0], requires_grad=True)
    (x ** 3).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    g = x.grad
    x.grad = None
    g.sum().backward()
    assert x.grad.tolist() == [6.0, 12.0]


@pytest.mark.parametrize("make", [
    lambda x, y: x.tanh(), lambda x, y: minijit.sigmoid(x), lambda x, y: x + y,
    lambda x, y: x * y, lambda x, y: x.exp().sum(), lambda x, y: x.max(0),
    lambda x, y: minijit.nn.functional.linear(x, y), lambda x, y: x.relu(),
], ids=["tanh", "sigmoid", "add", "mul", "exp_sum", "max_dim", "linear", "relu"])
def test_recorded_ops_leave_no_reference_cycles(make: Callable) -> None:
    """A node keeps its own outputs without their history (``saved_output``): dropping the
    output frees it at once, instead of leaving a cycle for the garbage collector (which cost
    about 1 µs per op call)."""
    x = minijit.rand(3, 3, requires_grad=True)
    y = minijit.rand(3, 3, requires_grad=True)
    import gc
    gc.collect()
    gc.disable()
    try:
        for _ in range(50):
            make(x, y)
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_saved_output_regains_its_history_for_double_backward() -> None:
    x = minijit.tensor([0.3, -1.2], dtype=minijit.float64, requires_grad=True)
    y = x.tanh()                          # backward reads the saved output, 1 - y²
    (g,) = autograd.grad(y.sum(), x, create_graph=True)
    (h,) = autograd.grad(g.sum(), x)
    t = np.tanh([0.3, -1.2])
    np.testing.assert_allclose(h.numpy(), -2 * t * (1 - t * t), rtol=1e-12)
    z = x.tanh()
    z.add_(1)                             # the saved output shares the version counter
    with pytest.raises(RuntimeError, match=r"which is output 0 of Tanh, is at version 1; "
                                           r"expected version 0"):
        z.sum().backward()


@pytest.mark.parametrize("equation,shapes,grad_fn", [
    ("bij,bkj->bik", [(2, 3, 4), (2, 5, 4)], "ViewBackward0"),
    ("ij,jk", [(3, 4), (4, 2)], "ViewBackward0"),
    ("ij->i", [(3, 4)], "SumBackward1"),
    ("i,j->ij", [(3,), (2,)], "MulBackward0"),
    ("bij,jk,bk->bi", [(2, 3, 4), (4, 5), (2, 5)], "ViewBackward0"),
])
def test_einsum_values_gradients_and_grad_fn(equation: str, shapes: list, grad_fn: str) -> None:
    """einsum decomposes as PyTorch's does (pairwise bmm, sums, a product when nothing is
    contracted): NumPy's values, gradients by finite differences, PyTorch's grad_fn names."""
    rng = np.random.default_rng(0)
    arrays = [rng.random(s) for s in shapes]
    tensors = [minijit.from_numpy(a.copy()).requires_grad_() for a in arrays]
    out = minijit.einsum(equation, *tensors)
    np.testing.assert_allclose(out.detach().numpy(), np.einsum(equation, *arrays), rtol=1e-12)
    assert out.grad_fn.name() == grad_fn
    assert autograd.gradcheck(lambda *ts: minijit.einsum(equation, list(ts)), tensors)
    with pytest.raises(NotImplementedError, match="ellipsis"):
        minijit.einsum("...ij->...i", tensors[0])
