"""Programs that ``torch.jit.script`` rejects, for the error-message tests.

Each entry is ``(name, kind, source)``: ``source`` defines ``fn`` (a function or a module
instance) with the name ``torch`` bound to minijit or PyTorch; ``kind`` is ``"frontend"``
for unsupported syntax (``FrontendError``) or ``"compile"`` for programs that read fine but
do not type check (``RuntimeError`` / ``minijit.jit.CompilationError``).  The expected texts
are PyTorch 2.13's (``test_frontend_errors.py`` holds them, and compares live when torch is
installed).
"""

ERROR_PROGRAMS = [
    ("lambda", "frontend", """
def fn(x: torch.Tensor) -> torch.Tensor:
    f = lambda v: v + 1
    return f(x)
"""),
    ("try_block", "frontend", """
def fn(x: torch.Tensor) -> torch.Tensor:
    try:
        y = x + 1
    except Exception:
        y = x
    return y
"""),
    ("star_args", "frontend", """
def fn(*args):
    return args[0]
"""),
    ("star_kwargs", "frontend", """
def fn(x, **kwargs):
    return x
"""),
    ("kwonly_default", "frontend", """
def fn(x, *, scale=2):
    return x
"""),
    ("nested_def", "frontend", """
def fn(x):
    def inner(y):
        return y
    return inner(x)
"""),
    ("global_stmt", "frontend", """
def fn(x):
    global counter
    return x
"""),
    ("import_stmt", "frontend", """
def fn(x):
    import math
    return x
"""),
    ("for_else", "frontend", """
def fn(x, n: int):
    for i in range(n):
        x = x + 1
    else:
        x = x * 2
    return x
"""),
    ("ifexp_int_vs_tensor", "compile", """
def fn(x, n: int):
    return n << 2 if n > 1 else x @ x
"""),
    ("set_literal", "frontend", """
def fn(x):
    s = {1, 2}
    return x
"""),
    ("walrus", "frontend", """
def fn(x):
    if (y := x + 1) is not None:
        return y
    return x
"""),
    ("kwarg_expansion", "frontend", """
def fn(x):
    return torch.sum(x, **{"dim": 0})
"""),
    ("dict_expansion", "frontend", """
def fn(x):
    d = {**{"a": x}}
    return x
"""),
    ("class_def", "frontend", """
def fn(x):
    class A:
        pass
    return x
"""),
    ("annotated_no_value", "frontend", """
def fn(x):
    y: int
    return x
"""),
    ("type_mismatch_used", "compile", """
def fn(x: torch.Tensor, flag: bool):
    if flag:
        y = 1
    else:
        y = "one"
    return y
"""),
    ("type_mismatch_outer", "compile", """
def fn(x: torch.Tensor, flag: bool):
    y = 2
    if flag:
        y = 1
    else:
        y = "one"
    return x
"""),
    ("one_branch", "compile", """
def fn(x: torch.Tensor, flag: bool) -> torch.Tensor:
    if flag:
        y = x + 1
    return y
"""),
    ("one_branch_false", "compile", """
def fn(x: torch.Tensor, flag: bool) -> torch.Tensor:
    if flag:
        pass
    else:
        y = x + 1
    return y
"""),
    ("undefined_value", "compile", """
def fn(x: torch.Tensor) -> torch.Tensor:
    return undefined_function(x)
"""),
    ("unknown_torch_attr", "compile", """
def fn(x: torch.Tensor) -> torch.Tensor:
    return torch.no_such_fn(x)
"""),
    ("unknown_tensor_method", "compile", """
def fn(x: torch.Tensor) -> torch.Tensor:
    return x.no_such_method()
"""),
    ("missing_module_attr", "compile", """
class M(torch.nn.Module):
    def forward(self, x):
        return x + self.missing
fn = M()
"""),
    ("annotated_mismatch", "compile", """
def fn(x: torch.Tensor) -> torch.Tensor:
    y: int = 1.5
    return x
"""),
    ("reassign_type_change_in_branch", "compile", """
def fn(x: torch.Tensor, flag: bool) -> torch.Tensor:
    y = 1
    if flag:
        y = "s"
    return x
"""),
    ("callee_error", "compile", """
def inner_bad(x: torch.Tensor) -> torch.Tensor:
    return x + undefined_name
def fn(x: torch.Tensor) -> torch.Tensor:
    return inner_bad(x)
"""),
    ("python_builtin", "compile", """
def not_scriptable_helper(x):
    with open("f") as fh:
        pass
    return x
def fn(x: torch.Tensor) -> torch.Tensor:
    return not_scriptable_helper(x)
"""),
    ("return_float_as_int", "compile", """
def fn(a: int) -> int:
    c = a * 1.5
    return max(a, c)
"""),
    ("return_type_mismatch", "compile", """
def fn(x: torch.Tensor, flag: bool):
    if flag:
        return x
    return 1
"""),
    ("missing_return", "compile", """
def fn(x: torch.Tensor, flag: bool) -> torch.Tensor:
    if flag:
        return x
"""),
    ("break_in_unrolled_loop", "compile", """
class M(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = torch.nn.ModuleList([torch.nn.ReLU(), torch.nn.ReLU()])
    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
            break
        return x
fn = M()
"""),
    ("wrong_arg_count", "compile", """
def fn(x: torch.Tensor) -> torch.Tensor:
    return torch.tanh(x, x)
"""),
    ("bad_keyword", "compile", """
def fn(x: torch.Tensor) -> torch.Tensor:
    return torch.tanh(x, bad=1)
"""),
    ("tuple_unpack_count", "compile", """
def fn(x: torch.Tensor) -> torch.Tensor:
    a, b, c = x, x
    return a
"""),
    ("global_number", "compile", """
SCALE = 2.5
def fn(x: torch.Tensor) -> torch.Tensor:
    return x * SCALE
"""),
    ("tensor_condition_type", "compile", """
def fn(x: torch.Tensor, s: str) -> torch.Tensor:
    if s:
        return x
    return x
"""),
    ("list_mixed_types", "compile", """
def fn(x: torch.Tensor) -> torch.Tensor:
    l = [1, "a"]
    return x
"""),
    ("ifexp_mismatch", "compile", """
def fn(x: torch.Tensor, flag: bool):
    y = 1 if flag else "a"
    return x
"""),
    ("yield_stmt", "frontend", """
def fn(x):
    yield x
"""),
    ("comprehension_if", "frontend", """
from typing import List
def fn(xs: List[int]):
    return [v for v in xs if v > 0]
"""),
    ("two_generators", "frontend", """
from typing import List
def fn(xs: List[int]):
    return [v + w for v in xs for w in xs]
"""),
    ("int_subscript", "compile", """
def fn(x: int, i: int):
    return x[i] + 1
"""),
    ("dict_comp_hint", "compile", """
from typing import Dict, List
def fn(xs: List[int]):
    d: List[int] = {v: v for v in xs}
    return d
"""),
]
