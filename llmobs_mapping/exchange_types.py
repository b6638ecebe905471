"""The normalised, immutable view of one OpenRouter call that the mapping works on.

``read_exchange`` (in :mod:`llmobs_mapping.exchange`) builds these from the raw exchange JSON; a
stream is reassembled into the same :class:`Completion` shape first, so the mapping never needs to
know how the response arrived. They are named tuples: immutable, and built for every call a gateway
makes, which a frozen dataclass makes several times slower.
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

__all__ = ["Choice", "Completion", "ErrorInfo", "Exchange", "InputMessage", "ToolCall", "Usage"]


class ToolCall(NamedTuple):
    """One function call an assistant asked for. ``arguments`` is the raw JSON text (or an object)."""

    id: str | None
    name: str
    arguments: str | dict[str, Any]


class InputMessage(NamedTuple):
    """A request message, content already flattened to text (parts joined, markers for media)."""

    role: str
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None


class ErrorInfo(NamedTuple):
    """A failed call: HTTP error, error body inside a 200, ``choices[].error`` or a mid-stream error."""

    status: int | None  # the HTTP status, or error.code inside a 200 (None: a named code, or none)
    type: str  # error.metadata.error_type, else "http_<status>", else the named code, else "error"
    message: str
    provider_name: str | None  # error.metadata.provider_name


class Choice(NamedTuple):
    """One ``choices[]`` entry; ``choice_index`` is its ``index`` (a tuple has an ``index`` method)."""

    choice_index: int
    content: str | None
    reasoning: str | None
    refusal: str | None
    tool_calls: tuple[ToolCall, ...]
    finish_reason: str | None
    native_finish_reason: str | None
    error: ErrorInfo | None = None


class Usage(NamedTuple):
    """``usage`` as reported; None means the field was absent (a reported 0 stays 0)."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    cached_tokens: int | None = None  # prompt_tokens_details.cached_tokens
    cache_write_tokens: int | None = None  # prompt_tokens_details.cache_write_tokens
    reasoning_tokens: int | None = None  # completion_tokens_details.reasoning_tokens
    cost: int | float | None = None
    is_byok: bool | None = None
    upstream_inference_cost: int | float | None = None
    upstream_prompt_cost: int | float | None = None
    upstream_completions_cost: int | float | None = None


class Completion(NamedTuple):
    """A chat.completion body (or a reassembled stream)."""

    id: str | None
    model: str | None
    provider: str | None
    choices: tuple[Choice, ...]
    usage: Usage | None


class Exchange(NamedTuple):
    """One OpenRouter call, validated. ``request`` is the verbatim request body."""

    request: dict[str, Any]
    source: Literal["response", "stream", "error"]  # which member held the outcome
    messages: tuple[InputMessage, ...]
    completion: Completion | None  # None for an HTTP error with no body to speak of
    error: ErrorInfo | None  # set for every kind of error exchange
    streamed: bool
    stream_missing: tuple[str, ...]  # what a cut stream lacked: "done_marker", "usage"
    start_ns: int
    end_ns: int
    first_token_ns: int | None
    generation_id: str | None
    requested_model: str | None
    session_id: str | None
    user: str | None
    trace: dict[str, Any]  # the request's `trace` object (reserved and custom keys)
