"""Property tests (issue 4): the mapping rules hold for every input, not only for the golden cases.

Inputs come from ``tests/strategies.py``. Profiles live in ``conftest.py``: ``ci`` (default,
derandomized) and ``thorough`` (``HYPOTHESIS_PROFILE=thorough``). Each test's docstring states its
invariant. The oracles below read the exchange document directly; they never ask the library what
the input meant.
"""

from __future__ import annotations

import copy
import json
import math
import os
import random
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st
from strategies import (
    API_KEY,
    RESERVED_TRACE_KEYS,
    corrupted,
    delete_at,
    destinations,
    exchanges,
    json_values,
    positions,
    set_at,
    shuffled,
)

import llmobs_mapping
from llmobs_mapping import (
    InvalidInput,
    InvalidSettings,
    MappingError,
    NotTraceable,
    Settings,
    build_payload,
    dumps,
)
from llmobs_mapping.exchange import RESERVED_TRACE_KEYS as LIBRARY_RESERVED_KEYS
from llmobs_mapping.schemas import validate

Json = Any
FORMATS = ("public", "evp")
BIG_LIMIT = 5_000_000  # the most max_span_bytes allows: nothing the strategies make gets cut


def _payload(doc: Json, destination: Json, fmt: str, **overrides: Any) -> Json:
    settings = Settings.from_destination({**destination, **overrides})
    return build_payload(doc, settings, fmt)  # type: ignore[arg-type]


def _spans(payload: Json) -> list[dict[str, Json]]:
    """The span objects of a payload of either format."""
    if isinstance(payload, list):
        return [envelope["spans"][0] for envelope in payload]
    spans: list[dict[str, Json]] = payload["data"]["attributes"]["spans"]
    return spans


def _walk(value: Json, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], Json]]:
    """Every (path, value) in a JSON value, keys reported as (path + (key,), key-as-str) too."""
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*path, key, "<key>"), key
            yield from _walk(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, (*path, index))


def _strings(value: Json) -> Iterator[str]:
    for _, item in _walk(value):
        if isinstance(item, str):
            yield item


def _windows(text: str, size: int = 4) -> set[str]:
    return {text[i : i + size] for i in range(len(text) - size + 1)}


def _compact(value: Json) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


# -- reading the exchange document (the oracles) ------------------------------------------------


def _sse_chunks(text: str) -> list[dict[str, Json]]:
    """The JSON chunks of an SSE text up to ``[DONE]`` (our strategies write well-formed streams)."""
    chunks = []
    for line in re.split(r"\r\n|\r|\n", text):
        if not line.startswith("data: "):
            continue
        if line == "data: [DONE]":
            break
        chunks.append(json.loads(line[len("data: ") :]))
    return chunks


def _argument_strings(arguments: Json) -> list[str]:
    """Tool-call arguments as content strings: the text, and the leaves and keys of what it parses to."""
    out: list[str] = []
    if isinstance(arguments, str):
        out.append(arguments)
        try:
            arguments = json.loads(arguments)
        except ValueError:
            return out
    if isinstance(arguments, dict | list):
        out.extend(_strings(arguments))
    return out


def _error_strings(error: Json) -> list[str]:
    if not isinstance(error, dict):
        return [error] if isinstance(error, str) else []
    out = [error["message"]] if isinstance(error.get("message"), str) else []
    metadata = error.get("metadata")
    if isinstance(metadata, dict) and isinstance(metadata.get("flagged_input"), str):
        out.append(metadata["flagged_input"])
    return out


def _message_strings(message: Json) -> list[str]:
    out: list[str] = []
    for key in ("content", "reasoning", "refusal"):
        value = message.get(key)
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, list):
            out.extend(p["text"] for p in value if isinstance(p, dict) and isinstance(p.get("text"), str))
    for call in message.get("tool_calls") or ():
        out.extend(_argument_strings(call["function"]["arguments"]))
    return out


def _content_strings(doc: Json) -> list[str]:
    """Every piece of content in the exchange: message contents, tool arguments, tool results,
    reasoning, output text, refusals and error texts (contract §6)."""
    out: list[str] = []
    for message in doc["request"]["messages"]:
        out.extend(_message_strings(message))
    if "response" in doc:
        response = doc["response"]
        out.extend(_error_strings(response.get("error")))
        for choice in response.get("choices") or ():
            out.extend(_message_strings(choice["message"]))
            out.extend(_error_strings(choice.get("error")))
    if "stream" in doc:
        joined: dict[tuple[Json, ...], str] = {}
        for chunk in _sse_chunks(doc["stream"]):
            out.extend(_error_strings(chunk.get("error")))
            for choice in chunk.get("choices") or ():
                delta = choice.get("delta") or {}
                for key in ("content", "reasoning", "refusal"):
                    if isinstance(delta.get(key), str):
                        joined[(choice["index"], key)] = joined.get((choice["index"], key), "") + delta[key]
                for call in delta.get("tool_calls") or ():
                    piece = call.get("function", {}).get("arguments") or ""
                    where = (choice["index"], "call", call["index"])
                    joined[where] = joined.get(where, "") + piece
        for where, text in joined.items():
            out.extend(_argument_strings(text) if where[1] == "call" else [text])
    if "error" in doc:
        body = doc["error"]["body"]
        out.extend(_error_strings(body.get("error") if isinstance(body, dict) else body))
    return out


def _without_content(doc: Json) -> Json:
    """The exchange with every content field removed: what privacy mode may still show."""
    doc = copy.deepcopy(doc)
    doc["request"].pop("messages")
    doc["request"].pop("tools", None)

    def strip_error(error: Json) -> None:
        if isinstance(error, dict):
            error.pop("message", None)
            if isinstance(error.get("metadata"), dict):
                error["metadata"].pop("flagged_input", None)

    if "response" in doc:
        strip_error(doc["response"].get("error"))
        for choice in doc["response"].get("choices") or ():
            choice.pop("message")
            strip_error(choice.get("error"))
    if "stream" in doc:
        chunks = _sse_chunks(doc["stream"])
        for chunk in chunks:
            strip_error(chunk.get("error"))
            for choice in chunk.get("choices") or ():
                choice.pop("delta", None)
        doc["stream"] = chunks
    if "error" in doc:
        body = doc["error"]["body"]
        if isinstance(body, dict):
            strip_error(body.get("error"))
        else:
            doc["error"]["body"] = None
    return doc


def _usage(doc: Json) -> dict[str, Json] | None:
    """The usage object the exchange reported (a stream: the last chunk that carries one)."""
    if "response" in doc:
        usage = doc["response"].get("usage")
        return usage if isinstance(usage, dict) else None
    if "stream" in doc:
        found = [c["usage"] for c in _sse_chunks(doc["stream"]) if isinstance(c.get("usage"), dict)]
        return found[-1] if found else None
    return None


def _generation_id(doc: Json) -> str:
    headers = {k.lower(): v for k, v in (doc.get("headers") or {}).items()}
    if "response" in doc:
        found = doc["response"].get("id")
    elif "stream" in doc:
        found = next((c["id"] for c in _sse_chunks(doc["stream"]) if c.get("id")), None)
    else:
        body = doc["error"]["body"]
        found = body.get("id") if isinstance(body, dict) else None
    gen: str = found or headers["x-generation-id"]
    return gen


def _session_id(doc: Json) -> str | None:
    """Body ``session_id`` beats the ``x-session-id`` header (contract §5)."""
    body = doc["request"].get("session_id")
    if body:
        return str(body)
    headers = [v for k, v in (doc.get("headers") or {}).items() if k.lower() == "x-session-id"]
    return headers[0] if headers and headers[0] else None


_RFC3339 = re.compile(r"^(.{19})(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$")


def _nanos(value: Json) -> int:
    if isinstance(value, int):
        return value
    match = _RFC3339.match(value)
    assert match is not None
    whole, fraction, offset = match.groups()
    seconds = datetime.fromisoformat(whole + ("+00:00" if offset == "Z" else offset)).timestamp()
    return int(seconds) * 1_000_000_000 + int((fraction or "0").ljust(9, "0"))


# -- format conversion --------------------------------------------------------------------------


def _evp_to_public(evp: Json) -> Json:
    """Rebuild the public payload from an EVP one: only the envelope and the format's spelling
    differ (docs/spec.md §1.2), so nothing but those may be lost."""
    spans = []
    tags: list[str] = []
    ml_app = ""
    session: str | None = None
    for envelope in evp:
        assert sorted(envelope) == ["_dd.stage", "_dd.tracer_version", "event_type", "spans"]
        assert (envelope["_dd.stage"], envelope["event_type"], len(envelope["spans"])) == ("raw", "span", 1)
        span = copy.deepcopy(envelope["spans"][0])
        dd = span.pop("_dd")
        assert dd["span_id"] == span["span_id"]
        assert dd["trace_id"] == dd["apm_trace_id"]
        span_tags = span.pop("tags")
        ml_app = next(t for t in span_tags if t.startswith("ml_app:"))[len("ml_app:") :]
        tags = [t for t in span_tags if not t.startswith("ml_app:")]
        session = span.get("session_id")
        meta = span["meta"]
        meta["kind"] = meta.pop("span")["kind"]
        metadata = {k: _compact(v) if isinstance(v, dict | list) else v for k, v in meta["metadata"].items()}
        for key in ("model_name", "model_provider"):
            if key in meta:
                metadata[key] = meta[key]
        meta["metadata"] = metadata
        spans.append(span)
    attributes: dict[str, Json] = {"ml_app": ml_app, "tags": tags, "spans": spans}
    if session is not None:
        attributes["session_id"] = session
    return {"data": {"type": "span", "attributes": attributes}}


# -- counterexamples found by these properties, pinned so that every run checks them ------------

# An HTTP error with an empty body (schema-valid) was rejected as InvalidInput.
EMPTY_BODY_ERROR: Json = {
    "request": {"messages": [{"role": "user", "content": "Hi"}], "model": "openai/gpt-4o"},
    "error": {"status": 502, "body": ""},
    "timing": {"start": 1_700_000_000_000_000_000, "end": 1_700_000_001_000_000_000},
    "headers": {"x-generation-id": "gen-1700000000-empty"},
}
# ml_app "a:" was kept as "a:", so the EVP tag "ml_app:a:" ended with ':' (Datadog tag grammar).
TRAILING_COLON_APP: Json = {"type": "datadog", "config": {"apiKey": API_KEY, "mlApp": "a:"}}
PLAIN_DESTINATION: Json = {"type": "datadog", "config": {"apiKey": API_KEY, "mlApp": "production-app"}}


# -- 1. schema ----------------------------------------------------------------------------------


@given(doc=exchanges(), destination=destinations())
@example(doc=EMPTY_BODY_ERROR, destination=TRAILING_COLON_APP)
def test_every_payload_validates_in_both_formats(doc: Json, destination: Json) -> None:
    """Every payload validates against the output schema of its format (public and EVP); neither
    carries the API key nor any media bytes (contract §1, §4, §7)."""
    public = _payload(doc, destination, "public")
    evp = _payload(doc, destination, "evp")
    validate(public, "public-payload")
    validate(evp, "evp-payload")
    for payload in (public, evp):
        text = dumps(payload).decode()
        assert API_KEY not in text
        for media in re.findall(
            r"base64,([A-Za-z0-9+/=]{16,})|\"data\": \"([A-Za-z0-9+/=]{16,})", json.dumps(doc)
        ):
            assert not any(m and m in text for m in media)


# -- 2. determinism -----------------------------------------------------------------------------

_WORKER = """
import json, sys
from llmobs_mapping import MappingError, Settings, build_payload, dumps
for line in sys.stdin:
    job = json.loads(line)
    try:
        settings = Settings.from_destination(job["destination"])
        result = {"ok": dumps(build_payload(job["exchange"], settings, job["format"])).decode()}
    except MappingError as exc:
        result = {"error": exc.to_dict()}
    print(json.dumps(result), flush=True)
"""


class _OtherProcess:
    """A second interpreter with a different hash seed (so set order and ``hash()`` differ) that maps
    whatever it is sent, for comparing bytes across processes."""

    def __init__(self) -> None:
        seed = "1" if os.environ.get("PYTHONHASHSEED") != "1" else "2"
        root = str(Path(llmobs_mapping.__file__).resolve().parent.parent)
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": root}
        self.process = subprocess.Popen(
            [sys.executable, "-c", _WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True
        )

    def map(self, doc: Json, destination: Json, fmt: str) -> bytes:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(
            json.dumps({"exchange": doc, "destination": destination, "format": fmt}) + "\n"
        )
        self.process.stdin.flush()
        result = json.loads(self.process.stdout.readline())
        assert "ok" in result, result
        return str(result["ok"]).encode()

    def close(self) -> None:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.close()
        self.process.wait(timeout=10)
        self.process.stdout.close()


@pytest.fixture(scope="module")
def other_process() -> Iterator[_OtherProcess]:
    worker = _OtherProcess()
    yield worker
    worker.close()


@given(doc=exchanges(), destination=destinations(), fmt=st.sampled_from(FORMATS), rng=st.randoms())
def test_same_input_gives_the_same_bytes(
    doc: Json, destination: Json, fmt: str, rng: random.Random, other_process: _OtherProcess
) -> None:
    """Determinism (contract §3: no clock, no randomness): the same exchange and settings give
    byte-identical output on every call, with the input's object keys in any order, and in another
    process with a different hash seed."""
    first = dumps(_payload(doc, destination, fmt))
    assert dumps(_payload(copy.deepcopy(doc), copy.deepcopy(destination), fmt)) == first
    assert dumps(_payload(shuffled(doc, rng), shuffled(destination, rng), fmt)) == first
    assert other_process.map(doc, destination, fmt) == first


@given(doc=exchanges(), destination=destinations(), fmt=st.sampled_from(FORMATS))
def test_inputs_are_not_mutated(doc: Json, destination: Json, fmt: str) -> None:
    """Mapping never changes its inputs: the exchange and settings documents are equal, key order
    included, after mapping (normal and privacy mode, with truncation)."""
    before = (json.dumps(doc), json.dumps(destination))
    _payload(doc, destination, fmt)
    _payload(doc, destination, fmt, privacy_mode=True, max_span_bytes=2048)
    assert (json.dumps(doc), json.dumps(destination)) == before


# -- 3. robustness ------------------------------------------------------------------------------


def _outcome(doc: Json, destination: Json, fmt: Json) -> MappingError | None:
    """Map; return the library's error, or None once the payload has passed its schema. Any other
    exception propagates and fails the test."""
    try:
        settings = Settings.from_destination(destination)
        payload = build_payload(doc, settings, fmt)
    except MappingError as exc:
        return exc
    validate(payload, "public-payload" if fmt == "public" else "evp-payload")
    return None


def _check_typed(error: MappingError | None, allowed: tuple[type[MappingError], ...]) -> None:
    if error is not None:
        assert type(error) in allowed, repr(error)
        assert error.path.startswith("$"), error.path
        assert API_KEY not in str(error)
        assert API_KEY not in repr(error)


@st.composite
def _corrupted_exchanges(draw: st.DrawFn) -> Json:
    return draw(corrupted(draw(exchanges())))


@given(doc=_corrupted_exchanges(), destination=destinations(), fmt=st.sampled_from(FORMATS))
def test_any_exchange_gives_a_payload_or_a_typed_error(doc: Json, destination: Json, fmt: str) -> None:
    """Robustness: with an arbitrary JSON value at any position of an exchange (or inside a stream
    chunk), or that position deleted, mapping returns a schema-valid payload or raises InvalidInput /
    NotTraceable with a JSON path: no KeyError, TypeError or anything else escapes."""
    _check_typed(_outcome(doc, destination, fmt), (InvalidInput, NotTraceable))


@given(doc=exchanges(), destination=destinations(), data=st.data())
def test_every_position_of_an_exchange_is_guarded(doc: Json, destination: Json, data: st.DataObject) -> None:
    """Robustness, swept: for up to 16 positions of a generated exchange (drawn among its distinct
    field names, so every field is visited across the run) and up to 8 fields of one stream chunk,
    deleting it and putting an arbitrary JSON value there each give a schema-valid payload or
    InvalidInput / NotTraceable, nothing else."""
    fmt = data.draw(st.sampled_from(FORMATS))

    def some(paths: list[tuple[str | int, ...]], most: int) -> list[tuple[str | int, ...]]:
        return data.draw(st.lists(st.sampled_from(paths), min_size=1, max_size=most, unique=True))

    variants = []
    for path in some(positions(doc), 16):
        variants.append(delete_at(doc, path))
        variants.append(set_at(doc, path, data.draw(json_values(max_leaves=3))))
    if "stream" in doc:
        lines = doc["stream"].split("\n")
        chunk_lines = [i for i, line in enumerate(lines) if line.startswith("data: {")]
        i = data.draw(st.sampled_from(chunk_lines))
        chunk = json.loads(lines[i][len("data: ") :])
        for path in some(positions(chunk), 8):
            for changed in (
                delete_at(chunk, path),
                set_at(chunk, path, data.draw(json_values(max_leaves=3))),
            ):
                variant = copy.deepcopy(doc)
                variant["stream"] = "\n".join([*lines[:i], "data: " + json.dumps(changed), *lines[i + 1 :]])
                variants.append(variant)
    for variant in variants:
        _check_typed(_outcome(variant, destination, fmt), (InvalidInput, NotTraceable))


@st.composite
def _corrupted_destinations(draw: st.DrawFn) -> Json:
    return draw(corrupted(draw(destinations())))


@given(
    doc=exchanges(kinds=("response",)), destination=_corrupted_destinations(), fmt=st.sampled_from(FORMATS)
)
def test_any_destination_gives_a_payload_or_a_typed_error(doc: Json, destination: Json, fmt: str) -> None:
    """Robustness: with an arbitrary JSON value at any position of the destination settings, mapping
    returns a schema-valid payload or raises InvalidSettings, whose text never holds the API key."""
    _check_typed(_outcome(doc, destination, fmt), (InvalidSettings,))


@given(
    doc=json_values(), destination=json_values(), fmt=st.one_of(st.sampled_from(FORMATS), st.text(max_size=5))
)
def test_arbitrary_documents_give_typed_errors(doc: Json, destination: Json, fmt: str) -> None:
    """Robustness: arbitrary JSON as the exchange, the destination or the format name raises one of
    the library's typed errors (never a payload), and an error never quotes the API key."""
    valid_destination = {"config": {"mlApp": "app", "apiKey": API_KEY}}
    for dest in (destination, valid_destination):
        error = _outcome(doc, dest, fmt)
        assert error is not None, "an arbitrary document mapped to a payload"
        _check_typed(error, (InvalidInput, InvalidSettings, NotTraceable))


@given(
    ml_app=json_values(max_leaves=2),
    url=st.one_of(json_values(max_leaves=2), st.just("https://api.datadoghq.com")),
    max_span_bytes=st.one_of(json_values(max_leaves=1), st.integers(0, 6_000_000)),
)
def test_settings_arguments_give_settings_or_invalid_settings(
    ml_app: Json, url: Json, max_span_bytes: Json
) -> None:
    """Robustness: ``Settings(...)`` with arbitrary values builds valid settings or raises InvalidSettings."""
    try:
        settings = Settings(ml_app=ml_app, url=url, max_span_bytes=max_span_bytes, api_key=API_KEY)
    except InvalidSettings:
        return
    assert settings.ml_app
    assert 1024 <= settings.max_span_bytes <= 5_000_000
    assert API_KEY not in repr(settings)


# -- 4. privacy ---------------------------------------------------------------------------------

_CONTENT_KEYS = ("input", "output", "tool_definitions")
# OpenRouter facts and library values in metadata: kept fields (contract §6), not content.
_BUILT_IN_METADATA = frozenset(
    {
        "generation_id",
        "provider_name",
        "requested_model",
        "finish_reason",
        "native_finish_reason",
        "finish_reasons",
        "is_byok",
        "stream_missing",
        "truncated",
        "model_name",
        "model_provider",
        "reasoning_effort",
        "response_format",
    }
)
_PRIVATE_ERROR = re.compile(r"^(?P<type>\S+)(?: \(HTTP (?P<status>\d{3})\))?$")  # no status: type alone


def _kept_strings(payload: Json) -> Iterator[str]:
    """Strings of a privacy payload at kept positions: names, ids, kinds, tags, model, provider,
    envelope, keys, built-in metadata values and the fixed-form error message."""
    for span in _spans(payload):
        meta = span["meta"]
        for key, value in span.items():
            if key != "meta":
                yield key
                yield from _strings(value)
        for key, value in meta.items():
            yield key
            if key == "metadata":
                for name, item in value.items():
                    yield name
                    if name in _BUILT_IN_METADATA:
                        yield from _strings(item)
                        yield _compact(item)
            elif key == "error":
                yield from value  # the keys
                yield value["type"]
                if _PRIVATE_ERROR.match(value["message"]):
                    yield value["message"]
            elif key not in _CONTENT_KEYS:
                yield from _strings(value)
    envelope = copy.deepcopy(payload)
    for span in _spans(envelope):
        span.clear()
    yield from _strings(envelope)


def _status_codes(doc: Json) -> set[str]:
    return set(re.findall(r"\b\d{3}\b", _compact(_without_content(doc))))


@given(doc=exchanges(), destination=destinations(privacy=True), fmt=st.sampled_from(FORMATS))
def test_privacy_mode_shows_no_content(doc: Json, destination: Json, fmt: str) -> None:
    """Privacy (contract §6): with privacy mode on, no string of four or more characters taken from
    any message content, tool argument, tool result, reasoning text, output text or error text
    appears anywhere in the payload (keys or values) unless it also occurs in a kept field: the
    content-free rest of the exchange (model, trace names and custom metadata, ids, parameters),
    span names, ids, tags, the envelope and the fixed-form error message."""
    payload = _payload(doc, destination, fmt)
    shown = set().union(*(_windows(s) for s in _strings(payload)))
    stripped = _without_content(doc)
    kept = set().union(
        _windows(_compact(stripped)),
        *(_windows(s) for s in _strings(stripped)),
        *(_windows(s) for s in _kept_strings(payload)),
    )
    content = _content_strings(doc)
    # every string of >= 4 characters contains a 4-character window, so windows are enough
    leaked = {window for window in shown - kept if any(window in text for text in content)}
    assert not leaked, f"content shown in privacy mode: {sorted(leaked)[:10]}"


def _content_free(payload: Json, doc: Json) -> Json:
    """The payload minus exactly the content fields privacy mode removes or rewrites."""
    payload = copy.deepcopy(payload)
    request = doc.get("request")
    has_stop = isinstance(request, dict) and request.get("stop") is not None
    for span in _spans(payload):
        meta = span["meta"]
        for key in _CONTENT_KEYS:
            meta.pop(key, None)
        if has_stop:  # the request's stop sequences are text the caller wrote
            meta["metadata"].pop("stop", None)
        if "error" in meta:
            meta["error"].pop("message")
        meta["metadata"].pop("truncated", None)  # smaller spans may not need cutting
    return payload


@given(doc=exchanges(), destination=destinations(privacy=False), fmt=st.sampled_from(FORMATS))
@example(doc=EMPTY_BODY_ERROR, destination=PLAIN_DESTINATION, fmt="public")
def test_privacy_payload_is_the_normal_payload_minus_content(doc: Json, destination: Json, fmt: str) -> None:
    """Privacy (contract §6): the privacy-mode payload equals the normal payload minus exactly the
    content fields: no span has input, output or tool definitions, the request's ``stop`` sequences
    are gone from metadata, the error message reads ``<type> (HTTP <status>)`` (or ``<type>`` when
    no status is known), and nothing else changes (ids, names, metrics, tags, metadata)."""
    normal = _payload(doc, destination, fmt)
    private = _payload(doc, destination, fmt, privacy_mode=True)
    assert _content_free(private, doc) == _content_free(normal, doc)
    statuses = _status_codes(doc)
    for span in _spans(private):
        meta = span["meta"]
        assert not any(key in meta for key in _CONTENT_KEYS)
        if "error" in meta:
            match = _PRIVATE_ERROR.match(meta["error"]["message"])
            assert match is not None, meta["error"]
            assert match["type"] == meta["error"]["type"]
            assert match["status"] is None or match["status"] in statuses


# -- 5. tags ------------------------------------------------------------------------------------

_TAG = re.compile(r"^[A-Za-z](?:[^\s,]*[^\s,:])?$", re.DOTALL)
_TAG_KEPT = frozenset("_-:./")


def _check_tag_value(tag: str, key: str, raw: str) -> None:
    """``tag`` is ``key:raw`` with forbidden characters as ``_``, case kept, cut to 200 characters."""
    value = tag[len(key) + 1 :]
    assert len(value) == min(len(raw), 200 - len(key) - 1), (tag, raw)
    for position, (shown, original) in enumerate(zip(value, raw, strict=False)):
        allowed = original.isalnum() or original in _TAG_KEPT
        last_colon = original == ":" and position == len(value) - 1
        assert shown == (original if allowed and not last_colon else "_"), (tag, raw, position)


@given(doc=exchanges(), destination=destinations())
@example(doc=EMPTY_BODY_ERROR, destination=TRAILING_COLON_APP)
def test_tags_follow_datadog_grammar(doc: Json, destination: Json) -> None:
    """Tags (contract §5): every tag starts with a letter, has no whitespace or comma, does not end
    with ':', is at most 200 characters; the keys are service, user_id, session_id (and ml_app in
    EVP); values keep their case; user_id/session_id tags appear iff the input has a user/session."""
    settings = Settings.from_destination(destination)
    user = doc["request"].get("user") or None
    session = _session_id(doc)
    expected_keys = {"service"} | ({"user_id"} if user else set()) | ({"session_id"} if session else set())
    public = build_payload(doc, settings, "public")
    evp = build_payload(doc, settings, "evp")
    tag_lists = [public["data"]["attributes"]["tags"], *(s["tags"] for s in _spans(evp))]
    for index, tags in enumerate(tag_lists):
        keys = {tag.split(":", 1)[0] for tag in tags}
        assert keys == (expected_keys | ({"ml_app"} if index else set())), tags
        assert len(keys) == len(tags)
        assert tags == sorted(tags)
        for tag in tags:
            assert len(tag) <= 200, tag
            assert _TAG.match(tag), tag
            key = tag.split(":", 1)[0]
            raw = {"user_id": user, "session_id": session}.get(key, settings.ml_app)
            _check_tag_value(tag, key, raw or "")
    attributes = public["data"]["attributes"]
    assert attributes.get("session_id") == session
    assert all(span.get("session_id") == session for span in [*_spans(public), *_spans(evp)])


# -- 6. metrics ---------------------------------------------------------------------------------

_TOKEN_SOURCES = {
    "input_tokens": ((), "prompt_tokens"),
    "output_tokens": ((), "completion_tokens"),
    "total_tokens": ((), "total_tokens"),
    "cache_read_input_tokens": (("prompt_tokens_details",), "cached_tokens"),
    "cache_write_input_tokens": (("prompt_tokens_details",), "cache_write_tokens"),
    "reasoning_output_tokens": (("completion_tokens_details",), "reasoning_tokens"),
}


def _field(usage: dict[str, Json] | None, parents: tuple[str, ...], key: str) -> Json:
    node: Json = usage
    for part in (*parents, key):
        node = node.get(part) if isinstance(node, dict) else None
    return node


@given(doc=exchanges(), destination=destinations(), fmt=st.sampled_from(FORMATS))
def test_metrics_are_reported_never_fabricated(doc: Json, destination: Json, fmt: str) -> None:
    """Metrics (contract §4): a metric is present iff its source field is present, with its value;
    every metric is a finite number (token counts integers); non_cached + cache_read + cache_write
    == input_tokens whenever non_cached is reported (it is whenever a cache field exists and the
    counts are consistent); input_cost + output_cost == total_cost when they are reported; only the
    LLM span has metrics."""
    spans = _spans(_payload(doc, destination, fmt))
    assert all(span["metrics"] == {} for span in spans[:-1])
    metrics = spans[-1]["metrics"]
    usage = _usage(doc)
    for name, value in metrics.items():
        assert type(value) in (int, float), name
        assert math.isfinite(value), name
    for name, (parents, key) in _TOKEN_SOURCES.items():
        source = _field(usage, parents, key)
        assert (name in metrics) == (source is not None), name
        if source is not None:
            assert metrics[name] == source
            assert type(metrics[name]) is int
    read, write = metrics.get("cache_read_input_tokens"), metrics.get("cache_write_input_tokens")
    if "input_tokens" in metrics and (read is not None or write is not None):
        consistent = metrics["input_tokens"] >= (read or 0) + (write or 0)
        assert ("non_cached_input_tokens" in metrics) == consistent
    else:
        assert "non_cached_input_tokens" not in metrics
    if "non_cached_input_tokens" in metrics:
        assert metrics["non_cached_input_tokens"] + (read or 0) + (write or 0) == metrics["input_tokens"]

    cost = _field(usage, (), "cost")
    byok = _field(usage, (), "is_byok") is True
    upstream = _field(usage, ("cost_details",), "upstream_inference_cost")
    has_total = cost is not None or (byok and upstream is not None)
    assert ("total_cost" in metrics) == has_total
    if has_total:
        expected = (cost or 0) + (upstream if byok and upstream is not None else 0)
        assert math.isclose(metrics["total_cost"], expected, rel_tol=1e-12, abs_tol=0)
    assert ("input_cost" in metrics) == ("output_cost" in metrics)
    if "input_cost" in metrics:
        assert metrics["input_cost"] == _field(usage, ("cost_details",), "upstream_inference_prompt_cost")
        assert metrics["output_cost"] == _field(
            usage, ("cost_details",), "upstream_inference_completions_cost"
        )
        assert math.isclose(
            metrics["input_cost"] + metrics["output_cost"], metrics["total_cost"], rel_tol=1e-9, abs_tol=1e-15
        )

    first_token = doc["timing"].get("first_token")
    streamed = "stream" in doc and first_token is not None
    assert ("time_to_first_token" in metrics) == streamed
    if streamed:
        expected_ttft = (_nanos(first_token) - _nanos(doc["timing"]["start"])) / 1e9
        assert metrics["time_to_first_token"] == expected_ttft
    known = {
        *_TOKEN_SOURCES,
        "non_cached_input_tokens",
        "total_cost",
        "input_cost",
        "output_cost",
        "time_to_first_token",
    }
    assert set(metrics) <= known


# -- 7. tree ------------------------------------------------------------------------------------

_U64 = re.compile(r"^(0|[1-9][0-9]{0,19})$")


@given(doc=exchanges(), destination=destinations(), fmt=st.sampled_from(FORMATS))
def test_spans_form_one_tree(doc: Json, destination: Json, fmt: str) -> None:
    """Tree (contract §3): exactly one span has the top parent (``trace.parent_span_id`` or
    "undefined"), every other parent_id names a span of the same payload, span ids are distinct
    decimal u64 strings, all spans share the trace id (``trace.trace_id`` or the generation id),
    there is one workflow span per trace_name/span_name and the LLM span comes last."""
    spans = _spans(_payload(doc, destination, fmt))
    trace = doc["request"].get("trace") or {}
    top_parent = trace.get("parent_span_id") or "undefined"
    ids = [span["span_id"] for span in spans]
    assert len(set(ids)) == len(ids)
    for span_id in ids:
        assert _U64.match(span_id), span_id
        assert int(span_id) < 2**64, span_id
    assert [span["parent_id"] for span in spans].count(top_parent) == 1
    assert spans[0]["parent_id"] == top_parent
    for span in spans[1:]:
        assert span["parent_id"] in ids
        assert span["parent_id"] != span["span_id"]
    assert {span["trace_id"] for span in spans} == {trace.get("trace_id") or _generation_id(doc)}
    workflow_names = [trace[key] for key in ("trace_name", "span_name") if trace.get(key)]
    kinds = [span["meta"]["kind"] if fmt == "public" else span["meta"]["span"]["kind"] for span in spans]
    assert kinds == ["workflow"] * len(workflow_names) + ["llm"]
    assert [span["name"] for span in spans[:-1]] == workflow_names
    assert len({(span["start_ns"], span["duration"], span["status"]) for span in spans}) == 1


# -- 8. formats ---------------------------------------------------------------------------------


@given(doc=exchanges(), destination=destinations())
def test_both_formats_carry_the_same_spans(doc: Json, destination: Json) -> None:
    """Formats (contract §7): the EVP payload converted to the public format (envelope dropped,
    ``meta.span.kind`` → ``meta.kind``, nested metadata as compact JSON text, model name/provider
    mirrored into metadata, tags and session lifted to the payload) equals the public payload."""
    public = _payload(doc, destination, "public", max_span_bytes=BIG_LIMIT)
    evp = _payload(doc, destination, "evp", max_span_bytes=BIG_LIMIT)
    assert _evp_to_public(evp) == public


# -- 9. size ------------------------------------------------------------------------------------

_MARKER = re.compile(r"…\[truncated (\d+) bytes\]$")
_CUT_SLOT = 64  # limits.py cuts only texts longer than 64 UTF-8 bytes


def _is_cut_from(shown: str, original: str) -> bool:
    """``shown`` is ``original`` or a prefix of it plus a marker naming the UTF-8 bytes removed."""
    if shown == original:
        return True
    match = _MARKER.search(shown)
    if match is None:
        return False
    head = shown[: match.start()]
    removed = len(original.encode()) - len(head.encode())
    return original.startswith(head) and int(match[1]) == removed


def _check_cut_io(shown: Json, original: Json) -> None:
    if original is None:
        assert shown is None
        return
    if "value" in original:
        assert _is_cut_from(shown["value"], original["value"])
        return
    assert len(shown["messages"]) == len(original["messages"])
    for got, was in zip(shown["messages"], original["messages"], strict=True):
        assert got.keys() == was.keys()
        assert got["role"] == was["role"]
        assert _is_cut_from(got["content"], was["content"])
        for got_result, was_result in zip(
            got.get("tool_results", ()), was.get("tool_results", ()), strict=True
        ):
            assert {**got_result, "result": None} == {**was_result, "result": None}
            assert _is_cut_from(got_result["result"], was_result["result"])
        for got_call, was_call in zip(got.get("tool_calls", ()), was.get("tool_calls", ()), strict=True):
            assert {**got_call, "arguments": None} == {**was_call, "arguments": None}
            arguments = got_call["arguments"]
            if arguments != was_call["arguments"]:
                # only cut arguments change: they become {"value": <cut JSON text>}
                text = json.dumps(was_call["arguments"], sort_keys=True, ensure_ascii=False)
                assert list(arguments) == ["value"]
                assert arguments["value"] != text
                assert _is_cut_from(arguments["value"], text)


def _texts(io: Json) -> list[str]:
    """The cuttable texts of one side of a span, in order (limits.py's slots): the value, then per
    message its content, tool results and tool-call arguments as JSON text."""
    if io is None:
        return []
    texts = [io["value"]] if isinstance(io.get("value"), str) else []
    for message in io.get("messages", ()):
        texts.append(message["content"])
        texts += [result["result"] for result in message.get("tool_results", ())]
        for call in message.get("tool_calls", ()):
            arguments = call["arguments"]
            texts.append(json.dumps(arguments, sort_keys=True, ensure_ascii=False))
    return texts


def _check_common_level(got_meta: Json, was_meta: Json) -> None:
    """Cut texts end at one common length (give or take a UTF-8 character and a marker digit), and
    no text left whole is longer than that length: the longest are cut first, then together."""
    cut, whole = [], []
    for key in ("input", "output"):
        for shown, original in zip(_texts(got_meta.get(key)), _texts(was_meta.get(key)), strict=True):
            if shown == original:
                whole.append(len(original.encode()))
            elif _MARKER.search(shown) is not None:
                cut.append(len(shown.encode()))
            else:  # cut tool-call arguments: {"value": "<cut text>"} as JSON text
                cut.append(len(json.loads(shown)["value"].encode()))
    if cut:
        assert max(cut) - min(cut) <= 5, cut
        assert max(whole, default=0) <= min(cut) + 4, (whole, cut)


def _exhausted_size(span: Json) -> int:
    """An upper bound of the span's size once every cuttable text is at most 64 bytes (each such
    text counted as 64 control characters, the worst JSON escaping) and tool definitions are gone:
    below the limit, truncation must succeed."""
    span = copy.deepcopy(span)
    worst = "\x01" * _CUT_SLOT
    meta = span["meta"]
    meta.pop("tool_definitions", None)
    meta["metadata"]["truncated"] = True
    for io in (meta.get("input"), meta.get("output")):
        if io is None:
            continue
        if len(io.get("value", "").encode()) > _CUT_SLOT:
            io["value"] = worst
        for message in io.get("messages", ()):
            if len(message["content"].encode()) > _CUT_SLOT:
                message["content"] = worst
            for result in message.get("tool_results", ()):
                if len(result["result"].encode()) > _CUT_SLOT:
                    result["result"] = worst
            for call in message.get("tool_calls", ()):
                text = json.dumps(call["arguments"], sort_keys=True, ensure_ascii=False)
                if len(text.encode()) > _CUT_SLOT:
                    call["arguments"] = {"value": worst}
    return len(dumps(span))


@given(
    doc=exchanges(),
    destination=destinations(),
    fmt=st.sampled_from(FORMATS),
    limit=st.one_of(st.integers(1024, 4096), st.integers(4096, 40_000)),
)
def test_spans_fit_the_size_limit(doc: Json, destination: Json, fmt: str, limit: int) -> None:
    """Size (contract §7): every encoded span is within ``max_span_bytes`` after truncation whenever
    its uncuttable part fits; truncation only cuts texts (each a prefix plus an exact
    ``…[truncated N bytes]`` marker), the longest first down to one common length, and sets
    ``metadata.truncated``; it never touches metrics, ids,
    tags, names, timing, status or any other metadata; a span that fits is left as it is."""
    full = _spans(_payload(doc, destination, fmt, max_span_bytes=BIG_LIMIT))
    cut = _spans(_payload(doc, destination, fmt, max_span_bytes=limit))
    assert len(cut) == len(full)
    for got, was in zip(cut, full, strict=True):
        size = len(dumps(got))
        if len(dumps(was)) <= limit:
            assert got == was
            continue
        event("span truncated")
        if _exhausted_size(was) <= limit:
            event("span must fit")
            assert size <= limit, (size, limit)
        assert {k: v for k, v in got.items() if k != "meta"} == {k: v for k, v in was.items() if k != "meta"}
        got_meta, was_meta = got["meta"], was["meta"]
        assert got_meta["metadata"] == {**was_meta["metadata"], "truncated": True}
        _check_common_level(got_meta, was_meta)
        for key in set(got_meta) | set(was_meta):
            if key in ("input", "output"):
                _check_cut_io(got_meta.get(key), was_meta.get(key))
            elif key == "tool_definitions":
                assert got_meta.get(key) in (None, was_meta[key])
            elif key != "metadata":
                assert got_meta.get(key) == was_meta.get(key), key


def test_reserved_trace_keys_match_the_library() -> None:
    """The strategies' list of reserved ``trace`` keys is the library's (TraceConfig, contract §4)."""
    assert tuple(RESERVED_TRACE_KEYS) == LIBRARY_RESERVED_KEYS


# -- counterexamples as plain tests ------------------------------------------------------------


def test_uncut_tool_arguments_keep_their_structure() -> None:
    """Truncation cuts the long message (contract §7: "keeping the JSON structure"); tool-call
    arguments it does not need to cut stay the object they were."""
    arguments = {"city": "Paris", "unit": "celsius", "details": "include humidity and wind"}
    doc = {
        "request": {
            "model": "openai/gpt-4o",
            "messages": [
                {"role": "user", "content": "x" * 5000},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": json.dumps(arguments)},
                        }
                    ],
                },
            ],
        },
        "response": {
            "id": "gen-1788612875-uncutArgs0000000000",
            "model": "openai/gpt-4o",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}
            ],
        },
        "timing": {"start": 1_700_000_000_000_000_000, "end": 1_700_000_001_000_000_000},
    }
    payload = build_payload(doc, Settings(ml_app="app", max_span_bytes=2048))
    user, assistant = payload["data"]["attributes"]["spans"][0]["meta"]["input"]["messages"]
    assert _MARKER.search(user["content"]) is not None
    assert assistant["tool_calls"][0]["arguments"] == arguments
