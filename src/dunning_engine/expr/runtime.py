"""Run-time operations on expression values, with null semantics.

Values: ``Decimal`` or ``int`` numbers, ``values.Money``, ``values.Percent``,
``values.Duration``, ``date``, aware ``datetime``, ``str``, ``bool``, ``None``,
lists/tuples and ``Mapping`` records. Arithmetic with null gives null; an
ordering comparison with null is false; null counts as false in ``and``,
``or`` and ``not``. A text (an attribute the schema does not know) meeting a
number, money or a date is converted when it parses. Any failure is an
:class:`EvalError`; nothing here uses ``getattr`` on user text.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Callable

from ..errors import DunningError, Location, render_diagnostic
from ..values import Duration, Money, Percent, parse_decimal

__all__ = [
    "EvalError",
    "kind",
    "truth",
    "equals",
    "compare",
    "contains",
    "add",
    "sub",
    "mul",
    "div",
    "neg",
    "member",
    "fn_min",
    "fn_max",
    "fn_abs",
    "fn_round",
    "fn_count",
    "fn_rate",
    "localize",
]


class EvalError(DunningError, RuntimeError):
    """An expression failed at run time (money of two currencies, a text that is not a number...).

    ``message``; ``expression`` (its text) and ``location`` once known; ``help``.
    """

    def __init__(self, message: str, *, expression: str | None = None, location: Location | None = None,
                 help: str | None = None) -> None:
        self.message = message
        self.expression = expression
        self.location = location
        self.help = help
        self.node: Any = None  # the innermost syntax node that failed, set by the compiled code
        super().__init__(message)

    def at(self, node: Any) -> "EvalError":
        """Remember the failing node unless an inner one is already known."""
        if self.node is None:
            self.node = node
        return self

    def __str__(self) -> str:
        text = render_diagnostic(self.message, self.location, self.help)
        if self.expression is not None and self.location is None:
            text += f"\n  in expression: {self.expression}"
        return text


def kind(v: Any) -> str:
    """The expression-language kind of a runtime value (for messages and dispatch)."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (Decimal, int)):
        return "number"
    if isinstance(v, Money):
        return "money"
    if isinstance(v, Percent):
        return "percent"
    if isinstance(v, Duration):
        return "duration"
    if isinstance(v, _dt.datetime):
        return "datetime"
    if isinstance(v, _dt.date):
        return "date"
    if isinstance(v, str):
        return "text"
    if isinstance(v, (list, tuple)):
        return "list"
    if isinstance(v, Mapping):
        return "record"
    return type(v).__name__


def _shown(v: Any) -> str:
    text = repr(v) if isinstance(v, str) else str(v)
    return text if len(text) <= 40 else text[:37] + "..."


def _from_text(text: str, like: Any) -> Any:
    """Convert a text to the kind of ``like`` (number, money, date, percent, bool) or fail."""
    k = kind(like)
    try:
        if k == "number":
            return parse_decimal(text)
        if k == "money":
            return Money(parse_decimal(text), like.currency)
        if k == "percent":
            return Percent(parse_decimal(text.strip().removesuffix("%")))
        if k == "date":
            return _dt.date.fromisoformat(text.strip())
        if k == "bool" and text.strip() in ("true", "false"):
            return text.strip() == "true"
    except ValueError:
        pass
    else:
        return text
    raise EvalError(f"{_shown(text)} is not a {k}")


def _coerce(a: Any, b: Any) -> tuple[Any, Any]:
    """Bring two operands to the same kind where the language allows it."""
    if isinstance(a, str) and not isinstance(b, str):
        a = _from_text(a, b)
    elif isinstance(b, str) and not isinstance(a, str):
        b = _from_text(b, a)
    ka, kb = kind(a), kind(b)
    if ka == "money" and kb == "number":
        b = Money(Decimal(b), a.currency)
    elif kb == "money" and ka == "number":
        a = Money(Decimal(a), b.currency)
    return a, b


def _number(v: Any) -> Any:
    if isinstance(v, str):
        return _from_text(v, Decimal(0))
    return v


def truth(v: Any) -> bool:
    """A value as a condition: null is false; a text 'true'/'false' is read; anything else fails."""
    if v is None:
        return False
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.strip() in ("true", "false"):
        return v.strip() == "true"
    raise EvalError(f"expected true or false, got {kind(v)} {_shown(v)}")


def _duration_key(d: Duration) -> tuple[str, int]:
    days = d.fixed_days
    return ("days", days) if days is not None else (d.unit, d.amount)


def equals(a: Any, b: Any) -> bool:
    """``a == b`` with null semantics (null equals only null)."""
    if a is None or b is None:
        return a is None and b is None
    a, b = _coerce(a, b)
    ka, kb = kind(a), kind(b)
    if ka != kb:
        return False
    if ka == "money":
        if a.currency != b.currency:
            raise EvalError(f"cannot mix {a.currency} and {b.currency}")
        return a.amount == b.amount
    if ka == "duration":
        return _duration_key(a) == _duration_key(b)
    if ka == "list":
        return len(a) == len(b) and all(equals(x, y) for x, y in zip(a, b))
    return bool(a == b)


def compare(op: str, a: Any, b: Any) -> bool:
    """A comparison; false when either side is null (except ``==``/``!=``)."""
    if op == "==":
        return equals(a, b)
    if op == "!=":
        return not equals(a, b)
    if a is None or b is None:
        return False
    a, b = _coerce(a, b)
    ka, kb = kind(a), kind(b)
    try:
        if ka != kb or ka not in ("number", "money", "percent", "date", "datetime", "duration", "text"):
            raise TypeError
        if ka == "money":
            if a.currency != b.currency:
                raise EvalError(f"cannot mix {a.currency} and {b.currency}")
            a, b = a.amount, b.amount
        elif ka == "percent":
            a, b = a.value, b.value
        elif ka == "duration":
            (ua, a), (ub, b) = _duration_key(a), _duration_key(b)
            if ua != ub:
                raise EvalError(f"cannot compare durations in {ua.replace('_', ' ')} and {ub.replace('_', ' ')}")
        if op == "<":
            return bool(a < b)
        if op == "<=":
            return bool(a <= b)
        if op == ">":
            return bool(a > b)
        return bool(a >= b)
    except TypeError:
        raise EvalError(f"cannot compare {ka} with {kb}") from None


def contains(a: Any, items: Any) -> bool:
    """``a in items``; false when either side is null."""
    if a is None or items is None:
        return False
    if not isinstance(items, (list, tuple)):
        raise EvalError(f"'in' needs a list, got {kind(items)}")
    return any(equals(a, x) for x in items)


def localize(value: _dt.datetime, tz: _dt.tzinfo | None) -> _dt.datetime:
    """A naive datetime read in ``tz`` (UTC when None); aware datetimes are returned as they are."""
    if value.tzinfo is not None:
        return value
    return value.replace(tzinfo=tz or _dt.timezone.utc)


def _shift(day: Any, d: Duration, calendar: Any) -> Any:
    if isinstance(day, _dt.datetime):
        new = d.add_to(day.date(), calendar)
        moved = day.replace(year=new.year, month=new.month, day=new.day)
        tz = moved.tzinfo
        return moved.astimezone(_dt.timezone.utc).astimezone(tz) if tz is not None else moved
    return d.add_to(day, calendar)


def _arith(name: str, fn: Callable[[Any, Any], Any]) -> Callable[..., Any]:
    def run(a: Any, b: Any, *rest: Any) -> Any:
        if a is None or b is None:
            return None
        try:
            return fn(a, b, *rest)
        except EvalError:
            raise
        except ZeroDivisionError as e:
            raise EvalError("division by zero") from e
        except OverflowError as e:
            raise EvalError("date out of range") from e
        except (ArithmeticError, ValueError, TypeError) as e:
            raise EvalError(str(e) or f"cannot {name}") from None
    run.__name__ = name
    return run


def _add(a: Any, b: Any, calendar: Any = None) -> Any:
    a, b = _coerce(a, b)
    ka, kb = kind(a), kind(b)
    if ka == kb and ka in ("number", "money", "duration"):
        return a + b
    if ka == kb == "percent":
        return Percent(a.value + b.value)
    if ka in ("date", "datetime") and kb == "duration":
        return _shift(a, b, calendar)
    if kb in ("date", "datetime") and ka == "duration":
        return _shift(b, a, calendar)
    raise EvalError(f"cannot add {kb} to {ka}")


def _sub(a: Any, b: Any, calendar: Any = None) -> Any:
    a, b = _coerce(a, b)
    ka, kb = kind(a), kind(b)
    if ka == kb and ka in ("number", "money", "duration"):
        return a - b
    if ka == kb == "percent":
        return Percent(a.value - b.value)
    if ka == kb == "date":
        return (a - b).days
    if ka in ("date", "datetime") and kb == "duration":
        return _shift(a, -b, calendar)
    raise EvalError(f"cannot subtract {kb} from {ka}")


def _mul(a: Any, b: Any) -> Any:
    a, b = _number(a), _number(b)
    ka, kb = kind(a), kind(b)
    pair = {ka, kb}
    if ka == kb == "number":
        return a * b
    if pair in ({"money", "number"}, {"money", "percent"}, {"percent", "number"}):
        return a * b
    if pair == {"duration", "number"}:
        d, k = (a, b) if ka == "duration" else (b, a)
        if k != int(k):
            raise EvalError(f"a duration can only be multiplied by a whole number, not {k}")
        return Duration(d.amount * int(k), d.unit)
    raise EvalError(f"cannot multiply {ka} by {kb}")


def _div(a: Any, b: Any) -> Any:
    a, b = _number(a), _number(b)
    ka, kb = kind(a), kind(b)
    if kb == "number" and b == 0:
        raise EvalError("division by zero")
    if ka == kb == "number":
        return Decimal(a) / Decimal(b)
    if ka == "money" and kb == "number":
        return Money(a.amount / Decimal(b), a.currency)
    if ka == kb == "money":
        if b.amount == 0:
            raise EvalError("division by zero")
        return a / b
    raise EvalError(f"cannot divide {ka} by {kb}")


add = _arith("add", _add)
sub = _arith("subtract", _sub)
mul = _arith("multiply", _mul)
div = _arith("divide", _div)


def neg(a: Any) -> Any:
    """``-a``; null stays null."""
    a = _number(a)
    k = kind(a)
    if k == "null":
        return None
    if k in ("number", "money", "duration"):
        return -a
    if k == "percent":
        return Percent(-a.value)
    raise EvalError(f"cannot negate {k}")


def member(obj: Any, name: str) -> Any:
    """``obj.name`` for a record (a Mapping; a missing field is null); null stays null."""
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return obj.get(name)
    raise EvalError(f"cannot read field '{name}' of {kind(obj)}")


def _extreme(values: list[Any], op: str) -> Any:
    if any(v is None for v in values):
        return None
    best = values[0]
    for v in values[1:]:
        a, b = _coerce(best, v)
        best = b if compare(op, b, a) else a  # the coerced value: 0 next to money is money
    return best


def fn_min(*values: Any) -> Any:
    """``min(a, b, ...)``; null when any argument is null."""
    return _extreme(list(values), "<")


def fn_max(*values: Any) -> Any:
    """``max(a, b, ...)``; null when any argument is null."""
    return _extreme(list(values), ">")


def fn_abs(x: Any) -> Any:
    """``abs(x)`` of a number or money."""
    x = _number(x)
    k = kind(x)
    if k == "null":
        return None
    if k in ("number", "money"):
        return abs(x)
    raise EvalError(f"abs() needs a number or money, not {k}")


def _round_decimal(d: Decimal, places: int) -> Decimal:
    if places >= 0:
        return d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    step = Decimal(10 ** -places)
    return (d / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step


def fn_round(x: Any, places: Any = None) -> Any:
    """``round(x)``/``round(x, n)``, half-up; ``round(money)`` rounds to the currency's minor unit."""
    x = _number(x)
    k = kind(x)
    if k == "null":
        return None
    if places is not None:
        places = _number(places)
        if kind(places) != "number" or places != int(places) or not -20 <= places <= 20:
            raise EvalError(f"the decimals of round() must be a whole number from -20 to 20, not {_shown(places)}")
        places = int(places)
    try:
        if k == "money":
            if places is None:
                return x.rounded()
            return Money(_round_decimal(x.amount, places), x.currency)
        if k == "number":
            return _round_decimal(Decimal(x), places or 0)
    except ArithmeticError:
        raise EvalError(f"cannot round {_shown(x)}") from None
    raise EvalError(f"round() needs a number or money, not {k}")


def fn_count(x: Any) -> int:
    """``count(list)``: the number of items (0 for null)."""
    if x is None:
        return 0
    if isinstance(x, (list, tuple)):
        return len(x)
    raise EvalError(f"count() needs a list, not {kind(x)}")


def fn_rate(ctx: Any, name: str) -> Any:
    """``rate("NAME")``: ``ctx.rate(name)``, the reference value in force."""
    reader = getattr(ctx, "rate", None)
    if reader is None or not callable(reader):
        raise EvalError(f"no reference rates are available for rate(\"{name}\")",
                        help="declare it in the policy's rates:")
    try:
        value = reader(name)
    except DunningError:
        raise
    except (LookupError, ValueError) as e:
        raise EvalError(f"no value for rate \"{name}\": {e}") from None
    if isinstance(value, str):
        value = _from_text(value, Decimal(0))
    if value is not None and kind(value) != "number":
        raise EvalError(f"rate \"{name}\" is not a number: {_shown(value)}")
    return value
