"""Evaluation of parsed TaskRouter expressions against JSON-like variables.

This module owns the run-time semantics: name resolution, the comparison
table below, boolean logic, and the ``taskrouter.*`` time-of-day variables.
It never parses at evaluation time (except through the cached :func:`matches`)
and never raises for any combination of values.

Name resolution
    ``variables`` maps root names (``task``, ``worker``, ``taskrouter``,
    ``workers`` ...) to JSON-like values.  If a path's first segment is a key of
    ``variables`` the rest of the path is resolved from that value; otherwise,
    if ``bare`` is given, the whole path is resolved against
    ``variables[bare]``; otherwise it is NULL.  A missing key, indexing a
    non-list, an out-of-range index, or a JSON ``null`` value is NULL.

Comparison table ("scalar" = string, number or boolean; NULL is not a scalar)

=============  ==============================================================
Operator       Result
=============  ==============================================================
``==``         Both scalars and equal: numbers numerically, strings exactly,
               booleans as booleans.  A number and a numeric string ("08",
               "1.5") compare numerically.  A boolean never equals a number
               (``true == 1`` is false).  NULL, lists, dicts or other type
               mismatches: false.
``!=``         Exactly one side NULL: true.  Either side a list or dict, or
               both NULL: false.  Two scalars: the negation of ``==`` (so
               ``"abc" != 1`` is true).
``> >= < <=``  Two numbers, or a number and a numeric string: numeric order.
               Two strings: lexical order.  Anything else (NULL, booleans,
               lists, dicts, non-numeric string vs number): false.
``IN``         Left scalar, right list: true if some element ``==`` left.
               Otherwise (left NULL/list/dict, right not a list): false.
``NOT IN``     Left scalar, right list: true if no element ``==`` left.
               Otherwise false (it is *not* the inverse of ``IN`` then).
``HAS``        Left list, right scalar: true if some element ``==`` right.
               Otherwise false.
``CONTAINS``   Both strings: case-sensitive substring test.  Otherwise false
               (arrays are never searched: use ``HAS``).
bare operand   True only if the value is boolean ``true``.
=============  ==============================================================

``AND``/``OR``/``NOT`` are ordinary short-circuit boolean logic.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from .ast import (
    And,
    Array,
    CompareOp,
    Comparison,
    Condition,
    Expression,
    Not,
    Operand,
    Or,
    Path,
    Truthy,
)
from .parser import parse

__all__ = ["evaluate", "matches", "resolve_path", "time_variables", "to_number"]

_MISSING = object()

# Value kinds.  Non-zero so ``_KINDS.get(type(v)) or _slow_kind(v)`` works.
_NULL = 1
_BOOL = 2
_NUM = 3
_STR = 4
_LIST = 5
_MAP = 6
_OTHER = 7

_KINDS: dict[type, int] = {
    type(None): _NULL,
    bool: _BOOL,
    int: _NUM,
    float: _NUM,
    str: _STR,
    list: _LIST,
    tuple: _LIST,
    dict: _MAP,
}


def _slow_kind(value: object) -> int:
    """Classify values whose exact type is not in ``_KINDS`` (subclasses, mappings).

    ``bool`` cannot be subclassed, so booleans are always found in ``_KINDS``.
    """
    if isinstance(value, int | float):
        return _NUM
    if isinstance(value, str):
        return _STR
    if isinstance(value, list | tuple):
        return _LIST
    if isinstance(value, Mapping):
        return _MAP
    return _OTHER


def to_number(text: str) -> int | float | None:
    """Return the number a string spells (``"08"`` -> 8, ``"-1.5"`` -> -1.5), else None."""
    body = text[1:] if text[:1] in ("+", "-") else text
    if not body or not body.isascii():
        return None
    if body.isdigit():
        try:
            return int(text)
        except ValueError:  # more digits than int() accepts from a string
            return float(text)
    whole, _, fraction = body.partition(".")
    if (
        (whole or fraction)
        and (not whole or whole.isdigit())
        and (not fraction or fraction.isdigit())
    ):
        return float(text)
    return None


def resolve_path(value: object, segments: tuple[str | int, ...]) -> object:
    """Follow ``segments`` (keys and list indexes) from ``value``; None when anything is missing."""
    for segment in segments:
        if type(segment) is str:
            if type(value) is dict or isinstance(value, Mapping):
                value = value.get(segment)
            else:
                return None
        elif isinstance(value, list | tuple) and type(segment) is int and segment < len(value):
            value = value[segment]
        else:
            return None
    return value


def _eq(left: object, right: object) -> bool:
    """Scalar equality per the module table (NULL/list/dict -> False)."""
    left_kind = _KINDS.get(type(left)) or _slow_kind(left)
    right_kind = _KINDS.get(type(right)) or _slow_kind(right)
    if left_kind == right_kind:
        return left_kind <= _STR and left_kind != _NULL and left == right
    if left_kind == _NUM and right_kind == _STR:
        assert isinstance(right, str)
        number = to_number(right)
        return number is not None and left == number
    if left_kind == _STR and right_kind == _NUM:
        assert isinstance(left, str)
        number = to_number(left)
        return number is not None and number == right
    return False


def _ne(left: object, right: object) -> bool:
    left_kind = _KINDS.get(type(left)) or _slow_kind(left)
    right_kind = _KINDS.get(type(right)) or _slow_kind(right)
    if left_kind >= _LIST or right_kind >= _LIST:
        return False
    if left_kind == _NULL or right_kind == _NULL:
        return left_kind != right_kind
    return not _eq(left, right)


def _ordered(left: object, right: object) -> tuple[object, object] | None:
    """Return the pair to compare with an ordering operator, or None if not comparable."""
    left_kind = _KINDS.get(type(left)) or _slow_kind(left)
    right_kind = _KINDS.get(type(right)) or _slow_kind(right)
    if left_kind == right_kind and left_kind in (_NUM, _STR):
        return left, right
    if left_kind == _NUM and right_kind == _STR:
        assert isinstance(right, str)
        number = to_number(right)
        return None if number is None else (left, number)
    if left_kind == _STR and right_kind == _NUM:
        assert isinstance(left, str)
        number = to_number(left)
        return None if number is None else (number, right)
    return None


def _gt(left: object, right: object) -> bool:
    pair = _ordered(left, right)
    return pair is not None and pair[0] > pair[1]  # type: ignore[operator]


def _ge(left: object, right: object) -> bool:
    pair = _ordered(left, right)
    return pair is not None and pair[0] >= pair[1]  # type: ignore[operator]


def _lt(left: object, right: object) -> bool:
    pair = _ordered(left, right)
    return pair is not None and pair[0] < pair[1]  # type: ignore[operator]


def _le(left: object, right: object) -> bool:
    pair = _ordered(left, right)
    return pair is not None and pair[0] <= pair[1]  # type: ignore[operator]


def _is_scalar(value: object) -> bool:
    kind = _KINDS.get(type(value)) or _slow_kind(value)
    return _BOOL <= kind <= _STR


def _member(needle: object, haystack: object) -> bool:
    """True if ``haystack`` is a list holding an element ``==`` to ``needle``."""
    if not isinstance(haystack, list | tuple):
        return False
    for item in haystack:  # noqa: SIM110 - explicit loops beat any()/all() generators here
        if _eq(needle, item):
            return True
    return False


def _in(left: object, right: object) -> bool:
    return _is_scalar(left) and _member(left, right)


def _not_in(left: object, right: object) -> bool:
    return _is_scalar(left) and isinstance(right, list | tuple) and not _member(left, right)


def _has(left: object, right: object) -> bool:
    return _is_scalar(right) and _member(right, left)


def _contains(left: object, right: object) -> bool:
    return isinstance(left, str) and isinstance(right, str) and right in left


_COMPARATORS: dict[CompareOp, Callable[[object, object], bool]] = {
    CompareOp.EQ: _eq,
    CompareOp.NE: _ne,
    CompareOp.GT: _gt,
    CompareOp.GE: _ge,
    CompareOp.LT: _lt,
    CompareOp.LE: _le,
    CompareOp.IN: _in,
    CompareOp.NOT_IN: _not_in,
    CompareOp.HAS: _has,
    CompareOp.CONTAINS: _contains,
}


def _operand(node: Operand, variables: Mapping[str, object], bare: str | None) -> object:
    """The run-time value of an operand node."""
    if type(node) is Path:
        root = variables.get(node.root, _MISSING)
        if root is not _MISSING:
            return resolve_path(root, node.rest) if node.rest else root
        if bare is None:
            return None
        return resolve_path(variables.get(bare), node.segments)
    if type(node) is Array:
        return node.values
    return node.value  # type: ignore[union-attr]


def _evaluate(node: Condition, variables: Mapping[str, object], bare: str | None) -> bool:
    """Recursive evaluator over condition nodes."""
    if type(node) is Comparison:
        return _COMPARATORS[node.op](
            _operand(node.left, variables, bare), _operand(node.right, variables, bare)
        )
    if type(node) is And:
        for child in node.operands:  # noqa: SIM110 - see _member
            if not _evaluate(child, variables, bare):
                return False
        return True
    if type(node) is Or:
        for child in node.operands:  # noqa: SIM110 - see _member
            if _evaluate(child, variables, bare):
                return True
        return False
    if type(node) is Not:
        return not _evaluate(node.operand, variables, bare)
    assert type(node) is Truthy
    return _operand(node.operand, variables, bare) is True


def evaluate(
    expression: Expression, variables: Mapping[str, object], *, bare: str | None = None
) -> bool:
    """Evaluate a parsed expression against ``variables`` (see the module docstring)."""
    return _evaluate(expression.body, variables, bare)


def matches(text: str, variables: Mapping[str, object], *, bare: str | None = None) -> bool:
    """Parse ``text`` (cached) and evaluate it; raise ExpressionError if it is invalid."""
    return _evaluate(parse(text).body, variables, bare)


_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def time_variables(now: datetime) -> dict[str, object]:
    """Return the ``taskrouter.*`` variables for ``now`` (naive datetimes are taken as UTC)."""
    if now.tzinfo is not None:
        now = now.astimezone(UTC)
    return {
        "currentTime": now.hour * 100 + now.minute,
        "currentHour": f"{now.hour:02d}",
        "currentMin": now.minute,
        "dayOfWeek": _DAY_NAMES[now.weekday()],
    }
