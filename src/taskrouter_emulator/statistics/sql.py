"""Small SQL helpers shared by the statistics queries (portable across SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Select, Table, bindparam, cast, extract, func
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import QueryableAttribute, Session
from sqlalchemy.sql.selectable import Alias
from sqlalchemy.sql.util import ClauseAdapter
from sqlalchemy.sql.visitors import InternalTraversal

from taskrouter_emulator.models import Event


def inline(name: str, values: Collection[str]) -> Any:
    """An `IN (...)` list rendered as literals: a filtered set may hold up to 15,000 SIDs,
    beyond SQLite's bound-parameter limit on older builds."""
    return bindparam(name, list(values), expanding=True, literal_execute=True)


# A filtered set of a workspace's workers: their SIDs, or a statement selecting them (a queue's
# member rows), which keeps thousands of literals out of every statement that filters on the set.
WorkerSet = tuple[str, ...] | Select[Any]


def in_workers(column: Any, workers: WorkerSet) -> ColumnElement[bool]:
    """`column IN (...)` for a worker set: the SIDs inline, or the selecting statement as a subquery."""
    if isinstance(workers, tuple):
        condition: ColumnElement[bool] = column.in_(inline("worker_sids", workers))
    else:
        condition = column.in_(workers)
    return condition


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


class IndexedBy(Alias):
    """A table under its own name that SQLite reads through one named index (`INDEXED BY`).

    SQLite's planner prefers the `(workspace_sid, event_type, event_date)` index plus a row lookup
    per event to the partial index that holds the aggregated values, which costs it a row read per
    event; PostgreSQL chooses the partial index by itself, and other dialects render no hint.
    """

    inherit_cache = True
    # The index name is part of the statement's cache key.
    _traverse_internals = [  # noqa: RUF012  (SQLAlchemy's declaration, not a mutable default)
        *Alias._traverse_internals,
        ("index", InternalTraversal.dp_string),
    ]
    index: str

    def _init(self, selectable: Any, *, name: str | None = None, index: str = "") -> None:
        super()._init(selectable, name=name)
        self.index = index


@compiles(IndexedBy, "sqlite")
def _indexed_by_on_sqlite(element: IndexedBy, compiler: Any, **kw: Any) -> str:
    rendered: str = compiler.visit_alias(element, **kw)
    return f"{rendered} INDEXED BY {element.index}" if kw.get("asfrom") else rendered


def read_events_through(stmt: Select[Any], index: str) -> Select[Any]:
    """Rewrite a statement over `event` so SQLite reads the events through `index`.

    The statement must name the index's event type as a literal (`literal_execute`): SQLite uses a
    partial index only when the query's own WHERE clause implies the index's.
    """
    table = Event.__table__
    assert isinstance(table, Table)
    hinted = IndexedBy._construct(table, name=table.name, index=index)
    adapted: Select[Any] = ClauseAdapter(hinted).traverse(stmt)
    return adapted
