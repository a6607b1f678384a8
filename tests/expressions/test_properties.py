"""Property-based tests (hypothesis) for the expression package."""

from __future__ import annotations

import string
from collections.abc import Callable
from typing import TypeVar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taskrouter_emulator.expressions import (
    Expression,
    ExpressionError,
    evaluate,
    parse,
    parse_order_by,
    sort_key_for,
)
from taskrouter_emulator.expressions.ast import Comparison, Number, String

T = TypeVar("T")

FAST = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

KEYS = ["a", "b", "c", "x", "worker", "task", "skills"]
ROOTS = ["worker", "task", "taskrouter", "workers", "a", "b"]
PATHS = [
    "a",
    "b",
    "x",
    "a.b",
    "a.c[0]",
    "c[1].x",
    "worker.a",
    "task.b",
    "skills",
    "worker.skills[0]",
]
OPERATORS = [
    "==",
    "=",
    "!=",
    ">",
    ">=",
    "<",
    "<=",
    "IN",
    "in",
    "NOT IN",
    "not In",
    "HAS",
    "has",
    "CONTAINS",
]

# Fragments that are likely to form (or almost form) expressions, to reach deep into the parser.
FRAGMENTS = [
    *OPERATORS,
    *PATHS,
    "AND",
    "OR",
    "and",
    "&&",
    "||",
    "NOT",
    "(",
    ")",
    "[",
    "]",
    ",",
    "'x'",
    '"y"',
    "'",
    '"',
    "1",
    "-1",
    ".5",
    "0800",
    "1.5",
    "true",
    "FALSE",
    "-",
    ".",
    "a-b",
    "\\",
    "1.",
    "=",
    "!",
]

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-10, max_value=10)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from(["08", "8", "x", "en", "1.5", "", "support", "true"])
    | st.text(max_size=5)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS), children, max_size=4)
    ),
    max_leaves=20,
)
variables_strategy = st.dictionaries(st.sampled_from(ROOTS), json_values, max_size=6)


def quote(text: str) -> str:
    """Render ``text`` as a double-quoted expression string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


string_literals = st.text(alphabet=string.ascii_letters + string.digits + "_-@.", max_size=6).map(
    lambda s: f"'{s}'"
)
number_literals = st.integers(min_value=-1000, max_value=1000).map(str) | st.floats(
    min_value=-1e6, max_value=1e6
).map(lambda f: f"{f:.3f}")
bool_literals = st.sampled_from(["true", "false", "TRUE", "False"])
scalar_literals = string_literals | number_literals | bool_literals
array_literals = st.lists(scalar_literals, max_size=4).map(
    lambda items: "[" + ", ".join(items) + "]"
)
operands = st.sampled_from(PATHS) | scalar_literals | array_literals

comparisons = st.builds(
    lambda left, op, right: f"{left} {op} {right}", operands, st.sampled_from(OPERATORS), operands
)
atoms = comparisons | operands


def _combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return (
        st.builds(
            lambda a, op, b: f"{a} {op} {b}",
            children,
            st.sampled_from(["AND", "OR", "and", "or", "&&", "||"]),
            children,
        )
        | children.map(lambda c: f"({c})")
        | children.map(lambda c: f"NOT ({c})")
    )


well_formed = st.recursive(atoms, _combine, max_leaves=12)


def _attempt(function: Callable[[str], T], text: str) -> T | ExpressionError:
    """Call ``function(text)``; return the ExpressionError instead of raising it.

    Any other exception propagates and fails the test.
    """
    try:
        return function(text)
    except ExpressionError as error:
        return error


@FAST
@given(st.text())
def test_parse_arbitrary_text_only_raises_expression_error(text: str) -> None:
    outcome = _attempt(parse, text)
    if isinstance(outcome, ExpressionError):
        assert 0 <= outcome.position <= len(text)
        assert outcome.message.endswith(f"at position {outcome.position}")
    else:
        assert isinstance(outcome, Expression)


@FAST
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=12), st.sampled_from([" ", ""]))
def test_parse_fragment_soup_only_raises_expression_error(fragments: list[str], sep: str) -> None:
    text = sep.join(fragments)
    outcome = _attempt(parse, text)
    if isinstance(outcome, ExpressionError):
        assert 0 <= outcome.position <= len(text)
    else:
        assert isinstance(evaluate(outcome, {}), bool)


@FAST
@given(
    st.text()
    | st.lists(
        st.sampled_from(["worker.a", "worker.b[0]", "ASC", "desc", ",", "x", "'", "-"]), max_size=8
    ).map(" ".join)
)
def test_parse_order_by_arbitrary_text(text: str) -> None:
    outcome = _attempt(parse_order_by, text)
    if isinstance(outcome, ExpressionError):
        assert 0 <= outcome.position <= len(text)
    else:
        assert outcome
        assert isinstance(sort_key_for(outcome, {"a": 1, "b": [2]}), tuple)


@FAST
@given(well_formed, variables_strategy, st.sampled_from([None, "worker", "task", "a"]))
def test_well_formed_expressions_parse_and_evaluate_to_bool(
    text: str, variables: dict[str, object], bare: str | None
) -> None:
    expression = parse(text)
    result = evaluate(expression, variables, bare=bare)
    assert isinstance(result, bool)
    # NOT is exact boolean negation.
    assert evaluate(parse(f"NOT ({text})"), variables, bare=bare) is (not result)
    # Extra whitespace between tokens does not change the tree.
    assert parse(text.replace(" ", " \t\n ")) == expression


@FAST
@given(well_formed, well_formed, variables_strategy)
def test_logic_matches_python(left: str, right: str, variables: dict[str, object]) -> None:
    a = evaluate(parse(left), variables)
    b = evaluate(parse(right), variables)
    assert evaluate(parse(f"({left}) AND ({right})"), variables) is (a and b)
    assert evaluate(parse(f"({left}) || ({right})"), variables) is (a or b)


@FAST
@given(variables_strategy, st.sampled_from(PATHS), st.sampled_from(PATHS))
def test_equality_is_symmetric_and_ne_is_consistent(
    variables: dict[str, object], left: str, right: str
) -> None:
    eq = evaluate(parse(f"{left} == {right}"), variables)
    assert evaluate(parse(f"{right} == {left}"), variables) is eq
    ne = evaluate(parse(f"{left} != {right}"), variables)
    assert evaluate(parse(f"{right} != {left}"), variables) is ne
    assert not (eq and ne)


@FAST
@given(st.text())
def test_string_literal_round_trip(text: str) -> None:
    body = parse(f"a == {quote(text)}").body
    assert isinstance(body, Comparison)
    assert body.right == String(text)


@FAST
@given(number_literals)
def test_number_literal_round_trip(literal: str) -> None:
    body = parse(f"a == {literal}").body
    assert isinstance(body, Comparison)
    expected = float(literal) if "." in literal else int(literal)
    assert body.right == Number(expected)
