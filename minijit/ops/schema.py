"""TorchScript operator schemas: ``aten::add.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor``.

A schema is the contract every layer shares: the dispatcher binds Python arguments with it, the
tracer and scripter make one IR input per argument from it, the ``.code`` printer drops trailing
arguments equal to its defaults, and the scripter picks an overload by matching types against
it.  The text is parsed once, when the op is registered.
"""
from __future__ import annotations

import re
from typing import Any, List, Optional, Tuple

__all__ = ["Argument", "Schema", "parse_schema", "NO_DEFAULT"]


class _NoDefault:
    """Marks an argument without a default (``None`` is a real default)."""

    def __repr__(self) -> str:
        return "NO_DEFAULT"


NO_DEFAULT = _NoDefault()


class Argument:
    """One schema argument: ``Scalar alpha=1`` → name 'alpha', type 'Scalar', default 1."""

    __slots__ = ("name", "type", "default", "kwarg_only", "alias", "is_write")

    def __init__(self, name: str, type_: str, default: Any = NO_DEFAULT, kwarg_only: bool = False,
                 alias: Optional[str] = None, is_write: bool = False):
        self.name = name
        self.type = type_
        self.default = default
        self.kwarg_only = kwarg_only
        self.alias = alias
        self.is_write = is_write

    @property
    def has_default(self) -> bool:
        return self.default is not NO_DEFAULT

    @property
    def is_tensor(self) -> bool:
        return self.type in ("Tensor", "Tensor?")

    @property
    def is_tensor_list(self) -> bool:
        return self.type in ("Tensor[]", "Tensor?[]")

    def __repr__(self) -> str:
        text = f"{self.type} {self.name}"
        if self.has_default:
            text += "=" + format_default(self.default)
        return text


class Schema:
    """A parsed operator schema (name, overload, arguments, returns)."""

    __slots__ = ("namespace", "name", "overload", "arguments", "returns", "return_names", "text",
                 "_index")

    def __init__(self, namespace: str, name: str, overload: str, arguments: List[Argument],
                 returns: List[str], return_names: List[Optional[str]], text: str):
        self.namespace = namespace
        self.name = name
        self.overload = overload
        self.arguments = arguments
        self.returns = returns
        self.return_names = return_names
        self.text = text
        self._index = {a.name: i for i, a in enumerate(arguments)}

    @property
    def kind(self) -> str:
        """The IR node kind, ``aten::add`` (overload names are not part of the kind)."""
        return f"{self.namespace}::{self.name}"

    def index(self, name: str) -> int:
        return self._index[name]

    def __repr__(self) -> str:
        return self.text


_SIMPLE_DEFAULTS = {"None": None, "True": True, "False": False, "[]": [], "inf": float("inf"),
                    "-inf": float("-inf"), "nan": float("nan"), "contiguous_format": 0, "preserve_format": 1,
                    "Mean": 1, "mean": "mean"}


def _parse_default(text: str, type_: str) -> Any:
    text = text.strip()
    if text in _SIMPLE_DEFAULTS:
        value = _SIMPLE_DEFAULTS[text]
        return list(value) if isinstance(value, list) else value
    if text.startswith('"') or text.startswith("'"):
        return text[1:-1]
    if text.startswith("["):
        return [_parse_default(t, type_.rstrip("[]?")) for t in text[1:-1].split(",") if t.strip()]
    number = float(text) if any(c in text for c in ".eE") else int(text)
    if type_.startswith("int") and "[" in type_:
        # ``int[2] stride=1`` means ``[1, 1]``: a scalar default broadcast to the list length.
        length = int(type_[type_.index("[") + 1:type_.index("]")] or 1)
        return [number] * length
    return number


def format_default(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value)


_ARG_RE = re.compile(r"^(?P<type>[A-Za-z_][\w\.]*(?:\([^)]*\))?"
                     r"(?:\[\d*\])?\??(?:\[\d*\])?\??)\s+(?P<name>\w+)(?:\s*=\s*(?P<default>.+))?$")


def split_top_level(text: str) -> List[str]:
    """Split ``a, b[1, 2], c(d, e)`` at the commas that are not inside brackets."""
    parts, depth, current = [], 0, []
    for ch in text:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    if "".join(current).strip():
        parts.append("".join(current).strip())
    return parts


def _strip_alias(type_text: str) -> Tuple[str, Optional[str], bool]:
    match = re.match(r"^(\w+)\(([a-z]+)(!?)[^)]*\)(.*)$", type_text)
    if match:
        return match.group(1) + match.group(4), match.group(2), bool(match.group(3))
    return type_text, None, False


def parse_schema(text: str) -> Schema:
    """Parse a TorchScript schema string.

    Example:
        >>> s = parse_schema("aten::add.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor")
        >>> (s.kind, s.overload, [a.name for a in s.arguments], s.arguments[2].default)
        ('aten::add', 'Tensor', ['self', 'other', 'alpha'], 1)
    """
    match = re.match(r"^\s*(\w+)::([\w]+)(?:\.(\w+))?\((.*)\)\s*->\s*(.+)$", text, re.S)
    if not match:
        raise ValueError(f"malformed schema: {text!r}")
    namespace, name, overload, args_text, returns_text = match.groups()
    arguments: List[Argument] = []
    kwarg_only = False
    for part in split_top_level(args_text):
        if part == "*":
            kwarg_only = True
            continue
        m = _ARG_RE.match(part)
        if not m:
            raise ValueError(f"malformed argument {part!r} in schema {text!r}")
        type_, alias, write = _strip_alias(m.group("type"))
        default = m.group("default")
        arguments.append(Argument(m.group("name"), type_,
                                  NO_DEFAULT if default is None else _parse_default(default, type_),
                                  kwarg_only, alias, write))
    returns_text = returns_text.strip()
    if returns_text.startswith("("):
        items = split_top_level(returns_text[1:-1])
    else:
        items = [returns_text] if returns_text != "()" else []
    returns, return_names = [], []
    for item in items:
        pieces = item.split()
        returns.append(_strip_alias(pieces[0])[0])
        return_names.append(pieces[1] if len(pieces) > 1 else None)
    return Schema(namespace, name, overload or "", arguments, returns, return_names, text)
