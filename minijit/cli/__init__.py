"""``python -m minijit``: the command-line tools, one small module per subcommand.

==============  ==========================================================================
``inspect``     what a TorchScript archive holds, without running it (:mod:`.inspect_cmd`)
``graph``       draw an archive's forward graph as SVG or DOT (:mod:`.graph_cmd`)
``bench``       run the benchmark scripts with a progress display, write results and plots
                (:mod:`.bench`)
``tutorial``    list the tutorials, or run one (:mod:`.tutorial`)
``exercises``   list the exercises, or check one (:mod:`.exercises`)
==============  ==========================================================================

Each module has ``add_parser(subparsers)``, which declares its arguments and sets
``run(args) -> exit code``.

Example:
    >>> from minijit.cli import build_parser
    >>> sorted(build_parser()._subparsers._group_actions[0].choices)
    ['bench', 'exercises', 'graph', 'inspect', 'tutorial']
"""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from . import bench, exercises, graph_cmd, inspect_cmd, tutorial

__all__ = ["main", "build_parser"]

_COMMANDS = (inspect_cmd, graph_cmd, bench, tutorial, exercises)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m minijit",
                                     description="minijit command-line tools")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in _COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Parse ``argv`` (default: ``sys.argv[1:]``) and run the subcommand; its exit code."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
