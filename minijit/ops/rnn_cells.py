"""Recurrent cell ops: ``aten::rnn_tanh_cell``, ``rnn_relu_cell``, ``gru_cell``, ``lstm_cell``.

PyTorch's ``nn.RNNCell``, ``nn.GRUCell`` and ``nn.LSTMCell`` call these ATen ops through
``torch._VF``, so a scripted cell is one ``aten::gru_cell`` node.  ATen writes them in C++
(``aten/src/ATen/native/RNN.cpp``) from other ops, with in-place updates of the gate buffers
(``add_``, ``sigmoid_``, ``mul_``) and ``unsafe_chunk``, and its tracer does not record them
(``DONT_RECORD_TRACE``): a trace shows those parts, unnamed, since C++ has no Python locals.

Here each op is ``Tag.COMPOSITE`` (``impl`` is RNN.cpp's decomposition in minijit ops, so
autograd sees the same parts and the same ``grad_fn`` names: ``AddBackward0`` for a GRU's
output) and ``Tag.TRACE_PARTS`` (the dispatcher runs it with the tracer on, so the parts are
recorded as PyTorch records them).  The decomposition lives in ``minijit/ops``, whose frames
the tracer skips, so a value is named only after a local of the module's ``forward``.

Example:
    >>> import minijit
    >>> x, h = minijit.ones(2, 4), minijit.zeros(2, 3)
    >>> w_ih, w_hh = minijit.zeros(9, 4), minijit.zeros(9, 3)
    >>> minijit.gru_cell(x, h, w_ih, w_hh).shape      # update gate 0.5, new gate 0
    torch.Size([2, 3])
"""
from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple

from .registry import OpInfo, Tag, register
from .shape import _chunk_backward, _chunk_impl

__all__ = ["rnn_tanh_cell", "rnn_relu_cell", "gru_cell", "lstm_cell"]


# ``unsafe_chunk``: ``chunk`` whose pieces autograd does not treat as views of the input (no
# shared version counter, no ``CopySlices`` when a piece is written in place), which is why
# RNN.cpp may ``sigmoid_()`` the gates.  The pieces still share the input's memory.
register(OpInfo("unsafe_chunk",
                ["aten::unsafe_chunk(Tensor self, int chunks, int dim=0) -> Tensor[]"], _chunk_impl,
                tags=(Tag.SHAPE,), backward=_chunk_backward, grad_fn_name="UnsafeSplitBackward0",
                sample_inputs=lambda make: [((make((5, 3)), 2), {}), ((make((3, 6)), 3, 1), {}),
                                            ((make((2, 3)), 5, 0), {}),
                                            ((make((3, 6)), 2, -1), {})]))


# ---- argument checks (RNN.cpp's ``check_rnn_cell_forward_*``) -----------------------------
def _check_input(input: Any, w_ih: Any) -> None:
    if input.size(1) != w_ih.size(1):
        raise RuntimeError(f"input has inconsistent input_size: got {input.size(1)} expected "
                           f"{w_ih.size(1)}")


def _check_hidden(input: Any, hx: Any, w_hh: Any, label: int) -> None:
    if input.size(0) != hx.size(0):
        raise RuntimeError(f"Input batch size {input.size(0)} doesn't match hidden{label} batch "
                           f"size {hx.size(0)}")
    if hx.size(1) != w_hh.size(1):
        raise RuntimeError(f"hidden{label} has inconsistent hidden_size: got {hx.size(1)}, "
                           f"expected {w_hh.size(1)}")


def _linear(x: Any, w: Any, b: Optional[Any]) -> Any:
    """RNN.cpp's ``CellParams::linear_ih`` / ``linear_hh``: one ``aten::linear``."""
    import minijit
    return minijit.linear(x, w, b)


# ---- the cells, as RNN.cpp writes them --------------------------------------------------------
def _simple_cell(input: Any, hx: Any, w_ih: Any, w_hh: Any, b_ih: Optional[Any],
                 b_hh: Optional[Any]) -> Any:
    """``SimpleCell``: ``linear_hh(hx).add_(linear_ih(input))``, the nonlinearity still to do."""
    _check_input(input, w_ih)
    _check_hidden(input, hx, w_hh, 0)
    return _linear(hx, w_hh, b_hh).add_(_linear(input, w_ih, b_ih))


def rnn_tanh_cell(input: Any, hx: Any, w_ih: Any, w_hh: Any, b_ih: Optional[Any] = None,
                  b_hh: Optional[Any] = None) -> Any:
    """``h' = tanh(W_hh h + b_hh + W_ih x + b_ih)``."""
    return _simple_cell(input, hx, w_ih, w_hh, b_ih, b_hh).tanh()


def rnn_relu_cell(input: Any, hx: Any, w_ih: Any, w_hh: Any, b_ih: Optional[Any] = None,
                  b_hh: Optional[Any] = None) -> Any:
    """``h' = relu(W_hh h + b_hh + W_ih x + b_ih)``."""
    return _simple_cell(input, hx, w_ih, w_hh, b_ih, b_hh).relu()


def gru_cell(input: Any, hx: Any, w_ih: Any, w_hh: Any, b_ih: Optional[Any] = None,
             b_hh: Optional[Any] = None) -> Any:
    """One GRU step; gates in PyTorch's order: reset, update (``input_gate``), new."""
    _check_input(input, w_ih)
    _check_hidden(input, hx, w_hh, 0)
    igates = _linear(input, w_ih, b_ih).unsafe_chunk(3, 1)
    hgates = _linear(hx, w_hh, b_hh).unsafe_chunk(3, 1)
    reset_gate = hgates[0].add_(igates[0]).sigmoid_()
    input_gate = hgates[1].add_(igates[1]).sigmoid_()
    new_gate = igates[2].add(hgates[2].mul_(reset_gate)).tanh_()
    return (hx - new_gate).mul_(input_gate).add_(new_gate)


def lstm_cell(input: Any, hx: Sequence[Any], w_ih: Any, w_hh: Any, b_ih: Optional[Any] = None,
              b_hh: Optional[Any] = None) -> Tuple[Any, Any]:
    """One LSTM step, ``(h', c')``; gates in PyTorch's order: input, forget, cell, output."""
    if len(hx) != 2:
        raise RuntimeError("lstm_cell expects two hidden states")
    _check_input(input, w_ih)
    _check_hidden(input, hx[0], w_hh, 0)
    _check_hidden(input, hx[1], w_hh, 1)
    h, c = hx
    gates = _linear(h, w_hh, b_hh).add_(_linear(input, w_ih, b_ih))
    chunked = gates.unsafe_chunk(4, 1)
    ingate = chunked[0].sigmoid_()
    forgetgate = chunked[1].sigmoid_()
    cellgate = chunked[2].tanh_()
    outgate = chunked[3].sigmoid_()
    cy = (forgetgate * c).add_(ingate * cellgate)
    hy = outgate * cy.tanh()
    return hy, cy


# ---- registration -------------------------------------------------------------------------
_TAGS = (Tag.COMPOSITE, Tag.TRACE_PARTS)
_ARGS = "Tensor w_ih, Tensor w_hh, Tensor? b_ih=None, Tensor? b_hh=None"


def _samples(gates: int, lstm: bool = False) -> Any:
    """A batch of 2, input size 4, hidden size 3: with biases, without, and one with the
    wrong input size (the conformance test compares the error with PyTorch's)."""
    def sample_inputs(make: Any) -> list:
        def hidden() -> Any:
            return [make((2, 3)), make((2, 3))] if lstm else make((2, 3))

        def weights() -> tuple:
            return make((gates * 3, 4)), make((gates * 3, 3))
        return [((make((2, 4)), hidden()) + weights() + (make((gates * 3,)),
                                                          make((gates * 3,))), {}),
                ((make((2, 4)), hidden()) + weights(), {}),
                ((make((2, 5)), hidden()) + weights(), {})]
    return sample_inputs


for _name, _impl, _gates in (("rnn_tanh_cell", rnn_tanh_cell, 1),
                             ("rnn_relu_cell", rnn_relu_cell, 1), ("gru_cell", gru_cell, 3)):
    register(OpInfo(_name, [f"aten::{_name}(Tensor input, Tensor hx, {_ARGS}) -> Tensor"],
                    _impl, tags=_TAGS, method=False, sample_inputs=_samples(_gates)))
register(OpInfo("lstm_cell",
                [f"aten::lstm_cell(Tensor input, Tensor[] hx, {_ARGS}) -> (Tensor, Tensor)"],
                lstm_cell, tags=_TAGS, method=False, sample_inputs=_samples(4, lstm=True)))
