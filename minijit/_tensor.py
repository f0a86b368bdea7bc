"""The Tensor: an array of a backend plus the fields autograd needs.

A Tensor holds a NumPy (or CuPy) array in ``_data``.  Views share the array's memory, so
in-place writes through a view reach the base just as in PyTorch, and views share the base's
version counter (``_version``, a one-element list) so that autograd can notice a saved tensor
being overwritten.  Most methods and all operators are not written here: they are installed
from the op registry by :func:`install_methods`, so ``x.tanh()``, ``minijit.tanh(x)`` and the
tracer all reach the same ``OpInfo``.
"""
from __future__ import annotations

import sys
import warnings
import weakref
from typing import Any, Iterator, List, Optional, Sequence

import numpy as np

from . import dtypes as _dt
from .backends import CPU, device as _device, device_of_array
from .ops import dispatch as _dispatch
from .ops import tape as _tape

__all__ = ["Tensor", "Size"]

_new = object.__new__


class Size(tuple):
    """``torch.Size``: a tuple that prints as ``torch.Size([3, 4])``."""

    def __repr__(self) -> str:
        return f"torch.Size({list(self)})"

    __str__ = __repr__

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n


class Tensor:
    """A multi-dimensional array with autograd, on the CPU (NumPy) or a GPU (CuPy)."""

    # Only the array is a slot: a result tensor is made by setting ``_data`` alone (the
    # dispatcher's hot path).  The autograd fields below are class-level defaults that an
    # instance overrides in its ``__dict__`` when it first gets a value.
    __slots__ = ("_data", "_vc", "__weakref__", "__dict__")
    __array_priority__ = 1000   # make ``ndarray + Tensor`` call Tensor.__radd__

    requires_grad = False
    _grad: Optional["Tensor"] = None
    _grad_fn: Any = None
    _grad_fn_version: Optional[int] = None   # for views: the version their grad_fn belongs to
    _no_grad_view = False                    # a view made under no_grad keeps no history
    _output_nr = 0
    _base: Optional["Tensor"] = None    # the tensor whose memory a view shares (never a view)
    _accumulator: Any = None
    _hooks: Optional[list] = None
    _retains_grad = False

    def __init__(self, *args: Any, **kwargs: Any):
        raise TypeError("use minijit.tensor(data) or a factory (zeros, rand, ...) to make a Tensor")

    @classmethod
    def _from_array(cls, data: Any, requires_grad: bool = False) -> "Tensor":
        """Wrap an array without copying (the dispatcher's hot path)."""
        t = _new(cls)
        t._data = data
        if requires_grad:
            t.requires_grad = True
        return t

    @property
    def _version(self) -> List[int]:
        """The version counter: a one-element list shared by a tensor and its views.

        Made on first use, so tensors that nobody writes to or saves never pay for it.
        """
        try:
            return self._vc
        except AttributeError:
            counter = self._vc = [0]
            return counter

    @_version.setter
    def _version(self, counter: List[int]) -> None:
        self._vc = counter

    # ---- metadata -------------------------------------------------------------------------
    @property
    def dtype(self) -> _dt.dtype:
        return _dt.from_numpy_dtype(self._data.dtype)

    # While tracing, sizes read by user code (or by ``minijit.nn``, Python in PyTorch too) are
    # 0-dim tensors the trace computes (``aten::size``): see ``Tracer.traced_size``.
    @property
    def shape(self) -> Size:
        tracer = _dispatch.TRACE_STATE.tracer
        if tracer is not None and tracer.wants_traced_sizes(sys._getframe(1)):
            return Size(tracer.traced_size(self, d) for d in range(self._data.ndim))
        return Size(self._data.shape)

    def size(self, dim: Optional[int] = None) -> Any:
        tracer = _dispatch.TRACE_STATE.tracer
        if tracer is not None and tracer.wants_traced_sizes(sys._getframe(1)):
            if dim is None:
                return Size(tracer.traced_size(self, d) for d in range(self._data.ndim))
            return tracer.traced_size(self, _wrap_dim(dim, self._data.ndim))
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_wrap_dim(dim, self._data.ndim)]

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    def numel(self) -> int:
        return int(self._data.size)

    nelement = numel

    def stride(self, dim: Optional[int] = None) -> Any:
        item = self._data.itemsize
        strides = tuple(s // item for s in self._data.strides) if self._data.size else \
            _contiguous_strides(self._data.shape)
        return strides if dim is None else strides[_wrap_dim(dim, self._data.ndim)]

    def element_size(self) -> int:
        return self._data.itemsize

    def is_contiguous(self, memory_format: Any = None) -> bool:
        return bool(self._data.flags.c_contiguous) or self._data.size <= 1 or \
            self.stride() == _contiguous_strides(self._data.shape)

    @property
    def device(self) -> _device:
        if type(self._data) is np.ndarray:
            return CPU
        return device_of_array(self._data)

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    def is_floating_point(self) -> bool:
        return self.dtype.is_floating_point

    @property
    def data(self) -> "Tensor":
        """The values, as a tensor outside autograd: same memory, but (unlike ``detach()``)
        its own version counter, so writes through it are invisible to autograd."""
        return Tensor._from_array(self._data)

    @data.setter
    def data(self, value: "Tensor") -> None:
        self._data = value._data

    @property
    def T(self) -> "Tensor":  # noqa: N802
        return self.permute(*reversed(range(self.ndim)))

    @property
    def mT(self) -> "Tensor":  # noqa: N802
        return self.transpose(-2, -1)

    # ---- autograd -------------------------------------------------------------------------
    @property
    def grad_fn(self) -> Any:
        """The node that made this tensor (None for leaves).

        A view whose base was written in place since its ``grad_fn`` was set gets a fresh
        one, ``AsStridedBackward0`` reading its region of the base's new history, as in
        PyTorch (Note [View + inplace] in ``ops/dispatch.py``).
        """
        if self._base is not None and self._grad_fn_version != self._version[0]:
            return _tape.regenerate_view_grad_fn(self)
        return self._grad_fn

    @grad_fn.setter
    def grad_fn(self, fn: Any) -> None:
        self._grad_fn = fn
        if self._base is not None:
            self._grad_fn_version = self._version[0]

    @property
    def grad(self) -> Optional["Tensor"]:
        """The accumulated gradient of a leaf (PyTorch warns when read on a non-leaf)."""
        grad = self._grad
        if grad is None and self._grad_fn is not None and not self._retains_grad:
            warnings.warn(_NON_LEAF_GRAD_WARNING, UserWarning, stacklevel=2)
        return grad

    @grad.setter
    def grad(self, value: Optional["Tensor"]) -> None:
        self._grad = value

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if self.grad_fn is not None and not requires_grad:
            raise RuntimeError("you can only change requires_grad flags of leaf variables. If "
                               "you want to use a computed variable in a subgraph that doesn't "
                               "require differentiation use var_no_grad = var.detach().")
        if requires_grad and not self.dtype.is_floating_point:
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        self.requires_grad = requires_grad
        return self

    def _set_requires_grad_checked(self, value: bool) -> None:
        self.requires_grad_(value)

    def _get_accumulator(self):
        from .autograd.graph import AccumulateGrad
        acc = self._accumulator
        if acc is None:
            acc = self._accumulator = AccumulateGrad(self)
        return acc

    def _accumulate_grad(self, grad: "Tensor", create_graph: bool) -> None:
        """``AccumulateGrad``: run the tensor's hooks, then add ``grad`` into ``.grad``."""
        if self._hooks:
            for hook in list(self._hooks.values()):
                new = hook(grad)
                if new is not None:
                    grad = new
        if self._grad is None:
            if not create_graph:
                # A private copy: the incoming buffer may also be another leaf's gradient
                # (``a + b`` hands both the same tensor), and ``.grad`` is written in place.
                grad = Tensor._from_array(grad._data.copy())
            self._grad = grad
        elif create_graph:
            self._grad = self._grad + grad
        else:
            self._grad._data += grad._data
            self._grad._version[0] += 1

    def backward(self, gradient: Optional["Tensor"] = None, retain_graph: Optional[bool] = None,
                 create_graph: bool = False, inputs: Any = None) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``."""
        from .autograd import backward
        backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    def detach(self) -> "Tensor":
        t = Tensor._from_array(self._data)
        t._version = self._version
        if _dispatch.TRACE_STATE.tracer is not None:
            _dispatch.TRACE_STATE.tracer.record_alias(self, t, "aten::detach")
        return t

    def detach_(self) -> "Tensor":
        if self._base is not None:
            raise RuntimeError("Can't detach views in-place. Use detach() instead. If you are "
                               "using DistributedDataParallel (DDP) for training, and "
                               "gradient_as_bucket_view is set as True, gradients are views of "
                               "DDP buckets, and hence detach_() cannot be called on these "
                               "gradients. To fix this error, please refer to the "
                               "Optimizer.zero_grad() function in torch/optim/optimizer.py as "
                               "the solution.")
        self._grad_fn = None
        self.requires_grad = False
        return self

    def retain_grad(self) -> None:
        """Keep this non-leaf's gradient in ``.grad`` during backward (after its hooks ran)."""
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        fn = self.grad_fn
        if fn is None or self._retains_grad:
            return
        self._retains_grad = True
        ref = weakref.ref(self)

        def store(grad: "Tensor") -> None:
            t = ref()
            if t is None:
                return
            if t._grad is None:
                t._grad = Tensor._from_array(grad._data.copy())
            else:
                t._grad = t._grad + grad.detach()
        fn.register_retain_hook(self._output_nr, store)

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    def register_hook(self, hook: Any) -> "RemovableHandle":
        """Call ``hook(grad)`` when this tensor's gradient is computed; a non-None result
        replaces the gradient.  Returns a handle whose ``remove()`` unregisters it."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        fn = self.grad_fn
        if fn is None:
            if self._hooks is None:
                self._hooks = {}
            hooks = self._hooks
        else:
            hooks = fn.prehooks_for_output(self._output_nr)
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        return handle

    # ---- conversion -------------------------------------------------------------------------
    def _warn_trace(self, what: str) -> None:
        tracer = _dispatch.TRACE_STATE.tracer
        if tracer is not None:
            tracer.warn_conversion(self, what)

    def item(self) -> Any:
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted "
                               "to Scalar")
        self._warn_trace("number")
        return _host(self._data).reshape(()).item()

    def tolist(self) -> Any:
        self._warn_trace("list")
        return _host(self._data).tolist()

    def numpy(self, *, force: bool = False) -> np.ndarray:
        if self.requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
        if type(self._data) is not np.ndarray:
            if not force:
                raise TypeError("can't convert cuda:0 device type tensor to numpy. Use "
                                "Tensor.cpu() to copy the tensor to host memory first.")
            return self._data.get()
        self._warn_trace("NumPy array")
        return self._data

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        data = _host(self._data)
        return data if dtype is None else data.astype(dtype)

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError("Boolean value of Tensor with no values is ambiguous"
                               if self._data.size == 0 else
                               "Boolean value of Tensor with more than one value is ambiguous")
        self._warn_trace("boolean")
        return bool(_host(self._data).reshape(()).item())

    def __int__(self) -> int:
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        self._warn_trace("integer")
        return int(_host(self._data).reshape(()).item())

    def __float__(self) -> float:
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        self._warn_trace("float")
        return float(_host(self._data).reshape(()).item())

    def __index__(self) -> int:
        if self.dtype.is_floating_point or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(_host(self._data).reshape(()).item())

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        tracer = _dispatch.TRACE_STATE.tracer
        if tracer is not None:
            tracer.warn_len()
        return self._data.shape[0]

    def __iter__(self) -> Iterator["Tensor"]:
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __hash__(self) -> int:
        return id(self)

    def __contains__(self, element: Any) -> bool:
        return bool((self == element).any())

    def __repr__(self, *, tensor_contents: Any = None) -> str:
        from ._tensor_str import tensor_repr
        fn = self.grad_fn
        grad_fn = type(fn).__name__ if fn is not None else None
        return tensor_repr(self._data, self.dtype.name, device=str(self.device),
                           grad_fn_name=grad_fn,
                           requires_grad=self.requires_grad and grad_fn is None)

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0 and spec:
            return format(self.item(), spec)
        return repr(self)

    def __deepcopy__(self, memo: dict) -> "Tensor":
        if self.grad_fn is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) "
                               "support the deepcopy protocol at the moment.")
        t = type(self)._from_array(self._data.copy(), self.requires_grad) \
            if type(self) is Tensor else self._deepcopy_subclass(memo)
        if self.grad is not None:
            t.grad = self.grad.__deepcopy__(memo)
        memo[id(self)] = t
        return t

    def _deepcopy_subclass(self, memo: dict) -> "Tensor":
        t = type(self).__new__(type(self), Tensor._from_array(self._data.copy()),
                               self.requires_grad)
        return t

    def __reduce_ex__(self, proto: int) -> Any:
        return (_rebuild, (_host(self._data).copy(), self.requires_grad))

    # ---- device / dtype movement ------------------------------------------------------------
    def to(self, *args: Any, **kwargs: Any) -> "Tensor":
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other)``."""
        target_device, target_dtype = None, kwargs.get("dtype")
        if "device" in kwargs:
            target_device = _device(kwargs["device"])
        copy = kwargs.get("copy", False)
        flags = []                      # positional ``non_blocking, copy`` after the target
        for a in args:
            if isinstance(a, bool):
                flags.append(a)
            elif isinstance(a, _dt.dtype):
                target_dtype = a
            elif isinstance(a, (str, _device)):
                target_device = _device(a)
            elif isinstance(a, Tensor):
                target_device, target_dtype = a.device, a.dtype
        if len(flags) > 1:
            copy = flags[1]
        result = self
        if target_dtype is None and copy:
            target_dtype = self.dtype
        if target_dtype is not None and (target_dtype is not self.dtype or copy
                                         or _dispatch.TRACE_STATE.tracer is not None):
            # ``aten::to``: a trace records it even when the dtype is already right, as
            # PyTorch's does (the op then returns ``self``).
            result = _dispatch.call(_op("to"), (result, target_dtype, False, copy))
        if target_device is not None and target_device != self.device:
            result = _to_device_op(result, target_device)
        return result

    def cpu(self) -> "Tensor":
        return self.to("cpu")

    def cuda(self, device: Any = None) -> "Tensor":
        return self.to(_device("cuda", 0 if device is None else int(str(device).split(":")[-1])))

    def type(self, dtype: Any = None) -> Any:
        """``x.type()`` names the tensor type (``torch.FloatTensor``); ``x.type(t)`` converts
        to a dtype or a type name."""
        if dtype is None:
            return f"torch.{self.dtype.scalar_name}Tensor"
        if isinstance(dtype, str) and dtype.endswith("Tensor"):
            dtype = _dt.from_scalar_name(dtype.rsplit(".", 1)[-1][:-len("Tensor")])
        return self.to(_dt.to_dtype(dtype))

    def float(self) -> "Tensor":
        return self.to(_dt.float32)

    def double(self) -> "Tensor":
        return self.to(_dt.float64)

    def half(self) -> "Tensor":
        return self.to(_dt.float16)

    def long(self) -> "Tensor":
        return self.to(_dt.int64)

    def int(self) -> "Tensor":
        return self.to(_dt.int32)

    def bool(self) -> "Tensor":
        return self.to(_dt.bool_)

    def new_tensor(self, data: Any, dtype: Any = None, device: Any = None,
                   requires_grad: bool = False) -> "Tensor":
        from .ops.creation import tensor
        return tensor(data, dtype=dtype or self.dtype, device=device or self.device,
                      requires_grad=requires_grad)

    def new_zeros(self, *size: Any, dtype: Any = None, device: Any = None) -> "Tensor":
        from .ops.creation import zeros
        return zeros(*size, dtype=dtype or self.dtype, device=device or self.device)

    def new_ones(self, *size: Any, dtype: Any = None, device: Any = None) -> "Tensor":
        from .ops.creation import ones
        return ones(*size, dtype=dtype or self.dtype, device=device or self.device)

    def new_full(self, size: Any, fill_value: Any, dtype: Any = None,
                 device: Any = None) -> "Tensor":
        from .ops.creation import full
        return full(size, fill_value, dtype=dtype or self.dtype, device=device or self.device)

    def new_empty(self, *size: Any, dtype: Any = None, device: Any = None) -> "Tensor":
        return self.new_zeros(*size, dtype=dtype, device=device)


class RemovableHandle:
    """What ``register_hook`` returns: ``handle.remove()`` unregisters the hook."""

    _next_id = 0

    def __init__(self, hooks: dict):
        self._hooks = hooks
        self.id = RemovableHandle._next_id
        RemovableHandle._next_id += 1

    def remove(self) -> None:
        self._hooks.pop(self.id, None)

    def __enter__(self) -> "RemovableHandle":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()


_NON_LEAF_GRAD_WARNING = (
    "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
    "attribute won't be populated during autograd.backward(). If you indeed want the .grad "
    "field to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. If "
    "you access the non-leaf Tensor by mistake, make sure you access the leaf Tensor instead. "
    "See github.com/pytorch/pytorch/pull/30531 for more information.")


def _rebuild(data: np.ndarray, requires_grad: bool) -> Tensor:
    return Tensor._from_array(data, requires_grad)


def _host(data: Any) -> np.ndarray:
    return data if type(data) is np.ndarray else data.get()


def _contiguous_strides(shape: Sequence[int]) -> tuple:
    strides, acc = [], 1
    for s in reversed(shape):
        strides.append(acc)
        acc *= max(s, 1)
    return tuple(reversed(strides))


def _wrap_dim(dim: int, ndim: int) -> int:
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                         f"but got {dim})")
    return dim + n if dim < 0 else dim


def _op(name: str):
    from .ops.registry import get
    return get(name)


def _to_device_op(t: Tensor, target: _device) -> Tensor:
    return _dispatch.call(_op("_to_device"), (t, str(target)))


_dispatch.Tensor = Tensor
_tape.Tensor = Tensor
