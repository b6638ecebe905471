"""The sender and Test Connection (contract §8) against a real HTTP server on a loopback port.

The traffic is real (httpx → tests/intake_server.py over TCP); only the waits between retries are
recorded instead of slept, through the sender's injectable ``sleep``.
"""

from __future__ import annotations

import contextlib
import email.utils
import gzip
import json
import math
import random
import socket
import struct
import threading
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import run_cli_to_full_disk
from intake_server import (
    EVP_PATH,
    PUBLIC_PATH,
    VALIDATE_PATH,
    IntakeServer,
    Reply,
    evp_payload,
    public_payload,
)

from llmobs_mapping import sender as sender_module
from llmobs_mapping.batching import batch, count_spans
from llmobs_mapping.cli import main
from llmobs_mapping.decide import decide
from llmobs_mapping.errors import DeliveryError
from llmobs_mapping.sender import DeliveryReport, Sender
from llmobs_mapping.settings import Settings

API_KEY = "feedfacecafebeeffeedfacecafebeef"  # recognisable fake key, 32 hex digits like a real one


@pytest.fixture
def intake() -> Iterator[IntakeServer]:
    with IntakeServer(API_KEY) as server:
        yield server


def _settings(url: str, key: str | None = API_KEY, **extra: Any) -> Settings:
    return Settings(ml_app="my-app", api_key=key, url=url, allow_custom_url=True, **extra)


def _sender(server: IntakeServer, waits: list[float], **kwargs: Any) -> Sender:
    settings = kwargs.pop("settings", None) or _settings(server.url, headers=(("X-Team", "support"),))
    return Sender(settings, sleep=waits.append, rng=random.Random(7), timeout=5.0, **kwargs)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def _all_text(report: DeliveryReport, *more: object) -> str:
    parts = [repr(report), report.summary(), *(repr(r) for r in report.delivered + report.failed)]
    parts += [r.reason for r in report.failed] + [repr(m) + str(m) for m in more]
    return "\n".join(parts)


def test_delivers_every_batch_with_headers(intake: IntakeServer) -> None:
    bodies = batch([public_payload(i, 3, session=f"s{i % 2}") for i in range(4)], "public", max_spans=4)
    waits: list[float] = []
    with _sender(intake, waits) as http:
        report = http.send(bodies)
    assert report.ok
    assert report.url == intake.url + PUBLIC_PATH
    assert [(r.index, r.split, r.size, r.spans, r.status, r.attempts) for r in report.delivered] == [
        (i, "", len(b), count_spans(b), 202, 1) for i, b in enumerate(bodies)
    ]
    assert report.spans_delivered == 12
    assert waits == []
    assert [r.body for r in intake.requests] == bodies
    assert all(r.problems == () for r in intake.requests)
    first = intake.requests[0].headers
    assert first["dd-api-key"] == API_KEY
    assert first["content-type"] == "application/json"
    assert first["x-team"] == "support"  # custom headers of the destination config
    assert first["user-agent"].startswith("llmobs-mapping/")
    assert "x-datadog-evp-subdomain" not in first


def test_scripted_failures_deliver_what_can_be_and_report_the_rest(intake: IntakeServer) -> None:
    bodies = batch([public_payload(i, 2) for i in range(6)], "public", max_spans=2)  # 6 batches
    intake.script(
        PUBLIC_PATH,
        Reply(500),
        Reply(503),
        Reply(202),  # batch 0: 500, 503, then delivered
        Reply(429, headers={"Retry-After": "7"}),
        Reply(202),  # batch 1: waits what Retry-After asks, then delivered
        Reply(400, b'{"errors":["llm spans can only have IO Messages"]}'),  # batch 2: never retried
        Reply(403, b'{"errors":["Forbidden"]}'),  # batch 3: never retried
        *[Reply(drop=True)] * 4,  # batch 4: the connection dropped on every attempt
        Reply(413),  # batch 5: split into halves, both delivered
    )
    waits: list[float] = []
    with _sender(intake, waits) as http:
        report = http.send(bodies)
    assert not report.ok
    assert [(r.index, r.split, r.status, r.attempts) for r in report.delivered] == [
        (0, "", 202, 3),
        (1, "", 202, 2),
        (5, "0", 202, 1),
        (5, "1", 202, 1),
    ]
    assert [(r.index, r.status, r.attempts) for r in report.failed] == [
        (2, 400, 1),
        (3, 403, 1),
        (4, None, 4),
    ]
    assert (
        report.failed[0].reason == 'HTTP 400 Bad Request: {"errors":["llm spans can only have IO Messages"]}'
    )
    assert report.failed[1].reason.startswith("HTTP 403 Forbidden")
    assert report.failed[2].reason.startswith("connection error (RemoteProtocolError)")
    assert [r.body for r in report.failed] == bodies[2:5]  # handed back for the caller to keep
    # every span is accounted for, once
    assert report.spans_delivered + report.spans_failed == 12
    assert report.spans_failed == 6
    assert len(intake.requests) == 3 + 2 + 1 + 1 + 4 + 3
    # backoff: equal jitter within [b/2, b] for b = 0.2, 0.4, 0.8; Retry-After taken as given
    assert len(waits) == 2 + 1 + 3
    assert 0.1 <= waits[0] <= 0.2
    assert 0.2 <= waits[1] <= 0.4
    assert waits[2] == 7.0
    assert 0.1 <= waits[3] <= 0.2
    assert 0.2 <= waits[4] <= 0.4
    assert 0.4 <= waits[5] <= 0.8
    summary = report.summary()
    assert "NOT delivered: 6 span(s) in 3 batch(es)" in summary
    assert f"batch 4: 2 span(s), {len(bodies[4])} bytes, no response after 4 attempt(s)" in summary


@pytest.mark.parametrize("status", [408, 425, 429, 500, 502, 503, 504])
def test_retried_statuses(intake: IntakeServer, status: int) -> None:
    intake.script(PUBLIC_PATH, Reply(status), Reply(status))
    waits: list[float] = []
    with _sender(intake, waits) as http:
        report = http.send(batch([public_payload(1)], "public"))
    assert [(r.status, r.attempts) for r in report.delivered] == [(202, 3)]
    assert len(waits) == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_other_client_errors_are_not_retried(intake: IntakeServer, status: int) -> None:
    intake.script(PUBLIC_PATH, Reply(status))
    waits: list[float] = []
    with _sender(intake, waits) as http:
        report = http.send(batch([public_payload(1)], "public"))
    assert [(r.status, r.attempts) for r in report.failed] == [(status, 1)]
    assert waits == []
    assert len(intake.requests) == 1


@pytest.mark.parametrize("status", [600, 999])
def test_codes_past_599_are_not_retried(intake: IntakeServer, status: int) -> None:
    intake.script(PUBLIC_PATH, Reply(status, b"what?"))
    waits: list[float] = []
    with _sender(intake, waits) as http:
        report = http.send(batch([public_payload(1)], "public"))
    assert [(r.status, r.attempts, r.reason) for r in report.failed] == [(status, 1, f"HTTP {status}: what?")]
    assert waits == []


def test_gives_up_after_max_attempts_on_5xx(intake: IntakeServer) -> None:
    intake.script(PUBLIC_PATH, *[Reply(503, b"busy")] * 3)
    waits: list[float] = []
    with _sender(intake, waits, max_attempts=3) as http:
        report = http.send(batch([public_payload(1)], "public"))
    assert [(r.status, r.attempts, r.reason) for r in report.failed] == [
        (503, 3, "HTTP 503 Service Unavailable: busy")
    ]
    assert len(waits) == 2
    assert len(intake.requests) == 3


def test_413_splits_until_the_server_accepts(intake: IntakeServer) -> None:
    intake.max_spans = 3  # the server answers 413 above 3 spans
    body = batch([public_payload(1, 10)], "public")[0]
    waits: list[float] = []
    with _sender(intake, waits) as http:
        report = http.send([body])
    assert report.ok
    assert [(r.split, r.spans) for r in report.delivered] == [("00", 2), ("01", 3), ("10", 2), ("11", 3)]
    assert [(r.spans, r.answer) for r in intake.requests] == [
        (10, 413),
        (5, 413),
        (2, 202),
        (3, 202),
        (5, 413),
        (2, 202),
        (3, 202),
    ]
    received = [
        s["span_id"]
        for r in intake.requests
        if r.answer == 202
        for s in json.loads(r.body)["data"]["attributes"]["spans"]
    ]
    assert received == [s["span_id"] for s in public_payload(1, 10)["data"]["attributes"]["spans"]]
    assert waits == []


def test_413_on_a_single_span_is_reported(intake: IntakeServer) -> None:
    intake.max_bytes = 500
    body = batch([public_payload(1, 1, text="x" * 600)], "public")[0]
    with _sender(intake, []) as http:
        report = http.send([body])
    assert [(r.status, r.spans, r.attempts) for r in report.failed] == [(413, 1, 1)]
    assert report.failed[0].reason.endswith("(a single span too large for the intake)")


def test_retry_after_http_date_and_caps(intake: IntakeServer) -> None:
    in_30s = email.utils.formatdate(time.time() + 30, usegmt=True)
    intake.script(
        PUBLIC_PATH,
        Reply(503, headers={"Retry-After": in_30s}),
        Reply(429, headers={"Retry-After": "3600"}),
        Reply(429, headers={"Retry-After": "soon"}),  # unreadable: plain backoff
    )
    waits: list[float] = []
    with _sender(intake, waits, backoff_base=10.0, backoff_cap=1.5) as http:
        report = http.send(batch([public_payload(1)], "public"))
    assert report.ok
    assert 27 <= waits[0] <= 30  # an HTTP date, relative to now
    assert waits[1] == 60.0  # Retry-After honoured up to retry_after_cap
    assert 0.75 <= waits[2] <= 1.5  # backoff capped at backoff_cap


def test_unreachable_intake_is_reported_not_raised() -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    waits: list[float] = []
    with Sender(_settings(url), sleep=waits.append, max_attempts=2) as http:
        report = http.send(batch([public_payload(1, 3)], "public"))
    assert [(r.status, r.attempts, r.spans) for r in report.failed] == [(None, 2, 3)]
    assert report.failed[0].reason.startswith("connection error (ConnectError)")
    assert len(waits) == 1


def test_gzip_bodies(intake: IntakeServer) -> None:
    bodies = batch([public_payload(1, 4, text="compress me " * 50)], "public")
    with _sender(intake, [], gzip=True) as http:
        report = http.send(bodies)
    assert report.ok
    got = intake.requests[0]
    assert got.headers["content-encoding"] == "gzip"
    assert got.body == bodies[0]  # the server decompressed it
    assert int(got.headers["content-length"]) == len(gzip.compress(bodies[0], mtime=0)) < len(bodies[0])


def test_agentless_evp_to_a_custom_url(intake: IntakeServer) -> None:
    payloads = [evp_payload(1, 2), evp_payload(2, 3)]
    with _sender(intake, [], mode="agentless") as http:
        assert http.url == intake.url + EVP_PATH
        report = http.send_payloads(payloads)
    assert report.ok
    assert [json.loads(r.body) for r in intake.requests] == [payloads[0] + payloads[1]]
    assert intake.requests[0].problems == ()
    assert intake.requests[0].headers["dd-api-key"] == API_KEY


def test_routes_for_datadog_sites() -> None:
    settings = Settings(ml_app="a", api_key=API_KEY, url="https://api.datadoghq.eu")
    with Sender(settings) as public, Sender(settings, mode="agentless") as agentless:
        assert public.url == "https://api.datadoghq.eu/api/intake/llm-obs/v1/trace/spans"
        assert agentless.url == "https://llmobs-intake.datadoghq.eu/api/v2/llmobs"
    no_key = Settings(ml_app="a", url="https://api.datadoghq.eu")
    with (
        Sender(no_key, mode="agent") as agent,
        Sender(no_key, mode="agent", agent_url="http://dd-agent:8126/") as named,
    ):
        assert agent.url == "http://localhost:8126/evp_proxy/v2/api/v2/llmobs"
        assert named.url == "http://dd-agent:8126/evp_proxy/v2/api/v2/llmobs"
    with Sender(no_key, mode="agent", gzip=True) as zipped:  # v2 drops Content-Encoding; v4 keeps it
        assert zipped.url == "http://localhost:8126/evp_proxy/v4/api/v2/llmobs"


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [
        ({"mode": "carrier-pigeon"}, "$.mode"),
        ({"max_attempts": 0}, "$.max_attempts"),
        ({"agent_url": "http://x:8126"}, "$.agent_url"),
        ({"mode": "agent", "agent_url": "ftp://x"}, "$.agent_url"),
        ({"mode": "agent", "agent_url": "http://x:8126/some/path"}, "$.agent_url"),
    ],
)
def test_bad_sender_options(kwargs: dict[str, Any], path: str) -> None:
    with pytest.raises(DeliveryError) as caught:
        Sender(_settings("http://127.0.0.1:9"), **kwargs)
    assert caught.value.path == path


def test_missing_key_and_wrong_format_fail_before_sending(intake: IntakeServer) -> None:
    with pytest.raises(DeliveryError) as caught:
        Sender(_settings(intake.url, key=None))
    assert caught.value.path == "$.config.apiKey"
    with _sender(intake, []) as http, pytest.raises(DeliveryError) as wrong:
        http.send([*batch([public_payload(1)], "public"), *batch([evp_payload(2)], "evp")])
    assert wrong.value.path == "$[1]"
    assert wrong.value.message == "is a evp-format body but public mode sends the public format"
    with _sender(intake, []) as http, pytest.raises(DeliveryError) as not_json:
        http.send([b"{oops"])
    assert not_json.value.path == "$[0]"
    assert intake.requests == []


def test_api_key_never_leaks(intake: IntakeServer) -> None:
    echo = b'{"errors":["bad request from key ' + API_KEY.encode() + b'"]}'
    intake.script(PUBLIC_PATH, Reply(400, echo), Reply(500, API_KEY.encode()))
    waits: list[float] = []
    http = _sender(intake, waits, max_attempts=2)
    with http:
        report = http.send(batch([public_payload(1), public_payload(2, session="s")], "public"))
    assert [r.status for r in report.failed] == [400]
    assert "from key <api key>" in report.failed[0].reason
    errors: list[Exception] = []
    for bad in ({"mode": "nope"}, {"max_attempts": -1}):
        with pytest.raises(DeliveryError) as caught:
            Sender(_settings(intake.url), **bad)
        errors.append(caught.value)
    down = Sender(_settings(f"http://127.0.0.1:{_free_port()}"), sleep=waits.append, max_attempts=1)
    with down:
        unreachable = down.send(batch([public_payload(3)], "public"))
    text = _all_text(report, http, down, *errors) + _all_text(unreachable)
    assert "Sender(mode='public'" in text
    assert API_KEY not in text
    assert API_KEY[:12] not in text


# ---- Test Connection (contract §8; intake reference §1.6) -------------------------------------------------


def test_connection_valid_key(intake: IntakeServer) -> None:
    result = sender_module.test_connection(_settings(intake.url))
    assert (result.ok, result.status, result.reason) == (True, 200, "valid")
    assert result.message == f"The API key is valid for {intake.url}."
    assert intake.requests[0].path == VALIDATE_PATH
    assert intake.requests[0].headers["dd-api-key"] == API_KEY


@pytest.mark.parametrize(
    ("key", "script", "expected"),
    [
        ("0" * 32, None, (403, "wrong_site_or_key", "the key is wrong or belongs to another Datadog site")),
        (
            "not-a-datadog-key",
            None,
            (403, "invalid_key", "does not look like one (32 hexadecimal characters)"),
        ),
        (API_KEY, Reply(429), (429, "rate_limited", "rate-limiting")),
        (API_KEY, Reply(500), (500, "unexpected", "answered HTTP 500")),
        (API_KEY, Reply(404), (404, "not_datadog", "has no Datadog key-validation endpoint")),
        (
            API_KEY,
            Reply(200, b"<html>welcome</html>"),
            (200, "not_datadog", "answered but not like Datadog's API"),
        ),
        (
            API_KEY,
            Reply(200, b'{"valid": false}'),
            (200, "not_datadog", "answered but not like Datadog's API"),
        ),
    ],
)
def test_connection_failures(
    intake: IntakeServer, key: str, script: Reply | None, expected: tuple[int, str, str]
) -> None:
    if script is not None:
        intake.script(VALIDATE_PATH, script)
    result = sender_module.test_connection(_settings(intake.url, key=key))
    status, reason, phrase = expected
    assert (result.ok, result.status, result.reason) == (False, status, reason)
    assert phrase in result.message
    assert result.message.endswith(".")
    assert result.message.count(". ") == 0  # one sentence
    assert key not in result.message


def test_connection_unreachable_and_missing_key() -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    result = sender_module.test_connection(_settings(url))
    assert (result.ok, result.status, result.reason) == (False, None, "unreachable")
    assert result.message.startswith(f"Could not reach {url} (")
    assert result.message.endswith("; check the URL and your network.")
    missing = sender_module.test_connection(_settings(url, key=None))
    assert (missing.ok, missing.reason) == (False, "missing_key")


# ---- CLI -------------------------------------------------------------------------------------------------


def _write(tmp_path: Path, name: str, doc: Any) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return str(path)


def _destination(url: str, key: str = API_KEY) -> dict[str, Any]:
    return {
        "type": "datadog",
        "config": {"apiKey": key, "mlApp": "cli-app", "url": url},
        "allow_custom_url": True,
    }


def _example_exchange() -> Any:
    return json.loads(
        (Path(__file__).resolve().parent.parent / "examples" / "seed-exchange.json").read_text()
    )


def test_cli_send_delivers(intake: IntakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = _write(tmp_path, "s.json", _destination(intake.url))
    exchange = _write(tmp_path, "e.json", _example_exchange())
    assert main(["send", exchange, exchange, "--settings", settings]) == 0
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert result["ok"] is True
    assert result["failed"] == []
    assert [(d["status"], d["spans"]) for d in result["delivered"]] == [(202, 4)]  # 2 exchanges, 1 request
    assert err == f"delivered 4 span(s) in 1 request(s) to {intake.url}{PUBLIC_PATH}\n"
    assert intake.requests[0].problems == ()


def test_cli_send_reports_failures_with_exit_1(
    intake: IntakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    intake.script(PUBLIC_PATH, Reply(400, b"nope"))
    settings = _write(tmp_path, "s.json", _destination(intake.url))
    exchange = _write(tmp_path, "e.json", _example_exchange())
    assert main(["send", exchange, "--settings", settings]) == 1
    out, err = capsys.readouterr()
    assert json.loads(out)["failed"][0]["reason"] == "HTTP 400 Bad Request: nope"
    assert "NOT delivered: 2 span(s) in 1 batch(es)" in err
    assert API_KEY not in out + err


def test_cli_send_test_trace_and_dry_run(
    intake: IntakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = _write(tmp_path, "s.json", _destination(intake.url))
    assert main(["send", "--test-trace", "--settings", settings, "--format", "evp"]) == 0
    capsys.readouterr()
    sent = json.loads(intake.requests[0].body)
    assert intake.requests[0].path == EVP_PATH
    assert intake.requests[0].problems == ()
    assert [e["spans"][0]["name"] for e in sent] == [
        "Test Trace - OpenRouter Observability",
        "Test Generation",
    ]
    exchange = _write(tmp_path, "e.json", _example_exchange())
    assert main(["send", exchange, "--settings", settings, "--dry-run", "--agent", "http://127.0.0.1:9"]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert len(lines) == 1
    assert [e["spans"][0]["meta"]["span"]["kind"] for e in json.loads(lines[0])] == ["workflow", "llm"]
    assert err == "dry run: 2 span(s) in 1 request(s) (evp format), nothing sent\n"
    assert len(intake.requests) == 1


def _session_exchange(session: str, gen: str) -> Any:
    doc = _example_exchange()
    doc["request"]["session_id"] = session
    doc["response"]["id"] = gen
    return doc


def test_cli_send_applies_the_destination_rules(
    intake: IntakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Like Broadcast, ``send`` sends what ``decide`` lets through (contract §2): a disabled
    destination sends nothing, sampling keeps whole sessions, and ``--send-all`` sends everything."""
    files = [_write(tmp_path, f"e{i}.json", _session_exchange(f"s-{i}", f"gen-{i}")) for i in range(40)]
    disabled = _write(tmp_path, "off.json", {**_destination(intake.url), "enabled": False})
    assert main(["send", *files[:3], "--settings", disabled]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["skipped"] == {"disabled": 3}
    assert json.loads(out)["delivered"] == []
    assert err.endswith(
        "skipped 3 exchange(s) by the destination's rules: disabled 3 (--send-all sends them)\n"
    )
    assert intake.requests == []

    half = _write(tmp_path, "half.json", {**_destination(intake.url), "sampling_rate": 0.5})
    settings = Settings.from_destination(json.loads(Path(half).read_text()))
    kept = [f for f in files if decide(json.loads(Path(f).read_text()), settings).send]
    assert 5 < len(kept) < 35  # sampling by session id, deterministic
    assert main(["send", *files, "--settings", half]) == 0
    result = json.loads(capsys.readouterr()[0])
    assert result["skipped"] == {"sampled_out": len(files) - len(kept)}
    assert sum(d["spans"] for d in result["delivered"]) == 2 * len(kept)
    # public requests are grouped by session (its tags): one request per kept session
    bodies = [json.loads(r.body)["data"]["attributes"] for r in intake.requests]
    sent_sessions = {a["session_id"] for a in bodies}
    assert sent_sessions == {json.loads(Path(f).read_text())["request"]["session_id"] for f in kept}

    assert main(["send", *files[:3], "--settings", disabled, "--send-all"]) == 0
    result = json.loads(capsys.readouterr()[0])
    assert (result["skipped"], sum(d["spans"] for d in result["delivered"])) == ({}, 6)


def test_cli_send_dry_run_reports_skips(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    keyed = _write(tmp_path, "k.json", {**_destination("http://127.0.0.1:9"), "api_key_hashes": ["abc"]})
    exchange = _write(tmp_path, "e.json", _example_exchange())
    assert main(["send", exchange, "--settings", keyed, "--dry-run"]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        "dry run: 0 span(s) in 0 request(s) (public format), nothing sent\n"
        "skipped 1 exchange(s) by the destination's rules: api_key_not_allowed 1 (--send-all sends them)\n"
    )


@pytest.mark.parametrize(
    ("argv", "path", "phrase"),
    [
        (["send", "EXCHANGE"], "$", "--settings SETTINGS.json is required"),
        (["send", "--settings", "SETTINGS"], "$", "give EXCHANGE.json files or --test-trace"),
        (["send", "EXCHANGE", "--test-trace", "--settings", "SETTINGS"], "$", "give EXCHANGE.json files"),
        (
            ["send", "EXCHANGE", "--settings", "SETTINGS", "--agent", "http://a", "--format", "public"],
            "$",
            "--agent",
        ),
        (["send", "missing.json", "--settings", "SETTINGS"], "$", "missing.json: cannot read"),
        (["send", "BAD_EXCHANGE", "--settings", "SETTINGS"], "$.request", "BAD_EXCHANGE"),
        (["send", "EXCHANGE", "--settings", "NO_KEY"], "$.config.apiKey", "is required"),
    ],
)
def test_cli_send_bad_input_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], path: str, phrase: str
) -> None:
    files = {
        "SETTINGS": _write(tmp_path, "s.json", _destination("http://127.0.0.1:9")),
        "NO_KEY": _write(
            tmp_path,
            "k.json",
            {"config": {"mlApp": "a", "url": "http://127.0.0.1:9"}, "allow_custom_url": True},
        ),
        "EXCHANGE": _write(tmp_path, "e.json", _example_exchange()),
        "BAD_EXCHANGE": _write(tmp_path, "b.json", {"request": 3}),
        "missing.json": str(tmp_path / "missing.json"),
    }
    args = [files.get(a, a) for a in argv]
    phrase = files.get(phrase, phrase)
    assert main(args) == 2
    out, err = capsys.readouterr()
    assert out == ""
    error = json.loads(err)
    assert error["path"] == path
    assert phrase in error["message"]


def test_cli_test_connection(
    intake: IntakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = _write(tmp_path, "good.json", _destination(intake.url))
    bad = _write(tmp_path, "bad.json", _destination(intake.url, key="0" * 32))
    assert main(["test-connection", "--settings", good]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == {
        "ok": True,
        "status": 200,
        "reason": "valid",
        "message": f"The API key is valid for {intake.url}.",
    }
    assert err == f"The API key is valid for {intake.url}.\n"
    assert main(["test-connection", "--settings", bad]) == 1
    out, _ = capsys.readouterr()
    assert json.loads(out)["reason"] == "wrong_site_or_key"


# ---- A server that breaks the client: every failure is data in the report, never an exception ------------

CORRUPT_GZIP = b"\x1f\x8b\x08\x00 this is not gzip"
GZIP = {"Content-Encoding": "gzip"}


@pytest.mark.parametrize(
    ("status", "phrase", "attempts", "waits"),
    [
        (400, "Bad Request", 1, []),  # final, as any 400
        (503, "Service Unavailable", 3, [2.0, 2.0]),  # retried, as any 503, honouring Retry-After
        (429, "Too Many Requests", 3, [2.0, 2.0]),
    ],
)
def test_an_undecodable_error_body_fails_like_its_status(
    intake: IntakeServer, status: int, phrase: str, attempts: int, waits: list[float]
) -> None:
    reply = Reply(status, CORRUPT_GZIP, headers={**GZIP, "Retry-After": "2"})
    intake.script(PUBLIC_PATH, reply, reply, reply)
    recorded: list[float] = []
    with _sender(intake, recorded, max_attempts=3) as http:
        report = http.send(batch([public_payload(1)], "public"))
    assert [(r.status, r.attempts, r.reason) for r in report.failed] == [
        (status, attempts, f"HTTP {status} {phrase}: the body could not be decoded (Content-Encoding: gzip)")
    ]
    assert recorded == waits
    assert len(intake.requests) == attempts


@pytest.mark.parametrize(
    ("headers", "body", "detail"),
    [
        (
            {"Content-Encoding": "deflate"},
            b"not deflate",
            "the body could not be decoded (Content-Encoding: deflate)",
        ),
        ({"Content-Encoding": "br"}, b"\x0b\x02\x80", "the body could not be decoded (Content-Encoding: br)"),
        (
            {"Content-Encoding": "gzip, zip"},
            b"x",
            "the body could not be decoded (Content-Encoding: gzip, zip)",
        ),
        (GZIP, gzip.compress(b'{"errors": ["bad span"]}'), '{"errors": ["bad span"]}'),  # decoded
        ({"Content-Encoding": "identity"}, b"plain", "plain"),
        ({"Content-Type": "text/plain; charset=latin-1"}, "caf\u00e9".encode("latin-1"), "caf\u00e9"),
        ({}, b"caf\xc3\xa9 \xff!", "caf\u00e9 \ufffd!"),  # invalid UTF-8 is replaced, not raised
    ],
)
def test_error_bodies_are_decoded_or_said_undecodable(
    intake: IntakeServer, headers: dict[str, str], body: bytes, detail: str
) -> None:
    intake.script(PUBLIC_PATH, Reply(400, body, headers=headers))
    with _sender(intake, []) as http:
        report = http.send(batch([public_payload(1)], "public"))
    assert [(r.status, r.attempts, r.reason) for r in report.failed] == [
        (400, 1, f"HTTP 400 Bad Request: {detail}")
    ]


def test_an_undecodable_body_still_splits_on_413_and_delivers_on_2xx(intake: IntakeServer) -> None:
    intake.script(PUBLIC_PATH, Reply(413, CORRUPT_GZIP, headers=GZIP), Reply(202, CORRUPT_GZIP, headers=GZIP))
    body = batch([public_payload(1, 4)], "public")[0]
    with _sender(intake, []) as http:
        report = http.send([body])
    assert report.ok
    assert [(r.split, r.status, r.attempts) for r in report.delivered] == [("0", 202, 1), ("1", 202, 1)]


@pytest.mark.parametrize(("status", "attempts"), [(400, 1), (503, 2)])
def test_a_body_cut_off_fails_like_its_status(intake: IntakeServer, status: int, attempts: int) -> None:
    reply = Reply(status, b'{"errors": ["' + b"x" * 100 + b'"]}', cut=10)
    intake.script(PUBLIC_PATH, reply, reply)
    waits: list[float] = []
    with _sender(intake, waits, max_attempts=2) as http:
        report = http.send(batch([public_payload(1)], "public"))
    [failed] = report.failed
    assert (failed.status, failed.attempts) == (status, attempts)
    assert failed.reason.startswith(f"HTTP {status} ")
    assert ": the body broke off (RemoteProtocolError: " in failed.reason
    assert len(waits) == attempts - 1


def test_a_2xx_whose_body_breaks_off_is_delivered(intake: IntakeServer) -> None:
    intake.script(PUBLIC_PATH, Reply(202, b'{"status": "accepted"}', cut=3))
    bodies = batch([public_payload(1), public_payload(2, session="s")], "public")
    with _sender(intake, []) as http:
        report = http.send(bodies)
    assert [(r.index, r.status, r.attempts) for r in report.delivered] == [(0, 202, 1), (1, 202, 1)]
    assert len(intake.requests) == 2


def test_a_huge_error_body_is_not_read_to_the_end(intake: IntakeServer) -> None:
    intake.script(PUBLIC_PATH, Reply(500, flood=96 << 20))
    with _sender(intake, [], max_attempts=1) as http:
        report = http.send(batch([public_payload(1)], "public"))
    [failed] = report.failed
    assert failed.reason == "HTTP 500 Internal Server Error: " + "x" * 300 + "…"
    [written] = intake.wait_floods(1)
    assert written < 32 << 20  # what the socket buffers held when the client hung up


def test_a_compressed_error_body_is_not_inflated_whole(intake: IntakeServer) -> None:
    bomb = gzip.compress(b"x" * (32 << 20), compresslevel=9)  # 32 KiB that inflate to 32 MiB
    intake.script(PUBLIC_PATH, Reply(400, bomb, headers=GZIP))
    tracemalloc.start()
    try:
        with _sender(intake, []) as http:
            report = http.send(batch([public_payload(1)], "public"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [(r.status, r.reason) for r in report.failed] == [
        (400, "HTTP 400 Bad Request: " + "x" * 300 + "…")
    ]
    assert peak < 4 << 20


def test_a_trickled_error_body_is_read_for_at_most_the_timeout(intake: IntakeServer) -> None:
    intake.script(PUBLIC_PATH, Reply(503, flood=1 << 30, pace=0.02))
    started = time.monotonic()
    with Sender(_settings(intake.url), timeout=0.5, max_attempts=1) as http:
        report = http.send(batch([public_payload(1)], "public"))
    assert time.monotonic() - started < 3
    [failed] = report.failed
    assert failed.reason.startswith("HTTP 503 Service Unavailable: xxxxxxxxxxxxxxxx")
    assert failed.reason.endswith("…")


_NOW = 1_700_000_000.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7", 7.0),
        (" 7 ", 7.0),
        ("0", 0.0),
        ("2.5", 2.5),
        ("9" * 5000, math.inf),  # honoured up to retry_after_cap
        ("-5", None),  # not delta-seconds: plain backoff
        ("NaN", None),
        ("nan", None),
        ("inf", None),
        ("1e400", None),
        ("1_0", None),
        ("+5", None),
        ("\u0663", None),  # a non-ASCII digit
        ("", None),
        ("soon", None),
        ("5, 7", None),
        (email.utils.formatdate(_NOW + 30, usegmt=True), 30.0),
        (email.utils.formatdate(_NOW - 3600, usegmt=True), 0.0),  # a date in the past: now
        ("Tue, 14 Nov 2023 22:13:50 -0000", 30.0),  # no zone: taken as UTC, not local time
        ("Fri, 31 Dec 9999 23:59:59 GMT", 253402300799.0 - _NOW),
        ("Fri, 31 Dec 99999 23:59:59 GMT", None),
        ("Fri, 31 Dec 9999 23:59:59 +2400", None),
        ("Mon, 32 Foo 2024 99:99:99 GMT", None),
    ],
)
def test_retry_after_values(value: str, expected: float | None) -> None:
    assert sender_module._retry_after(value, _NOW) == expected


def test_bogus_retry_after_falls_back_to_backoff(intake: IntakeServer) -> None:
    intake.script(
        PUBLIC_PATH,
        Reply(503, headers={"Retry-After": "-5"}),
        Reply(503, headers={"Retry-After": "NaN"}),
        Reply(503, headers={"Retry-After": "1e400"}),
    )
    waits: list[float] = []
    with _sender(intake, waits) as http:
        report = http.send(batch([public_payload(1)], "public"))
    assert [(r.status, r.attempts) for r in report.delivered] == [(202, 4)]
    assert 0.1 <= waits[0] <= 0.2
    assert 0.2 <= waits[1] <= 0.4
    assert 0.4 <= waits[2] <= 0.8


def test_redirects_are_not_followed_even_by_a_client_that_follows(intake: IntakeServer) -> None:
    with IntakeServer(API_KEY) as elsewhere, httpx.Client(follow_redirects=True, timeout=5.0) as client:
        target = elsewhere.url + PUBLIC_PATH
        intake.script(
            PUBLIC_PATH,
            Reply(307, headers={"Location": target}),
            Reply(308, headers={"Location": target}),
            Reply(302),  # no Location at all
        )
        waits: list[float] = []
        bodies = batch([public_payload(i, session=f"s{i}") for i in range(3)], "public")
        with _sender(intake, waits, client=client) as http:
            report = http.send(bodies)
        assert elsewhere.requests == []  # the key went nowhere else
        assert not client.is_closed  # a shared client stays open
    assert [(r.status, r.attempts, r.reason) for r in report.failed] == [
        (307, 1, f"HTTP 307 Temporary Redirect: redirected to {target}, not followed"),
        (308, 1, f"HTTP 308 Permanent Redirect: redirected to {target}, not followed"),
        (302, 1, "HTTP 302 Found"),
    ]
    assert waits == []


@contextlib.contextmanager
def _hostile_server() -> Iterator[str]:
    """A loopback port that accepts each connection and resets it at once, before reading a byte."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:  # the listener was closed: the test is over
                return
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(); close() alone does not
        listener.close()
        thread.join(timeout=5)


def test_servers_that_do_not_speak_http_are_connection_errors(intake: IntakeServer) -> None:
    intake.script(PUBLIC_PATH, Reply(raw=b"hello\r\n\r\n"), Reply(raw=b"HTTP/1.1 20"), Reply(drop=True))
    waits: list[float] = []
    with _sender(intake, waits, max_attempts=3) as http:
        garbage = http.send(batch([public_payload(1)], "public"))
    with _hostile_server() as url, Sender(_settings(url), sleep=waits.append, max_attempts=2) as http:
        reset = http.send(batch([public_payload(1)], "public"))
    for report, attempts in ((garbage, 3), (reset, 2)):
        [failed] = report.failed
        assert (failed.status, failed.attempts) == (None, attempts)
        assert failed.reason.startswith("connection error (")
    assert len(waits) == 2 + 1


def test_api_key_never_leaks_from_broken_answers(intake: IntakeServer) -> None:
    cap = sender_module._BODY_BYTES
    intake.script(
        PUBLIC_PATH,
        Reply(400, b"x", headers={"Content-Encoding": API_KEY}),
        Reply(400, b"x", phrase=f"Bad {API_KEY} Request"),
        Reply(308, headers={"Location": f"http://127.0.0.1:9/?key={API_KEY}"}),
        Reply(400, b" " * (cap - 6) + API_KEY.encode()),  # the cap cuts the key: no piece of it shown
        Reply(400, b"x" * (cap - 6) + API_KEY.encode()),
    )
    bodies = batch([public_payload(i, session=f"s{i}") for i in range(5)], "public")
    with _sender(intake, []) as http:
        report = http.send(bodies)
    assert [r.reason for r in report.failed] == [
        "HTTP 400 Bad Request: the body could not be decoded (Content-Encoding: <api key>)",
        "HTTP 400 Bad <api key> Request: x",
        "HTTP 308 Permanent Redirect: redirected to http://127.0.0.1:9/?key=<api key>, not followed",
        "HTTP 400 Bad Request: …",
        "HTTP 400 Bad Request: " + "x" * 300 + "…",
    ]
    intake.script(VALIDATE_PATH, Reply(200, b"x", headers={"Content-Encoding": API_KEY}))
    result = sender_module.test_connection(_settings(intake.url))
    text = _all_text(report, result)
    assert API_KEY not in text
    assert API_KEY[:6] not in text
    assert "<api key>" in result.message


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (Reply(200, b"[1, 2]"), (200, "not_datadog", "answered but not like Datadog's API")),
        (Reply(200, b'"valid"'), (200, "not_datadog", "answered but not like Datadog's API")),
        (Reply(200, b"\xff\xfe{\xfa"), (200, "not_datadog", "answered but not like Datadog's API")),
        (Reply(200, b"[" * 50_000), (200, "not_datadog", "answered but not like Datadog's API")),
        (Reply(200, flood=96 << 20), (200, "not_datadog", "answered but not like Datadog's API")),
        (
            Reply(200, CORRUPT_GZIP, headers=GZIP),
            (
                200,
                "unexpected",
                "HTTP 200 to the key check but the body could not be decoded (Content-Encoding: gzip)",
            ),
        ),
        (
            Reply(200, gzip.compress(b'{"valid": true}'), headers=GZIP),
            (200, "valid", "The API key is valid"),
        ),
        (
            Reply(200, b'{"valid": true}', cut=4),
            (
                200,
                "unexpected",
                "answered HTTP 200 to the key check but the body broke off (RemoteProtocolError)",
            ),
        ),
        (Reply(403, CORRUPT_GZIP, headers=GZIP), (403, "wrong_site_or_key", "the key is wrong")),
        (Reply(503, CORRUPT_GZIP, headers=GZIP), (503, "unexpected", "answered HTTP 503")),
        (Reply(503, b"busy", cut=1), (503, "unexpected", "answered HTTP 503")),
        (Reply(raw=b"hello\r\n\r\n"), (None, "unreachable", "Could not reach")),
    ],
)
def test_connection_survives_broken_answers(
    intake: IntakeServer, reply: Reply, expected: tuple[int | None, str, str]
) -> None:
    intake.script(VALIDATE_PATH, reply)
    result = sender_module.test_connection(_settings(intake.url))
    status, reason, phrase = expected
    assert (result.ok, result.status, result.reason) == (reason == "valid", status, reason)
    assert phrase in result.message
    assert result.message.endswith(".")
    assert result.message.count(". ") == 0  # one sentence
    if reply.flood:
        [written] = intake.wait_floods(1)
        assert written < 32 << 20


def test_connection_does_not_follow_redirects(intake: IntakeServer) -> None:
    with IntakeServer(API_KEY) as elsewhere, httpx.Client(follow_redirects=True, timeout=5.0) as client:
        intake.script(VALIDATE_PATH, Reply(302, headers={"Location": elsewhere.url + VALIDATE_PATH}))
        result = sender_module.test_connection(_settings(intake.url), client=client)
        assert elsewhere.requests == []
    assert (result.ok, result.status, result.reason) == (False, 302, "not_datadog")


def test_connection_reset_at_once_is_unreachable() -> None:
    with _hostile_server() as url:
        result = sender_module.test_connection(_settings(url))
    assert (result.ok, result.status, result.reason) == (False, None, "unreachable")


# ---- CLI output that cannot be written (stdout on a full disk) -------------------------------------------


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize(
    ("command", "outcome"),
    [
        ("dry-run", ""),
        ("send", "; 2 span(s) delivered, 0 not delivered"),  # the report is lost, not what happened
        ("test-connection", ""),
    ],
)
def test_cli_stdout_on_a_full_disk_exit_2(
    intake: IntakeServer, tmp_path: Path, command: str, outcome: str
) -> None:
    settings = _write(tmp_path, "s.json", _destination(intake.url))
    exchange = _write(tmp_path, "e.json", _example_exchange())
    args = {
        "dry-run": ["send", exchange, "--settings", settings, "--dry-run"],
        "send": ["send", exchange, "--settings", settings],
        "test-connection": ["test-connection", "--settings", settings],
    }[command]
    done = run_cli_to_full_disk(*args)
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.splitlines()  # one JSON line: no traceback, nothing failing again at exit
    assert json.loads(line) == {
        "error": "OutputError",
        "path": "$",
        "message": "cannot write the output: No space left on device" + outcome,
    }
    assert len(intake.requests) == (1 if command != "dry-run" else 0)
