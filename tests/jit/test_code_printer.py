"""The ``.code`` printer: TorchScript's Python dialect, byte for byte (reference §2).

Most goldens pair a real PyTorch graph (§1, source comments dropped) with the ``.code`` that
PyTorch printed for it (§2).  Operator schemas come from a small local table (the printer's
``schema_resolver`` hook), so these tests do not depend on what the op registry holds.
"""
from __future__ import annotations

from typing import Any, Dict, List, Tuple

import numpy as np
import pytest

from minijit.jit.codegen.python_printer import (
    ModifiedLoopError,
    PythonPrinter,
    print_function,
    print_method,
)
from minijit.jit.ir import (
    ClassType,
    FunctionType,
    Graph,
    IntType,
    ListType,
    NoneType,
    OptionalType,
    TensorType,
    TupleType,
    parse_ir,
)
from minijit.ops.schema import parse_schema

SCHEMAS = """
aten::add.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor
aten::add.int(int a, int b) -> int
aten::sum(Tensor self, *, ScalarType? dtype=None) -> Tensor
aten::sum.dim_IntList(Tensor self, int[1]? dim, bool keepdim=False, *, ScalarType? dtype=None) -> Tensor
aten::zeros(int[] size, *, ScalarType? dtype=None, Layout? layout=None, Device? device=None, bool? pin_memory=None) -> Tensor
aten::ones(int[] size, *, ScalarType? dtype=None, Layout? layout=None, Device? device=None, bool? pin_memory=None) -> Tensor
aten::cat(Tensor[] tensors, int dim=0) -> Tensor
aten::to.device(Tensor self, Device device, ScalarType dtype, bool non_blocking=False, bool copy=False, MemoryFormat? memory_format=None) -> Tensor
aten::to.dtype(Tensor self, ScalarType dtype, bool non_blocking=False, bool copy=False, MemoryFormat? memory_format=None) -> Tensor
aten::linear(Tensor input, Tensor weight, Tensor? bias=None) -> Tensor
aten::sum.IntList_out(Tensor self, int[1]? dim, *, Tensor(a!) out) -> Tensor(a!)
prim::RaiseException(str msg, str? cls=None) -> ()
"""
TABLE: Dict[Tuple[str, int], Any] = {}
for _line in SCHEMAS.strip().splitlines():
    _schema = parse_schema(_line)
    TABLE.setdefault((_schema.kind, len(_schema.arguments)), _schema)


def resolver(kind: str, num_inputs: int) -> Any:
    return TABLE.get((kind, num_inputs))


def code(graph: Graph, name: str, method: bool = False, **kwargs: Any) -> str:
    graph.lint()
    return print_method(graph, name, is_method=method, schema_resolver=resolver, **kwargs)


# (function name, is a method, §1 graph, §2 .code)
CASES = [
    ("forward", True, """graph(%self.1 : __torch__.M,
      %x : Float(2, 4, strides=[4, 1], requires_grad=0, device=cpu)):
  %linear : __torch__.torch.nn.modules.linear.Linear = prim::GetAttr[name="linear"](%self.1)
  %18 : Tensor = prim::CallMethod[name="forward"](%linear, %x)
  %10 : Float(2, 3, strides=[3, 1], requires_grad=1, device=cpu) = aten::relu(%18)
  %11 : Long(requires_grad=0, device=cpu) = prim::Constant[value={2}]()
  %12 : Float(2, 3, strides=[3, 1], requires_grad=1, device=cpu) = aten::mul(%10, %11)
  return (%12)
""",
     """def forward(self,
    x: Tensor) -> Tensor:
  linear = self.linear
  _0 = torch.mul(torch.relu((linear).forward(x, )), CONSTANTS.c0)
  return _0
"""),
    ("forward", True, """graph(%self.7 : __torch__.torch.nn.modules.container.Sequential,
      %4 : Float(3, 2, strides=[2, 1], requires_grad=1, device=cpu)):
  %_1 : __torch__.torch.nn.modules.activation.Tanh = prim::GetAttr[name="1"](%self.7)
  %_0 : __torch__.torch.nn.modules.linear.___torch_mangle_1.Linear = prim::GetAttr[name="0"](%self.7)
  %6 : Tensor = prim::CallMethod[name="forward"](%_0, %4)
  %7 : Tensor = prim::CallMethod[name="forward"](%_1, %6)
  return (%7)
""",
     """def forward(self,
    argument_1: Tensor) -> Tensor:
  _1 = getattr(self, "1")
  _0 = getattr(self, "0")
  _2 = (_1).forward((_0).forward(argument_1, ), )
  return _2
"""),
    ("f_if", False, """graph(%x.1 : Tensor,
      %flag.1 : bool):
  %5 : int = prim::Constant[value=1]()
  %9 : int = prim::Constant[value=2]()
  %y : Tensor = prim::If(%flag.1)
    block0():
      %y.1 : Tensor = aten::add(%x.1, %5, %5)
      -> (%y.1)
    block1():
      %y.3 : Tensor = aten::mul(%x.1, %9)
      -> (%y.3)
  return (%y)
""",
     """def f_if(x: Tensor,
    flag: bool) -> Tensor:
  if flag:
    y = torch.add(x, 1)
  else:
    y = torch.mul(x, 2)
  return y
"""),
    ("f_for", False, """graph(%x.1 : Tensor,
      %n.1 : int):
  %10 : int = prim::Constant[value=1]()
  %6 : bool = prim::Constant[value=1]()
  %acc : Tensor = prim::Loop(%n.1, %6, %x.1)
    block0(%i.1 : int, %acc.9 : Tensor):
      %acc.3 : Tensor = aten::add(%acc.9, %i.1, %10)
      -> (%6, %acc.3)
  return (%acc)
""",
     """def f_for(x: Tensor,
    n: int) -> Tensor:
  acc = x
  for i in range(n):
    acc = torch.add(acc, i)
  return acc
"""),
    ("f_while", False, """graph(%x.1 : Tensor):
  %39 : bool = prim::Constant[value=1]()
  %i.1 : int = prim::Constant[value=0]()
  %2 : int = prim::Constant[value=9223372036854775807]()
  %4 : int = prim::Constant[value=10]()
  %9 : int = prim::Constant[value=2]()
  %13 : int = prim::Constant[value=1]()
  %x : Tensor, %i : int = prim::Loop(%2, %39, %x.1, %i.1)
    block0(%7 : int, %x.11 : Tensor, %i.13 : int):
      %x.5 : Tensor = aten::mul(%x.11, %9)
      %i.7 : int = aten::add(%i.13, %13)
      %5 : bool = aten::lt(%i.7, %4)
      -> (%5, %x.5, %i.7)
  %18 : (Tensor, int) = prim::TupleConstruct(%x, %i)
  return (%18)
""",
     """def f_while(x: Tensor) -> Tuple[Tensor, int]:
  x0 = x
  i = 0
  _0 = True
  while _0:
    x1 = torch.mul(x0, 2)
    i0 = torch.add(i, 1)
    _0, x0, i = torch.lt(i0, 10), x1, i0
  return (x0, i)
"""),
    ("f_for_list", False, """graph(%xs.1 : Tensor[]):
  %15 : int = prim::Constant[value=1]()
  %10 : bool = prim::Constant[value=1]()
  %3 : NoneType = prim::Constant()
  %1 : int = prim::Constant[value=3]()
  %2 : int[] = prim::ListConstruct(%1)
  %out.1 : Tensor = aten::zeros(%2, %3, %3, %3, %3)
  %9 : int = aten::len(%xs.1)
  %out : Tensor = prim::Loop(%9, %10, %out.1)
    block0(%11 : int, %out.11 : Tensor):
      %t.1 : Tensor = aten::__getitem__(%xs.1, %11)
      %out.5 : Tensor = aten::add(%out.11, %t.1, %15)
      -> (%10, %out.5)
  return (%out)
""",
     """def f_for_list(xs: List[Tensor]) -> Tensor:
  out = torch.zeros([3])
  out0 = out
  for _0 in range(torch.len(xs)):
    t = xs[_0]
    out0 = torch.add(out0, t)
  return out0
"""),
    ("f_tuple2", False, """graph(%t.1 : (Tensor, int)):
  %a.1 : Tensor, %n.1 : int = prim::TupleUnpack(%t.1)
  %6 : Tensor = aten::mul(%a.1, %n.1)
  return (%6)
""",
     """def f_tuple2(t: Tuple[Tensor, int]) -> Tensor:
  a, n, = t
  return torch.mul(a, n)
"""),
    ("f_list", False, """graph(%x.1 : Tensor,
      %y.1 : Tensor):
  %9 : int = prim::Constant[value=0]()
  %l.1 : Tensor[] = prim::ListConstruct(%x.1, %y.1)
  %7 : Tensor[] = aten::append(%l.1, %x.1)
  %10 : Tensor = aten::cat(%l.1, %9)
  return (%10)
""",
     """def f_list(x: Tensor,
    y: Tensor) -> Tensor:
  l = [x, y]
  _0 = torch.append(l, x)
  return torch.cat(l)
"""),
    ("f_single_tuple", False, """graph(%x.1 : Tensor):
  %2 : (Tensor) = prim::TupleConstruct(%x.1)
  return (%2)
""",
     """def f_single_tuple(x: Tensor) -> Tuple[Tensor]:
  return (x,)
"""),
    ("f_consts", False, """graph(%x.1 : Tensor):
  %25 : int = prim::Constant[value=1]()
  %16 : int = prim::Constant[value=7]()
  %10 : bool = prim::Constant[value=0]()
  %9 : int = prim::Constant[value=-1]()
  %e.1 : str = prim::Constant[value="hello"]()
  %d.1 : NoneType = prim::Constant()
  %c.1 : bool = prim::Constant[value=1]()
  %a.1 : int = prim::Constant[value=3]()
  %b.1 : float = prim::Constant[value=2.5]()
  %14 : int = prim::Constant[value=2]()
  %11 : int[] = prim::ListConstruct(%9)
  %f.1 : Tensor = aten::sum(%x.1, %11, %10, %d.1)
  %15 : int[] = prim::ListConstruct(%14, %14)
  %g.1 : Tensor = aten::zeros(%15, %16, %d.1, %d.1, %d.1)
  %23 : Tensor = aten::mul(%x.1, %a.1)
  %26 : Tensor = aten::add(%23, %b.1, %25)
  %32 : (Tensor, bool, NoneType, str, Tensor, Tensor) = prim::TupleConstruct(%26, %c.1, %d.1, %e.1, %f.1, %g.1)
  return (%32)
""",
     """def f_consts(x: Tensor) -> Tuple[Tensor, bool, NoneType, str, Tensor, Tensor]:
  f = torch.sum(x, [-1])
  g = torch.zeros([2, 2], dtype=7)
  _0 = (torch.add(torch.mul(x, 3), 2.5), True, None, "hello", f, g)
  return _0
"""),
    ("lists_cp", False, """graph(%x.1 : Tensor):
  %1 : NoneType = prim::Constant()
  %2 : bool = prim::Constant[value=1]()
  %13 : int[] = prim::Constant[value=[2, 3]]()
  %8 : Tensor = aten::view(%x.1, %13)
  %14 : int[] = prim::Constant[value=[1, 0]]()
  %10 : Tensor = aten::permute(%8, %14)
  %15 : int[] = prim::Constant[value=[0, 1]]()
  %12 : Tensor = aten::sum(%10, %15, %2, %1)
  return (%12)
""",
     """def lists_cp(x: Tensor) -> Tensor:
  _0 = torch.permute(torch.view(x, [2, 3]), [1, 0])
  return torch.sum(_0, [0, 1], True)
"""),
    ("tup_cp", False, """graph():
  %7 : (int, (float, str), int[]) = prim::Constant[value=(1, (2., "a"), [3, 4])]()
  return (%7)
""",
     """def tup_cp() -> Tuple[int, Tuple[float, str], List[int]]:
  return (1, (2., "a"), [3, 4])
"""),
    ("f_opt", False, """graph(%x.1 : Tensor,
      %b.1 : Tensor?):
  %10 : int = prim::Constant[value=1]()
  %3 : NoneType = prim::Constant()
  %4 : bool = aten::__isnot__(%b.1, %3)
  %35 : Tensor = prim::If(%4)
    block0():
      %b.7 : Tensor = prim::unchecked_cast(%b.1)
      %11 : Tensor = aten::add(%x.1, %b.7, %10)
      -> (%11)
    block1():
      -> (%x.1)
  return (%35)
""",
     """def f_opt(x: Tensor,
    b: Optional[Tensor]=None) -> Tensor:
  if torch.__isnot__(b, None):
    b0 = unchecked_cast(Tensor, b)
    _0 = torch.add(x, b0)
  else:
    _0 = x
  return _0
"""),
    ("caller", False, """graph(%x.1 : Tensor):
  %3 : Function = prim::Constant[name="helper"]()
  %2 : int = prim::Constant[value=3]()
  %6 : int = prim::Constant[value=1]()
  %4 : Tensor = prim::CallFunction(%3, %x.1, %2)
  %8 : Tensor = prim::CallFunction(%3, %x.1, %6)
  %10 : Tensor = aten::add(%4, %8, %6)
  return (%10)
""",
     """def caller(x: Tensor) -> Tensor:
  _0 = torch.add(__torch__.helper(x, 3, ), __torch__.helper(x, 1, ))
  return _0
"""),
    ("f_dev", False, """graph(%x.1 : Tensor):
  %11 : int = prim::Constant[value=4]()
  %7 : NoneType = prim::Constant()
  %5 : bool = prim::Constant[value=0]()
  %4 : int = prim::Constant[value=6]()
  %46 : Device = prim::Constant[value="cpu"]()
  %9 : int = prim::Constant[value=2]()
  %10 : int = prim::Constant[value=3]()
  %29 : int = prim::Constant[value=1]()
  %y.1 : Tensor = aten::to(%x.1, %46, %4, %5, %5, %7)
  %13 : Device = prim::device(%x.1)
  %14 : int[] = prim::ListConstruct(%9, %10)
  %z.1 : Tensor = aten::ones(%14, %11, %7, %13, %7)
  %24 : Tensor = aten::to(%z.1, %4, %5, %5, %7)
  %26 : Tensor = aten::add(%y.1, %24, %29)
  %28 : int[] = aten::size(%x.1)
  %30 : int = aten::__getitem__(%28, %29)
  %32 : Tensor = aten::add(%26, %30, %29)
  %34 : int = aten::dim(%x.1)
  %36 : Tensor = aten::add(%32, %34, %29)
  return (%36)
""",
     """def f_dev(x: Tensor) -> Tensor:
  y = torch.to(x, torch.device("cpu"), 6)
  _0 = ops.prim.device(x)
  z = torch.ones([2, 3], dtype=4, layout=None, device=_0)
  _1 = torch.add(torch.add(y, torch.to(z, 6)), (torch.size(x))[1])
  return torch.add(_1, torch.dim(x))
"""),
]
DEFAULTS = {"f_opt": {"b": None}}


@pytest.mark.parametrize("name,method,graph_text,expected", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_reference_examples(name: str, method: bool, graph_text: str, expected: str) -> None:
    constants: List[Any] = []
    g = parse_ir(graph_text)
    assert code(g, name, method, constants=constants, defaults=DEFAULTS.get(name)) == expected
    assert all(isinstance(c, np.ndarray) for c in constants)


# -- more §1/§2 pairs, read from the reference file when it is present ---------------------------
def _reference_sections() -> Tuple[List[str], List[List[str]]]:
    """(§1 graph texts, §2 ``def`` blocks as line lists) from the reference, if present."""
    from pathlib import Path
    here = Path(__file__).resolve()
    paths = [p / "shared" / "reference" / "torchscript-formats.md" for p in here.parents[1:4]]
    path = next((p for p in paths if p.is_file()), None)
    if path is None:
        return [], []
    lines = path.read_text(encoding="utf-8").split("\n")

    def fenced(lo: int, hi: int) -> List[List[str]]:
        blocks: List[List[str]] = []
        inside = False
        for line in lines[lo:hi]:
            if line.startswith("```"):
                inside = not inside
                if inside:
                    blocks.append([])
            elif inside:
                blocks[-1].append(line)
        return blocks

    graphs: List[str] = []
    for block in fenced(13, 845):
        start = None
        for i, line in enumerate(block):
            if line.startswith("graph(") and start is None:
                start = i
            elif start is not None and line.startswith("  return ("):
                graphs.append("\n".join(block[start:i + 1]) + "\n")
                start = None
    defs: List[List[str]] = []
    for block in fenced(844, 1291):
        current = None
        for line in block:
            if line.startswith("def "):
                current = [line]
                defs.append(current)
            elif current is not None and line.strip():
                current.append(line)
    return graphs, defs


REF_GRAPHS, REF_DEFS = _reference_sections()
# (graph index in §1, name of the §2 function, occurrence of that name, is a method)
REF_PAIRS = [(2, "forward", 1, True), (6, "f_if_tensor", 0, False), (10, "f_break", 0, False),
             (11, "early_in_loop", 0, False), (12, "f_tuple", 0, False),
             (15, "f_dict", 0, False), (19, "f", 0, False), (20, "s", 0, False),
             (27, "forward", 4, True), (29, "f_misc", 0, False), (30, "f_minmax", 0, False)]


@pytest.mark.skipif(not REF_GRAPHS, reason="shared/reference/torchscript-formats.md not found")
@pytest.mark.parametrize("index,name,occurrence,method", REF_PAIRS)
def test_reference_file_pairs(index: int, name: str, occurrence: int, method: bool) -> None:
    matches = [d for d in REF_DEFS if d[0].startswith(f"def {name}(")]
    expected = "\n".join(matches[occurrence]) + "\n"
    assert code(parse_ir(REF_GRAPHS[index]), name, method) == expected


# -- graphs built with the API ----------------------------------------------------------------
def method_graph(class_name: str = "__torch__.M") -> Tuple[Graph, Any]:
    g = Graph()
    return g, g.add_input("self", ClassType(class_name))


def test_empty_traced_forward_returns_none() -> None:
    """The seed tutorial: a traced ``forward`` that returns nothing."""
    g, _ = method_graph()
    g.add_input()
    g.register_output(g.insert_constant(None))
    assert code(g, "forward", True) == \
        "def forward(self,\n    argument_1: Tensor) -> NoneType:\n  return None\n"


def test_attributes_calls_and_names() -> None:
    g, self_ = method_graph()
    x = g.add_input("input.1")
    get = g.insert_node(g.create_node("prim::GetAttr", [self_]))
    get.attrs["name"] = "count"
    get.output().type = IntType
    one = g.insert_constant(1)
    add = g.insert_node(g.create_node("aten::add", [get.output(), one]))
    add.output().type = IntType
    set_ = g.insert_node(g.create_node("prim::SetAttr", [self_, add.output()], 0))
    set_.attrs["name"] = "count"
    fn = g.insert_node(g.create_node("prim::Constant"))
    fn.attrs["name"] = "relu"
    fn.output().type = FunctionType.named("__torch__.my_package.helpers.normalize")
    call = g.insert_node(g.create_node("prim::CallFunction", [fn.output(), x]))
    call.output().set_debug_name("as")                  # a reserved word gets a counter
    relu = g.insert_node(g.create_node("aten::relu", [call.output()]))
    g.register_output(relu.output())
    assert code(g, "forward", True) == """def forward(self,
    input: Tensor) -> Tensor:
  _0 = __torch__.my_package.helpers.normalize
  self.count = torch.add(self.count, 1)
  as0 = _0(input, )
  return torch.relu(as0)
"""


def test_special_forms() -> None:
    g = parse_ir("""graph(%x : Tensor, %t : (int, int), %o : Tensor?):
  %none : NoneType = prim::Constant()
  %0 : int = prim::Constant[value=0]()
  %1 : int = prim::TupleIndex(%t, %0)
  %2 : (int) = prim::TupleSlice[beg=1, end=2](%t)
  %3 : Tensor?[] = prim::ListConstruct(%x, %none)
  %4 : int = aten::IntImplicit(%x)
  %5 : bool = prim::isinstance[types=[int, str]](%o)
  %6 : Tensor = prim::Uninitialized()
  %7 : float = aten::Float(%x)
  %8 : Dict(str, Tensor?) = prim::DictConstruct()
   = prim::Print(%1, %2, %3, %4, %5, %6, %7, %8)
  %9 : Tensor = prim::unchecked_cast(%o)
  return (%9)""")
    assert code(g, "forms") == """def forms(x: Tensor,
    t: Tuple[int, int],
    o: Optional[Tensor]) -> Tensor:
  _0 = (t)[0]
  _1 = (t)[1:2]
  _2 = annotate(List[Optional[Tensor]], [x, None])
  _3 = annotate(int, x)
  _4 = isinstance(o, (int, str))
  _5 = uninitialized(Tensor)
  _6 = float(x)
  _7 = annotate(Dict[str, Optional[Tensor]], {})
  print(_0, _1, _2, _3, _4, _5, _6, _7)
  return unchecked_cast(Tensor, o)
"""


def test_constants_table_and_long_constants() -> None:
    g = Graph()
    x = g.add_input("x")
    a = g.insert_constant(np.array([1.0, 2.0]))
    b = g.insert_constant(np.array([1.0, 2.0]))            # equal: shares CONSTANTS.c0
    c = g.insert_constant(np.array([3, 4]))
    s = g.insert_constant("a string constant that is much too long to inline")
    u = g.insert_constant(("caf\u00e9", 1))
    tup = g.insert_node(g.create_node("prim::TupleConstruct", [x, a, b, c, s, u]))
    tup.output().type = TupleType([TensorType()] * 4 + [ListType(IntType), NoneType])
    g.register_output(tup.output())
    table: List[Any] = ["existing"]
    text = code(g, "consts", constants=table)
    assert text.splitlines()[1] == '  _0 = "a string constant that is much too long to inline"'
    assert "(x, CONSTANTS.c1, CONSTANTS.c1, CONSTANTS.c2, _0, CONSTANTS.c3)" in text
    assert len(table) == 4 and table[3] == ("caf\u00e9", 1)


def test_schema_drives_defaults_kwargs_and_out_arguments() -> None:
    g = parse_ir("""graph(%x : Tensor, %out : Tensor):
  %none : NoneType = prim::Constant()
  %f : bool = prim::Constant[value=0]()
  %i : int = prim::Constant[value=0]()
  %one : float = prim::Constant[value=1.]()
  %5 : int[] = prim::ListConstruct(%i)
  %a : Tensor = aten::sum(%x, %5, %f, %none)
  %b : Tensor = aten::add(%a, %x, %one)
  %6 : int[] = prim::ListConstruct(%i)
  %c : Tensor = aten::sum(%b, %6, %out)
  %d : Tensor = aten::unknown_op(%c, %none, %f)
  return (%d)""")
    assert code(g, "kw").splitlines()[2:] == [
        "  a = torch.sum(x, [0])",
        "  b = torch.add(a, x, alpha=1.)",             # 1. is not the int default 1
        "  c = torch.sum(b, [0], out=out)",
        "  return torch.unknown_op(c, None, False)"]  # no schema: every input, in order


def test_optional_values_are_annotated_once() -> None:
    g = parse_ir("""graph(%x.1 : Tensor, %flag.1 : bool):
  %r.1 : NoneType = prim::Constant()
  %r : Tensor? = prim::If(%flag.1)
    block0():
      -> (%x.1)
    block1():
      -> (%r.1)
  return (%r)""")
    assert code(g, "optional_ret", return_type=OptionalType(TensorType())) == """\
def optional_ret(x: Tensor,
    flag: bool) -> Optional[Tensor]:
  if flag:
    r : Optional[Tensor] = x
  else:
    r = None
  return r
"""


def test_loop_that_mixes_for_and_while_cannot_print() -> None:
    g = parse_ir("""graph(%n : int, %c : bool):
   = prim::Loop(%n, %c)
    block0(%i : int):
      -> (%c)
  return ()""")
    with pytest.raises(ModifiedLoopError, match="combined while and for loops"):
        code(g, "bad")


def test_one_printer_shares_counters_across_functions() -> None:
    """``.code`` restarts ``_N`` per method; an archive printer (one instance) does not."""
    g = parse_ir("""graph(%x : Tensor):
  %1 : Tensor = aten::relu(%x)
  %2 : Tensor = aten::mul(%1, %1)
  return (%2)""")
    printer = PythonPrinter(schema_resolver=resolver)
    printer.print_function(g, "a")
    printer.print_function(g, "b")
    assert printer.str().count("_0 = torch.relu(x)") == 1 and "_1 = torch.relu(x)" in printer.str()
    assert print_function(g, "a") == print_function(g, "a")
    methods = PythonPrinter(schema_resolver=resolver)
    graph, self_ = method_graph("__torch__.Net")
    get = graph.insert_node(graph.create_node("prim::GetAttr", [self_]))
    get.attrs["name"] = "sub"
    get.output().type = ClassType("__torch__.Sub")
    graph.register_output(get.output())
    methods.print_function(graph, "forward", is_method=True)
    assert [str(t) for t in methods.deps] == ["__torch__.Net", "__torch__.Sub"]


def test_docstring_examples() -> None:
    import doctest

    from minijit.jit.codegen import python_printer
    assert doctest.testmod(python_printer).failed == 0


def torch_nodes(block: Any) -> List[Any]:
    """A PyTorch graph's nodes in the order of ``Graph.all_nodes()``."""
    out = []
    for n in block.nodes():
        out.append(n)
        for b in n.blocks():
            out += torch_nodes(b)
    return out


@pytest.mark.conformance
def test_scripted_functions_match_pytorch(tmp_path: Any, monkeypatch: Any) -> None:
    """Script real functions with PyTorch; our printer must reproduce ``fn.code``."""
    torch = pytest.importorskip("torch")
    source = '''import torch
from typing import Optional, Tuple
def f_longexpr(alpha_tensor_input, beta_tensor_input):
    return torch.relu(alpha_tensor_input) + torch.sigmoid(beta_tensor_input) * torch.tanh(
        alpha_tensor_input)
def f_idx(x, t: Tuple[int, int]):
    return x[0] + x[1:3, ::2].sum() + x[:, None, 0].sum() * t[0]
def f_inplace(x):
    y = x.clone()
    y += 1
    y[0] = 5.0
    return y
def f_conv(x):
    a = int(x.sum())
    return a, float(x.mean()), str(a), bool(x.any())
def opt_loop(x, n: int, s: str = "h\\u00e9"):
    best: Optional[torch.Tensor] = None
    for i in range(n):
        if best is None:
            best = x
        else:
            best = best + i
    j = 0
    while j < n and bool(x.sum() > 0):
        j += 1
        if j % 2 == 0:
            continue
        x = x * j
    return x if best is None else best
'''
    (tmp_path / "scripted_samples.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib
    samples = importlib.import_module("scripted_samples")
    for name in ("f_longexpr", "f_idx", "f_inplace", "f_conv", "opt_loop"):
        fn = torch.jit.script(getattr(samples, name))
        ours = parse_ir(str(fn.graph))
        for mine, theirs in zip(ours.all_nodes(), torch_nodes(fn.graph)):
            text = theirs.schema()
            mine.schema = parse_schema(text) if text != "(no schema)" else None
        args = fn.schema.arguments
        defaults = {a.name: a.default_value for a in args if a.has_default_value()}
        assert print_function(ours, name, arg_names=[a.name for a in args],
                              defaults=defaults) == fn.code.lstrip("\n"), name
