"""``minijit.nn``: modules, parameters, initialisers and functional ops (``torch.nn``).

* :mod:`.parameter` - ``Parameter`` (a tensor a Module registers) and ``Buffer``;
* :mod:`.module` - ``Module``: registration, traversal, ``state_dict``, ``to``, hooks, repr;
* :mod:`.modules` - the concrete layers, containers and losses;
* :mod:`.functional` - the stateless functions the layers call, all written in minijit ops;
* :mod:`.init` - in-place initialisers that draw from the generator exactly like PyTorch.
"""
from . import functional, init, parameter  # noqa: F401
from .module import Module
from .modules import (ELU, GELU, CrossEntropyLoss, Dropout, Embedding, GRUCell, Identity, L1Loss,
                      LayerNorm, LeakyReLU, Linear, LogSoftmax, LSTMCell, ModuleDict, ModuleList,
                      MSELoss, NLLLoss, ReLU, RNNCell, RNNCellBase, Sequential, Sigmoid, SiLU,
                      Softmax, Softplus, Tanh)
from .parameter import Buffer, Parameter

__all__ = ["Module", "Parameter", "Buffer", "functional", "init", "Identity", "Linear", "ReLU",
           "Tanh", "Sigmoid", "GELU", "SiLU", "LeakyReLU", "ELU", "Softplus", "Softmax",
           "LogSoftmax", "Sequential", "ModuleList", "ModuleDict", "Dropout", "Embedding",
           "LayerNorm", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell", "L1Loss", "MSELoss",
           "NLLLoss", "CrossEntropyLoss"]
