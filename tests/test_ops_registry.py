"""The registry is complete and consistent (DESIGN §3): one table, checked row by row.

Every POINTWISE op has both fuser templates, every differentiable op a backward, every op
samples; schemas parse and round-trip; overloads of one op differ in argument count (the
bound length names the overload); names are unique; methods, functions and dunders are
installed from the table.
"""
from __future__ import annotations

import inspect

import pytest

import minijit
from minijit.ops import dispatch, registry
from minijit.ops.registry import Tag
from minijit.ops.samples import sample_maker
from minijit.ops.schema import parse_schema

OPS = registry.all_ops()
IDS = [op.name for op in OPS]


def test_registry_is_not_empty_and_names_are_unique() -> None:
    names = [op.name for op in OPS]
    assert len(names) > 50
    assert len(names) == len(set(names))
    with pytest.raises(ValueError, match="registered twice"):
        registry.register(OPS[0])


@pytest.mark.parametrize("op", OPS, ids=IDS)
def test_lookup_by_name_and_kind(op: registry.OpInfo) -> None:
    assert registry.get(op.name) is op
    assert registry.get(op.kind) is op
    assert registry.find(op.kind) is op
    for schema in op.schemas:
        assert schema.kind == op.kind
        assert schema in registry.schemas_for_kind(op.kind)


@pytest.mark.parametrize("op", OPS, ids=IDS)
def test_schemas_parse_and_round_trip(op: registry.OpInfo) -> None:
    for schema in op.schemas:
        again = parse_schema(schema.text)
        assert [(a.name, a.type, a.kwarg_only) for a in again.arguments] == \
            [(a.name, a.type, a.kwarg_only) for a in schema.arguments]
        assert again.returns == schema.returns
        names = [a.name for a in schema.arguments]
        assert len(names) == len(set(names)), f"duplicate argument in {schema.text}"
        assert schema.returns, f"{schema.text} returns nothing"


@pytest.mark.parametrize("op", OPS, ids=IDS)
def test_bound_length_names_an_overload(op: registry.OpInfo) -> None:
    """Every argument is bound, so the bound list's length picks the overload: the first
    schema of that length (overloads of equal length, like ``pow.Tensor_Scalar``, are told
    apart by argument types where it matters, e.g. by the tracer)."""
    for n, schema in op.schema_for_len.items():
        first = next(s for s in op.schemas if len(s.arguments) == n)
        assert schema is first
        assert registry.lookup_schema(op.kind, n) is schema
        assert op.tensor_indices_for_len[n] == tuple(
            i for i, a in enumerate(schema.arguments) if a.is_tensor or a.is_tensor_list)
    assert set(op.schema_for_len) == {len(s.arguments) for s in op.schemas}


@pytest.mark.parametrize("op", [op for op in OPS if Tag.POINTWISE in op.tags],
                         ids=[op.name for op in OPS if Tag.POINTWISE in op.tags])
def test_pointwise_ops_have_both_templates(op: registry.OpInfo) -> None:
    assert op.numpy_template, f"{op.name} lacks a NumPy template"
    assert op.cuda_template, f"{op.name} lacks a CUDA template"
    names = {a.name for s in op.schemas for a in s.arguments}
    for template in (op.numpy_template, op.cuda_template):
        for field in _template_fields(template):
            assert field in names, f"{op.name}: template field {{{field}}} is not an argument"


def _template_fields(template: str) -> list:
    import string
    return [f for _, f, _, _ in string.Formatter().parse(template) if f]


@pytest.mark.parametrize("op", OPS, ids=IDS)
def test_differentiable_ops_have_a_backward(op: registry.OpInfo) -> None:
    if Tag.NONDIFF in op.tags:
        assert op.backward is None, f"{op.name} is NONDIFF but has a backward"
        assert not op.differentiable
        return
    if Tag.COMPOSITE in op.tags:
        # Differentiated through its parts; the gradcheck table in test_autograd.py covers it.
        assert op.backward is None, f"{op.name} is COMPOSITE but has its own backward"
        return
    assert op.backward is not None, f"{op.name} has no backward (tag it NONDIFF if right)"
    assert op.differentiable
    params = list(inspect.signature(op.backward).parameters.values())
    assert params and params[0].name == "ctx"
    assert isinstance(op.grad_fn_name, str) or callable(op.grad_fn_name)
    schema_names = {a.name for s in op.schemas for a in s.arguments}
    for name in op.saves:
        assert name == "result" or name in schema_names, f"{op.name} saves unknown {name!r}"


@pytest.mark.parametrize("op", OPS, ids=IDS)
def test_every_op_has_samples(op: registry.OpInfo) -> None:
    assert op.sample_inputs is not None, f"{op.name} has no samples"
    samples = op.sample_inputs(sample_maker(0))
    assert samples, f"{op.name} has an empty sample list"
    for args, kwargs in samples:
        assert isinstance(args, tuple) and isinstance(kwargs, dict)
        dispatch.bind(op, args, kwargs)     # every sample binds to some overload


@pytest.mark.parametrize("op", OPS, ids=IDS)
def test_python_surface_is_installed_from_the_table(op: registry.OpInfo) -> None:
    if op.method:
        assert hasattr(minijit.Tensor, op.python_name), f"Tensor.{op.python_name} missing"
    if op.function:
        assert callable(getattr(minijit, op.python_name, None)), f"minijit.{op.python_name}"
    for dunder in op.dunders:
        assert dunder in minijit.Tensor.__dict__, f"Tensor.{dunder} missing"


@pytest.mark.parametrize("op", [op for op in OPS if Tag.INPLACE in op.tags],
                         ids=[op.name for op in OPS if Tag.INPLACE in op.tags])
def test_inplace_ops_write_self(op: registry.OpInfo) -> None:
    for schema in op.schemas:
        first = schema.arguments[0]
        assert first.name == "self" and first.is_write, f"{schema.text}: self must be (a!)"
    if op.inplace_of is not None:
        base = registry.get(op.inplace_of)
        assert op.name == base.name + "_"
        assert (Tag.POINTWISE in op.tags) == (Tag.POINTWISE in base.tags)


@pytest.mark.parametrize("op", [op for op in OPS if Tag.VIEW in op.tags],
                         ids=[op.name for op in OPS if Tag.VIEW in op.tags])
def test_view_ops_alias_self_in_schema(op: registry.OpInfo) -> None:
    for schema in op.schemas:
        assert schema.arguments[0].alias is not None, f"{schema.text}: self must be Tensor(a)"


def test_fast_bind_fills_defaults_in_schema_order() -> None:
    add = registry.get("add")
    assert dispatch.bind(add, (1, 2), {}) == [1, 2, 1]
    assert dispatch.bind(add, (1, 2), {"alpha": 3}) == [1, 2, 3]
    sum_ = registry.get("sum")
    x = minijit.ones(2, 3)
    assert len(dispatch.bind(sum_, (x,), {})) == 2          # sum(self, *, dtype)
    assert len(dispatch.bind(sum_, (x, 1), {})) == 4        # sum.dim_IntList
    with pytest.raises(TypeError, match="unexpected keyword argument 'bogus'"):
        dispatch.bind(registry.get("tanh"), (x,), {"bogus": 1})
