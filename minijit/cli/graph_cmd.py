"""``python -m minijit graph model.pt -o g.svg``: draw the graph of a saved model.

The archive is loaded with ``minijit.jit.load`` (its code is compiled, never executed as
Python), and the graph of ``forward`` (or ``--method``) is drawn with
``minijit.viz.render``: Graphviz when it is installed, minijit's own layout otherwise.  The
output's suffix picks the format: ``.svg``, ``.dot``/``.gv`` (DOT text) or, with Graphviz,
``.png``/``.pdf``.  ``--inlined`` draws the graph with every submodule call inlined
(``inlined_graph``), which is usually the more telling picture of a model built from modules.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["add_parser", "run"]


def add_parser(sub: "argparse._SubParsersAction") -> None:
    p = sub.add_parser("graph", help="draw a saved model's forward graph (SVG or DOT)",
                       description=__doc__.splitlines()[0])
    p.add_argument("archive", help="a .pt file written by minijit.jit.save or torch.jit.save")
    p.add_argument("-o", "--output", type=Path, default=None,
                   help="the picture to write (default: the archive's name with .svg)")
    p.add_argument("--method", default="forward", help="which method to draw (default forward)")
    p.add_argument("--inlined", action="store_true", help="inline submodule calls first")
    p.add_argument("--engine", choices=("auto", "builtin", "dot"), default="auto",
                   help="auto: Graphviz when installed; builtin: minijit's own layout")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from .. import jit, viz
    output = args.output if args.output is not None else Path(args.archive).with_suffix(".svg")
    try:
        module = jit.load(args.archive)
    except jit.SerializationError as exc:
        print(f"minijit graph: {args.archive}: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"minijit graph: {exc}", file=sys.stderr)
        return 1
    method = getattr(module, args.method, None) if args.method != "forward" else module
    if method is None or not hasattr(method, "graph"):
        print(f"minijit graph: the model has no compiled method {args.method!r}",
              file=sys.stderr)
        return 1
    graph = method.inlined_graph if args.inlined else method.graph
    try:
        path = viz.render(graph, output, engine=args.engine)
    except (RuntimeError, OSError) as exc:
        print(f"minijit graph: {exc}", file=sys.stderr)
        return 1
    count = sum(1 for n in graph.all_nodes() if n.kind != "prim::Constant")
    print(f"wrote {path} ({args.method}: {count} nodes besides constants)")
    return 0
