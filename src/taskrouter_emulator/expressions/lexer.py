"""Hand-written lexer for TaskRouter expressions (and ``order_by`` clauses).

This module owns :class:`ExpressionError`, the token model and
:func:`tokenize`, which turns source text into a flat list of tokens ending
with an ``EOF`` token.  Lexical rules:

* whitespace separates tokens and is otherwise ignored;
* strings are single- or double-quoted, with backslash escapes
  (``\\n \\t \\r \\b \\f \\/ \\\\ \\' \\"`` and ``\\uXXXX``; any other escaped
  character stands for itself);
* numbers are ``12``, ``1.5``, ``.5``, ``0800`` (= 800) and, when a ``-`` is
  directly followed by a digit, negative numbers such as ``-1``;
* a key path is ``[A-Za-z_$][A-Za-z0-9_$]*`` segments joined by ``.``, each
  optionally followed by ``[n]`` integer indexes, with no whitespace inside
  (``a.b[0].c``).  An identifier immediately followed by ``-`` and another
  identifier character (``skill-level``) is rejected: TaskRouter does not
  support hyphens in key names;
* the keywords ``AND OR NOT IN HAS CONTAINS TRUE FALSE`` are case-insensitive
  and are only recognised as a whole single-segment word;
* operators: ``== = != > >= < <= && || ( ) [ ] ,``.
"""

from __future__ import annotations

import enum
import string
from dataclasses import dataclass

from .ast import CompareOp

__all__ = ["ExpressionError", "Token", "TokenKind", "format_error", "tokenize"]


class ExpressionError(ValueError):
    """An invalid expression; ``position`` is the 0-based character offset of the problem."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.message = message
        self.position = position

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[type[ExpressionError], tuple[str, int]]:
        return (type(self), (self.message, self.position))


def format_error(text: str, reason: str, position: int, *, label: str = "expression") -> str:
    """Build the standard human-readable error message."""
    return f"Invalid {label} '{text}': {reason} at position {position}"


class TokenKind(enum.Enum):
    """The kinds of token produced by :func:`tokenize`."""

    STRING = "string"
    NUMBER = "number"
    BOOLEAN = "boolean"
    PATH = "identifier"
    COMPARE = "operator"
    AND = "AND"
    OR = "OR"
    NOT = "NOT"
    LPAREN = "'('"
    RPAREN = "')'"
    LBRACKET = "'['"
    RBRACKET = "']'"
    COMMA = "','"
    EOF = "end of expression"


TokenValue = str | int | float | bool | tuple[str | int, ...] | CompareOp | None


@dataclass(frozen=True, slots=True)
class Token:
    """One lexical token: its kind, source text, start offset and decoded value."""

    kind: TokenKind
    text: str
    position: int
    value: TokenValue = None

    def describe(self) -> str:
        """Describe the token for an error message."""
        if self.kind is TokenKind.EOF:
            return "end of expression"
        if self.kind is TokenKind.PATH:
            return f"identifier '{self.text}'"
        if self.kind in (TokenKind.STRING, TokenKind.NUMBER):
            return f"{self.kind.value} {self.text}"
        return f"'{self.text}'"


_IDENT_START = frozenset(string.ascii_letters + "_$")
_IDENT_CHARS = _IDENT_START | frozenset(string.digits)
_DIGITS = frozenset(string.digits)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}

_KEYWORDS: dict[str, tuple[TokenKind, TokenValue]] = {
    "AND": (TokenKind.AND, None),
    "OR": (TokenKind.OR, None),
    "NOT": (TokenKind.NOT, None),
    "IN": (TokenKind.COMPARE, CompareOp.IN),
    "HAS": (TokenKind.COMPARE, CompareOp.HAS),
    "CONTAINS": (TokenKind.COMPARE, CompareOp.CONTAINS),
    "TRUE": (TokenKind.BOOLEAN, True),
    "FALSE": (TokenKind.BOOLEAN, False),
}

_TWO_CHAR: dict[str, tuple[TokenKind, TokenValue]] = {
    "==": (TokenKind.COMPARE, CompareOp.EQ),
    "!=": (TokenKind.COMPARE, CompareOp.NE),
    ">=": (TokenKind.COMPARE, CompareOp.GE),
    "<=": (TokenKind.COMPARE, CompareOp.LE),
    "&&": (TokenKind.AND, None),
    "||": (TokenKind.OR, None),
}

_ONE_CHAR: dict[str, tuple[TokenKind, TokenValue]] = {
    "=": (TokenKind.COMPARE, CompareOp.EQ),
    ">": (TokenKind.COMPARE, CompareOp.GT),
    "<": (TokenKind.COMPARE, CompareOp.LT),
    "(": (TokenKind.LPAREN, None),
    ")": (TokenKind.RPAREN, None),
    "[": (TokenKind.LBRACKET, None),
    "]": (TokenKind.RBRACKET, None),
    ",": (TokenKind.COMMA, None),
}


class _Lexer:
    """Single-use scanner over one source text."""

    def __init__(self, text: str, label: str) -> None:
        self.text = text
        self.label = label
        self.length = len(text)

    def error(self, reason: str, position: int) -> ExpressionError:
        return ExpressionError(
            format_error(self.text, reason, position, label=self.label), position
        )

    def char(self, index: int) -> str:
        return self.text[index] if index < self.length else ""

    def run(self) -> list[Token]:
        text = self.text
        tokens: list[Token] = []
        i = 0
        while i < self.length:
            ch = text[i]
            if ch.isspace():
                i += 1
                continue
            nxt = self.char(i + 1)
            if ch in "\"'":
                end, decoded = self.scan_string(i)
                tokens.append(Token(TokenKind.STRING, text[i:end], i, decoded))
            elif (
                ch in _DIGITS
                or (ch == "." and nxt in _DIGITS)
                or (ch == "-" and (nxt in _DIGITS or (nxt == "." and self.char(i + 2) in _DIGITS)))
            ):
                end, number = self.scan_number(i)
                tokens.append(Token(TokenKind.NUMBER, text[i:end], i, number))
            elif ch in _IDENT_START:
                end, token = self.scan_word(i)
                tokens.append(token)
            elif ch + nxt in _TWO_CHAR:
                kind, value = _TWO_CHAR[ch + nxt]
                end = i + 2
                tokens.append(Token(kind, text[i:end], i, value))
            elif ch in _ONE_CHAR:
                kind, value = _ONE_CHAR[ch]
                end = i + 1
                tokens.append(Token(kind, ch, i, value))
            else:
                raise self.error(f"unexpected character {ch!r}", i)
            i = end
        tokens.append(Token(TokenKind.EOF, "", self.length))
        return tokens

    def scan_string(self, start: int) -> tuple[int, str]:
        text = self.text
        quote = text[start]
        parts: list[str] = []
        i = start + 1
        while i < self.length:
            ch = text[i]
            if ch == quote:
                return i + 1, "".join(parts)
            if ch != "\\":
                parts.append(ch)
                i += 1
                continue
            escaped = self.char(i + 1)
            if escaped == "":
                break
            if escaped == "u":
                digits = text[i + 2 : i + 6]
                if len(digits) != 4 or any(c not in string.hexdigits for c in digits):
                    raise self.error("invalid \\u escape in string", i)
                parts.append(chr(int(digits, 16)))
                i += 6
                continue
            parts.append(_ESCAPES.get(escaped, escaped))
            i += 2
        raise self.error("unterminated string", start)

    def scan_number(self, start: int) -> tuple[int, int | float]:
        text = self.text
        i = start + 1 if text[start] == "-" else start
        while self.char(i) in _DIGITS:
            i += 1
        is_float = False
        if self.char(i) == "." and self.char(i + 1) in _DIGITS:
            is_float = True
            i += 1
            while self.char(i) in _DIGITS:
                i += 1
        following = self.char(i)
        if following in _IDENT_CHARS or following == ".":
            end = i
            while end < self.length and (text[end] in _IDENT_CHARS or text[end] == "."):
                end += 1
            raise self.error(f"invalid number {text[start:end]}", start)
        literal = text[start:i]
        try:
            return i, float(literal) if is_float else int(literal)
        except ValueError:
            raise self.error(f"number {literal} is too long", start) from None

    def scan_identifier(self, start: int) -> int:
        i = start + 1
        while i < self.length and self.text[i] in _IDENT_CHARS:
            i += 1
        return i

    def scan_word(self, start: int) -> tuple[int, Token]:
        text = self.text
        end = self.scan_identifier(start)
        name = text[start:end]
        keyword = _KEYWORDS.get(name.upper())
        if keyword is not None:
            self.check_hyphen(start, end)
            kind, value = keyword
            return end, Token(kind, name, start, value)
        segments: list[str | int] = [name]
        while end < self.length:
            ch = text[end]
            if ch == ".":
                if self.char(end + 1) not in _IDENT_START:
                    raise self.error("expected a key name after '.'", end + 1)
                segment_end = self.scan_identifier(end + 1)
                segments.append(text[end + 1 : segment_end])
                end = segment_end
            elif ch == "[":
                close = end + 1
                while close < self.length and text[close] in _DIGITS:
                    close += 1
                if close == end + 1 or self.char(close) != "]":
                    raise self.error("an array index must be a non-negative integer", end + 1)
                try:
                    segments.append(int(text[end + 1 : close]))
                except ValueError:
                    raise self.error("array index is too large", end + 1) from None
                end = close + 1
            else:
                break
        self.check_hyphen(start, end)
        return end, Token(TokenKind.PATH, text[start:end], start, tuple(segments))

    def check_hyphen(self, start: int, end: int) -> None:
        if self.char(end) == "-" and self.char(end + 1) in _IDENT_CHARS:
            word_end = end
            while word_end < self.length and (
                self.text[word_end] in _IDENT_CHARS or self.text[word_end] in ".-"
            ):
                word_end += 1
            word = self.text[start:word_end]
            raise self.error(f"hyphens are not supported in key names ('{word}')", end)


def tokenize(text: str, *, label: str = "expression") -> list[Token]:
    """Split ``text`` into tokens (the last one is ``EOF``); raise :class:`ExpressionError`."""
    return _Lexer(text, label).run()
