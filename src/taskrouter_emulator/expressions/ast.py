"""Typed abstract syntax tree for TaskRouter expressions.

This module owns the node types produced by :mod:`.parser` and consumed by
:mod:`.evaluator`, plus small structural helpers that walk a tree.  Every node
is a frozen (hence hashable) dataclass, so parsed expressions can be cached and
shared freely.

Value nodes (operands of a comparison):

* :class:`String`, :class:`Number`, :class:`Boolean`: literal constants;
* :class:`Array`: an array literal such as ``["en", "es"]``;
* :class:`Path`: a key reference such as ``task.languages[0]``.

Condition nodes (things that evaluate to a boolean):

* :class:`Comparison`: ``left <op> right``;
* :class:`Truthy`: a bare operand, true only when it is boolean ``true``;
* :class:`Not`, :class:`And`, :class:`Or`: logic.  ``And``/``Or`` are n-ary so
  long chains stay flat (no deep recursion when evaluating).
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = [
    "And",
    "Array",
    "Boolean",
    "CompareOp",
    "Comparison",
    "Condition",
    "Expression",
    "LiteralNode",
    "Not",
    "Number",
    "Operand",
    "Or",
    "Path",
    "Scalar",
    "String",
    "Truthy",
    "iter_paths",
    "referenced_roots",
]

Scalar = str | int | float | bool
"""The Python type of a literal constant."""


class CompareOp(enum.StrEnum):
    """A comparison operator; the value is its canonical spelling."""

    EQ = "=="
    NE = "!="
    GT = ">"
    GE = ">="
    LT = "<"
    LE = "<="
    IN = "IN"
    NOT_IN = "NOT IN"
    HAS = "HAS"
    CONTAINS = "CONTAINS"


@dataclass(frozen=True, slots=True)
class String:
    """A quoted string constant."""

    value: str


@dataclass(frozen=True, slots=True)
class Number:
    """A numeric constant (``1``, ``1.5``, ``-2``, ``0800``)."""

    value: int | float


@dataclass(frozen=True, slots=True)
class Boolean:
    """A ``true``/``false`` constant."""

    value: bool


LiteralNode = String | Number | Boolean


@dataclass(frozen=True, slots=True)
class Array:
    """An array literal; ``values`` holds the plain Python values of ``items``."""

    items: tuple[LiteralNode, ...]
    values: tuple[Scalar, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", tuple(item.value for item in self.items))


@dataclass(frozen=True, slots=True)
class Path:
    """A key reference: ``root`` followed by ``rest`` (names and list indexes)."""

    root: str
    rest: tuple[str | int, ...] = ()

    @property
    def segments(self) -> tuple[str | int, ...]:
        """All segments including the root."""
        return (self.root, *self.rest)

    def __str__(self) -> str:
        parts = [self.root]
        for segment in self.rest:
            parts.append(f"[{segment}]" if isinstance(segment, int) else f".{segment}")
        return "".join(parts)


Operand = String | Number | Boolean | Array | Path


@dataclass(frozen=True, slots=True)
class Comparison:
    """``left <op> right``."""

    op: CompareOp
    left: Operand
    right: Operand


@dataclass(frozen=True, slots=True)
class Truthy:
    """A bare operand used as a condition: true only if it is boolean ``true``."""

    operand: Operand


@dataclass(frozen=True, slots=True)
class Not:
    """Logical negation."""

    operand: Condition


@dataclass(frozen=True, slots=True)
class And:
    """Logical conjunction of two or more conditions (short-circuit)."""

    operands: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """Logical disjunction of two or more conditions (short-circuit)."""

    operands: tuple[Condition, ...]


Condition = Comparison | Truthy | Not | And | Or


@dataclass(frozen=True, slots=True)
class Expression:
    """A parsed expression: the AST root.

    ``source`` is the original text; it is excluded from equality and hashing,
    so ``1==1`` and ``1 == 1`` parse to equal expressions.
    """

    body: Condition
    source: str = field(default="", compare=False)

    def __str__(self) -> str:
        return self.source


def iter_paths(node: Expression | Condition | Operand) -> Iterator[Path]:
    """Yield every key reference in a tree, left to right."""
    stack: list[Expression | Condition | Operand] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, Path):
            yield current
        elif isinstance(current, Expression):
            stack.append(current.body)
        elif isinstance(current, Comparison):
            stack.append(current.right)
            stack.append(current.left)
        elif isinstance(current, Truthy | Not):
            stack.append(current.operand)
        elif isinstance(current, And | Or):
            stack.extend(reversed(current.operands))


def referenced_roots(expression: Expression) -> frozenset[str]:
    """Return the first path segments used in ``expression`` (e.g. ``{"task", "worker"}``)."""
    return frozenset(path.root for path in iter_paths(expression))
