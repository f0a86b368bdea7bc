"""minijit: PyTorch's TorchScript stack, rebuilt in readable Python on NumPy and CuPy.

Use it like ``torch``::

    import minijit as torch
    x = torch.rand(3, 4)
    traced = torch.jit.trace(model, (x,))

Import order matters and is part of the design: the Tensor class first, then the op modules
fill the registry, then Tensor methods and ``minijit.<op>`` functions are made from it.
"""
from __future__ import annotations

# minijit mirrors PyTorch 2.13 (CPU) and reports that version, so programs that print or check
# ``torch.__version__`` behave the same; minijit's own release is ``minijit_version``.
__version__ = "2.13.0+cpu"
minijit_version = "0.1.0"

from . import dtypes as _dtypes
from .dtypes import (bool_ as bool, dtype, float16, float32, float64, get_default_dtype,  # noqa: A001
                     int8, int16, int32, int64, set_default_dtype, uint8)
from .backends import device
from ._tensor import Size, Tensor

from .ops import pointwise as _pointwise, reduction as _reduction, shape as _shape  # noqa: E402,F401
from .ops import linalg as _linalg, creation as _creation  # noqa: E402,F401
from .ops import indexing as _indexing, composite as _composite  # noqa: E402,F401
from .ops import scalar as _scalar  # noqa: E402,F401
from .ops import rnn_cells as _rnn_cells  # noqa: E402,F401
from .ops.loss import broadcast_tensors  # noqa: E402  (and registers the loss ops)
from .ops import methods as _methods  # noqa: E402
from .ops import functional as _functional  # noqa: E402

_methods.install_methods()
globals().update(_functional.FUNCTIONS)

from .ops.creation import (arange, as_tensor, empty, empty_like, eye, from_numpy, full,  # noqa: E402
                           full_like, linspace, ones, ones_like, rand, rand_like, randint,
                           randint_like, randn, randn_like, randperm, tensor, zeros, zeros_like)
from .ops.functional import cat, einsum, stack  # noqa: E402
from .ops.methods import _norm as norm, _split as split  # noqa: E402
from .ops.reduction import return_types  # noqa: E402
from . import autograd  # noqa: E402
from .autograd import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled  # noqa: E402
from .random import (Generator, default_generator, get_rng_state, initial_seed,  # noqa: E402
                     manual_seed, seed, set_rng_state)
from ._tensor_str import set_printoptions, get_printoptions  # noqa: E402

float = float32  # noqa: A001
double = float64
half = float16
long = int64
int = int32  # noqa: A001
short = int16

concat = cat
concatenate = cat
absolute = abs  # noqa: F821 - installed from the registry above
clip = clamp  # noqa: F821
multiply = mul  # noqa: F821
subtract = sub  # noqa: F821
divide = div  # noqa: F821
true_divide = div  # noqa: F821
greater = gt  # noqa: F821
less = lt  # noqa: F821
negative = neg  # noqa: F821


def is_tensor(obj: object) -> bool:
    return isinstance(obj, Tensor)


def numel(t: Tensor) -> "builtins.int":
    return t.numel()


def is_floating_point(t: Tensor) -> "builtins.bool":
    return t.dtype.is_floating_point


def dot(a: Tensor, b: Tensor) -> Tensor:
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    return matmul(a, b)  # noqa: F821


def chunk(input: Tensor, chunks: "builtins.int", dim: "builtins.int" = 0):
    return input.chunk(chunks, dim)


import builtins  # noqa: E402
from . import nn, optim  # noqa: E402
from . import jit  # noqa: E402
from . import viz  # noqa: E402  (pictures: graph.to_dot(), viz.render; adds Graph.to_dot)
from . import cuda  # noqa: E402  (minijit.cuda.is_available(), synchronize, ...)
