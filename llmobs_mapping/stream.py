"""Reassemble OpenRouter's SSE stream into the body of a non-streaming ``chat.completion``.

Rules (openrouter-broadcast.md §7, contract §1 and §4 "Streams are reassembled first"):

- Events are ``data: <json>`` lines (the space after ``data:`` is optional). Each data line is one
  chunk: OpenRouter never splits a chunk over several ``data:`` lines. Comment lines (``:`` first,
  e.g. ``: OPENROUTER PROCESSING``), blank lines and other SSE fields (``event:``, ``id:``,
  ``retry:``) are skipped. Lines end with LF, CRLF or CR; a leading byte-order mark is dropped.
- ``data: [DONE]`` ends the stream; anything after it is ignored.
- ``delta.content``, ``delta.reasoning`` and ``delta.refusal`` are joined per choice index; tool-call
  deltas are joined by ``tool_calls[].index`` (id, type and name from the first delta that has them,
  argument fragments concatenated). ``id``, ``model`` and ``provider`` come from the first chunk that
  has them; ``finish_reason``/``native_finish_reason`` are the last non-null value per choice; ``usage``
  comes from the chunk that carries it (the last one, should there be several), with or without
  choices.
- A chunk with ``error`` (mid-stream error, HTTP status stays 200) records the error object and ends
  the content: its own choices (``finish_reason: "error"``) still count, later content deltas do not.
  A later usage chunk or ``[DONE]`` is still read.
- ``missing`` lists what the stream lacked: ``"done_marker"`` without ``data: [DONE]`` (also after an
  error chunk: the marker was not sent), ``"usage"`` when no chunk carried usage.

Malformed input (a data line that is not JSON, a chunk that is not an object, a value of the wrong
type) raises :class:`~.errors.InvalidInput` at ``$.stream`` with a 1-based line number.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, NoReturn

from .errors import InvalidInput
from .jsonread import type_name

__all__ = ["STREAM_PATH", "Reassembled", "reassemble"]

STREAM_PATH = "$.stream"
_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # SSE line endings; not str.splitlines (JSON may hold U+2028)
_DONE = "[DONE]"


@dataclass(frozen=True, slots=True)
class Reassembled:
    """A reassembled stream.

    ``body`` is shaped like a non-streaming ``chat.completion`` body (keys never seen are left out);
    ``error`` is the ``{code, message, metadata}`` object of a mid-stream error chunk, else None;
    ``missing`` names what a cut stream lacked (``"done_marker"``, ``"usage"``).
    """

    body: dict[str, Any]
    error: dict[str, Any] | None
    missing: tuple[str, ...]


@dataclass(slots=True)
class _ToolCallParts:
    id: str | None = None
    type: str | None = None
    name: str | None = None
    arguments: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _ChoiceParts:
    role: str | None = None
    content: list[str] | None = None
    reasoning: list[str] | None = None
    refusal: list[str] | None = None
    tool_calls: dict[int, _ToolCallParts] = field(default_factory=dict)
    finish_reason: str | None = None
    native_finish_reason: str | None = None
    error: dict[str, Any] | None = None


class _Line:
    """Type checks for the values of one data line; failures name the line and the member."""

    def __init__(self, number: int) -> None:
        self.number = number

    def fail(self, message: str) -> NoReturn:
        raise InvalidInput(STREAM_PATH, f"line {self.number}: {message}")

    def opt_str(self, value: Any, where: str) -> str | None:
        if value is not None and not isinstance(value, str):
            self.fail(f"{where} must be a string or null, not {type_name(value)}")
        return value

    def opt_obj(self, value: Any, where: str) -> dict[str, Any] | None:
        if value is not None and not isinstance(value, dict):
            self.fail(f"{where} must be an object or null, not {type_name(value)}")
        return value

    def opt_list(self, value: Any, where: str) -> list[Any] | None:
        if value is not None and not isinstance(value, list):
            self.fail(f"{where} must be an array or null, not {type_name(value)}")
        return value

    def opt_index(self, value: Any, where: str) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self.fail(f"{where} must be a non-negative integer, not {json.dumps(value)[:40]}")
        return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parse_chunk(payload: str, line: _Line) -> dict[str, Any]:
    try:
        chunk = json.loads(payload, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        detail = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        line.fail(f"data is not JSON ({detail})")
    if not isinstance(chunk, dict):
        line.fail(f"chunk must be a JSON object, not {type_name(chunk)}")
    return chunk


class _Assembler:
    def __init__(self) -> None:
        self.top: dict[str, str] = {}
        self.choices: dict[int, _ChoiceParts] = {}
        self.usage: dict[str, Any] | None = None
        self.error: dict[str, Any] | None = None

    def add(self, chunk: dict[str, Any], line: _Line) -> None:
        for key in ("id", "model", "provider"):  # first chunk that has them (§7)
            value = line.opt_str(chunk.get(key), key)
            if value is not None and key not in self.top:
                self.top[key] = value
        error = line.opt_obj(chunk.get("error"), "error")
        choices = line.opt_list(chunk.get("choices"), "choices")
        usage = line.opt_obj(chunk.get("usage"), "usage")
        if choices is not None and self.error is None:  # content ends at a mid-stream error
            for position, item in enumerate(choices):
                self._add_choice(item, position, line)
        if usage is not None:  # final chunk, with empty choices or not (§7)
            self.usage = usage
        if error is not None and self.error is None:
            self.error = error

    def _add_choice(self, item: Any, position: int, line: _Line) -> None:
        where = f"choices[{position}]"
        if not isinstance(item, dict):
            line.fail(f"{where} must be an object, not {type_name(item)}")
        index = line.opt_index(item.get("index"), f"{where}.index")
        parts = self.choices.setdefault(position if index is None else index, _ChoiceParts())
        delta = line.opt_obj(item.get("delta"), f"{where}.delta") or {}
        role = line.opt_str(delta.get("role"), f"{where}.delta.role")
        if role and parts.role is None:
            parts.role = role
        for key in ("content", "reasoning", "refusal"):
            text = line.opt_str(delta.get(key), f"{where}.delta.{key}")
            if text is not None:
                pieces = getattr(parts, key)
                if pieces is None:
                    pieces = []
                    setattr(parts, key, pieces)
                pieces.append(text)
        calls = line.opt_list(delta.get("tool_calls"), f"{where}.delta.tool_calls")
        for call_position, call in enumerate(calls or ()):
            self._add_tool_call(parts, call, f"{where}.delta.tool_calls[{call_position}]", line)
        for key in ("finish_reason", "native_finish_reason"):  # last non-null wins
            reason = line.opt_str(item.get(key), f"{where}.{key}")
            if reason is not None:
                setattr(parts, key, reason)
        choice_error = line.opt_obj(item.get("error"), f"{where}.error")
        if choice_error is not None:
            parts.error = choice_error

    @staticmethod
    def _add_tool_call(parts: _ChoiceParts, call: Any, where: str, line: _Line) -> None:
        if not isinstance(call, dict):
            line.fail(f"{where} must be an object, not {type_name(call)}")
        index = line.opt_index(call.get("index"), f"{where}.index")
        call_id = line.opt_str(call.get("id"), f"{where}.id")
        kind = line.opt_str(call.get("type"), f"{where}.type")
        function = line.opt_obj(call.get("function"), f"{where}.function") or {}
        name = line.opt_str(function.get("name"), f"{where}.function.name")
        arguments = line.opt_str(function.get("arguments"), f"{where}.function.arguments")
        if index is None:
            # Without an index (non-conforming providers): a new id starts a new call, otherwise the
            # fragment continues the latest call.
            known = {slot.id: i for i, slot in parts.tool_calls.items() if slot.id is not None}
            if call_id is not None and call_id in known:
                index = known[call_id]
            elif call_id is not None or not parts.tool_calls:
                index = max(parts.tool_calls, default=-1) + 1
            else:
                index = max(parts.tool_calls)
        slot = parts.tool_calls.setdefault(index, _ToolCallParts())
        if call_id and slot.id is None:
            slot.id = call_id
        if kind and slot.type is None:
            slot.type = kind
        if name and slot.name is None:
            slot.name = name
        if arguments is not None:
            slot.arguments.append(arguments)

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = dict(self.top)
        body["choices"] = [_choice_body(index, self.choices[index]) for index in sorted(self.choices)]
        if self.usage is not None:
            body["usage"] = self.usage
        return body


def _joined(pieces: list[str] | None) -> str | None:
    return None if pieces is None else "".join(pieces)


def _choice_body(index: int, parts: _ChoiceParts) -> dict[str, Any]:
    message: dict[str, Any] = {
        "role": parts.role or "assistant",
        "content": _joined(parts.content),
        "reasoning": _joined(parts.reasoning),
        "refusal": _joined(parts.refusal),
    }
    if parts.tool_calls:
        message["tool_calls"] = [
            {
                "id": slot.id,
                "type": slot.type or "function",
                "function": {"name": slot.name, "arguments": "".join(slot.arguments)},
            }
            for _, slot in sorted(parts.tool_calls.items())
        ]
    choice: dict[str, Any] = {
        "index": index,
        "message": message,
        "finish_reason": parts.finish_reason,
        "native_finish_reason": parts.native_finish_reason,
    }
    if parts.error is not None:
        choice["error"] = parts.error
    return choice


def reassemble(text: str) -> Reassembled:
    """Turn the raw SSE text of a streamed chat completion into a ``chat.completion`` body.

    Raises :class:`~.errors.InvalidInput` (path ``$.stream``) for malformed data lines and for a
    stream without any data event.
    """
    if not isinstance(text, str):
        raise InvalidInput(STREAM_PATH, f"must be a string, not {type_name(text)}")
    assembler = _Assembler()
    seen_chunk = False
    done = False
    for number, raw in enumerate(_LINE_BREAK.split(text.removeprefix("\ufeff")), start=1):
        if not raw.startswith("data:"):
            continue  # blank line, ": comment", or another SSE field (event:, id:, retry:)
        payload = raw[5:]
        payload = payload[1:] if payload.startswith(" ") else payload
        if payload.strip() == _DONE:
            done = True
            break
        line = _Line(number)
        assembler.add(_parse_chunk(payload, line), line)
        seen_chunk = True
    if not seen_chunk:
        raise InvalidInput(STREAM_PATH, "contains no data events")
    missing = []
    if not done:
        missing.append("done_marker")
    if assembler.usage is None:
        missing.append("usage")
    return Reassembled(body=assembler.body(), error=assembler.error, missing=tuple(missing))
