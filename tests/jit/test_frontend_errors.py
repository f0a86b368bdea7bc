"""Compile errors: PyTorch's exact texts, carets and call stacks (reference §4.1).

Every program of ``error_programs.py`` is scripted and ``str(error)`` is compared with what
PyTorch 2.13 printed (``error_expected.py``).  Unsupported syntax raises
``minijit.jit.FrontendError``; type errors raise ``minijit.jit.CompilationError``, a
``RuntimeError`` like PyTorch's.
"""
from __future__ import annotations

import pytest

import minijit
from minijit.jit import CompilationError, FrontendError

from error_expected import EXPECTED
from error_programs import ERROR_PROGRAMS

# minijit registers one overload where PyTorch has several (tanh.int, tanh.out...), so the
# "variants" list of an overload error is shorter; the caret part is the same.
OWN_TEXT = {
    "wrong_arg_count": """

aten::tanh(Tensor self) -> Tensor:
Expected at most 1 arguments but found 2 positional arguments.
:
  File "wrong_arg_count.py", line 3
def fn(x: torch.Tensor) -> torch.Tensor:
    return torch.tanh(x, x)
           ~~~~~~~~~~ <--- HERE
""",
    "bad_keyword": """

aten::tanh(Tensor self) -> Tensor:
Keyword argument bad unknown.
:
  File "bad_keyword.py", line 3
def fn(x: torch.Tensor) -> torch.Tensor:
    return torch.tanh(x, bad=1)
           ~~~~~~~~~~ <--- HERE
""",
}


def _script(name, source, tmp_path):
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    namespace = {"torch": minijit, "__name__": "__main__"}
    exec(compile(source, str(path), "exec", dont_inherit=True), namespace)
    return minijit.jit.script(namespace["fn"]), str(tmp_path) + "/"


@pytest.mark.parametrize("name,kind,source", ERROR_PROGRAMS, ids=[p[0] for p in ERROR_PROGRAMS])
def test_error_text_matches_pytorch(name, kind, source, tmp_path):
    expected = EXPECTED[name]
    if expected is None:                       # PyTorch accepts it: so do we
        _script(name, source, tmp_path)
        return
    with pytest.raises(Exception) as info:
        _script(name, source, tmp_path)
    error = info.value
    if kind == "frontend":
        assert isinstance(error, FrontendError)
    else:
        assert isinstance(error, CompilationError) and isinstance(error, RuntimeError)
    text = str(error).replace(str(tmp_path) + "/", "")
    if name in OWN_TEXT:
        # one registered overload: TorchScript's single-schema format; the caret part is
        # PyTorch's own
        assert text == OWN_TEXT[name]
        assert text.split(":\n  File ")[-1] == expected.split(":\n  File ")[-1]
    else:
        assert text == expected


def test_frontend_error_starts_with_message_and_compile_error_with_newline(tmp_path):
    with pytest.raises(FrontendError) as info:
        _script("lambda", dict((p[0], p[2]) for p in ERROR_PROGRAMS)["lambda"], tmp_path)
    assert str(info.value).startswith("Lambda aren't supported:\n  File ")
    assert info.value.msg == "Lambda aren't supported"
    with pytest.raises(CompilationError) as info2:
        _script("undefined_value", dict((p[0], p[2]) for p in ERROR_PROGRAMS)["undefined_value"],
                tmp_path)
    assert str(info2.value).startswith("\nundefined value undefined_function:\n")
    assert info2.value.message == "undefined value undefined_function"


def test_function_without_source_says_how_to_fix():
    namespace: dict = {"torch": minijit}
    exec("def f(x):\n    return x + 1\n", namespace)
    with pytest.raises(OSError) as info:
        minijit.jit.script(namespace["f"])
    message = str(info.value)
    assert message.startswith("Can't get source for <function f at ")
    assert "TorchScript requires source access in order to carry out compilation" in message
    assert "define the function in a file" in message


def test_errors_in_methods_name_the_class_and_caller(tmp_path):
    source = """
class Inner(torch.nn.Module):
    def forward(self, x):
        return x + undefined_name
class Outer(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = Inner()
    def helper(self, x):
        return self.inner(x)
    def forward(self, x):
        return self.helper(x) * 2
fn = Outer()
"""
    with pytest.raises(CompilationError) as info:
        _script("methods", source, tmp_path)
    text = str(info.value)
    # submodules compile first, so the failing method is Inner.forward on its own
    assert text.startswith("\nundefined value undefined_name:\n  File ")
    assert text.endswith("        return x + undefined_name\n                   ~~~~~~~~~~~~~~ <--- HERE\n")


def test_method_call_chain_is_reported(tmp_path):
    source = """
class M(torch.nn.Module):
    def helper(self, x):
        return x + undefined_name
    def forward(self, x):
        return self.helper(x) * 2
fn = M()
"""
    with pytest.raises(CompilationError) as info:
        _script("chain", source, tmp_path)
    text = str(info.value).replace(str(tmp_path) + "/", "")
    assert "'M.helper' is being compiled since it was called from 'M.forward'\n" \
           "  File \"chain.py\", line 6\n" in text
    assert text.endswith("        return self.helper(x) * 2\n               ~~~~~~~~~~~~~ <--- HERE\n")


def test_with_statement_is_refused_with_a_frontend_error(tmp_path):
    """PyTorch compiles ``with torch.no_grad():`` (a scripted context-manager class); minijit
    compiles no classes, so ``with`` is refused, with the caret under the keyword."""
    source = """
def fn(x):
    with torch.no_grad():
        y = x * 2
    return y
"""
    with pytest.raises(FrontendError) as info:
        _script("with_stmt", source, tmp_path)
    text = str(info.value).replace(str(tmp_path) + "/", "")
    assert text.startswith("with statements are not supported by minijit's scripter")
    assert text.endswith(':\n  File "with_stmt.py", line 3\ndef fn(x):\n    with torch.no_grad():'
                         '\n    ~~~~ <--- HERE\n        y = x * 2\n    return y\n')
