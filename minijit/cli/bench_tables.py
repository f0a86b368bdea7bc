"""Read the Markdown tables that the benchmark scripts print (and ``RESULTS.md`` collects).

A benchmark table looks like::

    ### RNN loop 10×3×4, no grad (x86_64, 2 cores, Python 3.11.7, 1 thread)

    | case | min (µs) | median (µs) | vs torch.jit.script (min) |
    |---|---:|---:|---:|
    | NumPy by hand | 94.2 | 107.1 | 0.96× |

:func:`parse_tables` returns one :class:`Table` per table, titled by the nearest heading above
it; cells are kept as text and :meth:`Table.number` reads ``94.2``, ``1,444``, ``0.96×``.

Example:
    >>> t = parse_tables("## Speed\\n\\n| case | min (ms) |\\n|---|---:|\\n| a | 1.5 |\\n")[0]
    >>> t.title, t.columns, t.rows, t.number("1,234.5×")
    ('Speed', ['case', 'min (ms)'], [['a', '1.5']], 1234.5)
"""
from __future__ import annotations

import re
from typing import List, NamedTuple, Optional

__all__ = ["Table", "parse_tables", "slug"]

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")
_NUMBER = re.compile(r"^[-+]?(\d[\d,]*\.?\d*|\.\d+)([eE][-+]?\d+)?$")


class Table(NamedTuple):
    title: str
    columns: List[str]
    rows: List[List[str]]

    @staticmethod
    def number(cell: str) -> Optional[float]:
        """The number in a cell (``1,444``, ``0.96×``, ``**2.1**``), or None."""
        text = cell.strip().strip("*_ ").rstrip("×x%").strip()
        if not _NUMBER.match(text):
            return None
        return float(text.replace(",", ""))

    def numeric_columns(self) -> List[int]:
        """Columns (after the first) holding a number in at least one row."""
        return [j for j in range(1, len(self.columns))
                if any(j < len(r) and self.number(r[j]) is not None for r in self.rows)]


def _cells(line: str) -> List[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def parse_tables(text: str) -> List[Table]:
    """Every pipe table in ``text``, titled by the closest heading before it."""
    tables: List[Table] = []
    title = ""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        heading = _HEADING.match(line)
        if heading:
            title = heading.group(2).strip()
        is_table = line.lstrip().startswith("|") and i + 1 < len(lines) and \
            re.match(r"^\s*\|?\s*:?-{3,}", lines[i + 1])
        if is_table:
            columns = _cells(line)
            rows = []
            i += 2
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                rows.append(_cells(lines[i]))
                i += 1
            tables.append(Table(title or f"table {len(tables) + 1}", columns, rows))
            continue
        i += 1
    return tables


def slug(title: str) -> str:
    """A file name for a table title.

    ``RNN loop 10×3×4, no grad (x86...)`` → ``rnn_loop_10x3x4_no_grad``.
    """
    text = title.split("(")[0] if "(" in title and not title.startswith("(") else title
    text = text.replace("×", "x").lower()
    text = re.sub(r"[^a-z0-9]+", "_", text).strip("_")
    return text[:60] or "table"
