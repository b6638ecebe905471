"""How the trace view shows values: durations, costs, metrics, and any JSON value as text.

Lenient by design (the view shows payloads from any implementation): a value of the wrong type is
shown as its JSON text, a number too large to format (beyond 10**15, or a duration beyond 10**21 ns)
as its JSON text, and :func:`json_text` writes any JSON value, of any depth and any integer size.
"""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = [
    "as_text",
    "format_cost",
    "format_duration_ns",
    "format_metric",
    "grouped",
    "json_number",
    "json_text",
    "opt_text",
    "ordinary",
    "pretty_text",
    "whole_number",
]

_COST_METRICS = frozenset({"total_cost", "input_cost", "output_cost"})


# Numbers at or beyond these magnitudes are shown as their JSON text instead of being formatted: no
# real count, cost or duration is that large, and formatting them would overflow a float.
_HUGE = 10**15
_HUGE_NS = 10**21  # about 31,700 years
_DIGITS_PER_CHUNK = 1000
_CHUNK = 10**_DIGITS_PER_CHUNK


def _int_text(value: int) -> str:
    """The decimal digits of any int (``str()`` refuses more than ``sys.get_int_max_str_digits()``)."""
    try:
        return str(value)
    except ValueError:
        pass
    sign, rest = ("-" if value < 0 else ""), abs(value)
    chunks: list[str] = []
    while rest >= _CHUNK:
        rest, low = divmod(rest, _CHUNK)
        chunks.append(str(low).rjust(_DIGITS_PER_CHUNK, "0"))
    chunks.append(str(rest))
    return sign + "".join(reversed(chunks))


def _leaf_json(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return _int_text(value)
    return json.dumps(value, ensure_ascii=False)


def json_text(
    value: object,
    *,
    indent: int | None = None,
    separators: tuple[str, str] = (",", ":"),
    sort_keys: bool = False,
) -> str:
    """``json.dumps(value, ensure_ascii=False, ...)`` for any JSON value: nesting deeper than the
    recursion limit and ints beyond ``str()``'s digit limit are written by an iterative encoder
    (same text) instead of raising."""
    item_sep, key_sep = separators
    try:
        return json.dumps(
            value, ensure_ascii=False, indent=indent, sort_keys=sort_keys, separators=(item_sep, key_sep)
        )
    except RecursionError:
        pass
    except ValueError as exc:  # an int beyond the digit limit; a cycle (no JSON value) stays an error
        if str(exc).startswith("Circular reference"):
            raise
    out: list[str] = []
    # Work items, popped from the end: ("text", str) to write, ("value", value, level) to encode.
    stack: list[tuple[str, Any, int]] = [("value", value, 0)]
    while stack:
        what, item, level = stack.pop()
        if what == "text":
            out.append(item)
            continue
        if isinstance(item, dict):
            entries: list[tuple[str, Any]] = sorted(item.items()) if sort_keys else list(item.items())
            opening, closing = "{", "}"
        elif isinstance(item, list | tuple):
            entries = [("", element) for element in item]
            opening, closing = "[", "]"
        else:
            out.append(_leaf_json(item))
            continue
        if not entries:
            out.append(opening + closing)
            continue
        inner = "" if indent is None else "\n" + " " * (indent * (level + 1))
        outer = "" if indent is None else "\n" + " " * (indent * level)
        work: list[tuple[str, Any, int]] = []
        for k, (key, element) in enumerate(entries):
            lead = (opening if k == 0 else item_sep) + inner
            if opening == "{":
                lead += json.dumps(key, ensure_ascii=False) + key_sep
            work += [("text", lead, 0), ("value", element, level + 1)]
        work.append(("text", outer + closing, 0))
        stack.extend(reversed(work))
    return "".join(out)


def as_text(value: object) -> str:
    """Display text of any JSON value: strings as they are, everything else as compact JSON."""
    if isinstance(value, str):
        return value
    return json_text(value)


def opt_text(value: object) -> str | None:
    return None if value is None else as_text(value)


def pretty_text(value: object) -> str:
    if isinstance(value, str):
        return value
    return json_text(value, indent=2, separators=(",", ": "))


def json_number(value: object) -> int | float | None:
    """``value`` when it is a JSON number (not a boolean), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def ordinary(value: int | float, bound: int = _HUGE) -> bool:
    """Whether a number is small enough to format (and to convert to a float)."""
    if isinstance(value, float) and not math.isfinite(value):
        return False
    return abs(value) < bound


def whole_number(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


def grouped(value: int) -> str:
    """An int with thousands separators, or its JSON text when it is huge."""
    return f"{value:,}" if ordinary(value) else _int_text(value)


def _trimmed(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("0", "-0") and value != 0:
        text = f"{value:.3g}"
    return text


def format_duration_ns(ns: int) -> str:
    """A duration for people: ``850 ns``, ``12.5 µs``, ``340 ms``, ``1.24 s``, ``2 min 5.5 s``;
    beyond 10**21 ns (about 31,700 years) the plain number: ``1000000000000000000000 ns``."""
    if not ordinary(ns, _HUGE_NS):
        return f"{_int_text(ns)} ns"
    sign = "-" if ns < 0 else ""
    ns = abs(ns)
    if ns < 1_000:
        return f"{sign}{ns} ns"
    if ns < 1_000_000:
        return f"{sign}{_trimmed(ns / 1_000, 1)} µs"
    if ns < 1_000_000_000:
        return f"{sign}{_trimmed(ns / 1_000_000, 1)} ms"
    if ns < 60_000_000_000:
        return f"{sign}{_trimmed(ns / 1_000_000_000, 2)} s"
    minutes, rest = divmod(ns, 60_000_000_000)
    return f"{sign}{minutes} min {_trimmed(rest / 1_000_000_000, 1)} s"


def _money(value: float, min_decimals: int) -> str:
    """4 significant digits (at least 2 decimals), trailing zeros cut to ``min_decimals``."""
    if value == 0:  # -0.0 too
        return f"{0:.{min_decimals}f}"
    decimals = min(max(2, 3 - math.floor(math.log10(abs(value)))), 12)
    whole, _, frac = f"{value:.{decimals}f}".partition(".")
    frac = frac.rstrip("0").ljust(min_decimals, "0")
    return f"{whole}.{frac}" if frac else whole


def format_cost(usd: float) -> str:
    """A USD cost in dollars and cents: ``$0.02 (2¢)``, ``$0.0001725 (0.01725¢)``; a cost of
    10**15 dollars or more (or not finite) is shown as its JSON text, e.g. ``1e+308``."""
    if not ordinary(usd):
        return _leaf_json(usd)
    usd = float(usd)
    return f"${_money(usd, 2)} ({_money(usd * 100, 0)}¢)"


def format_metric(key: str, value: object) -> str:
    number = json_number(value)
    if number is None:
        return as_text(value)
    if key in _COST_METRICS:
        return format_cost(number)
    if key == "time_to_first_token":  # seconds (contract §4)
        if not ordinary(number, _HUGE_NS // 1_000_000_000):
            return f"{_leaf_json(number)} s"
        return format_duration_ns(round(number * 1_000_000_000))
    if not ordinary(number):
        return _leaf_json(number)
    whole = whole_number(number)
    if whole is not None:
        return f"{whole:,}"
    return _trimmed(number, 6)
