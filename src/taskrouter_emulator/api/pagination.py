"""Twilio list envelopes: `PageSize`/`Page`/`PageToken` in, `{key: [...], meta: {...}}` out.

TaskRouter only supports relative paging: clients follow `next_page_url`. The token we hand out
encodes the offset of the next page (`PT<offset>`); `Page` is echoed for client state only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

from fastapi import Request
from sqlalchemy import Select
from sqlalchemy.orm import Session

from taskrouter_emulator.errors import AbsolutePagingNotAllowed, InvalidParameter, PageSizeTooLarge

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
_PAGING_KEYS = {"PageSize", "Page", "PageToken"}


@dataclass(frozen=True)
class PageRequest:
    """The paging parameters of a list request, plus the filters to echo in page URLs."""

    page_size: int
    page: int
    offset: int
    path: str
    filters: tuple[tuple[str, str], ...]


def _int_param(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise InvalidParameter(
            f"Invalid value for parameter {name}: '{value}' is not an integer"
        ) from None


def page_request(request: Request) -> PageRequest:
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
    token = query.get("PageToken")
    if token is None:
        if page > 0:
            raise AbsolutePagingNotAllowed(
                "Absolute Paging used when iterating TaskRouter resources; follow next_page_url instead"
            )
        offset = 0
    else:
        if not token.startswith("PT") or not token[2:].isdigit():
            raise InvalidParameter(f"Invalid PageToken '{token}'")
        offset = int(token[2:])
    filters = tuple((k, v) for k, v in query.multi_items() if k not in _PAGING_KEYS)
    return PageRequest(
        page_size=page_size, page=page, offset=offset, path=request.url.path, filters=filters
    )


def _page_url(base_url: str, req: PageRequest, page: int, offset: int | None) -> str:
    items = [*req.filters, ("PageSize", str(req.page_size)), ("Page", str(page))]
    if offset is not None:
        items.append(("PageToken", f"PT{offset}"))
    return f"{base_url}{req.path}?{urlencode(items)}"


def envelope(
    items: Sequence[Any], *, has_next: bool, req: PageRequest, base_url: str, key: str
) -> dict[str, Any]:
    """Build the `{key: items, meta: {...}}` list response."""
    current_token = req.offset if req.offset else None
    previous = None
    if req.offset > 0:
        prev_offset = max(req.offset - req.page_size, 0)
        previous = _page_url(
            base_url, req, max(req.page - 1, 0), prev_offset if prev_offset else None
        )
    return {
        key: list(items),
        "meta": {
            "page": req.page,
            "page_size": req.page_size,
            "first_page_url": _page_url(base_url, req, 0, None),
            "previous_page_url": previous,
            "url": _page_url(base_url, req, req.page, current_token),
            "next_page_url": _page_url(base_url, req, req.page + 1, req.offset + req.page_size)
            if has_next
            else None,
            "key": key,
        },
    }


def fetch_page(session: Session, stmt: Select[T], req: PageRequest) -> tuple[list[T], bool]:
    """Run an ordered select for one page; return the rows and whether another page follows."""
    rows = list(session.scalars(stmt.offset(req.offset).limit(req.page_size + 1)))
    return rows[: req.page_size], len(rows) > req.page_size


def slice_page(rows: Sequence[T], req: PageRequest) -> tuple[list[T], bool]:
    """Page an already-filtered Python list (for filters evaluated in Python, such as expressions)."""
    chunk = list(rows[req.offset : req.offset + req.page_size + 1])
    return chunk[: req.page_size], len(chunk) > req.page_size


def render_page(
    rows: Sequence[T],
    has_next: bool,
    *,
    req: PageRequest,
    base_url: str,
    key: str,
    render: Callable[[T], Any],
) -> dict[str, Any]:
    """Serialise one page of rows into the list envelope."""
    return envelope(
        [render(row) for row in rows], has_next=has_next, req=req, base_url=base_url, key=key
    )
