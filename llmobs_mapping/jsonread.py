"""Typed, path-aware access to untrusted JSON.

Every read of an input document goes through :class:`Node`, so a wrong type anywhere becomes a
typed error naming the JSON path, never a ``KeyError``/``TypeError`` from deep inside the mapping.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

from .errors import MappingError, json_path
from .jsondiff import json_kind

__all__ = ["Node", "type_name"]


def type_name(value: object) -> str:
    """JSON name of a Python value's type, for error messages (integers and floats are numbers)."""
    kind = json_kind(value)
    return "number" if kind in ("integer", "float") else kind


def is_number(value: object) -> bool:
    """True for JSON numbers (not booleans, not NaN or infinities)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and math.isfinite(value)


class Node:
    """A JSON value plus where it sits, and which error class to raise about it."""

    __slots__ = ("_error", "parts", "value")

    def __init__(
        self, value: Any, parts: tuple[str | int, ...], error: Callable[[str, str], MappingError]
    ) -> None:
        self.value = value
        self.parts = parts
        self._error = error

    @property
    def path(self) -> str:
        return json_path(self.parts)

    def fail(self, message: str) -> NoReturn:
        raise self._error(self.path, message)

    def child(self, key: str | int, value: Any) -> Node:
        return Node(value, (*self.parts, key), self._error)

    # -- containers --------------------------------------------------------------------------

    def obj(self) -> dict[str, Any]:
        if not isinstance(self.value, dict):
            self.fail(f"must be an object, not {type_name(self.value)}")
        return self.value

    def get(self, key: str) -> Node:
        """The member ``key`` (value None when absent). Requires this node to be an object."""
        value = self.value  # inlined obj() and child(): the hottest call of read_exchange
        if type(value) is not dict:
            self.obj()
        return Node(value.get(key), (*self.parts, key), self._error)

    def has(self, key: str) -> bool:
        return isinstance(self.value, dict) and self.value.get(key) is not None

    def items(self) -> Iterator[Node]:
        """The elements of an array."""
        if not isinstance(self.value, list):
            self.fail(f"must be an array, not {type_name(self.value)}")
        parts, error = self.parts, self._error
        for i, v in enumerate(self.value):
            yield Node(v, (*parts, i), error)

    # -- scalars -----------------------------------------------------------------------------

    def str_(self) -> str:
        if not isinstance(self.value, str):
            self.fail(f"must be a string, not {type_name(self.value)}")
        return self.value

    def opt_str(self) -> str | None:
        value = self.value
        if value is None or type(value) is str:
            return value
        return self.str_()

    def num(self) -> int | float:
        if not is_number(self.value):
            self.fail(f"must be a number, not {type_name(self.value)}")
        value: int | float = self.value
        return value

    def opt_num(self) -> int | float | None:
        return None if self.value is None else self.num()

    def count(self) -> int:
        """A non-negative whole number (token counts); ``3.0`` is read as 3."""
        value = self.num()
        if isinstance(value, float):
            if not value.is_integer():
                self.fail(f"must be a whole number, not {value}")
            value = int(value)
        if value < 0:
            self.fail(f"must not be negative, not {value}")
        return value

    def opt_count(self) -> int | None:
        return None if self.value is None else self.count()

    def bool_(self) -> bool:
        if not isinstance(self.value, bool):
            self.fail(f"must be true or false, not {type_name(self.value)}")
        return self.value

    def opt_bool(self) -> bool | None:
        return None if self.value is None else self.bool_()
