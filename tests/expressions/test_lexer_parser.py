"""Tests for the expression lexer and Pratt parser."""

from __future__ import annotations

import pickle

import pytest

from taskrouter_emulator.expressions import (
    MAX_DEPTH,
    Expression,
    ExpressionError,
    parse,
    referenced_roots,
)
from taskrouter_emulator.expressions.ast import (
    And,
    Array,
    Boolean,
    CompareOp,
    Comparison,
    Not,
    Number,
    Or,
    Path,
    String,
    Truthy,
    iter_paths,
)
from taskrouter_emulator.expressions.lexer import Token, TokenKind, tokenize

# Every example expression quoted in section 5 of the reference.
REFERENCE_EXAMPLES = [
    "1 == 1",
    "1==1",
    "0 != 1",
    '"apple" != "orange"',
    "key > 1",
    'object.param != "apple"',
    'language IN ["en", "es"]',
    "(condition_a == true) OR (condition_b == true)",
    '(language == "en" OR language == "fr") AND skill_rating >= 5.1',
    "skills HAS 'support'",
    "'english' IN languages",
    "worker.id IN task.preferred_agents",
    "task.language IN worker.languages",
    "worker.sid NOT IN task.workerSidsInConversation",
    "email CONTAINS '@example.com'",
    "worker.activity_name in ['Generally Available', 'High Value Tasks']",
    "worker.activity_sid == 'WA0123'",
    "taskrouter.currentHour > 8 AND taskrouter.currentHour < 18",
    "taskrouter.currentMin > 10 AND taskrouter.currentMin < 50",
    "taskrouter.dayOfWeek = 'Sat'",
    "taskrouter.currentTime > 0800",
    "taskrouter.currentTime > 800 AND taskrouter.currentTime < 1730",
    "taskrouter.currentTime > task.callAfterTime",
    "taskrouter.dayOfWeek IN task.schedule.week",
    "workers.available == 0",
    "workers.WA0123 < 2 OR workers.WA0456 < 2",
    "worker.channel.chat.assigned_tasks == 0",
    "worker.channel.voice.assigned_tasks == 0",
    'level HAS "support"',
    "type == 'ticket'",
    "object.array[2] == 1",
]


@pytest.mark.parametrize("text", REFERENCE_EXAMPLES)
def test_reference_examples_parse(text: str) -> None:
    expression = parse(text)
    assert isinstance(expression, Expression)
    assert expression.source == text
    assert str(expression) == text


def cmp(op: CompareOp, left: object, right: object) -> Comparison:
    """Shorthand for building comparison nodes in expectations."""
    return Comparison(op, _node(left), _node(right))


def _node(value: object) -> String | Number | Boolean | Array | Path:
    if isinstance(value, String | Number | Boolean | Array | Path):
        return value
    if isinstance(value, bool):
        return Boolean(value)
    if isinstance(value, int | float):
        return Number(value)
    assert isinstance(value, str)
    root, *rest = value.split(".")
    return Path(root, tuple(rest))


A1 = cmp(CompareOp.EQ, "a", 1)
B2 = cmp(CompareOp.EQ, "b", 2)
C3 = cmp(CompareOp.EQ, "c", 3)


@pytest.mark.parametrize(
    ("text", "body"),
    [
        ("1 == 1", cmp(CompareOp.EQ, 1, 1)),
        ("a = 1", A1),
        ("a != 'x'", Comparison(CompareOp.NE, Path("a"), String("x"))),
        ("a > 1", cmp(CompareOp.GT, "a", 1)),
        ("a >= 1", cmp(CompareOp.GE, "a", 1)),
        ("a < 1", cmp(CompareOp.LT, "a", 1)),
        ("a <= 1", cmp(CompareOp.LE, "a", 1)),
        ("a in b", cmp(CompareOp.IN, "a", "b")),
        ("a not in b", cmp(CompareOp.NOT_IN, "a", "b")),
        ("a Not   In b", cmp(CompareOp.NOT_IN, "a", "b")),
        ("a has b", cmp(CompareOp.HAS, "a", "b")),
        ("a contains b", cmp(CompareOp.CONTAINS, "a", "b")),
        ("a == TRUE", cmp(CompareOp.EQ, "a", True)),
        ("a == False", cmp(CompareOp.EQ, "a", False)),
        ("a == 1 AND b == 2", And((A1, B2))),
        ("a == 1 and b == 2", And((A1, B2))),
        ("a == 1 && b == 2", And((A1, B2))),
        ("a == 1 OR b == 2", Or((A1, B2))),
        ("a == 1 or b == 2", Or((A1, B2))),
        ("a == 1 || b == 2", Or((A1, B2))),
        # AND binds tighter than OR; chains are flattened.
        ("a == 1 OR b == 2 AND c == 3", Or((A1, And((B2, C3))))),
        ("a == 1 AND b == 2 OR c == 3", Or((And((A1, B2)), C3))),
        ("a == 1 AND b == 2 AND c == 3", And((A1, B2, C3))),
        ("a == 1 || b == 2 || c == 3", Or((A1, B2, C3))),
        ("(a == 1 OR b == 2) AND c == 3", And((Or((A1, B2)), C3))),
        # NOT binds looser than comparisons, tighter than AND.
        ("NOT a == 1", Not(A1)),
        ("not (a == 1)", Not(A1)),
        ("NOT a == 1 AND b == 2", And((Not(A1), B2))),
        ("NOT (a == 1 AND b == 2)", Not(And((A1, B2)))),
        ("NOT NOT a == 1", Not(Not(A1))),
        ("NOT flag", Not(Truthy(Path("flag")))),
        # Bare operands are truthy tests.
        ("true", Truthy(Boolean(True))),
        ("some_flag", Truthy(Path("some_flag"))),
        ("flag AND other", And((Truthy(Path("flag")), Truthy(Path("other"))))),
        ("(flag)", Truthy(Path("flag"))),
        ("(a) == 1", A1),
        ("a == (1)", A1),
        ("((a == 1))", A1),
        # Literals.
        ("a == 1.0", cmp(CompareOp.EQ, "a", 1.0)),
        ("a == .5", cmp(CompareOp.EQ, "a", 0.5)),
        ("a == 0800", cmp(CompareOp.EQ, "a", 800)),
        ("a == -1", cmp(CompareOp.EQ, "a", -1)),
        ("a == -.5", cmp(CompareOp.EQ, "a", -0.5)),
        ("a==-1", cmp(CompareOp.EQ, "a", -1)),
        ("-1 < a", cmp(CompareOp.LT, -1, "a")),
        ("a == 3.141529", cmp(CompareOp.EQ, "a", 3.141529)),
        ('a == "x"', Comparison(CompareOp.EQ, Path("a"), String("x"))),
        ("a == 'x'", Comparison(CompareOp.EQ, Path("a"), String("x"))),
        (r"a == 'it\'s'", Comparison(CompareOp.EQ, Path("a"), String("it's"))),
        (r'a == "say \"hi\""', Comparison(CompareOp.EQ, Path("a"), String('say "hi"'))),
        (r"a == 'a\\b'", Comparison(CompareOp.EQ, Path("a"), String("a\\b"))),
        (r"a == 'x\ny\t\r\b\f\/'", Comparison(CompareOp.EQ, Path("a"), String("x\ny\t\r\b\f/"))),
        (r"a == '\u00e9\q'", Comparison(CompareOp.EQ, Path("a"), String("\u00e9q"))),
        ("a == 'skill-level'", Comparison(CompareOp.EQ, Path("a"), String("skill-level"))),
        ("a == ''", Comparison(CompareOp.EQ, Path("a"), String(""))),
        (
            'a IN ["en", "es"]',
            Comparison(CompareOp.IN, Path("a"), Array((String("en"), String("es")))),
        ),
        ("a IN []", Comparison(CompareOp.IN, Path("a"), Array(()))),
        (
            "a IN [1, 2.5, true]",
            Comparison(CompareOp.IN, Path("a"), Array((Number(1), Number(2.5), Boolean(True)))),
        ),
        ("x IN[1,2]", Comparison(CompareOp.IN, Path("x"), Array((Number(1), Number(2))))),
        ("[1] HAS 1", Comparison(CompareOp.HAS, Array((Number(1),)), Number(1))),
        # Paths.
        ("a.b.c == 1", cmp(CompareOp.EQ, "a.b.c", 1)),
        ("object.array[2] == 1", Comparison(CompareOp.EQ, Path("object", ("array", 2)), Number(1))),
        ("a.b[0].c == 1", Comparison(CompareOp.EQ, Path("a", ("b", 0, "c")), Number(1))),
        ("a[0][1] == 1", Comparison(CompareOp.EQ, Path("a", (0, 1)), Number(1))),
        ("$x.y_z9 == 1", cmp(CompareOp.EQ, "$x.y_z9", 1)),
        ("worker.in == 1", cmp(CompareOp.EQ, "worker.in", 1)),
        ("android == 1", cmp(CompareOp.EQ, "android", 1)),
        ("a\t==\n1", A1),
    ],
)
def test_parse_tree(text: str, body: object) -> None:
    assert parse(text).body == body


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("", 0, "expression is empty"),
        ("   ", 0, "expression is empty"),
        ("a ==", 4, "unexpected end of expression"),
        ("(a == 1", 7, "unclosed '('"),
        ("a == 1)", 6, "unexpected ')'"),
        ("a === 1", 4, "unexpected '='"),
        ("a == 'abc", 5, "unterminated string"),
        ('a == "abc\\"', 5, "unterminated string"),
        ("a == 'abc\\", 5, "unterminated string"),
        ("skill-level > 3", 5, "hyphens are not supported"),
        ("worker.skill-level > 3", 12, "hyphens are not supported"),
        ("a-1 == 1", 1, "hyphens are not supported"),
        ("true-x", 4, "hyphens are not supported"),
        ("a == 1 b", 7, "unexpected identifier 'b'"),
        ("a == 1 == 2", 7, "comparisons cannot be chained"),
        ("(a == 1) == 2", 9, "comparisons cannot be chained"),
        ("(a AND b) == 2", 10, "needs a value on its left"),
        ("a == NOT b", 5, "expected a value after '=='"),
        ("a == (b == 1)", 5, "expected a value after '=='"),
        ("a NOT b", 6, "expected IN after NOT"),
        ("a NOT", 5, "expected IN after NOT"),
        ("NOT", 3, "unexpected end of expression"),
        ("NOT IN a", 4, "unexpected 'IN'"),
        ("AND a", 0, "unexpected 'AND'"),
        ("a AND", 5, "unexpected end of expression"),
        ("a OR OR b", 5, "unexpected 'OR'"),
        ("== 1", 0, "unexpected '=='"),
        ("()", 1, "unexpected ')'"),
        ("a & b", 2, "unexpected character '&'"),
        ("a | b", 2, "unexpected character '|'"),
        ("a ! b", 2, "unexpected character '!'"),
        ("a == - 1", 5, "unexpected character '-'"),
        ("a == 1.", 5, "invalid number 1."),
        ("a == 1.2.3", 5, "invalid number 1.2.3"),
        ("a == 1abc", 5, "invalid number 1abc"),
        ("a == 'x' é", 9, "unexpected character 'é'"),
        ("a.", 2, "expected a key name after '.'"),
        ("a.1 == 1", 2, "expected a key name after '.'"),
        ("a. b == 1", 2, "expected a key name after '.'"),
        ("a[x] == 1", 2, "array index must be a non-negative integer"),
        ("a[] == 1", 2, "array index must be a non-negative integer"),
        ("a[1 == 1", 2, "array index must be a non-negative integer"),
        ("a[-1] == 1", 2, "array index must be a non-negative integer"),
        ("a IN [1,]", 8, "expected a string, number or boolean in array"),
        ("a IN [b]", 6, "expected a string, number or boolean in array"),
        ("a IN [[1]]", 6, "expected a string, number or boolean in array"),
        ("a IN [1 2]", 8, "expected ',' or ']'"),
        ("a IN [1", 7, "expected ',' or ']'"),
        ("a IN [", 6, "expected a string, number or boolean"),
        (r"a == '\u12'", 6, "invalid \\u escape"),
        (r"a == '\uzzzz'", 6, "invalid \\u escape"),
        ("]", 0, "unexpected ']'"),
        ("a == ,", 5, "unexpected ','"),
        ("a == 'x' 'y'", 9, "unexpected string 'y'"),
        ("a == 1 2", 7, "unexpected number 2"),
    ],
)
def test_parse_errors(text: str, position: int, fragment: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse(text)
    error = caught.value
    assert error.position == position
    assert fragment in error.message
    assert error.message == str(error)
    assert error.message.startswith(f"Invalid expression '{text}': ")
    assert error.message.endswith(f" at position {position}")


def test_error_message_format() -> None:
    with pytest.raises(ExpressionError) as caught:
        parse("a ==")
    assert str(caught.value) == (
        "Invalid expression 'a ==': unexpected end of expression at position 4"
    )


def test_expression_error_is_value_error_and_picklable() -> None:
    error = ExpressionError("boom at position 3", 3)
    assert isinstance(error, ValueError)
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.message, copy.position) == ("boom at position 3", 3)


def test_hyphen_error_names_the_key() -> None:
    with pytest.raises(ExpressionError, match=r"\('skill-level'\)"):
        parse("skill-level > 3")


def test_nesting_limit() -> None:
    ok = "(" * MAX_DEPTH + "a" + ")" * MAX_DEPTH
    assert parse(ok).body == Truthy(Path("a"))
    too_deep = "(" * (MAX_DEPTH + 1) + "a" + ")" * (MAX_DEPTH + 1)
    with pytest.raises(ExpressionError, match="nested too deeply") as caught:
        parse(too_deep)
    assert caught.value.position == MAX_DEPTH
    with pytest.raises(ExpressionError, match="nested too deeply"):
        parse("NOT " * 5000 + "a")
    with pytest.raises(ExpressionError, match="nested too deeply"):
        parse("(" * 100_000)


def test_long_chains_are_flat() -> None:
    text = " AND ".join(f"k{i} == {i}" for i in range(5000))
    body = parse(text).body
    assert isinstance(body, And)
    assert len(body.operands) == 5000


def test_huge_literals() -> None:
    with pytest.raises(ExpressionError, match="too long"):
        parse("a == " + "9" * 10_000)
    with pytest.raises(ExpressionError, match="index is too large"):
        parse("a[" + "9" * 10_000 + "] == 1")
    body = parse("a == " + "9" * 400 + ".5").body
    assert isinstance(body, Comparison)
    assert body.right == Number(float("inf"))


def test_parse_is_cached_and_expressions_hashable() -> None:
    assert parse("a == 1") is parse("a == 1")
    assert parse("a==1") == parse("a  =  1")
    assert hash(parse("a==1")) == hash(parse("a  =  1"))
    assert parse("a == 1") != parse("a == '1'")
    assert parse("a == true") != parse("a == 1")
    assert len({parse("x IN [1, 2]"), parse("x in [1,2]")}) == 1


@pytest.mark.parametrize(
    ("text", "roots"),
    [
        ("1 == 1", set()),
        ("skills HAS 'support'", {"skills"}),
        ("worker.id IN task.preferred_agents", {"worker", "task"}),
        (
            "NOT (taskrouter.currentHour > 8 OR workers.available == 0) AND flag",
            {"taskrouter", "workers", "flag"},
        ),
        ("a[0].b == c.d[1]", {"a", "c"}),
    ],
)
def test_referenced_roots(text: str, roots: set[str]) -> None:
    assert referenced_roots(parse(text)) == roots


def test_iter_paths_order_and_path_helpers() -> None:
    paths = list(iter_paths(parse("a.b[0] == c OR NOT d.e")))
    assert [str(p) for p in paths] == ["a.b[0]", "c", "d.e"]
    assert paths[0].segments == ("a", "b", 0)


@pytest.mark.parametrize(
    ("text", "kinds_values"),
    [
        ("1", [(TokenKind.NUMBER, 1)]),
        ("1.0", [(TokenKind.NUMBER, 1.0)]),
        (".5", [(TokenKind.NUMBER, 0.5)]),
        ("0800", [(TokenKind.NUMBER, 800)]),
        ("-12", [(TokenKind.NUMBER, -12)]),
        ("'a\"b'", [(TokenKind.STRING, 'a"b')]),
        ("TrUe fAlSe", [(TokenKind.BOOLEAN, True), (TokenKind.BOOLEAN, False)]),
        ("a.b[3]", [(TokenKind.PATH, ("a", "b", 3))]),
        (
            "== = != > >= < <=",
            [(TokenKind.COMPARE, op) for op in ["==", "==", "!=", ">", ">=", "<", "<="]],
        ),
        (
            "&& || and OR not",
            [
                (TokenKind.AND, None),
                (TokenKind.OR, None),
                (TokenKind.AND, None),
                (TokenKind.OR, None),
                (TokenKind.NOT, None),
            ],
        ),
        (
            "in Has CONTAINS",
            [
                (TokenKind.COMPARE, "IN"),
                (TokenKind.COMPARE, "HAS"),
                (TokenKind.COMPARE, "CONTAINS"),
            ],
        ),
        (
            "( ) [ ] ,",
            [
                (k, None)
                for k in (
                    TokenKind.LPAREN,
                    TokenKind.RPAREN,
                    TokenKind.LBRACKET,
                    TokenKind.RBRACKET,
                    TokenKind.COMMA,
                )
            ],
        ),
    ],
)
def test_tokenize(text: str, kinds_values: list[tuple[TokenKind, object]]) -> None:
    tokens = tokenize(text)
    assert tokens[-1].kind is TokenKind.EOF
    assert tokens[-1].position == len(text)
    assert [(t.kind, t.value) for t in tokens[:-1]] == kinds_values


def test_token_positions_and_descriptions() -> None:
    tokens = tokenize("ab  == 'x'")
    assert [t.position for t in tokens] == [0, 4, 7, 10]
    assert [t.describe() for t in tokens] == [
        "identifier 'ab'",
        "'=='",
        "string 'x'",
        "end of expression",
    ]
    assert Token(TokenKind.NUMBER, "5", 0, 5).describe() == "number 5"


def test_tokenize_label() -> None:
    with pytest.raises(ExpressionError, match=r"^Invalid order_by '#': "):
        tokenize("#", label="order_by")
