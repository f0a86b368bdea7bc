"""Regenerate the pictures in ``docs/img/``: ``python docs/make_images.py``.

Each picture is drawn by ``minijit.viz`` with its built-in layout (``engine="builtin"``), so
the files come out byte for byte the same on every machine, with or without Graphviz.  A
picture whose feature is not in minijit yet (the scripter, the fuser) is skipped with a note.

The programs are the seed tutorial's (``tutorials/01_intro_to_minijit.py``):

* ``mycell_traced.svg``: the traced ``MyCell`` (``traced_cell.graph``);
* ``mycell_inlined.svg``: the same with ``nn.Linear``'s code inlined (``inlined_graph``);
* ``mycell_autograd.svg``: the autograd tape of ``MyCell``'s output (like ``torchviz``);
* ``mycell_fused.svg``: the inlined graph after the fusion pass (pointwise ops boxed);
* ``rnn_loop.svg``: the scripted ``MyRNNLoop`` with its loop body as a block.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, Dict, List, Optional

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))           # run from a checkout without installing

import minijit as torch  # noqa: E402
from minijit import viz  # noqa: E402


class MyDecisionGate(torch.nn.Module):
    def forward(self, x):
        if x.sum() > 0:
            return x
        else:
            return -x


class MyCell(torch.nn.Module):
    def __init__(self):
        super(MyCell, self).__init__()
        self.linear = torch.nn.Linear(4, 4)

    def forward(self, x, h):
        new_h = torch.tanh(self.linear(x) + h)
        return new_h, new_h


class MyGatedCell(torch.nn.Module):
    """The seed's ``MyCell(dg)``, renamed so that both cells can live in one module."""

    def __init__(self, dg):
        super(MyGatedCell, self).__init__()
        self.dg = dg
        self.linear = torch.nn.Linear(4, 4)

    def forward(self, x, h):
        new_h = torch.tanh(self.dg(self.linear(x)) + h)
        return new_h, new_h


class MyRNNLoop(torch.nn.Module):
    def __init__(self, cell):
        super(MyRNNLoop, self).__init__()
        self.cell = cell

    def forward(self, xs):
        h, y = torch.zeros(3, 4), torch.zeros(3, 4)
        for i in range(xs.size(0)):
            y, h = self.cell(xs[i], h)
        return y, h


def _traced_cell():
    torch.manual_seed(191009)
    cell = MyCell()
    x, h = torch.rand(3, 4), torch.rand(3, 4)
    return cell, torch.jit.trace(cell, (x, h)), (x, h)


def mycell_traced() -> viz.DotGraph:
    return viz.ir_graph(_traced_cell()[1].graph)


def mycell_inlined() -> viz.DotGraph:
    return viz.ir_graph(_traced_cell()[1].inlined_graph)


def mycell_autograd() -> viz.DotGraph:
    cell, _, (x, h) = _traced_cell()
    new_h, _ = cell(x, h)
    return viz.autograd_graph(new_h.sum(), params=dict(cell.named_parameters()))


def mycell_fused() -> Optional[viz.DotGraph]:
    try:
        from minijit.jit.passes.fuse import fuse_pointwise
    except ImportError:
        return None
    from minijit.jit.passes.dce import eliminate_dead_code
    graph = _traced_cell()[1].inlined_graph
    if not fuse_pointwise(graph):
        return None
    eliminate_dead_code(graph)                  # the constant the group copied inside
    return viz.ir_graph(graph)


def rnn_loop() -> Optional[viz.DotGraph]:
    script = getattr(torch.jit, "script", None)
    if script is None:
        return None
    torch.manual_seed(191009)
    x, h = torch.rand(3, 4), torch.rand(3, 4)
    cell = torch.jit.trace(MyGatedCell(script(MyDecisionGate())), (x, h))
    return viz.ir_graph(script(MyRNNLoop(cell)).graph)


IMAGES: Dict[str, Callable[[], Optional[viz.DotGraph]]] = {
    "mycell_traced.svg": mycell_traced,
    "mycell_inlined.svg": mycell_inlined,
    "mycell_autograd.svg": mycell_autograd,
    "mycell_fused.svg": mycell_fused,
    "rnn_loop.svg": rnn_loop,
}


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "img", help="folder to write into")
    args = parser.parse_args(argv)
    for name, make in IMAGES.items():
        dot = make()
        if dot is None:
            print(f"skipped {name}: this part of minijit is not available yet")
            continue
        path = viz.render(dot, args.out / name, engine="builtin")
        print(f"wrote {path} ({len(dot.nodes)} nodes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
