"""Every registered op, on every one of its samples, against PyTorch (DESIGN §3, §10.8).

One table drives the whole file: the registry.  For each ``(op, sample)`` the same NumPy data
is fed to minijit and to torch; we compare the results (dtype and shape exactly, values to a
tolerance), the ``grad_fn`` names, and the gradients of ``sum(out * w)`` with respect to every
floating input (``w`` random).  A second, smaller table checks type promotion and broadcasting
on expressions that mix tensors, 0-dim tensors and Python numbers.
"""
from __future__ import annotations

import zlib
from typing import Any, Callable, List, Optional, Tuple

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import minijit  # noqa: E402
from minijit.ops import dispatch, registry  # noqa: E402
from minijit.ops.registry import Tag  # noqa: E402
from minijit.ops.samples import map_tensors, sample_maker  # noqa: E402

pytestmark = pytest.mark.conformance

# Ops whose PyTorch spelling is not torch.<name>, Tensor.<name> or torch.ops.aten.<name>.
TORCH_SPELLING = {
    "_to_device": lambda x, device: torch.ops.aten._to_copy(x, device=device),
    "index": torch.ops.aten.index.Tensor,
}


def _samples() -> List[Tuple[registry.OpInfo, int]]:
    cases = []
    for op in registry.all_ops():
        count = len(op.sample_inputs(sample_maker(0)))
        cases.extend((op, i) for i in range(count))
    return cases


CASES = _samples()


def _seed(op: registry.OpInfo) -> int:
    return zlib.crc32(op.name.encode())


# ---- moving arguments between the two libraries -------------------------------------------------
def to_torch_tensor(t: Any) -> Any:
    """A torch tensor with the same values, dtype and strides (strides matter: ``contiguous``)."""
    array = np.asarray(t._data)
    dense = torch.from_numpy(array.copy())   # (copy() is C-ordered and keeps 0-dim)
    strides = tuple(s // array.itemsize for s in array.strides) if array.size else None
    if strides and 0 not in strides and not array.flags.c_contiguous and min(strides) > 0:
        out = torch.empty_strided(tuple(array.shape), strides, dtype=dense.dtype)
        out.copy_(dense)
        return out
    return dense


def to_torch(value: Any) -> Any:
    if isinstance(value, minijit.dtype):
        return getattr(torch, value.name)
    if isinstance(value, minijit.Tensor):
        return to_torch_tensor(value)
    if isinstance(value, list):
        return [to_torch(v) for v in value]
    if isinstance(value, tuple):
        return tuple(to_torch(v) for v in value)
    if isinstance(value, dict):
        return {k: to_torch(v) for k, v in value.items()}
    return value


def minijit_callable(op: registry.OpInfo) -> Callable:
    """The public spelling a user would write: ``minijit.<name>``, ``x.<name>`` or the op."""
    if op.function and hasattr(minijit, op.python_name):
        return getattr(minijit, op.python_name)
    if op.method and hasattr(minijit.Tensor, op.python_name):
        return lambda self, *a, **k: getattr(self, op.python_name)(*a, **k)
    return lambda *a, **k: dispatch.call(op, a, k)


def torch_callable(op: registry.OpInfo) -> Callable:
    name = op.name
    if name in TORCH_SPELLING:
        return TORCH_SPELLING[name]
    if Tag.INPLACE not in op.tags and op.function and hasattr(torch, name):
        return getattr(torch, name)
    if hasattr(torch.Tensor, name):
        return lambda self, *a, **k: getattr(self, name)(*a, **k)
    return getattr(torch.ops.aten, name)


def flat_outputs(out: Any) -> List[Any]:
    if isinstance(out, (list, tuple)):
        return [o for item in out for o in flat_outputs(item)]
    return [out]


def tolerance(dtype: Any) -> Tuple[float, float]:
    if dtype == np.float64:
        return 1e-10, 1e-12
    if dtype == np.float16:
        return 1e-3, 1e-3
    return 1e-5, 1e-5


def assert_same(ours: Any, theirs: Any, what: str, values: bool = True,
                precision: Any = None) -> None:
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, minijit.Tensor), f"{what}: expected a Tensor, got {ours!r}"
        assert str(ours.dtype) == str(theirs.dtype), f"{what}: dtype {ours.dtype} != {theirs.dtype}"
        assert tuple(ours.shape) == tuple(theirs.shape), \
            f"{what}: shape {tuple(ours.shape)} != {tuple(theirs.shape)}"
        if not values:
            return
        a = np.asarray(ours._data)
        b = theirs.detach().numpy(force=True)   # force: PyTorch's zero gradients are ZeroTensors
        if a.dtype.kind == "f":
            rtol, atol = tolerance(a.dtype if precision is None else precision)
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, equal_nan=True, err_msg=what)
        else:
            np.testing.assert_array_equal(a, b, err_msg=what)
    else:
        same_nan = ours != ours and theirs != theirs
        assert ours == theirs or same_nan, f"{what}: {ours!r} != {theirs!r}"


def grad_fn_name(t: Any) -> Optional[str]:
    fn = t.grad_fn
    if fn is None:
        return None
    return fn.name() if isinstance(t, minijit.Tensor) else type(fn).__name__


def _torch_tensors(value: Any) -> List[Any]:
    """The torch tensors inside nested arguments, in order (the order ``map_tensors`` uses)."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _torch_tensors(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _torch_tensors(v)]
    return []


def run(op: registry.OpInfo, index: int, lib: str, with_grad: bool):
    """Run sample ``index`` of ``op`` in ``lib`` ("torch" or "minijit"); return (output, the
    floating input leaves that require grad)."""
    make = sample_maker(_seed(op))
    args, kwargs = op.sample_inputs(make)[index]
    args, kwargs = list(args), dict(kwargs)
    if lib == "torch":
        args, kwargs = to_torch(args), to_torch(kwargs)
        tensors = _torch_tensors(args) + _torch_tensors(kwargs)
        lib_mod, fn = torch, torch_callable(op)
    else:
        found: List[Any] = []
        map_tensors(args, lambda t: found.append(t) or t)
        map_tensors(kwargs, lambda t: found.append(t) or t)
        tensors = found
        lib_mod, fn = minijit, minijit_callable(op)
    leaves = [t for t in tensors if with_grad and t.dtype.is_floating_point]
    for t in leaves:
        t.requires_grad_(True)
    if Tag.INPLACE in op.tags and with_grad and args and any(args[0] is t for t in leaves):
        args[0] = args[0].clone()      # in-place on a leaf that requires grad is an error
    lib_mod.manual_seed(0)
    out = fn(*args, **kwargs)
    return out, leaves


def _check_grads(op: registry.OpInfo, index: int, ours: List[Any], theirs: List[Any],
                 our_leaves: List[Any], their_leaves: List[Any]) -> None:
    rng = np.random.default_rng(1234)
    our_terms, their_terms = [], []
    for o, t in zip(ours, theirs):
        if isinstance(t, torch.Tensor) and t.requires_grad:
            assert o.requires_grad, f"{op.name}[{index}]: output should require grad"
            w = rng.standard_normal(tuple(t.shape)).astype(np.asarray(o._data).dtype)
            our_terms.append((o * minijit.from_numpy(w.copy())).sum())
            their_terms.append((t * torch.from_numpy(w.copy())).sum())
        elif isinstance(o, minijit.Tensor):
            assert not o.requires_grad, f"{op.name}[{index}]: output should not require grad"
    if not their_terms:
        return
    try:
        their_loss = their_terms[0]
        for b in their_terms[1:]:
            their_loss = their_loss + b
        their_loss.backward()
    except RuntimeError as exc:     # PyTorch refuses this backward (e.g. an invalid gradient)
        our_loss = our_terms[0]
        for a in our_terms[1:]:
            our_loss = our_loss + a
        with pytest.raises(RuntimeError) as info:
            our_loss.backward()
        assert str(info.value) == str(exc)
        return
    # Gradients are as precise as the least precise computation on their way.
    precision = min((np.asarray(o._data).dtype for o in ours if isinstance(o, minijit.Tensor)
                     and o.dtype.is_floating_point), key=lambda d: d.itemsize, default=None)
    our_loss = our_terms[0]
    for a in our_terms[1:]:
        our_loss = our_loss + a
    our_loss.backward()
    for k, (a, b) in enumerate(zip(our_leaves, their_leaves)):
        what = f"{op.name}[{index}] grad of input {k}"
        if b.grad is None:
            assert a.grad is None or not np.any(np.asarray(a.grad._data)), \
                f"{what}: torch has no gradient"
            continue
        assert a.grad is not None, f"{what}: missing"
        assert_same(a.grad, b.grad, what, precision=min(
            (precision, np.asarray(a.grad._data).dtype), key=lambda d: d.itemsize))


@pytest.mark.parametrize("op,index", CASES, ids=[f"{op.name}-{i}" for op, i in CASES])
def test_op_matches_torch(op: registry.OpInfo, index: int) -> None:
    with_grad = op.differentiable
    try:
        theirs, their_leaves = run(op, index, "torch", with_grad)
    except Exception as exc:  # noqa: BLE001 - a sample PyTorch refuses: we must refuse it alike
        with pytest.raises(Exception) as info:
            run(op, index, "minijit", with_grad)
        assert (type(info.value).__name__, str(info.value)) == (type(exc).__name__, str(exc))
        return
    ours, our_leaves = run(op, index, "minijit", with_grad)
    our_flat, their_flat = flat_outputs(ours), flat_outputs(theirs)
    assert len(our_flat) == len(their_flat), f"{op.name}[{index}]: number of outputs"
    assert type(ours).__name__ == type(theirs).__name__ or not isinstance(theirs, tuple) \
        or type(theirs) in (tuple, list), f"{op.name}[{index}]: return type"
    for k, (a, b) in enumerate(zip(our_flat, their_flat)):
        what = f"{op.name}[{index}] output {k}"
        assert_same(a, b, what, values=Tag.UNINITIALIZED not in op.tags)
        if isinstance(b, torch.Tensor):
            assert grad_fn_name(a) == grad_fn_name(b), \
                f"{what}: grad_fn {grad_fn_name(a)} != {grad_fn_name(b)}"
            assert a.requires_grad == b.requires_grad, f"{what}: requires_grad"
    if with_grad:
        _check_grads(op, index, our_flat, their_flat, our_leaves, their_leaves)


@pytest.mark.parametrize("op,index", [(op, i) for op, i in CASES if Tag.INPLACE in op.tags
                                      and Tag.RANDOM not in op.tags],
                         ids=lambda v: v.name if isinstance(v, registry.OpInfo) else str(v))
def test_inplace_op_writes_target(op: registry.OpInfo, index: int) -> None:
    """An in-place op returns its first argument, changed, with its version bumped."""
    make = sample_maker(_seed(op))
    args, kwargs = op.sample_inputs(make)[index]
    target = args[0]
    before = target._version[0]
    try:
        torch_target = to_torch(target)
        torch_callable(op)(torch_target, *to_torch(args[1:]), **to_torch(kwargs))
    except RuntimeError:
        return                                   # covered by test_op_matches_torch
    out = minijit_callable(op)(*args, **kwargs)
    assert out is target
    assert target._version[0] == before + 1


# ---- promotion and broadcasting: expressions run against both libraries -------------------------
def _t(T: Any, data: Any, dtype: str = None) -> Any:
    return T.tensor(data) if dtype is None else T.tensor(data, dtype=getattr(T, dtype))


EXPRESSIONS = {
    # Python numbers bring only their category: int tensor + float -> default float.
    "int64 + 1.5": lambda T: _t(T, [1, 2, 3]) + 1.5,
    "1.5 * int64": lambda T: 1.5 * _t(T, [1, 2, 3]),
    "float32 * 2": lambda T: _t(T, [1.0, 2.0]) * 2,
    "float64 + 1.5": lambda T: _t(T, [1.0, 2.0], "float64") + 1.5,
    "int32 + 7": lambda T: _t(T, [1, 2], "int32") + 7,
    "uint8 + 1": lambda T: _t(T, [1, 2], "uint8") + 1,
    "int64 - 2.5 (rsub)": lambda T: 2.5 - _t(T, [1, 2, 3]),
    "2 / int64": lambda T: 2 / _t(T, [1, 2, 4]),
    "int64 ** 2": lambda T: _t(T, [1, 2, 3]) ** 2,
    "int64 ** 0.5": lambda T: _t(T, [1, 4, 9]) ** 0.5,
    "2 ** float32": lambda T: 2 ** _t(T, [1.0, 0.5]),
    # Integer division is true division; floor division stays integral.
    "int64 / int64": lambda T: _t(T, [1, 2, 3]) / _t(T, [2, 2, 2]),
    "int64 // int64": lambda T: _t(T, [-7, 7, 5]) // _t(T, [2, 2, -3]),
    "float // float": lambda T: _t(T, [-7.5, 7.5]) // _t(T, [2.0, -2.0]),
    "int64 / 0": lambda T: _t(T, [1, 0, -1]) / 0,
    "int64 % int64": lambda T: _t(T, [-7, 7, 5]) % _t(T, [2, 3, -3]),
    # bool < integral < floating.
    "bool + int64": lambda T: _t(T, [True, False]) + _t(T, [1, 2]),
    "bool + True": lambda T: _t(T, [True, False]) + True,
    "bool * 2.5": lambda T: _t(T, [True, False]) * 2.5,
    "bool & bool": lambda T: _t(T, [True, False]) & _t(T, [True, True]),
    "int | int": lambda T: _t(T, [1, 2]) | _t(T, [4, 4]),
    "float64 + float32": lambda T: _t(T, [1.0, 2.0], "float64") + _t(T, [1.0, 2.0]),
    "float16 + float32": lambda T: _t(T, [1.0, 2.0], "float16") + _t(T, [1.0, 2.0]),
    "uint8 + int8": lambda T: _t(T, [1, 2], "uint8") + _t(T, [1, 2], "int8"),
    "int32 + int64": lambda T: _t(T, [1, 2], "int32") + _t(T, [1, 2]),
    # 0-dim tensors count only when their category is higher.
    "float32[3] + float64 0-dim": lambda T: _t(T, [1.0, 2.0, 3.0]) + _t(T, 1.5, "float64"),
    "int64[3] + float64 0-dim": lambda T: _t(T, [1, 2, 3]) + _t(T, 1.5, "float64"),
    "int32[2] + int64 0-dim": lambda T: _t(T, [1, 2], "int32") + _t(T, 5),
    "float64 0-dim + float32 0-dim": lambda T: _t(T, 1.0, "float64") + _t(T, 2.0),
    "0-dim int + float": lambda T: _t(T, 3) * 1.5,
    "bool[2] + int64 0-dim": lambda T: _t(T, [True, False]) + _t(T, 3),
    # Comparisons give bool, comparing in the promoted type.
    "int64 < 2.5": lambda T: _t(T, [1, 2, 3]) < 2.5,
    "float32 == float64 0-dim": lambda T: _t(T, [1.5, 2.0]) == _t(T, 1.5, "float64"),
    "int64 >= bool": lambda T: _t(T, [0, 1, 2]) >= _t(T, [True, True, False]),
    "ne with scalar": lambda T: _t(T, [1.0, 2.0]) != 2,
    # Broadcasting.
    "(3,1) + (4,)": lambda T: _t(T, [[1.0], [2.0], [3.0]]) + _t(T, [1.0, 2.0, 3.0, 4.0]),
    "(2,1,3) * (4,1)": lambda T: T.ones(2, 1, 3) * T.ones(4, 1),
    "() + (2,3)": lambda T: _t(T, 2.0) + T.ones(2, 3),
    "(0,3) + (3,)": lambda T: T.ones(0, 3) + T.ones(3),
    "where(cond, int64, 2.5)": lambda T: T.where(_t(T, [True, False]), _t(T, [1, 2]), 2.5),
    "where broadcast": lambda T: T.where(_t(T, [[True], [False]]), T.ones(3), T.zeros(2, 1)),
    "sum(bool)": lambda T: _t(T, [True, True, False]).sum(),
    "sum(int32)": lambda T: _t(T, [1, 2], "int32").sum(),
    "mean(float64)": lambda T: _t(T, [1.0, 2.0], "float64").mean(),
    "max(int)": lambda T: _t(T, [3, 1, 2]).max(),
    "neg int": lambda T: -_t(T, [1, -2]),
    "abs int": lambda T: abs(_t(T, [1, -2])),
    "~int": lambda T: ~_t(T, [1, -2]),
    "~bool": lambda T: ~_t(T, [True, False]),
    # Errors, in PyTorch's words.
    "broadcast error": lambda T: T.ones(3, 3) + T.ones(3, 4),
    "broadcast error leading": lambda T: T.ones(2, 3) * T.ones(4, 1, 2),
    "broadcast error where": lambda T: T.where(T.ones(2) > 0, T.ones(3), T.ones(2)),
    "broadcast error compare": lambda T: T.ones(5) < T.ones(4),
    "broadcast error in place": lambda T: T.ones(3).add_(T.ones(2, 3)),
    "in-place int from float": lambda T: _t(T, [1, 2]).mul_(1.5),
    "in-place bool from int": lambda T: _t(T, [True, False]).add_(_t(T, [1, 2])),
    "bool - bool": lambda T: _t(T, [True]) - _t(T, [False]),
    "float - bool": lambda T: _t(T, [1.0]) - _t(T, [False]),
    "-bool": lambda T: -_t(T, [True]),
    "~float": lambda T: ~_t(T, [1.0]),
    "mean(int)": lambda T: _t(T, [1, 2]).mean(),
    "int64 ** -1": lambda T: _t(T, [1, 2]) ** -1,
    "matmul dtype": lambda T: T.ones(2, 3) @ T.ones(3, 2, dtype=T.float64),
    "matmul shapes": lambda T: T.ones(3, 4) @ T.ones(5, 6),
}


@pytest.mark.parametrize("name", list(EXPRESSIONS))
def test_promotion_and_broadcasting(name: str) -> None:
    fn = EXPRESSIONS[name]
    try:
        theirs = fn(torch)
    except Exception as exc:  # noqa: BLE001
        with pytest.raises(Exception) as info:
            fn(minijit)
        assert (type(info.value).__name__, str(info.value)) == (type(exc).__name__, str(exc))
        return
    ours = fn(minijit)
    assert_same(ours, theirs, name)
