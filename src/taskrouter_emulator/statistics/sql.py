"""Small SQL helpers shared by the statistics queries (portable across SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ColumnElement,
    String,
    bindparam,
    cast,
    extract,
    func,
    literal,
)
from sqlalchemy.orm import QueryableAttribute, Session

from taskrouter_emulator.models import Event


def json_text(session: Session, key: str) -> ColumnElement[str]:
    """Extract one string value of `event_data` in SQL (SQLite `json_extract`, PostgreSQL `json_extract_path_text`)."""
    if session.get_bind().dialect.name == "sqlite":
        return cast(func.json_extract(Event.event_data, literal(f"$.{key}")), String)
    return cast(func.json_extract_path_text(cast(Event.event_data, JSON), literal(key)), String)


def json_int(session: Session, key: str) -> ColumnElement[int]:
    """Extract one `event_data` value (stored as a decimal string) as an integer, in SQL."""
    return cast(json_text(session, key), BigInteger)


def inline(name: str, values: Collection[str]) -> Any:
    """An `IN (...)` list rendered as literals: a filtered set may hold up to 15,000 SIDs,
    beyond SQLite's bound-parameter limit on older builds."""
    return bindparam(name, list(values), expanding=True, literal_execute=True)


def least(
    session: Session, first: ColumnElement[int], second: ColumnElement[int]
) -> ColumnElement[int]:
    """The smaller of two values (SQLite's two-argument `min`, PostgreSQL's `LEAST`)."""
    if session.get_bind().dialect.name == "sqlite":
        return func.min(first, second, type_=BigInteger)
    return func.least(first, second, type_=BigInteger)


def materialized_ctes(session: Session) -> bool:
    """Tell whether `WITH … AS MATERIALIZED` is understood (PostgreSQL 12+, SQLite 3.35+)."""
    dialect = session.get_bind().dialect
    version = dialect.server_version_info or ()
    if dialect.name == "sqlite":
        return tuple(version) >= (3, 35)
    return dialect.name == "postgresql" and tuple(version) >= (12,)


def epoch_ms(
    session: Session, column: QueryableAttribute[Any] | ColumnElement[Any]
) -> ColumnElement[int]:
    """A UTC datetime column as epoch milliseconds (SQLite stores naive UTC text; PostgreSQL timestamptz)."""
    if session.get_bind().dialect.name == "sqlite":
        return cast(func.round((func.julianday(column) - 2440587.5) * 86400000.0), BigInteger)
    return cast(func.round(extract("epoch", column) * 1000), BigInteger)
