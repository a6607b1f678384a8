"""Tests for expression evaluation semantics."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum
from types import MappingProxyType

import pytest

from taskrouter_emulator.expressions import (
    ExpressionError,
    evaluate,
    matches,
    parse,
    time_variables,
)
from taskrouter_emulator.expressions.evaluator import resolve_path, to_number

WORKER = {
    "skills": ["sales", "support"],
    "languages": ["en", "es"],
    "level": 4,
    "skill_rating": 5.5,
    "language": "en",
    "email": "alice@example.com",
    "key": 2,
    "object": {"param": "banana", "array": [10, 20, 30]},
    "condition_a": False,
    "condition_b": True,
    "flag": True,
    "text_flag": "true",
    "one": 1,
    "hour": "08",
    "price": "12.5",
    "name": "alice",
    "nothing": None,
    "nested": {"list": [{"c": "deep"}, {"c": "deeper"}]},
    "mixed": [1, "two", True, None, [3], {"x": 4}],
}

TASK = {
    "language": "es",
    "preferred_agents": ["alice", "bob"],
    "workerSidsInConversation": ["WK1", "WK2"],
    "callAfterTime": 900,
    "schedule": {"week": ["Mon", "Tue", "Wed"]},
    "type": "ticket",
}

CONTEXT = {
    "task": TASK,
    "worker": {
        "id": "alice",
        "sid": "WK9",
        "languages": ["en", "es"],
        "activity_name": "Generally Available",
        "channel": {"chat": {"assigned_tasks": 0}, "voice": {"assigned_tasks": 1}},
    },
    "taskrouter": {"currentTime": 930, "currentHour": "09", "currentMin": 30, "dayOfWeek": "Sat"},
    "workers": {"available": 0, "unavailable": 3, "WA0123": 1, "WA0456": 5},
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Reference examples against worker attributes (bare keys).
        ("1 == 1", True),
        ("1==1", True),
        ("0 != 1", True),
        ('"apple" != "orange"', True),
        ('"apple" == "apple"', True),
        ("key > 1", True),
        ("key > 2", False),
        ('object.param != "apple"', True),
        ('language IN ["en", "es"]', True),
        ('language IN ["fr", "de"]', False),
        ("(condition_a == true) OR (condition_b == true)", True),
        ("(condition_a == true) AND (condition_b == true)", False),
        ('(language == "en" OR language == "fr") AND skill_rating >= 5.1', True),
        ('(language == "en" OR language == "fr") AND skill_rating >= 5.6', False),
        ("skills HAS 'support'", True),
        ("skills HAS 'billing'", False),
        ("'en' IN languages", True),
        ("'english' IN languages", False),
        ("email CONTAINS '@example.com'", True),
        ("email CONTAINS '@EXAMPLE.com'", False),
        ("email contains 'alice'", True),
        # Scalar operator on an array and array operator on scalars: false.
        ('level HAS "support"', False),
        ("language HAS 'en'", False),
        ("skills CONTAINS 'support'", False),
        ("skills CONTAINS 'sup'", False),
        ("'support' CONTAINS skills", False),
        ("'x' IN 'xyz'", False),
        ("skills == 'support'", False),
        ("skills != 'support'", False),
        ("skills > 1", False),
        ("object == 'x'", False),
        ("object != 'x'", False),
        ("skills == skills", False),
        ("skills IN skills", False),
        ("object IN ['x']", False),
        ("skills NOT IN ['x']", False),
        ("level NOT IN 'abc'", False),
        ("level NOT IN object", False),
        ("level NOT IN [1, 2, 3]", True),
        ("level NOT IN [4]", False),
        ("[1, 2] HAS 2", True),
        ("[1, 2] HAS [2]", False),
        ("[] HAS 1", False),
        ("level IN []", False),
        ("level NOT IN []", True),
        # Nested and indexed paths.
        ("object.array[0] == 10", True),
        ("object.array[2] == 30", True),
        ("object.array[3] == 30", False),
        ("object.array[3] != 30", True),
        ("object[0] == 10", False),
        ("object.param[0] == 'b'", False),
        ("nested.list[1].c == 'deeper'", True),
        ("nested.list[0].c.d == 'x'", False),
        ("mixed[1] == 'two'", True),
        ("mixed[4] HAS 3", True),
        ("mixed[5].x == 4", True),
        # NULL (missing key or JSON null).
        ("missing == 1", False),
        ("missing != 1", True),
        ("1 != missing", True),
        ("missing != missing", False),
        ("missing != nothing", False),
        ("nothing != 'x'", True),
        ("nothing == nothing", False),
        ("missing > 1", False),
        ("missing < 1", False),
        ("missing >= 1", False),
        ("missing <= 1", False),
        ("missing IN [1, 2]", False),
        ("missing NOT IN [1, 2]", False),
        ("1 IN missing", False),
        ("1 NOT IN missing", False),
        ("missing HAS 'x'", False),
        ("skills HAS missing", False),
        ("missing CONTAINS 'x'", False),
        ("email CONTAINS missing", False),
        ("missing != skills", False),
        ("missing", False),
        ("NOT missing", True),
        ("missing.deeper.still == 1", False),
        ("mixed[3] == 1", False),
        ("mixed[3] != 1", True),
        ("mixed HAS 'two'", True),
        ("mixed HAS true", True),
        ("mixed HAS 3", False),
        # Numeric strings compare numerically against numbers.
        ("hour == 8", True),
        ("hour > 7", True),
        ("hour < 9", True),
        ("hour >= 8 AND hour <= 8", True),
        ("8 == hour", True),
        ("7 < hour", True),
        ("price > 12", True),
        ("price == 12.5", True),
        ("price < 12.5", False),
        ("hour == '08'", True),
        ("hour == '8'", False),
        ("hour > '1'", False),  # two strings: lexical, not numeric
        ("name > 5", False),
        ("name == 5", False),
        ("name != 5", True),
        ("8 IN ['07', '08']", True),
        ("'8' IN [8]", True),
        ("['1', '2'] HAS 2", True),
        ("'1e3' == 1000", False),
        ("' 8' == 8", False),
        ("'+8' == 8", True),
        ("'-1.50' == -1.5", True),
        ("'.5' == 0.5", True),
        ("'5.' == 5", True),
        ("'.' == 0", False),
        ("'' == 0", False),
        ("'-' == 0", False),
        ("'٣' == 3", False),
        # Booleans are not numbers.
        ("flag == true", True),
        ("flag == 1", False),
        ("flag != 1", True),
        ("one == true", False),
        ("true == 1", False),
        ("true > false", False),
        ("flag IN [1]", False),
        ("flag IN [true]", True),
        ("[1] HAS true", False),
        ("text_flag == true", False),
        ("text_flag", False),
        ("flag", True),
        ("true", True),
        ("false", False),
        ("1", False),
        ("'true'", False),
        ("[true]", False),
        ("condition_a", False),
        # Ordering.
        ("1 < 1.5", True),
        ("2 >= 2.0", True),
        ("2 == 2.0", True),
        ("'apple' < 'banana'", True),
        ("'b' > 'a'", True),
        ("'b' >= 'b'", True),
        ("'a' <= 'a'", True),
        ("'10' > '9'", False),
        ("'x' == 'X'", False),
        # Logic.
        ("NOT level == 4", False),
        ("NOT (level == 4 AND flag)", False),
        ("NOT level == 5 AND flag", True),
        ("level == 5 OR level == 4", True),
        ("level == 5 || level == 4", True),
        ("level == 4 && flag == false", False),
        ("level == 4 and flag or missing", True),
        ("level == 3 or level == 4 and flag == false", False),
        ("(level == 3 or level == 4) and not flag == false", True),
        ("LEVEL == 4", False),
    ],
)
def test_bare_worker_attributes(text: str, expected: bool) -> None:
    assert matches(text, {"worker": WORKER}, bare="worker") is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("worker.id IN task.preferred_agents", True),
        ("task.language IN worker.languages", True),
        ("task.language == worker.languages", False),
        ("worker.sid NOT IN task.workerSidsInConversation", True),
        ("'WK1' NOT IN task.workerSidsInConversation", False),
        ("worker.activity_name in ['Generally Available', 'High Value Tasks']", True),
        ("worker.activity_name IN ['High Value Tasks']", False),
        ("taskrouter.currentHour > 8 AND taskrouter.currentHour < 18", True),
        ("taskrouter.currentHour > 9", False),
        ("taskrouter.currentMin > 10 AND taskrouter.currentMin < 50", True),
        ("taskrouter.dayOfWeek = 'Sat'", True),
        ("taskrouter.dayOfWeek == 'SAT'", False),
        ("taskrouter.dayOfWeek IN ['Sat', 'Sun']", True),
        ("taskrouter.dayOfWeek IN task.schedule.week", False),
        ("taskrouter.currentTime > 0800", True),
        ("taskrouter.currentTime > 800 AND taskrouter.currentTime < 1730", True),
        ("taskrouter.currentTime > task.callAfterTime", True),
        ("workers.available == 0", True),
        ("workers.unavailable > 2", True),
        ("workers.WA0123 < 2 OR workers.WA0456 < 2", True),
        ("workers.WA0456 < 2", False),
        ("workers.WA9999 < 2", False),
        ("worker.channel.chat.assigned_tasks == 0", True),
        ("worker.channel.voice.assigned_tasks == 0", False),
        ("worker.channel.sms.assigned_tasks == 0", False),
        # Without ``bare``, unknown roots are NULL.
        ("type == 'ticket'", False),
        ("type != 'ticket'", True),
        ("task.type == 'ticket'", True),
        ("1 == 1", True),
    ],
)
def test_task_and_worker_context(text: str, expected: bool) -> None:
    assert matches(text, CONTEXT) is expected


@pytest.mark.parametrize(
    ("text", "bare", "expected"),
    [
        ("type == 'ticket'", "task", True),
        ("task.type == 'ticket'", "task", True),
        ("language == 'es'", "task", True),
        ("language == 'es'", "worker", False),
        ("languages HAS 'en'", "worker", True),
        ("worker.activity_name == 'Generally Available'", "worker", True),
        ("taskrouter.dayOfWeek == 'Sat'", "task", True),
        ("type == 'ticket'", "missing_root", False),
    ],
)
def test_bare_resolution(text: str, bare: str, expected: bool) -> None:
    assert matches(text, CONTEXT, bare=bare) is expected


def test_root_variable_takes_precedence_over_bare_key() -> None:
    variables = {"worker": {"task": "attribute"}, "task": {"x": 1}}
    assert matches("task.x == 1", variables, bare="worker")
    assert not matches("task == 'attribute'", variables, bare="worker")
    assert matches("worker.task == 'attribute'", variables, bare="worker")


def test_root_with_scalar_and_null_values() -> None:
    variables: dict[str, object] = {"flag": True, "n": 3, "nul": None, "lst": [1]}
    assert matches("flag", variables)
    assert matches("n == 3", variables)
    assert matches("lst[0] == 1", variables)
    assert not matches("nul == 1", variables)
    assert matches("nul != 1", variables)
    assert not matches("n.x == 1", variables)
    assert not matches("n[0] == 1", variables)


def test_other_mapping_and_value_types() -> None:
    class Color(StrEnum):
        RED = "red"

    class Level(int):
        pass

    class Tags(list[str]):
        pass

    attributes = OrderedDict(
        color=Color.RED,
        level=Level(3),
        frozen=MappingProxyType({"a": (1, 2)}),
        when=datetime(2024, 1, 1),
        flag=True,
        tags=Tags(["a", "b"]),
    )
    variables: Mapping[str, object] = MappingProxyType({"worker": attributes})
    assert matches("color == 'red'", variables, bare="worker")
    assert matches("color CONTAINS 'e'", variables, bare="worker")
    assert matches("level == 3 AND level > '2'", variables, bare="worker")
    assert matches("frozen.a HAS 2", variables, bare="worker")
    assert matches("frozen.a[1] == 2", variables, bare="worker")
    assert not matches("frozen == 'x'", variables, bare="worker")
    assert not matches("frozen != 'x'", variables, bare="worker")
    assert not matches("when == 1", variables, bare="worker")
    assert not matches("when != 1", variables, bare="worker")
    assert not matches("when > 1", variables, bare="worker")
    assert not matches("when IN [1]", variables, bare="worker")
    assert matches("tags HAS 'b' AND 'a' IN tags AND tags[1] == 'b'", variables, bare="worker")
    assert not matches("tags == 'a'", variables, bare="worker")
    assert not matches("tags != 'a'", variables, bare="worker")


def test_nan_and_infinity_never_raise() -> None:
    variables = {"n": float("nan"), "i": float("inf")}
    assert not matches("n == n", variables)
    assert matches("n != n", variables)
    assert not matches("n > 1", variables)
    assert matches("i > 100000", variables) is True


def test_evaluate_uses_parsed_expression() -> None:
    expression = parse("skills HAS 'support' AND level >= 3")
    assert evaluate(expression, {"worker": WORKER}, bare="worker") is True
    assert (
        evaluate(expression, {"worker": {"skills": ["support"], "level": 2}}, bare="worker")
        is False
    )
    assert evaluate(expression, {}, bare="worker") is False
    assert evaluate(expression, {}) is False


def test_matches_raises_expression_error() -> None:
    with pytest.raises(ExpressionError):
        matches("a ==", {})


def test_long_chain_evaluates_without_recursion() -> None:
    variables = {f"k{i}": i for i in range(3000)}
    text = " AND ".join(f"k{i} == {i}" for i in range(3000))
    assert matches(text, variables)
    assert not matches(text + " AND k0 == 1", variables)


@pytest.mark.parametrize(
    ("value", "segments", "expected"),
    [
        ({"a": {"b": [1, {"c": 2}]}}, ("a", "b", 1, "c"), 2),
        ({"a": [1]}, ("a", 1), None),
        ({"a": [1]}, ("a", "0"), None),
        ({"a": "xyz"}, ("a", 0), None),
        ([5, 6], (1,), 6),
        (7, (), 7),
        (None, ("a",), None),
    ],
)
def test_resolve_path(value: object, segments: tuple[str | int, ...], expected: object) -> None:
    assert resolve_path(value, segments) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("08", 8),
        ("-3", -3),
        ("+4", 4),
        ("1.5", 1.5),
        ("1.", 1.0),
        (".25", 0.25),
        ("-.5", -0.5),
        ("", None),
        ("-", None),
        (".", None),
        ("1e3", None),
        ("1.2.3", None),
        ("abc", None),
        (" 1", None),
        ("1_000", None),
        ("٣", None),
        ("nan", None),
        ("9" * 5000, float("inf")),
    ],
)
def test_to_number(text: str, expected: object) -> None:
    result = to_number(text)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (
            datetime(2024, 6, 1, 8, 5, tzinfo=UTC),
            {"currentTime": 805, "currentHour": "08", "currentMin": 5, "dayOfWeek": "Sat"},
        ),
        (
            datetime(2024, 6, 3, 0, 0),
            {"currentTime": 0, "currentHour": "00", "currentMin": 0, "dayOfWeek": "Mon"},
        ),
        (
            datetime(2024, 6, 2, 23, 59, 59, tzinfo=UTC),
            {"currentTime": 2359, "currentHour": "23", "currentMin": 59, "dayOfWeek": "Sun"},
        ),
        (
            # 01:30 on Thursday in UTC+02:00 is 23:30 on Wednesday UTC.
            datetime(2024, 6, 6, 1, 30, tzinfo=timezone(timedelta(hours=2))),
            {"currentTime": 2330, "currentHour": "23", "currentMin": 30, "dayOfWeek": "Wed"},
        ),
        (
            datetime(2024, 6, 7, 18, 30, tzinfo=UTC),
            {"currentTime": 1830, "currentHour": "18", "currentMin": 30, "dayOfWeek": "Fri"},
        ),
    ],
)
def test_time_variables(now: datetime, expected: dict[str, object]) -> None:
    assert time_variables(now) == expected


def test_time_variables_in_expressions() -> None:
    variables = {"taskrouter": time_variables(datetime(2024, 6, 1, 8, 5, tzinfo=UTC))}
    assert matches("taskrouter.currentTime > 0800", variables)
    assert not matches("taskrouter.currentTime > 0805", variables)
    assert not matches("taskrouter.currentHour > 8", variables)
    assert matches("taskrouter.currentHour >= 8 AND taskrouter.currentHour < 18", variables)
    assert matches("taskrouter.dayOfWeek = 'Sat'", variables)
    assert matches("taskrouter.currentMin < 10", variables)


def test_evaluation_is_fast_enough() -> None:
    """A loose guard, not a benchmark: ~0.1 s normally, generous for tracing/coverage runs."""
    expression = parse("skills HAS 'support' AND level >= 3")
    variables = {"worker": {"skills": ["sales", "support"], "level": 4, "name": "x"}}
    start = time.perf_counter()
    for _ in range(20_000):
        evaluate(expression, variables, bare="worker")
    assert time.perf_counter() - start < 5.0
