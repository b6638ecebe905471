"""OpenRouter messages and choices → Datadog LLM Observability messages (contract §4).

Datadog's message shape is ddtrace's ``Message``: ``role``, ``content`` (always a string), and
optionally ``tool_calls``, ``tool_id``, ``tool_results`` (ddtrace ``llmobs/types.py``).
"""

from __future__ import annotations

from typing import Any

from .canonical import strict_loads
from .exchange_types import Choice, InputMessage, ToolCall

__all__ = ["input_messages", "output_messages", "tool_arguments"]


def tool_arguments(raw: str | dict[str, Any]) -> dict[str, Any]:
    """Arguments as an object: JSON object text is parsed; anything else (not strict JSON, e.g.
    with NaN, or not an object) becomes ``{"value": text}``."""
    if isinstance(raw, dict):
        return raw
    try:
        parsed = strict_loads(raw)
    except (ValueError, RecursionError):
        return {"value": raw}
    return parsed if isinstance(parsed, dict) else {"value": raw}


def _dd_tool_calls(calls: tuple[ToolCall, ...]) -> list[dict[str, Any]]:
    out = []
    for call in calls:
        dd_call: dict[str, Any] = {
            "name": call.name,
            "arguments": tool_arguments(call.arguments),
            "type": "function",
        }
        if call.id is not None:
            dd_call["tool_id"] = call.id
        out.append(dd_call)
    return out


def input_messages(messages: tuple[InputMessage, ...]) -> list[dict[str, Any]]:
    """Request messages in order. Tool results get their function name from the earlier call id."""
    names: dict[str, str] = {}
    out: list[dict[str, Any]] = []
    for or_message in messages:
        dd_message: dict[str, Any] = {"role": or_message.role, "content": or_message.content}
        if or_message.tool_calls:
            dd_message["tool_calls"] = _dd_tool_calls(or_message.tool_calls)
            for call in or_message.tool_calls:
                if call.id is not None:
                    names[call.id] = call.name
        if or_message.role == "tool" or or_message.tool_call_id is not None:
            tool_id = or_message.tool_call_id or ""
            dd_message["tool_id"] = tool_id
            dd_message["tool_results"] = [
                {
                    "name": names.get(tool_id, ""),  # contract §9: unresolved id → empty name
                    "result": or_message.content,
                    "tool_id": tool_id,
                    "type": "function_call_output",
                }
            ]
        out.append(dd_message)
    return out


def output_messages(choices: tuple[Choice, ...], *, failed: bool) -> list[dict[str, Any]]:
    """Per choice: a ``reasoning`` message when there is reasoning text (Datadog's convention),
    then the assistant message; ``refusal`` stands in for missing content. In a failed exchange a
    choice that produced nothing adds no message."""
    out: list[dict[str, Any]] = []
    for choice in choices:
        if choice.reasoning:
            out.append({"role": "reasoning", "content": choice.reasoning})
        text = choice.content or choice.refusal or ""
        if (failed or choice.error is not None) and not text and not choice.tool_calls:
            continue
        dd_message: dict[str, Any] = {"role": "assistant", "content": text}
        if choice.tool_calls:
            dd_message["tool_calls"] = _dd_tool_calls(choice.tool_calls)
        out.append(dd_message)
    return out
