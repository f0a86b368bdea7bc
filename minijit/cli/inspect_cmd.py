"""``python -m minijit inspect model.pt``: what a TorchScript archive holds, without running it.

It prints a summary, the module tree with every parameter's dtype, shape and size, the code,
and the zip members.  It never runs or compiles the model, and reads the file with the same
safety checks as ``minijit.jit.load``, so it is a safe way to look inside an archive from an
unknown source.
"""
from __future__ import annotations

import argparse
import sys

__all__ = ["add_parser", "run"]


def add_parser(sub: "argparse._SubParsersAction") -> None:
    p = sub.add_parser("inspect", help="describe a TorchScript archive without running it",
                       description=__doc__.splitlines()[0])
    p.add_argument("archive", help="a .pt file written by torch.jit.save or minijit.jit.save")
    for section in ("summary", "tree", "code", "members"):
        p.add_argument(f"--no-{section}", action="store_true", help=f"omit the {section}")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..jit.serialization.describe import SECTIONS, describe_archive
    from ..jit.serialization.errors import SerializationError
    sections = [s for s in SECTIONS if not getattr(args, f"no_{s}")]
    try:
        text = describe_archive(args.archive, sections)
    except SerializationError as exc:
        print(f"minijit inspect: {args.archive}: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"minijit inspect: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(text)
    return 0
