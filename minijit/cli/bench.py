"""``python -m minijit bench``: run the benchmark scripts, show progress, write results and plots.

Every script ``benchmarks/bench_*.py`` that has a ``main()`` runs in a fresh Python process
(:mod:`._bench_child`), one after the other, while a progress line shows which one is running
and for how long.  Each script prints Markdown tables; they are collected into
``OUT/results.md`` (with the date, the machine and how long each script took), and every
table is also drawn as a bar chart, ``OUT/<table>.svg``, by minijit's own small SVG writer
(:mod:`.svg_chart`: no plotting library needed).

Options: ``--only NAME`` (repeatable: ``--only rnn --only fusion``), ``--list``, ``--out DIR``
(default ``bench-results``), ``--quick`` (a smoke run: the shortest timing loops, and no
PyTorch sides; the numbers are not worth keeping), ``--no-torch``.

``--from FILE`` draws the tables of an existing results file (``benchmarks/RESULTS.md``)
without running anything; ``--match TEXT`` keeps only tables whose title contains TEXT.  The
README's benchmark picture is made that way.
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, List, NamedTuple, Optional, Sequence

from .bench_tables import Table, parse_tables, slug
from .svg_chart import bar_chart

__all__ = ["add_parser", "find_benchmarks", "Benchmark", "chart_for", "write_charts",
           "BENCH_DIR"]

ROOT = Path(__file__).resolve().parents[2]
BENCH_DIR = ROOT / "benchmarks"


class Benchmark(NamedTuple):
    name: str        # bench_rnn
    module: str      # benchmarks.bench_rnn
    title: str       # the first line of its docstring


def _docstring_title(path: Path) -> str:
    import ast
    try:
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    except (OSError, SyntaxError):
        return ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def find_benchmarks(folder: Path = BENCH_DIR) -> List[Benchmark]:
    """The scripts ``bench_*.py`` in ``folder`` that define ``main``, by name."""
    found = []
    for path in sorted(folder.glob("bench_*.py")):
        text = path.read_text(encoding="utf-8")
        if "\ndef main(" not in text:
            continue            # a helper module (bench_common.py)
        found.append(Benchmark(path.stem, f"{folder.name}.{path.stem}", _docstring_title(path)))
    return found


def add_parser(sub: "argparse._SubParsersAction") -> None:
    p = sub.add_parser("bench", help="run the benchmarks with a progress display; write "
                                     "results and plots", description=__doc__.splitlines()[0])
    p.add_argument("--only", action="append", default=[], metavar="NAME",
                   help="run only benchmarks whose name contains NAME (repeatable)")
    p.add_argument("--list", action="store_true", help="list the benchmarks and stop")
    p.add_argument("--out", type=Path, default=Path("bench-results"),
                   help="where results.md and the plots go (default ./bench-results)")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: shortest timing loops, no PyTorch sides")
    p.add_argument("--no-torch", action="store_true", help="leave out the PyTorch sides")
    p.add_argument("--no-plots", action="store_true", help="write results.md only")
    p.add_argument("--from", dest="from_file", type=Path, default=None, metavar="FILE",
                   help="draw the tables of an existing results file; run nothing")
    p.add_argument("--match", default=None, metavar="TEXT",
                   help="with --from: only tables whose title contains TEXT")
    p.add_argument("--timeout", type=float, default=1800.0,
                   help="seconds before one script is stopped (default 1800)")
    p.set_defaults(run=run)


# ---- charts ----------------------------------------------------------------------------------
def _unit(header: str) -> str:
    """``min (µs)`` → ``µs (min)``; longer headers stay as they are."""
    if "(" in header and header.endswith(")"):
        inner = header[header.index("(") + 1:-1]
        word = header[:header.index("(")].strip()
        if len(word.split()) <= 1:
            return f"{inner} ({word})" if word else inner
    return header


def chart_for(table: Table, note: str = "") -> Optional[str]:
    """The SVG bar chart of a benchmark table, or None when it has no numbers to draw.

    The series are the column whose header starts with ``min`` (the best time, the stable
    figure on a noisy machine) or, without one, every numeric column (sizes, say).
    """
    numeric = table.numeric_columns()
    mins = [j for j in numeric if table.columns[j].lower().startswith("min")]
    chosen = mins[:1] or numeric
    if not chosen:
        return None
    rows = [r for r in table.rows if any(j < len(r) and table.number(r[j]) is not None
                                         for j in chosen)]
    if not rows:
        return None
    labels = [r[0].strip("*_ ") for r in rows]
    series = {table.columns[j]: [table.number(r[j]) if j < len(r) else None for r in rows]
              for j in chosen}
    unit = _unit(table.columns[chosen[0]]) if len(chosen) == 1 else _unit(table.columns[0])
    if len(chosen) == 1:
        series = {unit: next(iter(series.values()))}
    return bar_chart(table.title, labels, series, unit=unit, note=note)


def write_charts(tables: Sequence[Table], folder: Path, note: str = "") -> List[Path]:
    """Write one ``<slug>.svg`` per table that has numbers; returns the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written: List[Path] = []
    used: set = set()
    for table in tables:
        svg = chart_for(table, note)
        if svg is None:
            continue
        name = slug(table.title)
        base, k = name, 2
        while name in used:
            name = f"{base}_{k}"
            k += 1
        used.add(name)
        path = folder / f"{name}.svg"
        path.write_text(svg, encoding="utf-8")
        written.append(path)
    return written


# ---- running ---------------------------------------------------------------------------------
class _Progress:
    """One status line: redrawn in place on a terminal, plain lines otherwise."""

    def __init__(self, stream: IO[str]):
        self.stream = stream
        self.tty = hasattr(stream, "isatty") and stream.isatty()
        self.width = 0

    def update(self, text: str) -> None:
        if self.tty:
            self.stream.write("\r" + text.ljust(self.width))
            self.width = len(text)
            self.stream.flush()

    def line(self, text: str) -> None:
        if self.tty:
            self.stream.write("\r" + text.ljust(self.width) + "\n")
            self.width = 0
        else:
            self.stream.write(text + "\n")
        self.stream.flush()


def _run_one(bench: Benchmark, flags: List[str], progress: _Progress, prefix: str,
             timeout: float) -> "tuple[int, str, str, float]":
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + ([env["PYTHONPATH"]]
                                                       if env.get("PYTHONPATH") else []))
    env.setdefault("PYTHONIOENCODING", "utf-8")
    env.setdefault("MPLBACKEND", "Agg")
    spinner = "|/-\\"
    with tempfile.TemporaryFile("w+", encoding="utf-8") as out, \
            tempfile.TemporaryFile("w+", encoding="utf-8") as err:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "minijit.cli._bench_child", bench.module]
                                + flags, cwd=ROOT, env=env, stdout=out, stderr=err,
                                stdin=subprocess.DEVNULL)
        tick = 0
        while True:
            try:
                code = proc.wait(timeout=0.25)
                break
            except subprocess.TimeoutExpired:
                elapsed = time.perf_counter() - start
                if elapsed > timeout:
                    proc.kill()
                    proc.wait()
                    code = -9
                    break
                tick += 1
                progress.update(f"{prefix} {spinner[tick % 4]} {elapsed:5.0f} s")
        seconds = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        return code, out.read(), err.read(), seconds


def _machine() -> str:
    return (f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"{platform.system()}")


def _from_file(args: argparse.Namespace) -> int:
    try:
        text = args.from_file.read_text(encoding="utf-8")
    except OSError as exc:
        print(f"minijit bench: {exc}", file=sys.stderr)
        return 1
    tables = parse_tables(text)
    if args.match:
        tables = [t for t in tables if args.match.lower() in t.title.lower()]
    if not tables:
        print(f"minijit bench: no tables{' matching ' + repr(args.match) if args.match else ''}"
              f" in {args.from_file}", file=sys.stderr)
        return 1
    for path in write_charts(tables, args.out, note=f"numbers: {args.from_file.name}"):
        print(f"wrote {path}")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.from_file is not None:
        return _from_file(args)
    benches = find_benchmarks()
    if not benches:
        print(f"minijit bench: no benchmark scripts in {BENCH_DIR} (they come with a source "
              "checkout of minijit)", file=sys.stderr)
        return 1
    if args.only:
        benches = [b for b in benches
                   if any(o.lower() in b.name.lower() for o in args.only)]
        if not benches:
            print(f"minijit bench: no benchmark matches {args.only}", file=sys.stderr)
            return 2
    if args.list:
        for b in benches:
            print(f"  {b.name:<22} {b.title}")
        return 0
    flags = (["--quick"] if args.quick else []) + \
        (["--no-torch"] if args.no_torch or args.quick else [])
    progress = _Progress(sys.stdout)
    mode = "quick smoke run, no PyTorch" if args.quick else \
        ("no PyTorch" if args.no_torch else "full run")
    progress.line(f"Running {len(benches)} benchmark script(s) ({mode}); results go to "
                  f"{args.out}/")
    sections: List[str] = []
    failures = 0
    for k, bench in enumerate(benches, 1):
        prefix = f"[{k}/{len(benches)}] {bench.name}"
        code, out, err, seconds = _run_one(bench, flags, progress, prefix, args.timeout)
        if code == 0:
            progress.line(f"{prefix}  done in {seconds:.1f} s")
            sections.append(f"## {bench.name} — {bench.title}\n\n`python -m {bench.module}`, "
                            f"{seconds:.1f} s\n\n{out.strip()}\n")
        else:
            failures += 1
            why = "timed out" if code == -9 else f"failed (exit code {code})"
            tail = "\n".join(err.strip().splitlines()[-8:])
            progress.line(f"{prefix}  {why} after {seconds:.1f} s\n{tail}")
            sections.append(f"## {bench.name} — {why}\n\n```\n{tail}\n```\n")
    args.out.mkdir(parents=True, exist_ok=True)
    header = (f"# minijit benchmarks, {datetime.date.today().isoformat()}\n\n"
              f"Machine: {_machine()}.  Mode: {mode}.  Every script ran in its own process; "
              "each table was measured within one run.\n\n")
    results = args.out / "results.md"
    results.write_text(header + "\n".join(sections), encoding="utf-8")
    print(f"wrote {results}")
    if not args.no_plots:
        tables = parse_tables("\n".join(sections))
        paths = write_charts(tables, args.out, note=f"minijit bench, {mode}")
        print(f"wrote {len(paths)} plot(s) in {args.out}/")
    return 1 if failures else 0
