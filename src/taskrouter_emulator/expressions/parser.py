"""Pratt parser for TaskRouter expressions.

This module owns the grammar: it turns the tokens from :mod:`.lexer` into the
typed tree of :mod:`.ast`, and exposes the cached :func:`parse` entry point.

Binding powers, loosest first (parentheses group anything)::

    OR  / ||       10   left-associative, n-ary
    AND / &&       20   left-associative, n-ary
    NOT (prefix)   30   applies to a comparison or a parenthesised group
    comparisons    40   ==  =  !=  >  >=  <  <=  IN  NOT IN  HAS  CONTAINS
                        (non-associative: ``a == b == c`` is an error)

An operand that is not part of a comparison (``true``, ``some_flag``) becomes
a :class:`~.ast.Truthy` condition.  Nesting of parentheses and ``NOT`` is
limited to :data:`MAX_DEPTH` levels so no input can exhaust the stack.
"""

from __future__ import annotations

import functools

from .ast import (
    And,
    Array,
    Boolean,
    CompareOp,
    Comparison,
    Condition,
    Expression,
    LiteralNode,
    Not,
    Number,
    Operand,
    Or,
    Path,
    String,
    Truthy,
)
from .lexer import ExpressionError, Token, TokenKind, format_error, tokenize

__all__ = ["MAX_DEPTH", "parse"]

MAX_DEPTH = 100
"""Maximum nesting of parentheses and ``NOT``."""

_OR_BP = 10
_AND_BP = 20
_NOT_BP = 30
_COMPARE_BP = 40

_OPERAND_TYPES = (String, Number, Boolean, Array, Path)


def _as_condition(node: Condition | Operand) -> Condition:
    """Wrap a bare operand so it can be used as a condition."""
    if isinstance(node, _OPERAND_TYPES):
        return Truthy(node)
    return node


class _Parser:
    """Single-use Pratt parser over one token list."""

    def __init__(self, text: str, tokens: list[Token]) -> None:
        self.text = text
        self.tokens = tokens
        self.index = 0

    # -- token helpers -------------------------------------------------
    def peek(self, offset: int = 0) -> Token:
        return self.tokens[min(self.index + offset, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        if token.kind is not TokenKind.EOF:
            self.index += 1
        return token

    def error(self, reason: str, position: int) -> ExpressionError:
        return ExpressionError(format_error(self.text, reason, position), position)

    def unexpected(self, token: Token) -> ExpressionError:
        return self.error(f"unexpected {token.describe()}", token.position)

    # -- grammar -------------------------------------------------------
    def parse(self) -> Condition:
        if self.peek().kind is TokenKind.EOF:
            raise self.error("expression is empty", 0)
        node = self.expression(0, 0)
        token = self.peek()
        if token.kind is not TokenKind.EOF:
            raise self.unexpected(token)
        return _as_condition(node)

    def expression(self, min_bp: int, depth: int) -> Condition | Operand:
        left = self.prefix(depth)
        while True:
            token = self.peek()
            kind = token.kind
            if kind is TokenKind.COMPARE or kind is TokenKind.NOT:
                if min_bp >= _COMPARE_BP:
                    break
                left = self.comparison(left, depth)
            elif kind is TokenKind.AND or kind is TokenKind.OR:
                bp = _AND_BP if kind is TokenKind.AND else _OR_BP
                if bp <= min_bp:
                    break
                operands = [_as_condition(left)]
                while self.peek().kind is kind:
                    self.advance()
                    operands.append(_as_condition(self.expression(bp, depth)))
                left = And(tuple(operands)) if kind is TokenKind.AND else Or(tuple(operands))
            else:
                break
        return left

    def comparison(self, left: Condition | Operand, depth: int) -> Comparison:
        token = self.advance()
        if token.kind is TokenKind.NOT:
            follower = self.peek()
            if not (follower.kind is TokenKind.COMPARE and follower.value is CompareOp.IN):
                raise self.error(
                    f"expected IN after NOT, found {follower.describe()}", follower.position
                )
            self.advance()
            op = CompareOp.NOT_IN
        else:
            assert isinstance(token.value, CompareOp)
            op = token.value
        if not isinstance(left, _OPERAND_TYPES):
            if isinstance(left, Comparison):
                raise self.error(f"comparisons cannot be chained ('{op}')", token.position)
            raise self.error(f"operator '{op}' needs a value on its left", token.position)
        right_token = self.peek()
        right = self.expression(_COMPARE_BP, depth)
        if not isinstance(right, _OPERAND_TYPES):
            raise self.error(f"expected a value after '{op}'", right_token.position)
        return Comparison(op, left, right)

    def prefix(self, depth: int) -> Condition | Operand:
        token = self.advance()
        kind = token.kind
        if kind is TokenKind.LPAREN or kind is TokenKind.NOT:
            if depth >= MAX_DEPTH:
                raise self.error(
                    f"expression is nested too deeply (maximum depth {MAX_DEPTH})", token.position
                )
            if kind is TokenKind.NOT:
                return Not(_as_condition(self.expression(_NOT_BP, depth + 1)))
            inner = self.expression(0, depth + 1)
            closing = self.peek()
            if closing.kind is not TokenKind.RPAREN:
                raise self.error(
                    f"unclosed '(' (opened at position {token.position}): "
                    f"expected ')', found {closing.describe()}",
                    closing.position,
                )
            self.advance()
            return inner
        if kind is TokenKind.PATH:
            assert isinstance(token.value, tuple)
            root, *rest = token.value
            assert isinstance(root, str)
            return Path(root, tuple(rest))
        if kind is TokenKind.LBRACKET:
            return self.array(token)
        literal = self.literal(token)
        if literal is None:
            raise self.unexpected(token)
        return literal

    @staticmethod
    def literal(token: Token) -> LiteralNode | None:
        value = token.value
        if token.kind is TokenKind.STRING and isinstance(value, str):
            return String(value)
        if token.kind is TokenKind.NUMBER and isinstance(value, int | float):
            return Number(value)
        if token.kind is TokenKind.BOOLEAN and isinstance(value, bool):
            return Boolean(value)
        return None

    def array(self, opening: Token) -> Array:
        items: list[LiteralNode] = []
        if self.peek().kind is TokenKind.RBRACKET:
            self.advance()
            return Array(())
        while True:
            token = self.advance()
            item = self.literal(token)
            if item is None:
                raise self.error(
                    f"expected a string, number or boolean in array, found {token.describe()}",
                    token.position,
                )
            items.append(item)
            separator = self.advance()
            if separator.kind is TokenKind.RBRACKET:
                return Array(tuple(items))
            if separator.kind is not TokenKind.COMMA:
                raise self.error(
                    f"expected ',' or ']' in array starting at position {opening.position}, "
                    f"found {separator.describe()}",
                    separator.position,
                )


@functools.lru_cache(maxsize=4096)
def parse(text: str) -> Expression:
    """Parse ``text`` into an :class:`~.ast.Expression`; raise :class:`ExpressionError`."""
    return Expression(_Parser(text, tokenize(text)).parse(), text)
