"""The expression language of dunning-engine (SPEC §2).

Guards, ``at:`` times, action parameters and the DSL share one grammar
(``grammar/expr.lark``). The pipeline is::

    parse(text) -> Node            syntax; PolicyError with a location on bad syntax
    check(node, schema) -> Type    static types; PolicyError on a type error
    compile_expression(text, schema, expect=BOOL) -> Expression
    Expression.evaluate(ctx)       run time; EvalError on failure

The evaluation context ``ctx`` supports ``ctx[name]`` (the value of a root
variable; records are Mappings read with ``.get``) and, optionally, the
attributes ``calendar`` (a ``values.BusinessCalendar``; None counts weekends
only), ``tz`` (a tzinfo for datetimes written without an offset; None is UTC)
and ``rate(name)`` (for ``rate("UF")``).

Importing this package is cheap: Lark is imported and the parser built on
the first ``parse``.
"""

from __future__ import annotations

from .ast import Node
from .check import check
from .compile import Expression, compile_expression
from .parser import parse
from .printer import unparse
from .runtime import EvalError
from .schema import Schema, policy_schema
from .types import (ANY, BOOL, DATE, DATETIME, DURATION, MONEY, NULL, NUMBER, PERCENT, TEXT, ListType,
                    MoneyType, RecordType, Type)

__all__ = [
    "parse",
    "unparse",
    "check",
    "compile_expression",
    "Expression",
    "EvalError",
    "Node",
    "Schema",
    "policy_schema",
    "Type",
    "MoneyType",
    "ListType",
    "RecordType",
    "NUMBER",
    "MONEY",
    "PERCENT",
    "DATE",
    "DATETIME",
    "DURATION",
    "TEXT",
    "BOOL",
    "NULL",
    "ANY",
]
