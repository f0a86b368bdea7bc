"""``minijit.optim``: optimizers that update parameters in place from their ``.grad``.

Updates run under ``no_grad`` with minijit's in-place ops and follow PyTorch's single-tensor
(``foreach=False``) code line by line, so trajectories agree with PyTorch's to float rounding.
"""
from .adam import Adam
from .optimizer import Optimizer
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam"]
