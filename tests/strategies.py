"""Hypothesis strategies for realistic OpenRouter exchanges and Datadog destinations.

Every strategy returns plain JSON values (dicts, lists, str, int, float, bool, None) shaped like the
documents the library reads: ``exchanges()`` an exchange document (``schemas/exchange.schema.json``),
``destinations()`` OpenRouter's destination JSON. Shapes follow openrouter-broadcast.md §5-§8 and the
mapping contract §1. The pieces compose: ``requests()``, ``responses()``, ``streams_from()``,
``http_errors()`` ... can be used on their own.

Every exchange these strategies produce is traceable (it has a generation id somewhere), so a valid
one must map to a payload; ``corrupted()`` and ``json_values()`` are for the robustness properties.
"""

from __future__ import annotations

import base64
import copy
import itertools
import json
import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

Json = Any
Draw = st.DrawFn

__all__ = [
    "API_KEY",
    "RESERVED_TRACE_KEYS",
    "contents",
    "corrupted",
    "delete_at",
    "destinations",
    "exchanges",
    "http_errors",
    "json_values",
    "messages",
    "positions",
    "requests",
    "responses",
    "set_at",
    "shuffled",
    "streams_from",
    "texts",
    "timings",
    "traces",
    "usages",
]

# A recognisable API key: it must never appear in a payload (contract §1).
API_KEY = "dd-api-key-0123456789abcdef0123456789abcdef"
RESERVED_TRACE_KEYS = ("trace_id", "trace_name", "span_name", "generation_name", "parent_span_id")

# -- text -----------------------------------------------------------------------------------------

# Realistic snippets: RTL scripts, emoji with joiners, combining marks, bidi overrides, line breaks.
_SNIPPETS = (
    "What is the capital of France?",
    "The capital of France is **Paris**.",
    "مرحبا، كيف حالك؟",
    "שלום עולם",
    "👩‍👩‍👧‍👦 family 🇫🇷 flag 🏳️‍🌈",
    "e\u0301le\u0300ve",
    "\u202eevil override\u202c",
    "zero\u200bwidth\u200djoiner",
    "line one\nline two\r\nline three\ttabbed",
    "ctrl \x01\x07\x1b[31m\x7f end",
    'quote " backslash \\ slash /',
    "日本語のテキスト、中文文本",
    "\u2028line separator\u2029paragraph",
    "",
)

# Any Unicode scalar value except NUL (the privacy property uses NUL as a separator).
_CHARS = st.characters(codec="utf-8", exclude_characters="\x00")  # utf-8: no surrogates


def texts(*, max_size: int = 40, long: bool = True) -> st.SearchStrategy[str]:
    """Free text: random Unicode (emoji, RTL, NUL-free control characters), realistic snippets and,
    when ``long``, occasionally very long strings (thousands of characters)."""
    options: list[st.SearchStrategy[str]] = [st.text(_CHARS, max_size=max_size), st.sampled_from(_SNIPPETS)]
    if long:
        options.append(
            st.builds(
                lambda piece, n: (piece * n)[:20_000],
                st.text(_CHARS, min_size=1, max_size=12),
                st.integers(200, 2500),
            )
        )
    return st.one_of(*options)


def _names() -> st.SearchStrategy[str]:
    """Identifiers such as function names: ASCII letters, digits, _ and -."""
    return st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_-]{0,20}", fullmatch=True)


_MODELS = (
    "openai/gpt-4o",
    "openai/gpt-4o-mini",
    "anthropic/claude-sonnet-4.5",
    "google/gemini-3.5-flash-lite",
    "meta-llama/llama-3.3-70b-instruct:free",
    "openai/gpt-oss-120b",
    "mistralai/mistral-small",
    "deepseek/deepseek-r1:nitro",
)
_PROVIDERS = (
    "OpenAI",
    "Anthropic",
    "Google",
    "Google AI Studio",
    "Amazon Bedrock",
    "Together",
    "DeepInfra",
    "Groq",
)
_FINISH_REASONS = ("stop", "length", "tool_calls", "content_filter", "error", None)
_ERROR_TYPES = (
    "provider_unavailable",
    "rate_limit_exceeded",
    "context_length_exceeded",
    "content_policy_violation",
    "server",
    "timeout",
    "invalid_request",
)


def model_slugs() -> st.SearchStrategy[str]:
    """OpenRouter model slugs (``author/slug`` with optional ``:variant``), real ones and made-up ones."""
    made_up = st.builds(lambda a, b: f"{a.lower()}/{b.lower()}", _names(), _names())
    return st.one_of(st.sampled_from(_MODELS), made_up)


def generation_ids() -> st.SearchStrategy[str]:
    """``gen-<unix time>-<20 alphanumerics>`` like OpenRouter's, plus the odd non-standard id."""
    standard = st.builds(
        lambda t, s: f"gen-{t}-{s}",
        st.integers(1_700_000_000, 1_900_000_000),
        st.from_regex(r"[A-Za-z0-9]{20}", fullmatch=True),
    )
    return st.one_of(standard, st.text(_CHARS, min_size=1, max_size=30))


# -- request --------------------------------------------------------------------------------------


def _data_url(mime: str) -> st.SearchStrategy[str]:
    return st.builds(
        lambda raw: f"data:{mime};base64,{base64.b64encode(raw).decode()}",
        st.binary(min_size=12, max_size=48),
    )


def _parts() -> st.SearchStrategy[dict[str, Json]]:
    """One content part (openrouter-broadcast.md §5): text, image, audio, file or video."""
    return st.one_of(
        st.builds(lambda t: {"type": "text", "text": t}, texts()),
        st.builds(
            lambda url, detail: {"type": "image_url", "image_url": {"url": url, "detail": detail}},
            st.one_of(_data_url("image/png"), st.just("https://example.com/cat.png")),
            st.sampled_from(["auto", "low", "high"]),
        ),
        st.builds(
            lambda raw, fmt: {
                "type": "input_audio",
                "input_audio": {"data": base64.b64encode(raw).decode(), "format": fmt},
            },
            st.binary(min_size=12, max_size=48),
            st.sampled_from(["wav", "mp3"]),
        ),
        st.builds(
            lambda name, url: {"type": "file", "file": {"filename": name, "file_data": url}},
            st.sampled_from(["report.pdf", "notes.txt"]),
            _data_url("application/pdf"),
        ),
        st.builds(
            lambda url: {"type": "video_url", "video_url": {"url": url}},
            st.one_of(_data_url("video/mp4"), st.just("https://example.com/clip.mp4")),
        ),
    )


def contents(*, parts: bool = True) -> st.SearchStrategy[Json]:
    """Message content: a string, or (when ``parts``) a list of content parts."""
    if not parts:
        return texts()
    return st.one_of(texts(), st.lists(_parts(), max_size=4))


_CALL_IDS = tuple(f"call_{i}" for i in range(4))


def tool_arguments() -> st.SearchStrategy[Json]:
    """Tool-call arguments: valid JSON object text, invalid JSON, JSON that is not an object, ``""``,
    or (as some clients send it) an object."""
    objects = st.dictionaries(
        _names(), st.one_of(texts(long=False), st.integers(), st.booleans()), max_size=3
    )
    return st.one_of(
        objects.map(lambda o: json.dumps(o, ensure_ascii=False)),
        texts(long=False),  # mostly invalid JSON
        st.sampled_from(['{"city": "Par', "[1, 2, 3]", '"just a string"', "null", "42", ""]),
        objects,
    )


def tool_calls() -> st.SearchStrategy[list[dict[str, Json]]]:
    """Assistant tool calls whose ids come from a small pool, so tool results sometimes resolve."""
    call = st.builds(
        lambda call_id, name, args: {
            "id": call_id,
            "type": "function",
            "function": {"name": name, "arguments": args},
        },
        st.sampled_from(_CALL_IDS),
        _names(),
        tool_arguments(),
    )
    return st.lists(call, min_size=1, max_size=3)


@st.composite
def messages(draw: Draw) -> dict[str, Json]:
    """One request message of any role (system, developer, user, assistant, tool)."""
    role = draw(st.sampled_from(["system", "developer", "user", "user", "assistant", "tool"]))
    message: dict[str, Json] = {"role": role}
    if role in ("system", "developer"):
        message["content"] = draw(
            st.one_of(
                texts(), st.lists(st.builds(lambda t: {"type": "text", "text": t}, texts()), max_size=2)
            )
        )
    elif role == "user":
        message["content"] = draw(contents())
        if draw(st.booleans()):
            message["name"] = draw(_names())
    elif role == "assistant":
        message["content"] = draw(st.one_of(st.none(), texts()))
        if draw(st.booleans()):
            message["tool_calls"] = draw(tool_calls())
    else:
        message["content"] = draw(contents(parts=draw(st.booleans())))
        message["tool_call_id"] = draw(st.one_of(st.sampled_from(_CALL_IDS), st.just("call_unknown")))
    return message


def _custom_trace_values() -> st.SearchStrategy[Json]:
    return json_values(max_leaves=6)


@st.composite
def traces(draw: Draw) -> dict[str, Json]:
    """A ``trace`` object: some reserved keys (strings) and arbitrary nested custom keys, sometimes
    colliding with the built-in metadata names (contract §9)."""
    trace: dict[str, Json] = {}
    for key in RESERVED_TRACE_KEYS:
        if draw(st.integers(0, 3)) == 0:
            trace[key] = draw(st.one_of(texts(long=False), _names(), st.just("")))
    custom_keys = st.one_of(
        st.text(_CHARS, max_size=12).filter(lambda k: k not in RESERVED_TRACE_KEYS),
        st.sampled_from(
            ["environment", "feature", "generation_id", "finish_reason", "model_name", "temperature"]
        ),
    )
    trace.update(draw(st.dictionaries(custom_keys, _custom_trace_values(), max_size=4)))
    return trace


_PARAMS: dict[str, st.SearchStrategy[Json]] = {
    "temperature": st.floats(0, 2, allow_nan=False),
    "top_p": st.floats(0, 1, allow_nan=False),
    "top_k": st.integers(0, 100),
    "max_tokens": st.integers(1, 100_000),
    "max_completion_tokens": st.integers(1, 100_000),
    "frequency_penalty": st.floats(-2, 2, allow_nan=False),
    "presence_penalty": st.floats(-2, 2, allow_nan=False),
    "repetition_penalty": st.floats(0, 2, allow_nan=False),
    "min_p": st.floats(0, 1, allow_nan=False),
    "top_a": st.floats(0, 1, allow_nan=False),
    "seed": st.integers(-(2**31), 2**31),
    "stop": st.one_of(_names(), st.lists(_names(), max_size=4)),
    "stream": st.booleans(),
    "tool_choice": st.one_of(
        st.sampled_from(["auto", "none", "required"]),
        st.builds(lambda n: {"type": "function", "function": {"name": n}}, _names()),
    ),
    "parallel_tool_calls": st.booleans(),
    "models": st.lists(model_slugs(), max_size=3),
    "reasoning": st.builds(
        lambda e: {"effort": e}, st.sampled_from(["high", "medium", "low", "minimal", "none"])
    ),
    "reasoning_effort": st.sampled_from(["high", "low"]),
    "response_format": st.builds(
        lambda t: {"type": t}, st.sampled_from(["text", "json_object", "json_schema"])
    ),
    "logprobs": st.booleans(),
}


def _tool_definitions() -> st.SearchStrategy[list[dict[str, Json]]]:
    function_tool = st.builds(
        lambda name, description, parameters: {
            "type": "function",
            "function": {"name": name, "description": description, "parameters": parameters},
        },
        _names(),
        st.one_of(st.none(), texts(long=False)),
        st.just({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
    )
    server_tool = st.sampled_from([{"type": "openrouter:web_search"}, {"type": "openrouter:datetime"}])
    return st.lists(st.one_of(function_tool, server_tool), min_size=1, max_size=3)


@st.composite
def requests(draw: Draw) -> dict[str, Json]:
    """A chat-completions request body (openrouter-broadcast.md §5) with any mix of optional fields."""
    request: dict[str, Json] = {"messages": draw(st.lists(messages(), min_size=1, max_size=5))}
    if draw(st.integers(0, 9)):
        request["model"] = draw(model_slugs())
    for key in draw(st.lists(st.sampled_from(sorted(_PARAMS)), max_size=6, unique=True)):
        request[key] = draw(_PARAMS[key])
    if draw(st.booleans()):
        request["tools"] = draw(_tool_definitions())
    if draw(st.booleans()):
        request["user"] = draw(
            st.one_of(_names(), texts(long=False), st.text(_CHARS, min_size=150, max_size=260))
        )
    if draw(st.booleans()):
        request["session_id"] = draw(st.one_of(_names(), texts(long=False)))
    if draw(st.booleans()):
        request["trace"] = draw(traces())
    return request


# -- response -------------------------------------------------------------------------------------


def _count() -> st.SearchStrategy[int]:
    return st.one_of(st.just(0), st.integers(1, 200_000))


def _cost() -> st.SearchStrategy[float | int]:
    return st.one_of(st.just(0), st.floats(1e-9, 5.0, allow_nan=False))


@st.composite
def usages(draw: Draw) -> dict[str, Json]:
    """``usage`` with every field present, absent or zero (contract §4: present iff reported)."""

    def maybe(target: dict[str, Json], key: str, values: st.SearchStrategy[Json]) -> None:
        choice = draw(st.integers(0, 3))  # 0: absent, 1: null, 2: zero, 3: a value
        if choice == 1:
            target[key] = None
        elif choice == 2:
            target[key] = 0
        elif choice == 3:
            target[key] = draw(values)

    usage: dict[str, Json] = {}
    for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
        maybe(usage, key, _count())
    if draw(st.booleans()):
        details: dict[str, Json] = {"audio_tokens": 0}
        maybe(details, "cached_tokens", _count())
        maybe(details, "cache_write_tokens", _count())
        usage["prompt_tokens_details"] = details
    if draw(st.booleans()):
        completion_details: dict[str, Json] = {"image_tokens": 0}
        maybe(completion_details, "reasoning_tokens", _count())
        usage["completion_tokens_details"] = completion_details
    maybe(usage, "cost", _cost())
    if draw(st.booleans()):
        usage["is_byok"] = draw(st.booleans())
    if draw(st.booleans()):
        prompt_cost, completion_cost = draw(_cost()), draw(_cost())
        cost_details: dict[str, Json] = {
            "upstream_inference_prompt_cost": prompt_cost,
            "upstream_inference_completions_cost": completion_cost,
        }
        if draw(st.booleans()):  # reconciling costs, as OpenRouter reports them
            usage["cost"] = prompt_cost + completion_cost
            cost_details["upstream_inference_cost"] = prompt_cost + completion_cost
        else:
            maybe(cost_details, "upstream_inference_cost", _cost())
        usage["cost_details"] = cost_details
    return usage


def _error_objects(*, code: int | None = None) -> st.SearchStrategy[dict[str, Json]]:
    """OpenRouter's ``{code, message, metadata?}`` (openrouter-broadcast.md §8)."""

    @st.composite
    def build(draw: Draw) -> dict[str, Json]:
        status = code if code is not None else draw(st.sampled_from([400, 402, 403, 408, 429, 500, 502, 503]))
        error: dict[str, Json] = {"code": status, "message": draw(texts(long=False))}
        if draw(st.booleans()):
            metadata: dict[str, Json] = {}
            if draw(st.booleans()):
                metadata["error_type"] = draw(st.sampled_from(_ERROR_TYPES))
            if draw(st.booleans()):
                metadata["provider_name"] = draw(st.sampled_from(_PROVIDERS))
            if draw(st.booleans()):  # moderation echoes the prompt: content, never to be shown
                metadata["flagged_input"] = draw(texts(long=False))
            error["metadata"] = metadata
        return error

    return build()


@st.composite
def choices(draw: Draw, *, failing: bool = False) -> list[dict[str, Json]]:
    """1-3 choices with content, reasoning, refusal and tool calls; ``failing`` adds ``choices[].error``."""
    count = draw(st.integers(1, 3))
    out = []
    for index in range(count):
        message: dict[str, Json] = {
            "role": "assistant",
            "content": draw(st.one_of(st.none(), texts())),
            "reasoning": draw(st.one_of(st.none(), texts())),
            "refusal": draw(st.one_of(st.none(), texts(long=False))),
        }
        if draw(st.integers(0, 3)) == 0:
            message["tool_calls"] = draw(tool_calls())
        choice: dict[str, Json] = {
            "index": index,
            "message": message,
            "finish_reason": draw(st.sampled_from(_FINISH_REASONS)),
            "native_finish_reason": draw(
                st.one_of(st.none(), st.sampled_from(["STOP", "MAX_TOKENS", "end_turn"]))
            ),
            "logprobs": None,
        }
        if failing and index == 0:
            choice["error"] = draw(_error_objects())
            choice["finish_reason"] = "error"
        out.append(choice)
    return draw(st.permutations(out))


@st.composite
def responses(draw: Draw, *, gen_id: str | None = None, failing: str | None = None) -> dict[str, Json]:
    """A ``chat.completion`` body (openrouter-broadcast.md §6). ``failing="body"`` adds a top-level
    error inside the 200, ``failing="choice"`` a ``choices[].error``."""
    body: dict[str, Json] = {
        "id": gen_id if gen_id is not None else draw(generation_ids()),
        "object": "chat.completion",
        "created": draw(st.integers(1_700_000_000, 1_900_000_000)),
        "model": draw(model_slugs()),
        "system_fingerprint": None,
    }
    if draw(st.integers(0, 4)):
        body["provider"] = draw(st.sampled_from(_PROVIDERS))
    if failing == "body":
        body["error"] = draw(_error_objects())
        if draw(st.booleans()):
            body["choices"] = draw(choices())
    else:
        body["choices"] = draw(choices(failing=failing == "choice"))
    if draw(st.integers(0, 4)):
        body["usage"] = draw(usages())
    return body


def _split(draw: Draw, text: str) -> list[str]:
    """``text`` cut into 1-4 deltas at drawn positions (boundaries may fall inside emoji sequences)."""
    if not text:
        return [text]
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=3, unique=True)))
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds) if b > a] or [text]


@st.composite
def streams_from(draw: Draw, body: dict[str, Json], *, error: bool = False) -> str:
    """The SSE text OpenRouter would have streamed for ``body`` (openrouter-broadcast.md §7):
    keep-alive comments, content/reasoning/tool-call deltas, a finish chunk, a usage chunk and
    ``[DONE]`` (sometimes cut off). ``error`` inserts a mid-stream error chunk."""
    head: dict[str, Json] = {k: body[k] for k in ("id", "model", "provider", "created") if k in body}
    head["object"] = "chat.completion.chunk"
    chunks: list[dict[str, Json]] = []

    def chunk(choice_items: list[dict[str, Json]], **extra: Json) -> dict[str, Json]:
        return {**head, "choices": choice_items, **extra}

    for choice in body.get("choices", []):
        index, message = choice["index"], choice["message"]
        chunks.append(
            chunk([{"index": index, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
        )
        for key in ("reasoning", "content", "refusal"):
            if isinstance(message.get(key), str):
                for piece in _split(draw, message[key]):
                    chunks.append(chunk([{"index": index, "delta": {key: piece}, "finish_reason": None}]))
        for position, call in enumerate(message.get("tool_calls", [])):
            args = call["function"]["arguments"]
            text = args if isinstance(args, str) else json.dumps(args)
            first = {
                "index": position,
                "id": call["id"],
                "type": "function",
                "function": {"name": call["function"]["name"], "arguments": ""},
            }
            chunks.append(chunk([{"index": index, "delta": {"tool_calls": [first]}, "finish_reason": None}]))
            for piece in _split(draw, text):
                fragment = {"index": position, "function": {"arguments": piece}}
                chunks.append(
                    chunk([{"index": index, "delta": {"tool_calls": [fragment]}, "finish_reason": None}])
                )
        finish = {"index": index, "delta": {}, "finish_reason": choice.get("finish_reason")}
        if choice.get("native_finish_reason") is not None:
            finish["native_finish_reason"] = choice["native_finish_reason"]
        chunks.append(chunk([finish]))
    chunks = draw(st.permutations(chunks)) if draw(st.integers(0, 5)) == 0 else chunks  # interleaved choices
    if error:
        position = draw(st.integers(0, len(chunks)))
        failure = chunk(
            [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}], error=draw(_error_objects())
        )
        chunks.insert(position, failure)
    if "usage" in body:
        chunks.append(chunk([], usage=body["usage"]))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    lines = [": OPENROUTER PROCESSING"] if draw(st.booleans()) else []
    for item in chunks:
        lines.append("data: " + json.dumps(item, ensure_ascii=draw(st.booleans())))
    if draw(st.integers(0, 4)):
        lines.append("data: [DONE]")
    return newline.join(f"{line}{newline}" for line in lines)


@st.composite
def http_errors(draw: Draw, *, gen_id: str | None) -> dict[str, Json]:
    """``{"status", "body"}`` of a failed call: OpenRouter's error object (with the generation id in
    the body when ``gen_id`` is given) or, rarely, a plain-text body."""
    status = draw(st.sampled_from([400, 401, 402, 403, 408, 413, 429, 500, 502, 503, 524, 529]))
    body: Json
    if draw(st.integers(0, 5)) == 0:
        body = draw(texts(long=False))  # a plain-text body, possibly empty or blank
    else:
        body = {"error": draw(_error_objects(code=status))}
        if gen_id is not None:
            body["id"] = gen_id
        if draw(st.booleans()):
            body["user_id"] = "user_2yFPexample"
    return {"status": status, "body": body}


def _rfc3339(ns: int, offset_minutes: int, digits: int) -> str:
    zone = timezone(timedelta(minutes=offset_minutes))
    moment = datetime.fromtimestamp(ns // 1_000_000_000, tz=UTC).astimezone(zone)
    fraction = f"{ns % 1_000_000_000:09d}"[:digits]
    suffix = "Z" if offset_minutes == 0 else moment.strftime("%z")[:3] + ":" + moment.strftime("%z")[3:]
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if digits else "") + suffix


@st.composite
def timings(draw: Draw, *, first_token: bool = False) -> dict[str, Json]:
    """``{"start", "end", "first_token"?}`` as integer nanoseconds or RFC 3339 text with an offset.
    Text keeps only the drawn number of fraction digits, so the values are built from the text."""
    start = draw(st.integers(1_600_000_000, 1_900_000_000)) * 1_000_000_000
    end = start + draw(st.integers(0, 120_000_000_000))
    if draw(st.booleans()):
        offset = draw(st.sampled_from([0, 0, 120, -300, 330]))
        timing: dict[str, Json] = {"start": _rfc3339(start, offset, 9), "end": _rfc3339(end, offset, 9)}
        if first_token and draw(st.booleans()):
            timing["first_token"] = _rfc3339(draw(st.integers(start, end)), offset, 9)
    else:
        timing = {"start": start, "end": end}
        if first_token and draw(st.booleans()):
            timing["first_token"] = draw(st.integers(start, end))
    return timing


@st.composite
def exchanges(draw: Draw, *, kinds: tuple[str, ...] | None = None) -> dict[str, Json]:
    """A traceable exchange document of one of ``kinds``: ``response``, ``stream``, ``http_error``,
    ``body_error`` (error inside a 200), ``choice_error``, ``stream_error`` (mid-stream error)."""
    kind = draw(
        st.sampled_from(
            kinds
            or ("response", "response", "stream", "http_error", "body_error", "choice_error", "stream_error")
        )
    )
    request = draw(requests())
    gen_id = draw(generation_ids())
    headers: dict[str, Json] = {}
    doc: dict[str, Json] = {"request": request}
    if kind in ("response", "body_error", "choice_error"):
        failing = {"body_error": "body", "choice_error": "choice"}.get(kind)
        doc["response"] = draw(responses(gen_id=gen_id, failing=failing))
    elif kind in ("stream", "stream_error"):
        body = draw(responses(gen_id=gen_id))
        doc["stream"] = draw(streams_from(body, error=kind == "stream_error"))
    else:
        in_body = draw(st.booleans())
        doc["error"] = draw(http_errors(gen_id=gen_id if in_body else None))
        if not in_body or not isinstance(doc["error"]["body"], dict):
            headers["X-Generation-Id"] = gen_id
    doc["timing"] = draw(timings(first_token=kind in ("stream", "stream_error")))
    if draw(st.integers(0, 3)) == 0:
        headers[draw(st.sampled_from(["x-session-id", "X-Session-Id"]))] = draw(
            st.one_of(_names(), texts(long=False))
        )
    if headers:
        doc["headers"] = headers
    return doc


# -- settings -------------------------------------------------------------------------------------


def ml_apps() -> st.SearchStrategy[str]:
    """Odd but valid ml_app names: mixed case, punctuation, spaces, Unicode, over-long; each keeps at
    least one ASCII letter, so Datadog's normalisation leaves something."""
    return st.one_of(
        st.sampled_from(
            [
                "production-app",
                "My App!!",
                "  Prod/Chat:v2  ",
                "ÜBER_app",
                "a",
                "__a__",
                "app🚀",
                "x" * 300,
                "a:",
                "Team:App:",
            ]
        ),
        st.builds(
            lambda a, letter, b: a + letter + b,
            st.text(_CHARS, max_size=15),
            st.sampled_from("abcXYZ"),
            st.text(_CHARS, max_size=15),
        ),
    )


@st.composite
def destinations(
    draw: Draw, *, privacy: bool | None = None, max_span_bytes: int | None = None
) -> dict[str, Json]:
    """OpenRouter's Datadog destination JSON (contract §1). ``privacy``/``max_span_bytes`` pin those."""
    config: dict[str, Json] = {"apiKey": API_KEY, "mlApp": draw(ml_apps())}
    if draw(st.booleans()):
        config["url"] = draw(
            st.sampled_from(
                ["https://api.datadoghq.com", "https://api.us5.datadoghq.com/", "https://api.datadoghq.eu"]
            )
        )
    destination: dict[str, Json] = {"type": "datadog", "config": config}
    destination["privacy_mode"] = draw(st.booleans()) if privacy is None else privacy
    if max_span_bytes is not None:
        destination["max_span_bytes"] = max_span_bytes
    if draw(st.booleans()):
        destination.update({"id": "dest_123", "name": "Datadog", "enabled": True, "sampling_rate": 1})
    return destination


# -- arbitrary JSON, corruption, key order --------------------------------------------------------


def json_values(*, max_leaves: int = 10) -> st.SearchStrategy[Json]:
    """Arbitrary JSON values (no NaN or infinities: they are not JSON), nested up to a few levels."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(_CHARS, max_size=20),
    )
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(st.text(_CHARS, max_size=10), inner, max_size=4)
        ),
        max_leaves=max_leaves,
    )


def _paths(value: Json, prefix: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


def _replace(doc: Json, path: tuple[str | int, ...], change: Callable[[Json, str | int], None]) -> Json:
    if not path:
        raise ValueError("the root has no parent")
    parent = doc
    for part in path[:-1]:
        parent = parent[part]
    change(parent, path[-1])
    return doc


def _shape(path: tuple[str | int, ...]) -> tuple[str | int, ...]:
    return tuple("*" if isinstance(part, int) else part for part in path)


def positions(doc: Json) -> list[tuple[str | int, ...]]:
    """One path per distinct position of ``doc`` (list indexes count as one: ``messages[*].role``),
    the root left out: every field name once, however long the lists are."""
    seen: dict[tuple[str | int, ...], tuple[str | int, ...]] = {}
    for path in _paths(doc):
        if path:
            seen.setdefault(_shape(path), path)
    return list(seen.values())


def set_at(doc: Json, path: tuple[str | int, ...], value: Json) -> Json:
    """A deep copy of ``doc`` with ``value`` at ``path``."""
    return _replace(copy.deepcopy(doc), path, lambda parent, key: parent.__setitem__(key, value))


def delete_at(doc: Json, path: tuple[str | int, ...]) -> Json:
    """A deep copy of ``doc`` without the member or element at ``path``."""
    return _replace(copy.deepcopy(doc), path, lambda parent, key: parent.pop(key))


@st.composite
def corrupted(draw: Draw, doc: Json, *, max_changes: int = 3) -> Json:
    """``doc`` with 1-``max_changes`` positions (a whole subtree, a leaf, or a value inside an SSE
    data line) replaced by an arbitrary JSON value or deleted. Positions are drawn by field name
    first (``choices[*].index``), then by list index, so rare fields are hit as often as common
    ones. Returns a copy; ``doc`` is untouched."""
    doc = copy.deepcopy(doc)
    for _ in range(draw(st.integers(1, max_changes))):
        if not isinstance(doc, dict | list):
            return doc
        if isinstance(doc, dict) and isinstance(doc.get("stream"), str) and draw(st.booleans()):
            lines = doc["stream"].split("\n")
            data = [i for i, line in enumerate(lines) if line.startswith("data: {")]
            if data:
                i = draw(st.sampled_from(data))
                chunk = json.loads(lines[i][len("data: ") :])
                lines[i] = "data: " + json.dumps(draw(corrupted(chunk, max_changes=1)))
                doc["stream"] = "\n".join(lines)
                continue
        by_shape: dict[tuple[str | int, ...], list[tuple[str | int, ...]]] = {}
        for path in _paths(doc):
            by_shape.setdefault(_shape(path), []).append(path)
        shape = draw(st.sampled_from(sorted(by_shape, key=repr)))
        path = draw(st.sampled_from(by_shape[shape]))
        if not path:
            return draw(json_values())
        delete = draw(st.integers(0, 2)) == 0
        doc = delete_at(doc, path) if delete else set_at(doc, path, draw(json_values()))
    return doc


def shuffled(value: Json, rng: random.Random) -> Json:
    """A deep copy of ``value`` whose objects list their keys in a random order (lists keep theirs)."""
    if isinstance(value, dict):
        keys = list(value)
        rng.shuffle(keys)
        return {key: shuffled(value[key], rng) for key in keys}
    if isinstance(value, list):
        return [shuffled(item, rng) for item in value]
    return value
