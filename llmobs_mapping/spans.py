"""The internal span model and the span tree of one exchange (contract §3-§5).

Both wire formats are encoded from these :class:`Span` objects (``encode.py``); privacy mode and
truncation are applied to them before encoding, once, for both formats.
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

from .errors import NotTraceable
from .exchange import read_exchange
from .exchange_types import Exchange
from .ids import span_id
from .messages import input_messages, output_messages
from .metadata import custom_metadata, llm_metadata
from .metrics import llm_metrics
from .privacy import redact
from .settings import Settings, require_settings
from .tags import payload_tags

__all__ = ["ROOT_PARENT_ID", "Span", "to_spans"]

ROOT_PARENT_ID = "undefined"  # Datadog: parent_id of a root span
DEFAULT_SPAN_NAME = "LLM Generation"  # OpenRouter's own default generation name (broadcast.md §2.2)

SpanKind = Literal["llm", "workflow"]

# Where a missing generation id is reported, by where the outcome came from (contract §9).
_GENERATION_ID_PATH = {
    "response": "$.response.id",
    "stream": "$.stream",
    "error": '$.headers["x-generation-id"]',
}


class Span(NamedTuple):
    """One LLM Observability span, format-neutral. ``input``/``output`` are already Datadog IO
    objects (``{"messages": [...]}`` for llm spans, ``{"value": ...}`` for workflow spans).
    Immutable (a named tuple: change one with ``span._replace(...)``)."""

    name: str
    kind: SpanKind
    span_id: str
    trace_id: str
    parent_id: str
    start_ns: int
    duration: int
    status: Literal["ok", "error"]
    session_id: str | None
    tags: tuple[str, ...]
    metadata: dict[str, Any]
    metrics: dict[str, int | float]
    input: dict[str, Any] | None = None
    output: dict[str, Any] | None = None
    model_name: str | None = None
    model_provider: str | None = None
    tool_definitions: list[dict[str, Any]] | None = None
    error: dict[str, str] | None = None


def _provider_slug(name: str) -> str:
    """Datadog's model_provider: lowercase, spaces as underscores ("Amazon Bedrock" → amazon_bedrock)."""
    return "_".join(name.lower().split())


def _tool_definitions(request: dict[str, Any]) -> list[dict[str, Any]] | None:
    tools = request.get("tools")
    if not tools:
        return None
    out = []
    for tool in tools:
        function = tool.get("function")
        if isinstance(function, dict):
            definition: dict[str, Any] = {"name": function["name"]}
            if function.get("description") is not None:
                definition["description"] = function["description"]
            if isinstance(function.get("parameters"), dict):
                definition["schema"] = function["parameters"]
            out.append(definition)
        elif isinstance(tool.get("type"), str):  # OpenRouter server tools ("openrouter:web_search")
            out.append({"name": tool["type"]})
    return out or None


def _llm_span(exchange: Exchange, settings: Settings, base: dict[str, Any], parent: str) -> Span:
    completion = exchange.completion
    served = completion.model if completion else None
    trace = exchange.trace
    error = exchange.error
    if isinstance(trace.get("generation_name"), str) and trace["generation_name"]:
        name = trace["generation_name"]
    elif error is not None:  # contract §9: error exchanges are named after the requested model
        name = exchange.requested_model or served or DEFAULT_SPAN_NAME
    else:
        name = served or exchange.requested_model or DEFAULT_SPAN_NAME
    # contract §4/§9: model_name is the served slug whenever one was reported (a mid-stream or in-200
    # error still names the model that ran); only the span *name* of an error follows the request
    model_name = served or exchange.requested_model
    provider = (error.provider_name if error else None) or (completion.provider if completion else None)
    model_provider = _provider_slug(provider) if provider else None
    if model_provider is None and model_name and "/" in model_name:
        model_provider = model_name.split("/", 1)[0].lower()  # the slug's author prefix
    outputs = (
        output_messages(completion.choices, failed=error is not None)
        if completion is not None and not settings.privacy_mode  # contract §6 drops it: do not build it
        else []
    )
    return Span(
        **base,
        name=name,
        kind="llm",
        span_id=span_id(exchange.generation_id or ""),
        parent_id=parent,
        input=None if settings.privacy_mode else {"messages": input_messages(exchange.messages)},
        output={"messages": outputs} if outputs else None,
        metadata=llm_metadata(exchange),
        metrics=llm_metrics(exchange),
        model_name=model_name,
        model_provider=model_provider,
        tool_definitions=_tool_definitions(exchange.request),
        error=None if error is None else {"message": error.message, "type": error.type},
    )


def _workflow_io(exchange: Exchange) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Workflow spans: input = last user message text, output = first choice text (omitted if none)."""
    user = next((m.content for m in reversed(exchange.messages) if m.role == "user"), None)
    completion = exchange.completion
    first = completion.choices[0].content if completion and completion.choices else None
    return ({"value": user} if user else None), ({"value": first} if first else None)


def to_spans(exchange: Any, settings: Settings) -> list[Span]:
    """Map one exchange (document or :class:`Exchange`) to its spans, top span first.

    Tree (contract §3): ``trace.trace_name`` → a workflow root; ``trace.span_name`` → a workflow
    span above the LLM span; otherwise the LLM span is the top span. Privacy mode is applied here.
    """
    require_settings(settings)
    exchange = read_exchange(exchange)
    gen = exchange.generation_id
    if gen is None:
        raise NotTraceable(
            _GENERATION_ID_PATH[exchange.source],
            "no generation id in the response, stream, error body or x-generation-id header; "
            "OpenRouter traces nothing for a call it rejected before routing",
        )
    trace = exchange.trace
    trace_id = trace.get("trace_id") or gen
    top_parent = trace.get("parent_span_id") or ROOT_PARENT_ID
    base: dict[str, Any] = {
        "trace_id": trace_id,
        "start_ns": exchange.start_ns,
        "duration": exchange.end_ns - exchange.start_ns,
        "status": "error" if exchange.error is not None else "ok",
        "session_id": exchange.session_id,
        "tags": payload_tags(settings.ml_app, exchange.user, exchange.session_id),
    }
    spans: list[Span] = []
    parent = top_parent
    workflow_in, workflow_out = _workflow_io(exchange)
    custom = custom_metadata(exchange)
    for key, id_key in (("trace_name", f"{trace_id}:root"), ("span_name", f"{gen}:span")):
        name = trace.get(key)
        if name:
            span = Span(
                **base,
                name=name,
                kind="workflow",
                span_id=span_id(id_key),
                parent_id=parent,
                input=workflow_in,
                output=workflow_out,
                metadata=dict(custom),
                metrics={},
            )
            spans.append(span)
            parent = span.span_id
    spans.append(_llm_span(exchange, settings, base, parent))
    if settings.privacy_mode:
        spans = [redact(span, exchange) for span in spans]
    return spans
