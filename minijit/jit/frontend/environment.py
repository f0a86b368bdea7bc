"""Variable scopes of the function being compiled, and ``if`` refinements.

Note [Loads and stores]
    While emitting, a Python variable is not an SSA value yet: assigning ``x = e`` emits
    ``prim::Store[name="x"](%e)`` and every *read* of ``x`` emits ``%x = prim::Load[name="x"]()``
    (TorchScript's ``Environment``).  Control flow is emitted with empty block interfaces;
    the SSA pass (:mod:`.ssa`) later adds ``prim::If`` outputs and ``prim::Loop`` carried
    values and replaces every Load by the value stored last.

    The Loads matter even though they vanish: each one is named after its variable, and naming
    a value ``x`` renames the previous holder to ``x.1``, ``x.3``... (Note [IR invariants]).
    That is where the ``.N`` suffixes of a scripted graph come from, so this module emits
    exactly the Loads TorchScript emits, including the ones whose results are never used
    (looking ``x`` up in an outer scope during an assignment loads it).

An :class:`Environment` is one frame of the scope stack: one per block being emitted (the
function body, each branch, each loop body).  ``type_table`` holds first-class variables (by
type; their values live in Stores), ``value_table`` holds sugared values that cannot be stored
(modules, functions).
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

from ..ir.graph import Block, Value
from ..ir.types import IRType
from .errors import Span, error
from .schema_match import is_subtype, try_convert_to_type
from .sugar import SimpleValue, SugaredValue

__all__ = ["Environment", "meaningful_name", "Refinement", "RefinementSet", "CondValue"]


def meaningful_name(name: str) -> bool:
    """``_0``, ``_12`` and ``$tmp`` names are not recorded as debug names (TorchScript rule)."""
    if not name or name[0] == "$":
        return False
    if name[0] != "_":
        return True
    return not all(c.isdigit() for c in name[1:])


def as_simple(value: Optional[SugaredValue]) -> Optional[Value]:
    return value.value if isinstance(value, SimpleValue) else None


class Environment:
    """One scope frame (Note [Loads and stores])."""

    def __init__(self, m: Any, block: Block, next_frame: Optional["Environment"] = None):
        self.m = m
        self.block = block
        self.next = next_frame
        self.type_table: Dict[str, IRType] = {}
        self.value_table: Dict[str, SugaredValue] = {}
        self.error_messages: Dict[str, Callable[[], str]] = {}

    # ---- deferred errors (``y is not defined in the false branch``) ----------------------------
    def _root(self) -> "Environment":
        env = self
        while env.next is not None:
            env = env.next
        return env

    def set_variable_type_error(self, name: str, message: Callable[[], str]) -> None:
        self._root().error_messages[name] = message

    def find_variable_type_error(self, name: str) -> Optional[str]:
        message = self._root().error_messages.get(name)
        return message() if message is not None else None

    # ---- loads and stores ------------------------------------------------------------------------
    def insert_load(self, name: str, type_: IRType) -> SimpleValue:
        node = self.m.insert_node("prim::Load", [], 1)
        node.attrs["name"] = name
        node.output().type = type_
        if meaningful_name(name):
            node.output().set_debug_name(name)
        return SimpleValue(node.output())

    def insert_store(self, name: str, span: Optional[Span], value: Value, type_: IRType) -> None:
        node = self.m.insert_node("prim::Store", [value], 0, span)
        node.attrs["name"] = name
        self.type_table[name] = type_

    # ---- lookup ------------------------------------------------------------------------------------
    def find_in_this_frame(self, name: str) -> Optional[SugaredValue]:
        if name in self.value_table:
            return self.value_table[name]
        if name in self.type_table:
            return self.insert_load(name, self.type_table[name])
        return None

    def find_in_any_frame(self, name: str) -> Optional[SugaredValue]:
        env: Optional[Environment] = self
        while env is not None:
            found = env.find_in_this_frame(name)
            if found is not None:
                return found
            env = env.next
        return None

    def find_in_parent_frame(self, name: str) -> Optional[SugaredValue]:
        return self.next.find_in_any_frame(name) if self.next is not None else None

    def set_type(self, name: str, type_: IRType) -> None:
        self.type_table[name] = type_

    def defined_variables(self) -> List[str]:
        return list(self.type_table)

    # ---- assignment ----------------------------------------------------------------------------
    def set_var(self, span: Optional[Span], name: str, value: Value) -> None:
        self.set_sugared_var(span, name, SimpleValue(value), None)

    def set_sugared_var(self, span: Optional[Span], name: str, sugared: SugaredValue,
                        annotated_type: Optional[IRType]) -> None:
        """Bind ``name``: a Store for first-class values, the value table otherwise.

        A value defined in this block and not yet named takes the variable's name.  Assigning
        a variable of an outer scope converts the value to the outer type and checks it.
        """
        value = as_simple(sugared)
        if value is not None and not value.has_debug_name() and meaningful_name(name) and \
                value.node.owning_block is self.block:
            value.set_debug_name(name)
        parent = self.find_in_parent_frame(name)
        if parent is not None:
            if annotated_type is not None:
                raise error(span, f"Attempting to declare and annotate the type of variable "
                                  f"'{name}' but it is already defined in an outer block")
            if value is None:
                raise error(span, f"Cannot re-assign '{name}' to a value of type "
                                  f"{sugared.kind} because {name} is not a first-class value.  "
                                  "Only reassignments to first-class values are allowed")
            parent_value = as_simple(parent)
            if parent_value is None:
                raise error(span, f"Cannot re-assign '{name}' because it has type "
                                  f"{sugared.kind} and {name} is not a first-class value.  Only "
                                  "reassignments to first-class values are allowed")
            parent_type = parent_value.type.unshaped()
            value = try_convert_to_type(self.m, span, parent_type, value, True)
            if not is_subtype(value.type, parent_type):
                text = (f"Variable '{name}' previously had type "
                        f"{parent_value.type.annotation_str()} but is now being assigned to a "
                        f"value of type {value.type.annotation_str()}")
                if parent_value.type.kind == "List" and value.type.kind == "List":
                    text += ("\nEmpty lists default to List[Tensor]. Add a variable annotation "
                             "to the assignment to create an empty list of another type "
                             "(torch.jit.annotate(List[T, []]) where T is the type of elements "
                             "in the list for Python 2)")
                raise error(span, text + "\n")
        if value is not None:
            if annotated_type is not None and not is_subtype(value.type, annotated_type):
                raise error(span, f"Variable '{name}' is annotated with type "
                                  f"{annotated_type.annotation_str()} but is being assigned to "
                                  f"a value of type {value.type.annotation_str()}")
            self.insert_store(name, span, value, annotated_type or value.type)
        else:
            self.value_table[name] = sugared

    def get_sugared_var(self, name: str, span: Optional[Span],
                        required: bool = True) -> Optional[SugaredValue]:
        found = self.find_in_any_frame(name)
        if found is None:
            found = self.m.builtin_global(name)
        if found is None:
            found = self.m.resolver.resolve_value(name, span, self.m)
        if found is None and required:
            message = self.find_variable_type_error(name)
            if message is not None:
                raise error(span, message + "and was used here")
            raise error(span, f"undefined value {name}")
        return found

    def get_var(self, name: str, span: Optional[Span]) -> Value:
        return self.get_sugared_var(name, span).as_value(span, self.m)   # type: ignore

    def remove_var(self, name: str, span: Optional[Span], check: bool = False) -> None:
        removed = False
        env: Optional[Environment] = self
        while env is not None:
            a = env.value_table.pop(name, None) is not None
            b = env.type_table.pop(name, None) is not None
            removed = a or b
            env = env.next
        if check and not removed:
            message = self.find_variable_type_error(name)
            if message is not None:
                raise error(span, message + "and was used here")
            raise error(span, f"undefined value {name}")


# ---- refinements: what ``x is not None`` tells the branches ------------------------------------
class Refinement:
    __slots__ = ("name", "type")

    def __init__(self, name: str, type_: IRType):
        self.name = name
        self.type = type_


class RefinementSet:
    """Types a variable has when a condition is true / false (``Optional[T]`` → ``T``)."""

    def __init__(self, true: Optional[List[Refinement]] = None,
                 false: Optional[List[Refinement]] = None):
        self.true = list(true or [])
        self.false = list(false or [])

    def And(self, other: "RefinementSet") -> "RefinementSet":
        return RefinementSet(_union(self.true, other.true), _intersect(self.false, other.false))

    def Or(self, other: "RefinementSet") -> "RefinementSet":
        return RefinementSet(_intersect(self.true, other.true), _union(self.false, other.false))

    def Not(self) -> "RefinementSet":
        return RefinementSet(self.false, self.true)

    def active(self) -> List[Refinement]:
        return self.true


def _union(a: List[Refinement], b: List[Refinement]) -> List[Refinement]:
    result = list(a)
    for r in b:
        same = [e for e in result if e.name == r.name]
        if not same:
            result.append(r)
        elif same[0].type != r.type:
            result.remove(same[0])
    return result


def _intersect(a: List[Refinement], b: List[Refinement]) -> List[Refinement]:
    return [r for r in a if any(e.name == r.name and e.type == r.type for e in b)]


class CondValue:
    """A condition: its bool value, refinements, and whether it is statically known
    (``if self.sub is None`` on a missing submodule compiles one branch only)."""

    __slots__ = ("value", "refinements", "static_if")

    def __init__(self, value: Value, refinements: RefinementSet, static_if: Optional[bool]):
        self.value = value
        self.refinements = refinements
        self.static_if = static_if
