"""``python -m minijit inspect``: a safe look inside an archive, without running it."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

import minijit
from minijit.__main__ import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture()
def archive(tmp_path):
    minijit.manual_seed(0)

    class Net(minijit.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = minijit.nn.Linear(3, 2)
            self.register_buffer("scale", minijit.full((2,), 2.0))

        def forward(self, x):
            return self.fc(x) * self.scale

    traced = minijit.jit.trace(Net(), minijit.rand(4, 3))
    path = tmp_path / "net.pt"
    minijit.jit.save(traced, str(path), _extra_files={"meta.json": "{}"})
    return path


def test_inspect_prints_summary_tree_code_and_members(archive, capsys):
    assert main(["inspect", str(archive)]) == 0
    out = capsys.readouterr().out
    assert "archive: top folder 'net/', format version 3, little-endian, 11 members" in out
    assert "parameters: 2 tensors, 8 elements, 32 B" in out
    assert "buffers: 1 tensors, 2 elements, 8 B" in out
    assert "extra files: meta.json" in out
    assert "      weight  parameter  float32 (2, 3), requires_grad  24 B" in out
    assert "    scale  buffer  float32 (2,)  8 B" in out
    assert "    fc: Linear  (__torch__.torch.nn.modules.linear." in out    # (maybe mangled)
    assert "--- code/__torch__/torch/nn/modules/linear" in out
    assert "    return torch.linear(x, weight, bias)" in out
    assert "  data.pkl" in out and "deflated" in out


def test_sections_can_be_left_out(archive, capsys):
    assert main(["inspect", str(archive), "--no-code", "--no-members", "--no-summary"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("module tree:\n")
    assert "code:" not in out and "members:" not in out


def test_inspect_never_runs_code_and_reports_bad_archives(tmp_path, capsys):
    bad = tmp_path / "evil.pt"
    bad.write_bytes(b"\x80\x02cos\nsystem\nX\x04\x00\x00\x00true\x85R.")
    assert main(["inspect", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "pickle written by torch.save" in err
    assert main(["inspect", str(tmp_path / "missing.pt")]) == 1
    assert "No such file" in capsys.readouterr().err


def test_python_dash_m_minijit(archive):
    env = dict(os.environ, PYTHONPATH=ROOT)
    done = subprocess.run([sys.executable, "-m", "minijit", "inspect", str(archive),
                           "--no-code"], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "module tree:" in done.stdout
    done = subprocess.run([sys.executable, "-m", "minijit"], capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.returncode == 2 and "usage" in done.stderr


@pytest.mark.conformance
def test_inspect_reads_pytorch_archives(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    m = torch.jit.script(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU()))
    path = tmp_path / "seq.pt"
    torch.jit.save(m, str(path))
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Sequential  (__torch__.torch.nn.modules.container." in out
    assert "in_features = 2  (constant)" in out
    assert ".py.debug_pkl" in out
