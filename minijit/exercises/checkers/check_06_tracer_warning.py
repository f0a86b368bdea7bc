"""Checks for exercise 6: a TracerWarning (``tutorials/exercises/06_tracer_warning.py``).

"The user's code" is a small module written to a temporary folder, so that the checks can
tell whether a warning points at it (and not at the exercise file or at minijit).
"""
from __future__ import annotations

import importlib.util
import os
import warnings

import pytest

import minijit
from minijit.exercises.loader import load_exercise
from minijit.jit import TracerWarning

ex = load_exercise(6)

USER_CODE = '''import minijit


def direct(x, ex):
    v = ex.complex_of(x.sum())
    return x * v.real


def builtin(x):
    v = complex(x.sum())
    return x * v.real


def seen(x, ex, box):
    box.append(ex.is_tracing())
    return x * 2
'''
LINE_DIRECT, LINE_BUILTIN = 5, 10


@pytest.fixture(scope="module")
def user(tmp_path_factory):
    folder = tmp_path_factory.mktemp("user")
    path = folder / "user_model.py"
    path.write_text(USER_CODE)
    spec = importlib.util.spec_from_file_location("user_model_for_exercise_6", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture()
def installed():
    ex.install()
    yield
    ex.uninstall()


def _trace(fn, *extra):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        traced = minijit.jit.trace(lambda x: fn(x, *extra), (minijit.ones(3),),
                                   check_trace=False)
    return traced, [w for w in caught if issubclass(w.category, TracerWarning)]


def test_is_tracing(user):
    """is_tracing() is True inside a trace and False outside"""
    assert ex.is_tracing() is False, "no trace is being recorded here"
    box = []
    minijit.jit.trace(lambda x: user.seen(x, ex, box), (minijit.ones(2),), check_trace=False)
    assert box == [True], f"inside the traced function is_tracing() returned {box[0]!r}"


def test_is_internal(user):
    """is_internal() tells library files from the user's"""
    assert ex.is_internal(ex.__file__) is True, "the exercise file itself is library code"
    assert ex.is_internal(minijit.__file__) is True, "minijit/__init__.py is library code"
    assert ex.is_internal(os.path.join(os.path.dirname(minijit.__file__), "jit",
                                       "__init__.py")), "minijit/jit/__init__.py is library code"
    assert ex.is_internal(user.__file__) is False, "the user's file is not library code"


def test_complex_of_values():
    """complex_of() converts one-element tensors, and refuses others"""
    assert ex.complex_of(minijit.tensor(2.5)) == complex(2.5)
    assert ex.complex_of(minijit.tensor([[-3]])) == complex(-3), "int tensors work too"
    with pytest.raises(ValueError, match="only one element tensors can be converted"):
        ex.complex_of(minijit.tensor([1.0, 2.0]))


def test_no_warning_outside_a_trace():
    """no warning when nothing is being traced"""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ex.complex_of(minijit.tensor(1.0))
        ex.warn_conversion("float")
    assert not caught, f"warned outside a trace: {[str(w.message)[:60] for w in caught]}"


def test_one_warning_with_pytorchs_text(user):
    """warns once, with PyTorch's message, while tracing"""
    _, caught = _trace(user.direct, ex)
    assert len(caught) == 1, f"expected 1 TracerWarning, got {len(caught)}: " + \
        "; ".join(str(w.message)[:70] for w in caught)
    assert str(caught[0].message) == ("Converting a tensor to a Python complex " +
                                      ex.MESSAGE_TAIL), f"wrong message: {caught[0].message}"
    _, caught = _trace(lambda x: (ex.warn_conversion("float"), x)[1])
    assert len(caught) == 1 and str(caught[0].message).startswith(
        "Converting a tensor to a Python float might cause"), \
        "warn_conversion('float') should say 'Converting a tensor to a Python float ...'"


def test_warning_points_at_the_users_line(user):
    """the warning points at the user's line, not at library code"""
    _, caught = _trace(user.direct, ex)
    assert caught, "no TracerWarning"
    w = caught[0]
    where = f"{os.path.basename(w.filename)}:{w.lineno}"
    assert os.path.abspath(w.filename) == os.path.abspath(user.__file__), \
        (f"the warning points at {where}; it should point at the user's file "
         f"user_model.py:{LINE_DIRECT} (walk the frames outwards, skipping library files)")
    assert w.lineno == LINE_DIRECT, f"the warning points at line {w.lineno}, not {LINE_DIRECT}"


def test_builtin_complex_warns_at_the_users_line(user, installed):
    """complex(t) warns too (through install()), at the user's line"""
    traced, caught = _trace(user.builtin)
    assert len(caught) == 1, f"expected 1 TracerWarning from complex(t), got {len(caught)}"
    w = caught[0]
    assert os.path.abspath(w.filename) == os.path.abspath(user.__file__) and \
        w.lineno == LINE_BUILTIN, (f"complex(t) warned at {os.path.basename(w.filename)}:"
                                   f"{w.lineno}, not at user_model.py:{LINE_BUILTIN}")
    # And this is why it warns: the value was baked into the graph.
    out = traced(2 * minijit.ones(3))
    assert out.tolist() == [6.0, 6.0, 6.0], "the traced function keeps using the traced 3"
