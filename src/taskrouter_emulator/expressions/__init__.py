"""The TaskRouter expression language: parsing, evaluation and ``order_by``.

A pure, standard-library-only package.  Typical use::

    from taskrouter_emulator.expressions import matches, parse, evaluate

    matches("skills HAS 'support' AND level >= 3", {"worker": attrs}, bare="worker")

Modules: :mod:`.lexer` (tokens, :class:`ExpressionError`), :mod:`.ast` (node
types), :mod:`.parser` (Pratt parser, cached :func:`parse`), :mod:`.evaluator`
(semantics, :func:`time_variables`) and :mod:`.order_by`.
"""

from .ast import Expression, referenced_roots
from .evaluator import evaluate, matches, time_variables
from .lexer import ExpressionError
from .order_by import OrderClause, SortKey, parse_order_by, sort_key_for
from .parser import MAX_DEPTH, parse

__all__ = [
    "MAX_DEPTH",
    "Expression",
    "ExpressionError",
    "OrderClause",
    "SortKey",
    "evaluate",
    "matches",
    "parse",
    "parse_order_by",
    "referenced_roots",
    "sort_key_for",
    "time_variables",
]
