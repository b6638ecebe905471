"""Typed, path-aware access to untrusted JSON.

Every read of an input document goes through the checks below, so a wrong type anywhere becomes a
typed error naming the JSON path, never a ``KeyError``/``TypeError`` from deep inside the mapping.

Two ways to use them, one set of rules:

- the functions (``as_obj``, ``opt_str``, ``opt_count`` ...) take a value, the path of the object
  holding it (``where``, a tuple of parts) and its key there; the path is put together and rendered
  only when a check fails. The exchange reader uses these: it runs for every call a gateway makes,
  so it allocates nothing per field that passes.
- :class:`Node` wraps a value and its path for code that reads small documents (settings, filter
  rules) and prefers to pass one object around; its methods call the same functions.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

from .errors import InvalidInput, MappingError, json_path
from .jsondiff import json_kind

__all__ = [
    "MAX_COUNT",
    "MAX_NUMBER",
    "ErrorClass",
    "Node",
    "as_bool",
    "as_count",
    "as_list",
    "as_num",
    "as_obj",
    "as_str",
    "check_keys",
    "fail",
    "is_number",
    "opt_bool",
    "opt_count",
    "opt_num",
    "opt_str",
    "path_to",
    "type_name",
]

ErrorClass = Callable[[str, str], MappingError]
Parts = tuple[str | int, ...]
Key = str | int | None


# Datadog stores counts and nanosecond timestamps as 64-bit integers and other numbers as 64-bit
# floats: a value past these is refused where it is read, not sent to be rejected with its batch.
MAX_COUNT = 2**63 - 1
MAX_NUMBER = sys.float_info.max


def type_name(value: object) -> str:
    """JSON name of a Python value's type, for error messages (integers and floats are numbers)."""
    if isinstance(value, float) and not math.isfinite(value):  # only from Python: JSON has neither
        return "NaN" if math.isnan(value) else "an infinity"
    kind = json_kind(value)
    return "number" if kind in ("integer", "float") else kind


def is_number(value: object) -> bool:
    """True for JSON numbers (not booleans, not NaN or infinities)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and math.isfinite(value)


def fail(parts: Parts, message: str, error: ErrorClass = InvalidInput) -> NoReturn:
    """Raise ``error`` at the JSON path of ``parts``."""
    raise error(json_path(parts), message)


def path_to(where: Parts, key: Key) -> Parts:
    """The path parts of the member ``key`` of the value at ``where`` (``where`` itself if None)."""
    return where if key is None else (*where, key)


# -- checks: value + path parts → the value, or a typed error naming the path ----------------------


def as_obj(
    value: Any, where: Parts = (), key: Key = None, *, error: ErrorClass = InvalidInput
) -> dict[str, Any]:
    if not isinstance(value, dict):
        fail(path_to(where, key), f"must be an object, not {type_name(value)}", error)
    return value


def as_list(value: Any, where: Parts = (), key: Key = None, *, error: ErrorClass = InvalidInput) -> list[Any]:
    if not isinstance(value, list):
        fail(path_to(where, key), f"must be an array, not {type_name(value)}", error)
    return value


def as_str(value: Any, where: Parts = (), key: Key = None, *, error: ErrorClass = InvalidInput) -> str:
    if not isinstance(value, str):
        fail(path_to(where, key), f"must be a string, not {type_name(value)}", error)
    return value


def opt_str(
    value: Any, where: Parts = (), key: Key = None, *, error: ErrorClass = InvalidInput
) -> str | None:
    if value is None or type(value) is str:
        return value
    return as_str(value, where, key, error=error)


def as_num(
    value: Any, where: Parts = (), key: Key = None, *, error: ErrorClass = InvalidInput
) -> int | float:
    if not is_number(value):
        fail(path_to(where, key), f"must be a number, not {type_name(value)}", error)
    number: int | float = value
    if not -MAX_NUMBER <= number <= MAX_NUMBER:  # an integer past a double: 400 digits
        fail(path_to(where, key), "is out of range: Datadog reads numbers as 64-bit floats", error)
    return number


def opt_num(
    value: Any, where: Parts = (), key: Key = None, *, error: ErrorClass = InvalidInput
) -> int | float | None:
    kind = type(value)
    if value is None or (kind is float and math.isfinite(value)):  # the common cases
        return value  # type: ignore[no-any-return]
    return as_num(value, where, key, error=error)


def as_count(value: Any, where: Parts = (), key: Key = None, *, error: ErrorClass = InvalidInput) -> int:
    """A non-negative whole number (token counts); ``3.0`` is read as 3."""
    if type(value) is int and 0 <= value <= MAX_COUNT:  # the common case, checked first
        return value
    # an int skips as_num, whose float range would misname a count past 400 digits
    number = value if type(value) is int else as_num(value, where, key, error=error)
    if isinstance(number, float):
        if not number.is_integer():
            fail(path_to(where, key), f"must be a whole number, not {number}", error)
        number = int(number)
    if number < 0:
        fail(path_to(where, key), f"must not be negative, not {number}", error)
    if number > MAX_COUNT:
        fail(path_to(where, key), f"is out of range: at most {MAX_COUNT} (a 64-bit integer)", error)
    return number


def opt_count(
    value: Any, where: Parts = (), key: Key = None, *, error: ErrorClass = InvalidInput
) -> int | None:
    if value is None or (type(value) is int and 0 <= value <= MAX_COUNT):  # the common cases
        return value
    return as_count(value, where, key, error=error)


def as_bool(value: Any, where: Parts = (), key: Key = None, *, error: ErrorClass = InvalidInput) -> bool:
    if not isinstance(value, bool):
        fail(path_to(where, key), f"must be true or false, not {type_name(value)}", error)
    return value


def opt_bool(
    value: Any, where: Parts = (), key: Key = None, *, error: ErrorClass = InvalidInput
) -> bool | None:
    if value is None or value is True or value is False:
        return value
    return as_bool(value, where, key, error=error)


def check_keys(
    value: dict[str, Any], where: Parts, known: frozenset[str], *, error: ErrorClass = InvalidInput
) -> None:
    """Refuse a member ``known`` does not name, at its own path: for objects of a fixed format
    (the exchange envelope, a destination's ``config``), where an unknown key is a typo whose
    value would otherwise be lost without a word."""
    if not known.issuperset(value):
        unknown = next(key for key in value if key not in known)
        if not isinstance(unknown, str):  # only a Python caller can do this: JSON keys are strings
            fail(where, f"has a key that is not a string ({type(unknown).__name__})", error)
        fail((*where, unknown), f"is not a member of this object (known: {', '.join(sorted(known))})", error)


class Node:
    """A JSON value plus where it sits, and which error class to raise about it."""

    __slots__ = ("_error", "parts", "value")

    def __init__(self, value: Any, parts: Parts, error: ErrorClass) -> None:
        self.value = value
        self.parts = parts
        self._error = error

    @property
    def path(self) -> str:
        return json_path(self.parts)

    def fail(self, message: str) -> NoReturn:
        fail(self.parts, message, self._error)

    def child(self, key: str | int, value: Any) -> Node:
        return Node(value, (*self.parts, key), self._error)

    # -- containers --------------------------------------------------------------------------

    def obj(self) -> dict[str, Any]:
        return as_obj(self.value, self.parts, error=self._error)

    def get(self, key: str) -> Node:
        """The member ``key`` (value None when absent). Requires this node to be an object."""
        return Node(self.obj().get(key), (*self.parts, key), self._error)

    def only(self, known: frozenset[str]) -> None:
        """Refuse members other than ``known`` (see :func:`check_keys`). Requires an object."""
        check_keys(self.obj(), self.parts, known, error=self._error)

    def has(self, key: str) -> bool:
        return isinstance(self.value, dict) and self.value.get(key) is not None

    def items(self) -> Iterator[Node]:
        """The elements of an array."""
        parts, error = self.parts, self._error
        for i, v in enumerate(as_list(self.value, parts, error=error)):
            yield Node(v, (*parts, i), error)

    # -- scalars -----------------------------------------------------------------------------

    def str_(self) -> str:
        return as_str(self.value, self.parts, error=self._error)

    def opt_str(self) -> str | None:
        return opt_str(self.value, self.parts, error=self._error)

    def num(self) -> int | float:
        return as_num(self.value, self.parts, error=self._error)

    def opt_num(self) -> int | float | None:
        return opt_num(self.value, self.parts, error=self._error)

    def count(self) -> int:
        """A non-negative whole number; ``3.0`` is read as 3."""
        return as_count(self.value, self.parts, error=self._error)

    def opt_count(self) -> int | None:
        return opt_count(self.value, self.parts, error=self._error)

    def bool_(self) -> bool:
        return as_bool(self.value, self.parts, error=self._error)

    def opt_bool(self) -> bool | None:
        return opt_bool(self.value, self.parts, error=self._error)
