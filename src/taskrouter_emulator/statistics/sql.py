"""Small SQL helpers shared by the statistics queries (portable across SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, bindparam, cast, extract, func
from sqlalchemy.orm import QueryableAttribute, Session


def inline(name: str, values: Collection[str]) -> Any:
    """An `IN (...)` list rendered as literals: a filtered set may hold up to 15,000 SIDs,
    beyond SQLite's bound-parameter limit on older builds."""
    return bindparam(name, list(values), expanding=True, literal_execute=True)


def least(
    session: Session, first: ColumnElement[Any], second: ColumnElement[Any]
) -> ColumnElement[int]:
    """The smaller of two values (SQLite's two-argument `min`, PostgreSQL's `LEAST`)."""
    if session.get_bind().dialect.name == "sqlite":
        return func.min(first, second, type_=BigInteger)
    return func.least(first, second, type_=BigInteger)


def epoch_ms(
    session: Session, column: QueryableAttribute[Any] | ColumnElement[Any]
) -> ColumnElement[int]:
    """A UTC datetime column as epoch milliseconds (SQLite stores naive UTC text; PostgreSQL timestamptz)."""
    if session.get_bind().dialect.name == "sqlite":
        return cast(func.round((func.julianday(column) - 2440587.5) * 86400000.0), BigInteger)
    return cast(func.round(extract("epoch", column) * 1000), BigInteger)
