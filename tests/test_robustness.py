"""Inputs found by an adversarial review: each must give a typed error naming where, never a
traceback, a leaked key or lost data."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_cli_to_full_disk

from llmobs_mapping import (
    InvalidInput,
    InvalidSettings,
    Settings,
    build_payload,
    decide,
    dumps,
    encode_spans,
    to_spans,
)

ROOT = Path(__file__).resolve().parent.parent
SEED = json.loads((ROOT / "examples" / "seed-exchange.json").read_text(encoding="utf-8"))
SETTINGS = ROOT / "examples" / "seed-settings.json"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "llmobs_mapping", *args], capture_output=True, text=True, check=False
    )


def test_lone_surrogate_is_invalid_input_not_a_unicode_error() -> None:
    exchange = json.loads(json.dumps(SEED))
    exchange["request"]["messages"][0]["content"] = "\ud800"
    payload = build_payload(exchange, Settings(ml_app="app"))
    with pytest.raises(InvalidInput, match="lone surrogate"):
        dumps(payload)


def test_lone_surrogate_on_the_command_line_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "surrogate.json"
    path.write_text(json.dumps(SEED).replace('"Hello!"', '"\\ud800"'), encoding="utf-8")
    result = _cli("map", str(path), "--settings", str(SETTINGS))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert json.loads(result.stderr)["error"] == "InvalidInput"


def test_nesting_deeper_than_the_encoder_is_invalid_input() -> None:
    exchange = json.loads(json.dumps(SEED))
    value: object = 1
    for _ in range(5000):
        value = [value]
    exchange["request"]["temperature"] = value
    with pytest.raises(InvalidInput):
        dumps(build_payload(exchange, Settings(ml_app="app")))


@pytest.mark.parametrize("key", ["ddapikey_SECRET123\n", " ddapikey_SECRET123", "ddapikey_SECRETé"])
def test_api_key_an_http_header_cannot_carry_is_refused_without_echoing_it(key: str) -> None:
    with pytest.raises(InvalidSettings) as info:
        Settings(ml_app="app", api_key=key)
    assert info.value.path == "$.config.apiKey"
    assert "SECRET" not in str(info.value)


@pytest.mark.parametrize(
    ("headers", "path"),
    [({"Bad Name": "x"}, '$.config.headers["Bad Name"]'), ({"X-Bad": "é"}, '$.config.headers["X-Bad"]')],
)
def test_headers_an_http_request_cannot_carry_are_refused(headers: dict[str, str], path: str) -> None:
    destination = {"type": "datadog", "config": {"mlApp": "app", "headers": headers}}
    with pytest.raises(InvalidSettings) as info:
        Settings.from_destination(destination)
    assert info.value.path == path


def test_map_jsonl_refuses_to_overwrite_its_input(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    text = json.dumps(SEED) + "\n"
    path.write_text(text, encoding="utf-8")
    result = _cli("map-jsonl", str(path), "--settings", str(SETTINGS), "--out", str(path))
    assert result.returncode == 2
    assert "is the input file" in result.stderr
    assert path.read_text(encoding="utf-8") == text


@pytest.mark.parametrize("workers", ["0", "65", "100000"])
def test_map_jsonl_bounds_the_worker_count(tmp_path: Path, workers: str) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps(SEED) + "\n", encoding="utf-8")
    result = _cli("map-jsonl", str(path), "--settings", str(SETTINGS), "--workers", workers)
    assert result.returncode == 2
    assert "--workers must be from 1 to 64" in result.stderr


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize(
    "command",
    [
        ["map", "{exchange}", "--settings", "{settings}"],
        ["map", "{exchange}", "--settings", "{settings}", "--pretty"],
        ["map-jsonl", "{jsonl}", "--settings", "{settings}"],
        ["map-jsonl", "{jsonl}", "--settings", "{settings}", "--workers", "2"],
        ["map-jsonl", "{jsonl}", "--settings", "{settings}", "--out", "/dev/full"],
        ["view", "{exchange}", "--settings", "{settings}", "--out", "-"],
        ["validate", "--schema", "exchange", "{settings}"],  # violations go to stdout
    ],
    ids=["map", "map-pretty", "map-jsonl", "map-jsonl-workers", "map-jsonl-out", "view-stdout", "validate"],
)
def test_a_full_disk_is_an_output_error_not_a_traceback(tmp_path: Path, command: list[str]) -> None:
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text((json.dumps(SEED) + "\n") * 20, encoding="utf-8")
    places = {
        "exchange": str(ROOT / "examples" / "seed-exchange.json"),
        "settings": str(SETTINGS),
        "jsonl": str(jsonl),
    }
    result = run_cli_to_full_disk(*(part.format(**places) for part in command))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "Exception ignored" not in result.stderr  # nothing left to fail again at exit
    assert json.loads(result.stderr.splitlines()[-1]) == {
        "error": "OutputError",
        "path": "$",
        "message": "cannot write the output: No space left on device",
    }


def test_map_jsonl_out_in_a_missing_folder_is_an_output_error(tmp_path: Path) -> None:
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text(json.dumps(SEED) + "\n", encoding="utf-8")
    result = _cli(
        "map-jsonl", str(jsonl), "--settings", str(SETTINGS), "--out", str(tmp_path / "no" / "out.jsonl")
    )
    assert result.returncode == 2
    error = json.loads(result.stderr)
    assert (error["error"], error["path"]) == ("OutputError", "$")
    assert "No such file or directory" in error["message"]


@pytest.mark.parametrize(
    "command",
    [["map", "-", "--settings", "-"], ["map-jsonl", "-", "--settings", "-"]],
    ids=["map", "map-jsonl"],
)
def test_stdin_named_for_two_inputs_is_refused(command: list[str]) -> None:
    # the settings would have been read from the exchange's text, and the exchange from nothing
    result = subprocess.run(
        [sys.executable, "-m", "llmobs_mapping", *command],
        input=json.dumps(SEED),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert json.loads(result.stderr) == {
        "error": "InvalidInput",
        "path": "$",
        "message": "only one input can be read from stdin ('-'); give files for the others",
    }


def test_a_utf8_bom_is_read_by_map_as_by_map_jsonl(tmp_path: Path) -> None:
    # RFC 8259 §8.1 lets a reader ignore a BOM; Windows editors write one. map-jsonl always took it.
    exchange = tmp_path / "exchange.json"
    exchange.write_bytes(b"\xef\xbb\xbf" + json.dumps(SEED).encode("utf-8"))
    settings = tmp_path / "settings.json"
    settings.write_bytes(b"\xef\xbb\xbf" + SETTINGS.read_bytes())
    with_bom = _cli("map", str(exchange), "--settings", str(settings))
    plain = _cli("map", str(ROOT / "examples" / "seed-exchange.json"), "--settings", str(SETTINGS))
    assert (with_bom.returncode, with_bom.stderr) == (0, "")
    assert with_bom.stdout == plain.stdout
    jsonl = _cli("map-jsonl", str(exchange), "--settings", str(settings))
    assert jsonl.stdout == plain.stdout


def test_a_case_document_refuses_unknown_keys(tmp_path: Path) -> None:
    case = tmp_path / "case.json"
    settings = json.loads(SETTINGS.read_text(encoding="utf-8"))
    case.write_text(json.dumps({"exchange": SEED, "settings": settings, "fromat": "evp"}), encoding="utf-8")
    result = _cli("map", "--case", str(case))
    assert result.returncode == 2
    error = json.loads(result.stderr)
    assert (error["error"], error["path"]) == ("InvalidInput", "$.fromat")


# -- the Python API (an adversarial review of the public functions) -------------------------------


def test_a_lone_surrogate_in_an_id_is_invalid_input_not_a_unicode_error() -> None:
    exchange = json.loads(json.dumps(SEED))
    exchange["response"]["id"] = "gen-\ud800"
    with pytest.raises(InvalidInput, match="lone surrogate"):
        dumps(build_payload(exchange, Settings(ml_app="app")))


def test_a_lone_surrogate_in_a_text_that_is_cut_is_handled() -> None:
    exchange = json.loads(json.dumps(SEED))
    exchange["request"]["messages"][0]["content"] = "\ud800" + "y" * 3000  # kept in the cut head
    with pytest.raises(InvalidInput, match="lone surrogate"):
        dumps(build_payload(exchange, Settings(ml_app="app", max_span_bytes=1024)))


@pytest.mark.parametrize(
    ("where", "value", "path"),
    [
        (("timing", "end"), 10**400, "$.timing.end"),
        (("timing", "end"), 2**63, "$.timing.end"),
        (("response", "usage", "cost"), -(10**400), "$.response.usage.cost"),
        (("response", "usage", "completion_tokens"), 2**63, "$.response.usage.completion_tokens"),
    ],
)
def test_numbers_datadog_cannot_store_are_refused_at_their_path(
    where: tuple[str, ...], value: int, path: str
) -> None:
    exchange = json.loads(json.dumps(SEED))
    holder = exchange
    for key in where[:-1]:
        holder = holder[key]
    holder[where[-1]] = value
    if where[0] == "timing":
        exchange["timing"]["start"] = 0
    with pytest.raises(InvalidInput) as info:
        build_payload(exchange, Settings(ml_app="app"))
    assert info.value.path == path
    assert "out of range" in info.value.message


def test_nan_is_named_as_nan() -> None:
    exchange = json.loads(json.dumps(SEED))
    exchange["response"]["usage"]["cost"] = float("nan")
    with pytest.raises(InvalidInput, match="must be a number, not NaN"):
        build_payload(exchange, Settings(ml_app="app"))


def test_destination_headers_repeated_in_another_case_are_refused() -> None:
    with pytest.raises(InvalidSettings) as info:
        Settings.from_destination({"config": {"mlApp": "a", "headers": {"X-Team": "a", "x-team": "b"}}})
    assert (info.value.path, info.value.message) == (
        "$.config.headers",
        "names the header 'x-team' twice (names are case-insensitive)",
    )
    with pytest.raises(InvalidSettings, match="twice"):
        Settings(ml_app="a", headers=(("X-Team", "a"), ("x-team", "b")))
    with pytest.raises(InvalidSettings, match="not a string"):
        Settings.from_destination({"config": {"mlApp": "a", "headers": {1: "x", "a": "y"}}})


def test_the_destination_object_instead_of_settings_is_a_typed_error() -> None:
    destination = json.loads(SETTINGS.read_text(encoding="utf-8"))
    for call in (
        lambda: build_payload(SEED, destination),
        lambda: to_spans(SEED, destination),
        lambda: encode_spans([], destination),
        lambda: decide(SEED, destination),
    ):
        with pytest.raises(InvalidSettings, match=r"Settings\.from_destination"):
            call()


def test_a_format_that_is_not_a_name_is_a_typed_error() -> None:
    with pytest.raises(InvalidSettings, match="must be 'public' or 'evp'"):
        build_payload(SEED, Settings(ml_app="app"), ["evp"])  # type: ignore[arg-type]


def test_encoding_no_spans_is_a_typed_error() -> None:
    with pytest.raises(InvalidInput, match="at least one span"):
        encode_spans([], Settings(ml_app="app"))


@pytest.mark.parametrize("keyword", ["api_key_hash", "api_key_name"])
@pytest.mark.parametrize("value", [b"x", ["x"], {"x": 1}])
def test_decide_refuses_a_key_hash_or_name_that_is_not_a_string(keyword: str, value: object) -> None:
    # str() of these would match a "contains" rule or miss the allowlist without a word
    with pytest.raises(TypeError, match=f"{keyword} must be a string or None"):
        decide(SEED, Settings(ml_app="app"), **{keyword: value})  # type: ignore[arg-type]


def test_a_stream_index_that_is_not_a_number_is_not_quoted() -> None:
    # privacy: a string where a number belongs could be anything; the message gives its type only
    exchange = json.loads(json.dumps(SEED))
    del exchange["response"]
    chunk = {"id": "gen-1", "model": "m/x", "choices": [{"index": "my SSN is 078-05-1120", "delta": {}}]}
    exchange["stream"] = f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n"
    with pytest.raises(InvalidInput) as info:
        build_payload(exchange, Settings(ml_app="app", privacy_mode=True))
    assert "078-05-1120" not in info.value.message
    assert info.value.message.endswith("must be a non-negative integer, not string")
