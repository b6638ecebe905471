"""Read an exchange document into an immutable :class:`~.exchange_types.Exchange`.

This is the only place that reads untrusted exchange JSON: every access goes through
:class:`~.jsonread.Node`, so a wrong shape becomes :class:`~.errors.InvalidInput` naming the JSON
path. A stream is reassembled (``stream.reassemble``) into the same completion shape as a response.
"""

from __future__ import annotations

from typing import Any

from .errors import InvalidInput
from .exchange_types import Choice, Completion, ErrorInfo, Exchange, InputMessage, ToolCall, Usage
from .jsonread import Node, type_name
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
    root = Node(doc, (), InvalidInput)
    root.obj()
    request = root.get("request")
    if request.value is None:
        request.fail("is required")
    req = request.obj()
    messages = _read_messages(request.get("messages"))
    requested_model = request.get("model").opt_str()
    trace_node = request.get("trace")
    trace: dict[str, Any] = {} if trace_node.value is None else trace_node.obj()
    if trace:
        for key in RESERVED_TRACE_KEYS:  # TraceConfig: the reserved keys are strings
            trace_node.get(key).opt_str()
    _check_tools(request.get("tools"))
    headers = _read_headers(root.get("headers"))

    kinds = [k for k in ("response", "stream", "error") if root.has(k)]
    if len(kinds) != 1:
        root.fail(
            "must have exactly one of response, stream or error"
            + (f" (has {', '.join(kinds)})" if kinds else "")
        )
    completion: Completion | None = None
    error: ErrorInfo | None = None
    missing: tuple[str, ...] = ()
    if kinds[0] == "response":
        completion, error = _read_completion(root.get("response"))
    elif kinds[0] == "stream":
        node = root.get("stream")
        assembled = reassemble(node.str_())
        completion, error = _read_completion(Node(assembled.body, node.parts, InvalidInput), in_stream=True)
        if assembled.error is not None:  # a mid-stream error chunk (openrouter-broadcast.md §7)
            error = _read_error(Node(assembled.error, node.parts, InvalidInput), status=None)
        missing = assembled.missing
    else:
        error_node = root.get("error")
        error_node.obj()
        status = _read_status(error_node.get("status"))
        body = error_node.get("body")
        error = _read_http_error(body, status)
        if isinstance(body.value, dict) and isinstance(body.value.get("id"), str):
            completion = Completion(body.value["id"], None, None, (), None)
    if error is None and completion is not None:
        error = next((c.error for c in completion.choices if c.error is not None), None)

    timing = root.get("timing")
    if timing.value is None:
        timing.fail("is required")
    timing.obj()
    start = read_timestamp(timing.get("start"))
    end = read_timestamp(timing.get("end"))
    if end < start:
        timing.get("end").fail("is before timing.start")
    first_token = None
    if timing.has("first_token"):
        first_token = read_timestamp(timing.get("first_token"))
        if not start <= first_token <= end:
            timing.get("first_token").fail("must lie between timing.start and timing.end")

    generation_id = (completion.id if completion is not None else None) or headers.get("x-generation-id")
    session_id = request.get("session_id").opt_str() or headers.get("x-session-id")
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
        user=request.get("user").opt_str() or None,
        trace=trace,
    )


# -- request ------------------------------------------------------------------------------------


def _read_messages(node: Node) -> tuple[InputMessage, ...]:
    if node.value is None:
        node.fail("is required")
    items = node.value
    if type(items) is not list:
        node.fail(f"must be an array, not {type_name(items)}")
    if not items:
        node.fail("must hold at least one message")
    out = []
    for position, value in enumerate(items):
        plain = _plain_message(value)
        if plain is not None:
            out.append(plain)
            continue
        item = node.child(position, value)
        item.obj()
        role = item.get("role").str_()
        tool_calls = _read_tool_calls(item.get("tool_calls"))
        tool_call_id = item.get("tool_call_id").opt_str()
        out.append(InputMessage(role, _content_text(item.get("content")), tool_calls, tool_call_id))
    return tuple(out)


def _plain_message(value: Any) -> InputMessage | None:
    """Fast path for the common message shape: string role and content, no tool calls, an optional
    string tool_call_id. None for anything else (including every malformed message), which the
    path-aware reader then handles."""
    if type(value) is not dict:
        return None
    role, content, tool_call_id = value.get("role"), value.get("content"), value.get("tool_call_id")
    if (
        type(role) is str
        and type(content) is str
        and value.get("tool_calls") is None
        and (tool_call_id is None or type(tool_call_id) is str)
    ):
        return InputMessage(role, content, (), tool_call_id)
    return None


def _content_text(node: Node) -> str:
    """String content as is; a part list → text parts joined by newlines, media as markers."""
    value = node.value
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if not isinstance(value, list):
        node.fail("must be a string, an array of content parts, or null")
    pieces = []
    for part in node.items():
        part.obj()
        kind = part.get("type").str_()
        if kind in ("text", "input_text"):
            pieces.append(part.get("text").str_())
        else:
            # unknown part types get a generic marker: never their payload (contract §4)
            pieces.append(_PART_MARKERS.get(kind, "[attachment]"))
    return "\n".join(pieces)


def _read_tool_calls(node: Node) -> tuple[ToolCall, ...]:
    if node.value is None:
        return ()
    calls = []
    for item in node.items():
        item.obj()
        function = item.get("function")
        function.obj()
        arguments = function.get("arguments")
        args: str | dict[str, Any]
        if arguments.value is None:
            args = ""
        elif isinstance(arguments.value, dict):
            args = arguments.value
        else:
            args = arguments.str_()
        calls.append(ToolCall(item.get("id").opt_str(), function.get("name").opt_str() or "", args))
    return tuple(calls)


def _check_tools(node: Node) -> None:
    if node.value is None:
        return
    for item in node.items():
        item.obj()
        if item.has("function"):
            function = item.get("function")
            function.obj()
            function.get("name").str_()
            function.get("description").opt_str()


def _read_headers(node: Node) -> dict[str, str]:
    if node.value is None:
        return {}
    return {key.lower(): node.child(key, value).str_() for key, value in node.obj().items()}


# -- response -----------------------------------------------------------------------------------


def _read_completion(node: Node, *, in_stream: bool = False) -> tuple[Completion, ErrorInfo | None]:
    node.obj()
    error = None
    if node.has("error"):  # an error body inside an HTTP 200 (contract §1)
        error = _read_error(node.get("error"), status=None)
    choices_node = node.get("choices")
    choices: list[Choice] = []
    if choices_node.value is not None:
        for position, item in enumerate(choices_node.items()):
            choices.append(_read_choice(item, position))
    elif error is None and not in_stream:
        choices_node.fail("is required in a chat.completion response")
    choices.sort(key=lambda c: c.index)
    usage = _read_usage(node.get("usage")) if node.has("usage") else None
    return (
        Completion(
            id=node.get("id").opt_str() or None,
            model=node.get("model").opt_str() or None,
            provider=node.get("provider").opt_str() or None,
            choices=tuple(choices),
            usage=usage,
        ),
        error,
    )


def _read_choice(node: Node, position: int) -> Choice:
    node.obj()
    index_node = node.get("index")
    index = position if index_node.value is None else index_node.count()
    message = node.get("message")
    content = reasoning = refusal = None
    tool_calls: tuple[ToolCall, ...] = ()
    if message.value is not None:
        message.obj()
        content = _content_text(message.get("content")) if message.has("content") else None
        reasoning = message.get("reasoning").opt_str()
        refusal = message.get("refusal").opt_str()
        tool_calls = _read_tool_calls(message.get("tool_calls"))
    elif node.has("text"):  # legacy completions choice
        content = node.get("text").str_()
    error = _read_error(node.get("error"), status=None) if node.has("error") else None
    return Choice(
        index=index,
        content=content,
        reasoning=reasoning,
        refusal=refusal,
        tool_calls=tool_calls,
        finish_reason=node.get("finish_reason").opt_str(),
        native_finish_reason=node.get("native_finish_reason").opt_str(),
        error=error,
    )


def _read_usage(node: Node) -> Usage:
    node.obj()
    prompt_details = node.get("prompt_tokens_details")
    completion_details = node.get("completion_tokens_details")
    cost_details = node.get("cost_details")
    if prompt_details.value is not None:
        prompt_details.obj()
    if completion_details.value is not None:
        completion_details.obj()
    if cost_details.value is not None:
        cost_details.obj()

    def sub(parent: Node, key: str) -> Node:
        return parent.child(key, parent.value.get(key) if isinstance(parent.value, dict) else None)

    return Usage(
        prompt_tokens=node.get("prompt_tokens").opt_count(),
        completion_tokens=node.get("completion_tokens").opt_count(),
        total_tokens=node.get("total_tokens").opt_count(),
        cached_tokens=sub(prompt_details, "cached_tokens").opt_count(),
        cache_write_tokens=sub(prompt_details, "cache_write_tokens").opt_count(),
        reasoning_tokens=sub(completion_details, "reasoning_tokens").opt_count(),
        cost=node.get("cost").opt_num(),
        is_byok=node.get("is_byok").opt_bool(),
        upstream_inference_cost=sub(cost_details, "upstream_inference_cost").opt_num(),
        upstream_prompt_cost=sub(cost_details, "upstream_inference_prompt_cost").opt_num(),
        upstream_completions_cost=sub(cost_details, "upstream_inference_completions_cost").opt_num(),
    )


# -- errors -------------------------------------------------------------------------------------


def _read_status(node: Node) -> int:
    status = node.count()
    if not 100 <= status <= 599:
        node.fail(f"must be an HTTP status from 100 to 599, not {status}")
    return status


def _read_error(node: Node, status: int | None) -> ErrorInfo:
    """OpenRouter's ``{"code", "message", "metadata"?}``; inside a 200 the code is the status (§9)."""
    node.obj()
    code = node.get("code")
    if status is None:
        if code.value is None:
            code.fail("is required: an error reported inside an HTTP 200 needs its HTTP status code")
        status = _read_status(code)
    message = node.get("message").opt_str()
    metadata = node.get("metadata")
    error_type = provider = None
    if metadata.value is not None:
        metadata.obj()
        error_type = metadata.get("error_type").opt_str()
        provider = metadata.get("provider_name").opt_str()
    return ErrorInfo(
        status=status,
        type=error_type or f"http_{status}",
        message=message if message else f"HTTP {status}",
        provider_name=provider or None,
    )


def _read_http_error(body: Node, status: int) -> ErrorInfo:
    value = body.value
    if isinstance(value, dict) and isinstance(value.get("error"), dict):
        return _read_error(body.get("error"), status=status)
    if isinstance(value, str) and value.strip():
        return ErrorInfo(status, f"http_{status}", value, None)
    if value is None or isinstance(value, dict | str):  # no body, an empty one, or no error object
        return ErrorInfo(status, f"http_{status}", f"HTTP {status}", None)
    body.fail("must be OpenRouter's error object or the response text")
