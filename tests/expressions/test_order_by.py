"""Tests for order_by parsing and worker sort keys."""

from __future__ import annotations

import pytest

from taskrouter_emulator.expressions import (
    ExpressionError,
    OrderClause,
    parse_order_by,
    sort_key_for,
)


@pytest.mark.parametrize(
    ("text", "clauses"),
    [
        ("worker.level", (OrderClause(("level",), False),)),
        ("worker.level ASC", (OrderClause(("level",), False),)),
        ("worker.level DESC", (OrderClause(("level",), True),)),
        ("worker.level desc", (OrderClause(("level",), True),)),
        ("  worker.level   Asc  ", (OrderClause(("level",), False),)),
        (
            "worker.level DESC, worker.exp ASC",
            (OrderClause(("level",), True), OrderClause(("exp",), False)),
        ),
        (
            "worker.finance ASC,worker.support",
            (OrderClause(("finance",), False), OrderClause(("support",), False)),
        ),
        ("worker.skills.rank[0] DESC", (OrderClause(("skills", "rank", 0), True),)),
        ("worker.desc", (OrderClause(("desc",), False),)),
    ],
)
def test_parse_order_by(text: str, clauses: tuple[OrderClause, ...]) -> None:
    assert parse_order_by(text) == clauses


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("", 0, "order_by is empty"),
        ("   ", 0, "order_by is empty"),
        ("level DESC", 0, "must start with 'worker.'"),
        ("task.level DESC", 0, "must start with 'worker.'"),
        ("worker DESC", 0, "must start with 'worker.'"),
        ("worker[0] DESC", 0, "must start with 'worker.'"),
        ("worker.level DESC,", 18, "expected worker.<attribute>"),
        ("worker.level DESC worker.exp", 18, "expected ',', ASC or DESC"),
        ("worker.level UP", 13, "expected ',', ASC or DESC"),
        ("worker.level ASC DESC", 17, "expected ',', ASC or DESC"),
        ("worker.level, 'x'", 14, "expected worker.<attribute>"),
        ("DESC", 0, "must start with 'worker.'"),
        ("worker.skill-level DESC", 12, "hyphens are not supported"),
        ("worker.level == 1", 13, "expected ',', ASC or DESC"),
        ("worker.level ASC, , worker.x", 18, "expected worker.<attribute>"),
    ],
)
def test_parse_order_by_errors(text: str, position: int, fragment: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_order_by(text)
    assert caught.value.position == position
    assert fragment in caught.value.message
    assert caught.value.message.startswith(f"Invalid order_by '{text}': ")


def test_order_clause_str() -> None:
    assert [str(c) for c in parse_order_by("worker.a.b[1] desc, worker.c")] == [
        "worker.a.b[1] DESC",
        "worker.c ASC",
    ]


def _order(text: str, workers: dict[str, dict[str, object]]) -> list[str]:
    clauses = parse_order_by(text)
    return sorted(workers, key=lambda name: sort_key_for(clauses, workers[name]))


def test_docs_example_bob_first() -> None:
    workers: dict[str, dict[str, object]] = {
        "Alice": {"finance": 10, "support": 8},
        "Bob": {"finance": 10, "support": 5},
    }
    assert _order("worker.finance ASC, worker.support ASC", workers) == ["Bob", "Alice"]
    assert _order("worker.finance ASC, worker.support DESC", workers) == ["Alice", "Bob"]


WORKERS: dict[str, dict[str, object]] = {
    "low": {"level": 1},
    "high": {"level": 9},
    "mid": {"level": "5"},
    "missing": {},
    "text": {"level": "expert"},
    "boolean": {"level": True},
    "nan": {"level": float("nan")},
    "list": {"level": [3]},
}


@pytest.mark.parametrize(
    ("text", "first", "last_group"),
    [
        ("worker.level ASC", ["low", "mid", "high"], {"missing", "text", "boolean", "nan", "list"}),
        (
            "worker.level DESC",
            ["high", "mid", "low"],
            {"missing", "text", "boolean", "nan", "list"},
        ),
    ],
)
def test_missing_and_non_numeric_sort_last(
    text: str, first: list[str], last_group: set[str]
) -> None:
    ordered = _order(text, WORKERS)
    assert ordered[:3] == first
    assert set(ordered[3:]) == last_group


def test_ties_fall_through_to_later_clauses_and_stable_sort() -> None:
    workers: dict[str, dict[str, object]] = {
        "a": {"x": 1, "y": 2},
        "b": {"x": 1, "y": 3},
        "c": {"x": 1},
        "d": {"x": 0.5, "y": 0},
        "e": {"y": 100},
    }
    assert _order("worker.x DESC, worker.y DESC", workers) == ["b", "a", "c", "d", "e"]
    assert _order("worker.x ASC, worker.y ASC", workers) == ["d", "a", "b", "c", "e"]


def test_sort_key_shape() -> None:
    clauses = parse_order_by("worker.a DESC, worker.b, worker.c.d[0]")
    key = sort_key_for(clauses, {"a": 3, "b": -2.5, "c": {"d": ["7"]}})
    assert key == ((0, -3), (0, -2.5), (0, 7))
    assert sort_key_for(clauses, {}) == ((1, 0), (1, 0), (1, 0))
    assert sort_key_for((), {"a": 1}) == ()


def test_infinity_sorts_as_a_number() -> None:
    workers: dict[str, dict[str, object]] = {
        "inf": {"x": float("inf")},
        "one": {"x": 1},
        "none": {},
    }
    assert _order("worker.x DESC", workers) == ["inf", "one", "none"]
