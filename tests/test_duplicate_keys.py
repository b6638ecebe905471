"""Duplicate keys in JSON text are refused, with the path of the object that repeats one.

Python's ``json`` keeps the last of two equal keys; other readers keep the first or fail. A
destination file with ``"privacy_mode": true`` and, further down, ``"privacy_mode": false`` would
send content under one reading and not under the other, so every JSON text this library reads
(``canonical.strict_loads``) refuses a repeated key (spec §1.1).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmobs_mapping import InvalidInput, Settings, build_payload
from llmobs_mapping.canonical import DuplicateKey, strict_loads
from llmobs_mapping.errors import json_path
from llmobs_mapping.messages import tool_arguments

ROOT = Path(__file__).resolve().parent.parent
SEED_TEXT = (ROOT / "examples" / "seed-exchange.json").read_text(encoding="utf-8")
SETTINGS_TEXT = (ROOT / "examples" / "seed-settings.json").read_text(encoding="utf-8")


def _cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "llmobs_mapping", *args],
        capture_output=True,
        text=True,
        check=False,
        input=stdin,
    )


# -- the reader --------------------------------------------------------------------------------

_keys = st.text(min_size=1, max_size=4)
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_keys, inner, min_size=1, max_size=3),
    max_leaves=12,
)


def _objects(value: Any, parts: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Paths of every object in ``value``, depth first in text order."""
    found: list[tuple[str | int, ...]] = []
    if isinstance(value, dict):
        found.append(parts)
        for key, member in value.items():
            found += _objects(member, (*parts, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _objects(item, (*parts, index))
    return found


def _text_repeating(value: Any, target: tuple[str | int, ...], parts: tuple[str | int, ...] = ()) -> str:
    """``value`` as JSON text, with the object at ``target`` writing its first key a second time
    (with the value ``"again"``) after its other members."""
    if isinstance(value, dict):
        members = [f"{json.dumps(k)}:{_text_repeating(v, target, (*parts, k))}" for k, v in value.items()]
        if parts == target:
            members.append(f'{json.dumps(next(iter(value)))}:"again"')
        return "{" + ",".join(members) + "}"
    if isinstance(value, list):
        items = [_text_repeating(item, target, (*parts, i)) for i, item in enumerate(value)]
        return "[" + ",".join(items) + "]"
    return json.dumps(value)


@given(_json, st.data())
def test_a_repeated_key_is_refused_at_the_object_that_repeats_it(value: Any, data: st.DataObject) -> None:
    objects = _objects(value)
    assert strict_loads(_text_repeating(value, ("no", "target"))) == value  # no repeat: read as json reads it
    if not objects:
        return
    target = data.draw(st.sampled_from(objects))
    text = _text_repeating(value, target)
    with pytest.raises(DuplicateKey) as info:
        strict_loads(text)
    # the first object in text order that repeats a key is the target: only it repeats one
    assert info.value.path == json_path(target)
    with pytest.raises(DuplicateKey):
        strict_loads(text.encode("utf-8"))  # bytes too


def test_the_message_names_the_key_and_path() -> None:
    with pytest.raises(DuplicateKey) as info:
        strict_loads('{"config": {"mlApp": "a", "url": "u", "mlApp": "b"}}')
    assert info.value.key == "mlApp"
    assert info.value.path == "$.config"
    assert str(info.value) == "duplicate key at $.config"  # the key itself only where it is named


# -- where JSON text is read -------------------------------------------------------------------


def test_map_refuses_a_destination_that_repeats_privacy_mode(tmp_path: Path) -> None:
    settings = tmp_path / "settings.json"
    assert '"privacy_mode": false' in SETTINGS_TEXT
    twice = '"privacy_mode": true, "privacy_mode": false'
    settings.write_text(SETTINGS_TEXT.replace('"privacy_mode": false', twice))
    exchange = tmp_path / "exchange.json"
    exchange.write_text(SEED_TEXT)
    result = _cli("map", str(exchange), "--settings", str(settings))
    assert result.returncode == 2
    assert result.stdout == ""
    error = json.loads(result.stderr)
    assert error["error"] == "InvalidSettings"
    assert error["path"] == "$"
    assert '"privacy_mode"' in error["message"]  # a destination holds no content: the key is named


def test_map_refuses_an_exchange_that_repeats_a_key_at_its_path(tmp_path: Path) -> None:
    exchange = tmp_path / "exchange.json"
    exchange.write_text(SEED_TEXT.replace('"role": "user"', '"role": "user", "content": "Bye!"', 1))
    settings = tmp_path / "settings.json"
    settings.write_text(SETTINGS_TEXT)
    result = _cli("map", str(exchange), "--settings", str(settings))
    assert result.returncode == 2
    error = json.loads(result.stderr)
    assert (error["error"], error["path"]) == ("InvalidInput", "$.request.messages[0]")
    # in an exchange a key can be content (a tool parameter's name): the path locates it, unquoted
    assert error["message"].startswith("repeats a key")
    assert '"content"' not in error["message"]


def test_map_jsonl_reports_the_line_and_goes_on(tmp_path: Path) -> None:
    line = json.dumps(json.loads(SEED_TEXT))
    bad = line.replace('"role": "user"', '"role": "user", "role": "system"', 1)
    assert bad != line
    source = tmp_path / "in.jsonl"
    source.write_text(f"{line}\n{bad}\n{line}\n")
    settings = tmp_path / "settings.json"
    settings.write_text(SETTINGS_TEXT)
    out = tmp_path / "out.jsonl"
    result = _cli("map-jsonl", str(source), "--settings", str(settings), "--out", str(out))
    assert len(out.read_text().splitlines()) == 2
    failures = [json.loads(x) for x in result.stderr.splitlines() if x.startswith("{") and '"line"' in x]
    wanted = {"line": 2, "path": "$.request.messages[0]"}
    assert any(wanted.items() <= f.items() for f in failures), result.stderr


def test_a_stream_chunk_that_repeats_a_key_is_refused_at_its_line() -> None:
    exchange = json.loads(SEED_TEXT)
    del exchange["response"]
    delta = '{"content":"Hi","content":"Ho"}'
    chunk = f'{{"id":"gen-1","model":"openai/gpt-4o","choices":[{{"index":0,"delta":{delta}}}]}}'
    exchange["stream"] = f"data: {chunk}\n\ndata: [DONE]\n\n"
    with pytest.raises(InvalidInput) as info:
        build_payload(exchange, Settings(ml_app="app"))
    assert info.value.path == "$.stream"
    assert info.value.message.startswith("line 1: data repeats a key")


def test_tool_call_arguments_that_repeat_a_key_are_kept_as_text() -> None:
    # the model's own text: kept whole rather than guessing which value it meant (spec §4)
    raw = '{"city": "Paris", "city": "Lyon"}'
    assert tool_arguments(raw) == {"value": raw}


def test_a_repeated_key_in_a_tool_definition_is_not_quoted(tmp_path: Path) -> None:
    # privacy: the parameter's name is content; the error locates it by path only
    secret = "patient_john_doe_hiv_status"
    exchange = json.loads(SEED_TEXT)
    exchange["request"]["tools"] = [{"type": "function", "function": {"name": "f", "parameters": {}}}]
    text = json.dumps(exchange).replace('"parameters": {}', f'"parameters": {{"{secret}": 1, "{secret}": 2}}')
    source = tmp_path / "exchange.json"
    source.write_text(text)
    settings = tmp_path / "settings.json"
    settings.write_text(SETTINGS_TEXT)
    for command in (
        ["map", str(source), "--settings", str(settings)],
        ["map-jsonl", str(source), "--settings", str(settings)],
    ):
        result = _cli(*command)
        assert secret not in result.stderr, command
        assert "$.request.tools[0].function.parameters" in result.stderr
