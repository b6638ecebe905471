"""Stream reassembly (llmobs_mapping.stream; openrouter-broadcast.md §7)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmobs_mapping.errors import InvalidInput
from llmobs_mapping.exchange import read_exchange
from llmobs_mapping.stream import Reassembled, reassemble

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
            'line 1: choices[0].index must be a non-negative integer, not "0"',
        ),
        (
            'data: {"choices": [{"index": true}]}',
            "line 1: choices[0].index must be a non-negative integer, not true",
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
