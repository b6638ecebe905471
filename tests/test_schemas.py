"""The JSON Schemas (schemas/*.schema.json) and the `validate` API and command.

Good documents are written by hand from docs/spec.md §1; each bad document breaks one documented
Datadog (or OpenRouter / contract) rule and must be rejected at that rule's JSON path.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES, ROOT, case_dirs, load
from hypothesis import given
from hypothesis import strategies as st
from jsonschema.validators import validator_for

from llmobs_mapping import Settings, build_payload
from llmobs_mapping.errors import SchemaViolation, json_path
from llmobs_mapping.schemas import (
    SCHEMA_BASE_URI,
    SCHEMA_NAMES,
    SchemaName,
    Violation,
    _quick_valid,
    _validator,
    iter_violations,
    schema_dir,
    validate,
)

SCHEMAS = ROOT / "schemas"
SCHEMA_FILES = sorted(SCHEMAS.glob("*.schema.json"))

# -- good documents, written by hand from docs/spec.md §1 -----------------------------------------

TRACE_ID = "gen-1788612875-Kq2rT8vXw3YpLm9NbC4d"
ROOT_ID, LLM_ID = "17564526145379307230", "12582635166609213184"
APM_ID = "ae9e8004b41487008bce55319c512096"


def _llm_meta() -> dict[str, Any]:
    return {
        "input": {
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Weather in Paris?\n[image]"},
                {
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [
                        {
                            "name": "get_weather",
                            "arguments": {"city": "Paris"},
                            "tool_id": "call_1",
                            "type": "function",
                        }
                    ],
                },
                {
                    "role": "tool",
                    "content": "18C",
                    "tool_id": "call_1",
                    "tool_results": [
                        {
                            "name": "get_weather",
                            "result": "18C",
                            "tool_id": "call_1",
                            "type": "function_call_output",
                        }
                    ],
                },
            ]
        },
        "output": {
            "messages": [
                {"role": "reasoning", "content": "The tool said 18C."},
                {"role": "assistant", "content": "It is 18C in Paris."},
            ]
        },
        "model_name": "openai/gpt-4o",
        "model_provider": "openai",
        "tool_definitions": [
            {"name": "get_weather", "description": "Weather by city", "schema": {"type": "object"}}
        ],
    }


def good_public_payload() -> dict[str, Any]:
    """docs/spec.md §1.1: a workflow root and its llm child."""
    common = {"trace_id": TRACE_ID, "start_ns": 1788612875187000000, "duration": 1225000000, "status": "ok"}
    root = {
        **common,
        "name": "Customer Support Bot",
        "span_id": ROOT_ID,
        "parent_id": "undefined",
        "session_id": "session_abc",
        "meta": {
            "kind": "workflow",
            "input": {"value": "Weather in Paris?"},
            "output": {"value": "It is 18C in Paris."},
            "metadata": {"team": "support"},
        },
        "metrics": {},
    }
    llm = {
        **common,
        "name": "openai/gpt-4o",
        "span_id": LLM_ID,
        "parent_id": ROOT_ID,
        "session_id": "session_abc",
        "meta": {
            **_llm_meta(),
            "kind": "llm",
            "metadata": {
                "model_name": "openai/gpt-4o",
                "model_provider": "openai",
                "temperature": 0.7,
                "is_byok": False,
                "stop": '["END"]',
            },
        },
        "metrics": {"input_tokens": 9, "output_tokens": 15, "total_tokens": 24, "total_cost": 0.0001725},
    }
    return {
        "data": {
            "type": "span",
            "attributes": {
                "ml_app": "production-app",
                "session_id": "session_abc",
                "tags": ["service:production-app", "session_id:session_abc", "user_id:user_12345"],
                "spans": [root, llm],
            },
        }
    }


def good_evp_payload() -> list[dict[str, Any]]:
    """docs/spec.md §1.2: one envelope per span, ddtrace's span keys, `meta.span.kind`, `_dd`."""
    tags = ["ml_app:production-app", "service:production-app", "session_id:session_abc"]
    common = {"trace_id": TRACE_ID, "start_ns": 1788612875187000000, "duration": 1225000000}
    root = {
        **common,
        "tags": list(tags),
        "_dd": {"span_id": ROOT_ID, "trace_id": APM_ID, "apm_trace_id": APM_ID},
        "name": "Customer Support Bot",
        "span_id": ROOT_ID,
        "parent_id": "undefined",
        "session_id": "session_abc",
        "status": "error",
        "meta": {"span": {"kind": "workflow"}, "input": {"value": "Weather in Paris?"}, "metadata": {}},
        "metrics": {},
    }
    llm = {
        **common,
        "tags": list(tags),
        "_dd": {"span_id": LLM_ID, "trace_id": APM_ID, "apm_trace_id": APM_ID},
        "name": "openai/gpt-4o",
        "span_id": LLM_ID,
        "parent_id": ROOT_ID,
        "status": "error",
        "meta": {
            **_llm_meta(),
            "span": {"kind": "llm"},
            "metadata": {"stop": ["END"], "response_format": {"type": "json_object"}},
            "error": {"message": "Rate limit exceeded", "type": "rate_limit_exceeded"},
        },
        "metrics": {"input_tokens": 9, "time_to_first_token": 0.12},
    }
    return [
        {"_dd.stage": "raw", "_dd.tracer_version": "0.1.0", "event_type": "span", "spans": [span]}
        for span in (root, llm)
    ]


def good_exchange() -> dict[str, Any]:
    """Contract §1; every message role and content-part form of openrouter-broadcast.md §5."""
    return {
        "request": {
            "model": "openai/gpt-4o",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "developer", "content": [{"type": "text", "text": "No emoji."}]},
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is in these?"},
                        {
                            "type": "image_url",
                            "image_url": {"url": "https://example.com/a.png", "detail": "low"},
                        },
                        {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
                        {
                            "type": "file",
                            "file": {"filename": "a.pdf", "file_data": "data:application/pdf;base64,JV"},
                        },
                        {"type": "video_url", "video_url": {"url": "https://example.com/v.mp4"}},
                        {"type": "text", "text": "Thanks", "cache_control": {"type": "ephemeral"}},
                    ],
                },
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "look", "arguments": '{"x":1}'},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "call_1", "content": "a cat"},
            ],
            "tools": [
                {"type": "function", "function": {"name": "look", "parameters": {"type": "object"}}},
                {"type": "openrouter:web_search"},
            ],
            "temperature": 0.2,
            "stop": ["END"],
            "session_id": "s-1",
            "user": "u-1",
            "trace": {"trace_name": "Bot", "team": {"name": "support"}},
            "plugins": [{"id": "web"}],
        },
        "response": {
            "id": "gen-1",
            "object": "chat.completion",
            "model": "openai/gpt-4o",
            "provider": "OpenAI",
            "system_fingerprint": None,
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "native_finish_reason": "stop",
                    "message": {
                        "role": "assistant",
                        "content": "A cat.",
                        "reasoning": "Look.",
                        "refusal": None,
                    },
                }
            ],
            "usage": {
                "prompt_tokens": 9,
                "completion_tokens": 3,
                "total_tokens": 12,
                "cost": 1.2e-05,
                "is_byok": False,
                "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                "cost_details": {"upstream_inference_cost": None},
            },
        },
        "timing": {"start": "2026-09-05T12:54:35.187654321+02:00", "end": 1788612876412000000},
        "headers": {"x-generation-id": "gen-1"},
    }


def good_stream_exchange() -> dict[str, Any]:
    doc = good_exchange()
    del doc["response"]
    doc["stream"] = ': OPENROUTER PROCESSING\n\ndata: {"id":"gen-1","choices":[]}\n\ndata: [DONE]\n\n'
    doc["timing"]["first_token"] = "2026-09-05T10:54:35.5Z"
    return doc


def good_error_exchange() -> dict[str, Any]:
    doc = good_exchange()
    del doc["response"]
    doc["error"] = {
        "status": 429,
        "body": {
            "error": {
                "code": 429,
                "message": "Rate limited",
                "metadata": {"error_type": "rate_limit_exceeded"},
            }
        },
    }
    return doc


def good_settings() -> dict[str, Any]:
    """OpenRouter's destination object as its management API returns it (openrouter-broadcast.md §1.3)."""
    return {
        "id": "5f0c6a1e-0000-4000-8000-000000000001",
        "workspace_id": "5f0c6a1e-0000-4000-8000-000000000002",
        "name": "Datadog prod",
        "type": "datadog",
        "config": {
            "apiKey": "************...AbCd",
            "mlApp": "production-app",
            "url": "https://api.datadoghq.eu",
            "headers": {"X-Team": "support"},
        },
        "enabled": True,
        "privacy_mode": False,
        "sampling_rate": 0.25,
        "api_key_hashes": None,
        "filter_rules": {
            "enabled": True,
            "groups": [
                {"logic": "or", "rules": [{"field": "model", "operator": "starts_with", "value": "openai/"}]}
            ],
        },
        "broadcast_generation_cost": True,
        "created_at": "2026-09-01T00:00:00Z",
        "updated_at": None,
        "max_span_bytes": 1048576,
        "allow_custom_url": False,
    }


GOOD: list[tuple[str, SchemaName, Callable[[], Any]]] = [
    ("public payload", "public-payload", good_public_payload),
    ("evp payload", "evp-payload", good_evp_payload),
    ("public span", "public-span", lambda: good_public_payload()["data"]["attributes"]["spans"][1]),
    ("evp span", "evp-span", lambda: good_evp_payload()[1]["spans"][0]),
    ("span: public", "span", lambda: good_public_payload()["data"]["attributes"]["spans"][0]),
    ("span: evp", "span", lambda: good_evp_payload()[0]["spans"][0]),
    ("exchange: response", "exchange", good_exchange),
    ("exchange: stream", "exchange", good_stream_exchange),
    ("exchange: error", "exchange", good_error_exchange),
    (
        "exchange: error text",
        "exchange",
        lambda: {**good_error_exchange(), "error": {"status": 502, "body": "Bad"}},
    ),
    ("settings", "settings", good_settings),
    ("settings: minimal", "settings", lambda: {"type": "datadog", "config": {"mlApp": "a"}}),
    ("case", "case", lambda: {"exchange": good_exchange(), "settings": good_settings(), "format": "evp"}),
    (
        "case meta",
        "case-meta",
        lambda: {
            "description": "tool calls keep their ids",
            "spec": ["contract §4"],
            "format": "public",
            "tags": ["x"],
        },
    ),
    ("error", "error", lambda: {"error": "NotTraceable", "path": "$.response.id"}),
]


@pytest.mark.parametrize(("schema", "make"), [(s, m) for _, s, m in GOOD], ids=[i for i, _, _ in GOOD])
def test_good_documents_are_valid(schema: SchemaName, make: Callable[[], Any]) -> None:
    document = make()
    assert iter_violations(document, schema) == []
    validate(document, schema)  # raises on a violation


# -- bad documents: each breaks one documented rule ------------------------------------------------

DELETE = object()
_PATH_PART = re.compile(r'\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]')


def parts_of(path: str) -> tuple[str | int, ...]:
    """``$.a[0]["b.c"]`` → ``("a", 0, "b.c")``: the inverse of errors.json_path."""
    assert path.startswith("$"), path
    parts: list[str | int] = []
    position = 1
    while position < len(path):
        match = _PATH_PART.match(path, position)
        assert match is not None, path
        name, index, quoted = match.groups()
        parts.append(
            int(index) if index is not None else name if name is not None else json.loads(f'"{quoted}"')
        )
        position = match.end()
    return tuple(parts)


def changed(document: Any, path: str, value: Any) -> Any:
    """A deep copy of ``document`` with the value at JSON path ``path`` replaced (or removed: DELETE)."""
    parts = parts_of(path)
    if not parts:
        return copy.deepcopy(value)
    out = copy.deepcopy(document)
    parent = out
    for part in parts[:-1]:
        parent = parent[part]
    if value is DELETE:
        del parent[parts[-1]]
    else:
        parent[parts[-1]] = value
    return out


@dataclass(frozen=True)
class Bad:
    """A good document with the value at ``at`` changed; rejected at ``expect`` (default: ``at``),
    the first of which is the violation validate() reports."""

    id: str
    schema: SchemaName
    make: Callable[[], Any]
    at: str
    value: Any
    expect: tuple[str, ...] = ()

    def document(self) -> Any:
        return changed(self.make(), self.at, self.value)

    def paths(self) -> tuple[str, ...]:
        return self.expect or (self.at,)


PUB: SchemaName = "public-payload"
EVP: SchemaName = "evp-payload"
P, E, X = good_public_payload, good_evp_payload, good_exchange
PA = "$.data.attributes"
P0, P1 = f"{PA}.spans[0]", f"{PA}.spans[1]"  # workflow root, llm child
E0, E1 = "$[0].spans[0]", "$[1].spans[0]"


def one_public_span() -> Any:
    return good_public_payload()["data"]["attributes"]["spans"][0]


def one_evp_span() -> Any:
    return good_evp_payload()[0]["spans"][0]


def a_case() -> dict[str, Any]:
    return {"exchange": good_exchange(), "settings": good_settings(), "format": "evp"}


def a_case_meta() -> dict[str, Any]:
    return {"description": "x", "spec": ["contract §4"], "format": "public"}


def an_error() -> dict[str, Any]:
    return {"error": "InvalidInput", "path": "$"}


BAD = [
    # span kind outside Datadog's seven (datadog-llmobs-intake.md §2.1 Meta, §2.4)
    Bad("public kind", PUB, P, f"{P1}.meta.kind", "chain"),
    Bad("evp kind", EVP, E, f"{E1}.meta.span.kind", "chat"),
    Bad("public kind missing", PUB, P, f"{P0}.meta.kind", DELETE),
    # message content is a string; only ddtrace's message keys (§2.1 Message, §2.5)
    Bad("public content parts", PUB, P, f"{P1}.meta.input.messages[1].content", [{"type": "text"}]),
    Bad("evp content number", EVP, E, f"{E1}.meta.output.messages[1].content", 42),
    Bad("public reasoning_content", PUB, P, f"{P1}.meta.output.messages[1].reasoning_content", "hmm"),
    Bad("evp arguments as text", EVP, E, f"{E1}.meta.input.messages[2].tool_calls[0].arguments", "{}"),
    # start_ns / duration: non-negative integers (§2.3)
    Bad("public negative start_ns", PUB, P, f"{P0}.start_ns", -1),
    Bad("public float duration", PUB, P, f"{P1}.duration", 1.5),
    Bad("evp start_ns text", EVP, E, f"{E0}.start_ns", "1788612875187000000"),
    Bad("evp negative duration", EVP, E, f"{E1}.duration", -5),
    # llm spans use messages, the other kinds value (ddtrace _tag_*_io, §2.4)
    Bad("public llm value", PUB, P, f"{P1}.meta.input", {"value": "hi"},
        (f"{P1}.meta.input.messages", f"{P1}.meta.input.value")),
    Bad("evp llm value", EVP, E, f"{E1}.meta.output", {"value": "hi"},
        (f"{E1}.meta.output.messages", f"{E1}.meta.output.value")),
    Bad("public workflow messages", PUB, P, f"{P0}.meta.input", {"messages": [{"content": "hi"}]},
        (f"{P0}.meta.input.value", f"{P0}.meta.input.messages")),
    Bad("evp workflow messages", EVP, E, f"{E0}.meta.input", {"messages": [{"content": "hi"}]},
        (f"{E0}.meta.input.value", f"{E0}.meta.input.messages")),
    # tags (datadog-llmobs-intake.md §3.3; contract §5)
    Bad("public tag with space", PUB, P, f"{PA}.tags[1]", "session_id:a b"),
    Bad("public tag ends with colon", PUB, P, f"{PA}.tags[2]", "user_id:"),
    Bad("public tag too long", PUB, P, f"{PA}.tags[0]", "service:" + "a" * 193),
    Bad("public tag with comma", PUB, P, f"{PA}.tags[0]", "service:a,b"),
    Bad("public tag trailing newline", PUB, P, f"{PA}.tags[0]", "service:a\n"),
    Bad("evp tag starts with digit", EVP, E, f"{E0}.tags[0]", "1ml_app:x"),
    Bad("evp tag not a string", EVP, E, f"{E0}.tags[1]", 7),
    # public metadata values: string, number or boolean (§2.1 Meta)
    Bad("public metadata list", PUB, P, f"{P1}.meta.metadata.stop", ["END"]),
    Bad("public metadata null", PUB, P, f"{P0}.meta.metadata.team", None),
    # metrics are numbers (§2.6)
    Bad("public metric text", PUB, P, f"{P1}.metrics.input_tokens", "9"),
    Bad("evp metric boolean", EVP, E, f"{E1}.metrics.input_tokens", True),
    # ids (§2.3, §2.8)
    Bad("public span_id hex", PUB, P, f"{P0}.span_id", "ae9e8004b4148700"),
    Bad("evp _dd span_id number", EVP, E, f"{E0}._dd.span_id", 17564526145379307230),
    Bad("public empty parent_id", PUB, P, f"{P1}.parent_id", ""),
    Bad("evp parent_id missing", EVP, E, f"{E1}.parent_id", DELETE),
    Bad("evp apm id not hex", EVP, E, f"{E0}._dd.apm_trace_id", TRACE_ID),
    # key sets: exactly ddtrace's span and _dd keys (§2.3, §2.8; contract §7), the public span fields
    Bad("evp span ml_app key", EVP, E, f"{E0}.ml_app", "production-app"),
    Bad("evp _dd sample_rate", EVP, E, f"{E1}._dd.sample_rate", "1"),
    Bad("evp _dd without apm id", EVP, E, f"{E1}._dd.apm_trace_id", DELETE),
    Bad("evp tags missing", EVP, E, f"{E1}.tags", DELETE),
    Bad("public span service key", PUB, P, f"{P0}.service", "bot"),
    Bad("public error flag", PUB, P, f"{P1}.error", 1),
    Bad("evp meta.kind", EVP, E, f"{E0}.meta", {"kind": "workflow"}, (f"{E0}.meta.span", f"{E0}.meta.kind")),
    # status, meta.error (§2.1)
    Bad("public status", PUB, P, f"{P0}.status", "warning"),
    Bad("evp error without type", EVP, E, f"{E1}.meta.error.type", DELETE),
    Bad("evp error stack list", EVP, E, f"{E1}.meta.error.stack", ["a"]),
    # payload wrappers (§2.1 SpansRequestData/SpansPayload, §2.2 envelopes, §3.4 ml_app naming)
    Bad("public ml_app uppercase", PUB, P, f"{PA}.ml_app", "Prod-App"),
    Bad("public ml_app double underscore", PUB, P, f"{PA}.ml_app", "prod__app"),
    Bad("public ml_app trailing underscore", PUB, P, f"{PA}.ml_app", "prod_"),
    Bad("public ml_app too long", PUB, P, f"{PA}.ml_app", "a" * 194),
    Bad("public no spans", PUB, P, f"{PA}.spans", []),
    Bad("public data type", PUB, P, "$.data.type", "spans"),
    Bad("evp envelope scope", EVP, E, '$[0]["_dd.scope"]', "experiments"),
    Bad("evp envelope stage", EVP, E, '$[0]["_dd.stage"]', "cooked"),
    Bad("evp two spans in one envelope", EVP, E, "$[0].spans", [one_evp_span(), one_evp_span()]),
    Bad("evp empty array", EVP, E, "$", []),
    # single spans through the span schemas
    Bad("public-span status", "public-span", one_public_span, "$.status", "OK"),
    Bad("evp-span apm_trace_id", "evp-span", one_evp_span, "$.apm_trace_id", APM_ID),
    Bad("span is evp by _dd", "span", one_evp_span, "$.meta", {"kind": "llm"},
        ("$.meta.span", "$.meta.kind")),
    # exchange (contract §1; openrouter-broadcast.md §5-§8)
    Bad("exchange no messages", "exchange", X, "$.request.messages", []),
    Bad("exchange role", "exchange", X, "$.request.messages[0].role", 5),
    Bad("exchange tool message id", "exchange", X, "$.request.messages[4].tool_call_id", ["call_1"]),
    Bad("exchange text part without text", "exchange", X, "$.request.messages[2].content[0].text", DELETE),
    Bad("exchange call without function", "exchange", X,
        "$.request.messages[3].tool_calls[0].function", DELETE),
    Bad("exchange unknown member", "exchange", X, "$.timings", {"start": 1}),
    Bad("exchange unknown timing member", "exchange", X, "$.timing.first_tokens", 1),
    Bad("exchange in-200 error code not a status or name", "exchange", X, "$.response.error",
        {"message": "x", "code": 600}, ("$.response.error.code",)),
    Bad("exchange response and stream", "exchange", X, "$.stream", "data: [DONE]\n\n"),
    Bad("exchange no outcome", "exchange", X, "$.response", DELETE, ("$",)),
    Bad("exchange no offset", "exchange", X, "$.timing.start", "2026-09-05T12:54:35"),
    Bad("exchange timing missing", "exchange", X, "$.timing", DELETE),
    Bad("exchange status 600", "exchange", good_error_exchange, "$.error.status", 600),
    Bad("exchange negative tokens", "exchange", X, "$.response.usage.prompt_tokens", -1),
    Bad("exchange header number", "exchange", X, '$.headers["x-session-id"]', 5),
    Bad("exchange trace_name list", "exchange", X, "$.request.trace.trace_name", ["Bot"]),
    # settings (openrouter-broadcast.md §1.3)
    Bad("settings type", "settings", good_settings, "$.type", "langfuse"),
    Bad("settings empty mlApp", "settings", good_settings, "$.config.mlApp", ""),
    Bad("settings sampling above 1", "settings", good_settings, "$.sampling_rate", 1.5),
    Bad("settings empty key hashes", "settings", good_settings, "$.api_key_hashes", []),
    Bad("settings operator", "settings", good_settings, "$.filter_rules.groups[0].rules[0].operator", "like"),
    Bad("settings span limit", "settings", good_settings, "$.max_span_bytes", 5000001),
    Bad("settings unknown key", "settings", good_settings, "$.privacy", True),
    # conformance documents
    Bad("case format", "case", a_case, "$.format", "otlp"),
    Bad("case bad exchange", "case", a_case, "$.exchange.request.messages", None),
    Bad("case meta long description", "case-meta", a_case_meta, "$.description", "x" * 100),
    Bad("case meta no spec", "case-meta", a_case_meta, "$.spec", []),
    Bad("error class", "error", an_error, "$.error", "KeyError"),
    Bad("error path", "error", an_error, "$.path", "request.messages"),
]  # fmt: skip


@pytest.mark.parametrize("bad", BAD, ids=[b.id for b in BAD])
def test_bad_documents_are_rejected_at_the_rule(bad: Bad) -> None:
    assert iter_violations(bad.make(), bad.schema) == []  # the document was good before the change
    document = bad.document()
    assert [v.path for v in iter_violations(document, bad.schema)] == sorted(bad.paths(), key=_path_order)
    with pytest.raises(SchemaViolation) as caught:
        validate(document, bad.schema)
    assert (caught.value.path, caught.value.schema) == (bad.paths()[0], bad.schema)


def _path_order(path: str) -> list[tuple[int, int, str]]:
    # the order iter_violations promises: by path, array indexes numerically
    return [(0, p, "") if isinstance(p, int) else (1, 0, p) for p in parts_of(path)]


def test_there_are_enough_hand_made_bad_documents() -> None:
    payload_cases = [b for b in BAD if b.schema in (PUB, EVP, "public-span", "evp-span", "span")]
    assert len(payload_cases) >= 15
    assert {b.schema for b in BAD} == set(SCHEMA_NAMES)


def test_messages_say_what_is_wrong() -> None:
    document = changed(P(), f"{P1}.meta.kind", "chain")
    assert iter_violations(document, "public-payload") == [
        Violation(
            "$.data.attributes.spans[1].meta.kind",
            'must be one of "llm", "workflow", "agent", "tool", "task", "embedding", "retrieval", '
            'not "chain"',
        )
    ]
    document = changed(E(), f"{E0}._dd.sample_rate", "1")
    assert iter_violations(document, "evp-payload") == [
        Violation(
            "$[0].spans[0]._dd.sample_rate", "is not allowed here (allowed: span_id, trace_id, apm_trace_id)"
        )
    ]
    document = changed(good_exchange(), "$.error", {"status": 500, "body": "x"})
    assert iter_violations(document, "exchange") == [
        Violation("$.error", "cannot be given together with 'response'")
    ]
    document = changed(P(), f"{P1}.metrics.input_tokens", "9")
    assert iter_violations(document, "public-payload") == [
        Violation("$.data.attributes.spans[1].metrics.input_tokens", "must be a number, not string")
    ]


def test_violations_are_sorted_with_numeric_indexes() -> None:
    document = good_public_payload()
    spans = document["data"]["attributes"]["spans"]
    spans.extend(copy.deepcopy(spans[0]) for _ in range(10))
    spans[10]["status"] = "bad"
    spans[2]["status"] = "bad"
    paths = [v.path for v in iter_violations(document, "public-payload")]
    assert paths == ["$.data.attributes.spans[2].status", "$.data.attributes.spans[10].status"]


def test_api_key_never_appears_in_a_message() -> None:
    secret = "sk-dd-0123456789abcdef"
    for config in (
        {"mlApp": "a", "apiKey": [secret]},
        {"mlApp": "a", "apiKey": {"value": secret}},
        {"mlApp": "a", "headers": {"DD-API-KEY": [secret]}},
        # a string the pattern refuses: the message states the rule, never the value
        {"mlApp": "a", "apiKey": secret + "\n"},
        {"mlApp": "a", "apiKey": f" {secret}"},
        {"mlApp": "a", "apiKey": f"{secret}é"},
        {"mlApp": "a", "headers": {"DD-API-KEY": f"{secret}\r\nX-Injected: 1"}},
    ):
        violations = iter_violations({"type": "datadog", "config": config}, "settings")
        assert violations, config
        assert all(secret not in v.message for v in violations)
        with pytest.raises(SchemaViolation) as caught:
            validate({"type": "datadog", "config": config}, "settings")
        assert secret not in str(caught.value)
        assert secret not in repr(caught.value)


def test_long_strings_are_cut_in_messages() -> None:
    document = changed(P(), f"{PA}.tags[0]", "service:" + "x" * 500 + ",")
    no_match, too_long = iter_violations(document, "public-payload")
    assert too_long == Violation("$.data.attributes.tags[0]", "must have at most 200 characters, not 509")
    assert no_match.path == "$.data.attributes.tags[0]"
    assert no_match.message.startswith('"service:xxx')
    assert len(no_match.message) < 150


def test_unknown_schema_name() -> None:
    with pytest.raises(ValueError, match="unknown schema 'payload'"):
        validate({}, "payload")  # type: ignore[arg-type]


# -- the schema files themselves -------------------------------------------------------------------


def test_schema_files_are_the_expected_set() -> None:
    names = {p.name.removesuffix(".schema.json") for p in SCHEMA_FILES}
    assert names == {
        "exchange",
        "settings",
        "case",
        "case-meta",
        "error",
        "span",
        "public-payload",
        "evp-payload",
    }


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=[p.name for p in SCHEMA_FILES])
def test_schema_is_valid_against_its_metaschema(path: Path) -> None:
    schema = load(path)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"{SCHEMA_BASE_URI}{path.name}"
    validator_for(schema).check_schema(schema)


def test_schemas_are_loaded_from_the_checkout() -> None:
    # a checkout has no llmobs_mapping/_data, so the loader falls back to the repository's schemas/
    assert Path(str(schema_dir())).resolve() == SCHEMAS.resolve()


# -- the quick check agrees with jsonschema ----------------------------------------------------------


def _jsonschema_says_valid(document: Any, schema: SchemaName) -> bool:
    return next(iter(_validator(schema).iter_errors(document)), None) is None


def test_quick_check_agrees_on_every_hand_made_document() -> None:
    documents = [(m(), s) for _, s, m in GOOD]
    documents += [(b.document(), b.schema) for b in BAD]
    for document, schema in documents:
        assert _quick_valid(document, schema) == _jsonschema_says_valid(document, schema), (schema, document)


_JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(
        ["", "llm", "workflow", "ok", "error", "undefined", "raw", "span", "a:", "A:b", "1", "x y"]
    ),
    st.text(max_size=8),
)
_JSON_VALUES = st.recursive(
    _JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


def _paths(document: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    out = [prefix]
    if isinstance(document, dict):
        for key, value in document.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            out += _paths(value, (*prefix, index))
    return out


@given(data=st.data())
def test_quick_check_agrees_with_jsonschema_on_mutations(data: st.DataObject) -> None:
    """Replace or delete one node anywhere in a good document: both validators give one verdict."""
    _, schema, make = data.draw(st.sampled_from(GOOD))
    document = make()
    path = data.draw(st.sampled_from(_paths(document)))
    value = data.draw(_JSON_VALUES | st.just(DELETE)) if path else data.draw(_JSON_VALUES)
    if path and value is DELETE and isinstance(path[-1], int):
        value = None
    mutated = changed(document, json_path(path), value)
    assert _quick_valid(mutated, schema) == _jsonschema_says_valid(mutated, schema)


# -- real output and the fixture suite --------------------------------------------------------------

EXAMPLE_SETTINGS = sorted(EXAMPLES.glob("seed-settings*.json"))


@pytest.mark.parametrize("fmt", ["public", "evp"])
@pytest.mark.parametrize("settings_path", EXAMPLE_SETTINGS, ids=[p.stem for p in EXAMPLE_SETTINGS])
def test_build_payload_output_is_valid(fmt: str, settings_path: Path) -> None:
    settings = Settings.from_destination(load(settings_path))
    payload = build_payload(load(EXAMPLES / "seed-exchange.json"), settings, fmt)  # type: ignore[arg-type]
    schema: SchemaName = "public-payload" if fmt == "public" else "evp-payload"
    assert iter_violations(payload, schema) == []


CASES = case_dirs()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_fixture_documents_are_valid(case: Any) -> None:
    meta = case.read("case.json")
    assert iter_violations(meta, "case-meta") == []
    if (case.path / "expected.json").exists():
        assert iter_violations(case.read("expected.json"), {"public": PUB, "evp": EVP}[meta["format"]]) == []
        assert iter_violations(case.read("exchange.json"), "exchange") == []
        assert iter_violations(case.read("settings.json"), "settings") == []
    if (case.path / "error.json").exists():
        assert iter_violations(case.read("error.json"), "error") == []


# -- the validate command ----------------------------------------------------------------------------


def run_validate(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "llmobs_mapping", "validate", *args],
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_cli_valid_file(tmp_path: Path) -> None:
    path = tmp_path / "payload.json"
    path.write_text(json.dumps(good_public_payload()), encoding="utf-8")
    done = run_validate(str(path), "--schema", "public-payload")
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "valid\n")


def test_cli_violations_one_line_each_from_stdin() -> None:
    document = changed(changed(E(), f"{E1}.meta.span.kind", "chat"), f"{E0}.ml_app", "x")
    done = run_validate("-", "--schema", "evp-payload", stdin=json.dumps(document).encode())
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        "$[0].spans[0].ml_app: is not allowed here (allowed: _dd, duration, meta, metrics, name, parent_id, "
        "session_id, span_id, start_ns, status, tags, trace_id)",
        '$[1].spans[0].meta.span.kind: must be one of "llm", "workflow", "agent", "tool", "task", '
        '"embedding", "retrieval", not "chat"',
    ]


def test_cli_not_json_is_exit_2() -> None:
    done = run_validate("-", "--schema", "span", stdin=b"{not json")
    assert (done.returncode, done.stdout) == (2, "")
    error = json.loads(done.stderr)
    assert (error["error"], error["path"]) == ("InvalidInput", "$")


def test_cli_unreadable_file_is_exit_2(tmp_path: Path) -> None:
    done = run_validate(str(tmp_path / "missing.json"), "--schema", "exchange")
    assert (done.returncode, done.stdout) == (2, "")
    assert json.loads(done.stderr)["error"] == "InvalidInput"


def test_cli_unknown_schema_is_a_usage_error(tmp_path: Path) -> None:
    done = run_validate("-", "--schema", "payload", stdin=b"{}")
    assert done.returncode == 2
    assert "invalid choice: 'payload'" in done.stderr
