"""The CUDA kernel generator on machines without a GPU: generated source, C types, refusals,
and ``nvcc -ptx`` on the kernel of every fusion group the fusion test suite makes.

The compile test runs ``test_fuse.py`` and ``test_executor.py`` with a plugin that records
each (subgraph, dtypes) the NumPy generator compiles, generates the CUDA kernel of each,
wraps it into a complete ``__global__`` function (``standalone_source``) and compiles them
all with ``nvcc``.  It is skipped when ``nvcc`` is absent.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from typing import Any, Dict, List, Tuple

import numpy as np
import pytest

from minijit import dtypes as _dt
from minijit.jit.codegen.cuda_kernel import (
    cuda_template_problem,
    generate_cuda_kernel,
    kernel_key,
    standalone_source,
)
from minijit.jit.codegen.numpy_kernel import GroupInfo, KernelGenerationError
from minijit.jit.ir import Graph, parse_ir
from minijit.ops import dispatch, registry
from minijit.ops.registry import Tag
from minijit.ops.samples import sample_maker

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
F32, F64, I64 = np.dtype("float32"), np.dtype("float64"), np.dtype("int64")

# Why a group may have no CUDA kernel although it has a NumPy one (Note [CUDA kernels]).
ALLOWED_REFUSALS = ("a floating-point function, in", "divides in", "applies ~ to a bool",
                    "a tensor constant with dimensions", "CUDA template of aten::gelu ignores")

CHAIN = """graph(%a : Tensor, %b : Tensor, %c : Tensor):
  %1 : int = prim::Constant[value=1]()
  %h : float = prim::Constant[value=0.5]()
  %3 : Tensor = aten::mul(%a, %b)
  %4 : Tensor = aten::add(%3, %c, %1)
  %5 : Tensor = aten::tanh(%4)
  %6 : Tensor = aten::sigmoid(%a)
  %7 : Tensor = aten::mul(%5, %6)
  %8 : Tensor = aten::relu(%b)
  %9 : Tensor = aten::mul(%8, %h)
  %10 : Tensor = aten::sub(%7, %9, %1)
  %11 : Tensor = aten::neg(%c)
  %12 : Tensor = aten::mul(%11, %c)
  %13 : Tensor = aten::exp(%12)
  %14 : Tensor = aten::add(%10, %13, %1)
  return (%14)
"""


def test_generated_source_for_the_benchmark_chain():
    k = generate_cuda_kernel(GroupInfo(parse_ir(CHAIN)), (F32,) * 3, (False,) * 3, "chain")
    assert k.in_params == "float32 a0, float32 a1, float32 a2"
    assert k.out_params == "float32 o0"
    assert k.body == """\
const float v0 = static_cast<float>((a0 * a1));
const float v1 = static_cast<float>((v0 + static_cast<float>(1.0) * a2));
const float v2 = static_cast<float>(tanh(v1));
const float v3 = static_cast<float>((1 / (1 + exp(-a0))));
const float v4 = static_cast<float>((v2 * v3));
const float v5 = static_cast<float>((a1 > 0 ? a1 : 0));
const float v6 = static_cast<float>((v5 * static_cast<float>(0.5)));
const float v7 = static_cast<float>((v4 - static_cast<float>(1.0) * v6));
const float v8 = static_cast<float>((-a2));
const float v9 = static_cast<float>((v8 * a2));
const float v10 = static_cast<float>(exp(v9));
const float v11 = static_cast<float>((v7 + static_cast<float>(1.0) * v10));
o0 = v11;
"""
    assert k.name.startswith("minijit_chain_")
    assert "cupy.ElementwiseKernel" in k.source and k.body in k.source


def test_mixed_dtypes_cast_to_the_compute_type_and_comparisons_give_bool():
    g = parse_ir("""graph(%a : Tensor, %b : Tensor):
  %1 : int = prim::Constant[value=1]()
  %3 : Tensor = aten::add(%a, %b, %1)
  %4 : Tensor = aten::lt(%3, %a)
  %5 : Tensor = aten::where(%4, %3, %a)
  return (%5, %4)
""")
    k = generate_cuda_kernel(GroupInfo(g), (F32, F64), (False, False))
    assert k.out_params == "float64 o0, bool o1"
    assert "static_cast<double>(a0) + static_cast<double>(1.0) * a1" in k.body
    assert "const bool v1" in k.body
    # int64 stays int64: long long arithmetic, an int literal.
    k = generate_cuda_kernel(GroupInfo(g), (I64, I64), (False, False))
    assert k.out_params == "int64 o0, bool o1"
    assert "const long long v0 = static_cast<long long>((a0 + 1LL * a1));" in k.body


def test_a_zero_dim_operand_does_not_promote_and_half_rounds_after_every_op():
    g = parse_ir("""graph(%a : Tensor, %b : Tensor):
  %3 : Tensor = aten::mul(%a, %b)
  %4 : Tensor = aten::tanh(%3)
  return (%4)
""")
    k = generate_cuda_kernel(GroupInfo(g), (F32, F64), (False, True))
    assert k.out_params == "float32 o0"
    half = np.dtype("float16")
    k = generate_cuda_kernel(GroupInfo(g), (half, half), (False, False))
    assert k.out_params == "float16 o0"
    assert "minijit_round_half" in k.body and "minijit_round_half" in k.preamble
    assert "o0 = static_cast<float16>(v1);" in k.body


def test_integer_templates_that_would_differ_from_eager_are_refused():
    assert cuda_template_problem("fabs({self})", _dt.int64) is not None
    assert cuda_template_problem("({self} / {other})", _dt.int32) is not None
    assert cuda_template_problem("(~{self})", _dt.bool_) is not None
    assert cuda_template_problem("(~{self})", _dt.int64) is None
    assert cuda_template_problem("minijit_clamp({self}, {min}, {max})", _dt.int64) is None
    g = parse_ir("""graph(%a : Tensor):
  %3 : Tensor = aten::abs(%a)
  %4 : Tensor = aten::neg(%3)
  return (%4)
""")
    with pytest.raises(KernelGenerationError, match="fabs, a floating-point function"):
        generate_cuda_kernel(GroupInfo(g), (I64,), (False,))


def test_the_key_is_the_structure_dtypes_and_backend():
    a = GroupInfo(parse_ir(CHAIN))
    b = GroupInfo(parse_ir(CHAIN.replace("%a", "%p")))
    assert kernel_key(a, (F32,) * 3, (False,) * 3) == kernel_key(b, (F32,) * 3, (False,) * 3)
    assert kernel_key(a, (F32,) * 3, (False,) * 3)[-1] == "cuda"
    assert kernel_key(a, (F64,) * 3, (False,) * 3) != kernel_key(a, (F32,) * 3, (False,) * 3)


def _one_node_group(op: Any, bound: List[Any]) -> Tuple[Graph, List[Any]]:
    import minijit
    g = Graph()
    inputs, arrays = [], []
    for value in bound:
        if isinstance(value, minijit.Tensor):
            inputs.append(g.add_input(None))
            arrays.append(value._data)
        else:
            inputs.append(g.insert_constant(value))
    node = g.insert_node(g.create_node(op.kind, inputs))
    g.register_output(node.output())
    return g, arrays


def test_every_pointwise_sample_generates_or_is_refused_for_a_documented_reason():
    made, refused = 0, []
    for op in registry.all_ops():
        if Tag.POINTWISE not in op.tags or Tag.INPLACE in op.tags or not op.numpy_template:
            continue
        assert op.cuda_template, op.kind
        for index, (args, kwargs) in enumerate(op.sample_inputs(sample_maker(0))):
            bound = dispatch.bind(op, args, kwargs)
            g, arrays = _one_node_group(op, bound)
            try:
                info = GroupInfo(g)
                dispatch.apply(op, list(bound))
            except Exception:  # noqa: BLE001 - an error sample: no kernel to make
                continue
            try:
                generate_cuda_kernel(info, [a.dtype for a in arrays], [a.ndim == 0 for a in arrays])
                made += 1
            except KernelGenerationError as exc:
                refused.append(f"{op.kind}-{index}: {exc}")
    unexplained = [r for r in refused if not any(a in r for a in ALLOWED_REFUSALS)]
    assert not unexplained
    assert made > 3 * len(refused)


# ---- nvcc -----------------------------------------------------------------------------------
def _record_fusion_suite(tmp_path: Any) -> List[Dict[str, Any]]:
    record = tmp_path / "groups.jsonl"
    env = dict(os.environ, MINIJIT_RECORD_GROUPS=str(record),
               PYTHONPATH=os.pathsep.join([ROOT, HERE, os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
         "-p", "fusion_group_recorder", os.path.join(HERE, "test_fuse.py"),
         os.path.join(HERE, "test_executor.py")],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return [json.loads(line) for line in record.read_text().splitlines()]


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="needs nvcc (the CUDA toolkit)")
def test_nvcc_compiles_the_cuda_kernel_of_every_group_in_the_fusion_suite(tmp_path):
    records = _record_fusion_suite(tmp_path)
    kernels, seen, refused = [], set(), []
    for r in records:
        info = GroupInfo(parse_ir(r["graph"]))
        dtypes = [np.dtype(d) for d in r["dtypes"]]
        key = kernel_key(info, dtypes, r["zero"])
        if key in seen:
            continue
        seen.add(key)
        try:
            kernels.append(generate_cuda_kernel(info, dtypes, r["zero"], f"k{len(seen)}"))
        except KernelGenerationError as exc:
            refused.append(f"{info.key} {r['dtypes']}: {exc}")
    unexplained = [r for r in refused if not any(a in r for a in ALLOWED_REFUSALS)]
    assert not unexplained, unexplained
    assert len(kernels) >= 100 and len(kernels) > 3 * len(refused)
    source = standalone_source(kernels[0]) + "".join(standalone_source(k, header=False)
                                                     for k in kernels[1:])
    cu = tmp_path / "fusion_suite.cu"
    cu.write_text(source)
    result = subprocess.run(["nvcc", "-ptx", "-std=c++17", "-o", str(tmp_path / "out.ptx"),
                             str(cu)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-5000:]
    ptx = (tmp_path / "out.ptx").read_text()
    for k in kernels:
        assert f".entry {k.name}(" in ptx
