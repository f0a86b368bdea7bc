"""``python -m minijit graph | bench | tutorial | exercises`` (``inspect`` is in test_cli.py)."""
from __future__ import annotations

import doctest
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import minijit
from minijit.__main__ import main
from minijit.cli import bench, bench_tables, build_parser, svg_chart, tutorial

ROOT = Path(__file__).resolve().parents[1]
SVG = "{http://www.w3.org/2000/svg}"


def _python_m(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONIOENCODING="utf-8")
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True,
                          encoding="utf-8", env=env, cwd=cwd, timeout=120)


@pytest.fixture()
def archive(tmp_path):
    minijit.manual_seed(0)

    class Cell(minijit.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = minijit.nn.Linear(4, 4)

        def forward(self, x, h):
            return minijit.tanh(self.linear(x) + h)

    traced = minijit.jit.trace(Cell(), (minijit.rand(3, 4), minijit.rand(3, 4)))
    path = tmp_path / "cell.pt"
    minijit.jit.save(traced, str(path))
    return path


def _texts(svg_path: Path) -> str:
    root = ET.parse(svg_path).getroot()
    assert root.tag == SVG + "svg"
    return " ".join(root.itertext())


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for command in ("inspect", "graph", "bench", "tutorial", "exercises"):
        assert command in out


# ---- graph ---------------------------------------------------------------------------------
def test_graph_writes_an_svg_with_every_node(archive, tmp_path, capsys):
    out = tmp_path / "g.svg"
    assert main(["graph", str(archive), "-o", str(out), "--engine", "builtin"]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    text = _texts(out)
    for label in ("prim::GetAttr", "prim::CallMethod", "aten::add", "aten::tanh"):
        assert label in text, f"{label} missing from the picture"


def test_graph_inlined_and_dot(archive, tmp_path):
    out = tmp_path / "g.svg"
    assert main(["graph", str(archive), "-o", str(out), "--inlined", "--engine", "builtin"]) == 0
    text = _texts(out)
    assert "aten::linear" in text and "prim::CallMethod" not in text
    dot = tmp_path / "g.dot"
    assert main(["graph", str(archive), "-o", str(dot)]) == 0
    assert dot.read_text().startswith("digraph ir {")


def test_graph_default_output_name(archive, tmp_path):
    assert main(["graph", str(archive), "--engine", "builtin"]) == 0
    assert archive.with_suffix(".svg").exists()


def test_graph_errors(tmp_path, archive, capsys):
    assert main(["graph", str(tmp_path / "missing.pt")]) == 1
    assert "No such file" in capsys.readouterr().err
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a zip")
    assert main(["graph", str(bad)]) == 1
    assert "minijit graph:" in capsys.readouterr().err
    assert main(["graph", str(archive), "--method", "nope"]) == 1
    assert "no compiled method 'nope'" in capsys.readouterr().err


@pytest.mark.conformance
def test_graph_of_a_pytorch_archive(tmp_path):
    torch = pytest.importorskip("torch")
    m = torch.jit.script(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU()))
    path = tmp_path / "seq.pt"
    torch.jit.save(m, str(path))
    out = tmp_path / "seq.svg"
    assert main(["graph", str(path), "-o", str(out), "--inlined", "--engine", "builtin"]) == 0
    text = _texts(out)
    assert "aten::linear" in text and "aten::relu" in text


# ---- tutorial ------------------------------------------------------------------------------
def test_tutorial_lists_the_real_tutorials(capsys):
    assert main(["tutorial"]) == 0
    out = capsys.readouterr().out
    found = tutorial.find_tutorials()
    assert found and found[0].number == 1
    for t in found:
        assert f"{t.number:>2}  {t.title}" in out
    assert "Translations: ko" in out
    assert main(["tutorial", "--lang", "ko"]) == 0
    assert "tutorials/ko/01_intro_to_minijit.py" in capsys.readouterr().out.replace(os.sep, "/")


def test_tutorial_runs_one(tmp_path, monkeypatch, capfd):
    folder = tmp_path / "tutorials"
    folder.mkdir()
    (folder / "01_hello.py").write_text('"""\nHello\n=====\n"""\nprint("hello from 01")\n')
    (folder / "02_fails.py").write_text('"""\nFails\n=====\n"""\nraise SystemExit(3)\n')
    monkeypatch.setattr(tutorial, "TUTORIAL_DIR", folder)
    assert main(["tutorial", "1"]) == 0
    assert "hello from 01" in capfd.readouterr().out
    assert main(["tutorial", "2"]) == 3
    assert main(["tutorial", "7"]) == 2
    assert "there is no tutorial 7 (there are 1, 2)" in capfd.readouterr().err


# ---- bench ---------------------------------------------------------------------------------
def test_bench_list(capsys):
    assert main(["bench", "--list"]) == 0
    out = capsys.readouterr().out
    assert "bench_dispatch" in out and "bench_common" not in out


def test_bench_quick_writes_results_and_plots(tmp_path):
    done = _python_m("minijit", "bench", "--quick", "--only", "dispatch", "--out",
                     str(tmp_path / "out"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "[1/1] bench_dispatch  done in" in done.stdout
    results = (tmp_path / "out" / "results.md").read_text(encoding="utf-8")
    assert "| minijit tanh(x) |" in results and "quick smoke run" in results
    plots = sorted((tmp_path / "out").glob("*.svg"))
    assert len(plots) == 1
    assert "minijit tanh(x)" in _texts(plots[0])


def test_bench_from_results_file(tmp_path, capsys):
    md = tmp_path / "RESULTS.md"
    md.write_text("## Speed (issue 9)\n\n### RNN loop, no grad (x86)\n\n"
                  "| case | min (µs) | median (µs) | ratio |\n|---|---:|---:|---:|\n"
                  "| *a section row* | | | |\n| eager | 120.5 | 130 | 1.00× |\n"
                  "| fused | 1,500.25 | 1600 | 12.4× |\n\n"
                  "### Sizes\n\n| ns per element | 1e+03 | 1e+06 |\n|---|---:|---:|\n"
                  "| numpy | 10.4 | 3.7 |\n| minijit | 16.7 | 4.1 |\n")
    assert main(["bench", "--from", str(md), "--out", str(tmp_path / "img")]) == 0
    paths = sorted((tmp_path / "img").glob("*.svg"))
    assert [p.name for p in paths] == ["rnn_loop_no_grad.svg", "sizes.svg"]
    rnn = _texts(tmp_path / "img" / "rnn_loop_no_grad.svg")
    assert "eager" in rnn and "1,500" in rnn and "a section row" not in rnn
    root = ET.parse(tmp_path / "img" / "sizes.svg").getroot()
    bars = [r for r in root.iter(SVG + "rect") if r.get("class") == "bar"]
    assert len(bars) == 4, "two series (sizes) for two rows"
    assert main(["bench", "--from", str(md), "--match", "nothing", "--out", str(tmp_path)]) == 1


def test_bench_tables_and_chart_helpers():
    tables = bench_tables.parse_tables("# T\n\n| a | min (ms) |\n|---|---|\n| x | 2 |\n")
    assert tables[0].title == "T" and bench.chart_for(tables[0]).startswith("<svg")
    assert bench_tables.slug("RNN loop 10×3×4, no grad (x86_64)") == "rnn_loop_10x3x4_no_grad"
    svg = svg_chart.bar_chart("t", ["a", "b"], {"s": [1.0, 1000.0]}, unit="µs")
    assert "log scale" in svg
    for module in (bench_tables, svg_chart):
        assert doctest.testmod(module).failed == 0


# ---- exercises -----------------------------------------------------------------------------
def test_exercises_list_and_bad_number(capsys):
    assert main(["exercises", "list"]) == 0
    out = capsys.readouterr().out
    assert " 1  A backward rule for a new op" in out
    assert "tutorials/exercises/08_pickle_opcode.py" in out.replace(os.sep, "/")
    assert main(["exercises", "check", "99"]) == 2
    assert "there is no exercise 99" in capsys.readouterr().err


def test_exercises_check_through_both_entry_points():
    done = _python_m("minijit", "exercises", "check", "4")
    assert done.returncode == 1
    assert "0 of 14 checks pass." in done.stdout and "Traceback" not in done.stdout
    done = _python_m("minijit.exercises", "check", "4", "--solution", "-v")
    assert done.returncode == 0, done.stdout[-3000:]
    assert "All 14 checks pass." in done.stdout and "---- pytest's report ----" in done.stdout


def test_cli_docstring_examples():
    from minijit import cli
    assert doctest.testmod(cli).failed == 0
    assert build_parser().prog == "python -m minijit"
