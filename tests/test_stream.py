"""Stream reassembly (llmobs_mapping.stream; openrouter-broadcast.md §7)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import strategies
from hypothesis import given
from hypothesis import strategies as st

from llmobs_mapping.errors import InvalidInput
from llmobs_mapping.exchange import read_exchange
from llmobs_mapping.stream import Reassembled, _Assembler, _Line, _TextTemplate, reassemble

GEN_ID = "gen-1788612875-1qJQ41IafHPo6WUnyTtZ"
MODEL = "openai/gpt-4o"
USAGE = {"prompt_tokens": 16, "completion_tokens": 4, "total_tokens": 20, "cost": 1.48e-05, "is_byok": False}


def chunk(
    delta: dict[str, Any] | None = None,
    *,
    finish_reason: str | None = None,
    native_finish_reason: str | None = None,
    index: int = 0,
    choices: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A chat.completion.chunk as OpenRouter sends it (every chunk repeats id, model, provider)."""
    body: dict[str, Any] = {
        "id": GEN_ID,
        "object": "chat.completion.chunk",
        "created": 1788612875,
        "model": MODEL,
        "provider": "OpenAI",
    }
    if choices is None:
        choices = [
            {
                "index": index,
                "delta": delta if delta is not None else {},
                "finish_reason": finish_reason,
                "native_finish_reason": native_finish_reason,
                "logprobs": None,
            }
        ]
    body["choices"] = choices
    body.update(extra)
    return body


def sse(*events: dict[str, Any] | str, done: bool = True, newline: str = "\n") -> str:
    """SSE text: dict events become ``data: <json>`` + blank line, str events are copied verbatim
    (comments, ``[DONE]`` elsewhere, broken lines). Ends with ``data: [DONE]`` unless ``done=False``."""
    lines: list[str] = []
    for event in events:
        if isinstance(event, str):
            lines.append(event)
        else:
            lines += [f"data: {json.dumps(event, separators=(',', ':'))}", ""]
    if done:
        lines += ["data: [DONE]", ""]
    return newline.join(lines) + newline


def text_stream(**kwargs: Any) -> str:
    return sse(
        ": OPENROUTER PROCESSING",
        "",
        chunk({"role": "assistant", "content": "It looks"}),
        chunk({"content": " like"}),
        chunk({"content": " you"}),
        chunk({"content": ""}, finish_reason="length", native_finish_reason="MAX_TOKENS"),
        chunk(
            {"role": "assistant", "content": ""},
            finish_reason="length",
            native_finish_reason="MAX_TOKENS",
            usage=USAGE,
            service_tier="default",
        ),
        **kwargs,
    )


TEXT_BODY = {
    "id": GEN_ID,
    "model": MODEL,
    "provider": "OpenAI",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "It looks like you",
                "reasoning": None,
                "refusal": None,
            },
            "finish_reason": "length",
            "native_finish_reason": "MAX_TOKENS",
        }
    ],
    "usage": USAGE,
}


def test_text_stream_with_usage_on_a_choice_chunk() -> None:
    # observed 2026-09-05: the last chunk carries usage together with a choice (§7)
    assert reassemble(text_stream()) == Reassembled(body=TEXT_BODY, error=None, missing=())


def test_usage_chunk_with_empty_choices() -> None:
    # documented form: usage in a final chunk with an empty choices array (§7)
    text = sse(
        chunk({"role": "assistant", "content": "Hi"}),
        chunk({}, finish_reason="stop", native_finish_reason="stop"),
        chunk(choices=[], usage=USAGE),
    )
    result = reassemble(text)
    assert result.body == {
        "id": GEN_ID,
        "model": MODEL,
        "provider": "OpenAI",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hi", "reasoning": None, "refusal": None},
                "finish_reason": "stop",
                "native_finish_reason": "stop",
            }
        ],
        "usage": USAGE,
    }
    assert result.missing == ()
    assert result.error is None


def test_crlf_line_endings_give_the_same_result() -> None:
    assert reassemble(text_stream(newline="\r\n")) == reassemble(text_stream())
    assert reassemble(text_stream(newline="\r")) == reassemble(text_stream())


def test_data_without_space_bom_and_other_sse_fields() -> None:
    text = "\ufeff" + "\n".join(
        [
            "event: message",
            "id: 3",
            "retry: 1000",
            ": OPENROUTER PROCESSING",
            "data:" + json.dumps(chunk({"content": "a"})),
            "   ",
            "data: " + json.dumps(chunk({"content": "b"}, finish_reason="stop")),
            "data:[DONE]",
        ]
    )
    result = reassemble(text)
    assert result.body["choices"][0]["message"]["content"] == "ab"
    assert result.body["choices"][0]["finish_reason"] == "stop"
    assert result.missing == ("usage",)


def test_nothing_after_done_is_read() -> None:
    text = sse(chunk({"content": "kept"}), chunk(choices=[], usage=USAGE)) + "data: not json at all\n"
    text += "data: " + json.dumps(chunk({"content": " dropped"})) + "\n"
    result = reassemble(text)
    assert result.body["choices"][0]["message"]["content"] == "kept"
    assert result.missing == ()


def test_streamed_tool_calls_two_calls_with_interleaved_fragments() -> None:
    def call(index: int, **parts: Any) -> dict[str, Any]:
        function = {k: v for k, v in parts.items() if k in ("name", "arguments")}
        out: dict[str, Any] = {"index": index, "function": function}
        if "id" in parts:
            out |= {"id": parts["id"], "type": "function"}
        return out

    text = sse(
        chunk({"role": "assistant", "content": None}),
        chunk({"tool_calls": [call(0, id="call_a", name="get_weather", arguments="")]}),
        chunk({"tool_calls": [call(0, arguments='{"city": ')]}),
        chunk({"tool_calls": [call(1, id="call_b", name="get_time", arguments='{"tz"')]}),
        chunk({"tool_calls": [call(0, arguments='"Paris"}'), call(1, arguments=': "CET"}')]}),
        chunk({}, finish_reason="tool_calls", native_finish_reason="tool_calls"),
        chunk(choices=[], usage=USAGE),
    )
    message = reassemble(text).body["choices"][0]["message"]
    assert message == {
        "role": "assistant",
        "content": None,
        "reasoning": None,
        "refusal": None,
        "tool_calls": [
            {
                "id": "call_a",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
            },
            {
                "id": "call_b",
                "type": "function",
                "function": {"name": "get_time", "arguments": '{"tz": "CET"}'},
            },
        ],
    }


def test_tool_call_first_id_and_name_win() -> None:
    text = sse(
        chunk(
            {"tool_calls": [{"index": 0, "id": "call_1", "function": {"name": "lookup", "arguments": "{"}}]}
        ),
        chunk(
            {"tool_calls": [{"index": 0, "id": "call_1", "function": {"name": "lookup", "arguments": "}"}}]}
        ),
    )
    calls = reassemble(text).body["choices"][0]["message"]["tool_calls"]
    assert calls == [{"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}]


def test_tool_calls_without_index_split_by_id() -> None:
    # non-conforming providers omit tool_calls[].index: a new id starts a new call
    text = sse(
        chunk({"tool_calls": [{"id": "c1", "function": {"name": "a", "arguments": "{"}}]}),
        chunk({"tool_calls": [{"function": {"arguments": "}"}}]}),
        chunk({"tool_calls": [{"id": "c2", "function": {"name": "b", "arguments": "[]"}}]}),
    )
    calls = reassemble(text).body["choices"][0]["message"]["tool_calls"]
    assert [(c["id"], c["function"]["name"], c["function"]["arguments"]) for c in calls] == [
        ("c1", "a", "{}"),
        ("c2", "b", "[]"),
    ]


def test_reasoning_and_refusal_deltas_are_joined() -> None:
    text = sse(
        chunk({"role": "assistant", "reasoning": "The user "}),
        chunk({"reasoning": "wants a poem.", "reasoning_details": [{"type": "reasoning.text", "text": "x"}]}),
        chunk({"refusal": "I can't "}),
        chunk({"refusal": "help with that."}, finish_reason="stop"),
        chunk(choices=[], usage=USAGE),
    )
    message = reassemble(text).body["choices"][0]["message"]
    assert message == {
        "role": "assistant",
        "content": None,
        "reasoning": "The user wants a poem.",
        "refusal": "I can't help with that.",
    }


def test_several_choices_are_kept_apart_and_sorted() -> None:
    text = sse(
        chunk({"content": "B1"}, index=1),
        chunk({"content": "A1"}, index=0),
        chunk({"content": "B2"}, index=1, finish_reason="stop"),
        chunk({"content": "A2"}, index=0, finish_reason="length"),
    )
    choices = reassemble(text).body["choices"]
    assert [(c["index"], c["message"]["content"], c["finish_reason"]) for c in choices] == [
        (0, "A1A2", "length"),
        (1, "B1B2", "stop"),
    ]


def test_last_non_null_finish_reason_wins() -> None:
    text = sse(
        chunk({"content": "x"}, finish_reason="length", native_finish_reason="MAX_TOKENS"),
        chunk({}, finish_reason=None, native_finish_reason=None),
    )
    choice = reassemble(text).body["choices"][0]
    assert (choice["finish_reason"], choice["native_finish_reason"]) == ("length", "MAX_TOKENS")


def test_mid_stream_429_error_chunk() -> None:
    # the documented example (openrouter-broadcast.md §7); the stream ends without [DONE]
    error = {"code": 429, "message": "Rate limit exceeded", "metadata": {"error_type": "rate_limit_exceeded"}}
    text = sse(
        chunk({"role": "assistant", "content": "Partial"}),
        {
            "id": GEN_ID,
            "object": "chat.completion.chunk",
            "created": 1788612875,
            "model": MODEL,
            "provider": "OpenAI",
            "error": error,
            "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}],
        },
        done=False,
    )
    result = reassemble(text)
    assert result == Reassembled(
        body={
            "id": GEN_ID,
            "model": MODEL,
            "provider": "OpenAI",
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": "Partial",
                        "reasoning": None,
                        "refusal": None,
                    },
                    "finish_reason": "error",
                    "native_finish_reason": None,
                }
            ],
        },
        error=error,
        missing=("done_marker", "usage"),
    )


def test_content_after_an_error_chunk_is_dropped_but_usage_is_kept() -> None:
    error = {"code": 502, "message": "Provider returned error"}
    text = sse(
        chunk({"content": "a"}),
        chunk({"content": "b"}, finish_reason="error", error=error),
        chunk({"content": "c"}, finish_reason="stop"),
        chunk(choices=[], usage=USAGE),
    )
    result = reassemble(text)
    assert result.body["choices"][0]["message"]["content"] == "ab"
    assert result.body["choices"][0]["finish_reason"] == "error"
    assert result.body["usage"] == USAGE
    assert result.error == error
    assert result.missing == ()


def test_choice_level_error_is_kept_on_the_choice() -> None:
    error = {"code": 500, "message": "upstream failed"}
    text = sse(chunk(choices=[{"index": 0, "delta": {}, "finish_reason": "error", "error": error}]))
    choice = reassemble(text).body["choices"][0]
    assert choice["error"] == error
    assert choice["message"]["content"] is None


def test_cut_stream_without_done_marker() -> None:
    text = sse(chunk({"role": "assistant", "content": "Once upon"}), chunk({"content": " a"}), done=False)
    result = reassemble(text)
    assert result.body == {
        "id": GEN_ID,
        "model": MODEL,
        "provider": "OpenAI",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Once upon a",
                    "reasoning": None,
                    "refusal": None,
                },
                "finish_reason": None,
                "native_finish_reason": None,
            }
        ],
    }
    assert result.missing == ("done_marker", "usage")


def test_cut_stream_in_the_middle_of_a_line_is_invalid() -> None:
    text = sse(chunk({"content": "ok"}), done=False) + 'data: {"id": "gen-1", "choi'
    with pytest.raises(InvalidInput) as info:
        reassemble(text)
    assert info.value.path == "$.stream"
    assert info.value.message.startswith("line 3: data is not JSON (")


def test_no_usage_chunk_but_done_marker() -> None:
    result = reassemble(sse(chunk({"content": "x"}, finish_reason="stop")))
    assert "usage" not in result.body
    assert result.missing == ("usage",)


def test_id_model_provider_from_the_first_chunk_that_has_them() -> None:
    first = {"choices": [{"index": 0, "delta": {"content": "a"}}]}
    second = {"id": "gen-2", "model": "anthropic/claude-sonnet-4", "choices": []}
    third = {"id": "gen-3", "model": "other/model", "provider": "Anthropic", "choices": []}
    body = reassemble(sse(first, second, third)).body
    assert (body["id"], body["model"], body["provider"]) == (
        "gen-2",
        "anthropic/claude-sonnet-4",
        "Anthropic",
    )


def test_keys_never_seen_are_left_out() -> None:
    result = reassemble(sse({"choices": []}))
    assert result == Reassembled(body={"choices": []}, error=None, missing=("usage",))


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("data: {not json}", "line 1: data is not JSON (Expecting property name enclosed in double quotes: "),
        ("data: NaN", "line 1: data is not JSON (NaN is not JSON)"),
        ("data: [1, 2]", "line 1: chunk must be a JSON object, not array"),
        ('data: "text"', "line 1: chunk must be a JSON object, not string"),
        ('data: {"choices": {}}', "line 1: choices must be an array or null, not object"),
        ('data: {"choices": [3]}', "line 1: choices[0] must be an object, not number"),
        (
            'data: {"choices": [{"index": "0"}]}',
            "line 1: choices[0].index must be a non-negative integer, not string",
        ),
        (
            'data: {"choices": [{"index": true}]}',
            "line 1: choices[0].index must be a non-negative integer, not boolean",
        ),
        (
            'data: {"choices": [{"index": -1}]}',
            "line 1: choices[0].index must be a non-negative integer, not -1",
        ),
        (
            'data: {"choices": [{"delta": []}]}',
            "line 1: choices[0].delta must be an object or null, not array",
        ),
        (
            'data: {"choices": [{"delta": {"content": 5}}]}',
            "line 1: choices[0].delta.content must be a string or null, not number",
        ),
        (
            'data: {"choices": [{"delta": {"tool_calls": [{"index": 1.5}]}}]}',
            "line 1: choices[0].delta.tool_calls[0].index must be a non-negative integer, not 1.5",
        ),
        (
            'data: {"choices": [{"delta": {"tool_calls": [{"function": {"arguments": {}}}]}}]}',
            "line 1: choices[0].delta.tool_calls[0].function.arguments must be a string or null, not object",
        ),
        (
            'data: {"choices": [{"finish_reason": 1}]}',
            "line 1: choices[0].finish_reason must be a string or null, not number",
        ),
        ('data: {"id": 7}', "line 1: id must be a string or null, not number"),
        ('data: {"usage": []}', "line 1: usage must be an object or null, not array"),
        ('data: {"error": "boom"}', "line 1: error must be an object or null, not string"),
    ],
)
def test_malformed_data_lines(line: str, message: str) -> None:
    with pytest.raises(InvalidInput) as info:
        reassemble(line + "\n\ndata: [DONE]\n")
    assert info.value.path == "$.stream"
    assert info.value.message.startswith(message)


def test_line_numbers_count_comments_and_crlf() -> None:
    good = "data: " + json.dumps(chunk({"content": "a"}))
    text = "\r\n".join([": OPENROUTER PROCESSING", "", good, "", "data: [oops", "", "data: [DONE]"])
    with pytest.raises(InvalidInput) as info:
        reassemble(text)
    assert info.value.message.startswith("line 5: data is not JSON")


@pytest.mark.parametrize(
    "text", ["", "\n\n", ": OPENROUTER PROCESSING\n\n", "event: ping\n", "data: [DONE]\n"]
)
def test_stream_without_data_events(text: str) -> None:
    with pytest.raises(InvalidInput) as info:
        reassemble(text)
    assert (info.value.path, info.value.message) == ("$.stream", "contains no data events")


def test_json_nested_too_deep_is_invalid_not_a_crash() -> None:
    with pytest.raises(InvalidInput) as info:
        reassemble("data: " + "[" * 100_000 + "]" * 100_000)
    assert info.value.message.startswith("line 1: data is not JSON")


def test_line_separator_inside_json_is_not_a_line_break() -> None:
    result = reassemble(sse(chunk({"content": "a\u2028b\x85c"})))
    assert result.body["choices"][0]["message"]["content"] == "a\u2028b\x85c"


# -- never crash --------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=12,
)
delta_like = st.fixed_dictionaries(
    {},
    optional={
        "role": json_values,
        "content": st.text(max_size=5) | json_values,
        "reasoning": st.text(max_size=5) | json_values,
        "refusal": json_values,
        "tool_calls": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "index": st.integers(-1, 3) | json_values,
                    "id": st.sampled_from(["c1", "c2"]) | json_values,
                    "type": json_values,
                    "function": st.fixed_dictionaries(
                        {}, optional={"name": json_values, "arguments": st.text(max_size=5) | json_values}
                    )
                    | json_values,
                },
            )
            | json_values,
            max_size=3,
        )
        | json_values,
    },
)
chunk_like = st.fixed_dictionaries(
    {},
    optional={
        "id": st.just(GEN_ID) | json_values,
        "model": json_values,
        "provider": json_values,
        "usage": st.just(USAGE) | json_values,
        "error": json_values,
        "choices": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "index": st.integers(-1, 3) | json_values,
                    "delta": delta_like | json_values,
                    "finish_reason": json_values,
                    "native_finish_reason": json_values,
                    "error": json_values,
                },
            )
            | json_values,
            max_size=3,
        )
        | json_values,
    },
)
sse_lines = st.lists(
    st.one_of(
        chunk_like.map(lambda c: "data: " + json.dumps(c)),
        json_values.map(lambda v: "data:" + json.dumps(v)),
        st.sampled_from(
            ["", ": OPENROUTER PROCESSING", "data: [DONE]", "event: x", "id: 3", "data:", "data: {"]
        ),
        st.text(max_size=20),
    ),
    max_size=8,
)


def _only_typed_outcomes(text: str) -> None:
    error_path: str | None = None
    try:
        result = reassemble(text)
    except InvalidInput as exc:
        error_path = exc.path
    else:
        assert isinstance(result.body["choices"], list)
        assert set(result.missing) <= {"done_marker", "usage"}
        json.dumps(result.body)  # the body is plain JSON
    assert error_path in (None, "$.stream")


@given(st.text())
def test_arbitrary_text_never_crashes(text: str) -> None:
    _only_typed_outcomes(text)


@given(sse_lines, st.sampled_from(["\n", "\r\n", "\r"]))
def test_arbitrary_json_ish_data_lines_never_crash(lines: list[str], newline: str) -> None:
    _only_typed_outcomes(newline.join(lines))


@given(sse_lines)
def test_arbitrary_streams_read_as_exchanges_or_fail_typed(lines: list[str]) -> None:
    # the reassembled body goes through the same reader as a response body
    doc = {
        "request": {"model": MODEL, "messages": [{"role": "user", "content": "Hi"}]},
        "stream": "\n".join(lines),
        "timing": {"start": 0, "end": 1},
    }
    error_path: str | None = None
    try:
        exchange = read_exchange(doc)
    except InvalidInput as exc:
        error_path = exc.path
    else:
        assert exchange.streamed
    assert error_path is None or error_path.startswith("$.stream")


# -- the text-template fast path gives exactly what parsing every line gives ----------------------


def _both_paths(text: str) -> None:
    """reassemble(text) with and without the fast path: the same body, or the same error."""
    outcomes = []
    for fast in (True, False):
        try:
            outcomes.append(reassemble(text, fast=fast))
        except InvalidInput as exc:
            outcomes.append(exc.to_dict())  # type: ignore[arg-type]
    assert outcomes[0] == outcomes[1]


# Texts that try to confuse a cut made by searching the line: quotes, backslashes, the key itself
# inside strings, escapes json.dumps writes either way, line separators, astral characters.
_tricky_texts = st.lists(
    st.sampled_from(['"', "\\", ":", "{", "}", ",", " ", "a", "é", "\u2028", "\x01", "😀", "/"])
    | st.sampled_from(['"content":"', '\\"content\\":', '"reasoning": "', "[DONE]", "data: "]),
    max_size=12,
).map("".join)


_OTHER_DELTA_VALUES: dict[str, list[Any]] = {
    "content": [None, "", "x"],
    "reasoning": [None, "", "x"],
    "refusal": [None, "", "x"],
    "role": [None, "", "assistant", "tool"],
    "tool_calls": [None, [], [{"index": 0, "function": {"arguments": "{"}}]],
}


@st.composite
def _chunk_shapes(draw: Any) -> dict[str, Any]:
    """Everything about a text chunk but its text: which text key, other delta members, finish
    reasons, error, usage, a second choice, a decoy member holding a "content" key before the
    choices, key order, separators, duplicate keys and trailing bytes."""

    def sometimes() -> bool:
        return bool(draw(st.integers(0, 3)) == 0)

    return {
        "key": draw(st.sampled_from(["content", "reasoning", "refusal"])),
        "role": draw(st.booleans()),
        "others": {k: draw(st.sampled_from(v)) for k, v in _OTHER_DELTA_VALUES.items() if sometimes()},
        "index": draw(st.sampled_from([1, None])) if sometimes() else 0,
        "finish": {
            k: draw(st.sampled_from(["stop", "length"]))
            for k in ("finish_reason", "native_finish_reason")
            if sometimes()
        },
        "model": draw(st.sampled_from([MODEL, 'x","content":"y', "\\"])),
        "error": {"code": 429, "message": "Rate limit exceeded"} if sometimes() else None,
        "usage": {**USAGE, "completion_tokens": draw(st.integers(0, 2))} if sometimes() else None,
        "decoy": sometimes(),
        "second_choice": sometimes(),
        "order": draw(st.randoms(use_true_random=False)) if sometimes() else None,
        "separators": draw(st.sampled_from([(",", ":"), (", ", ": "), (",", " : ")])),
        "ensure_ascii": draw(st.booleans()),
        "edit": draw(st.sampled_from(["duplicate before", "duplicate after", " ", "}"]))
        if sometimes()
        else None,
    }


def _render(shape: dict[str, Any], text: str, decoy: str) -> str:
    key = shape["key"]
    delta: dict[str, Any] = {"role": "assistant"} if shape["role"] else {}
    delta[key] = text
    delta.update((k, v) for k, v in shape["others"].items() if k != key)
    choice: dict[str, Any] = {"index": shape["index"], "delta": delta, **shape["finish"]}
    body = chunk(choices=[choice], model=shape["model"])
    if shape["second_choice"]:
        body["choices"].append({"index": 1, "delta": {key: text + "2"}})
    for member in ("error", "usage"):
        if shape[member] is not None:
            body[member] = shape[member]
    if shape["decoy"]:  # a "content" member before the choices: a search for the key finds it first
        body = {"decoy": {key: decoy}, **body}
    items = list(body.items())
    if shape["order"] is not None:
        shape["order"].shuffle(items)
    line = json.dumps(dict(items), separators=shape["separators"], ensure_ascii=shape["ensure_ascii"])
    literal = json.dumps(text, ensure_ascii=shape["ensure_ascii"])
    edit = shape["edit"]
    if edit == "duplicate before":  # the last one wins
        line = line.replace('"delta":{', '"delta":{"' + key + '":"dup",', 1)
    elif edit == "duplicate after":
        line = line.replace(literal, literal + ',"' + key + '":"dup"', 1)
    elif edit is not None:
        line += edit
    return "data: " + line


@st.composite
def _text_chunk_streams(draw: Any) -> str:
    """Runs of chunks of a few shapes (so templates are learnt and matched, also for the unusual
    shapes a wrong template rule would accept), the texts drawn from a small pool so that decoys and
    texts sometimes coincide."""
    shapes = draw(st.lists(_chunk_shapes(), min_size=1, max_size=3))
    pool = draw(st.lists(_tricky_texts, min_size=1, max_size=3))
    lines = []
    for _ in range(draw(st.integers(6, 30))):
        if draw(st.integers(0, 9)) == 0:
            lines.append(draw(st.sampled_from(["", ": OPENROUTER PROCESSING", "data: [DONE]"])))
            continue
        text = draw(st.sampled_from(pool) | _tricky_texts)
        lines.append(_render(draw(st.sampled_from(shapes)), text, draw(st.sampled_from([text, *pool]))))
    return "\n".join(lines)


@given(_text_chunk_streams())
def test_fast_path_equals_full_parsing_on_text_chunks(text: str) -> None:
    _both_paths(text)


@given(st.data())
def test_fast_path_equals_full_parsing_on_generated_streams(data: st.DataObject) -> None:
    body = data.draw(strategies.responses())
    _both_paths(data.draw(strategies.streams_from(body, error=data.draw(st.booleans()))))


@given(sse_lines)
def test_fast_path_equals_full_parsing_on_arbitrary_lines(lines: list[str]) -> None:
    _both_paths("\n".join(lines))


def test_fast_path_is_taken_and_equal_on_a_long_stream() -> None:
    pieces = [f'piece {i} "quoted" \\ é\u2028' for i in range(300)]
    text = sse(*(chunk({"role": "assistant", "content": p}) for p in pieces), chunk({}, finish_reason="stop"))
    fast = reassemble(text)
    assert fast == reassemble(text, fast=False)
    assert fast.body["choices"][0]["message"]["content"] == "".join(pieces)


def test_a_text_chunk_becomes_a_template_that_reads_only_the_string() -> None:
    first = chunk({"role": "assistant", "content": 'say "content":"x"'})
    payload = json.dumps(first, separators=(",", ":"))
    assembler = _Assembler()
    assembler.add(first, _Line(1))
    template = _TextTemplate.learn(f"data: {payload}", payload, first, assembler)
    assert template is not None
    assert template.prefix.startswith('data: {"id"')
    assert template.prefix.endswith('"content":')
    assert template.suffix.startswith("}")
    other = "data: " + json.dumps(
        chunk({"role": "assistant", "content": "next \u00e9"}), separators=(",", ":")
    )
    assert template.text_of(other) == "next \u00e9"
    assert template.text_of(other[6:]) is None  # lines, "data: " included
    assert template.text_of(other.replace('"OpenAI"', '"Azure"')) is None  # anything else differs
    assert template.text_of("data: " + payload.replace('x\\"', "x\\")) is None  # not one string token
    finishing = chunk({"content": "x"}, finish_reason="stop")
    finishing_line = json.dumps(finishing)
    assert _TextTemplate.learn(finishing_line, finishing_line, finishing, assembler) is None  # accumulates


def _line(body: dict[str, Any]) -> str:
    return "data: " + json.dumps(body, separators=(",", ":"))


def _text(text: str, **choice: Any) -> dict[str, Any]:
    return chunk(choices=[{"index": 0, "delta": {"content": text}, **choice}])


# Each stream repeats a chunk shape the template rule must refuse (or cut correctly); the full parse
# is the reference. A wrong rule changes the result of at least one of these.
_REFUSED_SHAPES = {
    "finish reason": [
        _text("a", finish_reason="stop"),
        _text("b", finish_reason="length"),
        _text("c", finish_reason="stop"),
    ],
    "usage": [
        {**_text("a"), "usage": USAGE},
        {**_text("b"), "usage": {**USAGE, "completion_tokens": 9}},
        {**_text("c"), "usage": USAGE},
    ],
    "error": [_text("a"), {**_text("b"), "error": {"code": 429, "message": "x"}}, _text("c")],
    "error repeated": [{**_text(t), "error": {"code": 429, "message": t}} for t in "abc"],
    "tool call": [
        chunk(
            choices=[
                {
                    "index": 0,
                    "delta": {"content": t, "tool_calls": [{"index": 0, "function": {"arguments": "x"}}]},
                }
            ]
        )
        for t in "abc"
    ],
    "two texts": [chunk({"content": t, "reasoning": "r"}) for t in "abc"],
    "text after the cut": [chunk({"content": "a"}), chunk({"content": "b", "reasoning": "r"})],
    "second choice": [
        chunk(choices=[{"index": 0, "delta": {"content": t}}, {"index": 1, "delta": {"content": "z"}}])
        for t in "abc"
    ],
    "decoy first": [
        {"decoy": {"content": "a"}, **chunk({"content": "a"})},
        {"decoy": {"content": "b"}, **chunk({"content": "a"})},
        {"decoy": {"content": "c"}, **chunk({"content": "a"})},
    ],
}


@pytest.mark.parametrize("name", sorted(_REFUSED_SHAPES))
def test_fast_path_refuses_chunks_that_do_more_than_add_text(name: str) -> None:
    text = "\n".join(_line(body) for body in _REFUSED_SHAPES[name]) + "\ndata: [DONE]\n"
    assert reassemble(text) == reassemble(text, fast=False)


def test_fast_path_does_not_cut_at_a_decoy_spelled_differently() -> None:
    # The decoy holds the same text as the delta, escaped differently, so only the probe parse can
    # tell that a cut there is not the delta's text.
    body = json.dumps(chunk({"content": "a"}), separators=(",", ":"))
    lines = [f'data: {{"decoy":{{"content":"\\u00{code}"}},{body[1:]}' for code in ("61", "62", "63")]
    text = "\n".join(lines) + "\ndata: [DONE]\n"
    assert reassemble(text) == reassemble(text, fast=False)
    assert reassemble(text).body["choices"][0]["message"]["content"] == "aaa"


def test_reasoning_details_then_content_read_the_same_either_way() -> None:
    # Reasoning chunks repeat their text in reasoning_details (no template can match them; learning
    # stops and starts again), then plain content chunks (templates match).
    events: list[dict[str, Any] | str] = []
    for i in range(150):
        text = f"step {i} "
        details = [{"type": "reasoning.text", "text": text, "index": 0}]
        events.append(
            chunk({"role": "assistant", "content": "", "reasoning": text, "reasoning_details": details})
        )
    events += [chunk({"role": "assistant", "content": f"word {i} "}) for i in range(150)]
    text = sse(*events, chunk({}, finish_reason="stop"))
    fast = reassemble(text)
    assert fast == reassemble(text, fast=False)
    message = fast.body["choices"][0]["message"]
    assert message["reasoning"] == "".join(f"step {i} " for i in range(150))
    assert message["content"] == "".join(f"word {i} " for i in range(150))
