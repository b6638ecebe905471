"""The input schemas and the readers agree (spec §1.1, §1.3): a document the schema accepts is read,
and a document the reader accepts is valid, except for the rules a JSON Schema cannot state.

``llmobs-mapping validate FILE --schema exchange|settings`` is how a user asks "will this be
accepted?", and implementations in other languages read the schemas as the input contract: a
disagreement is a bug in one of the two.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from strategies import corrupted, destinations, exchanges, json_values

from llmobs_mapping import InvalidInput, InvalidSettings, MappingError, Settings, read_exchange
from llmobs_mapping.metadata import REQUEST_PARAMETERS
from llmobs_mapping.schemas import iter_violations

Json = Any
SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"

# What a JSON Schema cannot say: the order of the timestamps, the calendar behind the timestamp
# pattern, and the contents of the SSE text (one string to the schema). Each is an InvalidInput of
# the reader only, at these paths with these messages.
SCHEMA_CANNOT_STATE = (
    (r"\$\.timing\.end", r"is before timing\.start"),
    (r"\$\.timing\.first_token", r"must lie between timing\.start and timing\.end"),
    (r"\$\.timing\.\w+", r".* is not a valid date and time|must not be before 1970-01-01"),
    (r"\$\.timing\.\w+", r"must be before 2262"),  # a date string past 64-bit nanoseconds
    (r"\$\.headers", r"names the header .* twice"),  # names are case-insensitive
    (r"\$\.stream(?:[.\[].*)?", r".*"),  # a line of the SSE text, or a member of the body it builds
)
# For settings: the URL rules, Datadog's ml_app normalisation, and what a filter value means.
SETTINGS_SCHEMA_CANNOT_STATE = (
    (r"\$\.config\.url", r".*"),
    (r"\$\.config\.mlApp", r"is empty after Datadog's ml_app normalisation"),
    (r"\$\.config\.headers", r"names the header .* twice"),  # names are case-insensitive
    (r"\$\.filter_rules\.groups\[\d+\]\.rules\[\d+\]\.value", r"must be a number for operator"),
    (r"\$\.filter_rules\.groups\[\d+\]\.rules\[\d+\]\.value", r"is not a valid regular expression"),
)


def _schema_keys(name: str) -> list[str]:
    """Every property name a schema knows."""
    keys: set[str] = set()

    def walk(node: Json) -> None:
        if isinstance(node, dict):
            keys.update(node.get("properties", {}))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads((SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8")))
    return sorted(keys)


# the keys the schema names, the request parameters copied verbatim, and a few more the reader knows
KEYS = [
    *_schema_keys("exchange"),
    *REQUEST_PARAMETERS,
    "text",
    "reasoning_effort",
    "x-generation-id",
    "unknown",
]
SETTINGS_KEYS = [*_schema_keys("settings"), "id", "name", "broadcast_generation_input", "unknown"]


def _dict_paths(value: Json, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    out = [prefix] if isinstance(value, dict) else []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        out.extend(_dict_paths(item, (*prefix, key)))
    return out


@st.composite
def _with_added_keys(draw: st.DrawFn, doc: Json, keys: list[str] = KEYS) -> Json:
    """``doc`` with 1-3 keys added to objects anywhere in it: keys the schema names (absent from
    that object until now), or an unknown key, with an arbitrary value, null, or a whole float."""
    doc = copy.deepcopy(doc)
    for _ in range(draw(st.integers(1, 3))):
        paths = _dict_paths(doc)
        if not paths:
            break
        target = doc
        for part in draw(st.sampled_from(paths)):
            target = target[part]
        value = draw(st.one_of(json_values(max_leaves=3), st.none(), st.just(3.0), st.just("function")))
        target.setdefault(draw(st.sampled_from(keys)), value)
    return doc


def _documents() -> st.SearchStrategy[Json]:
    return st.one_of(
        exchanges(),
        exchanges().flatmap(corrupted),
        exchanges().flatmap(_with_added_keys),
    )


def _reader_error(doc: Json) -> InvalidInput | None:
    try:
        read_exchange(doc)
    except InvalidInput as exc:
        return exc
    return None


def _settings_error(doc: Json) -> InvalidSettings | None:
    try:
        Settings.from_destination(doc)
    except InvalidSettings as exc:
        return exc
    return None


def _schema_cannot_state(
    error: MappingError, rules: tuple[tuple[str, str], ...] = SCHEMA_CANNOT_STATE
) -> bool:
    return any(re.fullmatch(path, error.path) and re.match(message, error.message) for path, message in rules)


OUTCOME_NULLS: Json = {
    "request": {"messages": [{"role": "user", "content": "Hi"}], "model": None},
    "response": {"id": "gen-1", "choices": [{"message": {"content": "Hello"}}]},
    "stream": None,
    "error": None,
    "headers": None,
    "timing": {"start": 1, "end": 2, "first_token": None},
}


@given(doc=_documents())
@example(doc=OUTCOME_NULLS)
@example(doc={**OUTCOME_NULLS, "extra": 1})
@example(doc={**OUTCOME_NULLS, "timing": {"start": 1.0, "end": 2}})
@example(doc={**OUTCOME_NULLS, "request": {"messages": [{"role": "function", "content": "{}", "name": "f"}]}})
@example(doc={**OUTCOME_NULLS, "response": None, "error": {"status": 502}})
@example(  # a wrong shape inside the stream is the reader's alone, at a path under $.stream
    doc={
        **OUTCOME_NULLS,
        "response": None,
        "stream": 'data: {"id": "gen-1", "choices": [], "usage": {"completion_tokens_details": []}}\n',
    }
)
@example(doc={**OUTCOME_NULLS, "request": {"messages": [{"role": "user"}], "top_p": {}, "stop": 5}})
def test_schema_and_reader_agree(doc: Json) -> None:
    """Valid per ``exchange.schema.json`` iff ``read_exchange`` accepts it, but for the rules in
    SCHEMA_CANNOT_STATE, which only the reader checks."""
    error = _reader_error(doc)
    violations = iter_violations(doc, "exchange")
    if error is None:
        assert violations == [], f"the reader maps it, the schema refuses it: {violations[:3]}"
    elif not violations:
        assert _schema_cannot_state(error), f"the schema accepts it, the reader refuses it: {error}"


@pytest.mark.parametrize(
    ("doc", "path"),
    [
        ({**OUTCOME_NULLS, "extra": 1}, "$.extra"),
        ({**OUTCOME_NULLS, "timing": {"start": 1, "end": 2, "first_tokens": 1}}, "$.timing.first_tokens"),
        ({**OUTCOME_NULLS, "response": None, "error": {"status": 502, "text": "x"}}, "$.error.text"),
    ],
)
def test_unknown_keys_of_the_envelope_are_refused(doc: Json, path: str) -> None:
    """The exchange's own envelope (root, ``timing``, ``error``) is this project's format, not an
    OpenRouter body: a key it does not define is a typo that would lose data, refused at its path."""
    error = _reader_error(doc)
    assert error is not None
    assert error.path == path
    assert [v.path for v in iter_violations(doc, "exchange")] == [path]


DESTINATION: Json = {"type": None, "config": {"mlApp": "app", "apiKey": None, "url": None, "headers": None}}


@given(
    doc=st.one_of(
        destinations(),
        destinations().flatmap(corrupted),
        destinations().flatmap(lambda d: _with_added_keys(d, SETTINGS_KEYS)),
    )
)
@example(doc=DESTINATION)
@example(doc={**DESTINATION, "privacy_mode": None, "max_span_bytes": 2048.0, "id": 5, "name": ["x"]})
@example(doc={**DESTINATION, "api_key_hashes": []})
@example(doc={"config": {"mlApp": "app", "apiKey": "ddapikey_0123\n"}})
@example(doc={"config": {"mlApp": "app", "apiKey": "ddapikey é"}})
@example(doc={"config": {"mlApp": "app", "headers": {"X-Team": "a\r\nX-Injected: 1"}}})
@example(doc={"config": {"mlApp": "app", "headers": {"X Team": "a"}}})
@example(doc={"config": {"mlApp": "app", "headers": {"X-Team": "a\tb"}}})
@example(doc={"config": {"mlApp": "app", "URL": "https://api.datadoghq.eu"}})
@example(doc={"config": {"mlApp": "app"}, "filter_rules": {"groups": [{"logic": None, "rules": []}]}})
@example(
    doc={
        "config": {"mlApp": "a"},
        "filter_rules": {"groups": [{"rules": [{"field": "model", "operator": "exists", "value": [1]}]}]},
    }
)
@example(
    doc={
        "config": {"mlApp": "a"},
        "filter_rules": {"groups": [{"rules": [{"field": "model", "operator": "equals", "valeu": "x"}]}]},
    }
)
def test_settings_schema_and_reader_agree(doc: Json) -> None:
    """Valid per ``settings.schema.json`` iff ``Settings.from_destination`` accepts it, but for the
    rules in SETTINGS_SCHEMA_CANNOT_STATE, which only the reader checks."""
    error = _settings_error(doc)
    violations = iter_violations(doc, "settings")
    if error is None:
        assert violations == [], f"the reader takes it, the schema refuses it: {violations[:3]}"
    elif not violations:
        assert _schema_cannot_state(error, SETTINGS_SCHEMA_CANNOT_STATE), f"the schema accepts it: {error}"


@pytest.mark.parametrize("key", [5, None, (1, 2)])
def test_a_python_caller_s_non_string_key_is_a_typed_error(key: object) -> None:
    """JSON keys are strings; a dict from Python code may hold others. The envelope checks name the
    object holding one, as a typed error, rather than failing inside the JSON path rendering."""
    doc = {**OUTCOME_NULLS, key: 1}
    error = _reader_error(doc)
    assert error is not None
    assert (error.path, error.message) == ("$", f"has a key that is not a string ({type(key).__name__})")
    with pytest.raises(InvalidSettings) as caught:
        Settings.from_destination({**DESTINATION, key: 1})
    assert caught.value.path == "$"
