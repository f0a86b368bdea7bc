"""The NumPy kernel generator: one Python function per fusion group, from registry templates.

Note [NumPy kernels]
    A ``prim::FusionGroup`` holds a subgraph of pointwise ops.  For one set of input dtypes
    this module writes Python source that computes the whole subgraph, reading *only* each
    op's ``numpy_template`` from the registry (``np.add({self}, {other} * {alpha})``) and its
    dtype rule.  Two functions are generated:

    * ``small(a0, a1, ...)``: straight-line NumPy on whole arrays, for tensors up to one
      block.  NumPy broadcasts; there is no per-call set-up, which is what small tensors
      (an RNN cell's 3×4 state) need.
    * ``blocked(start, stop, R, inner, a0, ..., o0, ...)``: walks rows ``start..stop`` of the
      inputs, reshaped to a coalesced 1-D or 2-D layout, ``R`` rows (about 64K elements) at a
      time, so every intermediate stays in the CPU cache.  Every intermediate is written with
      ``out=`` into a buffer allocated once per call and reused by later blocks (and by later
      intermediates once their values are dead); the last op of each output writes straight
      into the output.  Values that do not change along rows (broadcast inputs, constants)
      are computed once before the loop.  The caller may run disjoint row ranges on several
      threads: NumPy releases the GIL inside ufuncs.

    How a template becomes ``out=`` code: the template is filled in with operand names and
    constant literals, parsed with :mod:`ast`, and every NumPy ufunc call, arithmetic operator
    and comparison becomes one *step* writing into a temporary; other calls (``np.where``,
    helpers in ``minijit.ops.kernels``) are kept as they are.  Each step is evaluated once on
    one-element probe arrays while generating, which gives every temporary its dtype (so
    buffers can be allocated) and lets ``x * 1`` disappear when it changes nothing.

    Dtypes follow the dispatcher exactly (:func:`~minijit.jit.passes.shape_analysis.
    pointwise_dtypes`): each node's tensor operands are cast to its compute dtype, Python
    numbers are converted as the dispatcher converts them, and the result is cast to the
    result dtype when the template's NumPy result differs.  So fused and eager execution give
    the same numbers.

Example:
    >>> from minijit.jit.ir import parse_ir
    >>> import numpy as np
    >>> g = parse_ir('''graph(%x : Tensor, %y : Tensor):
    ...   %1 : int = prim::Constant[value=1]()
    ...   %2 : Tensor = aten::add(%x, %y, %1)
    ...   %3 : Tensor = aten::tanh(%2)
    ...   return (%3)
    ... ''')
    >>> f32 = np.dtype("float32")
    >>> k = generate_kernel(GroupInfo(g), (f32, f32), (False, False))
    >>> print(k.small_source, end="")
    def small(a0, a1):
        t0 = np.add(a0, a1)
        t1 = np.tanh(t0)
        return (t1,)
"""
from __future__ import annotations

import ast
import math
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ... import dtypes as _dt
from ...ops import kernels as _kernels
from ...ops.dispatch import scalar_operand
from ...ops.registry import Tag, find
from ..ir.graph import Graph, Node
from ..passes.shape_analysis import Meta, pointwise_dtypes

__all__ = ["GroupInfo", "GeneratedKernel", "generate_kernel", "KernelGenerationError",
           "fusible_reason"]


class KernelGenerationError(RuntimeError):
    """The group cannot be compiled for these dtypes (the caller falls back to the ops)."""


# ---- what may be fused ------------------------------------------------------------------------
def fusible_reason(node: Node) -> Optional[str]:
    """None if ``node`` can go into a NumPy fusion group, else why not (for the report)."""
    from ..ir.types import TensorType
    op = find(node.kind) if node.kind.startswith("aten::") else None
    if op is None:
        return "not a registry op"
    if Tag.POINTWISE not in op.tags:
        tags = ", ".join(sorted(t.value for t in op.tags)) or "none"
        return f"not pointwise (tags: {tags})"
    if Tag.INPLACE in op.tags:
        return "writes in place"
    if Tag.RANDOM in op.tags:
        return "random"
    if not op.numpy_template:
        return "no NumPy template in the registry"
    if len(node.outputs) != 1 or not isinstance(node.output().type, TensorType):
        return "its result is not a tensor (scalar arithmetic)"
    schema = op.schema_for_len.get(len(node.inputs))
    if schema is None:
        return "no schema for this number of arguments"
    values = [v.node.attrs.get("value") if v.node.kind == "prim::Constant" else _RUNTIME
              for v in node.inputs]
    ignored = ignored_argument(op, schema, values)
    if ignored is not None:
        return ignored
    for arg, v in zip(schema.arguments, node.inputs):
        is_tensor_value = isinstance(v.type, TensorType)
        if v.node.kind == "prim::Constant":
            if is_tensor_value and not arg.is_tensor:
                return f"a tensor constant is passed as '{arg.name}'"
            continue
        if not is_tensor_value:
            return f"argument '{arg.name}' is a runtime {v.type}, not a constant"
        if not arg.is_tensor:
            return f"a tensor is passed for the non-tensor argument '{arg.name}'"
    return None


_RUNTIME = object()


def ignored_argument(op: Any, schema: Any, values: Sequence[Any]) -> Optional[str]:
    """Why the template cannot compute this call, if it ignores an argument that matters.

    A template that does not mention an argument (``div``'s ``rounding_mode``) is right only
    when that argument holds the value meaning "nothing special": None or its default.
    """
    used = template_arguments(op.numpy_template)
    for arg, value in zip(schema.arguments, values):
        if arg.name in used:
            continue
        if value is _RUNTIME or not (value is None or (arg.has_default and value == arg.default)):
            return f"the NumPy template ignores argument '{arg.name}'"
    return None


def template_arguments(template: str) -> frozenset:
    """The schema argument names a template mentions (``{self}``, ``{alpha}``...)."""
    import string
    return frozenset(name for _, name, _, _ in string.Formatter().parse(template) if name)


# ---- the group, independent of dtypes ---------------------------------------------------------
class _NodeInfo:
    __slots__ = ("op", "schema", "args", "output")

    def __init__(self, op: Any, schema: Any, args: List[Tuple[str, Any]], output: int):
        self.op = op
        self.schema = schema
        self.args = args          # per schema argument: ("in", k) | ("val", j) | ("const", v)
        self.output = output      # value index j of the node's result


class GroupInfo:
    """A fusion subgraph read once: its ops, how values connect, and a structural cache key.

    Values are numbered: the subgraph inputs are ``("in", k)``; each node's result is
    ``("val", j)``.  ``key`` is the same for two subgraphs that compute the same thing,
    whatever their value names.
    """

    def __init__(self, graph: Graph):
        self.graph = graph
        self.num_inputs = len(graph.inputs)
        index: Dict[int, Tuple[str, Any]] = {id(v): ("in", k) for k, v in enumerate(graph.inputs)}
        self.nodes: List[_NodeInfo] = []
        self.constants: List[Any] = []
        parts: List[str] = []
        for node in graph.nodes:
            if node.kind == "prim::Constant":
                index[id(node.output())] = ("const", node.attrs.get("value"))
                continue
            op = find(node.kind)
            if op is None:
                raise KernelGenerationError(f"{node.kind} is not a registry op")
            schema = op.schema_for_len.get(len(node.inputs))
            if schema is None:
                raise KernelGenerationError(f"{node.kind} has no schema for "
                                            f"{len(node.inputs)} arguments")
            args = [index[id(v)] for v in node.inputs]
            why = ignored_argument(op, schema, [a[1] if a[0] == "const" else _RUNTIME
                                                for a in args])
            if why is not None:
                raise KernelGenerationError(f"{node.kind}: {why}")
            j = len(self.nodes)
            index[id(node.output())] = ("val", j)
            self.nodes.append(_NodeInfo(op, schema, args, j))
            parts.append(f"{node.kind}({', '.join(_ref_key(a) for a in args)})")
        self.outputs = [index[id(v)] for v in graph.outputs]
        for ref in self.outputs:
            if ref[0] != "val":
                raise KernelGenerationError("a fusion group output must be computed by the group")
        self.key = "; ".join(parts) + " -> " + ", ".join(_ref_key(r) for r in self.outputs)
        # Which inputs each value depends on (an output's shape is the broadcast of theirs).
        deps: List[frozenset] = []
        for info in self.nodes:
            d: set = set()
            for kind, x in info.args:
                if kind == "in":
                    d.add(x)
                elif kind == "val":
                    d |= deps[x]
            deps.append(frozenset(d))
        self.output_inputs = [deps[r[1]] for r in self.outputs]


def _ref_key(ref: Tuple[str, Any]) -> str:
    kind, x = ref
    if kind == "const":
        if hasattr(x, "shape"):
            return f"tensor({np.asarray(x).dtype},{np.asarray(x).tolist()!r})"
        return f"{type(x).__name__}:{x!r}"
    return f"{kind}{x}"


# ---- operands while generating ----------------------------------------------------------------
class _Opnd:
    """A value during generation: source text, a probe value, and where it lives.

    ``array``: it is an array (else a Python/NumPy scalar written as a literal); ``varying``:
    it changes from block to block (it depends on an input sliced by rows); ``pattern``: per
    layout dimension, whether it spans the dimension (True) or is broadcast along it (False).
    """

    __slots__ = ("text", "probe", "array", "varying", "pattern")

    def __init__(self, text: str, probe: Any, array: bool, varying: bool = False,
                 pattern: Tuple[bool, ...] = ()):
        self.text = text
        self.probe = probe
        self.array = array
        self.varying = varying
        self.pattern = pattern


class _Step:
    """``target = fn(args)``: ``ufunc`` steps can write ``out=``; ``call`` steps allocate;
    ``cast`` steps convert dtype."""

    __slots__ = ("target", "kind", "fn", "args", "dtype", "varying", "pattern", "expr")

    def __init__(self, target: str, kind: str, fn: str, args: List[str], dtype: Any,
                 varying: bool, pattern: Tuple[bool, ...], expr: str = ""):
        self.target = target
        self.kind = kind
        self.fn = fn
        self.args = args
        self.dtype = dtype
        self.varying = varying
        self.pattern = pattern
        self.expr = expr


_BINOPS = {ast.Add: "add", ast.Sub: "subtract", ast.Mult: "multiply", ast.Div: "true_divide",
           ast.FloorDiv: "floor_divide", ast.Mod: "remainder", ast.Pow: "power",
           ast.BitAnd: "bitwise_and", ast.BitOr: "bitwise_or", ast.BitXor: "bitwise_xor"}
_COMPARE = {ast.Gt: "greater", ast.GtE: "greater_equal", ast.Lt: "less",
            ast.LtE: "less_equal", ast.Eq: "equal", ast.NotEq: "not_equal"}
_UNARY = {ast.USub: "negative", ast.Invert: "invert"}


def _literal(value: Any) -> str:
    """Python source for a constant (``float('inf')`` and friends need names)."""
    if isinstance(value, float):
        if math.isnan(value):
            return "_nan"
        if math.isinf(value):
            return "_inf" if value > 0 else "(-_inf)"
    if isinstance(value, np.generic):
        return _literal(value.item())
    return repr(value)


class _Builder:
    """Lowers the group's nodes into steps for one set of input dtypes (Note [NumPy kernels])."""

    def __init__(self, info: GroupInfo, dtypes: Sequence[Any], zero_dim: Sequence[bool],
                 varying: Optional[Sequence[bool]] = None,
                 patterns: Optional[Sequence[Tuple[bool, ...]]] = None):
        self.info = info
        self.steps: List[_Step] = []
        self.namespace: Dict[str, Any] = {"np": np, "_k": _kernels, "_inf": math.inf,
                                          "_nan": math.nan}
        self.counter = 0
        n = info.num_inputs
        varying = varying if varying is not None else [False] * n
        patterns = patterns if patterns is not None else [()] * n
        self.inputs: List[_Opnd] = []
        self.metas: List[Meta] = []
        for k, (dt, zero) in enumerate(zip(dtypes, zero_dim)):
            probe = np.zeros(() if zero else (1,), dtype=dt)
            self.inputs.append(_Opnd(f"a{k}", probe, True, varying[k], tuple(patterns[k])))
            self.metas.append(Meta(_dt.from_numpy_dtype(np.dtype(dt)), () if zero else (1,)))
        self.values: List[_Opnd] = []
        self.value_metas: List[Meta] = []
        self.result_dtypes: List[Any] = []
        for node in info.nodes:
            self.lower_node(node)

    # -- helpers --------------------------------------------------------------------------------
    def temp(self) -> str:
        name = f"t{self.counter}"
        self.counter += 1
        return name

    def const_name(self, value: Any) -> str:
        name = f"c{len([k for k in self.namespace if k.startswith('c')])}"
        self.namespace[name] = value
        return name

    def ref(self, ref: Tuple[str, Any]) -> Tuple[Any, Optional[_Opnd]]:
        """(bound value for the dtype rule, operand) of an argument reference."""
        kind, x = ref
        if kind == "in":
            return self.metas[x], self.inputs[x]
        if kind == "val":
            return self.value_metas[x], self.values[x]
        if hasattr(x, "shape") and hasattr(x, "dtype"):            # a tensor constant
            arr = np.asarray(getattr(x, "_data", x))
            meta = Meta(_dt.from_numpy_dtype(arr.dtype), arr.shape)
            return meta, _Opnd(self.const_name(arr), arr, True, False,
                               (False,) * len(self.inputs[0].pattern) if self.inputs else ())
        return x, None

    # -- one node -------------------------------------------------------------------------------
    def lower_node(self, node: _NodeInfo) -> None:
        op = node.op
        bound, operands = [], []
        for ref in node.args:
            b, o = self.ref(ref)
            bound.append(b)
            operands.append(o)
        try:
            compute, result = pointwise_dtypes(op, bound)
        except Exception as exc:  # noqa: BLE001 - e.g. ``sub`` of bools: eager raises it
            raise KernelGenerationError(str(exc)) from exc
        operand_idx = set(op.operand_indices_for_len[len(bound)])
        fill: Dict[str, Any] = {}
        env: Dict[str, _Opnd] = {}
        for i, (arg, b, o) in enumerate(zip(node.schema.arguments, bound, operands)):
            if o is not None:                                       # a tensor
                if i in operand_idx and o.probe.dtype != compute.np:
                    o = self.cast(o, compute.np)
                name = f"__arg{i}"
                env[name] = o
                fill[arg.name] = name
            else:                                                   # a constant
                value = scalar_operand(b, compute) if i in operand_idx else b
                fill[arg.name] = _literal(value)
        try:
            text = op.numpy_template.format(**fill)
            tree = ast.parse(text, mode="eval").body
        except Exception as exc:  # noqa: BLE001
            raise KernelGenerationError(f"cannot read the template of {op.kind}: {exc}") from exc
        value = self.lower(tree, env)
        if not value.array:
            # Only constants went in (``where(c, 1., 2.)`` cannot happen: one operand at least
            # is a tensor), but keep it an array of the right dtype anyway.
            value = self.materialise(value, result.np)
        if value.probe.dtype != result.np:
            value = self.cast(value, result.np)
        self.values.append(value)
        shape = () if all(isinstance(b, Meta) and b.ndim == 0 or not isinstance(b, Meta)
                          for b in bound) else (1,)
        self.value_metas.append(Meta(result, shape))
        self.result_dtypes.append(result.np)

    def materialise(self, value: _Opnd, dtype: Any) -> _Opnd:
        target = self.temp()
        probe = np.asarray(value.probe, dtype=dtype)
        self.steps.append(_Step(target, "call", "np.asarray", [value.text, repr(str(dtype))],
                                dtype, False, value.pattern,
                                f"np.asarray({value.text}, {str(np.dtype(dtype))!r})"))
        return _Opnd(target, probe, True, False, value.pattern)

    def cast(self, value: _Opnd, dtype: Any) -> _Opnd:
        if value.text in self.namespace and value.text.startswith("c"):
            # A tensor constant: convert it once, now.
            with np.errstate(all="ignore"):
                converted = np.asarray(self.namespace[value.text]).astype(dtype)
            return _Opnd(self.const_name(converted), converted, True, False, value.pattern)
        target = self.temp()
        with np.errstate(all="ignore"):
            probe = np.asarray(value.probe).astype(dtype)
        self.namespace[f"_{np.dtype(dtype).name}"] = np.dtype(dtype)
        self.steps.append(_Step(target, "cast", "", [value.text], np.dtype(dtype), value.varying,
                                value.pattern))
        return _Opnd(target, probe, True, value.varying, value.pattern)

    # -- expressions ----------------------------------------------------------------------------
    def lower(self, tree: ast.AST, env: Dict[str, _Opnd]) -> _Opnd:
        if isinstance(tree, ast.Name):
            if tree.id in env:
                return env[tree.id]
            if tree.id in self.namespace:
                return _Opnd(tree.id, self.namespace[tree.id], False)
            raise KernelGenerationError(f"unknown name {tree.id} in a template")
        if isinstance(tree, ast.Constant):
            return _Opnd(repr(tree.value), tree.value, False)
        if isinstance(tree, ast.UnaryOp) and type(tree.op) in _UNARY:
            return self.ufunc(_UNARY[type(tree.op)], [self.lower(tree.operand, env)], tree)
        if isinstance(tree, ast.BinOp) and type(tree.op) in _BINOPS:
            a, b = self.lower(tree.left, env), self.lower(tree.right, env)
            return self.ufunc(_BINOPS[type(tree.op)], [a, b], tree)
        if isinstance(tree, ast.Compare) and len(tree.ops) == 1 and type(tree.ops[0]) in _COMPARE:
            a, b = self.lower(tree.left, env), self.lower(tree.comparators[0], env)
            return self.ufunc(_COMPARE[type(tree.ops[0])], [a, b], tree)
        if isinstance(tree, ast.Call) and not tree.keywords:
            fn = tree.func
            if isinstance(fn, ast.Attribute) and isinstance(fn.value, ast.Name) and \
                    fn.value.id == "np" and isinstance(getattr(np, fn.attr, None), np.ufunc) and \
                    getattr(np, fn.attr).nin == len(tree.args):
                return self.ufunc(fn.attr, [self.lower(a, env) for a in tree.args], tree)
            args = [self.lower(a, env) for a in tree.args]
            return self.call(ast.unparse(fn), args)
        if isinstance(tree, (ast.Attribute, ast.Name)):
            return _Opnd(ast.unparse(tree), eval(ast.unparse(tree), self.namespace), False)
        # Anything else: evaluate it as written over the lowered names.
        raise KernelGenerationError(f"unsupported template construct: {ast.unparse(tree)}")

    def probe(self, expr: str, names: Dict[str, Any]) -> Any:
        scope = dict(self.namespace)
        scope.update(names)
        with np.errstate(all="ignore"):
            return eval(expr, scope)  # noqa: S307 - our own generated expression

    def ufunc(self, name: str, args: List[_Opnd], tree: ast.AST) -> _Opnd:
        names = {f"__p{i}": a.probe for i, a in enumerate(args)}
        expr = f"np.{name}(" + ", ".join(names) + ")"
        try:
            probe = self.probe(expr, names)
        except Exception as exc:  # noqa: BLE001
            raise KernelGenerationError(f"np.{name} fails on these dtypes: {exc}") from exc
        if not any(a.array for a in args):
            # Constants only: fold now, into a *Python* number (a NumPy scalar is not
            # "weak" under NEP 50: np.float64(1.) would turn float32 arithmetic into float64).
            value = probe.item() if isinstance(probe, np.generic) else probe
            return _Opnd(_literal(value), value, False)
        # x * 1, x + 0, x - 0, x / 1 that change neither value nor dtype: skip the step.
        if len(args) == 2 and name in ("multiply", "add", "subtract", "true_divide"):
            arr, num = args
            if not arr.array and name in ("multiply", "add"):
                arr, num = num, arr
            identity = 1 if name in ("multiply", "true_divide") else 0
            if arr.array and not num.array and type(num.probe) in (int, float) and \
                    num.probe == identity and np.asarray(probe).dtype == arr.probe.dtype:
                return arr
        varying = any(a.varying for a in args if a.array)
        pattern = _join([a.pattern for a in args if a.array])
        target = self.temp()
        self.steps.append(_Step(target, "ufunc", f"np.{name}", [a.text for a in args],
                                np.asarray(probe).dtype, varying, pattern))
        return _Opnd(target, np.asarray(probe), True, varying, pattern)

    def call(self, fn: str, args: List[_Opnd]) -> _Opnd:
        names = {f"__p{i}": a.probe for i, a in enumerate(args)}
        expr = f"{fn}(" + ", ".join(names) + ")"
        try:
            probe = np.asarray(self.probe(expr, names))
        except Exception as exc:  # noqa: BLE001
            raise KernelGenerationError(f"{fn} fails on these dtypes: {exc}") from exc
        arrays = [a for a in args if a.array]
        varying = any(a.varying for a in arrays)
        pattern = _join([a.pattern for a in arrays])
        target = self.temp()
        self.steps.append(_Step(target, "call", fn, [a.text for a in args], probe.dtype,
                                varying, pattern))
        return _Opnd(target, probe, True, varying, pattern)


def _join(patterns: List[Tuple[bool, ...]]) -> Tuple[bool, ...]:
    if not patterns:
        return ()
    return tuple(any(p[d] for p in patterns) for d in range(len(patterns[0])))


# ---- emitting source ----------------------------------------------------------------------------
class GeneratedKernel:
    """The source and the compiled functions for one (group, dtypes[, layout])."""

    __slots__ = ("small_source", "blocked_source", "small", "blocked", "result_dtypes",
                 "source", "namespace")

    def __init__(self) -> None:
        self.small_source = ""
        self.blocked_source = ""
        self.small: Any = None
        self.blocked: Any = None
        self.result_dtypes: List[Any] = []
        self.source = ""
        self.namespace: Dict[str, Any] = {}


def _step_expr(step: _Step) -> str:
    if step.kind == "cast":
        return f"{step.args[0]}.astype(_{np.dtype(step.dtype).name})"
    if step.expr:
        return step.expr
    return f"{step.fn}({', '.join(step.args)})"


def _emit_small(builder: _Builder, info: GroupInfo) -> str:
    n = info.num_inputs
    lines = [f"def small({', '.join(f'a{k}' for k in range(n))}):"]
    for step in builder.steps:
        lines.append(f"    {step.target} = {_step_expr(step)}")
    outs = [builder.values[r[1]].text for r in info.outputs]
    lines.append(f"    return ({', '.join(outs)},)")
    return "\n".join(lines) + "\n"


def _emit_blocked(builder: _Builder, info: GroupInfo) -> str:
    """The blocked function (Note [NumPy kernels]); ``builder`` was made with the layout."""
    n = info.num_inputs
    outputs = [builder.values[r[1]].text for r in info.outputs]
    out_of: Dict[str, int] = {}
    for j, t in enumerate(outputs):
        out_of.setdefault(t, j)
    params = ["start", "stop", "R", "inner"] + [f"a{k}" for k in range(n)] + \
        [f"o{j}" for j in range(len(outputs))]
    lines = [f"def blocked({', '.join(params)}):"]
    # Loop-invariant steps: computed once, on whole (unsliced) arrays.
    for step in builder.steps:
        if not step.varying:
            lines.append(f"    {step.target} = {_step_expr(step)}")
    assigned, buffers = _assign_buffers(builder, info, out_of)
    for name, dtype, pattern in buffers:
        dims = [f"inner[{d}]" if p else "1" for d, p in enumerate(pattern[1:])]
        shape = f"(R, {', '.join(dims)})" if dims else "(R,)"
        builder.namespace[f"_{dtype.name}"] = dtype
        lines.append(f"    _{name} = np.empty({shape}, _{dtype.name})")
        lines.append(f"    {name} = _{name}")
    lines.append("    for s in range(start, stop, R):")
    lines.append("        e = s + R if s + R < stop else stop")
    if buffers:
        lines.append("        if e - s != R:")
        for name, _, _ in buffers:
            lines.append(f"            {name} = _{name}[:e - s]")
    for k in range(n):
        if builder.inputs[k].varying:
            lines.append(f"        x{k} = a{k}[s:e]")
    rename = {f"a{k}": (f"x{k}" if builder.inputs[k].varying else f"a{k}") for k in range(n)}
    for step in builder.steps:
        if not step.varying:
            continue
        args = [rename.get(a, a) for a in step.args]
        j = out_of.get(step.target)
        dest = f"o{j}[s:e]" if j is not None else assigned.get(step.target)
        if step.kind == "ufunc" and dest is not None:
            lines.append(f"        {step.target} = {step.fn}({', '.join(args)}, out={dest})")
        elif step.kind == "cast" and dest is not None:
            lines.append(f"        {step.target} = {dest}")
            lines.append(f"        np.copyto({step.target}, {args[0]}, casting='unsafe')")
        else:
            expr = _step_expr(_Step(step.target, step.kind, step.fn, args, step.dtype,
                                    step.varying, step.pattern, step.expr))
            if j is not None:
                lines.append(f"        o{j}[s:e] = {step.target} = {expr}")
            else:
                lines.append(f"        {step.target} = {expr}")
    for j, t in enumerate(outputs):
        if out_of[t] != j:           # the same value returned twice
            lines.append(f"        o{j}[s:e] = o{out_of[t]}[s:e]")
    return "\n".join(lines) + "\n"


def _last_uses(builder: _Builder, info: GroupInfo) -> Dict[str, int]:
    last: Dict[str, int] = {}
    for i, step in enumerate(builder.steps):
        for a in step.args:
            last[a] = i
    for r in info.outputs:
        last[builder.values[r[1]].text] = len(builder.steps)
    return last


def _assign_buffers(builder: _Builder, info: GroupInfo, out_of: Dict[str, int]
                    ) -> Tuple[Dict[str, str], List[Tuple[str, Any, Tuple[bool, ...]]]]:
    """Give each varying ``ufunc``/``cast`` step a block buffer: a linear scan that hands a
    buffer back when its value is last read, so later steps of the same dtype and layout
    reuse it (an operand read for the last time by a step may even be its ``out=``: NumPy
    ufuncs are safe in place).  Outputs write into the output arrays instead."""
    last = _last_uses(builder, info)
    free: Dict[Tuple[str, Tuple[bool, ...]], List[str]] = {}
    holder: Dict[str, str] = {}                     # live temp -> its buffer
    result: Dict[str, str] = {}
    buffers: List[Tuple[str, Any, Tuple[bool, ...]]] = []
    keys: Dict[str, Tuple[str, Tuple[bool, ...]]] = {}
    for i, step in enumerate(builder.steps):
        if not step.varying:
            continue
        dying = [a for a in dict.fromkeys(step.args) if a in holder and last.get(a) == i]
        if step.kind in ("ufunc", "cast") and step.target not in out_of:
            key = (np.dtype(step.dtype).str, step.pattern)
            pool = free.setdefault(key, [])
            if step.kind == "ufunc":
                for a in dying:
                    if keys[holder[a]] == key:
                        pool.append(holder.pop(a))
            if pool:
                name = pool.pop()
            else:
                name = f"B{len(buffers)}"
                buffers.append((name, np.dtype(step.dtype), step.pattern))
                keys[name] = key
            holder[step.target] = name
            result[step.target] = name
        for a in dying:
            if a in holder:
                free.setdefault(keys[holder[a]], []).append(holder.pop(a))
    return result, buffers


def _compile(source: str, name: str, namespace: Dict[str, Any], filename: str) -> Any:
    code = compile(source, filename, "exec")
    scope = dict(namespace)
    exec(code, scope)  # noqa: S102 - source generated above from registry templates
    return scope[name]


def generate_kernel(info: GroupInfo, dtypes: Sequence[Any], zero_dim: Sequence[bool],
                    patterns: Optional[Sequence[Tuple[bool, ...]]] = None,
                    name: str = "fused") -> GeneratedKernel:
    """Generate the kernel of ``info`` for input ``dtypes`` (and, for the blocked function,
    the per-input layout ``patterns``: which coalesced dimensions each input spans).

    Raises :class:`KernelGenerationError` when a template cannot run on these dtypes or the
    dtype rule refuses them (the executor then runs the ops one by one, which raises the
    error eager code would raise).
    """
    kernel = GeneratedKernel()
    base = _Builder(info, dtypes, zero_dim)
    kernel.small_source = _emit_small(base, info)
    kernel.result_dtypes = [base.values[r[1]].probe.dtype for r in info.outputs]
    kernel.namespace = base.namespace
    kernel.small = _compile(kernel.small_source, "small", base.namespace, f"<minijit {name}>")
    kernel.source = kernel.small_source
    if patterns is not None:
        varying = [bool(p) and p[0] for p in patterns]
        blocked = _Builder(info, dtypes, zero_dim, varying, patterns)
        kernel.blocked_source = _emit_blocked(blocked, info)
        kernel.blocked = _compile(kernel.blocked_source, "blocked", blocked.namespace,
                                  f"<minijit {name} blocked>")
        kernel.source = kernel.small_source + "\n\n" + kernel.blocked_source
    return kernel
