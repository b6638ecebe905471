"""Datadog destination settings: OpenRouter's destination JSON or keyword arguments → :class:`Settings`.

Rules (docs/spec.md "Settings"): the URL must be ``https://api.<site>`` for a Datadog site with LLM
Observability (contract §1; Datadog "Getting started with sites"); common mistakes get an error that
names the right URL; ``ml_app`` is normalised the way Datadog's HTTP API page documents. The API key
is a secret: it is kept out of ``repr``, payloads and error messages.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .errors import InvalidSettings, json_path
from .filters import FilterRules, parse_filter_rules
from .jsonread import Node

__all__ = [
    "DEFAULT_MAX_SPAN_BYTES",
    "DEFAULT_URL",
    "LLMOBS_SITES",
    "MAX_SPAN_BYTES_LIMIT",
    "Settings",
    "normalize_ml_app",
    "require_settings",
]

DEFAULT_URL = "https://api.us5.datadoghq.com"  # OpenRouter's Datadog page: the default Url
# Sites with LLM Observability (Datadog site table; UK1 allowed by the contract; gov sites have none).
LLMOBS_SITES = (
    "datadoghq.com",
    "us3.datadoghq.com",
    "us5.datadoghq.com",
    "datadoghq.eu",
    "ap1.datadoghq.com",
    "ap2.datadoghq.com",
    "uk1.datadoghq.com",
)
_GOV_SUFFIX = "ddog-gov.com"
DEFAULT_MAX_SPAN_BYTES = 1_048_576  # contract §7: 1 MiB per span by default
MAX_SPAN_BYTES_LIMIT = 5_000_000  # ddtrace >= 3.12 event limit; the most the contract allows
_ML_APP_MAX = 193  # Datadog HTTP API page, "Application naming guidelines"
_ML_APP_KEEP = frozenset("_-:./")
_REPEATED_UNDERSCORE = re.compile(r"_{2,}")


def normalize_ml_app(raw: str) -> str:
    """Datadog's ml_app rule: lowercase; characters other than alphanumerics and ``_ - : . /``
    become ``_``; no repeated or trailing ``_``; no trailing ``:`` (it is also a tag value); at most
    193 characters. May return ``""``."""
    text = unicodedata.normalize("NFC", raw).strip().lower()
    chars = [c if c.isalnum() or c in _ML_APP_KEEP else "_" for c in text]
    text = _REPEATED_UNDERSCORE.sub("_", "".join(chars))
    # no trailing "_" (Datadog), nor ":" — ml_app is also the value of the service/ml_app tags,
    # and a tag cannot end with a colon
    return text[:_ML_APP_MAX].rstrip("_:")


def _right_url(host: str) -> str | None:
    """For a Datadog host that is not the API host (app., bare site, llmobs-intake.), the API URL."""
    for site in LLMOBS_SITES:
        if host == site or host in (f"app.{site}", f"llmobs-intake.{site}", f"www.{site}"):
            return f"https://api.{site}"
    if host in ("us1.datadoghq.com", "api.us1.datadoghq.com", "app.us1.datadoghq.com"):
        return "https://api.datadoghq.com"  # US1 is the plain datadoghq.com site: no us1. host exists
    # us3/us5/ap1/ap2/uk1 web apps live on the bare site host, already handled above
    return None


def _check_url(url: str, allow_custom_url: bool, path: str) -> tuple[str, str | None]:
    """Validate the destination URL. Returns (url without trailing slash, Datadog site or None)."""
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError as exc:
        raise InvalidSettings(path, f"is not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not host:
        raise InvalidSettings(path, "must be an absolute http(s) URL such as https://api.datadoghq.com")
    site = next((s for s in LLMOBS_SITES if host == f"api.{s}"), None)
    # Datadog's own hosts that are known mistakes get their error even with allow_custom_url: the
    # opt-in is for proxies and test servers, not for a Datadog host that cannot take the spans
    if host == _GOV_SUFFIX or host.endswith("." + _GOV_SUFFIX):
        raise InvalidSettings(
            path,
            "Datadog LLM Observability is not available on the US1-FED/US2-FED (ddog-gov.com) sites; "
            "use a commercial site such as https://api.datadoghq.com",
        )
    if site is None:
        right = _right_url(host)
        if right is not None:
            raise InvalidSettings(path, f"is a Datadog host but not the API host; use {right}")
    if site is None and allow_custom_url:
        if parts.query or parts.fragment or parts.username or parts.password:
            raise InvalidSettings(path, "must not carry a query, fragment or credentials")
        return url.strip().rstrip("/"), None
    if site is None:
        raise InvalidSettings(
            path,
            f"{host!r} is not a Datadog API host; use https://api.<site> for one of "
            f"{', '.join(LLMOBS_SITES)} (or set allow_custom_url for a proxy or test server)",
        )
    right = f"https://api.{site}"
    if parts.scheme != "https":
        raise InvalidSettings(path, f"must use https; use {right}")
    if port is not None and port != 443:
        raise InvalidSettings(path, f"must not name a port; use {right}")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise InvalidSettings(path, f"must be the bare API host without a path; use {right}")
    return right, site


# OpenRouter's ObservabilityDatadogDestination (openrouter-broadcast.md §1.3): the members read, this
# library's two, and those the management API returns that the mapping ignores. Anything else is
# refused: "privacy" for "privacy_mode" must not send content.
_DESTINATION_KEYS = frozenset(
    {
        "type",
        "config",
        "privacy_mode",
        "enabled",
        "sampling_rate",
        "api_key_hashes",
        "filter_rules",
        "allow_custom_url",
        "max_span_bytes",
        "id",
        "workspace_id",
        "name",
        "created_at",
        "updated_at",
    }
)
_BROADCAST_SWITCH = re.compile(r"broadcast_generation_[a-z_]+")  # per-field switches, ignored
_CONFIG_KEYS = frozenset({"apiKey", "mlApp", "url", "headers"})


_API_KEY = re.compile(r"[\x21-\x7e]+")
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 token
_HEADER_VALUE = re.compile(r"[\x20-\x7e\t]*")
_BOOL_FIELDS = (
    ("privacy_mode", "$.privacy_mode"),
    ("enabled", "$.enabled"),
    ("allow_custom_url", "$.allow_custom_url"),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """One Datadog destination. Frozen; validated and normalised on construction.

    ``ml_app`` holds the normalised name; ``url`` the validated API base URL without a trailing slash.
    ``api_key`` is optional for mapping (only the sender needs it) and never shown by ``repr``.
    """

    ml_app: str
    api_key: str | None = field(default=None, repr=False)
    url: str = DEFAULT_URL
    privacy_mode: bool = False
    enabled: bool = True
    sampling_rate: float = 1.0
    api_key_hashes: tuple[str, ...] | None = None
    filter_rules: FilterRules | None = None
    headers: tuple[tuple[str, str], ...] = ()
    allow_custom_url: bool = False
    max_span_bytes: int = DEFAULT_MAX_SPAN_BYTES
    site: str | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        # a Python caller's wrong type must not read as truthy ("false" would enable, a string of
        # hashes would allow every key that is a substring of it): the JSON reader's paths, same checks
        for name, path in _BOOL_FIELDS:
            if not isinstance(getattr(self, name), bool):
                raise InvalidSettings(path, "must be true or false")
        hashes = self.api_key_hashes
        if hashes is not None and (
            not isinstance(hashes, tuple) or not hashes or not all(isinstance(h, str) for h in hashes)
        ):
            raise InvalidSettings("$.api_key_hashes", "must be a non-empty tuple of key hashes, or None")
        if not isinstance(self.headers, tuple) or not all(
            isinstance(h, tuple) and len(h) == 2 and all(isinstance(x, str) for x in h) for h in self.headers
        ):
            raise InvalidSettings("$.config.headers", "must be a tuple of (name, value) string pairs")
        if self.filter_rules is not None and not isinstance(self.filter_rules, FilterRules):
            raise InvalidSettings("$.filter_rules", "must be FilterRules (see parse_filter_rules) or None")
        if not isinstance(self.ml_app, str):
            raise InvalidSettings("$.config.mlApp", "must be a string")
        ml_app = normalize_ml_app(self.ml_app)
        if not ml_app:
            raise InvalidSettings(
                "$.config.mlApp",
                "is empty after Datadog's ml_app normalisation (lowercase letters, digits and _ - : . /)",
            )
        object.__setattr__(self, "ml_app", ml_app)
        if not isinstance(self.url, str):
            raise InvalidSettings("$.config.url", "must be a string")
        url, site = _check_url(self.url, self.allow_custom_url, "$.config.url")
        object.__setattr__(self, "url", url)
        object.__setattr__(self, "site", site)
        if self.api_key is not None and (not isinstance(self.api_key, str) or not self.api_key.strip()):
            raise InvalidSettings("$.config.apiKey", "must be a non-empty string when given")
        if self.api_key is not None and not _API_KEY.fullmatch(self.api_key):
            # an HTTP header cannot carry it, and the client's error would quote it escaped, where
            # scrubbing does not find it: refused here, without echoing the key
            raise InvalidSettings(
                "$.config.apiKey", "must be printable ASCII without spaces (a pasted newline or space?)"
            )
        seen: set[str] = set()
        for name, value in self.headers:
            if name.lower() in seen:  # HTTP header names are case-insensitive: which one would count?
                message = f"names the header {name.lower()!r} twice (names are case-insensitive)"
                raise InvalidSettings("$.config.headers", message)
            seen.add(name.lower())
            if not _HEADER_NAME.fullmatch(name):
                raise InvalidSettings(
                    json_path(("config", "headers", name)), "is not a valid HTTP header name"
                )
            if not _HEADER_VALUE.fullmatch(value):
                raise InvalidSettings(
                    json_path(("config", "headers", name)), "must be printable ASCII without line breaks"
                )
        rate = self.sampling_rate
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
            raise InvalidSettings("$.sampling_rate", "must be a number between 0 and 1")
        size = self.max_span_bytes
        if isinstance(size, bool) or not isinstance(size, int) or not 1024 <= size <= MAX_SPAN_BYTES_LIMIT:
            raise InvalidSettings(
                "$.max_span_bytes", f"must be a whole number of bytes from 1024 to {MAX_SPAN_BYTES_LIMIT}"
            )

    def __repr__(self) -> str:  # dataclass repr already hides api_key; say that it is set
        key = "<set>" if self.api_key else None
        return (
            f"Settings(ml_app={self.ml_app!r}, url={self.url!r}, privacy_mode={self.privacy_mode!r}, "
            f"enabled={self.enabled!r}, sampling_rate={self.sampling_rate!r}, api_key={key})"
        )

    @classmethod
    def from_destination(cls, obj: Any) -> Settings:
        """Read OpenRouter's destination JSON: ``{"type": "datadog", "config": {"apiKey", "mlApp",
        "url"?, "headers"?}, "privacy_mode"?, "enabled"?, "sampling_rate"?, "api_key_hashes"?,
        "filter_rules"?}`` plus this library's ``allow_custom_url`` and ``max_span_bytes``. A null member
        reads as an absent one. The other members OpenRouter returns (``id``, ``name``, ``created_at``,
        ``broadcast_generation_*`` ...) are ignored; any other key is refused at its path."""
        root = Node(obj, (), InvalidSettings)
        switches = {k for k in root.obj() if isinstance(k, str) and _BROADCAST_SWITCH.fullmatch(k)}
        root.only(_DESTINATION_KEYS | switches)
        kind = root.get("type").opt_str()
        if kind is not None and kind != "datadog":
            root.get("type").fail(f"must be 'datadog', not {kind!r}")
        config = root.get("config")
        config.only(_CONFIG_KEYS)  # a typo ("URL") would send to the default site without a word
        ml_app = config.get("mlApp")
        if ml_app.value is None:
            ml_app.fail("is required")
        url = config.get("url").opt_str()
        headers_node = config.get("headers")
        headers: list[tuple[str, str]] = []
        if headers_node.value is not None:
            for key, value in headers_node.obj().items():
                if not isinstance(key, str):  # only a Python caller can do this: JSON keys are strings
                    headers_node.fail(f"has a key that is not a string ({type(key).__name__})")
                headers.append((key, headers_node.child(key, value).str_()))
            headers.sort()
        hashes_node = root.get("api_key_hashes")
        hashes = None
        if hashes_node.value is not None:
            hashes = tuple(item.str_() for item in hashes_node.items())
            if not hashes:  # an empty allowlist would send nothing; null is "every key"
                hashes_node.fail("must hold at least one key hash; use null to allow every key")
        rules_node = root.get("filter_rules")
        rate = root.get("sampling_rate").opt_num()
        size = root.get("max_span_bytes").opt_count()  # JSON has one number type: 2048.0 is 2048
        return cls(
            ml_app=ml_app.str_(),
            api_key=config.get("apiKey").opt_str(),
            url=DEFAULT_URL if url is None or not url.strip() else url,
            privacy_mode=bool(root.get("privacy_mode").opt_bool()),
            enabled=root.get("enabled").opt_bool() is not False,
            sampling_rate=1.0 if rate is None else rate,
            api_key_hashes=hashes,
            filter_rules=None if rules_node.value is None else parse_filter_rules(rules_node),
            headers=tuple(headers),
            allow_custom_url=bool(root.get("allow_custom_url").opt_bool()),
            max_span_bytes=DEFAULT_MAX_SPAN_BYTES if size is None else size,
        )

    @property
    def header_map(self) -> Mapping[str, str]:
        return dict(self.headers)


def require_settings(value: object) -> Settings:
    """``value`` if it is a :class:`Settings`; else :class:`~.errors.InvalidSettings` at ``$``
    (the easy mistake: passing OpenRouter's destination object itself)."""
    if not isinstance(value, Settings):
        hint = ""
        if isinstance(value, dict):
            hint = " (read a destination object with Settings.from_destination)"
        raise InvalidSettings("$", f"must be a Settings, not {type(value).__name__}{hint}")
    return value
