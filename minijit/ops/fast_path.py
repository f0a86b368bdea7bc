"""The fast entry: per pointwise op, a shortcut for the overwhelmingly common eager call.

``x + y`` on two float32 NumPy tensors, or ``x.tanh()``, should cost little more than the NumPy
ufunc it runs.  :func:`fast_entry` builds, once per op, a closure that checks the few conditions
under which the full path of Note [Dispatch] (``dispatch.apply``) would do nothing but call the
kernel and wrap the result, and then does just that, recording the autograd node with a
specialised recorder.  Every other call, and every error, goes through ``dispatch.apply``, so
the shortcut can never disagree with it.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

from .. import dtypes as _dt
from ..autograd.grad_mode import GRAD_MODE
from ..autograd.graph import BackwardContext, node_class, saved_output
from . import dispatch as _dispatch
from .dispatch import _ndarray, _new, TRACE_STATE, apply, call
from .tape import ONE_OUTPUT, needed
from .registry import OpInfo

__all__ = ["fast_entry"]

_UNSUPPORTED = object()
_ABSENT = object()      # an argument not given (``minijit.add(input=x, other=y)``)


def _given(*values: Any) -> Tuple[Any, ...]:
    return tuple(v for v in values if v is not _ABSENT)


def _fast_recorder(op: OpInfo) -> Optional[Callable]:
    """``record(bound, out)``: :func:`attach_grad_fn` for the fast entry's calls, whose
    tensor arguments are the first one or two bound values, plain tensors or numbers, none
    non-differentiable (the common pointwise case, specialised for speed)."""
    if op.nondiff_args or not op.uniform_overloads:
        return None
    Tensor = _dispatch.Tensor    # noqa: N806 - set by minijit._tensor before any op is built
    names = op.schema._index
    saved_indices = op.saved_indices_for_len[len(op.schema.arguments)]
    result_condition = op.saved_conditions_for_len[len(op.schema.arguments)]
    saves_result = op.saves_result
    arity = len(op.tensor_arg_indices)
    fixed_cls = node_class(op.grad_fn_name) if isinstance(op.grad_fn_name, str) else None
    name_of = op.grad_fn_name
    none_edge = (None, 0)

    def edge_of(v: Any) -> Tuple[Any, Any, bool]:
        """(edge, meta, needs grad) for one argument (a tensor, or a number)."""
        if isinstance(v, Tensor) and v.requires_grad:
            fn = v._grad_fn if v._base is None else v.grad_fn
            if fn is not None:
                edge = (fn, v._output_nr)
            else:
                acc = v._accumulator
                edge = (acc if acc is not None else v._get_accumulator(), 0)
            data = v._data
            return edge, (data.shape, data.dtype), True
        return none_edge, None, False

    def finish(bound: List[Any], out: Any, ctx: Any, edges: tuple, metas: tuple) -> None:
        if saved_indices or saves_result:
            needs = ctx.needs_input_grad
            saved = []
            for i, condition in saved_indices:
                if condition is not None and not needed(needs, condition):
                    continue
                v = bound[i]
                if isinstance(v, Tensor):
                    saved.append((v, v._version[0], False, v._output_nr))
            if saves_result and (result_condition is None
                                 or needed(needs, result_condition)):
                out._vc = [0]               # a fresh tensor: its version counter starts now
                kept = ctx.result = saved_output(out)
                saved.append((kept, 0, True, 0))
            ctx.saved_versions = tuple(saved)
        cls = fixed_cls if fixed_cls is not None else node_class(name_of(bound))
        out.requires_grad = True
        out._grad_fn = cls(op, ctx, edges, metas, ONE_OUTPUT)

    if arity == 1 and fixed_cls is not None:
        # The hottest case (``x.tanh()`` on a tensor that requires grad): ``edge_of`` and
        # ``finish`` written out, with the saved-value choices made once, here.  The input
        # needs a gradient whenever this runs, so every save condition is known now.
        save_self = any(i == 0 and (c is None or needed((True,), c)) for i, c in saved_indices)
        save_result = saves_result and (result_condition is None
                                        or needed((True,), result_condition))
        needs_one = (True,)

        def record(bound: List[Any], out: Any) -> None:
            v = bound[0]
            fn = v._grad_fn if v._base is None else v.grad_fn
            if fn is not None:
                edge = (fn, v._output_nr)
            else:
                acc = v._accumulator
                edge = (acc if acc is not None else v._get_accumulator(), 0)
            data = v._data
            if save_result:
                # What ``saved_output`` makes, written out: the output's array and (fresh)
                # version counter, without its history.
                kept = _new(Tensor)
                kept._data = out._data
                kept._vc = out._vc = [0]
                ctx = BackwardContext(names, bound, kept, needs_one)
                if save_self:
                    ctx.saved_versions = ((v, v._version[0], False, v._output_nr),
                                          (kept, 0, True, 0))
                else:
                    ctx.saved_versions = ((kept, 0, True, 0),)
            else:
                ctx = BackwardContext(names, bound, None, needs_one)
                if save_self:
                    ctx.saved_versions = ((v, v._version[0], False, v._output_nr),)
            node = _new(fixed_cls)      # as in the binary case below: the fields set here
            node.op = op
            node.ctx = ctx
            node.next_functions = (edge,)
            node.input_meta = ((data.shape, data.dtype),)
            node.output_meta = ONE_OUTPUT
            out.requires_grad = True
            out._grad_fn = node
    elif arity == 1:
        def record(bound: List[Any], out: Any) -> None:
            e, m, n = edge_of(bound[0])
            finish(bound, out, BackwardContext(names, bound, None, (n,)), (e,), (m,))
    elif fixed_cls is not None and not saved_indices and not saves_result:
        # ``x + y`` with gradients: nothing to save, ``edge_of`` written out for each side.
        def record(bound: List[Any], out: Any) -> None:
            v, w = bound[0], bound[1]
            if isinstance(v, Tensor) and v.requires_grad:
                fn = v._grad_fn if v._base is None else v.grad_fn
                if fn is not None:
                    e0 = (fn, v._output_nr)
                else:
                    acc = v._accumulator
                    e0 = (acc if acc is not None else v._get_accumulator(), 0)
                data = v._data
                m0, n0 = (data.shape, data.dtype), True
            else:
                e0, m0, n0 = none_edge, None, False
            if isinstance(w, Tensor) and w.requires_grad:
                fn = w._grad_fn if w._base is None else w.grad_fn
                if fn is not None:
                    e1 = (fn, w._output_nr)
                else:
                    acc = w._accumulator
                    e1 = (acc if acc is not None else w._get_accumulator(), 0)
                data = w._data
                m1, n1 = (data.shape, data.dtype), True
            else:
                e1, m1, n1 = none_edge, None, False
            # ``fixed_cls(op, ctx, edges, metas, ONE_OUTPUT)``, its fields set here (0.1 µs less)
            node = _new(fixed_cls)
            node.op = op
            node.ctx = BackwardContext(names, bound, None, (n0, n1))
            node.next_functions = (e0, e1)
            node.input_meta = (m0, m1)
            node.output_meta = ONE_OUTPUT
            out.requires_grad = True
            out._grad_fn = node
    else:
        def record(bound: List[Any], out: Any) -> None:
            e0, m0, n0 = edge_of(bound[0])
            e1, m1, n1 = edge_of(bound[1])
            finish(bound, out, BackwardContext(names, bound, None, (n0, n1)), (e0, e1), (m0, m1))
    return record


_SPECIALS = (0.0, -0.0, 1.0, -1.0, 0.5, 2.0, float("inf"), float("-inf"), float("nan"), 3e38,
             -3e38, 1e308, -1e308, 1e-45, 5e-324)


def _may_warn(kernel: Callable, arity: int, casts: Dict[Any, Any]) -> bool:
    """Whether ``kernel`` can raise a NumPy floating-point warning for some input of the
    dtypes the fast entry serves: tried on every pair of special values (infinities, NaN,
    zeros of both signs, the largest and smallest numbers), tensors and Python numbers."""
    try:
        # (Underflow is silent by NumPy's default, so only what would warn counts.)
        with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
            for dtype in casts:
                with np.errstate(over="ignore"):     # building 3e38 as float16 overflows
                    values = np.array(_SPECIALS).astype(dtype)
                if arity == 1:
                    kernel(values)
                else:
                    kernel(values[:, None], values[None, :])
                    for number in _SPECIALS:
                        kernel(values, number)
    except FloatingPointError:
        return True
    except Exception:  # noqa: BLE001 - the probe itself failed: be quiet to be safe
        return True
    return False


def fast_entry(op: OpInfo) -> Optional[Tuple[Callable, Callable]]:
    """Shortcuts ``(operator, method)`` for a pointwise op (Note [Dispatch]), or None.

    They serve calls on NumPy arrays of one floating dtype (or a floating tensor and a Python
    float/int) when no tracer is active and no gradient is needed; the result is exactly what
    :func:`apply` would return.  Anything else, including every error, goes through
    :func:`apply`.  ``operator(self, other)`` is for dunders (it returns ``NotImplemented`` for
    operands it does not know); ``method(self, *args, **kwargs)`` for ``x.add(y)`` and
    ``minijit.add(x, y)``.

    An impl may name the NumPy ufunc it reduces to when its non-tensor arguments have their
    defaults (``impl.ufunc = "add"``); the shortcut then calls the ufunc directly.
    """
    if not op.is_pointwise or op.is_inplace or not op.uniform_overloads or \
            _dispatch.ERRSTATE_VAR is None:
        return None
    Tensor = _dispatch.Tensor    # noqa: N806 - set by minijit._tensor before any op is built
    tensor_args = op.tensor_arg_indices
    arity = len(tensor_args)
    if tensor_args != tuple(range(arity)) or arity not in (1, 2):
        return None
    tail = op.fast_bind.get(arity)
    if tail is None:
        return None
    impl = op.impl
    ufunc = getattr(np, getattr(impl, "ufunc", ""), None)
    if ufunc is not None:
        kernel = ufunc
    elif arity == 1:
        def kernel(a: Any) -> Any:
            return impl(np, a, *tail)
    else:
        def kernel(a: Any, b: Any) -> Any:
            return impl(np, a, b, *tail)
    # Per floating NumPy dtype the op computes in: the dtype to cast the kernel's result to,
    # or None when it already has PyTorch's result dtype (found by running the kernel once).
    casts: Dict[Any, Any] = {}
    for d in (_dt.float32, _dt.float64, _dt.float16):
        try:
            compute, result = op.dtype_rule(d, None) if op.dtype_rule is not None else (d, d)
            if compute is not d:
                continue
            probe = np.ones(1, d.np)
            with np.errstate(all="ignore"):
                got = (kernel(probe) if arity == 1 else kernel(probe, probe)).dtype
        except Exception:  # noqa: BLE001 - the op refuses this dtype: apply says so
            continue
        casts[d.np] = None if got == result.np else result.np
    grad_mode = GRAD_MODE
    trace = TRACE_STATE
    quiet_var, quiet = _dispatch.ERRSTATE_VAR, _dispatch.QUIET
    # NumPy warns where PyTorch is silent (``inf - inf``); silencing costs ~0.1 µs a call,
    # so it is paid only by ops whose kernel can warn at all (``add`` can, ``tanh`` cannot).
    warns = _may_warn(kernel, arity, casts)
    slow = apply
    missing = _UNSUPPORTED
    record = _fast_recorder(op) if op.differentiable else None

    if arity == 1:
        def unary(self: Any = _ABSENT, /, *args: Any, **kwargs: Any) -> Any:
            if args or kwargs:
                return call(op, _given(self) + args, kwargs)
            try:
                a = self._data
            except AttributeError:           # ``minijit.tanh(3.0)``: apply says what is wrong
                return call(op, _given(self), {})
            if type(a) is _ndarray and trace.tracer is None:
                cast = casts.get(a.dtype, missing)
                grad = self.requires_grad and grad_mode.enabled
                if cast is not missing and (not grad or record is not None):
                    if warns:
                        token = quiet_var.set(quiet)       # inf and nan without a warning
                    try:
                        r = kernel(a)
                    except Exception:  # noqa: BLE001 - apply raises PyTorch's error
                        if warns:
                            quiet_var.reset(token)
                        return slow(op, [self, *tail])
                    if warns:
                        quiet_var.reset(token)
                    if type(r) is not _ndarray:
                        r = np.asarray(r)
                    if cast is not None:
                        r = r.astype(cast)
                    t = _new(Tensor)
                    t._data = r
                    if grad:
                        record([self, *tail], t)
                    return t
            return slow(op, [self, *tail])
        unary.__name__ = op.python_name
        return unary, unary

    def operator(self: Any, other: Any) -> Any:
        a = self._data
        if type(a) is _ndarray and trace.tracer is None:
            cast = casts.get(a.dtype, missing)
            if cast is not missing:
                to = type(other)
                if to is Tensor:
                    b = other._data
                    ok = type(b) is _ndarray and b.dtype == a.dtype
                    grad = grad_mode.enabled and (self.requires_grad or other.requires_grad)
                elif to is float or to is int:
                    b = other
                    ok = True
                    grad = grad_mode.enabled and self.requires_grad
                else:
                    ok = grad = False
                if ok and (not grad or record is not None):
                    if warns:
                        token = quiet_var.set(quiet)
                    try:
                        r = kernel(a, b)
                    except Exception:  # noqa: BLE001 - apply raises PyTorch's error
                        if warns:
                            quiet_var.reset(token)
                        return slow(op, [self, other, *tail])
                    if warns:
                        quiet_var.reset(token)
                    if type(r) is not _ndarray:
                        r = np.asarray(r)
                    if cast is not None:
                        r = r.astype(cast)
                    t = _new(Tensor)
                    t._data = r
                    if grad:
                        record([self, other, *tail], t)
                    return t
        if not isinstance(other, (Tensor, int, float, bool)):
            return NotImplemented
        return slow(op, [self, other, *tail])

    def method(self: Any = _ABSENT, other: Any = _ABSENT, /, *args: Any,
               **kwargs: Any) -> Any:
        if (not args and not kwargs and isinstance(self, Tensor)
                and isinstance(other, (Tensor, int, float, bool))):
            return operator(self, other)
        return call(op, _given(self, other) + args, kwargs)

    operator.__name__ = method.__name__ = op.python_name
    return operator, method
