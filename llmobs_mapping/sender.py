"""The optional, thin sender: the only module of llmobs-mapping that does network I/O (contract §8).

Needs the ``http`` extra (``pip install 'llmobs-mapping[http]'``, i.e. httpx); httpx is imported only
when a :class:`Sender` is built or :func:`test_connection` runs, so the mapping core never needs it.

Routes (intake reference §1.1):

- ``public``: ``POST <settings.url>/api/intake/llm-obs/v1/trace/spans`` with ``DD-API-KEY``.
- ``agentless``: ``POST https://llmobs-intake.<site>/api/v2/llmobs`` with ``DD-API-KEY`` (EVP
  format); for a custom URL (``allow_custom_url``) ``<settings.url>/api/v2/llmobs``.
- ``agent``: ``POST <agent>/evp_proxy/v2/api/v2/llmobs`` with ``X-Datadog-EVP-Subdomain:
  llmobs-intake`` and no key (the Agent adds it). With gzip, ``/evp_proxy/v4/`` is used instead,
  because the Agent's v2 proxy drops ``Content-Encoding`` (intake reference §1.3).

Delivery (contract §8): any 2xx is success. 408, 425, 429, 5xx and connection errors are retried
up to ``max_attempts`` times in total, waiting ``min(cap, base * 2**(n-1))`` scaled by a random
factor in ``[0.5, 1]`` ("equal jitter"), or what ``Retry-After`` asks (seconds or an HTTP date), up
to ``retry_after_cap`` (60 s by default). Other 4xx are never retried. A 413 splits the batch in
two halves that are sent (and retried) on their own; a single span still refused is reported.
:meth:`Sender.send` returns a :class:`DeliveryReport` that lists every batch delivered and every
batch not delivered with its bytes and the reason: nothing is dropped silently.

A broken server never raises out of the sender. The status line decides, whatever follows it: an
answer whose body cannot be decoded (a corrupt or unknown ``Content-Encoding``) or breaks off is
treated as its status code (a 2xx is delivered, a 503 retried, a 400 final) and the reason says so.
Redirects are never followed (the key would travel with the body). Only the first 64 KiB of an
answer are read (and kept, decompressed), within ``timeout`` seconds, and 300 characters quoted.
A ``Retry-After`` that is neither delta-seconds nor an HTTP date is ignored.

The API key travels only in the ``DD-API-KEY`` header. It is never logged, and it is scrubbed from
every reason, message and exception text this module produces.
"""

from __future__ import annotations

import codecs
import contextlib
import email.utils
import gzip as gzip_module
import json
import logging
import math
import random
import re
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from . import __version__
from .batching import body_format, count_spans, plan_batches, split_batch
from .encode import Format
from .errors import DeliveryError, InvalidInput
from .settings import Settings

if TYPE_CHECKING:
    import httpx

__all__ = [
    "PUBLIC_SPANS_PATH",
    "VALIDATE_PATH",
    "BatchResult",
    "ConnectionResult",
    "DeliveryReport",
    "Mode",
    "Sender",
    "test_connection",
]

Mode = Literal["public", "agentless", "agent"]
PUBLIC_SPANS_PATH = "/api/intake/llm-obs/v1/trace/spans"  # Datadog HTTP API page
EVP_PATH = "/api/v2/llmobs"  # ddtrace SPAN_ENDPOINT
VALIDATE_PATH = "/api/v1/validate"  # Datadog "Validate API key"
DEFAULT_AGENT_URL = "http://localhost:8126"  # ddtrace's default trace agent URL
RETRY_STATUSES = frozenset({408, 425, 429})  # plus every 5xx (contract §8)
USER_AGENT = f"llmobs-mapping/{__version__}"
_API_KEY_SHAPE = re.compile(r"^[0-9a-f]{32}$")  # Datadog API keys: 32 hex digits
_REASON_BODY_CHARS = 300  # of a server's body quoted in a reason
_BODY_BYTES = 65536  # of an answer's body read (and, decompressed, kept): the rest is never read
_HEADER_CHARS = 200  # of a reason phrase, Location or Content-Encoding quoted in a reason
_DELTA_SECONDS = re.compile(r"[0-9]+(?:\.[0-9]+)?")  # Retry-After: 120 (a decimal is tolerated)

log = logging.getLogger(__name__)


def _httpx() -> Any:
    """Import httpx on first use, with an error that says how to get it."""
    try:
        import httpx  # noqa: PLC0415 - optional dependency, imported lazily on purpose
    except ImportError:
        raise DeliveryError(
            "$", "sending needs httpx: install the http extra with pip install 'llmobs-mapping[http]'"
        ) from None
    return httpx


def _scrub(text: str, secret: str | None) -> str:
    """``text`` with the API key replaced, for reasons and messages that quote servers or errors."""
    return text.replace(secret, "<api key>") if secret else text


def _clip(text: str, secret: str | None, limit: int, cut: bool = False) -> str:
    """``text`` from a server or an error, fit for a reason: whitespace runs made one space, the key
    scrubbed (before cutting, so no piece of it survives the cut), at most ``limit`` characters and
    ``…`` when anything was left out. ``cut`` says the text is already a prefix of something longer:
    a piece of the key at its very end is dropped too."""
    text = _scrub(" ".join(text.split()), secret)
    if cut and secret:
        text = text.rstrip()
        for size in range(min(len(secret) - 1, len(text)), 0, -1):
            if text.endswith(secret[:size]):
                text = text[:-size]
                break
    if len(text) > limit:
        text, cut = text[:limit], True
    return text + "…" if cut else text


@dataclass(frozen=True, slots=True)
class _Answer:
    """What :func:`_exchange` got: the status line and headers, and at most ``_BODY_BYTES`` of the
    decoded body. ``cut`` says there was more. ``problem`` says why the body is unusable ("" if it
    is not: "the body could not be decoded", "the body broke off"), ``cause`` names what did it
    (the ``Content-Encoding``, the error's class) and ``detail`` is the error's text, if any."""

    status: int
    phrase: str
    headers: httpx.Headers
    body: bytes
    cut: bool
    charset: str | None
    problem: str = ""
    cause: str = ""
    detail: str = ""

    def trouble(self, *, detailed: bool) -> str:
        """``problem (cause[: detail])``, or "" when the body is fine."""
        if not self.problem:
            return ""
        more = f": {self.detail}" if detailed and self.detail else ""
        return f"{self.problem} ({self.cause}{more})"


def _decode(raw: bytes, content_encoding: str) -> bytes | None:
    """``raw`` with its content codings undone (at most ``_BODY_BYTES`` out of each), or None when a
    coding is unknown or the data is corrupt. A truncated stream decodes to its prefix."""
    data = raw
    for coding in reversed([c.strip().lower() for c in content_encoding.split(",") if c.strip()]):
        if coding == "identity":
            continue
        if coding in ("gzip", "x-gzip"):
            windows = [zlib.MAX_WBITS | 16]
        elif coding == "deflate":  # zlib-wrapped as the RFC says, or raw deflate as some servers send
            windows = [zlib.MAX_WBITS, -zlib.MAX_WBITS]
        else:
            return None
        for window in windows:
            try:
                data = zlib.decompressobj(window).decompress(data, _BODY_BYTES)
                break
            except zlib.error:
                continue
        else:
            return None
    return data


def _exchange(
    http: httpx.Client,
    httpx_module: Any,
    method: str,
    url: str,
    *,
    headers: dict[str, str],
    content: bytes | None,
    read: Callable[[int], bool],
    budget: float,
    secret: str | None,
) -> _Answer:
    """One request, never following a redirect; the body is read (when ``read(status)``) up to
    ``_BODY_BYTES`` and for at most ``budget`` seconds, then the connection is let go. Raises only
    httpx's errors from before the status line arrived."""
    request = http.build_request(method, url, headers=headers, content=content)
    response = http.send(request, stream=True, follow_redirects=False)
    raw = b""
    cut = False
    problem = cause = detail = ""
    try:
        if read(response.status_code):
            chunks: list[bytes] = []
            size = 0
            deadline = time.monotonic() + budget
            try:
                for chunk in response.iter_raw():
                    room = _BODY_BYTES - size
                    chunks.append(chunk[:room])
                    size += min(len(chunk), room)
                    if len(chunk) > room or time.monotonic() > deadline:
                        cut = True
                        break
            except (httpx_module.HTTPError, httpx_module.StreamError) as exc:
                problem, cause = "the body broke off", type(exc).__name__
                detail = _clip(str(exc), secret, _HEADER_CHARS)
            raw = b"".join(chunks)
    finally:
        with contextlib.suppress(httpx_module.HTTPError, httpx_module.StreamError, OSError):
            response.close()
    body = b""
    if not problem and raw:
        coding = response.headers.get("Content-Encoding", "")
        decoded = _decode(raw, coding)
        if decoded is None:
            problem = "the body could not be decoded"
            cause = f"Content-Encoding: {_clip(coding, secret, 60)}"
        else:
            body = decoded
            cut = cut or len(decoded) >= _BODY_BYTES
    return _Answer(
        status=response.status_code,
        phrase=_clip(response.reason_phrase, secret, _HEADER_CHARS),
        headers=response.headers,
        body=body,
        cut=cut,
        charset=response.charset_encoding,
        problem=problem,
        cause=cause,
        detail=detail,
    )


def _text(answer: _Answer, secret: str | None) -> str:
    """The body as text for a reason (its charset, else UTF-8; undecodable bytes replaced)."""
    charset = answer.charset or "utf-8"
    try:
        codecs.lookup(charset)
    except LookupError:
        charset = "utf-8"
    text = answer.body.decode(charset, errors="replace")
    return _clip(text, secret, _REASON_BODY_CHARS, cut=answer.cut)


def _failure_reason(answer: _Answer, secret: str | None) -> str:
    """``HTTP <status> <phrase>: <what went wrong>`` for an answer that is not a 2xx."""
    head = f"HTTP {answer.status} {answer.phrase}".rstrip()
    if answer.problem:
        detail = answer.trouble(detailed=True)
    elif 300 <= answer.status < 400 and answer.headers.get("Location"):
        location = _clip(answer.headers["Location"], secret, _HEADER_CHARS)
        detail = f"redirected to {location}, not followed"
    else:
        detail = _text(answer, secret)
    return f"{head}: {detail}" if detail else head


@dataclass(frozen=True, slots=True)
class BatchResult:
    """The fate of one batch. ``index`` is its position in the list given to :meth:`Sender.send`;
    ``split`` is ``""`` for the batch itself, or the halves taken after 413s (``"0"`` first half,
    ``"01"`` second half of the first half). ``size`` is the uncompressed body length in bytes.
    ``body`` is kept (not shown by ``repr``) so a caller can store or resend what failed."""

    index: int
    split: str
    size: int
    spans: int
    status: int | None
    attempts: int
    reason: str
    body: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """Every batch, delivered or not. ``ok`` is true when nothing failed."""

    url: str
    delivered: list[BatchResult]
    failed: list[BatchResult]

    @property
    def ok(self) -> bool:
        """True when every batch was delivered."""
        return not self.failed

    @property
    def spans_delivered(self) -> int:
        """Spans in delivered batches."""
        return sum(r.spans for r in self.delivered)

    @property
    def spans_failed(self) -> int:
        """Spans in batches that were not delivered."""
        return sum(r.spans for r in self.failed)

    def summary(self) -> str:
        """A few human lines: what was delivered, then one line per batch not delivered."""
        lines = [
            f"delivered {self.spans_delivered} span(s) in {len(self.delivered)} request(s) to {self.url}",
        ]
        if self.failed:
            lines.append(f"NOT delivered: {self.spans_failed} span(s) in {len(self.failed)} batch(es):")
            for r in self.failed:
                label = f"{r.index}{'.' + r.split if r.split else ''}"
                status = f"HTTP {r.status}" if r.status is not None else "no response"
                lines.append(
                    f"  batch {label}: {r.spans} span(s), {r.size} bytes, {status} after "
                    f"{r.attempts} attempt(s): {r.reason}"
                )
        return "\n".join(lines)


def _retry_after(value: str | None, now: float) -> float | None:
    """Seconds asked by a ``Retry-After`` header (delta-seconds or HTTP date), or None when it is
    neither (negative, NaN, ``inf``, exponents, junk): then the plain backoff applies. Very large
    delta-seconds come back as they are (up to ``inf``); :meth:`Sender._wait` caps them. A date in
    the past means now; a date without a zone is taken as UTC."""
    if value is None:
        return None
    text = value.strip()
    if _DELTA_SECONDS.fullmatch(text):
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = when.timestamp() - now
    except (TypeError, ValueError, IndexError, OverflowError, OSError):
        return None
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _check_agent_url(agent_url: str) -> str:
    try:
        parts = urlsplit(agent_url.strip())
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise DeliveryError("$.agent_url", f"is not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not host:
        raise DeliveryError("$.agent_url", "must be an http(s) URL such as http://localhost:8126")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise DeliveryError("$.agent_url", "must be the Agent's base URL without a path")
    return agent_url.strip().rstrip("/")


class Sender:
    """Send request bodies (from :func:`~.batching.batch`) to Datadog and report what happened.

    ``mode`` picks the route (module docstring). ``client`` lets a caller share an
    ``httpx.Client``; otherwise the sender opens one and :meth:`close` (or ``with``) closes it.
    ``sleep`` and ``rng`` are injectable so tests can record the waits instead of waiting."""

    def __init__(
        self,
        settings: Settings,
        *,
        mode: Mode = "public",
        agent_url: str | None = None,
        gzip: bool = False,
        max_attempts: int = 4,
        backoff_base: float = 0.2,
        backoff_cap: float = 5.0,
        retry_after_cap: float = 60.0,
        timeout: float = 10.0,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if mode not in ("public", "agentless", "agent"):
            raise DeliveryError("$.mode", f"must be 'public', 'agentless' or 'agent', not {mode!r}")
        if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
            raise DeliveryError("$.max_attempts", "must be a whole number of at least 1")
        if agent_url is not None and mode != "agent":
            raise DeliveryError("$.agent_url", "is only used in agent mode")
        if mode != "agent" and not settings.api_key:
            raise DeliveryError(
                "$.config.apiKey", "is required to send to Datadog directly (only the Agent adds it itself)"
            )
        httpx_module = _httpx()
        self.settings = settings
        self.mode: Mode = mode
        self.format: Format = "public" if mode == "public" else "evp"
        self.gzip = gzip
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.retry_after_cap = retry_after_cap
        self._sleep = sleep
        self._rng = rng if rng is not None else random.Random()
        self._timeout = timeout
        self._owns_client = client is None
        self._client: httpx.Client = client if client is not None else httpx_module.Client(timeout=timeout)
        self._httpx = httpx_module
        self.url = self._endpoint(agent_url)
        self._headers = self._build_headers()

    def _endpoint(self, agent_url: str | None) -> str:
        """The URL this sender posts to (module docstring; intake reference §1.1)."""
        if self.mode == "public":
            return self.settings.url + PUBLIC_SPANS_PATH
        if self.mode == "agentless":
            site = self.settings.site
            base = f"https://llmobs-intake.{site}" if site is not None else self.settings.url
            return base + EVP_PATH
        agent = _check_agent_url(agent_url if agent_url is not None else DEFAULT_AGENT_URL)
        proxy = "/evp_proxy/v4" if self.gzip else "/evp_proxy/v2"  # v2 drops Content-Encoding (§1.3)
        return agent + proxy + EVP_PATH

    def _build_headers(self) -> dict[str, str]:
        # custom headers from the destination config first; the protocol's own headers win (§1.2)
        headers = dict(self.settings.headers)
        reserved = {"content-type", "content-encoding", "dd-api-key", "x-datadog-evp-subdomain"}
        headers = {k: v for k, v in headers.items() if k.lower() not in reserved}
        headers["Content-Type"] = "application/json"
        headers.setdefault("User-Agent", USER_AGENT)
        if self.mode == "agent":
            headers["X-Datadog-EVP-Subdomain"] = "llmobs-intake"  # the Agent routes on it; no key
        else:
            assert self.settings.api_key is not None  # checked in __init__
            headers["DD-API-KEY"] = self.settings.api_key
        if self.gzip:
            headers["Content-Encoding"] = "gzip"
        return headers

    def __repr__(self) -> str:
        return f"Sender(mode={self.mode!r}, url={self.url!r}, gzip={self.gzip!r}, api_key=<hidden>)"

    def close(self) -> None:
        """Close the HTTP client if this sender opened it."""
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> Sender:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def send_payloads(self, payloads: Sequence[Any]) -> DeliveryReport:
        """Batch payload documents of this sender's format (see :func:`~.batching.batch`) and send them."""
        return self.send([b.body for b in plan_batches(payloads, self.format)])

    def send(self, batches: Sequence[bytes]) -> DeliveryReport:
        """Send each body, retrying and splitting as the module docstring says. Raises
        :class:`~.errors.DeliveryError` before sending anything if a body is not JSON of this
        sender's format; afterwards every batch is in the report, delivered or failed."""
        for index, body in enumerate(batches):
            try:
                found = body_format(body)
            except InvalidInput as exc:
                raise DeliveryError(f"$[{index}]", exc.message) from None
            if found != self.format:
                raise DeliveryError(
                    f"$[{index}]",
                    f"is a {found}-format body but {self.mode} mode sends the {self.format} format",
                )
        delivered: list[BatchResult] = []
        failed: list[BatchResult] = []
        for index, body in enumerate(batches):
            self._send_one(index, "", body, delivered, failed)
        return DeliveryReport(url=self.url, delivered=delivered, failed=failed)

    def _wait(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.retry_after_cap)
        ceiling = min(self.backoff_cap, self.backoff_base * 2.0 ** (attempt - 1))
        return ceiling * (0.5 + 0.5 * self._rng.random())  # equal jitter: [ceiling/2, ceiling]

    def _send_one(
        self, index: int, split: str, body: bytes, delivered: list[BatchResult], failed: list[BatchResult]
    ) -> None:
        spans = count_spans(body)
        wire = gzip_module.compress(body, mtime=0) if self.gzip else body
        key = self.settings.api_key
        status: int | None = None
        reason = ""
        attempt = 0
        while attempt < self.max_attempts:
            attempt += 1
            retry_after: float | None = None
            httpx_module = self._httpx
            try:
                answer = _exchange(
                    self._client,
                    httpx_module,
                    "POST",
                    self.url,
                    headers=self._headers,
                    content=wire,
                    read=lambda _status: True,  # a 2xx body too, so the connection can be reused
                    budget=self._timeout,
                    secret=key,
                )
            except httpx_module.UnsupportedProtocol as exc:
                status, reason = None, _clip(f"cannot connect: {exc}", key, _REASON_BODY_CHARS)
                break
            except httpx_module.TransportError as exc:  # refused, reset, dropped, timed out, not HTTP
                status = None
                reason = _clip(f"connection error ({type(exc).__name__}): {exc}", key, _REASON_BODY_CHARS)
            except (httpx_module.HTTPError, httpx_module.InvalidURL, httpx_module.StreamError) as exc:
                status = None
                reason = _clip(f"request failed ({type(exc).__name__}): {exc}", key, _REASON_BODY_CHARS)
                break  # not the network: trying again would fail the same way
            else:
                status = answer.status
                if 200 <= status < 300:  # the status line decides, even if the body then breaks
                    log.debug("batch %s%s delivered: HTTP %s", index, split, status)
                    delivered.append(
                        BatchResult(index, split, len(body), spans, status, attempt, "delivered", body)
                    )
                    return
                reason = _failure_reason(answer, key)
                if status == 413:
                    halves = split_batch(body)
                    if halves is None:
                        reason = f"{reason} (a single span too large for the intake)"
                        break
                    log.debug("batch %s%s refused as too large; splitting", index, split)
                    self._send_one(index, split + "0", halves[0], delivered, failed)
                    self._send_one(index, split + "1", halves[1], delivered, failed)
                    return
                if status not in RETRY_STATUSES and not 500 <= status < 600:
                    break  # other 4xx (and 1xx/3xx, and codes past 599): never retried (contract §8)
                retry_after = _retry_after(answer.headers.get("Retry-After"), time.time())
            if attempt < self.max_attempts:
                wait = self._wait(attempt, retry_after)
                log.debug(
                    "batch %s%s attempt %s failed (%s); retrying in %.2fs",
                    index,
                    split,
                    attempt,
                    status,
                    wait,
                )
                self._sleep(wait)
        failed.append(BatchResult(index, split, len(body), spans, status, attempt, reason, body))


@dataclass(frozen=True, slots=True)
class ConnectionResult:
    """The outcome of :func:`test_connection`; ``message`` is one sentence for the user."""

    ok: bool
    status: int | None
    reason: Literal[
        "valid",
        "missing_key",
        "invalid_key",
        "wrong_site_or_key",
        "unreachable",
        "not_datadog",
        "rate_limited",
        "unexpected",
    ]
    message: str


def test_connection(
    settings: Settings,
    *,
    client: httpx.Client | None = None,  # noqa: PT028 - the product's "Test Connection", not a pytest test
    timeout: float = 5.0,  # noqa: PT028
) -> ConnectionResult:
    """Datadog's "Test Connection": ``GET <settings.url>/api/v1/validate`` with ``DD-API-KEY`` (contract
    §8; intake reference §1.6). 200 ``{"valid": true}`` passes; 401/403 means the key is wrong for
    that site. Never raises for network or HTTP trouble: the result says what is wrong."""
    key = settings.api_key
    where = settings.site or settings.url
    if not key:
        return ConnectionResult(
            False, None, "missing_key", "No API key is set: add your Datadog API key to the destination."
        )
    httpx_module = _httpx()
    own = client is None
    http: httpx.Client = client if client is not None else httpx_module.Client(timeout=timeout)
    url = settings.url + VALIDATE_PATH
    try:
        answer = _exchange(
            http,
            httpx_module,
            "GET",
            url,
            headers={"DD-API-KEY": key, "Accept": "application/json", "User-Agent": USER_AGENT},
            content=None,
            read=lambda status: status == 200,  # only a 200's body says anything
            budget=timeout,
            secret=key,
        )
    except (httpx_module.HTTPError, httpx_module.InvalidURL, httpx_module.StreamError) as exc:
        detail = _clip(str(exc) or type(exc).__name__, key, _REASON_BODY_CHARS)
        return ConnectionResult(
            False,
            None,
            "unreachable",
            f"Could not reach {settings.url} ({detail}); check the URL and your network.",
        )
    finally:
        if own:
            http.close()
    status = answer.status
    if status == 200:
        if answer.problem:
            return ConnectionResult(
                False,
                200,
                "unexpected",
                f"{settings.url} answered HTTP 200 to the key check but "
                f"{answer.trouble(detailed=False)}; try again later.",
            )
        valid = False
        if not answer.cut:
            try:
                doc = json.loads(answer.body)
            except (ValueError, RecursionError):  # not JSON, not UTF-8, nested past the stack
                doc = None
            valid = isinstance(doc, dict) and doc.get("valid") is True
        if valid:
            return ConnectionResult(True, 200, "valid", f"The API key is valid for {where}.")
        return ConnectionResult(
            False, 200, "not_datadog", f"{settings.url} answered but not like Datadog's API; check the URL."
        )
    if status in (401, 403):
        if not _API_KEY_SHAPE.match(key.strip()):
            return ConnectionResult(
                False,
                status,
                "invalid_key",
                "Datadog rejected the API key, which does not look like one (32 hexadecimal characters); "
                "check that you pasted an API key, not an application key.",
            )
        return ConnectionResult(
            False,
            status,
            "wrong_site_or_key",
            f"Datadog rejected the API key on {where}: the key is wrong or belongs to another Datadog site.",
        )
    if status == 429:
        return ConnectionResult(
            False, status, "rate_limited", "Datadog is rate-limiting key checks; try again in a minute."
        )
    if status == 404 or 300 <= status < 400:
        return ConnectionResult(
            False,
            status,
            "not_datadog",
            f"{settings.url} has no Datadog key-validation endpoint; check the URL.",
        )
    return ConnectionResult(
        False,
        status,
        "unexpected",
        f"{settings.url} answered HTTP {status} to the key check; try again later.",
    )
