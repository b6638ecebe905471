"""Read an exchange document into an immutable :class:`~.exchange_types.Exchange`.

This is the only place that reads untrusted exchange JSON: every value goes through a check of
:mod:`~.jsonread` together with the path parts that lead to it, so a wrong shape becomes
:class:`~.errors.InvalidInput` naming the JSON path (rendered only when a check fails: this runs for
every call a gateway makes). A stream is reassembled (``stream.reassemble``) into the same
completion shape as a response.
"""

from __future__ import annotations

import re
from typing import Any

from .exchange_types import Choice, Completion, ErrorInfo, Exchange, InputMessage, ToolCall, Usage
from .jsonread import (
    as_count,
    as_list,
    as_obj,
    as_str,
    check_keys,
    fail,
    opt_bool,
    opt_count,
    opt_num,
    opt_str,
    type_name,
)
from .stream import reassemble
from .timing import read_timestamp

__all__ = ["RESERVED_TRACE_KEYS", "read_exchange"]

# OpenRouter TraceConfig keys with a meaning of their own (openrouter-broadcast.md §1.6).
RESERVED_TRACE_KEYS = ("trace_id", "trace_name", "span_name", "generation_name", "parent_span_id")

# Content-part markers (contract §4): media is never copied, only marked.
_PART_MARKERS = {
    "image_url": "[image]",
    "input_image": "[image]",
    "input_audio": "[audio]",
    "file": "[file]",
    "video_url": "[video]",
    "input_video": "[video]",
}


def read_exchange(doc: Any) -> Exchange:
    """Validate and normalise one exchange document (see ``schemas/exchange.schema.json``)."""
    if isinstance(doc, Exchange):
        return doc
    root = as_obj(doc)
    check_keys(root, (), _EXCHANGE_KEYS)
    request = root.get("request")
    if request is None:
        fail(("request",), "is required")
    req = as_obj(request, (), "request")
    prompt = req.get("prompt")
    if req.get("messages") is None and prompt is not None:  # a legacy completions request (§1.1)
        messages: tuple[InputMessage, ...] = (InputMessage("user", as_str(prompt, ("request",), "prompt")),)
    else:
        messages = _read_messages(req.get("messages"))
    requested_model = opt_str(req.get("model"), ("request",), "model")
    trace_value = req.get("trace")
    trace: dict[str, Any] = {} if trace_value is None else as_obj(trace_value, ("request",), "trace")
    if trace:
        for key in RESERVED_TRACE_KEYS:  # TraceConfig: the reserved keys are strings
            opt_str(trace.get(key), ("request", "trace"), key)
    _check_tools(req.get("tools"))
    headers = _read_headers(root.get("headers"))

    kinds = [k for k in ("response", "stream", "error") if root.get(k) is not None]
    if len(kinds) != 1:
        fail(
            (),
            "must have exactly one of response, stream or error"
            + (f" (has {', '.join(kinds)})" if kinds else ""),
        )
    completion: Completion | None = None
    error: ErrorInfo | None = None
    missing: tuple[str, ...] = ()
    if kinds[0] == "response":
        completion, error = _read_completion(root["response"], ("response",))
    elif kinds[0] == "stream":
        assembled = reassemble(as_str(root["stream"], (), "stream"))
        completion, error = _read_completion(assembled.body, ("stream",), in_stream=True)
        if assembled.error is not None:  # a mid-stream error chunk (openrouter-broadcast.md §7)
            error = _read_error(assembled.error, ("stream",), status=None)
        missing = assembled.missing
    else:
        error_obj = as_obj(root["error"], (), "error")
        check_keys(error_obj, ("error",), _HTTP_ERROR_KEYS)
        status = _read_status(error_obj.get("status"), ("error", "status"))
        body = error_obj.get("body")
        error = _read_http_error(body, ("error", "body"), status)
        if isinstance(body, dict) and isinstance(body.get("id"), str):
            completion = Completion(body["id"], None, None, (), None)
    if error is None and completion is not None:
        error = next((c.error for c in completion.choices if c.error is not None), None)

    timing_value = root.get("timing")
    if timing_value is None:
        fail(("timing",), "is required")
    timing = as_obj(timing_value, (), "timing")
    check_keys(timing, ("timing",), _TIMING_KEYS)
    start = read_timestamp(timing.get("start"), ("timing",), "start")
    end = read_timestamp(timing.get("end"), ("timing",), "end")
    if end < start:
        fail(("timing", "end"), "is before timing.start")
    first_token = None
    if timing.get("first_token") is not None:
        first_token = read_timestamp(timing["first_token"], ("timing",), "first_token")
        if not start <= first_token <= end:
            fail(("timing", "first_token"), "must lie between timing.start and timing.end")

    generation_id = (completion.id if completion is not None else None) or headers.get("x-generation-id")
    session_id = opt_str(req.get("session_id"), ("request",), "session_id") or headers.get("x-session-id")
    return Exchange(
        request=req,
        source=kinds[0],  # type: ignore[arg-type]
        messages=messages,
        completion=completion,
        error=error,
        streamed=kinds[0] == "stream",
        stream_missing=missing,
        start_ns=start,
        end_ns=end,
        first_token_ns=first_token,
        generation_id=generation_id or None,
        requested_model=requested_model,
        session_id=session_id or None,
        user=opt_str(req.get("user"), ("request",), "user") or None,
        trace=trace,
    )


# The envelope is this project's format, not an OpenRouter body: a key it does not define is a typo
# ("header", "timings") whose data would be lost without a word, so it is refused.
_EXCHANGE_KEYS = frozenset({"request", "response", "stream", "error", "timing", "headers"})
_TIMING_KEYS = frozenset({"start", "end", "first_token"})
_HTTP_ERROR_KEYS = frozenset({"status", "body"})


# -- request ------------------------------------------------------------------------------------

_MESSAGES = ("request", "messages")


def _read_messages(items: Any) -> tuple[InputMessage, ...]:
    if items is None:
        fail(_MESSAGES, "is required (or, for a legacy completions request, prompt)")
    if type(items) is not list:
        fail(_MESSAGES, f"must be an array, not {type_name(items)}")
    if not items:
        fail(_MESSAGES, "must hold at least one message")
    out = []
    # Hot loop (a long conversation has hundreds of messages): each value is tested inline for its
    # common type and handed to its check, which raises with the path, only when the test fails.
    for position, value in enumerate(items):
        item = value if type(value) is dict else as_obj(value, _MESSAGES, position)
        role, content = item.get("role"), item.get("content")
        tool_calls, tool_call_id = item.get("tool_calls"), item.get("tool_call_id")
        if type(role) is not str:
            role = as_str(role, (*_MESSAGES, position), "role")
        calls = (
            () if tool_calls is None else _read_tool_calls(tool_calls, (*_MESSAGES, position, "tool_calls"))
        )
        if tool_call_id is not None and type(tool_call_id) is not str:
            tool_call_id = as_str(tool_call_id, (*_MESSAGES, position), "tool_call_id")
        if type(content) is not str:
            content = _content_text(content, (*_MESSAGES, position, "content"))
        out.append(InputMessage(role, content, calls, tool_call_id))
    return tuple(out)


def _content_text(value: Any, where: tuple[str | int, ...]) -> str:
    """String content as is; a part list → text parts joined by newlines, media as markers."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if not isinstance(value, list):
        fail(where, "must be a string, an array of content parts, or null")
    pieces = []
    for position, raw in enumerate(value):
        part = as_obj(raw, where, position)
        kind = as_str(part.get("type"), (*where, position), "type")
        if kind in ("text", "input_text"):
            pieces.append(as_str(part.get("text"), (*where, position), "text"))
        else:
            # unknown part types get a generic marker: never their payload (contract §4)
            pieces.append(_PART_MARKERS.get(kind, "[attachment]"))
    return "\n".join(pieces)


def _image_markers(value: Any, where: tuple[str | int, ...]) -> list[str]:
    """An assistant's ``images`` (``[{"type": "image_url", "image_url": {"url": ...}}]``) as the
    input side's markers, one per image: the output shows an image was made, never its data."""
    markers = []
    for position, raw in enumerate(as_list(value, where)):
        kind = as_obj(raw, where, position).get("type")
        markers.append(_PART_MARKERS.get(kind, "[image]") if isinstance(kind, str) else "[image]")
    return markers


def _read_tool_calls(value: Any, where: tuple[str | int, ...]) -> tuple[ToolCall, ...]:
    calls = []
    for position, raw in enumerate(as_list(value, where)):  # inline tests as in _read_messages
        item = raw if type(raw) is dict else as_obj(raw, where, position)
        function = item.get("function")
        if type(function) is not dict:
            function = as_obj(function, (*where, position), "function")
        arguments = function.get("arguments")
        if arguments is None:
            arguments = ""
        elif not isinstance(arguments, str | dict):
            as_str(arguments, (*where, position, "function"), "arguments")  # raises
        call_id, name = item.get("id"), function.get("name")
        if call_id is not None and type(call_id) is not str:
            call_id = as_str(call_id, (*where, position), "id")
        if name is not None and type(name) is not str:
            name = as_str(name, (*where, position, "function"), "name")
        calls.append(ToolCall(call_id, name or "", arguments))
    return tuple(calls)


def _check_tools(value: Any) -> None:
    if value is None:
        return
    for position, raw in enumerate(as_list(value, ("request",), "tools")):
        item = as_obj(raw, ("request", "tools"), position)
        if item.get("function") is not None:
            function = as_obj(item["function"], ("request", "tools", position), "function")
            as_str(function.get("name"), ("request", "tools", position, "function"), "name")
            opt_str(function.get("description"), ("request", "tools", position, "function"), "description")


def _read_headers(value: Any) -> dict[str, str]:
    """Header names are case-insensitive: two names that differ only in case are one header given
    twice, refused (like a JSON key written twice) rather than letting their order decide."""
    if value is None:
        return {}
    headers: dict[str, str] = {}
    for key, item in as_obj(value, (), "headers").items():
        if not isinstance(key, str):  # only a Python caller can do this: JSON keys are strings
            fail(("headers",), f"has a key that is not a string ({type(key).__name__})")
        name = key.lower()
        if name in headers:
            # at the object, not a key: which of the two comes second depends on the reader's key order
            fail(("headers",), f"names the header {name!r} twice (names are case-insensitive)")
        headers[name] = as_str(item, ("headers",), key)
    return headers


# -- response -----------------------------------------------------------------------------------


def _read_completion(
    value: Any, where: tuple[str | int, ...], *, in_stream: bool = False
) -> tuple[Completion, ErrorInfo | None]:
    body = as_obj(value, where)
    error = None
    if body.get("error") is not None:  # an error body inside an HTTP 200 (contract §1)
        error = _read_error(body["error"], (*where, "error"), status=None)
    choices_value = body.get("choices")
    choices: list[Choice] = []
    if choices_value is not None:
        for position, item in enumerate(as_list(choices_value, where, "choices")):
            choices.append(_read_choice(item, (*where, "choices", position), position))
    elif error is None and not in_stream:
        fail((*where, "choices"), "is required in a chat.completion response")
    choices.sort(key=lambda c: c.choice_index)
    usage = _read_usage(body["usage"], (*where, "usage")) if body.get("usage") is not None else None
    return (
        Completion(
            id=opt_str(body.get("id"), where, "id") or None,
            model=opt_str(body.get("model"), where, "model") or None,
            provider=opt_str(body.get("provider"), where, "provider") or None,
            choices=tuple(choices),
            usage=usage,
        ),
        error,
    )


def _read_choice(value: Any, where: tuple[str | int, ...], position: int) -> Choice:
    choice = as_obj(value, where)
    index_value = choice.get("index")
    index = position if index_value is None else as_count(index_value, where, "index")
    message_value = choice.get("message")
    content = reasoning = refusal = None
    tool_calls: tuple[ToolCall, ...] = ()
    if message_value is not None:
        message = as_obj(message_value, where, "message")
        if message.get("content") is not None:
            content = _content_text(message["content"], (*where, "message", "content"))
        at = (*where, "message")
        if message.get("images") is not None:  # generated images: a marker each, never their data
            markers = _image_markers(message["images"], (*at, "images"))
            content = "\n".join([content, *markers] if content else markers)
        reasoning = opt_str(message.get("reasoning"), at, "reasoning")
        refusal = opt_str(message.get("refusal"), at, "refusal")
        if message.get("tool_calls") is not None:
            tool_calls = _read_tool_calls(message["tool_calls"], (*at, "tool_calls"))
    elif choice.get("text") is not None:  # legacy completions choice
        content = as_str(choice["text"], where, "text")
    error = (
        _read_error(choice["error"], (*where, "error"), status=None)
        if choice.get("error") is not None
        else None
    )
    return Choice(
        choice_index=index,
        content=content,
        reasoning=reasoning,
        refusal=refusal,
        tool_calls=tool_calls,
        finish_reason=opt_str(choice.get("finish_reason"), where, "finish_reason"),
        native_finish_reason=opt_str(choice.get("native_finish_reason"), where, "native_finish_reason"),
        error=error,
    )


def _details(usage: dict[str, Any], key: str, where: tuple[str | int, ...]) -> dict[str, Any]:
    """``usage.<key>`` (an object or absent; absent reads as empty)."""
    value = usage.get(key)
    return {} if value is None else as_obj(value, where, key)


def _read_usage(value: Any, where: tuple[str | int, ...]) -> Usage:
    usage = as_obj(value, where)
    prompt = _details(usage, "prompt_tokens_details", where)
    completion = _details(usage, "completion_tokens_details", where)
    cost = _details(usage, "cost_details", where)
    prompt_at = (*where, "prompt_tokens_details")
    cost_at = (*where, "cost_details")
    return Usage(
        prompt_tokens=opt_count(usage.get("prompt_tokens"), where, "prompt_tokens"),
        completion_tokens=opt_count(usage.get("completion_tokens"), where, "completion_tokens"),
        total_tokens=opt_count(usage.get("total_tokens"), where, "total_tokens"),
        cached_tokens=opt_count(prompt.get("cached_tokens"), prompt_at, "cached_tokens"),
        cache_write_tokens=opt_count(prompt.get("cache_write_tokens"), prompt_at, "cache_write_tokens"),
        reasoning_tokens=opt_count(
            completion.get("reasoning_tokens"), (*where, "completion_tokens_details"), "reasoning_tokens"
        ),
        cost=opt_num(usage.get("cost"), where, "cost"),
        is_byok=opt_bool(usage.get("is_byok"), where, "is_byok"),
        upstream_inference_cost=opt_num(
            cost.get("upstream_inference_cost"), cost_at, "upstream_inference_cost"
        ),
        upstream_prompt_cost=opt_num(
            cost.get("upstream_inference_prompt_cost"), cost_at, "upstream_inference_prompt_cost"
        ),
        upstream_completions_cost=opt_num(
            cost.get("upstream_inference_completions_cost"), cost_at, "upstream_inference_completions_cost"
        ),
    )


# -- errors -------------------------------------------------------------------------------------


def _read_status(value: Any, where: tuple[str | int, ...]) -> int:
    status = as_count(value, where)
    if not 100 <= status <= 599:
        fail(where, f"must be an HTTP status from 100 to 599, not {status}")
    return status


def _read_error(value: Any, where: tuple[str | int, ...], status: int | None) -> ErrorInfo:
    """OpenRouter's ``{"code", "message", "metadata"?}``. Inside a 200 (``status`` None) an HTTP
    ``code`` is the status (contract §9); a code that is a name (``"server_error"``, OpenRouter's
    mid-stream example) or no code at all leaves the status unknown, and the name, else ``error``,
    is the type unless ``metadata.error_type`` gives one (spec §5)."""
    error = as_obj(value, where)
    code_name = None
    if status is None:
        code = error.get("code")
        if type(code) is str and not _HTTP_CODE.fullmatch(code):
            code_name = code.strip() or None
        elif code is not None:
            status = _read_status(int(code) if type(code) is str else code, (*where, "code"))
    message = opt_str(error.get("message"), where, "message")
    metadata_value = error.get("metadata")
    error_type = provider = None
    if metadata_value is not None:
        metadata = as_obj(metadata_value, where, "metadata")
        error_type = opt_str(metadata.get("error_type"), (*where, "metadata"), "error_type")
        provider = opt_str(metadata.get("provider_name"), (*where, "metadata"), "provider_name")
    fallback = f"http_{status}" if status is not None else (code_name or "error")
    return ErrorInfo(
        status=status,
        type=error_type or fallback,
        message=message if message else (f"HTTP {status}" if status is not None else fallback),
        provider_name=provider or None,
    )


_HTTP_CODE = re.compile(r"[1-5][0-9][0-9]", re.ASCII)  # "502" as a string is still an HTTP status


def _read_http_error(value: Any, where: tuple[str | int, ...], status: int) -> ErrorInfo:
    if isinstance(value, dict) and isinstance(value.get("error"), dict):
        return _read_error(value["error"], (*where, "error"), status=status)
    if isinstance(value, str) and value.strip():
        return ErrorInfo(status, f"http_{status}", value, None)
    if value is None or isinstance(value, dict | str):  # no body, an empty one, or no error object
        return ErrorInfo(status, f"http_{status}", f"HTTP {status}", None)
    fail(where, "must be OpenRouter's error object or the response text")
