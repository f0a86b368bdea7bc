"""The concrete modules, one file per family, laid out like ``torch/nn/modules``.

The layout matters beyond tidiness: a class's ``__module__`` (``minijit.nn.modules.linear``)
maps to PyTorch's (``torch.nn.modules.linear``), which TorchScript prints in qualified names
such as ``__torch__.torch.nn.modules.linear.Linear``.
"""
from ..module import Module
from .activation import (ELU, GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, SiLU, Softmax,
                         Softplus, Tanh)
from .container import ModuleDict, ModuleList, Sequential
from .dropout import Dropout
from .linear import Identity, Linear
from .loss import CrossEntropyLoss, L1Loss, MSELoss, NLLLoss
from .normalization import LayerNorm
from .rnn import GRUCell, LSTMCell, RNNCell, RNNCellBase
from .sparse import Embedding

__all__ = ["Module", "Identity", "Linear", "ReLU", "Tanh", "Sigmoid", "GELU", "SiLU", "LeakyReLU",
           "ELU", "Softplus", "Softmax", "LogSoftmax", "Sequential", "ModuleList", "ModuleDict",
           "Dropout", "Embedding", "LayerNorm", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell",
           "L1Loss", "MSELoss", "NLLLoss", "CrossEntropyLoss"]
