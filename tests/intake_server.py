"""A scripted stand-in for Datadog's public intake, for tests: a real HTTP server on a loopback port.

Routes (intake reference §1.1, §1.6):

- ``POST /api/intake/llm-obs/v1/trace/spans``: the public format; success is ``202`` with no body.
- ``POST /api/v2/llmobs``: the EVP format (agentless route); success is ``202`` with ``{}``.
- ``GET /api/v1/validate``: ``200 {"valid": true}`` for the right key, ``403`` otherwise.

Every POST body is checked before anything else: the ``DD-API-KEY`` (403 when wrong), JSON of the
route's shape (400 with the problems listed, which are also recorded), and the request limits
(413 over ``max_bytes`` or ``max_spans``). Then the next scripted :class:`Reply` for that route, if
any, is used; otherwise the route's success answer. ``Reply(drop=True)`` closes the connection
without answering. A reply can also break the answer the ways a server or a proxy can: a wrong
reason phrase (``phrase``), a body cut off after ``cut`` bytes, ``flood`` bytes of filler written
until the client hangs up (every ``pace`` seconds, to trickle), or ``raw`` bytes instead of HTTP.
Every request is recorded in :attr:`IntakeServer.requests`; the bytes each flood managed to write
in :attr:`IntakeServer.flooded`.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PUBLIC_PATH = "/api/intake/llm-obs/v1/trace/spans"
EVP_PATH = "/api/v2/llmobs"
VALIDATE_PATH = "/api/v1/validate"
_SPAN_KEYS_PUBLIC = {
    "name",
    "span_id",
    "trace_id",
    "parent_id",
    "start_ns",
    "duration",
    "status",
    "meta",
    "metrics",
}


@dataclass(frozen=True)
class Reply:
    """One scripted answer: a status with headers and body, or ``drop`` (no answer at all).

    Broken answers: ``phrase`` replaces the reason phrase; ``cut`` sends only that many bytes of
    ``body`` (``Content-Length`` announces all of it) and closes the connection; ``flood`` sends a
    body of that many filler bytes instead of ``body``, until the client hangs up, pausing ``pace``
    seconds between small chunks when set; ``raw`` is written as the whole answer, then the
    connection is closed."""

    status: int = 202
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    phrase: str | None = None
    cut: int | None = None
    flood: int = 0
    pace: float = 0.0
    raw: bytes | None = None


@dataclass(frozen=True)
class Received:
    """One request as the server saw it. ``body`` is decompressed; ``answer`` is the status sent
    (``None`` for a dropped connection); ``problems`` lists what the validation found wrong."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    spans: int
    answer: int | None
    problems: tuple[str, ...]
    at: float


def _span_problems(span: Any, where: str, evp: bool) -> list[str]:
    if not isinstance(span, dict):
        return [f"{where} is not an object"]
    problems = [f"{where} lacks {key}" for key in sorted(_SPAN_KEYS_PUBLIC - span.keys())]
    for key in ("span_id", "trace_id", "parent_id", "name"):
        if key in span and not isinstance(span[key], str):
            problems.append(f"{where}.{key} is not a string")
    for key in ("start_ns", "duration"):
        if key in span and (isinstance(span[key], bool) or not isinstance(span[key], int)):
            problems.append(f"{where}.{key} is not an integer")
    if span.get("status") not in ("ok", "error"):
        problems.append(f"{where}.status is not ok/error")
    meta = span.get("meta")
    if not isinstance(meta, dict):
        problems.append(f"{where}.meta is not an object")
    elif evp:
        if not isinstance(meta.get("span"), dict) or "kind" not in meta["span"]:
            problems.append(f"{where}.meta.span.kind is missing")
    elif meta.get("kind") not in ("llm", "workflow", "agent", "tool", "task", "embedding", "retrieval"):
        problems.append(f"{where}.meta.kind is missing or unknown")
    if evp and not (isinstance(span.get("tags"), list) and isinstance(span.get("_dd"), dict)):
        problems.append(f"{where} lacks the EVP tags/_dd")
    return problems


def validate_public(doc: Any) -> tuple[int, list[str]]:
    """(span count, problems) of a public-format body (Datadog HTTP API page)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), dict):
        return 0, ["body is not {'data': {...}}"]
    data = doc["data"]
    problems = [] if data.get("type") == "span" else ["data.type is not 'span'"]
    attrs = data.get("attributes")
    if not isinstance(attrs, dict):
        return 0, [*problems, "data.attributes is not an object"]
    if not isinstance(attrs.get("ml_app"), str) or not attrs["ml_app"]:
        problems.append("attributes.ml_app is missing")
    tags = attrs.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        problems.append("attributes.tags is not a list of strings")
    spans = attrs.get("spans")
    if not isinstance(spans, list) or not spans:
        return 0, [*problems, "attributes.spans is not a non-empty list"]
    for i, span in enumerate(spans):
        problems.extend(_span_problems(span, f"spans[{i}]", evp=False))
    return len(spans), problems


def validate_evp(doc: Any) -> tuple[int, list[str]]:
    """(span count, problems) of an EVP body: an array of single-span envelopes (ddtrace)."""
    if not isinstance(doc, list) or not doc:
        return 0, ["body is not a non-empty array of envelopes"]
    problems: list[str] = []
    count = 0
    for i, envelope in enumerate(doc):
        if not isinstance(envelope, dict) or envelope.get("event_type") != "span":
            problems.append(f"[{i}] is not a span envelope")
            continue
        if envelope.get("_dd.stage") != "raw" or not isinstance(envelope.get("_dd.tracer_version"), str):
            problems.append(f"[{i}] lacks _dd.stage/_dd.tracer_version")
        spans = envelope.get("spans")
        if not isinstance(spans, list) or len(spans) != 1:
            problems.append(f"[{i}].spans does not hold exactly one span")
            continue
        count += 1
        problems.extend(_span_problems(spans[0], f"[{i}].spans[0]", evp=True))
    return count, problems


class IntakeServer:
    """The server. Use as a context manager; :attr:`url` is ``http://127.0.0.1:<port>``."""

    def __init__(self, api_key: str, *, max_bytes: int = 5_242_880, max_spans: int = 1000) -> None:
        self.api_key = api_key
        self.max_bytes = max_bytes
        self.max_spans = max_spans
        self.requests: list[Received] = []
        self.flooded: list[int] = []
        self._scripts: dict[str, deque[Reply]] = {}
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="intake-server",
            daemon=True,
        )

    @property
    def url(self) -> str:
        """The base URL of this server."""
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def script(self, path: str, *replies: Reply) -> None:
        """Queue answers for ``path``: each request takes the next one, then the default answer."""
        with self._lock:
            self._scripts.setdefault(path, deque()).extend(replies)

    def next_reply(self, path: str) -> Reply | None:
        with self._lock:
            queue = self._scripts.get(path)
            return queue.popleft() if queue else None

    def record(self, received: Received) -> None:
        with self._lock:
            self.requests.append(received)

    def record_flood(self, written: int) -> None:
        with self._lock:
            self.flooded.append(written)

    def wait_floods(self, count: int, timeout: float = 5.0) -> list[int]:
        """:attr:`flooded` once ``count`` floods have ended (the writer notices the hang-up late)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.flooded) >= count:
                    return list(self.flooded)
            time.sleep(0.01)
        raise AssertionError(f"only {len(self.flooded)} of {count} flood(s) ended")

    def __enter__(self) -> IntakeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def _make_handler(server: IntakeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real intake

        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            return

        def _answer(
            self,
            status: int,
            body: bytes = b"",
            headers: dict[str, str] | None = None,
            phrase: str | None = None,
        ) -> None:
            self.send_response(status, phrase)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            if body and not any(key.lower() == "content-type" for key in headers or {}):
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _record(self, body: bytes, spans: int, answer: int | None, problems: list[str]) -> None:
            server.record(
                Received(
                    method=self.command,
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                    spans=spans,
                    answer=answer,
                    problems=tuple(problems),
                    at=time.monotonic(),
                )
            )

        def _flood(self, reply: Reply) -> None:
            self.send_response(reply.status, reply.phrase)
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(reply.flood))
            self.end_headers()
            chunk = b"x" * (16 if reply.pace else 65536)
            written = 0
            try:
                while written < reply.flood:
                    piece = chunk[: reply.flood - written]
                    self.wfile.write(piece)
                    written += len(piece)
                    if reply.pace:
                        time.sleep(reply.pace)
            except OSError:  # the client hung up, as it should
                pass
            server.record_flood(written)
            self.close_connection = True

        def _reply(self, body: bytes, spans: int, reply: Reply) -> None:
            if reply.drop or reply.raw is not None:
                self._record(body, spans, None, [])
                if reply.raw is not None:
                    self.wfile.write(reply.raw)
                self.close_connection = True
                return
            self._record(body, spans, reply.status, [])
            if reply.flood:
                self._flood(reply)
            elif reply.cut is not None:
                self.send_response(reply.status, reply.phrase)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body[: reply.cut])
                self.close_connection = True
            else:
                self._answer(reply.status, reply.body, reply.headers, reply.phrase)

        def do_GET(self) -> None:
            if self.path != VALIDATE_PATH:
                self._record(b"", 0, 404, [])
                self._answer(404, b'{"errors":["Not found"]}')
                return
            scripted = server.next_reply(VALIDATE_PATH)
            if scripted is not None:
                self._reply(b"", 0, scripted)
            elif self.headers.get("DD-API-KEY") == server.api_key:
                self._reply(b"", 0, Reply(200, b'{"valid":true}'))
            else:
                self._reply(b"", 0, Reply(403, b'{"errors":["Forbidden"]}'))

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.path not in (PUBLIC_PATH, EVP_PATH):
                self._record(raw, 0, 404, [])
                self._answer(404, b'{"errors":["Not found"]}')
                return
            if self.headers.get("DD-API-KEY") != server.api_key:
                self._record(raw, 0, 403, ["wrong or missing DD-API-KEY"])
                self._answer(403, b'{"errors":["Forbidden"]}')
                return
            problems: list[str] = []
            body = raw
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(raw)
            if self.headers.get("Content-Type") != "application/json":
                problems.append("Content-Type is not application/json")
            try:
                doc = json.loads(body)
            except ValueError:
                doc = None
            validate = validate_public if self.path == PUBLIC_PATH else validate_evp
            spans, shape_problems = validate(doc)
            problems.extend(shape_problems)
            if problems:
                self._record(body, spans, 400, problems)
                self._answer(400, json.dumps({"errors": problems}).encode())
                return
            if len(raw) > server.max_bytes or spans > server.max_spans:
                self._reply(body, spans, Reply(413, b'{"errors":["Payload too large"]}'))
                return
            scripted = server.next_reply(self.path)
            if scripted is not None:
                self._reply(body, spans, scripted)
            else:
                self._reply(body, spans, Reply(202, b"" if self.path == PUBLIC_PATH else b"{}"))

    return Handler


# Payload factories shared by the batching, sender and test-agent tests: the shapes of docs/spec.md
# §1.1/§1.2, with deterministic ids and a filler text to control sizes.


def public_span(trace: int, index: int, text: str = "hello") -> dict[str, Any]:
    """One public-format span (docs/spec.md §1.1)."""
    root = index == 0
    return {
        "name": "chat" if root else "openai/gpt-4o",
        "span_id": str(1000 * trace + index + 1),
        "trace_id": f"trace-{trace}",
        "parent_id": "undefined" if root else str(1000 * trace + 1),
        "start_ns": 1_700_000_000_000_000_000 + trace,
        "duration": 1_500_000_000,
        "status": "ok",
        "meta": {
            "kind": "workflow" if root else "llm",
            "input": {"value": text} if root else {"messages": [{"role": "user", "content": text}]},
            "metadata": {"generation_id": f"gen-{trace}"},
        },
        "metrics": {} if root else {"input_tokens": 3, "output_tokens": 5, "total_tokens": 8},
    }


def public_payload(
    trace: int, spans: int = 2, *, text: str = "hello", ml_app: str = "my-app", session: str | None = None
) -> dict[str, Any]:
    """One exchange's public payload with ``spans`` spans sharing its tags."""
    tags = [f"service:{ml_app}"] + ([f"session_id:{session}"] if session else [])
    attributes: dict[str, Any] = {
        "ml_app": ml_app,
        "tags": sorted(tags),
        "spans": [public_span(trace, i, text) for i in range(spans)],
    }
    if session is not None:
        attributes["session_id"] = session
    return {"data": {"type": "span", "attributes": attributes}}


def evp_payload(
    trace: int, spans: int = 2, *, text: str = "hello", ml_app: str = "my-app"
) -> list[dict[str, Any]]:
    """One exchange's EVP payload: one envelope per span (docs/spec.md §1.2)."""
    envelopes = []
    for i in range(spans):
        span = public_span(trace, i, text)
        kind = span["meta"].pop("kind")
        span["meta"]["span"] = {"kind": kind}
        span["tags"] = sorted([f"ml_app:{ml_app}", f"service:{ml_app}"])
        apm = f"{trace:032x}"
        span["_dd"] = {"span_id": span["span_id"], "trace_id": apm, "apm_trace_id": apm}
        envelopes.append(
            {"_dd.stage": "raw", "_dd.tracer_version": "0.1.0", "event_type": "span", "spans": [span]}
        )
    return envelopes
