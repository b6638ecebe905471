"""Reassemble OpenRouter's SSE stream into the body of a non-streaming ``chat.completion``.

Rules (openrouter-broadcast.md §7, contract §1 and §4 "Streams are reassembled first"):

- Events are ``data: <json>`` lines (the space after ``data:`` is optional). Each data line is one
  chunk: OpenRouter never splits a chunk over several ``data:`` lines. Comment lines (``:`` first,
  e.g. ``: OPENROUTER PROCESSING``), blank lines and other SSE fields (``event:``, ``id:``,
  ``retry:``) are skipped. Lines end with LF, CRLF or CR; a leading byte-order mark is dropped.
- ``data: [DONE]`` ends the stream; anything after it is ignored.
- ``delta.content``, ``delta.reasoning`` and ``delta.refusal`` are joined per choice index; tool-call
  deltas are joined by ``tool_calls[].index`` (id, type and name from the first delta that has them,
  argument fragments concatenated; a delta with a different id under an index already used starts
  another call, as some providers send each parallel call whole under index 0). A legacy
  completions chunk's ``choices[].text`` (no ``delta``) is content. ``id``, ``model`` and
  ``provider`` come from the first chunk that has them; ``finish_reason``/``native_finish_reason``
  are the last non-null value per choice; ``usage`` comes from the chunk that carries it (the last
  one, should there be several), with or without choices.
- A chunk with ``error`` (mid-stream error, HTTP status stays 200) records the error object and ends
  the content: its own choices (``finish_reason: "error"``) still count, later content deltas do not.
  A later usage chunk or ``[DONE]`` is still read.
- ``missing`` lists what the stream lacked: ``"done_marker"`` without ``data: [DONE]`` (also after an
  error chunk: the marker was not sent), ``"usage"`` when no chunk carried usage.

Malformed input (a data line that is not JSON, a chunk that is not an object, a value of the wrong
type) raises :class:`~.errors.InvalidInput` at ``$.stream`` with a 1-based line number.

Speed: most chunks of a long stream differ from the one before only in their text (OpenRouter
repeats ``id``, ``provider``, ``model``, ``created`` in every chunk). After a text-only chunk has been
parsed and applied, its line is kept as a :class:`_TextTemplate`: the text before and after its one
text string. A later line made of the same before and after with one valid JSON string between them
*is* that chunk with another text, so only the string is decoded and appended; every other line is
parsed and applied in full. The result is identical either way (``tests/test_stream.py`` compares the
two paths). Learning costs one more parse of the line, so it stops after a few lines in a row are
parsed in full (tool-call deltas, or reasoning chunks that repeat their text in ``reasoning_details``,
never match a template) and tries again, with a clean slate, every hundred lines (the stream may have
moved on to plain content).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from json import decoder as _json_decoder
from typing import Any, NoReturn

from .canonical import STRICT_DECODER, DuplicateKey
from .errors import InvalidInput
from .jsonread import MAX_COUNT, is_number, type_name

__all__ = ["STREAM_PATH", "Reassembled", "reassemble"]

STREAM_PATH = "$.stream"
_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # SSE line endings; not str.splitlines (JSON may hold U+2028)
_DONE = "[DONE]"
_TOP_KEYS = ("id", "model", "provider")
_DELTA_KEYS = frozenset(("role", "content", "reasoning", "refusal", "tool_calls", "images"))
_TEXT_KEYS = ("content", "reasoning", "refusal")
# json's own string scanner (C), strict like json.loads: (JSON text, index after the opening quote)
# → (the string, index after the closing quote). typeshed does not declare it.
scanstring: Callable[[str, int], tuple[str, int]] = _json_decoder.scanstring  # type: ignore[attr-defined]
_MAX_TEMPLATES = 4  # e.g. one for reasoning chunks, one for content chunks
_LEARN_BUDGET = 4  # lines parsed in full in a row (learning tried) before learning stops; a match refills it
_RETRY_AFTER = 100  # lines parsed in full after learning stopped before one more try
# A value whose JSON literal holds an escape: outside a string token a backslash is not JSON, so a
# template whose cut is not exactly a string token fails the check in _TextTemplate.learn.
_PROBE = "\\probe\u2028"


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
    texts: dict[str, list[str]] = field(default_factory=dict)  # content / reasoning / refusal pieces
    images: list[Any] = field(default_factory=list)  # delta.images items, in order
    # keyed by (index, n): n counts the calls a provider sent under one reused index (see _add_tool_call)
    tool_calls: dict[tuple[int, int], _ToolCallParts] = field(default_factory=dict)
    finish_reason: str | None = None
    native_finish_reason: str | None = None
    error: dict[str, Any] | None = None


def _member(where: tuple[str | int, ...]) -> str:
    """``("choices", 0, "delta", "role")`` → ``choices[0].delta.role`` (built only for a message)."""
    return "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else p) for i, p in enumerate(where))


class _Line:
    """Type checks for the values of one data line; failures name the line and the member.

    The member is passed as path parts and rendered only when a check fails: the checks run for
    every chunk of every stream, the messages almost never."""

    __slots__ = ("number",)

    def __init__(self, number: int) -> None:
        self.number = number

    def fail(self, message: str) -> NoReturn:
        raise InvalidInput(STREAM_PATH, f"line {self.number}: {message}")

    def wrong(self, value: Any, expected: str, *where: str | int) -> NoReturn:
        self.fail(f"{_member(where)} must be {expected}, not {type_name(value)}")

    def opt_str(self, value: Any, *where: str | int) -> str | None:
        if value is not None and type(value) is not str:
            self.fail(f"{_member(where)} must be a string or null, not {type_name(value)}")
        return value

    def opt_obj(self, value: Any, *where: str | int) -> dict[str, Any] | None:
        if value is not None and type(value) is not dict:
            self.fail(f"{_member(where)} must be an object or null, not {type_name(value)}")
        return value

    def opt_list(self, value: Any, *where: str | int) -> list[Any] | None:
        if value is not None and type(value) is not list:
            self.fail(f"{_member(where)} must be an array or null, not {type_name(value)}")
        return value

    def opt_index(self, value: Any, *where: str | int) -> int | None:
        if value is None or (type(value) is int and 0 <= value <= MAX_COUNT):
            return value
        # a number is shown (1.5, -1); anything else by its type only: a string here could be content
        shown = type_name(value) if not is_number(value) else value if value <= MAX_COUNT else "too large"
        self.fail(f"{_member(where)} must be a non-negative integer, not {shown}")


_DECODER = STRICT_DECODER


def _parse_chunk(payload: str, line: _Line) -> dict[str, Any]:
    try:  # the common case, JSON with nothing around it: raw_decode skips decode()'s two regex scans
        chunk, end = _DECODER.raw_decode(payload)
    except (ValueError, RecursionError):
        end = -1
    if end != len(payload):  # whitespace around the JSON, or not JSON: decode() decides and explains
        try:
            chunk = _DECODER.decode(payload)
        except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
            if isinstance(exc, DuplicateKey):
                line.fail(f"data {exc.sentence}")
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
        # Hot path: this runs for every chunk. Type checks are inline; a message is built on failure only.
        top = self.top
        for key in _TOP_KEYS:  # first chunk that has them (§7)
            value = chunk.get(key)
            if value is not None:
                if type(value) is not str:
                    line.wrong(value, "a string or null", key)
                if key not in top:
                    top[key] = value
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
        if type(item) is not dict:
            line.fail(f"choices[{position}] must be an object, not {type_name(item)}")
        index = line.opt_index(item.get("index"), "choices", position, "index")
        parts = self.choices.get(position if index is None else index)
        if parts is None:
            parts = self.choices[position if index is None else index] = _ChoiceParts()
        delta = item.get("delta")
        if delta is not None:
            if type(delta) is not dict:
                line.wrong(delta, "an object or null", "choices", position, "delta")
            for key, value in delta.items():
                if value is None or key not in _DELTA_KEYS:
                    continue  # unknown delta members are ignored
                if key == "images":  # generated images: counted, never their data (exchange.py)
                    if type(value) is not list:
                        line.wrong(value, "an array or null", "choices", position, "delta", key)
                    parts.images.extend(value)
                    continue
                if key == "tool_calls":
                    if type(value) is not list:
                        line.wrong(value, "an array or null", "choices", position, "delta", key)
                    for call_position, call in enumerate(value):
                        where = ("choices", position, "delta", "tool_calls", call_position)
                        self._add_tool_call(parts, call, where, line)
                    continue
                if type(value) is not str:
                    line.wrong(value, "a string or null", "choices", position, "delta", key)
                if key == "role":
                    if value and parts.role is None:
                        parts.role = value
                else:  # content, reasoning, refusal: joined per choice
                    parts.texts.setdefault(key, []).append(value)
        elif item.get("text") is not None:  # a legacy completions chunk: choices[].text, no delta
            text = item["text"]
            if type(text) is not str:
                line.wrong(text, "a string or null", "choices", position, "text")
            parts.texts.setdefault("content", []).append(text)
        for key in ("finish_reason", "native_finish_reason"):  # last non-null wins
            reason = item.get(key)
            if reason is not None:
                if type(reason) is not str:
                    line.wrong(reason, "a string or null", "choices", position, key)
                setattr(parts, key, reason)
        choice_error = item.get("error")
        if choice_error is not None:
            parts.error = line.opt_obj(choice_error, "choices", position, "error")

    @staticmethod
    def _add_tool_call(parts: _ChoiceParts, call: Any, where: tuple[str | int, ...], line: _Line) -> None:
        if type(call) is not dict:
            line.fail(f"{_member(where)} must be an object, not {type_name(call)}")
        index = line.opt_index(call.get("index"), *where, "index")
        call_id = line.opt_str(call.get("id"), *where, "id")
        kind = line.opt_str(call.get("type"), *where, "type")
        function = line.opt_obj(call.get("function"), *where, "function") or {}
        name = line.opt_str(function.get("name"), *where, "function", "name")
        arguments = line.opt_str(function.get("arguments"), *where, "function", "arguments")
        calls = parts.tool_calls
        if index is None:
            # Without an index (non-conforming providers): a new id starts a new call, otherwise the
            # fragment continues the latest call.
            known = {slot.id: key for key, slot in calls.items() if slot.id is not None}
            if call_id is not None and call_id in known:
                key = known[call_id]
            elif call_id is not None or not calls:
                key = (max(calls, default=(-1, 0))[0] + 1, 0)
            else:
                key = max(calls)
        else:
            # The latest call under this index; a different id under it starts another call (some
            # providers send every parallel call complete, each under index 0).
            key = max((k for k in calls if k[0] == index), default=(index, 0))
            current = calls.get(key)
            if current is not None and call_id and current.id is not None and call_id != current.id:
                key = (index, key[1] + 1)
        slot = calls.setdefault(key, _ToolCallParts())
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
        "content": _joined(parts.texts.get("content")),
        "reasoning": _joined(parts.texts.get("reasoning")),
        "refusal": _joined(parts.texts.get("refusal")),
    }
    if parts.images:
        message["images"] = parts.images
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


def _same_chunk(prefix: str, suffix: str, expected: dict[str, Any]) -> bool:
    """Whether ``prefix`` + the JSON of ``_PROBE`` + ``suffix`` parses to ``expected``."""
    try:
        return bool(_DECODER.decode(prefix + json.dumps(_PROBE) + suffix) == expected)
    except (ValueError, RecursionError):
        return False


@dataclass(frozen=True, slots=True)
class _TextTemplate:
    """A text-only chunk's line with its text string cut out: ``prefix`` + ``"<text>"`` + ``suffix``.

    Applying a matching line appends its text to ``texts`` (the choice's list for that text key,
    which the template's own chunk created): its other members repeat the template's, and the
    assembler keeps the first id/model/provider and role, so applying them again changes nothing.
    """

    prefix: str
    suffix: str
    texts: list[str]

    def text_of(self, line: str) -> str | None:
        """The text of ``line`` if it is this template with another JSON string, else None."""
        prefix, suffix = self.prefix, self.suffix
        if not (line.startswith(prefix) and line.endswith(suffix)):
            return None
        start, stop = len(prefix), len(line) - len(suffix)
        if stop <= start or line[start] != '"':
            return None
        try:
            text, end = scanstring(line, start + 1)  # strict, like the chunk parser
        except ValueError:
            return None
        return text if end == stop else None

    @staticmethod
    def learn(line: str, payload: str, chunk: dict[str, Any], assembler: _Assembler) -> _TextTemplate | None:
        """A template from a line (``payload`` is its data after ``data:``) whose chunk, already
        applied, carries one text and nothing else that accumulates: one choice, no tool calls,
        finish reasons, error or usage. The template matches whole lines, ``data:`` included."""
        if chunk.get("error") is not None or chunk.get("usage") is not None or assembler.error is not None:
            return None
        choices = chunk.get("choices")
        if type(choices) is not list or len(choices) != 1 or type(choices[0]) is not dict:
            return None
        choice = choices[0]
        delta = choice.get("delta")
        if type(delta) is not dict or delta.get("tool_calls") is not None or delta.get("images") is not None:
            return None
        if any(choice.get(k) is not None for k in ("finish_reason", "native_finish_reason", "error")):
            return None
        texts = [k for k in _TEXT_KEYS if delta.get(k)]  # the others are null or "": no effect
        if len(texts) != 1:
            return None
        key = texts[0]
        index = choice.get("index")
        parts = assembler.choices.get(0 if index is None else index)
        if parts is None or key not in parts.texts:
            return None
        # Where the text's string sits: after `"<key>"`, optional whitespace, `:`. The cut is accepted
        # only if putting another string there parses to the same chunk with that text (checked).
        probed = {**chunk, "choices": [{**choice, "delta": {**delta, key: _PROBE}}]}
        needle = f'"{key}"'
        at = payload.find(needle)
        while at != -1:
            colon = len(payload) - len(payload[at + len(needle) :].lstrip())
            if payload.startswith(":", colon):
                start = len(payload) - len(payload[colon + 1 :].lstrip())
                if payload.startswith('"', start):
                    try:
                        value, end = scanstring(payload, start + 1)
                    except ValueError:
                        return None
                    prefix, suffix = payload[:start], payload[end:]
                    if payload.count(payload[start:end]) > 1:
                        return None  # the text is repeated (reasoning_details): no later line would match
                    if value == delta[key] and _same_chunk(prefix, suffix, probed):
                        head = line[: len(line) - len(payload)]  # "data:" and its optional space
                        return _TextTemplate(head + prefix, suffix, parts.texts[key])
            at = payload.find(needle, at + 1)
        return None


def reassemble(text: str, *, fast: bool = True) -> Reassembled:
    """Turn the raw SSE text of a streamed chat completion into a ``chat.completion`` body.

    ``fast=False`` parses every line in full (the reference the fast path is tested against).
    Raises :class:`~.errors.InvalidInput` (path ``$.stream``) for malformed data lines and for a
    stream without any data event.
    """
    if not isinstance(text, str):
        raise InvalidInput(STREAM_PATH, f"must be a string, not {type_name(text)}")
    assembler = _Assembler()
    seen_chunk = False
    done = False
    text = text.removeprefix("\ufeff")
    # str.split is several times faster than the regex; only a stream with CR needs the regex
    lines = _LINE_BREAK.split(text) if "\r" in text else text.split("\n")
    templates: list[_TextTemplate] = []
    budget = _LEARN_BUDGET if fast else 0
    idle = 0  # lines parsed in full since learning stopped
    for number, raw in enumerate(lines, start=1):
        if not raw:
            continue  # the blank line that ends each event
        for template in templates:  # the fast path (module docstring)
            piece = template.text_of(raw)
            if piece is not None:
                if assembler.error is None:  # content ends at a mid-stream error
                    template.texts.append(piece)
                budget = _LEARN_BUDGET
                break
        else:
            if not raw.startswith("data:"):
                continue  # blank line, ": comment", or another SSE field (event:, id:, retry:)
            payload = raw[5:]
            payload = payload[1:] if payload.startswith(" ") else payload
            if payload.strip() == _DONE:
                done = True
                break
            line = _Line(number)
            chunk = _parse_chunk(payload, line)
            assembler.add(chunk, line)
            if budget:
                budget -= 1
                learned = _TextTemplate.learn(raw, payload, chunk, assembler)
                if learned is not None:
                    templates = [learned, *templates][:_MAX_TEMPLATES]
                if not budget:  # the older ones never matched: only the newest keeps its chance
                    templates = templates[:1]
            elif fast:
                idle += 1
                if idle == _RETRY_AFTER:  # none of the templates matched since they were learnt
                    templates, budget, idle = [], 1, 0
            seen_chunk = True
    if not seen_chunk:
        raise InvalidInput(STREAM_PATH, "contains no data events")
    missing = []
    if not done:
        missing.append("done_marker")
    if assembler.usage is None:
        missing.append("usage")
    return Reassembled(body=assembler.body(), error=assembler.error, missing=tuple(missing))
