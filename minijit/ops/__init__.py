"""The op registry and everything built from it (see ``registry.py``).

The op definition modules (``pointwise``, ``reduction``, ``shape``, ``linalg``, ``creation``)
are imported by ``minijit/__init__.py`` after the Tensor class exists, then
``methods.install_methods()`` puts them on Tensor.
"""
