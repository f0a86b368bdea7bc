"""``python -m minijit tutorial [N]``: list the tutorials, or run tutorial N.

The tutorials are the numbered scripts in ``tutorials/`` of a source checkout (``--lang ko``
picks the translations in ``tutorials/ko/``).  Running one is the same as
``python tutorials/NN_name.py``: it runs in a new Python process, in the current folder, and
its output streams to the terminal; the exit code is the script's.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from typing import List, NamedTuple, Optional

__all__ = ["add_parser", "Tutorial", "find_tutorials", "TUTORIAL_DIR"]

TUTORIAL_DIR = Path(__file__).resolve().parents[2] / "tutorials"


class Tutorial(NamedTuple):
    number: int
    path: Path
    title: str


def _title(path: Path) -> str:
    """The reStructuredText title: the docstring's first line (sphinx-gallery style)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return path.stem
    for line in lines[1:4]:
        if line.strip() and not line.startswith('"""'):
            return line.strip()
    return path.stem


def find_tutorials(lang: Optional[str] = None, folder: Optional[Path] = None) -> List[Tutorial]:
    """The numbered tutorials (``NN_name.py``) in ``folder`` (default: ``tutorials/`` of the
    checkout) or its ``lang`` subfolder."""
    folder = TUTORIAL_DIR if folder is None else folder
    where = folder / lang if lang else folder
    found = []
    for path in sorted(where.glob("[0-9][0-9]_*.py")):
        found.append(Tutorial(int(path.name[:2]), path, _title(path)))
    return found


def add_parser(sub: "argparse._SubParsersAction") -> None:
    p = sub.add_parser("tutorial", help="list the tutorials, or run tutorial N",
                       description=__doc__.splitlines()[0])
    p.add_argument("number", nargs="?", type=int, help="the tutorial to run (omit to list)")
    p.add_argument("--lang", default=None, help="a translation, e.g. ko (tutorials/ko/)")
    p.set_defaults(run=run)


def _relative(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def run(args: argparse.Namespace) -> int:
    tutorials = find_tutorials(args.lang)
    if not tutorials:
        where = TUTORIAL_DIR / args.lang if args.lang else TUTORIAL_DIR
        print(f"minijit tutorial: no tutorials in {where} (they come with a source checkout "
              "of minijit)", file=sys.stderr)
        return 1
    if args.number is None:
        print("The tutorials (run one with `python -m minijit tutorial N`):\n")
        for t in tutorials:
            print(f"  {t.number:>2}  {t.title}")
            print(f"      {_relative(t.path)}")
        names = {t.path.name for t in tutorials}
        # A translation is a subfolder holding tutorials of the same names (tutorials/ko/).
        others = [] if args.lang else sorted(
            p.name for p in TUTORIAL_DIR.iterdir()
            if p.is_dir() and any((p / name).exists() for name in names))
        if others:
            print(f"\nTranslations: {', '.join(others)} (add --lang {others[0]})")
        print("\nExercises: python -m minijit exercises list")
        return 0
    chosen = [t for t in tutorials if t.number == args.number]
    if not chosen:
        numbers = ", ".join(str(t.number) for t in tutorials)
        print(f"minijit tutorial: there is no tutorial {args.number} (there are {numbers})",
              file=sys.stderr)
        return 2
    tutorial = chosen[0]
    print(f"# {tutorial.title}\n# python {_relative(tutorial.path)}\n", flush=True)
    return subprocess.call([sys.executable, str(tutorial.path)])
