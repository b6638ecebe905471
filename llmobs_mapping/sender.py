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

The API key travels only in the ``DD-API-KEY`` header. It is never logged, and it is scrubbed from
every reason, message and exception text this module produces.
"""

from __future__ import annotations

import email.utils
import gzip as gzip_module
import json
import logging
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
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
_REASON_BODY_CHARS = 300

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
    """Seconds asked by a ``Retry-After`` header (delta-seconds or HTTP date), or None."""
    if value is None:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - now)


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
            try:
                response = self._client.post(self.url, content=wire, headers=self._headers)
            except self._httpx.UnsupportedProtocol as exc:
                status, reason = None, _scrub(f"cannot connect: {exc}", key)
                break
            except self._httpx.TransportError as exc:  # refused, reset, dropped, timed out
                status, reason = None, _scrub(f"connection error ({type(exc).__name__}): {exc}", key)
            else:
                status = response.status_code
                if 200 <= status < 300:
                    log.debug("batch %s%s delivered: HTTP %s", index, split, status)
                    delivered.append(
                        BatchResult(index, split, len(body), spans, status, attempt, "delivered", body)
                    )
                    return
                # scrub before cutting, so no piece of the key survives the cut
                text = _scrub(" ".join(response.text.split()), key)[:_REASON_BODY_CHARS]
                reason = _scrub(f"HTTP {status} {response.reason_phrase}", key) + (
                    f": {text}" if text else ""
                )
                if status == 413:
                    halves = split_batch(body)
                    if halves is None:
                        reason = f"{reason} (a single span too large for the intake)"
                        break
                    log.debug("batch %s%s refused as too large; splitting", index, split)
                    self._send_one(index, split + "0", halves[0], delivered, failed)
                    self._send_one(index, split + "1", halves[1], delivered, failed)
                    return
                if status not in RETRY_STATUSES and status < 500:
                    break  # other 4xx (and 1xx/3xx): never retried (contract §8)
                retry_after = _retry_after(response.headers.get("Retry-After"), time.time())
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
        response = http.get(
            url, headers={"DD-API-KEY": key, "Accept": "application/json", "User-Agent": USER_AGENT}
        )
    except httpx_module.TransportError as exc:
        detail = _scrub(str(exc) or type(exc).__name__, key)
        return ConnectionResult(
            False,
            None,
            "unreachable",
            f"Could not reach {settings.url} ({detail}); check the URL and your network.",
        )
    finally:
        if own:
            http.close()
    status = response.status_code
    if status == 200:
        try:
            valid = json.loads(response.content).get("valid") is True
        except (ValueError, AttributeError):
            valid = False
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
