"""Scripting a second, different function under a name already scripted: TorchScript mangles
it (``__torch__.___torch_mangle_1.helper``), and ``.code`` and the archive show the mangled name.

Each case runs in a fresh process, since the mangle counter is per process (per compilation
unit), as in PyTorch.
"""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent('''
    import sys, zipfile
    import {module} as torch

    def helper(x):
        return x + 1
    def outer(x):
        return helper(x) * 2
    first = torch.jit.script(outer)

    def helper(x):                 # redefined, as in a notebook: a different function
        return x - 1
    def outer(x):
        return helper(x) * 3
    second = torch.jit.script(outer)
    print(first.code)
    print(second.code)
    print(first(torch.ones(2)).tolist(), second(torch.ones(2)).tolist())

    class M(torch.nn.Module):
        def forward(self, x):
            return helper(x) * 4
    m = torch.jit.script(M())
    torch.jit.save(m, sys.argv[1])
    for name in sorted(zipfile.ZipFile(sys.argv[1]).namelist()):
        if name.endswith(".py"):
            print(name.split("/", 1)[1])
    print(torch.jit.load(sys.argv[1])(torch.ones(2)).tolist())
''')


def _run(module: str, tmp_path) -> str:
    path = tmp_path / f"{module}_mangle.py"
    path.write_text(SCRIPT.format(module=module))
    done = subprocess.run([sys.executable, str(path), str(tmp_path / f"{module}.pt")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_redefined_function_is_mangled_and_saved_under_its_mangled_name(tmp_path):
    out = _run("minijit", tmp_path)
    assert "return torch.mul(__torch__.helper(x, ), 2)" in out
    # The second ``outer`` is mangled first (0), then its callee (1); the long name makes the
    # printer give the call a line of its own.
    assert "_0 = __torch__.___torch_mangle_1.helper(x, )\n  return torch.mul(_0, 3)" in out
    assert "[4.0, 4.0] [0.0, 0.0]" in out
    assert "code/__torch__/___torch_mangle_1.py" in out.splitlines()
    assert out.rstrip().endswith("[0.0, 0.0]")


@pytest.mark.conformance
def test_mangled_names_match_pytorch(tmp_path):
    pytest.importorskip("torch")
    assert _run("minijit", tmp_path) == _run("torch", tmp_path)
