"""The Tensor itself: creation, conversion, indexing, views, metadata and error texts.

Plain tests check behaviour that needs no oracle (memory sharing, version counters) and the
exact PyTorch messages users see most; the ``conformance`` tables run the same expressions
in torch and minijit and compare results, grad_fn names, gradients and error texts.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import minijit


def _torch():
    return pytest.importorskip("torch")


# ---- creation -----------------------------------------------------------------------------------
@pytest.mark.parametrize("data,dtype,shape", [
    ([1, 2], "int64", (2,)), ([1.0, 2], "float32", (2,)), ([True, False], "bool", (2,)),
    ([True, 2], "int64", (2,)), (3.5, "float32", ()), ([], "float32", (0,)),
    ([[1, 2], [3, 4]], "int64", (2, 2)), ((1, 2.5), "float32", (2,)),
    (np.array([1.0, 2.0]), "float64", (2,)), (np.float64(2.0), "float64", ()),
    ([np.float64(1.0), 2.0], "float64", (2,)), ([np.int32(1), 2], "int64", (2,)),
    ([minijit.tensor(1.0), 2], "float32", (2,)), ([[], []], "float32", (2, 0)),
])
def test_tensor_infers_dtype_and_shape(data: Any, dtype: str, shape: tuple) -> None:
    t = minijit.tensor(data)
    assert t.dtype.name == dtype and tuple(t.shape) == shape and t.is_leaf
    assert not t.requires_grad


@pytest.mark.parametrize("data,error,message", [
    ([[1, 2], [3]], ValueError, "expected sequence of length 2 at dim 1 (got 1)"),
    ([1, None], RuntimeError, "Could not infer dtype of NoneType"),
    (["a"], ValueError, "too many dimensions 'str'"),
    ([minijit.ones(2), 1], ValueError,
     "only one element tensors can be converted to Python scalars"),
])
def test_tensor_errors(data: Any, error: type, message: str) -> None:
    with pytest.raises(error) as info:
        minijit.tensor(data)
    assert str(info.value) == message


def test_factories_accept_varargs_and_sequences() -> None:
    for t in (minijit.zeros(2, 3), minijit.zeros((2, 3)), minijit.zeros([2, 3])):
        assert t.shape == (2, 3) and t.dtype is minijit.float32 and not t._data.any()
    assert minijit.ones(2, dtype=minijit.int64).tolist() == [1, 1]
    assert minijit.full((2,), 3).dtype is minijit.int64
    assert minijit.full((2,), 1.5).tolist() == [1.5, 1.5]
    assert minijit.arange(5).tolist() == [0, 1, 2, 3, 4]
    assert minijit.arange(0, 1, 0.25).tolist() == [0.0, 0.25, 0.5, 0.75]
    assert minijit.linspace(0, 1, 5).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert minijit.eye(2).tolist() == [[1.0, 0.0], [0.0, 1.0]]
    x = minijit.tensor([1, 2])
    assert minijit.zeros_like(x).dtype is minijit.int64
    assert minijit.ones_like(x, dtype=minijit.float64).dtype is minijit.float64
    assert minijit.full_like(x, 7).tolist() == [7, 7]
    assert minijit.empty(2, 3).shape == (2, 3)
    assert minijit.rand(2, requires_grad=True).requires_grad


def test_from_numpy_shares_memory_both_ways() -> None:
    a = np.zeros(3, dtype=np.float32)
    t = minijit.from_numpy(a)
    a[0] = 5
    assert t[0].item() == 5.0
    t.add_(1)
    assert a.tolist() == [6.0, 1.0, 1.0]
    assert t.numpy() is a
    assert np.asarray(t).tolist() == a.tolist()
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    copy = minijit.tensor(a)
    a[1] = 9
    assert copy[1].item() == 1.0                 # tensor() copies
    with pytest.raises(TypeError, match="can't convert np.ndarray of type numpy.str_"):
        minijit.from_numpy(np.array(["a"]))


def test_numpy_item_tolist_and_conversions() -> None:
    x = minijit.tensor([[1.5, 2.0], [3.0, 4.0]])
    assert x.tolist() == [[1.5, 2.0], [3.0, 4.0]]
    assert minijit.tensor(2.5).item() == 2.5 and isinstance(minijit.tensor(3).item(), int)
    assert float(minijit.tensor([2.5])) == 2.5 and int(minijit.tensor(7)) == 7
    assert [10, 20, 30][minijit.tensor(1)] == 20
    with pytest.raises(RuntimeError) as info:
        minijit.ones(3, 4).item()
    assert str(info.value) == "a Tensor with 12 elements cannot be converted to Scalar"
    with pytest.raises(RuntimeError) as info:
        minijit.ones(2, requires_grad=True).numpy()
    assert str(info.value) == ("Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
    with pytest.raises(RuntimeError, match="Boolean value of Tensor with more than one value is "
                                           "ambiguous"):
        bool(minijit.ones(2))
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        len(minijit.tensor(1.0))


# ---- views, memory, version counters ------------------------------------------------------------
@pytest.mark.parametrize("make_view", [
    lambda t: t.view(12), lambda t: t.reshape(4, 3), lambda t: t.t(), lambda t: t[1],
    lambda t: t[:, 1:3], lambda t: t.transpose(0, 1), lambda t: t.unsqueeze(0),
    lambda t: t.narrow(1, 1, 2), lambda t: t.select(1, 0), lambda t: t.expand(2, 3, 4),
    lambda t: t.permute(1, 0), lambda t: t.flatten(), lambda t: t.split(1)[1],
    lambda t: t.unbind(1)[2], lambda t: t.detach(), lambda t: t[...],
], ids=["view", "reshape", "t", "int", "slice", "transpose", "unsqueeze", "narrow", "select",
        "expand", "permute", "flatten", "split", "unbind", "detach", "ellipsis"])
def test_views_share_memory_and_version(make_view: Callable) -> None:
    t = minijit.arange(12.0).reshape(3, 4)
    v = make_view(t)
    assert np.shares_memory(v._data, t._data)
    assert v._version is t._version
    before = t._version[0]
    t.mul_(2)
    assert v._version[0] == before + 1
    if v._data.flags.writeable:
        v.zero_()
        assert t._version[0] == before + 2


def test_writes_through_views_reach_the_base() -> None:
    t = minijit.zeros(3, 4)
    t[1] = 5.0
    t[:, 0] = minijit.tensor([1.0, 2.0, 3.0])
    t[t > 4] = -1.0
    t[minijit.tensor([2]), 3] = 7.0
    assert t.tolist() == [[1.0, 0, 0, 0], [2.0, -1, -1, -1], [3.0, 0, 0, 7]]
    row = t[0]
    row.add_(10)
    assert t[0].tolist() == [11.0, 10.0, 10.0, 10.0]
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
        minijit.ones(3).expand(2, 3).add_(1)


def test_shape_size_stride_and_contiguity() -> None:
    t = minijit.ones(2, 3, 4)
    assert repr(t.shape) == "torch.Size([2, 3, 4])" and str(t.shape) == "torch.Size([2, 3, 4])"
    assert t.shape == (2, 3, 4) and isinstance(t.shape, minijit.Size)
    assert t.size() == (2, 3, 4) and t.size(-1) == 4 and t.shape.numel() == 24
    assert t.stride() == (12, 4, 1) and t.stride(0) == 12
    tt = t.transpose(0, 2)
    assert tt.stride() == (1, 4, 12) and not tt.is_contiguous()
    c = tt.contiguous()
    assert c.is_contiguous() and c.stride() == (6, 2, 1)
    assert t.contiguous() is t
    assert minijit.ones(3, 1).expand(3, 4).stride() == (1, 0)
    assert t.dim() == t.ndim == 3 and t.numel() == 24 and t.element_size() == 4
    with pytest.raises(IndexError) as info:
        t.size(3)
    assert str(info.value) == ("Dimension out of range (expected to be in range of [-3, 2], but "
                               "got 3)")


def test_to_and_dtype_conversions() -> None:
    x = minijit.tensor([1.7, -1.7])
    assert x.to(minijit.float32) is x and x.float() is x
    assert x.to(minijit.float32, copy=True) is not x
    assert x.to(minijit.float64).dtype is minijit.float64 and x.double().dtype is minijit.float64
    assert x.long().tolist() == [1, -1] and x.int().dtype is minijit.int32
    assert x.bool().tolist() == [True, True] and x.half().dtype is minijit.float16
    assert x.to(dtype=minijit.int64).dtype is minijit.int64
    assert x.to(minijit.ones(1, dtype=minijit.float64)).dtype is minijit.float64
    assert x.to("cpu") is x and str(x.device) == "cpu"
    assert x.type() == "torch.FloatTensor"
    assert x.type(minijit.float64).dtype is minijit.float64
    assert x.type("torch.LongTensor").dtype is minijit.int64
    assert repr(minijit.float32) == "torch.float32"


# ---- error texts --------------------------------------------------------------------------------
ERRORS = {
    "broadcast": (lambda T: T.ones(2, 3) + T.ones(2, 4), RuntimeError,
                  "The size of tensor a (3) must match the size of tensor b (4) at non-singleton "
                  "dimension 1"),
    "broadcast leading": (lambda T: T.ones(3, 3) * T.ones(3, 4), RuntimeError,
                          "The size of tensor a (3) must match the size of tensor b (4) at "
                          "non-singleton dimension 1"),
    "item": (lambda T: T.ones(3, 4).item(), RuntimeError,
             "a Tensor with 12 elements cannot be converted to Scalar"),
    "matmul": (lambda T: T.ones(3, 4) @ T.ones(5, 6), RuntimeError,
               "mat1 and mat2 shapes cannot be multiplied (3x4 and 5x6)"),
    "linear": (lambda T: T.nn.functional.linear(T.ones(3, 4), T.ones(5, 3))
               if hasattr(T, "nn") and hasattr(T.nn, "functional") else T.linear(T.ones(3, 4),
                                                                                  T.ones(5, 3)),
               RuntimeError, "mat1 and mat2 shapes cannot be multiplied (3x4 and 3x5)"),
    "view stride": (lambda T: T.ones(2, 3).t().view(6), RuntimeError,
                    "view size is not compatible with input tensor's size and stride (at least one "
                    "dimension spans across two contiguous subspaces). Use .reshape(...) "
                    "instead."),
    "view size": (lambda T: T.ones(2, 3).view(4), RuntimeError,
                  "shape '[4]' is invalid for input of size 6"),
    "view two -1": (lambda T: T.ones(2, 3).view(-1, -1), RuntimeError,
                    "only one dimension can be inferred"),
    "sum dim": (lambda T: T.ones(2, 3).sum(2), IndexError,
                "Dimension out of range (expected to be in range of [-2, 1], but got 2)"),
    "transpose dim": (lambda T: T.ones(2, 3).transpose(0, 5), IndexError,
                      "Dimension out of range (expected to be in range of [-2, 1], but got 5)"),
    "unsqueeze dim": (lambda T: T.ones(2, 3).unsqueeze(4), IndexError,
                      "Dimension out of range (expected to be in range of [-3, 2], but got 4)"),
    "cat dim": (lambda T: T.cat([T.ones(2), T.ones(2)], 1), IndexError,
                "Dimension out of range (expected to be in range of [-1, 0], but got 1)"),
    "index oob": (lambda T: T.ones(3)[5], IndexError,
                  "index 5 is out of bounds for dimension 0 with size 3"),
    "too many indices": (lambda T: T.ones(3)[1, 2], IndexError,
                         "too many indices for tensor of dimension 1"),
    "expand": (lambda T: T.ones(3).expand(2, 4), RuntimeError,
               "The expanded size of the tensor (4) must match the existing size (3) at "
               "non-singleton dimension 1.  Target sizes: [2, 4].  Tensor sizes: [3]"),
    "int requires grad": (lambda T: T.ones(2, dtype=T.int64).requires_grad_(), RuntimeError,
                          "only Tensors of floating point dtype can require gradients"),
    "mean int": (lambda T: T.tensor([1, 2]).mean(), RuntimeError,
                 "mean(): could not infer output dtype. Input dtype must be either a floating "
                 "point or complex dtype. Got: Long"),
    "cat sizes": (lambda T: T.cat([T.ones(2, 3), T.ones(2, 4)]), RuntimeError,
                  "Sizes of tensors must match except in dimension 0. Expected size 3 but got "
                  "size 4 for tensor number 1 in the list."),
    "setitem shape": (lambda T: T.ones(3, 4).__setitem__(0, T.ones(3)), RuntimeError,
                      "The expanded size of the tensor (4) must match the existing size (3) at "
                      "non-singleton dimension 0.  Target sizes: [4].  Tensor sizes: [3]"),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_error_texts(name: str) -> None:
    fn, error, message = ERRORS[name]
    with pytest.raises(error) as info:
        fn(minijit)
    assert str(info.value) == message


@pytest.mark.conformance
@pytest.mark.parametrize("name", list(ERRORS))
def test_error_texts_like_torch(name: str) -> None:
    torch = _torch()
    fn, error, _ = ERRORS[name]
    with pytest.raises(Exception) as theirs:
        fn(torch)
    with pytest.raises(Exception) as ours:
        fn(minijit)
    assert (type(ours.value).__name__, str(ours.value)) == \
        (type(theirs.value).__name__, str(theirs.value))


# ---- conformance tables -------------------------------------------------------------------------
BEHAVIOUR = {
    "tensor ints": lambda T: T.tensor([1, 2]),
    "tensor np scalars": lambda T: T.tensor([np.float32(1), 2]),
    "tensor bool+float16": lambda T: T.tensor([True, np.float16(1)]),
    "tensor nested tuple": lambda T: T.tensor(((1, 2), (3, 4))),
    "tensor dtype": lambda T: T.tensor([1, 2], dtype=T.float64),
    "tensor big int": lambda T: T.tensor([2 ** 40]),
    "tensor not a sequence": lambda T: T.tensor([[1, 2], 3]),
    "tensor str": lambda T: T.tensor("abc"),
    "tensor dict": lambda T: T.tensor({1: 2}),
    "zeros empty": lambda T: T.zeros(()),
    "full bool": lambda T: T.full((2,), True),
    "arange float": lambda T: T.arange(0, 1, 0.25),
    "eye": lambda T: T.eye(3, 2),
    "as_tensor": lambda T: T.as_tensor([1, 2]),
    "from_numpy f16": lambda T: T.from_numpy(np.ones(2, np.float16)),
    "tolist 0d": lambda T: T.tensor(2.0).tolist(),
    "bool empty": lambda T: bool(T.ones(0)),
    "int of many": lambda T: int(T.ones(2)),
    "index with float tensor": lambda T: [1, 2, 3][T.tensor(1.0)],
    "stride dim": lambda T: T.ones(2, 3).stride(0),
    "contiguous slice": lambda T: T.ones(4, 4)[:, 1:3].is_contiguous(),
    "contiguous one element step": lambda T: T.ones(1, 4)[:, ::2].is_contiguous(),
    "reshape err": lambda T: T.ones(2, 3).reshape(5),
    "softmax dim err": lambda T: T.ones(2, 3).softmax(3),
    "mm err": lambda T: T.mm(T.ones(3, 4), T.ones(5, 6)),
    "long": lambda T: T.tensor([1.7, -1.7]).long(),
    "new_full": lambda T: T.ones(2, dtype=T.int64).new_full((2,), 3.5),
    "new_tensor": lambda T: T.ones(2, dtype=T.float64).new_tensor([1, 2]),
    "new_ones": lambda T: T.ones(2).new_ones((2, 3)),
    "contains": lambda T: 2 in T.tensor([1, 2]),
    "format": lambda T: f"{T.tensor(2.5):.2f}",
    "iterate": lambda T: [tuple(t.shape) for t in T.ones(2, 3)],
    "len": lambda T: len(T.ones(4, 2)),
    "neg 0-dim": lambda T: -T.tensor(2),
    "pos": lambda T: +T.tensor([1, 2]),
    "abs builtin": lambda T: abs(T.tensor([-1.5])),
    "1 / int tensor": lambda T: 1 / T.tensor([2, 4]),
    "2 ** int tensor": lambda T: 2 ** T.tensor([1, 2]),
    "int // 2": lambda T: T.tensor([7, -7]) // 2,
    "7 // int tensor": lambda T: 7 // T.tensor([2, -2]),
    "7 % int tensor": lambda T: 7 % T.tensor([3, -3]),
    "ndarray + tensor": lambda T: np.ones(2) + T.ones(2),
    "iadd": lambda T: (lambda t: (t.__iadd__(1), t)[1])(T.ones(2)),
    "norm": lambda T: T.tensor([3.0, 4.0]).norm(),
    "norm p1 dim": lambda T: T.tensor([[3.0, -4.0]]).norm(1, dim=1),
    "split sizes": lambda T: [tuple(t.shape) for t in T.ones(5, 2).split([2, 3])],
    "chunk": lambda T: [tuple(t.shape) for t in T.chunk(T.ones(5), 2)],
    "where method": lambda T: T.tensor([1.0, -1.0]).where(T.tensor([True, False]), 0.0),
    "type_as": lambda T: T.ones(2).type_as(T.ones(1, dtype=T.int64)),
    "dot": lambda T: T.dot(T.ones(3), T.ones(3)),
    "dot err": lambda T: T.dot(T.ones(3, 1), T.ones(3)),
    "repr": lambda T: repr(T.ones(2, requires_grad=True) * 2),
    "repr int": lambda T: repr(T.tensor([1, 2])),
    "set_default_dtype": lambda T: (T.set_default_dtype(T.float64),
                                    str(T.tensor([1.5]).dtype), str(T.zeros(1).dtype),
                                    T.set_default_dtype(T.float32))[1:3],
}


def _summary(lib: Any, value: Any) -> Any:
    if isinstance(value, (lib.Tensor,)):
        return ("tensor", str(value.dtype), tuple(value.shape),
                np.asarray(value.detach().numpy()).tolist())
    if isinstance(value, (lib.dtype, lib.device)):
        return str(value)
    if isinstance(value, lib.Size):
        return tuple(value)
    if isinstance(value, np.ndarray):
        return ("ndarray", str(value.dtype), value.tolist())
    return value


def _outcome(lib: Any, fn: Callable) -> Any:
    try:
        return _summary(lib, fn(lib))
    except Exception as exc:  # noqa: BLE001
        return (type(exc).__name__, str(exc))


@pytest.mark.conformance
@pytest.mark.parametrize("name", list(BEHAVIOUR))
def test_behaviour_like_torch(name: str) -> None:
    torch = _torch()
    fn = BEHAVIOUR[name]
    assert _outcome(minijit, fn) == _outcome(torch, fn)


_BASE = np.arange(60, dtype=np.float32).reshape(3, 4, 5) / 10


def _i(T: Any, v: Any) -> Any:
    return T.tensor(v)


GETITEM = {
    "int": lambda T, x: x[1], "negative int": lambda T, x: x[-1], "two ints": lambda T, x: x[1, 2],
    "three ints": lambda T, x: x[1, 2, 3], "slice": lambda T, x: x[1:],
    "full slice": lambda T, x: x[:],
    "step": lambda T, x: x[::2], "negative bounds": lambda T, x: x[-2:-1],
    "empty slice": lambda T, x: x[2:1], "stop past end": lambda T, x: x[1:100],
    "slice in tuple": lambda T, x: x[:, 1:3], "slice and int": lambda T, x: x[:, 1],
    "None": lambda T, x: x[None], "None inside": lambda T, x: x[:, None, 1],
    "Ellipsis": lambda T, x: x[..., 1], "Ellipsis inside": lambda T, x: x[0, ..., 2],
    "Ellipsis alone": lambda T, x: x[...], "full slices": lambda T, x: x[:, :],
    "bool mask": lambda T, x: x[x > 3], "bool mask 1-d": lambda T, x: x[_i(T, [True, False, True])],
    "bool mask 2-d": lambda T, x: x[(x > 3).all(2)],
    "int tensor": lambda T, x: x[_i(T, [0, 2])],
    "negative int tensor": lambda T, x: x[_i(T, [-1, 0])],
    "2-d int tensor": lambda T, x: x[_i(T, [[0, 1], [2, 2]])], "list": lambda T, x: x[[0, 2]],
    "two int tensors": lambda T, x: x[_i(T, [0, 1]), _i(T, [2, 3])],
    "tensors around a slice": lambda T, x: x[_i(T, [0, 1]), :, _i(T, [2, 3])],
    "slice then tensor": lambda T, x: x[:, _i(T, [0, 3])],
    "int and tensor": lambda T, x: x[1, _i(T, [0, 3])],
    "0-dim int tensor": lambda T, x: x[_i(T, 1)],
    "True": lambda T, x: x[True], "False": lambda T, x: x[False],
    "None Ellipsis None": lambda T, x: x[None, ..., None],
    "too many": lambda T, x: x[1, 2, 3, 4], "out of range": lambda T, x: x[5],
    "float": lambda T, x: x[1.5], "zero step": lambda T, x: x[::0],
    "negative step": lambda T, x: x[::-1], "int tensor out of range": lambda T, x: x[_i(T, [7])],
}


def _getitem_outcome(T: Any, fn: Callable) -> Any:
    x = T.tensor(_BASE.copy(), requires_grad=True)
    try:
        y = fn(T, x)
    except Exception as exc:  # noqa: BLE001
        return (type(exc).__name__, str(exc))
    w = np.random.default_rng(0).standard_normal(tuple(y.shape)).astype(np.float32)
    name = type(y.grad_fn).__name__ if y.grad_fn is not None else None
    (y * T.tensor(w)).sum().backward()
    return (str(y.dtype), tuple(y.shape), np.asarray(y.detach().numpy()).round(5).tolist(), name,
            np.asarray(x.grad.numpy()).round(5).tolist())


@pytest.mark.conformance
@pytest.mark.parametrize("name", list(GETITEM))
def test_getitem_like_torch(name: str) -> None:
    torch = _torch()
    assert _getitem_outcome(minijit, GETITEM[name]) == _getitem_outcome(torch, GETITEM[name])


SETITEM = {
    "int = number": lambda T, y, v: y.__setitem__(1, 5.0),
    "two ints = 0-dim tensor": lambda T, y, v: y.__setitem__((1, 2), v[0, 0]),
    "slice = broadcast row": lambda T, y, v: y.__setitem__((slice(None), 1), v[0]),
    "slice = tensor": lambda T, y, v: y.__setitem__(slice(1, 3), v[:2].unsqueeze(1)),
    "mask = number": lambda T, y, v: y.__setitem__(y > 3, 0.0),
    "int tensor = tensor": lambda T, y, v: y.__setitem__(_i(T, [0, 2]), v[:2].unsqueeze(1)),
    "slice, int tensor = number": lambda T, y, v: y.__setitem__((slice(None), _i(T, [0, 3])), 1.5),
    "int, int tensor = tensor": lambda T, y, v: y.__setitem__((1, _i(T, [0, 3])), v[:2]),
    "Ellipsis = number": lambda T, y, v: y.__setitem__((Ellipsis, 0), 2.0),
    "None = number": lambda T, y, v: y.__setitem__(None, 1.0),
    "float64 value": lambda T, y, v: y.__setitem__(0, v.double()),
    "int value": lambda T, y, v: y.__setitem__(0, 3),
    "shape mismatch": lambda T, y, v: y.__setitem__(0, T.ones(3)),
    "True = number": lambda T, y, v: y.__setitem__(True, 0.5),
}


def _setitem_outcome(T: Any, fn: Callable) -> Any:
    x = T.tensor(_BASE.copy(), requires_grad=True)
    v = T.tensor(np.linspace(-1, 1, 20, dtype=np.float32).reshape(4, 5), requires_grad=True)
    y = x * 2
    try:
        fn(T, y, v)
    except Exception as exc:  # noqa: BLE001
        return (type(exc).__name__, str(exc))
    w = np.random.default_rng(0).standard_normal(tuple(y.shape)).astype(np.float32)
    name = type(y.grad_fn).__name__ if y.grad_fn is not None else None
    version = y._version if isinstance(y._version, int) else y._version[0]
    (y * T.tensor(w)).sum().backward()
    return (version, tuple(y.shape), np.asarray(y.detach().numpy()).round(5).tolist(), name,
            np.asarray(x.grad.numpy()).round(5).tolist(),
            None if v.grad is None else np.asarray(v.grad.numpy()).round(5).tolist())


@pytest.mark.conformance
@pytest.mark.parametrize("name", list(SETITEM))
def test_setitem_like_torch(name: str) -> None:
    torch = _torch()
    assert _setitem_outcome(minijit, SETITEM[name]) == _setitem_outcome(torch, SETITEM[name])


@pytest.mark.conformance
def test_views_share_version_like_torch() -> None:
    torch = _torch()
    versions = []
    for T in (torch, minijit):
        t = T.zeros(3, 4)
        v = t[1]
        w = t.view(12)
        v.add_(1)
        w.mul_(2)
        t[0, 0] = 3.0
        versions.append([x._version if isinstance(x._version, int) else x._version[0]
                         for x in (t, v, w)])
    assert versions[0] == versions[1]
