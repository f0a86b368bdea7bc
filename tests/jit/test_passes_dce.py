"""Dead-code elimination: the optimiser's (until nothing is dead) and the scripter's (one
mark-and-sweep, as TorchScript's frontend: what it keeps shows in ``.code``)."""
from __future__ import annotations

import minijit
from minijit.jit.ir import parse_ir
from minijit.jit.passes.dce import eliminate_dead_code

# ``for i in range(2): x = torch.tanh(x)`` then ``x`` overwritten: the carried value feeds
# the next iteration, so TorchScript keeps the loop; nothing reads it afterwards, so the
# optimiser drops it.
CARRYING = """graph(%x.1 : Tensor, %y : Tensor):
  %t : bool = prim::Constant[value=1]()
  %2 : int = prim::Constant[value=2]()
  %x : Tensor = prim::Loop(%2, %t, %x.1)
    block0(%i : int, %x.3 : Tensor):
      %x.5 : Tensor = aten::tanh(%x.3)
      -> (%t, %x.5)
  %r : Tensor = aten::tanh(%y)
  return (%r)
"""


def test_the_frontend_keeps_a_loop_that_carries_a_value_and_the_optimiser_does_not():
    g = parse_ir(CARRYING)
    assert not eliminate_dead_code(g, like_torchscript=True)
    assert "prim::Loop" in str(g)
    g.lint()
    assert eliminate_dead_code(g)
    assert "prim::Loop" not in str(g)
    g.lint()


def test_a_carried_value_its_body_never_reads_goes_with_its_loop():
    g = parse_ir(CARRYING.replace("aten::tanh(%x.3)", "aten::tanh(%y)"))
    assert eliminate_dead_code(g, like_torchscript=True)
    assert "prim::Loop" not in str(g)
    g.lint()


def test_liveness_is_decided_before_the_sweep():
    # The body reads the carried value only in a node that is itself dead: TorchScript marks
    # first (the parameter still has a use) and sweeps after, so the loop keeps carrying it.
    g = parse_ir(CARRYING.replace(
        "      %x.5 : Tensor = aten::tanh(%x.3)\n",
        "      %dead : Tensor = aten::tanh(%x.3)\n      %x.5 : Tensor = aten::tanh(%y)\n"))
    assert eliminate_dead_code(g, like_torchscript=True)
    text = str(g)
    assert "prim::Loop" in text and "%dead" not in text
    g.lint()


class Overwrites(minijit.nn.Module):
    def forward(self, x, y):
        for i in range(2):
            x = minijit.tanh(x)
        if bool(y.sum() > 0):
            y = minijit.relu(y)
        x = minijit.tanh(y)
        return x


def test_scripted_code_keeps_what_torchscript_keeps():
    code = minijit.jit.script(Overwrites()).code
    assert "for i in range(2):" in code            # the carrying loop stays
    assert "relu" in code                           # y is read after the if
