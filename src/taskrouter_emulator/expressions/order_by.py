"""Parsing and sort keys for a workflow target's ``order_by``.

This module owns the ``order_by`` mini-language: a comma-separated list of
``worker.<path> [ASC|DESC]`` clauses (direction case-insensitive, ``ASC`` when
omitted; nested paths and ``[n]`` indexes allowed).  :func:`sort_key_for` turns
a worker's attributes into a key for :func:`sorted`: clauses compare
numerically in order, later clauses break ties, and a worker whose value is
missing or not numeric sorts after every worker that has one, whatever the
direction.  Numeric strings (``"7"``) count as numbers.  Remaining ties are
left to the caller (TaskRouter breaks them by longest idle), e.g.
``sorted(workers, key=lambda w: (sort_key_for(clauses, w.attributes), w.idle_since))``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .evaluator import resolve_path, to_number
from .lexer import ExpressionError, Token, TokenKind, format_error, tokenize

__all__ = ["OrderClause", "SortKey", "parse_order_by", "sort_key_for"]

_LABEL = "order_by"

SortKey = tuple[tuple[int, int | float], ...]
"""The key returned by :func:`sort_key_for`."""


@dataclass(frozen=True, slots=True)
class OrderClause:
    """One ``order_by`` clause; ``path`` excludes the ``worker`` root."""

    path: tuple[str | int, ...]
    descending: bool

    def __str__(self) -> str:
        text = "worker"
        for segment in self.path:
            text += f"[{segment}]" if isinstance(segment, int) else f".{segment}"
        return f"{text} {'DESC' if self.descending else 'ASC'}"


def _error(text: str, reason: str, position: int) -> ExpressionError:
    return ExpressionError(format_error(text, reason, position, label=_LABEL), position)


def _direction(token: Token) -> bool | None:
    """True for DESC, False for ASC, None if the token is not a direction word."""
    if token.kind is TokenKind.PATH and isinstance(token.value, tuple) and len(token.value) == 1:
        word = str(token.value[0]).upper()
        if word in ("ASC", "DESC"):
            return word == "DESC"
    return None


@functools.lru_cache(maxsize=1024)
def parse_order_by(text: str) -> tuple[OrderClause, ...]:
    """Parse ``"worker.level DESC, worker.exp ASC"`` into clauses; raise ExpressionError."""
    tokens = tokenize(text, label=_LABEL)
    if tokens[0].kind is TokenKind.EOF:
        raise _error(text, "order_by is empty", 0)
    clauses: list[OrderClause] = []
    index = 0
    while True:
        token = tokens[index]
        path = token.value
        if token.kind is not TokenKind.PATH or not isinstance(path, tuple):
            raise _error(
                text, f"expected worker.<attribute>, found {token.describe()}", token.position
            )
        if path[0] != "worker" or len(path) < 2 or not isinstance(path[1], str):
            raise _error(
                text,
                f"order_by attributes must start with 'worker.' ({token.text})",
                token.position,
            )
        index += 1
        descending = _direction(tokens[index])
        if descending is None:
            descending = False
        else:
            index += 1
        clauses.append(OrderClause(tuple(path[1:]), descending))
        token = tokens[index]
        if token.kind is TokenKind.EOF:
            return tuple(clauses)
        if token.kind is not TokenKind.COMMA:
            raise _error(
                text, f"expected ',', ASC or DESC, found {token.describe()}", token.position
            )
        index += 1


def _sort_number(value: object) -> int | float | None:
    """The value as a number for ordering (numbers and numeric strings), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = to_number(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and not math.isnan(value):
        return value
    return None


def sort_key_for(
    clauses: Iterable[OrderClause], worker_attributes: Mapping[str, object]
) -> SortKey:
    """Return a :func:`sorted` key for a worker: numeric order per clause, missing values last."""
    key: list[tuple[int, int | float]] = []
    for clause in clauses:
        number = _sort_number(resolve_path(worker_attributes, clause.path))
        if number is None:
            key.append((1, 0))
        else:
            key.append((0, -number if clause.descending else number))
    return tuple(key)
