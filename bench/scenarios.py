"""The benchmark's exchanges, built by code at run time (nothing big is committed).

Each scenario is an exchange document as a gateway would log it (the exact JSON text, as the floor
parses it) plus the destination settings it is mapped with:

- ``seed``: ``examples/seed-exchange.json`` with ``examples/seed-settings.json`` (the README's example).
- ``conversation-20``: a 20-turn support conversation with tool calls and tool results, 3 tool
  definitions, a custom ``trace`` with ``trace_name`` (two spans), and a tool-call response.
- ``stream-200k``: a streamed response whose raw SSE text is about 200 KB: ~820 content chunks the
  way OpenRouter sends them (every chunk repeats id/model/provider/created), the ``: OPENROUTER
  PROCESSING`` comments, a final usage chunk and ``data: [DONE]``.
- ``privacy``: ``conversation-20`` mapped with ``privacy_mode: true`` (the seed privacy settings).
- ``capture-reasoning``: a real OpenRouter capture (BYOK Claude with long reasoning) from
  ``../shared/data/openrouter-captures`` beside the checkout, or the folder ``$LLMOBS_BENCH_CAPTURES``
  names, when it exists; skipped otherwise.

Everything is deterministic: the same code yields the same bytes on every machine.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "CAPTURES",
    "REPO",
    "Scenario",
    "conversation_exchange",
    "exchange_lines",
    "scenarios",
    "stream_exchange",
]

REPO = Path(__file__).resolve().parent.parent
# The team's shared captures sit next to the checkout (../shared); LLMOBS_BENCH_CAPTURES overrides.
CAPTURES = Path(
    os.environ.get("LLMOBS_BENCH_CAPTURES", REPO.parent / "shared" / "data" / "openrouter-captures")
)
TIMING = {"start": "2026-09-05T12:54:35.187Z", "end": "2026-09-05T12:54:41.412Z"}
GEN_ID = "gen-1788612875-Kq2rT8vXw3YpLm9NbC4d"

# Words for generated text: ordinary English with a few non-ASCII characters, like real chats.
_PROSE = (
    "the order was shipped on Tuesday and should arrive within three business days; "
    "if the tracking number does not update, please reply here — we will escalate it "
    "to the carrier. Prices are in € and include VAT. Thanks for your patience!"
)
_WORDS = tuple(_PROSE.split(" "))


@dataclass(frozen=True, slots=True)
class Scenario:
    """One benchmark case: the exchange file's text, its parsed document, and the settings JSON."""

    name: str
    description: str
    exchange_text: str
    settings_doc: dict[str, Any]

    @property
    def exchange_doc(self) -> Any:
        """A fresh parse of :attr:`exchange_text`."""
        return json.loads(self.exchange_text)


def _text(words: int, offset: int = 0) -> str:
    return " ".join(_WORDS[(offset + i) % len(_WORDS)] for i in range(words))


def _settings(*, privacy: bool = False) -> dict[str, Any]:
    name = "seed-settings-privacy.json" if privacy else "seed-settings.json"
    doc: dict[str, Any] = json.loads((REPO / "examples" / name).read_text(encoding="utf-8"))
    return doc


def _pretty(doc: Any) -> str:
    # exchange files are logged pretty-printed more often than not; the seed file is too
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


_TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "lookup_order",
            "description": "Find an order by its number and return status, items and tracking.",
            "parameters": {
                "type": "object",
                "properties": {
                    "order_id": {"type": "string", "description": "The order number, e.g. A-1234"},
                    "include_items": {"type": "boolean"},
                },
                "required": ["order_id"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "track_parcel",
            "description": "Carrier tracking events for a tracking number.",
            "parameters": {
                "type": "object",
                "properties": {"tracking_number": {"type": "string"}, "carrier": {"type": "string"}},
                "required": ["tracking_number"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "open_ticket",
            "description": "Escalate to a human agent.",
            "parameters": {
                "type": "object",
                "properties": {"summary": {"type": "string"}, "priority": {"enum": ["low", "high"]}},
                "required": ["summary"],
            },
        },
    },
]


def conversation_exchange(turns: int = 20, *, gen_id: str = GEN_ID) -> dict[str, Any]:
    """A ``turns``-turn conversation: each turn is a user message, an assistant tool call, the tool
    result and the assistant's answer; the response asks for one more tool call."""
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You are Acme's support assistant. " + _text(40)},
    ]
    for turn in range(turns):
        call_id = f"call_{turn:03d}_{gen_id[-6:]}"
        messages.append({"role": "user", "content": _text(25 + turn % 7, turn)})
        messages.append(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {
                            "name": _TOOLS[turn % 2]["function"]["name"],
                            "arguments": json.dumps({"order_id": f"A-{1000 + turn}", "include_items": True}),
                        },
                    }
                ],
            }
        )
        result = {"status": "shipped", "eta_days": 3, "items": [{"sku": f"SKU-{turn}", "qty": 1}]}
        messages.append({"role": "tool", "tool_call_id": call_id, "content": json.dumps(result)})
        messages.append({"role": "assistant", "content": _text(50 + turn % 11, turn * 3)})
    messages.append({"role": "user", "content": "Can you escalate this to a human, please?"})
    return {
        "request": {
            "model": "anthropic/claude-sonnet-4.5",
            "messages": messages,
            "tools": _TOOLS,
            "tool_choice": "auto",
            "temperature": 0.2,
            "max_tokens": 1024,
            "session_id": "sess-7f3c2a",
            "user": "customer-4411",
            "trace": {"trace_name": "Support Bot", "environment": "production", "team": "support"},
        },
        "response": {
            "id": gen_id,
            "object": "chat.completion",
            "created": 1788612875,
            "model": "anthropic/claude-sonnet-4.5",
            "provider": "Anthropic",
            "choices": [
                {
                    "index": 0,
                    "logprobs": None,
                    "finish_reason": "tool_calls",
                    "native_finish_reason": "tool_use",
                    "message": {
                        "role": "assistant",
                        "content": "I'll open a ticket for you now.",
                        "reasoning": None,
                        "refusal": None,
                        "tool_calls": [
                            {
                                "id": "toolu_01",
                                "type": "function",
                                "function": {
                                    "name": "open_ticket",
                                    "arguments": '{"summary":"Parcel not moving","priority":"high"}',
                                },
                            }
                        ],
                    },
                }
            ],
            "usage": {
                "prompt_tokens": 9412,
                "completion_tokens": 61,
                "total_tokens": 9473,
                "cost": 0.029151,
                "is_byok": False,
                "prompt_tokens_details": {"cached_tokens": 8192},
                "completion_tokens_details": {"reasoning_tokens": 0},
                "cost_details": {
                    "upstream_inference_cost": 0.029151,
                    "upstream_inference_prompt_cost": 0.028236,
                    "upstream_inference_completions_cost": 0.000915,
                },
            },
        },
        "timing": TIMING,
    }


def _sse_chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
    body: dict[str, Any] = {
        "id": GEN_ID,
        "provider": "OpenAI",
        "model": "openai/gpt-4o",
        "object": "chat.completion.chunk",
        "created": 1788612875,
        "choices": [
            {
                "index": 0,
                "delta": delta,
                "finish_reason": finish,
                "native_finish_reason": finish,
                "logprobs": None,
            }
        ],
        **extra,
    }
    # OpenRouter's own serialisation: compact, key order as sent
    return "data: " + json.dumps(body, separators=(",", ":"), ensure_ascii=False) + "\n\n"


def stream_exchange(target_bytes: int = 200_000) -> dict[str, Any]:
    """A streamed chat completion whose SSE text is at least ``target_bytes`` UTF-8 bytes."""
    parts = [": OPENROUTER PROCESSING\n\n", ": OPENROUTER PROCESSING\n\n"]
    parts.append(_sse_chunk({"role": "assistant", "content": ""}))
    size = sum(len(p.encode("utf-8")) for p in parts)
    words = 0
    while size < target_bytes:
        piece = _sse_chunk({"role": "assistant", "content": " " + _text(3, words)})
        words += 3
        parts.append(piece)
        size += len(piece.encode("utf-8"))
    parts.append(_sse_chunk({"role": "assistant", "content": ""}, "stop"))
    usage = {
        "prompt_tokens": 412,
        "completion_tokens": words * 4 // 3,
        "total_tokens": 412 + words * 4 // 3,
        "cost": 0.0134,
        "is_byok": False,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }
    final = {
        "id": GEN_ID,
        "provider": "OpenAI",
        "model": "openai/gpt-4o",
        "object": "chat.completion.chunk",
        "created": 1788612875,
        "choices": [],
        "usage": usage,
    }
    parts.append("data: " + json.dumps(final, separators=(",", ":")) + "\n\n")
    parts.append("data: [DONE]\n\n")
    return {
        "request": {
            "model": "openai/gpt-4o",
            "stream": True,
            "messages": [
                {"role": "system", "content": "You write long, friendly customer letters."},
                {"role": "user", "content": "Write the full status letter for order A-1020."},
            ],
            "user": "customer-4411",
        },
        "stream": "".join(parts),
        "timing": {**TIMING, "first_token": "2026-09-05T12:54:35.612Z"},
    }


def _capture_exchange() -> dict[str, Any] | None:
    path = CAPTURES / "completion_openrouter_byok-0.json"
    if not path.is_file():
        return None
    capture = json.loads(path.read_text(encoding="utf-8"))
    return {"request": capture["request"], "response": capture["response"], "timing": TIMING}


def scenarios() -> list[Scenario]:
    """Every scenario, in table order."""
    seed_text = (REPO / "examples" / "seed-exchange.json").read_text(encoding="utf-8")
    conversation = _pretty(conversation_exchange())
    out = [
        Scenario("seed", "examples/seed-exchange.json (README example)", seed_text, _settings()),
        Scenario(
            "conversation-20", "20 turns, tool calls + results, 3 tools, 2 spans", conversation, _settings()
        ),
        Scenario(
            "stream-200k", "streamed response, ~200 KB of SSE text", _pretty(stream_exchange()), _settings()
        ),
        Scenario("privacy", "conversation-20 with privacy_mode: true", conversation, _settings(privacy=True)),
    ]
    capture = _capture_exchange()
    if capture is not None:
        out.append(
            Scenario(
                "capture-reasoning",
                "real capture: BYOK Claude, long reasoning",
                _pretty(capture),
                _settings(),
            )
        )
    return out


def exchange_lines(count: int) -> Iterator[str]:
    """``count`` JSONL lines for the bulk benchmark: a mix of the scenarios' shapes with distinct
    generation ids (every 50th line is a 20-turn conversation, every 200th a streamed response of
    20 KB, the rest seed-sized), one compact JSON document per line."""
    seed = json.loads((REPO / "examples" / "seed-exchange.json").read_text(encoding="utf-8"))
    stream = stream_exchange(20_000)
    for number in range(count):
        gen_id = f"gen-1788612875-{number:020d}"
        if number % 200 == 199:
            doc = dict(stream)
            doc["stream"] = stream["stream"].replace(GEN_ID, gen_id)
        elif number % 50 == 49:
            doc = conversation_exchange(gen_id=gen_id)
        else:
            doc = dict(seed)
            doc["response"] = {**seed["response"], "id": gen_id}
        yield json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
