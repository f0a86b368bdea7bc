"""Every tutorial runs as a plain script (CPU only) and prints its key lines.

All tutorials found by ``tutorials/*.py`` and ``tutorials/ko/*.py`` start at once in
subprocesses (one fixture, shared by the tests below), each in a fresh temporary folder, with
the JIT switch on and no GPU visible.  Tutorials that do not exist yet are simply not found;
``KEY_LINES`` lists lines that must appear in a tutorial's output once it exists.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, NamedTuple

import pytest

ROOT = Path(__file__).resolve().parents[1]
TUTORIALS = ROOT / "tutorials"
FILES = sorted(TUTORIALS.glob("*.py")) + sorted(TUTORIALS.glob("ko/*.py"))
TIMEOUT = 50            # seconds per tutorial; they all run in parallel

# The seed tutorial's first outputs (PyTorch 2.x with the same seed) and the traced graph.
INTRO_LINES = [
    "2.13.0+cpu",
    "(tensor([[0.8219, 0.8990, 0.6670, 0.8277],",
    "        [0.5176, 0.4017, 0.8545, 0.7336],",
    "        [0.6013, 0.6992, 0.2618, 0.6668]]), tensor([[0.8219, 0.8990, 0.6670, 0.8277],",
    "(tensor([[ 0.8573,  0.6190,  0.5774,  0.7869],",
    "  (linear): Linear(in_features=4, out_features=4, bias=True)",
    "grad_fn chain: TanhBackward0 -> ['AddBackward0']",
    "graph(%self.1 : __torch__.MyCell,",
    "      %x : Float(3, 4, strides=[4, 1], requires_grad=0, device=cpu),",
    "  %linear : __torch__.torch.nn.modules.linear.Linear = "
    "prim::GetAttr[name=\"linear\"](%self.1)",
    "  _0 = torch.tanh(torch.add((linear).forward(x, ), h))",
    "(tensor([[-0.2541,  0.2460,  0.2297,  0.1014],",
    "    argument_1: Tensor) -> NoneType:",
]

KEY_LINES: Dict[str, List[str]] = {
    "01_intro_to_minijit.py": INTRO_LINES,
    "ko/01_intro_to_minijit.py": INTRO_LINES,
    "06_autograd_from_the_inside.py": [
        "loss.grad_fn: SumBackward0",
        "      AccumulateGrad  (fills .grad of a leaf of shape (3,))",
        "matches w * (1 - y**2): True",
        "gradients accumulate: True",
        "version of s after mul_: 1",
        "backward refused: one of the variables needed for gradient computation has been "
        "modified by an inplace operation",
        "gradcheck(tanh(x * w)): True",
        "tensor([-0.6667,  0.0000,  0.7500], grad_fn=<SoftsignByHandBackward0>)",
        "gradcheck(softsign_by_hand): True",
        "gradcheck caught the wrong rule: True",
        "  _0 = torch.add(ops.tutorial.softsign_by_hand(t), t)",
        "traced == eager: True",
        "wrote tape.svg | shows our node: True",
    ],
}


class Run(NamedTuple):
    returncode: int
    stdout: str
    stderr: str


def _name(path: Path) -> str:
    return path.relative_to(TUTORIALS).as_posix()


def _run(path: Path) -> Run:
    env = {k: v for k, v in os.environ.items() if k != "MINIJIT_JIT"}
    path_list = [str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    env.update(PYTHONPATH=os.pathsep.join(path_list), CUDA_VISIBLE_DEVICES="", MPLBACKEND="Agg",
               PYTHONIOENCODING="utf-8", PYTHONHASHSEED="0")
    with tempfile.TemporaryDirectory() as folder:
        try:
            done = subprocess.run([sys.executable, str(path)], cwd=folder, env=env,
                                  capture_output=True, text=True, encoding="utf-8",
                                  timeout=TIMEOUT, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as exc:
            return Run(-1, exc.stdout or "", f"timed out after {TIMEOUT} s")
    return Run(done.returncode, done.stdout, done.stderr)


@pytest.fixture(scope="module")
def runs() -> Dict[str, Run]:
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(FILES)))) as pool:
        return dict(zip([_name(p) for p in FILES], pool.map(_run, FILES)))


@pytest.mark.parametrize("name", [_name(p) for p in FILES])
def test_tutorial_runs(runs, name):
    run = runs[name]
    assert run.returncode == 0, f"{name} failed:\n{run.stderr[-3000:]}"
    assert run.stdout.strip(), f"{name} printed nothing"


@pytest.mark.parametrize("name", sorted(k for k in KEY_LINES if (TUTORIALS / k).exists()))
def test_tutorial_key_lines(runs, name):
    lines = runs[name].stdout.splitlines()
    missing = [line for line in KEY_LINES[name] if line not in lines]
    assert not missing, f"{name} no longer prints:\n" + "\n".join(missing)


@pytest.mark.parametrize("name", [_name(p) for p in FILES])
def test_tutorial_is_a_gallery_script(name):
    text = (TUTORIALS / name).read_text(encoding="utf-8")
    assert text.startswith('"""\n'), "starts with a docstring: title, underline, introduction"
    title, underline = text.splitlines()[1:3]
    width = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in title)
    assert underline and set(underline) == {"="} and len(underline) >= width, "RST title"
    assert "\n# %%\n" in text, "cells start with '# %%' lines"


def _normalise(text: str) -> str:
    """Drop what differs between the two files: their paths and line numbers."""
    return re.sub(r"\S*01_intro_to_minijit\.py:\d+(:\d+)?", "<source>", text)


@pytest.mark.skipif(not (TUTORIALS / "ko" / "01_intro_to_minijit.py").exists(),
                    reason="no Korean tutorial")
def test_korean_intro_follows_the_english_one(runs):
    """Same code, so the same output; the English one may go further (later cells)."""
    english = _normalise(runs["01_intro_to_minijit.py"].stdout)
    korean = _normalise(runs["ko/01_intro_to_minijit.py"].stdout)
    assert korean and english.startswith(korean), "tutorials/ko/01 has drifted from tutorials/01"
