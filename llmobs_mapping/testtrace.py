"""OpenRouter's synthetic "Send Trace" test trace as an exchange (openrouter-broadcast.md §2.9).

Pure: the caller passes the moment (Unix milliseconds) the ids and timestamps derive from.
"""

from __future__ import annotations

from typing import Any

__all__ = ["test_trace_exchange"]

TEST_USER = "user_2dHFtVWx2n56w6HkM00jfzu0Ac5"  # the account id seen in OpenRouter's screenshots


def test_trace_exchange(now_ms: int) -> dict[str, Any]:
    """The synthetic exchange OpenRouter's "Send Trace" button emits: trace ``test-trace-<ms>``,
    root "Test Trace - OpenRouter Observability", LLM span "Test Generation", 50/100/150 tokens
    (20 cached), $0.02, 1.50 s."""
    start_ns = now_ms * 1_000_000
    trace_id = f"test-trace-{now_ms}"
    return {
        "request": {
            "model": "openai/gpt-4-turbo",
            "messages": [{"role": "user", "content": "What is the capital of France?"}],
            "temperature": 0.7,
            "max_tokens": 150,
            "top_p": 1,
            "frequency_penalty": 0,
            "presence_penalty": 0,
            "user": TEST_USER,
            "session_id": f"session-{now_ms}",
            "trace": {
                "trace_id": trace_id,
                "trace_name": "Test Trace - OpenRouter Observability",
                "generation_name": "Test Generation",
                "environment": "test",
                "source": "observability-test-button",
                "testId": trace_id,
                "test": True,
            },
        },
        "response": {
            "id": f"gen-{trace_id}",
            "object": "chat.completion",
            "created": now_ms // 1000,
            "model": "openai/gpt-4-turbo",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "The capital of France is Paris."},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": 50,
                "completion_tokens": 100,
                "total_tokens": 150,
                "prompt_tokens_details": {"cached_tokens": 20},
                "cost": 0.02,
            },
        },
        "timing": {"start": start_ns, "end": start_ns + 1_500_000_000},
    }
