"""The `map` command's process contract: payload on stdout and exit 0, or exit 2 with one JSON error line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES

SEED = str(EXAMPLES / "seed-exchange.json")
SEED_SETTINGS = str(EXAMPLES / "seed-settings.json")


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "llmobs_mapping", *args],
        input=None if stdin is None else stdin.encode(),
        capture_output=True,
        check=False,
        timeout=60,
    )


def test_seed_example_public() -> None:
    """The seed example maps to a root "Customer Support Bot" with the LLM span under it."""
    done = run("map", SEED, "--settings", SEED_SETTINGS)
    assert done.returncode == 0, done.stderr
    attributes = json.loads(done.stdout)["data"]["attributes"]
    assert attributes["ml_app"] == "production-app"
    assert attributes["session_id"] == "session_abc"
    assert attributes["tags"] == ["service:production-app", "session_id:session_abc", "user_id:user_12345"]
    root, llm = attributes["spans"]
    assert (root["name"], root["meta"]["kind"], root["parent_id"]) == (
        "Customer Support Bot",
        "workflow",
        "undefined",
    )
    assert (llm["name"], llm["meta"]["kind"], llm["parent_id"]) == ("openai/gpt-4o", "llm", root["span_id"])
    custom = {k: llm["meta"]["metadata"][k] for k in ("environment", "team", "ticket_id")}
    assert custom == {"environment": "production", "team": "support", "ticket_id": "TICKET-1234"}


def test_seed_example_evp_carries_same_spans() -> None:
    """--format evp wraps the same spans in SDK envelopes with meta.span.kind."""
    public = json.loads(run("map", SEED, "--settings", SEED_SETTINGS).stdout)
    done = run("map", SEED, "--settings", SEED_SETTINGS, "--format", "evp")
    assert done.returncode == 0, done.stderr
    envelopes = json.loads(done.stdout)
    assert [e["_dd.stage"] for e in envelopes] == ["raw", "raw"]
    evp_spans = [e["spans"][0] for e in envelopes]
    assert [s["meta"]["span"]["kind"] for s in evp_spans] == ["workflow", "llm"]
    assert [s["span_id"] for s in evp_spans] == [s["span_id"] for s in public["data"]["attributes"]["spans"]]
    assert "ml_app:production-app" in evp_spans[1]["tags"]
    assert evp_spans[1]["session_id"] == "session_abc"


def test_output_is_byte_identical_across_runs() -> None:
    """Same inputs, same bytes: no clock, no randomness."""
    first = run("map", SEED, "--settings", SEED_SETTINGS, "--pretty")
    second = run("map", SEED, "--settings", SEED_SETTINGS, "--pretty")
    assert first.returncode == 0
    assert first.stdout == second.stdout


def test_privacy_mode_leaves_no_content() -> None:
    """Privacy mode: neither the prompt nor the answer appears anywhere in the payload."""
    done = run("map", SEED, "--settings", str(EXAMPLES / "seed-settings-privacy.json"))
    assert done.returncode == 0
    assert b"Hello!" not in done.stdout
    assert b"How can I help" not in done.stdout
    assert b"TICKET-1234" in done.stdout  # custom metadata is kept


def test_case_document_on_stdin() -> None:
    """`map --case -` reads {exchange, settings, format} from stdin (the conformance contract)."""
    case = {
        "exchange": json.loads(Path(SEED).read_text()),
        "settings": json.loads(Path(SEED_SETTINGS).read_text()),
        "format": "evp",
    }
    done = run("map", "--case", "-", stdin=json.dumps(case))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == json.loads(
        run("map", SEED, "--settings", SEED_SETTINGS, "--format", "evp").stdout
    )


def _exchange(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(Path(SEED).read_text())
    doc.update(changes)
    return doc


BAD_INPUTS = [
    (
        "missing request",
        {k: v for k, v in _exchange().items() if k != "request"},
        "InvalidInput",
        "$.request",
    ),
    (
        "messages not a list",
        _exchange(request={"model": "m", "messages": {}}),
        "InvalidInput",
        "$.request.messages",
    ),
    ("timing missing", {k: v for k, v in _exchange().items() if k != "timing"}, "InvalidInput", "$.timing"),
    (
        "end before start",
        _exchange(timing={"start": "2026-01-01T00:00:01Z", "end": "2026-01-01T00:00:00Z"}),
        "InvalidInput",
        "$.timing.end",
    ),
    ("not an object", [1, 2], "InvalidInput", "$"),
]


@pytest.mark.parametrize(("label", "doc", "error", "path"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_exit_2_with_json_line(label: str, doc: Any, error: str, path: str, tmp_path: Path) -> None:
    """Bad input: exit 2, nothing on stdout, one JSON line naming the class and the field."""
    exchange = tmp_path / "exchange.json"
    exchange.write_text(json.dumps(doc))
    done = run("map", str(exchange), "--settings", SEED_SETTINGS)
    assert done.returncode == 2
    assert done.stdout == b""
    lines = done.stderr.decode().splitlines()
    assert len(lines) == 1
    line = json.loads(lines[0])
    assert (line["error"], line["path"]) == (error, path)
    assert line["message"]


@pytest.mark.parametrize(
    ("settings", "path", "hint"),
    [
        (
            {"type": "datadog", "config": {"mlApp": "a", "url": "https://app.datadoghq.com"}},
            "$.config.url",
            "api.datadoghq.com",
        ),
        ({"type": "datadog", "config": {"mlApp": ""}}, "$.config.mlApp", "empty"),
        (
            {"type": "datadog", "config": {"mlApp": "a", "url": "https://example.org"}},
            "$.config.url",
            "allow_custom_url",
        ),
    ],
)
def test_bad_settings_exit_2(settings: dict[str, Any], path: str, hint: str, tmp_path: Path) -> None:
    """Unusable settings: exit 2, InvalidSettings at the field, and a message that helps."""
    file = tmp_path / "settings.json"
    file.write_text(json.dumps(settings))
    done = run("map", SEED, "--settings", str(file))
    assert done.returncode == 2
    assert done.stdout == b""
    line = json.loads(done.stderr)
    assert (line["error"], line["path"]) == ("InvalidSettings", path)
    assert hint in line["message"]


def test_non_json_file(tmp_path: Path) -> None:
    """A file that is not JSON is an InvalidInput at $."""
    file = tmp_path / "exchange.json"
    file.write_text("{not json")
    done = run("map", str(file), "--settings", SEED_SETTINGS)
    assert done.returncode == 2
    assert json.loads(done.stderr)["path"] == "$"
    assert json.loads(done.stderr)["error"] == "InvalidInput"


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_json_numbers_canonical_json_cannot_write_are_not_read(number: str, tmp_path: Path) -> None:
    """Python's json reads NaN, Infinity and 1e999 (as inf); a payload holding them would not be
    JSON. Input files are read strictly, so they are an InvalidInput at $, not invalid output."""
    text = Path(SEED).read_text(encoding="utf-8").replace('"support"', number, 1)
    assert number in text
    file = tmp_path / "exchange.json"
    file.write_text(text, encoding="utf-8")
    done = run("map", str(file), "--settings", SEED_SETTINGS)
    assert done.returncode == 2
    error = json.loads(done.stderr)
    assert (error["error"], error["path"]) == ("InvalidInput", "$")
    assert "not valid JSON" in error["message"]
    assert done.stdout == b""
