"""The optimising executor: plans per signature, re-specialisation, threads, reports, options.

Every traced program of the tracer's conformance table also runs here through the executor
with fusion on, and must give eager's outputs and gradients.
"""
from __future__ import annotations

import os
import sys
import threading
import warnings

import numpy as np
import pytest

import minijit
from minijit.jit.ir import parse_ir
from minijit.jit.options import DEFAULT_OPTIONS, OptimizationOptions, set_fusion_enabled
from minijit.jit.runtime.executor import (GraphExecutor, last_executed_optimized_graph,
                                          last_optimization_report)
from minijit.jit.runtime.interpreter import InterpreterError, run_graph

sys.path.insert(0, os.path.dirname(__file__))
try:
    from trace_programs import PROGRAMS
except ImportError:  # pragma: no cover - the tracer's table is optional here
    PROGRAMS = []

# Plans from the first call (no profiling run), and a pass failing fails the test.
OPTS = OptimizationOptions(profiling_runs=0, fallback_on_error=False)

SIZE_DTYPE = """graph(%x : Tensor):
  %0 : int = prim::Constant[value=0]()
  %1 : int = prim::Constant[value=1]()
  %n : int = aten::size(%x, %0)
  %d : int = prim::dtype(%x)
  %y : Tensor = aten::mul(%x, %n)
  %z : Tensor = aten::add(%y, %d, %1)
  %w : Tensor = aten::tanh(%z)
  return (%w)
"""


def _np(t):
    return np.asarray(t.detach()._data)


# ---- plans and signatures ------------------------------------------------------------------------
def test_one_plan_per_signature_and_reuse():
    ex = GraphExecutor(parse_ir(SIZE_DTYPE), OPTS)
    x = minijit.rand(3, 4)
    for _ in range(5):
        ex.run((minijit.rand(3, 4),))
    assert ex.plans_built == 1
    ex.run((x,))
    ex.run((minijit.rand(3, 5),))
    assert ex.plans_built == 2


@pytest.mark.parametrize("change", ["shape", "dtype", "requires_grad", "grad_mode"])
def test_a_new_signature_re_specialises_instead_of_reusing_a_stale_plan(change):
    """The plan folds ``x.size(0)`` and ``x.dtype`` into constants, so reusing it for another
    signature would compute the wrong thing."""
    ex = GraphExecutor(parse_ir(SIZE_DTYPE), OPTS)
    first = minijit.rand(3, 4, dtype=minijit.float32)
    ex.run((first,))
    second = {"shape": lambda: minijit.rand(5, 4),
              "dtype": lambda: minijit.rand(3, 4, dtype=minijit.float64),
              "requires_grad": lambda: minijit.rand(3, 4).requires_grad_(),
              "grad_mode": lambda: minijit.rand(3, 4).requires_grad_()}[change]()
    if change == "grad_mode":
        ex.run((second,))
        with minijit.no_grad():
            out = ex.run((second,))
        assert not out.requires_grad
    else:
        out = ex.run((second,))
    expected = minijit.tanh(second * second.shape[0] + second.dtype.code)
    np.testing.assert_allclose(_np(out), _np(expected), rtol=1e-6)
    assert out.dtype == expected.dtype
    if change == "requires_grad":
        assert out.requires_grad and type(out.grad_fn).__name__ == "DifferentiableGraphBackward"
    assert ex.plans_built == (3 if change == "grad_mode" else 2)


def test_module_state_is_part_of_the_signature():
    lin = minijit.nn.Linear(4, 3)
    traced = minijit.jit.trace(lin, (minijit.rand(2, 4),))
    ex = GraphExecutor(traced._methods["forward"].graph, OPTS)
    x = minijit.rand(2, 4)
    with minijit.no_grad():
        ex.run((traced, x))
        lin.weight = minijit.nn.Parameter(minijit.rand(3, 4, dtype=minijit.float64))
        lin.bias = minijit.nn.Parameter(minijit.rand(3, dtype=minijit.float64))
        traced._parameters["weight"] = lin.weight
        traced._parameters["bias"] = lin.bias
        out = ex.run((traced, x.double()))
    assert ex.plans_built == 2 and out.dtype == minijit.float64


def test_eight_threads_mixed_signatures_same_results_and_each_plan_built_once():
    def f(a, b):
        return minijit.tanh(a * b + 1.0) * minijit.sigmoid(a) - b.relu() * 0.5
    traced = minijit.jit.trace(f, (minijit.rand(3, 4), minijit.rand(3, 4)))
    ex = GraphExecutor(traced.graph, OPTS)
    rng = np.random.default_rng(0)
    shapes = [((3, 4), (3, 4)), ((5, 4), (4,)), ((2, 3), (2, 3)), ((64, 128), (128,))]
    inputs = []
    for i in range(16):
        sa, sb = shapes[i % len(shapes)]
        dt = np.float32 if i % 3 else np.float64
        inputs.append((minijit.from_numpy(rng.standard_normal(sa).astype(dt)),
                       minijit.from_numpy(rng.standard_normal(sb).astype(dt))))
    with minijit.no_grad():
        serial = [_np(f(a, b)) for a, b in inputs]
    errors = []
    barrier = threading.Barrier(8)

    def worker(k):
        try:
            barrier.wait()
            with warnings.catch_warnings():
                for i in range(1000):
                    j = (i * 7 + k) % len(inputs)
                    out = ex.run(inputs[j])
                    if not np.array_equal(_np(out), serial[j]):
                        errors.append((k, i, j))
                        return
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    signatures = {tuple((a.dtype, tuple(a.shape)) for a in pair) for pair in inputs}
    assert ex.plans_built == len(signatures) == len(ex.plans())


# ---- what the optimiser shows --------------------------------------------------------------------
def test_graph_for_report_and_last_executed_graph():
    def f(a, b):
        return (a * b + 1.0).tanh().sum(), (a * b).exp()
    traced = minijit.jit.trace(f, (minijit.rand(3, 4), minijit.rand(3, 4)))
    ex = GraphExecutor(traced.graph, OPTS, name="f")
    args = (minijit.rand(3, 4), minijit.rand(3, 4))
    ex.run(args)
    graph = ex.graph_for(args)
    graph.lint()
    text = str(graph)
    assert "prim::FusionGroup_0(%a, %b)" in text and "with prim::FusionGroup_0 = graph(" in text
    assert last_executed_optimized_graph() is graph
    report = last_optimization_report()
    assert report is ex.report_for(args)
    names = [p.name for p in report.passes]
    for expected in ("inline", "shape_analysis", "constant_propagation", "peephole", "cse",
                     "dce", "fusion"):
        assert expected in names
    assert report.record("cse").changed            # a * b was computed twice
    assert report.fusion_groups[0].startswith("prim::FusionGroup_0: 4 ops")
    assert any("aten::sum" in text and "reduction" in why for text, why in report.not_fused)
    summary = str(report)
    assert "Optimization report for f" in summary and "not fused:" in summary
    assert report.mode == "raw arrays"


def test_set_fusion_enabled_and_options_objects():
    traced = minijit.jit.trace(lambda a: (a * 2.0).tanh(), (minijit.rand(3),))
    ex = GraphExecutor(traced.graph)              # reads DEFAULT_OPTIONS at every call
    x = minijit.rand(3)
    try:
        set_fusion_enabled(False)
        assert "FusionGroup" not in str(ex.graph_for((x,)))
        off = ex.run((x,))
    finally:
        set_fusion_enabled(True)
    assert DEFAULT_OPTIONS.fusion
    assert "FusionGroup" in str(ex.graph_for((x,)))
    np.testing.assert_array_equal(_np(off), _np(ex.run((x,))))
    plain = GraphExecutor(traced.graph, OptimizationOptions(enabled=False))
    np.testing.assert_array_equal(_np(plain.run((x,))), _np(off))
    assert plain.report_for((x,)).mode.startswith("interpreter")
    tensors = GraphExecutor(traced.graph, OPTS.replace(raw_arrays=False))
    np.testing.assert_array_equal(_np(tensors.run((x,))), _np(off))
    assert tensors.report_for((x,)).mode.startswith("tensors")


def test_every_pass_keeps_lint_clean_and_shows_its_graph():
    traced = minijit.jit.trace(lambda a, b: ((a + 0) * 1 - b).exp() * (a + 0),
                               (minijit.rand(3), minijit.rand(3)))
    ex = GraphExecutor(traced.graph, OPTS)              # options.lint is on: every pass is linted
    report = ex.report_for((minijit.rand(3), minijit.rand(3)))
    for record in report.passes:
        if record.changed:
            parse_ir(record.graph_after).lint()
    assert report.record("peephole").changed


def test_errors_name_the_failing_node():
    g = parse_ir("""graph(%a : Tensor, %b : Tensor):
  %c : Tensor = aten::matmul(%a, %b) # prog.py:3:4
  %d : Tensor = aten::tanh(%c)
  return (%d)
""")
    ex = GraphExecutor(g, OPTS)
    with pytest.raises(InterpreterError) as info:
        ex.run((minijit.rand(2, 3), minijit.rand(4, 5)))
    message = str(info.value)
    assert "prog.py:3:4" in message and "aten::matmul(%a, %b)" in message
    with pytest.raises(InterpreterError):
        run_graph(g, (minijit.rand(2, 3), minijit.rand(4, 5)))


def test_raw_plans_return_inputs_themselves_and_wrap_once():
    g = parse_ir("""graph(%a : Tensor, %b : Tensor):
  %c : Tensor = aten::tanh(%b)
  %t : (Tensor, Tensor) = prim::TupleConstruct(%a, %c)
  return (%t)
""")
    ex = GraphExecutor(g, OPTS)
    a, b = minijit.rand(2), minijit.rand(2)
    out = ex.run((a, b))
    assert ex.report_for((a, b)).mode == "raw arrays"
    assert out[0] is a and isinstance(out[1], minijit.Tensor)


def test_loops_unroll_and_fuse_across_iterations():
    g = parse_ir("""graph(%x : Tensor, %h : Tensor):
  %t : bool = prim::Constant[value=1]()
  %0 : int = prim::Constant[value=0]()
  %1 : int = prim::Constant[value=1]()
  %n : int = aten::size(%x, %0)
  %y : Tensor = prim::Loop(%n, %t, %h)
    block0(%i : int, %h.1 : Tensor):
      %xi : Tensor = aten::select(%x, %0, %i)
      %s : Tensor = aten::add(%xi, %h.1, %1)
      %h.2 : Tensor = aten::tanh(%s)
      -> (%t, %h.2)
  return (%y)
""")
    ex = GraphExecutor(g, OPTS)
    xs, h = minijit.rand(4, 3), minijit.rand(3)
    out = ex.run((xs, h))
    expected = h
    for i in range(4):
        expected = minijit.tanh(xs[i] + expected)
    np.testing.assert_allclose(_np(out), _np(expected), rtol=1e-6)
    graph = str(ex.graph_for((xs, h)))
    # Unrolled, the four iterations' adds and tanhs become one kernel.
    assert "prim::Loop" not in graph and "prim::FusionGroup_1" not in graph
    assert ex.report_for((xs, h)).fusion_groups[0].startswith("prim::FusionGroup_0: 8 ops")
    long = minijit.rand(40, 3)                   # beyond the unroll limit: the loop stays
    out = ex.run((long, h))
    assert "prim::Loop" in str(ex.graph_for((long, h)))
    expected = h
    for i in range(40):
        expected = minijit.tanh(long[i] + expected)
    np.testing.assert_allclose(_np(out), _np(expected), rtol=1e-5)


# ---- the tracer's programs, fused ----------------------------------------------------------------
def _load(source, inputs_expr):
    namespace = {"torch": minijit, "__name__": "__main__"}
    exec(compile(source, "<program>", "exec"), namespace)
    minijit.manual_seed(0)
    fn = namespace["fn"]
    if isinstance(fn, type):
        fn = fn()
    minijit.manual_seed(1)
    return fn, eval(inputs_expr, {"torch": minijit})


def _flat(x):
    if isinstance(x, (list, tuple)):
        return [y for item in x for y in _flat(item)]
    return [x]


@pytest.mark.parametrize("name,source,inputs", PROGRAMS, ids=[p[0] for p in PROGRAMS])
def test_traced_programs_fused_agree_with_eager(name, source, inputs):
    fn, args = _load(source, inputs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = minijit.jit.trace(fn, args, check_trace=False)
    if isinstance(traced, minijit.jit.ScriptModule):
        graph, prefix = traced._methods["forward"].graph, (traced,)
    else:
        graph, prefix = traced.graph, ()
    ex = GraphExecutor(graph, OPTS)
    with minijit.no_grad():
        expected = _flat(fn(*args))
        got = _flat(ex.run(prefix + tuple(args)))
    for e, g in zip(expected, got):
        np.testing.assert_allclose(_np(g), _np(e), rtol=1e-6, atol=1e-7)
    # With gradients: the same values and the same gradients.
    grad_args = tuple(a.detach().requires_grad_() if a.dtype.is_floating_point else a
                      for a in args)
    params = list(fn.parameters()) if hasattr(fn, "parameters") else []
    results = []
    for run in (lambda: fn(*grad_args), lambda: ex.run(prefix + grad_args)):
        for t in list(grad_args) + params:
            t.grad = None
        outs = [o for o in _flat(run()) if isinstance(o, minijit.Tensor) and o.requires_grad]
        if not outs:
            return
        total = sum((o * (k + 1.5)).sum() for k, o in enumerate(outs))
        total.backward()
        results.append([None if t.grad is None else _np(t.grad).copy()
                        for t in list(grad_args) + params])
    for e, g in zip(*results):
        if e is None:
            assert g is None
        else:
            np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)


# ---- the scripter's programs, fused --------------------------------------------------------------
try:
    from script_programs import PROGRAMS as SCRIPT_PROGRAMS
except ImportError:  # pragma: no cover
    SCRIPT_PROGRAMS = []

_RUNNABLE = [p for p in SCRIPT_PROGRAMS if p[2]]


def _script_program(name, source, directory):
    directory.mkdir(exist_ok=True)
    path = directory / f"{name}.py"
    path.write_text(source)
    namespace = {"torch": minijit, "__name__": "__main__"}
    minijit.manual_seed(0)                 # the same parameters for both instances
    exec(compile(source, str(path), "exec", dont_inherit=True), namespace)
    minijit.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return minijit.jit.script(namespace["fn"])


def _script_inputs(expr, grad):
    minijit.manual_seed(1)
    values = eval(expr, {"torch": minijit})
    if grad:
        values = tuple(v.detach().requires_grad_() if isinstance(v, minijit.Tensor)
                       and v.dtype.is_floating_point else v for v in values)
    return values


def _values(x):
    return [(_np(v) if isinstance(v, minijit.Tensor) else v) for v in _flat(x)]


@pytest.mark.parametrize("name,source,inputs", _RUNNABLE, ids=[p[0] for p in _RUNNABLE])
def test_scripted_programs_fused_agree_with_the_interpreter(name, source, inputs, tmp_path,
                                                            capsys):
    scripted = _script_program(name, source, tmp_path / "reference")
    # A second, identical instance for the executor: programs may change module state.
    twin = _script_program(name, source, tmp_path / "fused")
    if isinstance(twin, minijit.jit.ScriptModule):
        graph, prefix = twin._methods["forward"].graph, (twin,)
    else:
        graph, prefix = twin.graph, ()
    ex = GraphExecutor(graph, OPTS)
    for grad in (False, True):
        reference_in, fused_in = _script_inputs(inputs, grad), _script_inputs(inputs, grad)
        try:
            expected = scripted(*reference_in)
        except Exception as exc:  # noqa: BLE001 - the fused plan must fail the same way
            with pytest.raises(type(exc)):
                ex.run(prefix + fused_in)
            return
        got = ex.run(prefix + fused_in)
        for e, g in zip(_values(expected), _values(got)):
            if isinstance(e, np.ndarray):
                assert g.dtype == e.dtype and g.shape == e.shape
                np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-7)
            else:
                assert type(g) is type(e) and g == e
        if not grad:
            continue
        outs = [[o for o in _flat(r) if isinstance(o, minijit.Tensor) and o.requires_grad]
                for r in (expected, got)]
        if not outs[0]:
            continue
        for ins, os_ in zip((reference_in, fused_in), outs):
            sum((o * 1.5).sum() for o in os_).backward()
        for a, b in zip(reference_in, fused_in):
            if isinstance(a, minijit.Tensor) and a.requires_grad:
                assert (a.grad is None) == (b.grad is None)
                if a.grad is not None:
                    np.testing.assert_allclose(_np(b.grad), _np(a.grad), rtol=1e-5, atol=1e-6)
    capsys.readouterr()


def test_the_first_call_is_a_profiling_run_as_in_torchscript():
    """PyTorch's profiling executor runs a new signature once as written (eager ``grad_fn``
    names), then optimises: ``MulBackward0`` first, ``DifferentiableGraphBackward`` after."""
    traced = minijit.jit.trace(lambda a: (a * a).tanh() * 2.0, (minijit.rand(3),))
    ex = GraphExecutor(traced.graph)              # the default options: one profiling run
    x = minijit.rand(3).requires_grad_()
    first, second = ex.run((x,)), ex.run((x,))
    assert first.grad_fn.name() == "MulBackward0"
    assert second.grad_fn.name() == "DifferentiableGraphBackward"
    assert repr(second).endswith("grad_fn=<DifferentiableGraphBackward>)")
    assert ex.plans_built == 1
    np.testing.assert_array_equal(_np(first), _np(second))


def test_plans_are_bounded():
    ex = GraphExecutor(parse_ir(SIZE_DTYPE), OPTS.replace(max_plans=3))
    for n in range(1, 7):
        ex.run((minijit.rand(n, 2),))
    assert ex.plans_built == 6 and len(ex.plans()) == 3


def test_a_fresh_process_builds_optimised_plans():
    """Import order matters for circular imports; the fallback would hide them, so build a
    plan needing gradients in a new interpreter and look at its report."""
    import subprocess
    code = ("import minijit\n"
            "from minijit.jit.runtime.executor import GraphExecutor\n"
            "from minijit.jit.options import OptimizationOptions\n"
            "t = minijit.jit.trace(lambda a: (a * a).tanh(), (minijit.rand(3),))\n"
            "ex = GraphExecutor(t.graph, OptimizationOptions(profiling_runs=0))\n"
            "print(ex.report_for((minijit.rand(3).requires_grad_(),)).mode)\n")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=root, timeout=60)
    assert out.stdout.strip() == "tensors (gradients)", out.stdout + out.stderr


@minijit.jit.script
def _overflows(x, y):
    return ((x * y).sum() + minijit.log(x - x)).sum()


@pytest.mark.parametrize("grad", [False, True])
def test_plans_are_as_quiet_as_eager_about_inf_and_nan(grad):
    # 1e30 * 1e30 overflows to inf and log(0) is -inf: PyTorch says nothing, nor may a plan
    # whose lines call NumPy directly.
    x = minijit.full([3], 1e30).requires_grad_(grad)
    ex = GraphExecutor(_overflows.graph, OPTS)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(2):
            out = ex.run((x, x))
            if grad:
                out.backward()
    assert np.isnan(out.item())                  # inf + -inf
