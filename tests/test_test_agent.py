"""Agent mode against the real Datadog APM test agent (``ddapm-test-agent`` from PyPI).

The test agent runs as a subprocess on free loopback ports, with forwarding to Datadog disabled and
no API key or upstream agent in its environment (intake reference §5.3 safety notes). What it stored
is read back from ``/test/session/requests`` and decoded with its own ``decode_llmobs_payload``.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from conftest import stop_process
from ddapm_test_agent.llmobs_trace import decode_llmobs_payload  # type: ignore[import-untyped]
from intake_server import evp_payload

from llmobs_mapping import testtrace
from llmobs_mapping.batching import batch
from llmobs_mapping.encode import build_payload
from llmobs_mapping.sender import Sender
from llmobs_mapping.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
FAKE_KEY = "feedfacecafebeeffeedfacecafebeef"
_UNSAFE_ENV = ("DD_API_KEY", "DD_AGENT_URL", "DD_TRACE_AGENT_URL", "DD_SITE")


@dataclass(frozen=True)
class AgentProcess:
    url: str


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@pytest.fixture(scope="module")
def test_agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentProcess]:
    """Start ``ddapm-test-agent`` on free ports; stop it after the module's tests."""
    executable = Path(sys.executable).parent / "ddapm-test-agent"
    if not executable.exists():
        pytest.fail(f"ddapm-test-agent is not installed next to {sys.executable}; install the test extra")
    port, otlp_http, otlp_grpc = _free_ports(3)
    workdir = tmp_path_factory.mktemp("test-agent")
    env = {k: v for k, v in os.environ.items() if k not in _UNSAFE_ENV}
    command = [
        str(executable),
        "--host=127.0.0.1",
        f"--port={port}",
        f"--otlp-http-port={otlp_http}",
        f"--otlp-grpc-port={otlp_grpc}",
        "--disable-llmobs-data-forwarding",
        "--dd-api-key=",
    ]
    url = f"http://127.0.0.1:{port}"
    with (workdir / "agent.log").open("wb") as log:
        process = subprocess.Popen(command, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while True:
                if process.poll() is not None:
                    pytest.fail(f"ddapm-test-agent exited: {(workdir / 'agent.log').read_text()[-2000:]}")
                try:
                    if httpx.get(url + "/info", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail("ddapm-test-agent did not answer /info within 30 s")
                time.sleep(0.1)
            yield AgentProcess(url)
        finally:
            stop_process(process)


def _stored(agent: AgentProcess, token: str) -> list[dict[str, Any]]:
    """The LLM Obs posts the test agent stored for ``token``, oldest first."""
    response = httpx.get(
        agent.url + "/test/session/requests", params={"test_session_token": token}, timeout=5
    )
    assert response.status_code == 200
    return [r for r in response.json() if "/api/v2/llmobs" in r["url"]]  # oldest first


def _settings(token: str, key: str | None = None) -> Settings:
    # the session token rides in the destination's custom headers, which the sender must pass on
    return Settings(
        ml_app="agent-app",
        api_key=key,
        url="https://api.datadoghq.com",
        headers=(("X-Datadog-Test-Session-Token", token),),
    )


def _payloads(settings: Settings) -> list[Any]:
    seed = json.loads((ROOT / "examples" / "seed-exchange.json").read_text(encoding="utf-8"))
    return [
        build_payload(testtrace.test_trace_exchange(1_780_000_000_000), settings, "evp"),
        *[evp_payload(trace, 2, text=f"héllo ☃ {trace} " * 20) for trace in range(1, 4)],
        build_payload(seed, settings, "evp"),
    ]


def test_evp_batches_arrive_intact_through_the_agent_route(test_agent: AgentProcess) -> None:
    token = f"llmobs-mapping-{uuid.uuid4()}"
    settings = _settings(token, key=FAKE_KEY)  # a key is set, but agent mode must not send it
    payloads = _payloads(settings)
    bodies = batch(payloads, "evp", max_spans=3)
    assert len(bodies) == 4  # 2 + 6 + 2 spans in requests of at most 3
    with Sender(settings, mode="agent", agent_url=test_agent.url, sleep=lambda _: None) as http:
        report = http.send(bodies)
    assert report.ok
    assert [(r.status, r.attempts) for r in report.delivered] == [(200, 1)] * 4
    assert report.url == test_agent.url + "/evp_proxy/v2/api/v2/llmobs"
    stored = _stored(test_agent, token)
    assert len(stored) == 4
    sent_envelopes = [envelope for payload in payloads for envelope in payload]
    received: list[dict[str, Any]] = []
    for request, body in zip(stored, bodies, strict=True):
        headers = {k.lower(): v for k, v in request["headers"].items()}
        assert request["method"] == "POST"
        assert urlsplit(request["url"]).path == "/evp_proxy/v2/api/v2/llmobs"
        assert headers["x-datadog-evp-subdomain"] == "llmobs-intake"
        assert headers["content-type"] == "application/json"
        assert "dd-api-key" not in headers
        raw = base64.b64decode(request["body"])
        assert raw == body  # byte for byte
        received.extend(decode_llmobs_payload(raw, headers["content-type"]))
    # span by span, with the test agent's own decoder, in the order sent
    assert received == sent_envelopes
    assert len(received) == 10
    assert FAKE_KEY not in json.dumps(stored)


def test_gzip_goes_through_the_v4_proxy(test_agent: AgentProcess) -> None:
    token = f"llmobs-mapping-{uuid.uuid4()}"
    settings = _settings(token)  # agent mode needs no key at all
    payloads = _payloads(settings)
    with Sender(settings, mode="agent", agent_url=test_agent.url, gzip=True) as http:
        report = http.send_payloads(payloads)
    assert report.ok
    assert report.url == test_agent.url + "/evp_proxy/v4/api/v2/llmobs"
    stored = _stored(test_agent, token)
    assert len(stored) == 1
    headers = {k.lower(): v for k, v in stored[0]["headers"].items()}
    assert headers["content-encoding"] == "gzip"
    raw = base64.b64decode(stored[0]["body"])  # aiohttp stores the decompressed body
    envelopes = decode_llmobs_payload(raw, headers["content-type"])
    assert envelopes == [envelope for payload in payloads for envelope in payload]
