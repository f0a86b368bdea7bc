"""The README, followed literally.

The fast tests check that the README keeps its two set-up commands, that every link and
picture it names exists, and that it links every tutorial and every exercise.  The slow test
is a newcomer's first minutes: copy the checkout, make a *fresh* virtual environment (no
system site-packages), run the README's first command in it exactly as written, and check
that the intro tutorial printed what it should.  It needs pip to reach a package index for
NumPy (and setuptools/wheel for the build); when it cannot, the test is skipped and says so.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")

INSTALL_AND_RUN = "python -m pip install -e . && python tutorials/01_intro_to_minijit.py"
INSTALL_AND_TEST = "python -m pip install -e '.[test]' && python -m pytest -q"

_NETWORK = ("Could not find a version", "No matching distribution", "Failed to establish",
            "Temporary failure in name resolution", "Network is unreachable", "ConnectionError",
            "Connection refused", "ProxyError", "Read timed out", "SSLError")


def _code_blocks(text: str):
    return re.findall(r"^```[a-z]*\n(.*?)^```", text, re.DOTALL | re.MULTILINE)


def test_readme_keeps_the_two_commands():
    blocks = [b.strip() for b in _code_blocks(README)]
    assert INSTALL_AND_RUN in blocks, "the README's first command changed"
    assert INSTALL_AND_TEST in blocks, "the README's test command changed"
    assert README.index(INSTALL_AND_RUN) < README.index(INSTALL_AND_TEST)


def _links(text: str):
    targets = re.findall(r"\]\(([^)\s]+)\)", text) + re.findall(r'src="([^"]+)"', text)
    return [t for t in targets if not re.match(r"[a-z]+://", t) and not t.startswith("#")]


def test_every_link_and_picture_exists():
    missing = [t for t in _links(README) if not (ROOT / t).exists()]
    assert not missing, f"the README links to files that do not exist: {missing}"
    folder = ROOT / "tutorials" / "exercises"
    missing = [t for t in _links((folder / "README.md").read_text(encoding="utf-8"))
               if not (folder / t).exists()]
    assert not missing, f"tutorials/exercises/README.md links to missing files: {missing}"


def test_readme_links_every_tutorial_and_exercise():
    linked = {os.path.normpath(t) for t in _links(README)}
    files = sorted((ROOT / "tutorials").glob("[0-9][0-9]_*.py")) + \
        sorted((ROOT / "tutorials").glob("*/[0-9][0-9]_*.py"))
    unlinked = [str(p.relative_to(ROOT)) for p in files
                if os.path.normpath(str(p.relative_to(ROOT))) not in linked]
    assert not unlinked, f"the README does not link these: {unlinked}"


def _copy_checkout(dest: Path) -> Path:
    """What a fresh clone has: the sources, without caches, builds and local venvs."""
    ignore = shutil.ignore_patterns(".git", "__pycache__", "*.egg-info", "build", "dist",
                                    ".pytest_cache", ".venv", "venv", "bench-results", "*.pyc")
    shutil.copytree(ROOT, dest, ignore=ignore)
    return dest


@pytest.mark.slow
def test_readme_first_command_in_a_fresh_venv(tmp_path):
    checkout = _copy_checkout(tmp_path / "minijit")
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, system_site_packages=False, clear=True).create(env_dir)
    bindir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "MINIJIT_JIT", "PYTHONSTARTUP")}
    env.update(PATH=str(bindir) + os.pathsep + env.get("PATH", ""), VIRTUAL_ENV=str(env_dir),
               PYTHONIOENCODING="utf-8", PIP_DISABLE_PIP_VERSION_CHECK="1",
               CUDA_VISIBLE_DEVICES="")
    # The fresh environment really has nothing: no numpy, no minijit.
    probe = subprocess.run(["python", "-c", "import numpy"], cwd=env_dir, env=env,
                           capture_output=True, text=True)
    assert probe.returncode != 0, "the virtual environment is not fresh: numpy imports"

    done = subprocess.run(["bash", "-c", INSTALL_AND_RUN], cwd=checkout, env=env,
                          capture_output=True, text=True, encoding="utf-8", timeout=900,
                          stdin=subprocess.DEVNULL)
    output = done.stdout + done.stderr
    if done.returncode != 0 and "Successfully installed" not in output and \
            any(sign in output for sign in _NETWORK):
        pytest.skip("pip could not download minijit's dependencies (no package index "
                    "reachable): " + next(s for s in _NETWORK if s in output))
    assert done.returncode == 0, output[-4000:]
    assert "Successfully installed" in output and "minijit" in output
    for line in ("2.13.0+cpu", "grad_fn chain: TanhBackward0 -> ['AddBackward0']",
                 "  _0 = torch.tanh(torch.add((linear).forward(x, ), h))"):
        assert line in done.stdout.splitlines(), f"the tutorial did not print {line!r}"

    # The installed package is the checkout (editable), with numpy and nothing else needed,
    # and the commands the README names next work from the environment.
    where = subprocess.run(["python", "-c", "import minijit, numpy; print(minijit.__file__)"],
                           cwd=env_dir, env=env, capture_output=True, text=True)
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()) == checkout / "minijit" / "__init__.py", where.stdout
    for command in (["minijit", "tutorial"], ["python", "-m", "minijit", "exercises", "list"]):
        ran = subprocess.run(command, cwd=checkout, env=env, capture_output=True, text=True,
                             encoding="utf-8", timeout=120)
        assert ran.returncode == 0, ran.stderr
    assert "Introduction to minijit" in subprocess.run(
        ["minijit", "tutorial"], cwd=checkout, env=env, capture_output=True, text=True,
        encoding="utf-8").stdout
    # Checking an exercise needs pytest, which only the second command installs: say so.
    check = subprocess.run(["python", "-m", "minijit", "exercises", "check", "3"],
                           cwd=checkout, env=env, capture_output=True, text=True,
                           encoding="utf-8", timeout=120)
    assert check.returncode == 1
    assert "pytest is not installed: python -m pip install -e '.[test]'" in check.stdout
