"""THE op registry: one record per operator, read by every layer of minijit.

An :class:`OpInfo` is a vertical slice through the whole stack for one operator (JAX's
``lax.py`` style).  It holds

* the TorchScript schema (``aten::tanh(Tensor self) -> Tensor``) that binds arguments, makes IR
  inputs and drives the ``.code`` printer,
* tags (:class:`Tag`) that classify the op instead of name lists,
* ``impl(xp, *args)``: the array kernel, written against the array module ``xp`` (NumPy or
  CuPy), so the same function serves both backends,
* the result-dtype rule,
* ``backward(ctx, grad)``: the derivative, written in minijit ops so it runs eagerly, under the
  tracer and in graph autodiff,
* for pointwise ops, NumPy and CUDA C expression templates read by the two kernel generators.

Consumers loop over :func:`all_ops`; nobody outside ``minijit/ops`` lists op names.
"""
from __future__ import annotations

import enum
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from .schema import Schema, parse_schema

__all__ = ["Tag", "OpInfo", "register", "get", "all_ops", "lookup_schema", "schemas_for_kind",
           "ops_for_kind", "scalar_ops"]


class Tag(enum.Enum):
    """What kind of op this is; layers branch on tags, never on names."""

    POINTWISE = "pointwise"      # elementwise with broadcasting: fusible
    # Defined by a decomposition into other ops: ``impl(*bound)`` takes Tensors, not arrays;
    # autograd comes from the parts, while tracer and scripter see one node (``aten::dropout``),
    # as PyTorch's CompositeImplicitAutograd ops.
    COMPOSITE = "composite"
    # With COMPOSITE: the tracer records the parts, never the op itself.  PyTorch's tracer
    # skips a few ops (``DONT_RECORD_TRACE`` in ``tools/autograd/gen_trace_type.py``:
    # ``aten::gru_cell``, ``aten::lstm_cell`` ...), so their traces show ATen's C++
    # decomposition (``ops/rnn_cells.py``), while the scripter still binds one node.
    TRACE_PARTS = "trace_parts"
    REDUCTION = "reduction"      # reduces dimensions
    VIEW = "view"                # result shares memory with ``self``
    INPLACE = "inplace"          # writes into ``self`` (``add_``)
    NONDIFF = "nondiff"          # has no derivative (comparisons, argmax, creation)
    CREATION = "creation"        # makes a tensor from sizes/data, no tensor inputs
    RANDOM = "random"            # consumes the generator: never constant-folded
    COMPARISON = "comparison"    # pointwise returning bool
    LINALG = "linalg"
    SHAPE = "shape"              # shape/layout changes and indexing
    SCALAR = "scalar"            # works on Python numbers (``aten::size``, ``aten::Int``)
    UNINITIALIZED = "uninitialized"  # result values are unspecified (``empty``): tests skip them
    # Pointwise, never raises on floats, and its derivative is finite wherever its inputs
    # are: safe to compute on a branch that was not taken (``passes/if_conversion.py``).
    SPECULATABLE = "speculatable"


class OpInfo:
    """Everything minijit knows about one operator.

    Attributes:
        name: the aten name (``"tanh"``); ``kind`` is ``"aten::tanh"``.
        schemas: the overload schemas; ``schemas[0]`` binds Python calls (it is the most
            general one); the scripter may pick any of them by type.
        impl: ``impl(xp, *bound_args)`` on arrays and Python values; returns an array, a tuple
            of arrays or a Python value.
        dtype_rule: pointwise ops only: ``dtype_rule(common, bound=None) -> (compute, result)``
            maps the promoted operand dtype to the dtype the kernel computes in and the result
            dtype (``div``: int → float); ``None`` means both are ``common``.  With ``bound``
            it may raise ``OpError`` for operand dtypes the op refuses (``sub`` of bools); the
            fast entry calls it once per floating dtype with ``bound=None``.
        backward: ``backward(ctx, *grads) -> tuple`` of gradients, one per differentiable tensor
            argument in schema order (``None`` for no gradient).
        grad_fn_name: PyTorch's autograd node name (``TanhBackward0``).
        saves: names of the arguments (and ``"result"``) that backward reads; their version
            counters are checked at backward time.
        saves_for: ``{saved name: names of the inputs whose gradients read it}``, for values
            saved only when one of those inputs requires grad (PyTorch's codegen does the
            same); saved names not listed are always saved.
        numpy_template / cuda_template: pointwise expression templates with ``{self}``,
            ``{other}`` ... placeholders, read by the fusers.
        method / function: install as ``Tensor.<name>`` / ``minijit.<name>``.
        dunders: Tensor operator names this op provides (``__add__``, ``__radd__``).
        sample_inputs: ``sample_inputs(make) -> list of (args, kwargs)`` for the op tests.
        kind: the IR node kind when it differs from ``namespace::name``: scalar overloads are
            registered under unique names (``"add.int"``) but make ``aten::add`` nodes.
        specialise: ``specialise(*args) -> impl or None``, ``args`` as for ``impl`` (arrays of
            the exact shapes and dtypes, constants): an ``impl`` for just those shapes, dtypes
            and constants with the argument checks done once, for compiled plans
            (``jit/runtime/raw_steps.py``, which checks it against ``impl`` before using it).
        archive_version: the TorchScript archive version from which this op means what it
            means now (``aten::div`` on integers truncated before version 4): archives using
            it declare at least this version, and older archives using it are refused
            (PyTorch decides by node kind: see :func:`archive_version_for_kind`).
        meta: ``meta(*args) -> (sizes, strides) or None``: the result's type for a call some
            of whose Python arguments are known only at run time (``xs[i]`` in a loop), for
            shape analysis, which otherwise runs ``impl`` on stand-ins.  Tensors come as
            objects with ``dtype``, ``shape`` and ``strides`` (in elements, None if unknown),
            arguments known at compile time as their values, the others as None.
    """

    __slots__ = ("name", "namespace", "schemas", "schema", "impl", "tags", "dtype_rule",
                 "backward", "grad_fn_name", "saves", "numpy_template", "cuda_template",
                 "method", "function", "dunders", "sample_inputs", "inplace_of", "differentiable",
                 "tensor_arg_indices", "doc", "python_name", "nondiff_args", "fast",
                 "schema_for_len",
                 "return_type", "tensor_indices_for_len", "fast_bind", "operand_indices_for_len",
                 "_kind", "is_pointwise", "is_inplace", "is_view", "saved_indices_for_len",
                 "saves_result", "node_cls", "saved_conditions_for_len", "is_composite",
                 "specialise", "archive_version", "meta", "uniform_overloads")

    def __init__(self, name: str, schemas: Sequence[str], impl: Callable, *,
                 tags: Iterable[Tag] = (),
                 dtype_rule: Optional[Callable] = None, backward: Optional[Callable] = None,
                 grad_fn_name: Optional[str] = None, saves: Sequence[str] = (),
                 numpy_template: Optional[str] = None, cuda_template: Optional[str] = None,
                 method: bool = True, function: bool = True, dunders: Sequence[str] = (),
                 sample_inputs: Optional[Callable] = None, inplace_of: Optional[str] = None,
                 doc: str = "", python_name: Optional[str] = None,
                 nondiff_args: Sequence[str] = (), kind: Optional[str] = None,
                 saves_for: Optional[Dict[str, Sequence[str]]] = None,
                 specialise: Optional[Callable] = None, archive_version: int = 0,
                 meta: Optional[Callable] = None):
        self.name = name
        self.schemas: List[Schema] = [parse_schema(s) for s in schemas]
        self.schema = self.schemas[0]
        self.namespace = self.schema.namespace
        self._kind = kind or self.schema.kind
        self.impl = impl
        self.tags = frozenset(tags)
        self.dtype_rule = dtype_rule
        self.backward = backward
        self.grad_fn_name = grad_fn_name or _default_grad_fn_name(name)
        self.saves = tuple(saves)
        self.numpy_template = numpy_template
        self.cuda_template = cuda_template
        self.method = method
        self.function = function
        self.dunders = tuple(dunders)
        self.sample_inputs = sample_inputs
        self.inplace_of = inplace_of
        self.doc = doc
        self.python_name = python_name or name
        self.nondiff_args = frozenset(nondiff_args)
        self.differentiable = backward is not None and Tag.NONDIFF not in self.tags
        # Tag tests the dispatcher makes on every call, answered once (enum hashing is slow).
        self.is_pointwise = Tag.POINTWISE in self.tags
        self.is_inplace = Tag.INPLACE in self.tags
        self.is_view = Tag.VIEW in self.tags
        self.is_composite = Tag.COMPOSITE in self.tags
        self.node_cls = None     # the grad_fn class when grad_fn_name is a string (dispatch fills)
        self.tensor_arg_indices = tuple(i for i, a in enumerate(self.schema.arguments)
                                        if a.is_tensor or a.is_tensor_list)
        self.fast = None   # filled by dispatch: the prebuilt eager entry point
        self.specialise = specialise
        self.archive_version = archive_version
        self.meta = meta
        # Overloads differ in argument count, so a bound call's length names its schema.
        self.schema_for_len = {len(s.arguments): s for s in reversed(self.schemas)}
        # Overloads that take the same arguments by name (``gt.Tensor``/``gt.Scalar`` differ
        # only in accepting a number, which the Tensor one takes too): the fast paths treat
        # such an op as having one schema.
        self.uniform_overloads = len({tuple(a.name for a in s.arguments)
                                      for s in self.schemas}) == 1
        self.tensor_indices_for_len = {
            n: tuple(i for i, a in enumerate(sc.arguments) if a.is_tensor or a.is_tensor_list)
            for n, sc in self.schema_for_len.items()}
        self.return_type = None  # a structseq class for named multiple returns (max.dim)
        self.fast_bind = _fast_bind_tails(self.schemas)
        # Where backward's saved arguments sit in a bound call, per overload length.
        self.saves_result = "result" in self.saves
        # PyTorch saves a value only when a gradient that needs it will be computed
        # (``x * 3`` keeps 3 but not x, when only x requires grad).  ``saves_for`` says whose
        # gradients need which saved value.  Per overload length: (bound index, condition) for
        # each saved argument, and the condition for ``"result"``; a condition is the positions
        # (among the tensor arguments) of the inputs whose requires_grad makes it saved, or
        # None for "always".
        self.saved_indices_for_len = {
            n: tuple((sc.index(name), _condition(saves_for, name, sc,
                                                 self.tensor_indices_for_len[n]))
                     for name in self.saves if name in sc._index)
            for n, sc in self.schema_for_len.items()}
        self.saved_conditions_for_len = {
            n: _condition(saves_for, "result", sc, self.tensor_indices_for_len[n])
            for n, sc in self.schema_for_len.items()}
        # Pointwise type promotion looks at the operands: tensor arguments and the Scalar
        # arguments that stand for operands (``rsub(self, Scalar other)``, ``clamp(min, max)``),
        # not at attribute-like Scalars (``alpha``, ``beta``, ``negative_slope``), nor at
        # ``where``'s bool ``condition``, which selects and is never converted.
        self.operand_indices_for_len = {
            n: tuple(i for i, a in enumerate(sc.arguments)
                     if (a.is_tensor and a.name != "condition")
                     or (a.type.rstrip("?") == "Scalar" and a.name in _OPERAND_NAMES))
            for n, sc in self.schema_for_len.items()}

    @property
    def kind(self) -> str:
        return self._kind

    def __repr__(self) -> str:
        return f"<OpInfo {self.kind}>"


_OPERAND_NAMES = ("self", "other", "exponent", "min", "max")


def _condition(saves_for: Optional[Dict[str, Sequence[str]]], name: str, schema: Schema,
               tensor_indices: Sequence[int]) -> Optional[Tuple[int, ...]]:
    if not saves_for or name not in saves_for:
        return None
    positions = []
    for needed_by in saves_for[name]:
        if needed_by in schema._index and schema.index(needed_by) in tensor_indices:
            positions.append(list(tensor_indices).index(schema.index(needed_by)))
    return tuple(positions)


def _fast_bind_tails(schemas: Sequence[Schema]) -> Dict[int, tuple]:
    """Positional-call shortcuts for binding: ``{number of args: defaults of the rest}``.

    ``tanh(x)`` binds to ``[x]`` and ``add(x, y)`` to ``[x, y, 1]`` without walking the schema.
    Only calls that cannot be ambiguous qualify: the given arguments are positional, the rest
    all have immutable defaults, and for ops with overloads the given arguments are all
    ``Tensor`` in ``schemas[0]`` (which is what overload resolution would pick first).
    """
    arguments = schemas[0].arguments
    tails: Dict[int, tuple] = {}
    for n in range(len(arguments) + 1):
        if any(a.kwarg_only for a in arguments[:n]):
            break
        rest = arguments[n:]
        if not all(a.has_default and not isinstance(a.default, list) for a in rest):
            continue
        if len(schemas) > 1 and not all(a.type == "Tensor" for a in arguments[:n]):
            continue
        tails[n] = tuple(a.default for a in rest)
    return tails


def _default_grad_fn_name(name: str) -> str:
    """PyTorch's autograd codegen name: ``log1p`` → ``Log1PBackward0`` (``str.title`` rule)."""
    base = name.rstrip("_")
    return "".join(part.title() for part in base.split("_") if part) + "Backward0"


_REGISTRY: Dict[str, OpInfo] = {}
_SCALAR_OPS: Dict[str, OpInfo] = {}
_BY_KIND: Dict[str, List[OpInfo]] = {}


def register(op: OpInfo) -> OpInfo:
    """Add an op to the registry; a second op with the same name is a bug, so it raises.

    Note [Scalar ops]
        Ops tagged ``Tag.SCALAR`` (``ops/scalar.py``: ``aten::add.int``, ``aten::len.t``...)
        compute on Python values inside compiled code.  They share IR kinds with tensor ops
        (both make ``aten::add`` nodes), so they are kept in a table of their own:
        :func:`get`, :func:`find` and :func:`all_ops` keep answering with tensor ops only
        (Tensor methods, ``minijit.<name>`` functions and the op tests are built from those),
        while :func:`ops_for_kind` and :func:`schemas_for_kind`, which the scripter's overload
        resolution and the printers read, see every overload of a kind.
    """
    table = _SCALAR_OPS if Tag.SCALAR in op.tags else _REGISTRY
    if op.name in table:
        raise ValueError(f"op {op.name!r} registered twice")
    table[op.name] = op
    _BY_KIND.setdefault(op.kind, []).append(op)
    return op


def get(name: str) -> OpInfo:
    """The op called ``name`` (``"tanh"``) or of IR kind ``name`` (``"aten::tanh"``)."""
    op = find(name)
    if op is None:
        raise KeyError(f"minijit has no operator named {name!r}")
    return op


def find(name: str) -> Optional[OpInfo]:
    """Like :func:`get`, but None for unknown names."""
    if "::" in name:
        for op in _BY_KIND.get(name, ()):
            if Tag.SCALAR not in op.tags:
                return op
        return None
    return _REGISTRY.get(name)


def all_ops() -> List[OpInfo]:
    """Every registered tensor op, in registration order (deterministic, for tests and docs)."""
    return list(_REGISTRY.values())


def scalar_ops() -> List[OpInfo]:
    """The ops on Python values (Note [Scalar ops]), in registration order."""
    return list(_SCALAR_OPS.values())


def ops_for_kind(kind: str) -> List[OpInfo]:
    """Every op that makes nodes of ``kind``: tensor ops first, then scalar overloads."""
    ops = _BY_KIND.get(kind, ())
    return [op for op in ops if Tag.SCALAR not in op.tags] + \
        [op for op in ops if Tag.SCALAR in op.tags]


def archive_version_for_kind(kind: str) -> int:
    """The archive version a graph with ``kind`` nodes needs: the largest ``archive_version``
    of the kind's ops (PyTorch's ``kind_min_version_map`` is keyed by kind, so a scalar
    ``aten::div`` counts as the tensor one does); 0 when no op of the kind ever changed."""
    return max([op.archive_version for op in _BY_KIND.get(kind, ())], default=0)


def schemas_for_kind(kind: str) -> List[Schema]:
    """All overload schemas of an IR node kind (``aten::add`` → Tensor and Scalar overloads)."""
    return [s for op in ops_for_kind(kind) for s in op.schemas]


def lookup_schema(kind: str, num_inputs: Optional[int] = None) -> Optional[Schema]:
    """The schema that a node of ``kind`` with ``num_inputs`` inputs was made from, or None.

    Every schema argument is an IR input, so the input count picks among overloads.
    """
    candidates = schemas_for_kind(kind)
    if num_inputs is not None:
        exact = [s for s in candidates if len(s.arguments) == num_inputs]
        if exact:
            return exact[0]
        return None
    return candidates[0] if candidates else None
