"""The seed tutorial (PyTorch's "Introduction to TorchScript") run with ``import minijit as
torch`` prints what PyTorch 2.13 printed, through the traced ``WrapRNN`` (everything before
saving): eager values, module reprs, traced graphs and code, the scripted gate and cell code,
scripted values, the scripted loop calling a traced cell, and the traced wrapper calling the
scripted loop.

Graph value numbers (``%20``) and directories in ``# path:line:col`` comments are normalised;
everything else must be identical.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SEED_DIRS = [os.path.join(ROOT, "..", "shared", "seed"), os.path.join(ROOT, "shared", "seed")]


def _seed_dir() -> str:
    for d in SEED_DIRS:
        if os.path.exists(os.path.join(d, "intro_to_torchscript.py")):
            return d
    import pytest
    pytest.skip("the seed tutorial is not available next to this checkout")
    return ""


def normalise(text: str) -> str:
    text = re.sub(r"%\d+", "%N", text)
    return re.sub(r"# (\S*/)?([^/\s]+\.py):(\d+):(\d+)", r"# \2:\3:\4", text)


def test_seed_tutorial_prints_what_pytorch_printed(tmp_path):
    seed = _seed_dir()
    with open(os.path.join(seed, "intro_to_torchscript.py")) as f:
        source = f.read()
    with open(os.path.join(seed, "intro_to_torchscript.expected.txt")) as f:
        expected = f.read()
    source = source.replace("import torch\n", "import minijit as torch\n", 1)
    source = source[:source.index("traced.save(")]
    expected = expected[:expected.index("RecursiveScriptModule(\n  original_name=WrapRNN")]
    script = tmp_path / "intro_to_torchscript.py"
    script.write_text(source)
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                            cwd=tmp_path, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert normalise(result.stdout) == normalise(expected)
