"""Losses as ATen ops (``minijit/ops/loss.py``) and the functions and modules built on them.

The plain tests need only NumPy: values against NumPy formulas, grad_fn names, golden trace
code, the scripted bodies, and error texts.  The ``conformance`` ones compare with PyTorch:
eager values, gradients and grad_fn names through ``F.*`` (the composites ``nll_loss_nd`` and
``cross_entropy_loss`` included, whose parts only the op table's gradcheck cannot see), and
traced and scripted graphs and code of functions and of ``nn.MSELoss``, ``nn.NLLLoss`` and
``nn.CrossEntropyLoss``.
"""
from __future__ import annotations

import re
import warnings
import zlib
from typing import Any, Callable, List

import numpy as np
import pytest

import minijit
from minijit import autograd
from minijit.ops import dispatch, registry
from minijit.ops.samples import map_tensors, sample_maker

F = minijit.nn.functional


def _np(t: Any) -> np.ndarray:
    return np.asarray(t.detach()._data)


# ---- NumPy references ---------------------------------------------------------------------------
def _log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _nll_reference(logp: np.ndarray, target: np.ndarray, weight: Any, reduction: str,
                   ignore_index: int) -> np.ndarray:
    """``logp`` is ``(N, C, ...)``; the class dimension is 1."""
    moved = np.moveaxis(logp, 1, -1).reshape(-1, logp.shape[1])
    flat = target.reshape(-1)
    kept = flat != ignore_index
    safe = np.where(kept, flat, 0)
    w = (weight[safe] if weight is not None else np.ones(len(flat))) * kept
    losses = -moved[np.arange(len(flat)), safe] * w
    if reduction == "none":
        return losses.reshape(target.shape)
    if reduction == "sum":
        return losses.sum()
    return losses.sum() / w.sum()


# ---- values and grad_fn names without torch -----------------------------------------------------
def test_mse_loss_values_and_grad_fn() -> None:
    x, t = minijit.rand(3, 4, requires_grad=True), minijit.rand(3, 4)
    diff = _np(x) - _np(t)
    for reduction, want in (("mean", (diff ** 2).mean()), ("sum", (diff ** 2).sum()),
                            ("none", diff ** 2)):
        out = F.mse_loss(x, t, reduction=reduction)
        np.testing.assert_allclose(_np(out), want, rtol=1e-6)
        assert out.grad_fn.name() == "MseLossBackward0"
    F.mse_loss(x, t).backward()
    np.testing.assert_allclose(_np(x.grad), 2 * diff / diff.size, rtol=1e-6)


def test_nll_and_cross_entropy_values_match_numpy() -> None:
    minijit.manual_seed(0)
    x = minijit.rand(4, 5, 3)
    target = minijit.tensor([[0, 4, 1], [2, 2, -100], [3, 0, 0], [1, 1, 4]])
    weight = minijit.rand(5) + 0.5
    logp = _log_softmax(_np(x), 1)
    for reduction in ("none", "mean", "sum"):
        for w in (None, weight):
            want = _nll_reference(logp, _np(target), None if w is None else _np(w), reduction,
                                  -100)
            got = F.cross_entropy(x, target, weight=w, reduction=reduction)
            np.testing.assert_allclose(_np(got), want, rtol=1e-5, atol=1e-6)
            got = F.nll_loss(F.log_softmax(x, 1), target, weight=w, reduction=reduction)
            np.testing.assert_allclose(_np(got), want, rtol=1e-5, atol=1e-6)


def test_cross_entropy_label_smoothing_and_probabilities_match_numpy() -> None:
    minijit.manual_seed(1)
    x, target = minijit.rand(3, 4), minijit.tensor([1, 3, 0])
    logp = _log_softmax(_np(x), 1)
    eps = 0.2
    smooth = np.full((3, 4), eps / 4)
    smooth[np.arange(3), _np(target)] += 1 - eps
    np.testing.assert_allclose(_np(F.cross_entropy(x, target, label_smoothing=eps)),
                               -(smooth * logp).sum(1).mean(), rtol=1e-5)
    probs = minijit.rand(3, 4).softmax(1)
    np.testing.assert_allclose(_np(F.cross_entropy(x, probs, reduction="none")),
                               -(_np(probs) * logp).sum(1), rtol=1e-5)


@pytest.mark.parametrize("call,name", [
    (lambda x: F.mse_loss(x, x.detach() * 2), "MseLossBackward0"),
    (lambda x: F.nll_loss(x, minijit.tensor([1, 0, 2])), "NllLossBackward0"),
    (lambda x: F.cross_entropy(x, minijit.tensor([1, 0, 2])), "NllLossBackward0"),
    (lambda x: F.cross_entropy(x.view(1, 3, 3, 1), minijit.tensor([[[1], [0], [2]]])),
     "NllLoss2DBackward0"),
    (lambda x: F.cross_entropy(x.view(1, 3, 3), minijit.tensor([[1, 0, 2]]), reduction="none"),
     "ViewBackward0"),
    (lambda x: F.cross_entropy(x, minijit.tensor([1, 0, 2]), label_smoothing=0.1),
     "AddBackward0"),
    (lambda x: F.cross_entropy(x, x.detach().softmax(1), reduction="sum"), "NegBackward0"),
])
def test_grad_fn_names_are_pytorchs(call: Callable, name: str) -> None:
    assert call(minijit.rand(3, 3, requires_grad=True)).grad_fn.name() == name


def test_mean_over_ignored_targets_only_is_nan_with_zero_gradient() -> None:
    """ATen never writes the gradient of an ignored target, even after dividing by 0."""
    x = minijit.rand(2, 3, requires_grad=True)
    out = F.cross_entropy(x, minijit.tensor([-100, -100]))
    assert np.isnan(_np(out))
    out.backward()
    assert not np.any(_np(x.grad))


@pytest.mark.parametrize("name", ["nll_loss_nd", "cross_entropy_loss"])
def test_composites_gradcheck_and_gradgradcheck(name: str) -> None:
    """The composites' parts, differentiated twice (the op table checks only kernels)."""
    op = registry.get(name)
    checked = 0
    for args, kwargs in op.sample_inputs(sample_maker(zlib.crc32(name.encode()))):
        try:
            with minijit.no_grad():
                dispatch.call(op, args, kwargs)
        except Exception:  # noqa: BLE001 - an error sample
            continue
        first = np.array(args[0]._data, dtype=np.float64)
        if first.size == 0:
            continue
        x = minijit.from_numpy(first).requires_grad_()
        rest = map_tensors(list(args[1:]), lambda t: minijit.from_numpy(
            np.array(t._data, dtype=np.float64)) if t.dtype.is_floating_point else t)

        def fn(x: Any, rest: List[Any] = rest, kwargs: dict = kwargs) -> Any:
            return dispatch.call(op, (x, *rest), kwargs)
        assert autograd.gradcheck(fn, (x,), eps=1e-6, atol=1e-5, rtol=1e-3)
        assert autograd.gradgradcheck(fn, (x,), eps=1e-6, atol=1e-4, rtol=1e-3)
        checked += 1
    assert checked >= 5


def test_broadcast_tensors_returns_inputs_of_the_common_shape_themselves() -> None:
    x, y = minijit.rand(2, 3), minijit.rand(3)
    a, b = minijit.broadcast_tensors(x, y)
    assert a is x and list(b.shape) == [2, 3]
    with pytest.raises(RuntimeError, match="The size of tensor a"):
        minijit.broadcast_tensors(x, minijit.rand(4))


@pytest.mark.parametrize("module", ["minijit.ops.loss", "minijit.nn._reduction"])
def test_docstring_examples(module: str) -> None:
    import doctest
    import importlib
    assert doctest.testmod(importlib.import_module(module)).failed == 0


# ---- errors -------------------------------------------------------------------------------------
def test_errors_have_pytorchs_words() -> None:
    x, t = minijit.rand(3, 5), minijit.tensor([1, 0, 4])
    with pytest.raises(ValueError, match="^bogus is not a valid value for reduction$"):
        F.mse_loss(x, x, reduction="bogus")
    with pytest.raises(RuntimeError, match=r"^The function 'nll_loss_forward' is not "
                                           r"differentiable with respect to argument 'weight'"):
        F.cross_entropy(x, t, weight=minijit.rand(5, requires_grad=True))
    with pytest.raises(RuntimeError, match=r"^weight tensor should be defined either for all 5 "
                                           r"classes or no classes but got weight tensor of "
                                           r"shape: \[4\]$"):
        F.nll_loss(x, t, weight=minijit.rand(4))
    with pytest.raises(IndexError, match="^Target 7 is out of bounds.$"):
        F.nll_loss(x, minijit.tensor([1, 7, 0]))
    with pytest.raises(ValueError, match=r"^Expected input batch_size \(3\) to match target "
                                         r"batch_size \(2\).$"):
        F.cross_entropy(x, minijit.tensor([1, 0]))
    with pytest.raises(RuntimeError, match="^label_smoothing must be between 0.0 and 1.0. "
                                           "Got: 1.5$"):
        F.cross_entropy(x, t, label_smoothing=1.5)
    with pytest.raises(ValueError, match="^Weights and input must have the same size.$"):
        F.mse_loss(x, x, weight=minijit.rand(5))


def test_legacy_reduction_flags_warn_and_choose_the_reduction() -> None:
    x, t = minijit.rand(2, 3), minijit.rand(2, 3)
    with pytest.warns(UserWarning, match=r"please use reduction='sum' instead"):
        out = F.mse_loss(x, t, size_average=False)
    np.testing.assert_allclose(_np(out), _np(F.mse_loss(x, t, reduction="sum")), rtol=1e-6)
    with pytest.warns(UserWarning, match=r"reduction='none'"):
        loss = minijit.nn.NLLLoss(reduce=False)
    assert loss.reduction == "none"


# ---- tracing and scripting without torch --------------------------------------------------------
def test_traces_record_the_aten_ops() -> None:
    x, t, i = minijit.rand(2, 4), minijit.rand(2, 4), minijit.tensor([1, 2])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mse = minijit.jit.trace(lambda x, t: F.mse_loss(x, t), (x, t))
        ce = minijit.jit.trace(lambda x, i: F.cross_entropy(x, i), (x, i))
        nll = minijit.jit.trace(lambda x, i: F.nll_loss(F.log_softmax(x, 1), i), (x, i))
    assert mse.code.endswith("  input, target, = torch.broadcast_tensors([x, t])\n"
                             "  return torch.mse_loss(input, target)\n")
    assert ce.code.endswith("  return torch.cross_entropy_loss(x, i)\n")
    assert nll.code.endswith("  input = torch.log_softmax(x, 1)\n"
                             "  return torch.nll_loss_nd(input, i)\n")
    graph = str(mse.graph)
    assert "%input : Float(2, 4, strides=[4, 1], requires_grad=0, device=cpu), %target" in graph
    y = minijit.rand(2, 4, requires_grad=True)
    assert ce(y, i).grad_fn.name() == "NllLossBackward0"


def test_scripted_library_bodies_call_the_ops() -> None:
    code = minijit.jit.script(F.cross_entropy).code
    assert "_1 = __torch__.torch.nn._reduction.get_enum" in code
    assert ("torch.cross_entropy_loss(input, target, weight, _1(reduction0, ), ignore_index, "
            "label_smoothing)") in code
    assert "torch.nll_loss_nd(input, target, weight, _1(reduction0, ), ignore_index)" in \
        minijit.jit.script(F.nll_loss).code
    assert "torch.mse_loss(expanded_input, expanded_target, _4(reduction0, ))" in \
        minijit.jit.script(F.mse_loss).code


def test_scripting_a_loss_runs_no_warning_at_compile_time() -> None:
    """``get_enum``'s ``warnings.warn`` is an effect: constant folding must not run it."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        minijit.jit.script(minijit.nn.CrossEntropyLoss())


@pytest.mark.parametrize("module,target", [
    (minijit.nn.MSELoss(reduction="sum"), lambda: minijit.rand(3, 4)),
    (minijit.nn.NLLLoss(weight=minijit.rand(4), ignore_index=1), lambda: minijit.tensor([1, 3, 0])),
    (minijit.nn.CrossEntropyLoss(label_smoothing=0.1, reduction="none"),
     lambda: minijit.tensor([1, 3, 0])),
])
def test_scripted_modules_match_eager(module: Any, target: Callable) -> None:
    scripted = minijit.jit.script(module)
    x, t = minijit.rand(3, 4), target()
    xe, xs = x.clone().requires_grad_(), x.clone().requires_grad_()
    want, got = module(xe, t), scripted(xs, t)
    np.testing.assert_allclose(_np(got), _np(want), rtol=1e-6)
    want.sum().backward()
    got.sum().backward()
    np.testing.assert_allclose(_np(xs.grad), _np(xe.grad), rtol=1e-6)


# ---- against PyTorch ----------------------------------------------------------------------------
def _torch() -> Any:
    return pytest.importorskip("torch")


def _normalise(text: str) -> str:
    text = re.sub(r"%(\d+)", "%N", text)
    text = re.sub(r"\.___torch_mangle_\d+", "", text)
    return re.sub(r"# (\S*/)?([^/\s]+\.py):\d+:\d+", r"# \2", text)


# (torch source, arguments), run through F in both libraries; ``T`` is the library.
F_CASES = [
    ("F.mse_loss(x, t)", "x, t"),
    ("F.mse_loss(x, t[0], reduction='none')", "x, t"),
    ("F.mse_loss(x, t, weight=t + 1)", "x, t"),
    ("F.nll_loss(F.log_softmax(x, 1), i, reduction='sum')", "x, i"),
    ("F.nll_loss(x, i, ignore_index=1, reduction='none')", "x, i"),
    ("F.nll_loss(x3, i3)", "x3, i3"),
    ("F.nll_loss(x3, i3, reduction='none')", "x3, i3"),
    ("F.cross_entropy(x, i)", "x, i"),
    ("F.cross_entropy(x, i, weight=w)", "x, i"),
    ("F.cross_entropy(x, i, label_smoothing=0.3, ignore_index=2)", "x, i"),
    ("F.cross_entropy(x, i, weight=w, label_smoothing=0.3, reduction='none')", "x, i"),
    ("F.cross_entropy(x, i, weight=w, label_smoothing=0.3, ignore_index=3)", "x, i"),
    ("F.cross_entropy(x3, i3, label_smoothing=0.1, reduction='sum')", "x3, i3"),
    ("F.cross_entropy(x4, i4)", "x4, i4"),
    ("F.cross_entropy(x4, i4, reduction='none', weight=w)", "x4, i4"),
    ("F.cross_entropy(x[0], i[0])", "x, i"),
    ("F.cross_entropy(x, t.softmax(1), reduction='none', weight=w)", "x, t"),
    ("F.cross_entropy(x, t.softmax(1), reduction='sum', label_smoothing=0.2)", "x, t"),
    ("F.cross_entropy(x, t.softmax(1))", "x, t"),
    ("F.cross_entropy(x, i, size_average=False)", "x, i"),
    # errors
    ("F.cross_entropy(x, i, weight=w.requires_grad_())", "x, i"),
    ("F.cross_entropy(x, i[:2])", "x, i"),
    ("F.cross_entropy(x3, i)", "x3, i"),
    ("F.cross_entropy(x, t.long())", "x, t"),
    ("F.cross_entropy(x, t, ignore_index=0)", "x, t"),
    ("F.nll_loss(x, i.int())", "x, i"),
    ("F.nll_loss(x, i + 4)", "x, i"),
    ("F.nll_loss(x, i, reduction='average')", "x, i"),
    ("F.mse_loss(x, t[:, :3])", "x, t"),
]

# PyTorch divides the mean of class-probability targets by an int (``aten::div.Scalar``,
# DivBackward1); minijit has only ``div.Tensor`` (DivBackward0): same values and gradients.
KNOWN_GRAD_FN_DIFFERENCES = {"F.cross_entropy(x, t.softmax(1))": ("DivBackward0", "DivBackward1")}


def _f_inputs(T: Any) -> dict:
    T.manual_seed(3)
    return {"x": T.rand(3, 4), "t": T.rand(3, 4), "i": T.tensor([1, 3, 0]),
            "x3": T.rand(2, 4, 3), "i3": T.tensor([[1, 3, 0], [2, 2, 2]]),
            "x4": T.rand(2, 4, 2, 2), "i4": T.tensor([[[1, 3], [0, 0]], [[2, 2], [2, 1]]]),
            "w": T.rand(4) + 0.5}


def _run_f(T: Any, expr: str) -> Any:
    env = _f_inputs(T)
    for name in ("x", "x3", "x4"):
        env[name].requires_grad_()
    env["F"] = T.nn.functional
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out = eval(expr, env)
        except Exception as exc:  # noqa: BLE001 - compared with the other library's
            return ("error", (type(exc).__name__, str(exc).split("\n")[0])), [], []
    messages = [str(w.message) for w in caught]
    grad_fn = type(out.grad_fn).__name__ if not isinstance(out, minijit.Tensor) else \
        out.grad_fn.name()
    out.sum().backward()
    grads = [env[name].grad for name in ("x", "x3", "x4")]
    return (out, grad_fn), grads, messages


@pytest.mark.conformance
@pytest.mark.parametrize("expr", [c[0] for c in F_CASES])
def test_functional_losses_match_pytorch(expr: str) -> None:
    torch = _torch()
    (theirs, their_fn), their_grads, their_warnings = _run_f(torch, expr)
    (ours, our_fn), our_grads, our_warnings = _run_f(minijit, expr)
    if theirs == "error":
        assert (ours, our_fn) == (theirs, their_fn)
        return
    assert ours != "error", f"minijit raised {our_fn}"
    assert str(ours.dtype) == str(theirs.dtype) and tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(_np(ours), theirs.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert (our_fn, their_fn) == KNOWN_GRAD_FN_DIFFERENCES.get(expr, (their_fn, their_fn))
    for a, b in zip(our_grads, their_grads):
        assert (a is None) == (b is None)
        if b is not None:
            np.testing.assert_allclose(_np(a), b.numpy(), rtol=1e-5, atol=1e-6)
    assert [w.replace("torch.Size", "Size") for w in our_warnings] == \
        [w.replace("torch.Size", "Size") for w in their_warnings]


@pytest.mark.conformance
@pytest.mark.parametrize("name", ["nll_loss_nd", "cross_entropy_loss", "broadcast_tensors"])
def test_composite_samples_with_gradients_match_pytorch(name: str) -> None:
    """The op table runs composites without gradients; here every floating input requires
    grad (as for kernels): values, errors, grad_fn names and gradients."""
    _torch()
    from test_ops_conformance import (
        _check_grads,
        assert_same,
        flat_outputs,
        grad_fn_name,
        run,
    )
    op = registry.get(name)
    for index in range(len(op.sample_inputs(sample_maker(0)))):
        try:
            theirs, their_leaves = run(op, index, "torch", True)
        except Exception as exc:  # noqa: BLE001
            with pytest.raises(Exception) as info:
                run(op, index, "minijit", True)
            assert (type(info.value).__name__, str(info.value)) == (type(exc).__name__, str(exc))
            continue
        ours, our_leaves = run(op, index, "minijit", True)
        our_flat, their_flat = flat_outputs(ours), flat_outputs(theirs)
        for k, (a, b) in enumerate(zip(our_flat, their_flat)):
            assert_same(a, b, f"{name}[{index}] output {k}")
            assert grad_fn_name(a) == grad_fn_name(b), f"{name}[{index}]"
        _check_grads(op, index, our_flat, their_flat, our_leaves, their_leaves)


GRAPH_PROGRAMS = [
    ("def fn(x, t):\n    return F.mse_loss(x, t)\n", "T.rand(2, 4), T.rand(2, 4)"),
    ("def fn(x, t):\n    return F.mse_loss(x, t, reduction='none')\n", "T.rand(2, 4), T.rand(4)"),
    ("def fn(x, i):\n    return F.cross_entropy(x, i, ignore_index=1, label_smoothing=0.1)\n",
     "T.rand(2, 4), T.tensor([1, 2])"),
    ("def fn(x, i):\n    return F.nll_loss(F.log_softmax(x, 1), i, reduction='sum')\n",
     "T.rand(2, 4, 3), T.tensor([[1, 2, 0], [3, 3, 3]])"),
    ("fn = T.nn.MSELoss()\n", "T.rand(2, 4), T.rand(2, 4)"),
    ("fn = T.nn.NLLLoss(weight=T.rand(4), reduction='none')\n",
     "T.rand(3, 4), T.tensor([1, 2, 0])"),
    ("fn = T.nn.CrossEntropyLoss(label_smoothing=0.2)\n", "T.rand(3, 4), T.tensor([1, 2, 0])"),
]


def _program(T: Any, source: str, inputs: str, directory: Any) -> Any:
    """Define the program in a real file (the scripter reads source; graphs cite lines)."""
    directory.mkdir()
    path = directory / "loss_program.py"
    path.write_text("F = T.nn.functional\n" + source)
    namespace = {"T": T, "__name__": "__main__"}
    T.manual_seed(0)
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    T.manual_seed(1)
    return namespace["fn"], eval(f"({inputs},)", {"T": T})


@pytest.mark.conformance
@pytest.mark.parametrize("index", range(len(GRAPH_PROGRAMS)))
def test_traced_and_scripted_graphs_and_code_match_pytorch(index: int, tmp_path: Any) -> None:
    torch = _torch()
    source, inputs = GRAPH_PROGRAMS[index]
    fn_m, args_m = _program(minijit, source, inputs, tmp_path / "m")
    fn_t, args_t = _program(torch, source, inputs, tmp_path / "t")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        made = [(minijit.jit.trace(fn_m, args_m), torch.jit.trace(fn_t, args_t)),
                (minijit.jit.script(fn_m), torch.jit.script(fn_t))]
    for ours, theirs in made:
        assert _normalise(str(ours.graph)) == _normalise(str(theirs.graph))
        assert ours.code == theirs.code
        np.testing.assert_allclose(_np(ours(*args_m)), theirs(*args_t).detach().numpy(),
                                   rtol=1e-5, atol=1e-6)
        xm, xt = args_m[0].clone().requires_grad_(), args_t[0].clone().requires_grad_()
        ours(xm, *args_m[1:]).sum().backward()
        theirs(xt, *args_t[1:]).sum().backward()
        np.testing.assert_allclose(_np(xm.grad), xt.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.conformance
@pytest.mark.parametrize("name", ["mse_loss", "nll_loss", "cross_entropy"])
def test_scripted_library_functions_match_pytorch(name: str) -> None:
    """The compiled ``F.<name>`` itself.  Two graph differences are normalised away:
    PyTorch's ``aten::warn[warn_id=N]`` (minijit's scripter numbers no warnings), and the
    suffix of the refined ``weight`` in ``mse_loss`` (PyTorch's ``has_torch_function`` block,
    which minijit's functions lack, uses up two names: ``%weight.9`` against ``%weight.7``)."""
    torch = _torch()
    ours = minijit.jit.script(getattr(F, name))
    theirs = torch.jit.script(getattr(torch.nn.functional, name))
    assert ours.code == theirs.code

    def clean(text: str) -> str:
        text = re.sub(r"\[warn_id=\d+\]", "", _normalise(text))
        return re.sub(r"%weight\.\d+ : Tensor = prim::unchecked_cast", "%weight.R : Tensor = "
                      "prim::unchecked_cast", text).replace("%weight.9)", "%weight.R)") \
            .replace("%weight.7)", "%weight.R)").replace("%weight.9,", "%weight.R,") \
            .replace("%weight.7,", "%weight.R,")
    assert clean(str(ours.graph)) == clean(str(theirs.graph))
