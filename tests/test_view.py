"""The static trace view (issue 8): its view model, the HTML around it, and ``llmobs-mapping view``."""

from __future__ import annotations

import copy
import importlib.util
import json
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES, FIXTURES, ROOT, load
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import json_values

from llmobs_mapping import InvalidInput, MappingError, Settings, build_payload
from llmobs_mapping.canonical import strict_loads
from llmobs_mapping.cli import main
from llmobs_mapping.view import (
    NO_IO_NOTE,
    build_view_model,
    format_cost,
    format_duration_ns,
    read_payload,
    render_diff_html,
    render_html,
)


def seed(fmt: str = "public", settings_file: str = "seed-settings.json") -> Any:
    settings = Settings.from_destination(load(EXAMPLES / settings_file))
    return build_payload(load(EXAMPLES / "seed-exchange.json"), settings, fmt)  # type: ignore[arg-type]


def span(
    name: str, span_id: str, parent_id: str, start: int = 0, duration: int = 100, **meta: Any
) -> dict[str, Any]:
    return {
        "name": name,
        "span_id": span_id,
        "trace_id": "t-1",
        "parent_id": parent_id,
        "start_ns": start,
        "duration": duration,
        "status": "ok",
        "meta": {"kind": "workflow", **meta},
        "metrics": {},
    }


def public(*spans: dict[str, Any], tags: tuple[str, ...] = ("service:app",)) -> dict[str, Any]:
    return {
        "data": {"type": "span", "attributes": {"ml_app": "app", "tags": list(tags), "spans": list(spans)}}
    }


class _Elements(HTMLParser):
    """Every start tag with its attributes, and the raw text inside each <script>."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self._in_script: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in_script = dict(attrs)
            self.scripts.append((self._in_script, ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = None

    def handle_data(self, data: str) -> None:
        if self._in_script is not None:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)


def parse(page: str) -> _Elements:
    parser = _Elements()
    parser.feed(page)
    parser.close()
    return parser


def embedded(page: str, element_id: str) -> Any:
    for attrs, text in parse(page).scripts:
        if attrs.get("id") == element_id:
            return json.loads(text)
    raise AssertionError(f"no script #{element_id}")


# -- reading payloads --------------------------------------------------------------------------


def test_reads_the_spans_of_both_wire_formats() -> None:
    """Public: spans under data.attributes with payload tags; EVP: one span per envelope, ml_app from tags."""
    public_spans = read_payload(seed("public"))
    evp_spans = read_payload(seed("evp"))
    assert (public_spans.format, public_spans.ml_app, public_spans.session_id) == (
        "public",
        "production-app",
        "session_abc",
    )
    assert public_spans.tags == ("service:production-app", "session_id:session_abc", "user_id:user_12345")
    assert [parts for parts, _ in public_spans.spans] == [
        ("data", "attributes", "spans", 0),
        ("data", "attributes", "spans", 1),
    ]
    assert (evp_spans.format, evp_spans.ml_app, evp_spans.session_id, evp_spans.tags) == (
        "evp",
        "production-app",
        "session_abc",
        (),
    )
    assert [parts for parts, _ in evp_spans.spans] == [(0, "spans", 0), (1, "spans", 0)]


@pytest.mark.parametrize(
    ("document", "path"),
    [
        ("text", "$"),
        ({"request": {}}, "$.data"),
        ({"data": []}, "$.data"),
        ({"data": {"attributes": None}}, "$.data.attributes"),
        ({"data": {"attributes": {"spans": {}}}}, "$.data.attributes.spans"),
        ({"data": {"attributes": {"spans": [1]}}}, "$.data.attributes.spans[0]"),
        ([{"spans": [{}]}, "x"], "$[1]"),
        ([{"event_type": "span"}], "$[0].spans"),
        ([{"spans": [None]}], "$[0].spans[0]"),
    ],
)
def test_a_document_that_is_not_a_payload_is_invalid_input_at_its_path(document: Any, path: str) -> None:
    """The envelope is checked strictly, with the JSON path of the first wrong part."""
    with pytest.raises(InvalidInput) as caught:
        render_html(document)
    assert caught.value.path == path


def test_an_exchange_gets_a_hint_to_pass_settings() -> None:
    """A user who passes an exchange is told how to view it."""
    with pytest.raises(InvalidInput, match="pass --settings to map it first"):
        read_payload(load(EXAMPLES / "seed-exchange.json"))


# -- the view model ----------------------------------------------------------------------------


def test_seed_example_model_has_root_llm_child_messages_tags_and_cost() -> None:
    """The seed example: workflow root "Customer Support Bot", the LLM span under it with both messages."""
    model = build_view_model(seed())
    root, llm = model["spans"]
    assert (root["name"], root["kind"], root["depth"], root["parent_position"]) == (
        "Customer Support Bot",
        "workflow",
        0,
        -1,
    )
    assert (llm["name"], llm["kind"], llm["depth"], llm["parent_position"]) == ("openai/gpt-4o", "llm", 1, 0)
    assert root["input"] == {
        "path": "$.data.attributes.spans[0].meta.input",
        "value": "Hello!",
        "value_path": "$.data.attributes.spans[0].meta.input.value",
    }
    base = "$.data.attributes.spans[1].meta"
    assert llm["input"]["messages"] == [
        {"role": "user", "path": f"{base}.input.messages[0]", "content": "Hello!",
         "content_path": f"{base}.input.messages[0].content"},
    ]  # fmt: skip
    assert [m["content"] for m in llm["output"]["messages"]] == [
        "Hi there! How can I help you with your support ticket today?"
    ]
    assert [tag[0] for tag in llm["tags"]] == [
        "service:production-app",
        "session_id:session_abc",
        "user_id:user_12345",
    ]
    assert llm["cost_text"] == "$0.0001725 (0.01725¢)"
    assert llm["tokens_text"] == "24 tokens"
    assert [row[:2] for row in llm["metrics"]] == [
        ["Input tokens", "9"],
        ["Output tokens", "15"],
        ["Total tokens", "24"],
        ["Cache read input tokens", "0"],
        ["Non-cached input tokens", "9"],
        ["Reasoning output tokens", "0"],
        ["Total cost", "$0.0001725 (0.01725¢)"],
        ["Input cost", "$0.0000225 (0.00225¢)"],
        ["Output cost", "$0.00015 (0.015¢)"],
    ]
    assert ["team", "support", f"{base}.metadata.team"] in llm["metadata"]
    assert (llm["model_name"], llm["model_provider"]) == ("openai/gpt-4o", "openai")
    assert model["summary"] == [
        ["Format", "public"],
        ["ML app", "production-app"],
        ["Session", "session_abc"],
        ["Trace", "gen-1788612875-Kq2rT8vXw3YpLm9NbC4d"],
        ["Spans", "2"],
        ["Duration", "1.23 s"],
        ["Cost", "$0.0001725 (0.01725¢)"],
    ]
    assert model["title"] == "Customer Support Bot"


def test_evp_model_reads_kind_from_meta_span_and_tags_from_each_span() -> None:
    """EVP spans: kind from meta.span.kind, the span's own tags (with ml_app), ``_dd`` in the span table."""
    model = build_view_model(seed("evp"))
    root, llm = model["spans"]
    assert (root["kind"], llm["kind"]) == ("workflow", "llm")
    assert llm["kind_path"] == "$[1].spans[0].meta.span.kind"
    assert [tag[0] for tag in llm["tags"]] == [
        "ml_app:production-app",
        "service:production-app",
        "session_id:session_abc",
        "user_id:user_12345",
    ]
    assert [row[0] for row in llm["span_fields"]] == [
        "span_id",
        "trace_id",
        "parent_id",
        "start_ns",
        "session_id",
        "_dd",
    ]
    assert llm["locator"] == [1, "spans", 0]


def test_privacy_mode_model_has_no_message_text_and_says_why() -> None:
    """Privacy mode: no I/O on any span, the note instead; cost and tags stay."""
    page = render_html(seed(settings_file="seed-settings-privacy.json"))
    model = embedded(page, "view-model")
    assert [(s["input"], s["output"], s["io_note"]) for s in model["spans"]] == [
        (None, None, NO_IO_NOTE),
        (None, None, NO_IO_NOTE),
    ]
    assert "Hello!" not in page
    assert "How can I help" not in page
    assert model["spans"][1]["cost_text"] == "$0.0001725 (0.01725¢)"


def test_tree_uses_parent_ids_and_treats_foreign_parents_as_roots() -> None:
    """Children nest under their parent by parent_id, ordered by start; an unknown parent makes a root."""
    payload = public(
        span("late child", "3", "1", start=50),
        span("root", "1", "undefined", start=0, duration=200),
        span("early child", "2", "1", start=10),
        span("grandchild", "4", "2", start=20, duration=10),
        span("caller's child", "5", "9999", start=100),
    )
    model = build_view_model(payload)
    assert [(s["name"], s["depth"], s["parent_position"], s["subtree_end"]) for s in model["spans"]] == [
        ("root", 0, -1, 3),
        ("early child", 1, 0, 2),
        ("grandchild", 2, 1, 2),
        ("late child", 1, 0, 3),
        ("caller's child", 0, -1, 4),
    ]
    assert [(s["offset_pct"], s["width_pct"]) for s in model["spans"]] == [
        (0.0, 100.0),
        (5.0, 50.0),
        (10.0, 5.0),
        (25.0, 50.0),
        (50.0, 50.0),
    ]
    assert model["axis"] == [[0, "0 ns"], [25, "50 ns"], [50, "100 ns"], [75, "150 ns"], [100, "200 ns"]]


def test_a_parent_cycle_still_shows_every_span_once() -> None:
    """Spans whose parents form a cycle have no root; each is still shown exactly once."""
    model = build_view_model(public(span("a", "1", "2"), span("b", "2", "1"), span("self", "3", "3")))
    assert sorted(s["name"] for s in model["spans"]) == ["a", "b", "self"]
    assert [s["depth"] for s in model["spans"]] == [0, 0, 1]


def test_tool_calls_results_reasoning_and_error_are_shown() -> None:
    """Tool calls get pretty-printed arguments, tool results their text, errors their type and message."""
    llm = span(
        "model",
        "1",
        "undefined",
        kind="llm",
        input={
            "messages": [
                {"role": "assistant", "content": "", "tool_calls": [
                    {"name": "weather", "arguments": {"city": "Oslo"}, "tool_id": "c1", "type": "function"}]},
                {"role": "tool", "content": "18C", "tool_id": "c1", "tool_results": [
                    {"name": "weather", "result": "18C", "tool_id": "c1", "type": "function_call_output"}]},
            ]
        },
        output={"messages": [{"role": "reasoning", "content": "hm"}, {"role": "assistant", "content": "ok"}]},
        error={"message": "upstream failed", "type": "http_502"},
        tool_definitions=[{"name": "weather", "schema": {"type": "object"}}],
    )  # fmt: skip
    llm["status"] = "error"
    model = build_view_model(public(llm))["spans"][0]
    call = model["input"]["messages"][0]["tool_calls"][0]
    assert (call["name"], call["tool_id"], call["body"]) == ("weather", "c1", '{\n  "city": "Oslo"\n}')
    result = model["input"]["messages"][1]["tool_results"][0]
    assert (result["name"], result["body"], result["type"]) == ("weather", "18C", "function_call_output")
    assert [m["role"] for m in model["output"]["messages"]] == ["reasoning", "assistant"]
    assert model["error"]["fields"] == [
        ["type", "http_502", "$.data.attributes.spans[0].meta.error.type"],
        ["message", "upstream failed", "$.data.attributes.spans[0].meta.error.message"],
    ]
    assert model["tool_definitions"][0]["schema"] == '{\n  "type": "object"\n}'
    assert model["status"] == "error"
    assert "io_note" not in model


def test_odd_span_fields_are_shown_not_raised() -> None:
    """Inside a span the viewer is lenient: wrong types show as text instead of failing."""
    odd = {
        "name": 7,
        "meta": {"kind": "llm", "input": "raw", "metadata": [1]},
        "metrics": {"x": "y"},
        "tags": [3],
    }
    model = build_view_model(public(odd))["spans"][0]
    assert (model["name"], model["duration_text"], model["start_ns"]) == ("7", "?", None)
    assert model["input"] == {
        "path": "$.data.attributes.spans[0].meta.input",
        "value": "raw",
        "value_path": "$.data.attributes.spans[0].meta.input",
    }
    assert model["metadata"] == []
    assert model["metrics"][0][:2] == ["x", "y"]
    assert model["tags"][-1][0] == "3"


@pytest.mark.parametrize(
    ("ns", "text"),
    [(0, "0 ns"), (999, "999 ns"), (1500, "1.5 µs"), (340_000_000, "340 ms"), (1_225_000_000, "1.23 s"),
     (125_500_000_000, "2 min 5.5 s")],
)  # fmt: skip
def test_durations_read_like_datadogs(ns: int, text: str) -> None:
    assert format_duration_ns(ns) == text


@pytest.mark.parametrize(
    ("usd", "text"),
    [(0.02, "$0.02 (2¢)"), (0.0001725, "$0.0001725 (0.01725¢)"), (1.5, "$1.50 (150¢)"), (0, "$0.00 (0¢)"),
     (123.456, "$123.46 (12345.6¢)")],
)  # fmt: skip
def test_costs_show_dollars_and_cents(usd: float, text: str) -> None:
    assert format_cost(usd) == text


def test_time_to_first_token_is_shown_as_a_duration() -> None:
    """time_to_first_token is in seconds (contract §4)."""
    streamed = span("m", "1", "undefined", kind="llm")
    streamed["metrics"] = {"time_to_first_token": 0.35}
    assert build_view_model(public(streamed))["spans"][0]["metrics"][0][:2] == [
        "Time to first token",
        "350 ms",
    ]


# -- the HTML ----------------------------------------------------------------------------------

HOSTILE = "</script><script>alert(1)</script><!-- \u2028\u2029 & <b>"


def test_page_is_self_contained() -> None:
    """One file: no element loads anything, no CSS import or url(), a CSP that forbids the network."""
    page = render_html(seed())
    elements = parse(page)
    for tag, attrs in elements.tags:
        assert "src" not in attrs, tag
        assert tag != "link"
    assert not re.search(r"@import|url\(|https?://", page)
    csp = next(a["content"] for t, a in elements.tags if t == "meta" and a.get("http-equiv"))
    assert csp is not None
    assert csp.startswith("default-src 'none';")
    assert [attrs.get("id") for attrs, _ in elements.scripts] == ["view-model", "payload", None]


def test_hostile_content_cannot_leave_the_json_script() -> None:
    """Markup in any string stays inside the JSON: escaped ``<``, ``>``, ``&`` and line separators."""
    payload = public(span(HOSTILE, "1", "undefined", input={"value": HOSTILE}))
    payload["data"]["attributes"]["tags"].append(HOSTILE)
    page = render_html(payload, title=HOSTILE)
    elements = parse(page)
    assert len(elements.scripts) == 3
    assert [t for t, _ in elements.tags if t in ("b", "script")] == ["script", "script", "script"]
    for attrs, text in elements.scripts[:2]:
        assert not re.search("[<>&\u2028\u2029]", text), attrs
    assert embedded(page, "payload") == payload
    assert embedded(page, "view-model")["spans"][0]["name"] == HOSTILE
    assert (
        "<title>&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;!-- \u2028\u2029 &amp; &lt;b&gt;"
        in page
    )


def test_page_script_never_uses_innerhtml() -> None:
    """The page's code writes data with textContent only."""
    code = parse(render_html(seed())).scripts[2][1]
    assert "textContent" in code
    assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(", code)


# -- diff mode ---------------------------------------------------------------------------------


def test_diff_model_attaches_each_difference_to_its_span_and_closest_shown_field() -> None:
    """Changed/added fields anchor to themselves; a removed one to its nearest shown ancestor."""
    expected = seed()
    actual = copy.deepcopy(expected)
    llm = actual["data"]["attributes"]["spans"][1]
    llm["meta"]["output"]["messages"][0]["content"] = "changed"
    del llm["metrics"]["input_cost"]
    llm["meta"]["metadata"]["region"] = "eu"
    model = embedded(render_diff_html(expected, actual), "view-model")
    base = "$.data.attributes.spans[1]"
    summary = [
        (d["kind"], d["path"], d["anchor"], d["position"], d["expected"], d["actual"])
        for d in model["differences"]
    ]
    assert summary == [
        ("added", f"{base}.meta.metadata.region", f"{base}.meta.metadata.region", 1, None, '"eu"'),
        ("changed", f"{base}.meta.output.messages[0].content", f"{base}.meta.output.messages[0].content", 1,
         '"Hi there! How can I help you with your support ticket today?"', '"changed"'),
        ("removed", f"{base}.metrics.input_cost", f"{base}.metrics", 1, "2.25e-05", None),
    ]  # fmt: skip
    assert model["diff_mode"] is True
    assert [s.get("diff_status") for s in model["spans"]] == [None, "changed"]
    assert len(model["spans"][1]["differences"]) == 3


def test_diff_of_a_removed_span_is_listed_without_a_span() -> None:
    """A span only in the expected payload has no row; its difference is listed with position -1."""
    expected = seed()
    actual = copy.deepcopy(expected)
    actual["data"]["attributes"]["spans"].pop()
    model = embedded(render_diff_html(expected, actual), "view-model")
    assert [(d["kind"], d["path"], d["position"]) for d in model["differences"]] == [
        ("removed", "$.data.attributes.spans[1]", -1)
    ]


def test_equal_payloads_have_no_differences() -> None:
    model = embedded(render_diff_html(seed(), seed()), "view-model")
    assert (model["diff_mode"], model["differences"]) == (True, [])


def test_diff_against_a_non_payload_names_the_expected_side() -> None:
    with pytest.raises(InvalidInput, match=r"^\$\.data: \(expected payload\)"):
        render_diff_html({"x": 1}, seed())


# -- the command line --------------------------------------------------------------------------


def test_cli_maps_an_exchange_and_writes_the_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``view EXCHANGE --settings S --out F`` writes the same page as rendering the mapping."""
    out = tmp_path / "seed.html"
    code = main(
        ["view", str(EXAMPLES / "seed-exchange.json"), "--settings", str(EXAMPLES / "seed-settings.json"),
         "--format", "evp", "--out", str(out)]
    )  # fmt: skip
    assert code == 0
    assert out.read_text(encoding="utf-8") == render_html(seed("evp"))
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", f"{out}\n")


def test_cli_views_a_payload_on_stdout_and_diffs_two(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A payload file renders as is; ``--diff`` compares two files."""
    expected, actual = tmp_path / "expected.json", tmp_path / "actual.json"
    expected.write_text(json.dumps(seed()), encoding="utf-8")
    changed = seed()
    changed["data"]["attributes"]["ml_app"] = "other"
    actual.write_text(json.dumps(changed), encoding="utf-8")
    assert main(["view", str(expected), "--out", "-"]) == 0
    assert capsys.readouterr().out == render_html(seed())
    assert main(["view", "--diff", str(expected), str(actual), "--out", "-"]) == 0
    assert capsys.readouterr().out == render_diff_html(seed(), changed)


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["view", str(EXAMPLES / "seed-exchange.json")], {"error": "InvalidInput", "path": "$.data"}),
        (["view", "--diff", str(EXAMPLES / "seed-exchange.json")], {"error": "InvalidInput", "path": "$"}),
        (["view", "/nonexistent/payload.json"], {"error": "InvalidInput", "path": "$"}),
        (["view", str(EXAMPLES / "seed-exchange.json"), "--settings", str(EXAMPLES / "seed-exchange.json")],
         {"error": "InvalidSettings", "path": "$.request"}),  # not a member of a destination
    ],
)  # fmt: skip
def test_cli_bad_input_exits_2_with_one_json_error_line(
    argv: list[str], error: dict[str, str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main([*argv, "--out", str(tmp_path / "never.html")]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    line = json.loads(captured.err)
    assert {k: line[k] for k in ("error", "path")} == error
    assert not (tmp_path / "never.html").exists()


# -- malformed payloads ------------------------------------------------------------------------
# The payload may come from any implementation: whatever JSON it holds, the page renders (odd values
# shown as they are) or, when the document is not a payload at all, InvalidInput is raised.

LLM = "$.data.attributes.spans[1]"
NINES = int("9" * 400)


def seed_with(**metrics: Any) -> Any:
    """The seed payload with ``metrics`` set on its LLM span."""
    payload = seed()
    payload["data"]["attributes"]["spans"][1]["metrics"].update(metrics)
    return payload


def nested(depth: int, leaf: Any = 1, *, as_list: bool = True) -> Any:
    for _ in range(depth):
        leaf = [leaf] if as_list else {"k": leaf}
    return leaf


def test_a_huge_time_to_first_token_is_shown_as_its_json_text() -> None:
    """``1e308`` seconds overflowed converting to nanoseconds; it shows as written, in seconds."""
    page = render_html(seed_with(time_to_first_token=1e308))
    llm = embedded(page, "view-model")["spans"][1]
    assert llm["metrics"][-1] == [
        "Time to first token",
        "1e+308 s",
        f"{LLM}.metrics.time_to_first_token",
        "time_to_first_token",
    ]


def test_a_400_digit_cost_is_shown_as_its_json_text_and_not_added_up() -> None:
    """An int too large for a float shows its digits; the trace's total cost becomes unknown."""
    model = embedded(render_html(seed_with(total_cost=NINES)), "view-model")
    llm = model["spans"][1]
    assert [row[:2] for row in llm["metrics"] if row[3] == "total_cost"] == [["Total cost", "9" * 400]]
    assert (llm["cost_text"], "cost_usd" in llm) == ("9" * 400, False)
    assert model["summary"][-1] == ["Cost", "?"]


@pytest.mark.parametrize(
    ("key", "value", "text"),
    [
        ("input_tokens", 10**400, "1" + "0" * 400),
        ("input_tokens", 1e308, "1e+308"),
        ("input_tokens", -0.0, "0"),
        ("input_tokens", 123456789, "123,456,789"),
        ("input_tokens", [1, {"a": None}], '[1,{"a":null}]'),
        ("input_cost", 1e308, "1e+308"),
        ("input_cost", -0.0, "$0.00 (0¢)"),
        ("input_cost", 5e-324, "$0.00 (0¢)"),
        ("input_cost", "0.5", "0.5"),
        ("time_to_first_token", -(10**400), "-1" + "0" * 400 + " s"),
        ("time_to_first_token", -1, "-1 s"),
        ("time_to_first_token", True, "true"),
        ("custom", 1e-7, "1e-07"),
    ],
)
def test_odd_metric_values_are_shown_as_they_are(key: str, value: Any, text: str) -> None:
    llm = build_view_model(seed_with(**{key: value}))["spans"][1]
    assert [row[1] for row in llm["metrics"] if row[3] == key] == [text]


def test_huge_and_negative_timings_show_their_numbers() -> None:
    """Start and duration beyond 10**21 ns show as plain numbers, even past str()'s 4300 digits."""
    payload = seed()
    root, llm = payload["data"]["attributes"]["spans"]
    root["duration"] = -5
    llm["start_ns"], llm["duration"] = 1e308, 10**5000
    model = build_view_model(payload)
    assert [(s["duration_text"], s["offset_pct"], s["width_pct"]) for s in model["spans"]] == [
        ("-5 ns", 0.0, 0.4),
        ("1" + "0" * 5000 + " ns", 0.0, 100.0),
    ]
    assert format_duration_ns(-(10**21)) == "-1" + "0" * 21 + " ns"
    assert format_cost(10**400) == "1" + "0" * 400


def test_values_nested_thousands_deep_are_shown_and_diffed() -> None:
    """Nesting beyond the recursion limit shows as its JSON text; a diff compares it below 100 levels
    as one value (equal deep values: no difference)."""
    expected = seed()
    expected["data"]["attributes"]["spans"][1]["meta"]["metadata"]["deep"] = nested(5000, 1)
    expected["data"]["attributes"]["spans"][1]["meta"]["error"] = {"stack": nested(2000, as_list=False)}
    changed = seed()
    changed["data"]["attributes"]["spans"][1]["meta"]["metadata"]["deep"] = nested(5000, 2)
    changed["data"]["attributes"]["spans"][1]["meta"]["error"] = {"stack": nested(2000, as_list=False)}
    model = build_view_model(expected)
    assert ["deep", "[" * 5000 + "1" + "]" * 5000, f"{LLM}.meta.metadata.deep"] in model["spans"][1][
        "metadata"
    ]
    # Pretty-printed as json.dumps(indent=2) would: {"k": {"k": ... 1 ... }}, one level per line.
    pretty = "".join(f'{{\n{"  " * (i + 1)}"k": ' for i in range(2000)) + "1"
    pretty += "".join(f"\n{'  ' * i}}}" for i in reversed(range(2000)))
    assert model["spans"][1]["error"]["fields"] == [["stack", pretty, f"{LLM}.meta.error.stack"]]
    differences = embedded(render_diff_html(expected, changed), "view-model")["differences"]
    # "deep" is at depth 7; its nested arrays are compared whole from depth 100.
    path = f"{LLM}.meta.metadata.deep" + "[0]" * 93
    assert [(d["kind"], d["path"], d["anchor"], d["position"]) for d in differences] == [
        ("changed", path, f"{LLM}.meta.metadata.deep", 1)
    ]
    assert differences[0]["expected"] == "[" * 2000 + "…[7815 more characters]"  # 4907 levels left


def test_missing_duplicate_and_cyclic_ids_still_show_every_span_once() -> None:
    """Spans without ids are roots (not children of each other); a duplicated id parents its first span."""
    no_ids = {k: v for k, v in span("no ids", "x", "x").items() if k not in ("span_id", "parent_id")}
    payload = public(
        no_ids,
        copy.deepcopy(no_ids) | {"name": "no ids either"},
        span("first 1", "1", "undefined"),
        span("second 1", "1", "undefined", start=5),
        span("child of 1", "2", "1"),
        span("null ids", None, None),  # type: ignore[arg-type]
    )
    model = build_view_model(payload)
    assert [(s["name"], s["depth"]) for s in model["spans"]] == [
        ("no ids", 0),
        ("no ids either", 0),
        ("first 1", 0),
        ("child of 1", 1),
        ("null ids", 0),
        ("second 1", 0),
    ]


def test_a_chain_of_thousands_of_spans_renders_with_every_subtree() -> None:
    """3,000 spans each the parent of the next: one row each, in order, every subtree to the end."""
    chain = [span(f"s{i}", str(i), str(i - 1), start=i) for i in range(3000)]
    model = build_view_model(public(*chain))
    assert [(s["name"], s["depth"], s["subtree_end"]) for s in model["spans"]] == [
        (f"s{i}", i, 2999) for i in range(3000)
    ]


def test_evp_span_tags_of_any_type_are_ignored_for_ml_app() -> None:
    payload = seed("evp")
    payload[0]["spans"][0]["tags"] = 5
    model = build_view_model(payload)
    assert model["summary"][1] == ["ML app", "production-app"]
    assert model["spans"][0]["tags"] == []


def test_cli_views_a_payload_with_huge_numbers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """End to end: the file the CLI reads strictly renders, exit 0, and the page is written (as
    UTF-8, with a lone surrogate that the JSON text escapes kept as its escape)."""
    source, out = tmp_path / "odd.json", tmp_path / "odd.html"
    payload = seed_with(time_to_first_token=1e308, total_cost=NINES)
    payload["data"]["attributes"]["spans"][0]["name"] = "bot \ud800"
    source.write_text(json.dumps(payload), encoding="utf-8")
    assert main(["view", str(source), "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert page == render_html(strict_loads(source.read_text(encoding="utf-8")))
    shown = {row[3]: row[1] for row in embedded(page, "view-model")["spans"][1]["metrics"]}
    assert (shown["total_cost"], shown["time_to_first_token"]) == ("9" * 400, "1e+308 s")
    assert embedded(page, "view-model")["title"] == "bot \ud800"
    assert "<title>bot \ufffd · LLM Observability trace</title>" in page
    assert capsys.readouterr().err == f"{out}\n"


# Real payloads: the expected payload of every fixture case (both wire formats).
PAYLOADS = [load(path) for path in sorted(FIXTURES.glob("*/*/expected.json"))]
ODD_VALUES = (
    1e308,
    -1e308,
    -0.0,
    5e-324,
    10**400,
    -(10**400),
    int("9" * 4300),
    2**64,
    "",
    "a\udc00",  # a lone surrogate: JSON text can escape one
    [],
    {},
    None,
    True,
)


def odd_values() -> st.SearchStrategy[Any]:
    """Any JSON value, half the time one of the extremes (huge ints, 1e308, -0.0, deep nesting)."""
    return st.one_of(
        st.sampled_from(ODD_VALUES),
        st.one_of(
            json_values(max_leaves=4),
            st.integers(min_value=-(10**400), max_value=10**400),
            st.builds(nested, st.integers(1, 3000), st.sampled_from(ODD_VALUES[:5]), as_list=st.booleans()),
        ),
    )


Shape = tuple[str | int, ...]


def _paths_by_shape(doc: Any, max_depth: int = 12) -> dict[Shape, list[tuple[Shape, Any]]]:
    """Every (path, value) of ``doc`` to ``max_depth`` levels (iterative: ``doc`` may be nested
    deeply), grouped by field name shape (``spans[*].meta``) so that rare fields are drawn as often
    as common ones."""
    found: dict[Shape, list[tuple[Shape, Any]]] = {}
    stack: list[tuple[Shape, Any]] = [((), doc)]
    while stack:
        path, value = stack.pop()
        found.setdefault(tuple("*" if isinstance(p, int) else p for p in path), []).append((path, value))
        if len(path) < max_depth and isinstance(value, dict | list):
            items = value.items() if isinstance(value, dict) else enumerate(value)
            stack.extend(((*path, key), item) for key, item in items)
    return found


# Positions whose change can make the document no payload at all (1 example in 8 changes them).
ENVELOPE = {(), ("data",), ("data", "attributes"), ("data", "attributes", "spans")}
ENVELOPE |= {("data", "attributes", "spans", "*"), ("*",), ("*", "spans"), ("*", "spans", "*")}


@st.composite
def broken_payloads(draw: st.DrawFn) -> Any:
    """A fixture's payload with 1-16 members or subtrees replaced by an odd value or deleted. Half
    the changes hit a number (counts, costs, timings: what the page formats)."""
    doc = copy.deepcopy(draw(st.sampled_from(PAYLOADS)))
    envelope_too = draw(st.integers(0, 7)) == 0
    for _ in range(draw(st.integers(1, 16))):
        by_shape = _paths_by_shape(doc)
        shapes = [shape for shape in sorted(by_shape, key=repr) if envelope_too or shape not in ENVELOPE]
        numbers = [shape for shape in shapes if isinstance(by_shape[shape][0][1], int | float)]
        if numbers and draw(st.booleans()):
            shapes = numbers
        if not shapes:
            break
        path, _ = draw(st.sampled_from(by_shape[draw(st.sampled_from(shapes))]))
        if not path:
            return draw(odd_values())
        parent = doc
        for part in path[:-1]:
            parent = parent[part]
        if draw(st.integers(0, 3)) == 0:
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(odd_values())
    return doc


def _depth(doc: Any) -> int:
    deepest, stack = 0, [(doc, 0)]
    while stack:
        value, depth = stack.pop()
        deepest = max(deepest, depth)
        items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        stack.extend((item, depth + 1) for item in items)
    return deepest


def _check_page(render: Any, *docs: Any) -> Any:
    """``render(*docs)`` is a page listing each span of the shown (last) document once, or
    InvalidInput because one of ``docs`` is not a payload at all. Returns the page's view model."""
    error: MappingError | None = None
    try:
        page = render(*docs)
    except MappingError as exc:
        error = exc
    if error is not None:
        assert isinstance(error, InvalidInput), repr(error)
        assert error.path.startswith("$")
        refused = []
        for doc in docs:  # refused only at the envelope
            try:
                read_payload(doc)
            except InvalidInput:
                refused.append(doc)
        assert refused, repr(error)
        return None
    assert isinstance(page, str)
    page.encode("utf-8")  # writable: no lone surrogate
    shown = docs[-1]
    model = embedded(page, "view-model")
    count = len(read_payload(shown).spans)
    assert sorted(s["index"] for s in model["spans"]) == list(range(count))
    assert [(s["position"], s["subtree_end"] >= s["position"]) for s in model["spans"]] == [
        (i, True) for i in range(count)
    ]
    if _depth(shown) < 500:  # json.loads recurses
        assert embedded(page, "payload") == shown
    return model


@settings(max_examples=max(10, settings.default.max_examples // 5))
@given(original=st.sampled_from(PAYLOADS), broken=broken_payloads())
def test_any_json_in_a_payload_renders_or_is_refused_at_the_envelope(original: Any, broken: Any) -> None:
    """Robustness: a real payload with arbitrary JSON values (huge ints, 1e308, -0.0, deep nesting,
    wrong types) at any position, or positions deleted, renders as a page and as either side of a
    diff, or raises InvalidInput because it is no payload: no other exception escapes."""
    _check_page(render_html, broken)
    _check_page(render_diff_html, broken, original)
    model = _check_page(render_diff_html, original, broken)
    if model is not None and _depth(broken) < 500:
        assert bool(model["differences"]) == (original != broken)


# -- the gallery -------------------------------------------------------------------------------


def _gallery_module() -> Any:
    """tools/gallery.py as a module (registered first: its dataclass looks the module up)."""
    if "llmobs_gallery" not in sys.modules:
        spec = importlib.util.spec_from_file_location("llmobs_gallery", ROOT / "tools" / "gallery.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["llmobs_gallery"] = module
        spec.loader.exec_module(module)
    return sys.modules["llmobs_gallery"]


def test_gallery_writes_one_page_per_case_and_an_index(tmp_path: Path) -> None:
    """Named case folders become pages of their expected payload, linked from index.html."""
    gallery = _gallery_module()
    case = ROOT / "fixtures" / "seed" / "public"
    assert gallery.main([str(case), "--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.html", "seed-public.html"]
    page = (tmp_path / "seed-public.html").read_text(encoding="utf-8")
    assert page == render_html(load(case / "expected.json"), title=load(case / "case.json")["description"])
    index = parse((tmp_path / "index.html").read_text(encoding="utf-8"))
    assert [a["href"] for t, a in index.tags if t == "a"] == ["seed-public.html"]
    assert gallery.main([str(case), "--out", str(tmp_path), "--check"]) == 0


def test_committed_gallery_is_up_to_date() -> None:
    """docs/gallery/ is what tools/gallery.py writes now (run it after changing a shown fixture)."""
    assert _gallery_module().main(["--check"]) == 0
