"""Per-span size limit (contract §7): cut the longest contents first, keep everything else.

Over ``settings.max_span_bytes`` (encoded, in the target format), the longest strings among message
contents, tool results, workflow values and tool-call arguments are cut to a common length, each
with a visible ``…[truncated N bytes]`` marker (N = UTF-8 bytes removed), until the span fits. Structure, ids,
tags and metrics are never touched; ``metadata.truncated`` is set to ``true``. If contents alone
cannot make it fit (huge custom metadata or tool definitions), tool definitions are dropped last.
"""

from __future__ import annotations

import json
import marshal
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .canonical import canonical_json
from .errors import InvalidInput

if TYPE_CHECKING:
    from .settings import Settings
    from .spans import Span

__all__ = ["fit_span", "truncate_text", "water_level"]

_MARKER = "…[truncated {} bytes]"
# ASCII-only JSON is at least as long as the UTF-8 bytes of the real encoding; built once, no cycle checks
_ASCII = json.JSONEncoder(check_circular=False)
_SLACK = 64 * 1024  # keys, wrapper and ids: spans whose fields are far below the limit are not encoded


def utf8_size(text: str) -> int:
    """UTF-8 bytes of ``text``. A lone surrogate (only a Python caller or a ``\\ud800`` escape makes
    one) counts as 3 bytes here; writing the payload refuses it later (``encode.dumps``)."""
    return len(text.encode("utf-8", "surrogatepass"))


def truncate_text(text: str, remove: int) -> str:
    """``text`` with about ``remove`` UTF-8 bytes cut from its end and the marker appended."""
    data = text.encode("utf-8", "surrogatepass")
    keep = max(0, len(data) - remove - utf8_size(_MARKER.format(remove)))
    while True:  # at most 3 steps back: the cut fell inside a character
        try:
            head = data[:keep].decode("utf-8", "surrogatepass")
            break
        except UnicodeDecodeError:
            keep -= 1
    removed = len(data) - keep
    return head + _MARKER.format(removed)


def _size(encoded: dict[str, Any]) -> int:
    return utf8_size(canonical_json(encoded))


def _size_bound(value: Any) -> int:
    """An upper bound of the UTF-8 size of ``value`` as compact JSON, measured in C without encoding.

    marshal format 2 writes every value in full (back-references came with format 3): a string as
    a 5-byte header plus its UTF-8 bytes, an int in at least 5 bytes, a float in 9, None/true/false
    in 1, a list or tuple as a 5-byte header plus its items, a dict as its keys and values between
    2 bytes. JSON takes at most 6 bytes per string byte (``\\u0001``) plus 2 quotes, 24 characters
    per float, 5 for ``false``, and 1 colon or comma per item: by induction over the value, its JSON
    is at most 6 x marshal size - 1 bytes. Values marshal cannot write (str or dict subclasses,
    very deep nesting) are measured as ASCII-only JSON, which is never shorter than UTF-8 JSON.
    """
    try:
        return 6 * len(marshal.dumps(value, 2))
    except ValueError:
        try:
            return len(_ASCII.encode(value))
        except RecursionError:
            raise InvalidInput("$", "holds a value nested too deeply to encode") from None


def _rough_size(span: Span) -> int:
    """An upper bound of the span's encoded size in either format: every field (model name and
    provider twice: the public format repeats them in metadata) plus an allowance for the keys,
    the wrapper and the EVP ``_dd`` ids."""
    return _size_bound((tuple(span), span.model_name, span.model_provider)) + _SLACK


_FLOOR = 64  # texts of at most this many UTF-8 bytes are never cut


# A slot is a place holding cuttable text: (getter, setter) over a mutable copy of the IO objects.
_Slot = tuple[Callable[[], str], Callable[[str], None]]


def _slots(io: dict[str, Any]) -> list[_Slot]:
    slots: list[_Slot] = []

    def slot(holder: dict[str, Any], key: str) -> None:
        if isinstance(holder.get(key), str):
            slots.append((lambda: holder[key], lambda text: holder.__setitem__(key, text)))

    slot(io, "value")
    for message in io.get("messages", ()):
        slot(message, "content")
        for result in message.get("tool_results", ()):
            slot(result, "result")
        for call in message.get("tool_calls", ()):
            text = json.dumps(call["arguments"], sort_keys=True, ensure_ascii=False)
            if utf8_size(text) > _FLOOR:  # bytes, as everywhere here (not characters)
                slots.append(_arguments_slot(call, text))
    return slots


def _arguments_slot(call: dict[str, Any], text: str) -> _Slot:
    """Arguments are cut as their JSON text; once cut they stay an object, ``{"value": <cut text>}``.
    Arguments that are never cut keep their structure."""
    cell = {"value": text}

    def cut(new_text: str) -> None:
        cell["value"] = new_text
        call["arguments"] = cell

    return (lambda: cell["value"], cut)


def _copy_io(io: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if io is None else json.loads(json.dumps(io))


_MIN_CUT = 256  # each round removes at least this much, so escaping and markers cannot stall it


def water_level(lengths: list[int], remove: int) -> int:
    """The highest level L such that cutting every length above L down to L removes at least
    ``remove`` (0 when even cutting everything to 0 is not enough): the longest texts are cut first,
    and as they reach the next longest, both are cut together."""
    removed = 0  # what cutting the longest texts to the current level removes
    ordered = sorted(lengths, reverse=True)
    for above, length in enumerate(ordered, start=1):  # `above` texts are at or above `length`
        nxt = ordered[above] if above < len(ordered) else 0
        # lowering the level from `length` to `nxt` removes `above` bytes per step
        if removed + above * (length - nxt) >= remove:
            return length - -(-(remove - removed) // above)  # ceil: remove at least `remove`
        removed += above * (length - nxt)
    return 0


def fit_span(span: Span, settings: Settings, encode: Callable[[Span, Settings], dict[str, Any]]) -> Span:
    """The span, cut to fit ``settings.max_span_bytes`` when encoded with ``encode``.

    Texts are cut to a common level (:func:`water_level`): the longest first, down to the next
    longest, then together, so no text is cut below one left whole or below another cut one. Each
    round lowers the level by at least the encoded excess; a cut text is always cut from its
    original, so its marker counts every byte removed."""
    limit = settings.max_span_bytes
    if _rough_size(span) <= limit:
        return span
    size = _size(encode(span, settings))
    if size <= limit:
        return span
    new_in, new_out = _copy_io(span.input), _copy_io(span.output)
    slots = [*(_slots(new_in) if new_in else []), *(_slots(new_out) if new_out else [])]
    originals = [get() for get, _ in slots]
    lengths = [utf8_size(text) for text in originals]
    level = max(lengths, default=0)
    candidate = span._replace(input=new_in, output=new_out, metadata={**span.metadata, "truncated": True})
    while True:
        size = _size(encode(candidate, settings))
        if size <= limit:
            return candidate
        if level <= _FLOOR:
            break
        level = max(_FLOOR, water_level([min(n, level) for n in lengths], max(size - limit, _MIN_CUT)))
        for (_, cut), text, length in zip(slots, originals, lengths, strict=True):
            if length > level:
                cut(truncate_text(text, length - level))
    if candidate.tool_definitions is not None:
        candidate = candidate._replace(tool_definitions=None)
        if _size(encode(candidate, settings)) <= limit:
            return candidate
    return candidate
