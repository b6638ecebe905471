"""A static, self-contained HTML view of a span payload (issue 8).

``render_html(payload)`` turns one payload of either wire format (docs/spec.md §1.1 public,
§1.2 EVP) into a single HTML file that shows the trace the way Datadog's LLM Observability trace
view does: the span tree on a time axis and, for the selected span, its messages, metadata,
metrics, tags and error. ``render_diff_html(expected, actual)`` shows the actual payload with every
difference from the expected one marked, for reviewing fixture changes.

The file needs no network and no build step: CSS and JS come from ``view_assets/`` and are inlined.
Python reads the payload into a display-ready *view model* (texts, JSON paths, tree order, bar
offsets); the page's script only lays it out, with ``textContent`` and never ``innerHTML``, so a
message that contains markup shows as text. The model is embedded as JSON in a
``<script type="application/json">`` with ``<``, ``>``, ``&``, U+2028 and U+2029 escaped, so no
content can close that tag. Pure: no clock, randomness, environment or I/O besides reading the
package's own asset files.

The viewer is total over JSON: the payload may come from any implementation, so it is lenient about
span contents and renders a malformed payload as far as it can. A missing field shows as missing; a
field of the wrong type shows as its JSON text; a number too large to format (beyond 10**15, or a
duration beyond 10**21 ns) shows as its JSON text; nesting of any depth and integers of any size are
written without recursion or ``str()``'s digit limit; parent links that are missing, dangling,
duplicated or cyclic still show every span once. Only the envelope is strict: anything that is not a
public or EVP payload raises :class:`~llmobs_mapping.errors.InvalidInput` naming the JSON path, and
that is the only exception a JSON document can cause.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

from .errors import InvalidInput, json_path
from .jsondiff import ABSENT, Difference, diff, json_kind
from .view_format import (
    as_text,
    format_cost,
    format_duration_ns,
    format_metric,
    grouped,
    json_number,
    json_text,
    opt_text,
    ordinary,
    pretty_text,
    whole_number,
)

__all__ = [
    "NO_IO_NOTE",
    "build_view_model",
    "format_cost",
    "format_duration_ns",
    "read_payload",
    "render_diff_html",
    "render_html",
]

NO_IO_NOTE = "No input/output recorded (privacy mode or none sent)"

Parts = tuple[str | int, ...]

# Metrics the mapping emits (docs/spec.md §1.1, contract §4), in the order Datadog's span panel
# lists them; any other metric follows in key order.
_METRIC_LABELS: dict[str, str] = {
    "input_tokens": "Input tokens",
    "output_tokens": "Output tokens",
    "total_tokens": "Total tokens",
    "cache_read_input_tokens": "Cache read input tokens",
    "cache_write_input_tokens": "Cache write input tokens",
    "non_cached_input_tokens": "Non-cached input tokens",
    "reasoning_output_tokens": "Reasoning output tokens",
    "total_cost": "Total cost",
    "input_cost": "Input cost",
    "output_cost": "Output cost",
    "time_to_first_token": "Time to first token",
}
_MAX_DIFF_VALUE_CHARS = 2000
_MIN_BAR_PCT = 0.4
_SURROGATE = re.compile("[\ud800-\udfff]")
_MAX_DIFF_DEPTH = 100  # jsondiff recurses per level: deeper subtrees are compared whole


# -- reading the payload -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PayloadSpans:
    """The spans of one payload, each with its JSON path parts, plus the payload-level fields."""

    format: Literal["public", "evp"]
    spans: tuple[tuple[Parts, Mapping[str, Any]], ...]
    ml_app: str | None
    session_id: str | None
    tags: tuple[str, ...]


def read_payload(payload: object) -> PayloadSpans:
    """Find the spans of a public (``{"data": {"attributes": {"spans": [...]}}}``) or EVP
    (``[{"event_type": "span", "spans": [...]}, ...]``) payload (docs/spec.md §1.1, §1.2).

    Raises :class:`InvalidInput` at the offending JSON path when the envelope has neither shape.
    """
    if isinstance(payload, dict):
        return _read_public(payload)
    if isinstance(payload, list):
        return _read_evp(payload)
    raise InvalidInput(
        "$", "is not a span payload: expected a public {'data': {...}} object or an EVP array of envelopes"
    )


def _read_public(payload: Mapping[str, Any]) -> PayloadSpans:
    if "data" not in payload:
        hint = (
            " (this looks like an exchange: pass --settings to map it first)" if "request" in payload else ""
        )
        raise InvalidInput("$.data", f"is missing: not a public span payload{hint}")
    data = payload["data"]
    if not isinstance(data, dict):
        raise InvalidInput("$.data", "must be an object")
    attributes = data.get("attributes")
    if not isinstance(attributes, dict):
        raise InvalidInput("$.data.attributes", "must be an object")
    spans = attributes.get("spans")
    if not isinstance(spans, list):
        raise InvalidInput("$.data.attributes.spans", "must be an array")
    found: list[tuple[Parts, Mapping[str, Any]]] = []
    for i, span in enumerate(spans):
        parts: Parts = ("data", "attributes", "spans", i)
        if not isinstance(span, dict):
            raise InvalidInput(json_path(parts), "must be an object (a span)")
        found.append((parts, span))
    tags = attributes.get("tags")
    return PayloadSpans(
        format="public",
        spans=tuple(found),
        ml_app=opt_text(attributes.get("ml_app")),
        session_id=opt_text(attributes.get("session_id")),
        tags=tuple(as_text(t) for t in tags) if isinstance(tags, list) else (),
    )


def _read_evp(payload: Sequence[Any]) -> PayloadSpans:
    found: list[tuple[Parts, Mapping[str, Any]]] = []
    for i, envelope in enumerate(payload):
        if not isinstance(envelope, dict):
            raise InvalidInput(json_path((i,)), "must be an object (an EVP envelope)")
        spans = envelope.get("spans")
        if not isinstance(spans, list):
            raise InvalidInput(json_path((i, "spans")), "must be an array")
        for j, span in enumerate(spans):
            parts: Parts = (i, "spans", j)
            if not isinstance(span, dict):
                raise InvalidInput(json_path(parts), "must be an object (a span)")
            found.append((parts, span))
    # EVP has no payload-level fields: ml_app and session travel on each span (spec §1.2).
    ml_app = None
    session = None
    for _, span in found:
        tags = span.get("tags")
        for tag in tags if isinstance(tags, list) else ():
            if isinstance(tag, str) and tag.startswith("ml_app:") and ml_app is None:
                ml_app = tag.removeprefix("ml_app:")
        if session is None:
            session = opt_text(span.get("session_id"))
    return PayloadSpans(format="evp", spans=tuple(found), ml_app=ml_app, session_id=session, tags=())


# -- the view model ------------------------------------------------------------------------------


class _PathCollector:
    """Records every JSON path the page will mark with ``data-path``, so a difference can be
    attached to the closest rendered element."""

    def __init__(self, base: Parts) -> None:
        self.paths: list[str] = []
        self._base = base
        self._base_path = json_path(base)

    def __call__(self, parts: Parts) -> str:
        # Paths under the span extend its path (json_path renders part by part): thousands of
        # spans with dozens of paths each stay fast.
        n = len(self._base)
        under = parts[:n] == self._base
        path = self._base_path + json_path(parts[n:])[1:] if under else json_path(parts)
        self.paths.append(path)
        return path


def _message_model(message: object, parts: Parts, mark: _PathCollector) -> dict[str, Any]:
    path = mark(parts)
    if not isinstance(message, dict):
        return {"role": "", "content": pretty_text(message), "path": path, "content_path": path}
    role = as_text(message.get("role", ""))
    model: dict[str, Any] = {"role": role, "path": path}
    if "content" in message:
        model["content"] = pretty_text(message["content"])
        model["content_path"] = mark((*parts, "content"))
    if message.get("tool_id") is not None:
        model["tool_id"] = as_text(message["tool_id"])
    calls = message.get("tool_calls")
    if isinstance(calls, list):
        model["tool_calls"] = [
            _tool_item(call, (*parts, "tool_calls", k), "arguments", mark) for k, call in enumerate(calls)
        ]
    results = message.get("tool_results")
    if isinstance(results, list):
        model["tool_results"] = [
            _tool_item(result, (*parts, "tool_results", k), "result", mark)
            for k, result in enumerate(results)
        ]
    return model


def _tool_item(item: object, parts: Parts, body_key: str, mark: _PathCollector) -> dict[str, Any]:
    """A tool call (its ``arguments`` pretty-printed) or a tool result (its ``result`` text)."""
    path = mark(parts)
    if not isinstance(item, dict):
        return {"name": "", "body": pretty_text(item), "path": path}
    model: dict[str, Any] = {"name": as_text(item.get("name", "")), "path": path}
    for key in ("tool_id", "type"):
        if item.get(key) is not None:
            model[key] = as_text(item[key])
    if body_key in item:
        model["body"] = pretty_text(item[body_key])
        model["body_path"] = mark((*parts, body_key))
    return model


def _io_model(io: object, parts: Parts, mark: _PathCollector) -> dict[str, Any] | None:
    """``{"messages": [...]}`` (llm spans) or ``{"value": ...}`` (other kinds), spec §1.1."""
    if io is None:
        return None
    path = mark(parts)
    if isinstance(io, dict) and isinstance(io.get("messages"), list):
        messages = [_message_model(m, (*parts, "messages", k), mark) for k, m in enumerate(io["messages"])]
        return {"path": path, "messages": messages}
    if isinstance(io, dict) and "value" in io and len(io) == 1:
        return {"path": path, "value": pretty_text(io["value"]), "value_path": mark((*parts, "value"))}
    return {"path": path, "value": pretty_text(io), "value_path": path}


def _span_model(
    index: int, parts: Parts, span: Mapping[str, Any], payload_tags: Sequence[str]
) -> tuple[dict[str, Any], list[str]]:
    mark = _PathCollector(parts)
    raw_meta = span.get("meta")
    meta: Mapping[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
    meta_parts: Parts = (*parts, "meta")
    # Public spans carry meta.kind, EVP spans meta.span.kind (spec §1.1, §1.2).
    kind = meta.get("kind")
    kind_path = mark((*meta_parts, "kind"))
    nested = meta.get("span")
    if kind is None and isinstance(nested, dict):
        kind = nested.get("kind")
        kind_path = mark((*meta_parts, "span", "kind"))
    start = whole_number(span.get("start_ns"))
    duration = whole_number(span.get("duration"))
    model: dict[str, Any] = {
        "index": index,
        "path": mark(parts),
        "locator": list(parts),
        "name": as_text(span.get("name", "(unnamed)")),
        "name_path": mark((*parts, "name")),
        "kind": as_text(kind) if kind is not None else "span",
        "kind_path": kind_path,
        "span_id": as_text(span.get("span_id", "")),
        "trace_id": as_text(span.get("trace_id", "")),
        "parent_id": as_text(span.get("parent_id", "")),
        "status": as_text(span.get("status", "")),
        "status_path": mark((*parts, "status")),
        "start_ns": start,
        "duration_ns": duration,
        "duration_text": format_duration_ns(duration) if duration is not None else "?",
        "duration_path": mark((*parts, "duration")),
    }
    # The span's identity and any other top-level field (``_dd`` in EVP), for the "Span" table.
    shown = {"name", "status", "duration", "meta", "metrics", "tags"}
    identity = ("span_id", "trace_id", "parent_id", "start_ns", "session_id")
    field_keys = [k for k in identity if k in span] + sorted(set(span) - shown - set(identity))
    model["span_fields"] = [[key, as_text(span[key]), mark((*parts, key))] for key in field_keys]
    if span.get("session_id") is not None:
        model["session_id"] = as_text(span["session_id"])
    for key in ("model_name", "model_provider"):
        if meta.get(key) is not None:
            model[key] = as_text(meta[key])
            model[f"{key}_path"] = mark((*meta_parts, key))

    error = meta.get("error")
    if isinstance(error, dict):
        model["error"] = {
            "path": mark((*meta_parts, "error")),
            "fields": [
                [key, pretty_text(error[key]), mark((*meta_parts, "error", key))]
                for key in ("type", "message", "stack", *sorted(set(error) - {"type", "message", "stack"}))
                if key in error
            ],
        }
    elif error is not None:
        model["error"] = {"path": mark((*meta_parts, "error")), "fields": [["error", pretty_text(error), ""]]}

    model["input"] = _io_model(meta.get("input"), (*meta_parts, "input"), mark)
    model["output"] = _io_model(meta.get("output"), (*meta_parts, "output"), mark)
    if model["input"] is None and model["output"] is None:
        # Privacy mode drops meta.input and meta.output from every span (contract §6).
        model["io_note"] = NO_IO_NOTE

    tools = meta.get("tool_definitions")
    if isinstance(tools, list):
        model["tool_definitions"] = [
            _tool_definition(tool, (*meta_parts, "tool_definitions", k), mark) for k, tool in enumerate(tools)
        ]
        model["tool_definitions_path"] = mark((*meta_parts, "tool_definitions"))

    metadata = meta.get("metadata")
    model["metadata_path"] = mark((*meta_parts, "metadata"))
    model["metadata"] = (
        [[key, as_text(metadata[key]), mark((*meta_parts, "metadata", key))] for key in sorted(metadata)]
        if isinstance(metadata, dict)
        else []
    )
    known = {"kind", "span", "input", "output", "metadata", "error", "tool_definitions"}
    known |= {"model_name", "model_provider"}
    model["other_meta"] = [
        [key, as_text(meta[key]), mark((*meta_parts, key))] for key in sorted(set(meta) - known)
    ]

    metrics = span.get("metrics")
    model["metrics_path"] = mark((*parts, "metrics"))
    model["metrics"] = []
    if isinstance(metrics, dict):
        ordered = [k for k in _METRIC_LABELS if k in metrics] + sorted(set(metrics) - set(_METRIC_LABELS))
        model["metrics"] = [
            [_METRIC_LABELS.get(k, k), format_metric(k, metrics[k]), mark((*parts, "metrics", k)), k]
            for k in ordered
        ]
        cost = json_number(metrics.get("total_cost"))
        if cost is not None:
            if ordinary(cost):  # only these are added up for the trace's cost
                model["cost_usd"] = cost
            model["cost_text"] = format_cost(cost)
        tokens = whole_number(metrics.get("total_tokens"))
        if tokens is not None:
            model["tokens_text"] = f"{grouped(tokens)} tokens"

    # Tags: the public payload's tags apply to every span (spec §1.1); EVP spans carry their own.
    model["tags"] = [
        [tag, json_path(("data", "attributes", "tags", k)), "payload"] for k, tag in enumerate(payload_tags)
    ]
    model["tags_path"] = mark((*parts, "tags"))
    span_tags = span.get("tags")
    if isinstance(span_tags, list):
        model["tags"] += [
            [as_text(tag), mark((*parts, "tags", k)), "span"] for k, tag in enumerate(span_tags)
        ]
    return model, mark.paths


def _tool_definition(tool: object, parts: Parts, mark: _PathCollector) -> dict[str, Any]:
    path = mark(parts)
    if not isinstance(tool, dict):
        return {"name": "", "description": "", "schema": pretty_text(tool), "path": path}
    return {
        "name": as_text(tool.get("name", "")),
        "description": as_text(tool.get("description", "")),
        "schema": pretty_text(tool["schema"]) if "schema" in tool else "",
        "path": path,
    }


def _tree_order(
    models: list[dict[str, Any]], links: Sequence[tuple[str | None, str | None]]
) -> list[tuple[int, int, int]]:
    """Depth-first display order as (model index, depth, parent display position or -1).

    ``links`` holds each span's (span id, parent id) as text, None when missing or null.
    Parent/child comes from ``parent_id``; a span whose parent is not in the payload ("undefined",
    or a caller's span id from ``trace.parent_span_id``, contract §3) or that has none is a root;
    when several spans share an id, the first is the parent. Siblings are ordered by start time,
    then payload order. Spans caught in a parent cycle become roots.
    """
    by_id: dict[str, int] = {}
    for i, (span_id, _) in enumerate(links):
        if span_id is not None:
            by_id.setdefault(span_id, i)
    children: dict[int, list[int]] = {i: [] for i in range(len(models))}
    roots: list[int] = []
    for i, (_, parent_id) in enumerate(links):
        parent = by_id.get(parent_id) if parent_id is not None else None
        if parent is None or parent == i:
            roots.append(i)
        else:
            children[parent].append(i)

    def start_key(i: int) -> tuple[int, int]:
        start = models[i]["start_ns"]
        return (start if start is not None else 0, i)

    order: list[tuple[int, int, int]] = []
    placed: set[int] = set()

    def place_tree(root: int) -> None:
        stack: list[tuple[int, int, int]] = [(root, 0, -1)]
        while stack:
            i, depth, parent_pos = stack.pop()
            if i in placed:
                continue
            placed.add(i)
            order.append((i, depth, parent_pos))
            position = len(order) - 1
            for child in sorted(children[i], key=start_key, reverse=True):
                stack.append((child, depth + 1, position))

    for root in sorted(roots, key=start_key):
        place_tree(root)
    for i in range(len(models)):  # cycles: no member is a root, so none was placed
        if i not in placed:
            place_tree(i)
    return order


def build_view_model(
    payload: object, *, title: str | None = None, differences: Sequence[Difference] | None = None
) -> dict[str, Any]:
    """The display-ready model the page renders: trace summary, spans in tree order with depth,
    time-axis offsets and widths (percent of the trace), and per-span display texts with the JSON
    path of each shown field. With ``differences`` (diff mode) each span lists its own, anchored
    to the closest field the page shows, and the top-level list holds them all."""
    spans = read_payload(payload)
    models: list[dict[str, Any]] = []
    rendered_paths: list[list[str]] = []
    for i, (parts, span) in enumerate(spans.spans):
        model, paths = _span_model(i, parts, span, spans.tags)
        models.append(model)
        rendered_paths.append(paths)

    starts = [m["start_ns"] for m in models if m["start_ns"] is not None]
    ends = [
        m["start_ns"] + max(m["duration_ns"], 0)
        for m in models
        if m["start_ns"] is not None and m["duration_ns"] is not None
    ]
    trace_start = min(starts) if starts else 0
    trace_end = max([*ends, *starts]) if starts else 0
    total = trace_end - trace_start

    links = [
        (
            model["span_id"] if span.get("span_id") is not None else None,
            model["parent_id"] if span.get("parent_id") is not None else None,
        )
        for model, (_, span) in zip(models, spans.spans, strict=True)
    ]
    ordered: list[dict[str, Any]] = []
    for position, (i, depth, parent_pos) in enumerate(_tree_order(models, links)):
        model = models[i]
        model["position"] = position
        model["depth"] = depth
        model["parent_position"] = parent_pos
        model["offset_pct"], model["width_pct"] = _bar(model, trace_start, total)
        ordered.append(model)
    # Each row's subtree is the run of following rows deeper than it (for collapsing): a row's
    # run ends before the first later row that is not deeper. Linear, for chains of many spans.
    open_rows: list[int] = []
    for position, model in enumerate([*ordered, {"depth": -1}]):
        while open_rows and ordered[open_rows[-1]]["depth"] >= model["depth"]:
            row = open_rows.pop()
            ordered[row]["subtree_end"] = position - 1
            ordered[row]["has_children"] = position - 1 > row
        open_rows.append(position)

    trace_ids = sorted({m["trace_id"] for m in models if m["trace_id"]})
    roots = [m["name"] for m in ordered if m["depth"] == 0]
    errors = sum(1 for m in models if m["status"] == "error")
    costs = [m["cost_usd"] for m in models if "cost_usd" in m]
    odd_costs = any("cost_text" in m and "cost_usd" not in m for m in models)
    summary: list[list[str]] = [["Format", spans.format]]
    if spans.ml_app is not None:
        summary.append(["ML app", spans.ml_app])
    if spans.session_id is not None:
        summary.append(["Session", spans.session_id])
    summary.append(["Trace" if len(trace_ids) == 1 else "Traces", ", ".join(trace_ids) or "?"])
    summary.append(["Spans", f"{len(models):,}" + (f" ({errors:,} with errors)" if errors else "")])
    summary.append(["Duration", format_duration_ns(total)])
    if odd_costs:  # a cost shown as its JSON text cannot be added up
        summary.append(["Cost", "?"])
    elif costs:
        summary.append(["Cost", format_cost(math.fsum(costs))])

    view: dict[str, Any] = {
        "title": title if title is not None else (roots[0] if roots else "Empty payload"),
        "format": spans.format,
        "summary": summary,
        "payload_tags": list(spans.tags),
        "axis": [[pct, format_duration_ns(total * pct // 100)] for pct in (0, 25, 50, 75, 100)],
        "spans": ordered,
        "diff_mode": differences is not None,
        "differences": [],
    }
    if differences is not None:
        _attach_differences(view, models, rendered_paths, differences)
    return view


def _bar(model: Mapping[str, Any], trace_start: int, total: int) -> tuple[float, float]:
    start, duration = model["start_ns"], model["duration_ns"]
    if start is None:
        return 0.0, 0.0
    if total <= 0:
        return 0.0, 100.0
    offset = (start - trace_start) * 100 / total
    width = max(duration or 0, 0) * 100 / total
    return round(offset, 3), round(max(width, _MIN_BAR_PCT), 3)


def _attach_differences(
    view: dict[str, Any],
    models: list[dict[str, Any]],
    rendered_paths: list[list[str]],
    differences: Sequence[Difference],
) -> None:
    by_span_path = {m["path"]: i for i, m in enumerate(models)}
    rendered = [set(paths) for paths in rendered_paths]
    for model in models:
        model["differences"] = []
    for difference in differences:
        entry: dict[str, Any] = {
            "path": difference.path,
            "kind": difference.kind,
            "expected": None if difference.expected is ABSENT else _diff_value_text(difference.expected),
            "actual": None if difference.actual is ABSENT else _diff_value_text(difference.actual),
            "position": -1,
            "span_name": "",
        }
        span_path = _enclosing(difference.path, by_span_path)
        if span_path is not None:
            owner = by_span_path[span_path]
            model = models[owner]
            entry["position"] = model["position"]
            entry["span_name"] = model["name"]
            # The longest shown path that is the difference's path or one of its ancestors.
            entry["anchor"] = _enclosing(difference.path, rendered[owner]) or span_path
            model["differences"].append(entry)
            if difference.path == model["path"]:
                model["diff_status"] = difference.kind
            else:
                model.setdefault("diff_status", "changed")
        view["differences"].append(entry)


def _enclosing(path: str, candidates: Container[str]) -> str | None:
    """The longest of ``candidates`` that is ``path`` or a JSON-path ancestor of it (a prefix that
    ends where a ``.member`` or ``[index]`` part starts), or None. Linear in the path's parts, so a
    diff of thousands of spans stays fast."""
    if path in candidates:
        return path
    for cut in range(len(path) - 1, 0, -1):
        if path[cut] in ".[" and path[:cut] in candidates:
            return path[:cut]
    return None


def _diff_value_text(value: object) -> str:
    text = json_text(value, separators=(", ", ": "), sort_keys=True)
    if len(text) > _MAX_DIFF_VALUE_CHARS:
        text = text[:_MAX_DIFF_VALUE_CHARS] + f"…[{len(text) - _MAX_DIFF_VALUE_CHARS} more characters]"
    return text


class _Subtree:
    """A value nested too deep for :func:`~llmobs_mapping.jsondiff.diff`'s recursive walk, compared
    as a whole by its canonical text (which keeps the comparison rules: key order ignored, ``1`` is
    not ``1.0``)."""

    __slots__ = ("_text", "value")

    def __init__(self, value: object) -> None:
        self.value = value
        self._text: str | None = None

    def text(self) -> str:
        if self._text is None:
            self._text = json_text(self.value, sort_keys=True)
        return self._text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Subtree) and self.text() == other.text()

    __hash__ = None  # type: ignore[assignment]


def _shallow(value: object, originals: dict[int, object], depth: int = 0) -> object:
    """``value`` with every array or object at depth ``_MAX_DIFF_DEPTH`` wrapped as a
    :class:`_Subtree`; ``originals`` maps the id of each new container to the value it stands for."""
    copied: object
    if isinstance(value, dict | list) and depth >= _MAX_DIFF_DEPTH:
        copied = _Subtree(value)
    elif isinstance(value, dict):
        copied = {key: _shallow(item, originals, depth + 1) for key, item in value.items()}
    elif isinstance(value, list):
        copied = [_shallow(item, originals, depth + 1) for item in value]
    else:
        return value
    originals[id(copied)] = value
    return copied


def _deep_diff(expected: object, actual: object) -> list[Difference]:
    """:func:`~llmobs_mapping.jsondiff.diff`, with subtrees below ``_MAX_DIFF_DEPTH`` levels compared
    whole (one difference at that depth) so that no nesting depth can exhaust the recursion limit.
    The differences hold the documents' own values."""
    originals: dict[int, object] = {}
    shallow_expected = _shallow(expected, originals)
    shallow_actual = _shallow(actual, originals)
    found = diff(shallow_expected, shallow_actual)
    for n, d in enumerate(found):
        before, after = originals.get(id(d.expected), d.expected), originals.get(id(d.actual), d.actual)
        kind = d.kind
        if kind == "changed" and json_kind(before) != json_kind(after):  # two deep subtrees
            kind = "type"
        found[n] = Difference(d.path, kind, before, after)
    return found


# -- HTML ----------------------------------------------------------------------------------------


def _script_json(value: object) -> str:
    """JSON that is safe inside ``<script type="application/json">``: no ``<``, ``>`` or ``&``
    (so ``</script>`` and ``<!--`` cannot occur) and no U+2028/U+2029 line separators. A lone
    surrogate (JSON text may escape one, ``"\\ud800"``) is kept as its escape, so the page can be
    written as UTF-8 and the script still reads the same string."""
    text = json_text(value)
    text = (
        text.replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )
    return _SURROGATE.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


def _asset(name: str) -> str:
    return resources.files("llmobs_mapping").joinpath("view_assets", name).read_text(encoding="utf-8")


def _page(view: Mapping[str, Any], payload: object) -> str:
    title = html.escape(_SURROGATE.sub("\ufffd", f"{view['title']} · LLM Observability trace"), quote=True)
    mode = "diff" if view["diff_mode"] else "trace"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        # No network: block every fetch, inline only (scripts and styles are in this file).
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:\">\n"
        f"<title>{title}</title>\n<style>\n{_asset('view.css')}</style>\n</head>\n"
        f'<body data-mode="{mode}">\n'
        "<noscript><p>This trace view needs JavaScript. The payload is embedded in this file "
        "(the <code>payload</code> script element).</p></noscript>\n"
        '<div id="app"></div>\n'
        f'<script type="application/json" id="view-model">{_script_json(view)}</script>\n'
        f'<script type="application/json" id="payload">{_script_json(payload)}</script>\n'
        f"<script>\n{_asset('view.js')}</script>\n</body>\n</html>\n"
    )


def render_html(payload: object, *, title: str | None = None) -> str:
    """One self-contained HTML page showing ``payload`` (public or EVP format) as a trace.

    Raises :class:`InvalidInput` when ``payload`` is not a span payload.
    """
    return _page(build_view_model(payload, title=title), payload)


def render_diff_html(
    expected: object,
    actual: object,
    *,
    title: str | None = None,
    differences: Sequence[Difference] | None = None,
) -> str:
    """The page for ``actual`` with every difference from ``expected`` marked: changed, added and
    removed fields are highlighted on their span, and listed by JSON path at the top.

    ``differences`` defaults to :func:`llmobs_mapping.jsondiff.diff` (the fixtures' comparison rules;
    values nested deeper than 100 levels are compared whole).
    Raises :class:`InvalidInput` when either document is not a span payload (for ``expected`` the
    message says so).
    """
    try:
        read_payload(expected)
    except InvalidInput as error:
        raise InvalidInput(error.path, f"(expected payload) {error.message}") from None
    found = _deep_diff(expected, actual) if differences is None else list(differences)
    return _page(build_view_model(actual, title=title, differences=found), actual)
