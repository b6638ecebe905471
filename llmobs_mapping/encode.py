"""The two wire formats, encoded from the same :class:`~.spans.Span` list (contract §7).

- ``public``: Datadog's HTTP API, ``{"data": {"type": "span", "attributes": {...}}}``, ``meta.kind``.
- ``evp``: the SDK/Agent format, an array of single-span envelopes, ``meta.span.kind``.

A rule that differs between the formats lives here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

from . import __version__
from .canonical import canonical_json, pretty_json
from .errors import InvalidInput, InvalidSettings
from .ids import apm_trace_id
from .limits import fit_span
from .settings import Settings, require_settings
from .spans import Span, to_spans
from .tags import make_tag

__all__ = [
    "FORMATS",
    "Format",
    "build_payload",
    "dumps",
    "encode_evp_span",
    "encode_public_span",
    "encode_spans",
]

Format = Literal["public", "evp"]
FORMATS: tuple[Format, ...] = ("public", "evp")
TRACER_VERSION = __version__


def dumps(obj: Any, *, pretty: bool = False) -> bytes:
    """Canonical JSON: UTF-8, sorted keys; compact for the wire, or 2-space indent + newline."""
    text = pretty_json(obj) + "\n" if pretty else canonical_json(obj)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate ("\ud800" in JSON text) has no UTF-8 form
        raise InvalidInput(
            "$", f"holds a lone surrogate {text[exc.start]!r}, which UTF-8 cannot encode"
        ) from None


_CONTAINERS = (dict, list)


def _meta(span: Span, *, public: bool) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    metadata = span.metadata
    if public:
        meta["kind"] = span.kind
        # Public API: metadata values are strings, numbers or booleans; containers become JSON text
        metadata = {k: canonical_json(v) if isinstance(v, _CONTAINERS) else v for k, v in metadata.items()}
        # the public docs put model name/provider in metadata, the SDK in meta: send both (contract §4)
        if span.model_name is not None:
            metadata["model_name"] = span.model_name
        if span.model_provider is not None:
            metadata["model_provider"] = span.model_provider
    else:
        meta["span"] = {"kind": span.kind}
    meta["metadata"] = metadata
    if span.model_name is not None:
        meta["model_name"] = span.model_name
    if span.model_provider is not None:
        meta["model_provider"] = span.model_provider
    if span.input is not None:
        meta["input"] = span.input
    if span.output is not None:
        meta["output"] = span.output
    if span.tool_definitions is not None:
        meta["tool_definitions"] = span.tool_definitions
    if span.error is not None:
        meta["error"] = span.error
    return meta


def _common(span: Span, *, public: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": span.name,
        "span_id": span.span_id,
        "trace_id": span.trace_id,
        "parent_id": span.parent_id,
        "start_ns": span.start_ns,
        "duration": span.duration,
        "status": span.status,
        "meta": _meta(span, public=public),
        "metrics": dict(span.metrics),
    }
    if span.session_id is not None:
        out["session_id"] = span.session_id
    return out


def encode_public_span(span: Span, settings: Settings) -> dict[str, Any]:
    """A span of the public format (payload-level tags carry service/user/session)."""
    return _common(span, public=True)


def encode_evp_span(span: Span, settings: Settings) -> dict[str, Any]:
    """A span of the EVP format: ddtrace's keys, per-span tags with ``ml_app``, and ``_dd``."""
    out = _common(span, public=False)
    out["tags"] = sorted((*span.tags, *filter(None, [make_tag("ml_app", settings.ml_app)])))
    apm = apm_trace_id(span.trace_id)
    out["_dd"] = {"span_id": span.span_id, "trace_id": apm, "apm_trace_id": apm}
    return out


_SPAN_ENCODERS: dict[str, Callable[[Span, Settings], dict[str, Any]]] = {
    "public": encode_public_span,
    "evp": encode_evp_span,
}


def encode_spans(spans: Sequence[Span], settings: Settings, format: Format = "public") -> Any:
    """Wrap encoded spans in the format's payload (all spans from one exchange share tags)."""
    require_settings(settings)
    encoder = _encoder(format)
    if not spans:
        raise InvalidInput("$", "needs at least one span (to_spans gives one or more)")
    encoded = [encoder(fit_span(span, settings, encoder), settings) for span in spans]
    if format == "evp":
        return [
            {"_dd.stage": "raw", "_dd.tracer_version": TRACER_VERSION, "event_type": "span", "spans": [s]}
            for s in encoded
        ]
    attributes: dict[str, Any] = {"ml_app": settings.ml_app, "tags": list(spans[0].tags), "spans": encoded}
    if spans[0].session_id is not None:
        attributes["session_id"] = spans[0].session_id
    return {"data": {"type": "span", "attributes": attributes}}


def _encoder(format: str) -> Callable[[Span, Settings], dict[str, Any]]:
    try:
        return _SPAN_ENCODERS[format]
    except (KeyError, TypeError):  # TypeError: an unhashable value such as ["evp"]
        raise InvalidSettings("$.format", f"must be 'public' or 'evp', not {format!r}") from None


def build_payload(exchange: Any, settings: Settings, format: Format = "public") -> Any:
    """One exchange (document or :class:`~.exchange_types.Exchange`) → the payload of ``format``:
    a dict for ``public``, a list of envelopes for ``evp``. Pure; raises only MappingError subclasses."""
    _encoder(format)
    return encode_spans(to_spans(exchange, settings), settings, format)
