"""Twilio list envelopes: `PageSize`/`Page`/`PageToken` in, `{key: [...], meta: {...}}` out.

TaskRouter only supports relative paging: clients follow `next_page_url` (`Page` is echoed for
client state only). Paging is by keyset, not by offset: a token carries the sort-key values of
the row a page continues from (`PA…`: the rows after it; `PB…`: the rows before it, as Twilio's
`PA<sid>`/`PB<sid>`). Every list ends its ORDER BY with a unique column, so rows created, deleted
or re-sorted while a client pages never shift the later pages: each row that stays in the list is
seen exactly once.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlencode

from fastapi import Request
from sqlalchemy import ColumnElement, Select, and_, or_
from sqlalchemy.orm import Session
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import UnaryExpression

from taskrouter_emulator.errors import AbsolutePagingNotAllowed, InvalidParameter, PageSizeTooLarge

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
_PAGING_KEYS = {"PageSize", "Page", "PageToken"}
_AFTER, _BEFORE = "PA", "PB"


@dataclass(frozen=True)
class PageToken:
    """Continue after (or, for a previous page, before) the row with these sort-key values."""

    before: bool
    values: tuple[Any, ...]

    def encode(self) -> str:
        """Return the opaque `PageToken` string."""
        data = [{"t": v.isoformat()} if isinstance(v, datetime) else v for v in self.values]
        raw = json.dumps(data, separators=(",", ":")).encode()
        text = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        return (_BEFORE if self.before else _AFTER) + text

    @classmethod
    def decode(cls, token: str) -> PageToken:
        """Parse a `PageToken` (400 if it is not one this server handed out)."""
        prefix, text = token[:2], token[2:]
        try:
            if prefix not in (_AFTER, _BEFORE) or not text:
                raise ValueError(token)
            data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            if not isinstance(data, list):
                raise ValueError(token)
            values = tuple(
                datetime.fromisoformat(v["t"]) if isinstance(v, dict) else v for v in data
            )
        except (ValueError, TypeError, KeyError, binascii.Error, UnicodeDecodeError):
            raise InvalidParameter(f"Invalid PageToken '{token}'") from None
        return cls(before=prefix == _BEFORE, values=values)


@dataclass(frozen=True)
class PageRequest:
    """The paging parameters of a list request, plus the filters to echo in page URLs."""

    page_size: int
    page: int
    token: PageToken | None
    path: str
    filters: tuple[tuple[str, str], ...]
    raw_token: str | None = None

    def pinned(self, values: Mapping[str, str], *, drop: Collection[str] = ()) -> PageRequest:
        """Echo these filter values in the page URLs instead of what the client sent.

        A list whose filters are relative to "now" (the Events window) pins their resolved
        values, so following `next_page_url` later pages through the same window.
        """
        removed = set(values) | set(drop)
        kept = tuple((k, v) for k, v in self.filters if k not in removed)
        return replace(self, filters=(*kept, *values.items()))


class PageRows(list[T]):
    """One page of rows and the tokens of its neighbouring pages."""

    def __init__(self, rows: Sequence[T], previous: str | None, following: str | None) -> None:
        super().__init__(rows)
        self.previous_token = previous
        self.next_token = following


def _int_param(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise InvalidParameter(
            f"Invalid value for parameter {name}: '{value}' is not an integer"
        ) from None


async def page_request(request: Request) -> PageRequest:
    """Read and validate the paging parameters of a list request."""
    query = request.query_params
    page_size = (
        _int_param(query["PageSize"], "PageSize") if "PageSize" in query else DEFAULT_PAGE_SIZE
    )
    if page_size > MAX_PAGE_SIZE:
        raise PageSizeTooLarge(
            f"Page size {page_size} is too large; the maximum is {MAX_PAGE_SIZE}"
        )
    if page_size < 1:
        raise InvalidParameter("PageSize must be between 1 and 1000")
    page = _int_param(query["Page"], "Page") if "Page" in query else 0
    if page < 0:
        raise InvalidParameter("Page must not be negative")
    raw_token = query.get("PageToken")
    if raw_token is None and page > 0:
        raise AbsolutePagingNotAllowed(
            "Absolute Paging used when iterating TaskRouter resources; follow next_page_url instead"
        )
    filters = tuple((k, v) for k, v in query.multi_items() if k not in _PAGING_KEYS)
    return PageRequest(
        page_size=page_size,
        page=page,
        token=PageToken.decode(raw_token) if raw_token is not None else None,
        path=request.url.path,
        filters=filters,
        raw_token=raw_token,
    )


def _page_url(base_url: str, req: PageRequest, page: int, token: str | None) -> str:
    items = [*req.filters, ("PageSize", str(req.page_size)), ("Page", str(page))]
    if token is not None:
        items.append(("PageToken", token))
    return f"{base_url}{req.path}?{urlencode(items)}"


def envelope(
    items: Sequence[Any],
    *,
    req: PageRequest,
    base_url: str,
    key: str,
    previous_token: str | None,
    next_token: str | None,
) -> dict[str, Any]:
    """Build the `{key: items, meta: {...}}` list response."""
    return {
        key: list(items),
        "meta": {
            "page": req.page,
            "page_size": req.page_size,
            "first_page_url": _page_url(base_url, req, 0, None),
            "previous_page_url": _page_url(base_url, req, max(req.page - 1, 0), previous_token)
            if previous_token is not None
            else None,
            "url": _page_url(base_url, req, req.page, req.raw_token),
            "next_page_url": _page_url(base_url, req, req.page + 1, next_token)
            if next_token is not None
            else None,
            "key": key,
        },
    }


def _sort_keys(stmt: Select[Any]) -> list[tuple[ColumnElement[Any], bool]]:
    """The ORDER BY of a list query as (expression, descending) pairs."""
    keys: list[tuple[ColumnElement[Any], bool]] = []
    for clause in stmt._order_by_clauses:
        if isinstance(clause, UnaryExpression) and clause.modifier in (
            operators.desc_op,
            operators.asc_op,
        ):
            keys.append((clause.element, clause.modifier is operators.desc_op))
        else:
            keys.append((clause, False))
    if not keys:
        raise ValueError("a paged list query needs an ORDER BY ending in a unique column")
    return keys


def _fits(keys: list[tuple[ColumnElement[Any], bool]], values: tuple[Any, ...]) -> bool:
    """Tell whether token values have the number and types of the list's sort keys."""
    if len(values) != len(keys):
        return False
    for (column, _), value in zip(keys, values, strict=True):
        sql_type = column.type
        expected = getattr(sql_type, "impl_instance", sql_type).python_type
        if not isinstance(value, expected) or isinstance(value, bool):
            return False
        if isinstance(value, datetime) and value.tzinfo is None:
            return False
        if isinstance(value, str) and "\x00" in value:
            return False
    return True


def _beyond(
    keys: list[tuple[ColumnElement[Any], bool]], values: tuple[Any, ...], *, backwards: bool
) -> ColumnElement[bool]:
    """Rows strictly after (or before) the given sort-key values, in the list's order."""
    terms = []
    for index, (column, descending) in enumerate(keys):
        ties = [keys[j][0] == values[j] for j in range(index)]
        step = column < values[index] if descending != backwards else column > values[index]
        terms.append(and_(*ties, step))
    return or_(*terms)


@dataclass(frozen=True)
class RowFilter:
    """A filter SQL cannot evaluate (an expression), decided from a few columns of each row.

    The list's rows are read as plain tuples `(key, *columns)`, in the list's order, a chunk at a
    time, until a page is found; only the rows of that page are then loaded as objects. So a filter
    that keeps few rows of a long list costs a light scan, not an object per row.
    """

    key: Any  # a unique column of the listed entity, e.g. `Worker.sid`
    columns: tuple[Any, ...]  # what `verdicts` reads, after the key
    verdicts: Callable[[Sequence[Any]], Sequence[bool]]  # one per (key, *columns) row of a chunk

    def page(
        self, session: Session, stmt: Select[Any], query: Select[Any], sort_keys: int, limit: int
    ) -> list[tuple[Any, ...]]:
        """Return up to `limit` kept rows as (object, *sort-key values), in the query's order."""
        sort_columns = list(query.selected_columns)[-sort_keys:]
        scan = query.with_only_columns(
            self.key, *self.columns, *sort_columns, maintain_column_froms=True
        )
        width = 1 + len(self.columns)
        kept: list[Any] = []
        result = session.execute(scan.execution_options(yield_per=_SCAN_CHUNK))
        try:
            for chunk in result.partitions():
                verdicts = self.verdicts([row[:width] for row in chunk])
                kept.extend(row for row, keep in zip(chunk, verdicts, strict=True) if keep)
                if len(kept) >= limit:
                    break
        finally:
            result.close()
        kept = kept[:limit]
        if not kept:
            return []
        objects = {
            getattr(item, self.key.key): item
            for item in session.scalars(stmt.where(self.key.in_([row[0] for row in kept])))
        }
        return [(objects[row[0]], *row[width:]) for row in kept]


# Rows read per chunk by a `RowFilter` scan.
_SCAN_CHUNK = 500


def fetch_page(
    session: Session,
    stmt: Select[Any],
    req: PageRequest,
    *,
    keep: RowFilter | None = None,
) -> tuple[PageRows[Any], bool]:
    """Run an ordered select for one page; return the rows and whether another page follows.

    `keep` filters the rows in Python (for filters SQL cannot evaluate, such as expressions);
    the page is then cut from what it keeps.
    """
    keys = _sort_keys(stmt)
    token = req.token
    if token is not None and not _fits(keys, token.values):
        raise InvalidParameter(f"Invalid PageToken '{req.raw_token}' for this list and Ordering")
    backwards = token is not None and token.before
    query = stmt.add_columns(*(column for column, _ in keys))
    if token is not None:
        query = query.where(_beyond(keys, token.values, backwards=backwards))
    if backwards:
        query = query.order_by(None).order_by(
            *(column.asc() if descending else column.desc() for column, descending in keys)
        )
    if keep is None:
        results = [tuple(row) for row in session.execute(query.limit(req.page_size + 1))]
    else:
        results = keep.page(session, stmt, query, len(keys), req.page_size + 1)
    more = len(results) > req.page_size
    chunk = results[: req.page_size]
    if backwards:
        chunk.reverse()
    has_previous = more if backwards else token is not None
    has_next = True if backwards else more
    previous = PageToken(True, chunk[0][1:]).encode() if chunk and has_previous else None
    following = PageToken(False, chunk[-1][1:]).encode() if chunk and has_next else None
    return PageRows([r[0] for r in chunk], previous, following), following is not None


def render_page(
    rows: Sequence[T],
    has_next: bool,
    *,
    req: PageRequest,
    base_url: str,
    key: str,
    render: Callable[[T], Any],
) -> dict[str, Any]:
    """Serialise one page of rows (from `fetch_page`) into the list envelope."""
    previous = rows.previous_token if isinstance(rows, PageRows) else None
    following = rows.next_token if isinstance(rows, PageRows) and has_next else None
    return envelope(
        [render(row) for row in rows],
        req=req,
        base_url=base_url,
        key=key,
        previous_token=previous,
        next_token=following,
    )
