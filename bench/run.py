"""The mapping benchmark (issue 7): ``python bench/run.py`` prints a table and writes bench/results.json.

Every figure is a ratio of two timings measured side by side in the same run: the two callables
alternate in rounds (A, B, A, B, ...), each round runs a calibrated batch, and the figure is the
median of the per-round ratios, so load on a shared machine hits both sides alike. Absolute
medians are recorded as context only.

- floor ratio = (build_payload + dumps) / (json.loads of the exchange file + json.dumps of the
  payload). Target <= 2.0 (stretch < 1.5).
- vs ddtrace = time for ddtrace's own LLM Observability path (``LLMObs.llm`` + ``annotate`` + span
  finish, writer stubbed) to produce the same LLM span / our time for it. Two variants: ``event``
  (ddtrace's event dict vs our ``build_payload``) and ``event+json`` (ddtrace's writer ``enqueue``,
  which serialises the event to size it, vs our ``build_payload`` + ``dumps``). Target >= 10.
- supplementary, no target: vs ddtrace's OpenAI integration = a real ``openai`` client (answered
  in process) making the scenario's call with ddtrace's integration patched in / our time; also
  ddtrace's added cost (patched - unpatched call) and its wrapper alone (bench/ddtrace_openai.py).
- validation ratio = ``validate(payload)`` / ``build_payload``, cached compiled validator. Target <= 1.
- memory: peak RSS (VmHWM) of ``llmobs-mapping map-jsonl`` run as a subprocess over generated
  JSONL files; target <= 150 MB and flat from 10k to 100k lines.

Nothing is sent anywhere: ddtrace is configured by environment variables before it is imported
(tracer, telemetry, remote configuration off, agentless with a dummy key), its LLMObs writer's
enqueue is replaced by a stub, and an audit hook records every socket connect/resolve attempt
(``network_attempts`` in the results; it must stay empty).
"""

from __future__ import annotations

import os

# ddtrace reads its configuration at import time: set it before anything can import ddtrace.
_DD_ENV = {
    "DD_TRACE_ENABLED": "false",
    "DD_INSTRUMENTATION_TELEMETRY_ENABLED": "false",
    "DD_REMOTE_CONFIGURATION_ENABLED": "false",
    "DD_LLMOBS_AGENTLESS_ENABLED": "true",
    "DD_API_KEY": "0" * 32,  # a dummy: the writer is stubbed, nothing is ever sent
    "DD_SITE": "datadoghq.com",
    "DD_LLMOBS_ML_APP": "bench",
    "DD_TRACE_STARTUP_LOGS": "false",
    "DD_CRASHTRACKING_ENABLED": "false",
    "DD_PROFILING_ENABLED": "false",
    "DD_DATA_STREAMS_ENABLED": "false",
    "DD_DYNAMIC_INSTRUMENTATION_ENABLED": "false",
    "DD_APPSEC_ENABLED": "false",
    "_DD_LLMOBS_WRITER_INTERVAL": "3600",
    "_DD_LLMOBS_EVALUATOR_INTERVAL": "3600",
}
os.environ.update(_DD_ENV)

import argparse  # noqa: E402 -- after the environment above, on purpose
import gc  # noqa: E402
import importlib  # noqa: E402
import importlib.metadata  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.append(str(BENCH.parent))  # a plain checkout; PYTHONPATH or an installed copy come first

from ddtrace_openai import OpenAIIntegrationBench, skip_reason  # noqa: E402
from scenarios import REPO, Scenario, exchange_lines, scenarios  # noqa: E402

from llmobs_mapping import Settings, build_payload, dumps  # noqa: E402
from llmobs_mapping.schemas import validate  # noqa: E402
from llmobs_mapping.stream import reassemble  # noqa: E402

TARGETS = {
    "floor_ratio_max": 2.0,
    "floor_ratio_stretch": 1.5,
    "vs_ddtrace_min": 10.0,
    "validation_ratio_max": 1.0,
    "bulk_peak_rss_mb_max": 150.0,
}
_NETWORK_EVENTS = ("socket.connect", "socket.getaddrinfo", "socket.sendto", "socket.sendmsg")
network_attempts: list[str] = []


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event in _NETWORK_EVENTS:
        network_attempts.append(f"{event} {args!r}"[:200])


# -- timing -------------------------------------------------------------------------------------


def _batch_size(func: Callable[[], object], target_ns: int) -> int:
    """How many calls make one batch of about ``target_ns``."""
    count = 1
    while True:
        start = time.perf_counter_ns()
        for _ in range(count):
            func()
        elapsed = time.perf_counter_ns() - start
        if elapsed >= target_ns // 4 or count >= 1 << 20:
            return max(1, round(count * target_ns / max(elapsed, 1)))
        count *= 2


def side_by_side(
    funcs: dict[str, Callable[[], object]],
    *,
    rounds: int,
    target_ns: int,
    before: dict[str, Callable[[], object]] | None = None,
) -> dict[str, list[float]]:
    """Per-call times (µs) of each callable, one sample per round; the callables alternate within
    every round, and the garbage collector is paused while a batch runs. ``before[name]``, when
    given, runs untimed before each batch of ``name`` (and before its calibration)."""
    setup = before or {}
    batches: dict[str, int] = {}
    for name, func in funcs.items():
        setup.get(name, _nothing)()
        batches[name] = _batch_size(func, target_ns)
    samples: dict[str, list[float]] = {name: [] for name in funcs}
    for _ in range(rounds):
        for name, func in funcs.items():
            setup.get(name, _nothing)()
            count = batches[name]
            gc.collect()
            gc.disable()
            try:
                start = time.perf_counter_ns()
                for _ in range(count):
                    func()
                elapsed = time.perf_counter_ns() - start
            finally:
                gc.enable()
            samples[name].append(elapsed / count / 1000)
    return samples


def _nothing() -> None:
    return None


def ratio(samples: dict[str, list[float]], top: str, bottom: str) -> dict[str, float]:
    """Median of the per-round ratios top/bottom, with both medians (µs) as context."""
    per_round = [a / b for a, b in zip(samples[top], samples[bottom], strict=True)]
    return {
        "ratio": round(statistics.median(per_round), 3),
        f"{top}_us": round(statistics.median(samples[top]), 2),
        f"{bottom}_us": round(statistics.median(samples[bottom]), 2),
    }


# -- per-scenario figures -----------------------------------------------------------------------


def _check_pure(scenario: Scenario, settings: Settings) -> int:
    """Map twice from one document: same bytes, document untouched. Returns the payload size."""
    document = scenario.exchange_doc
    before = json.dumps(document, sort_keys=True)
    first = dumps(build_payload(document, settings))
    second = dumps(build_payload(document, settings))
    if first != second or json.dumps(document, sort_keys=True) != before:
        raise SystemExit(f"{scenario.name}: mapping is not deterministic or mutated its input")
    return len(first)


def floor_and_validation(scenario: Scenario, *, rounds: int, target_ns: int) -> dict[str, Any]:
    settings = Settings.from_destination(scenario.settings_doc)
    document = scenario.exchange_doc
    text = scenario.exchange_text
    payload = build_payload(document, settings)
    validate(payload, "public-payload")  # compiles and caches the validator; must pass

    def ours() -> object:
        return dumps(build_payload(document, settings))

    def floor() -> object:
        json.loads(text)
        return json.dumps(payload)

    def mapping() -> object:
        return build_payload(document, settings)

    def validation() -> object:
        validate(payload, "public-payload")
        return None

    samples = side_by_side(
        {"ours": ours, "floor": floor, "mapping": mapping, "validate": validation},
        rounds=rounds,
        target_ns=target_ns,
    )
    return {
        "exchange_bytes": len(text.encode("utf-8")),
        "payload_bytes": _check_pure(scenario, settings),
        "floor": ratio(samples, "ours", "floor"),
        "validation": ratio(samples, "validate", "mapping"),
    }


def stream_breakdown(scenario: Scenario, *, rounds: int, target_ns: int) -> dict[str, Any]:
    """Where a stream's time goes: reassembly vs the json.loads of its chunks alone (which the
    floor, parsing the stream as one JSON string, never pays)."""
    stream_text = scenario.exchange_doc["stream"]
    chunks = [
        line[5:].strip()
        for line in stream_text.splitlines()
        if line.startswith("data:") and line[5:].strip() != "[DONE]"
    ]

    def chunk_loads() -> object:
        return [json.loads(chunk) for chunk in chunks]

    def reassembly() -> object:
        return reassemble(stream_text)

    def file_loads() -> object:
        return json.loads(scenario.exchange_text)

    samples = side_by_side(
        {"reassemble": reassembly, "chunk_loads": chunk_loads, "file_loads": file_loads},
        rounds=rounds,
        target_ns=target_ns,
    )
    return {
        "chunks": len(chunks),
        "stream_bytes": len(stream_text.encode("utf-8")),
        "reassemble_vs_chunk_loads": ratio(samples, "reassemble", "chunk_loads"),
        "chunk_loads_vs_file_loads": ratio(samples, "chunk_loads", "file_loads"),
        "note": "the floor parses the exchange file, where the stream is one JSON string; parsing every "
        "SSE chunk would cost chunk_loads_vs_file_loads x that; reassemble decodes only the text of "
        "chunks that repeat a learnt template (bench/README.md, Streams)",
    }


# -- versus ddtrace -----------------------------------------------------------------------------


class DdtraceBench:
    """ddtrace's LLM Observability SDK with its span writer stubbed: events are kept, not sent."""

    def __init__(self) -> None:
        # bench-only dependency, imported only now: the environment above must be in place first
        LLMObs: Any = importlib.import_module("ddtrace.llmobs").LLMObs
        LLMObs.enable(
            ml_app="bench",
            integrations_enabled=False,
            agentless_enabled=True,
            api_key=_DD_ENV["DD_API_KEY"],
            site=_DD_ENV["DD_SITE"],
        )
        self.llmobs = LLMObs
        self.writer: Any = LLMObs._instance._llmobs_span_writer
        self.received = 0
        self.last_event: dict[str, Any] | None = None
        self.last_size = 0

        # stub 1: the writer's enqueue itself (ddtrace produces the event dict, nothing more)
        def stub_enqueue(event: dict[str, Any]) -> None:
            self.received += 1
            self.last_event = event

        # stub 2: the writer's buffer (ddtrace's enqueue still serialises the event to size it)
        def stub_buffer(event: dict[str, Any], size: int) -> None:
            self.received += 1
            self.last_event, self.last_size = event, size

        self._stub_enqueue = stub_enqueue
        self.writer._enqueue = stub_buffer  # never reaches the real buffer or its HTTP flush

    def use_writer(self, *, with_json: bool) -> None:
        """``event``: the writer's enqueue is the stub; ``event+json``: ddtrace's own enqueue, which
        serialises the event, then the stubbed buffer."""
        if with_json:
            self.writer.__dict__.pop("enqueue", None)  # ddtrace's own enqueue → stub_buffer
        else:
            self.writer.enqueue = self._stub_enqueue

    def span_func(self, span: dict[str, Any], *, with_json: bool) -> Callable[[], object]:
        """A callable producing ddtrace's event for the LLM span ``span`` (one of our EVP spans)."""
        meta = span["meta"]
        tags = dict(tag.split(":", 1) for tag in span["tags"] if tag.startswith(("user_id:", "session_id:")))
        llmobs = self.llmobs
        kwargs: dict[str, Any] = {"metadata": meta["metadata"], "metrics": span["metrics"], "tags": tags}
        if "input" in meta:
            kwargs["input_data"] = meta["input"]["messages"]
        if "output" in meta:
            kwargs["output_data"] = meta["output"]["messages"]

        def run() -> object:
            self.use_writer(with_json=with_json)
            with llmobs.llm(
                model_name=meta.get("model_name"),
                model_provider=meta.get("model_provider"),
                name=span["name"],
                session_id=span.get("session_id"),
                ml_app="production-app",
            ) as dd_span:
                llmobs.annotate(span=dd_span, **kwargs)
            return None

        return run


def _single_llm_span(document: dict[str, Any]) -> dict[str, Any]:
    """The exchange without trace_name/span_name: one LLM span, as LLMObs.llm makes."""
    request = dict(document["request"])
    trace = {k: v for k, v in request.get("trace", {}).items() if k not in ("trace_name", "span_name")}
    request["trace"] = trace
    return {**document, "request": request}


def _our_single_span(
    scenario: Scenario,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Callable[[], object]]]:
    """The scenario's exchange as one LLM span (the EVP span ddtrace is compared with), and our two
    timed callables: ``event`` (``build_payload``) and ``json`` (+ ``dumps``)."""
    settings = Settings.from_destination(scenario.settings_doc)
    document = _single_llm_span(scenario.exchange_doc)
    envelopes = build_payload(document, settings, "evp")
    if len(envelopes) != 1:
        raise SystemExit(f"{scenario.name}: expected one LLM span, got {len(envelopes)}")

    def event() -> object:
        return build_payload(document, settings, "evp")

    def json_() -> object:
        return dumps(build_payload(document, settings, "evp"))

    return document, envelopes[0]["spans"][0], {"event": event, "json": json_}


def versus_ddtrace(dd: DdtraceBench, scenario: Scenario, *, rounds: int, target_ns: int) -> dict[str, Any]:
    _, span, ours = _our_single_span(scenario)
    before = dd.received
    dd.span_func(span, with_json=False)()
    dd.span_func(span, with_json=True)()
    event = dd.last_event or {}
    if dd.received != before + 2 or event.get("meta", {}).get("span", {}).get("kind") != "llm":
        raise SystemExit(f"{scenario.name}: the ddtrace stub did not receive the LLM span event")
    same_io = event["meta"].get("input") == span["meta"].get("input") and event["meta"].get("output") == span[
        "meta"
    ].get("output")

    samples = side_by_side(
        {
            "ddtrace_event": dd.span_func(span, with_json=False),
            "ours_event": ours["event"],
            "ddtrace_json": dd.span_func(span, with_json=True),
            "ours_json": ours["json"],
        },
        rounds=rounds,
        target_ns=target_ns,
    )
    return {
        "event": ratio(samples, "ddtrace_event", "ours_event"),
        "event+json": ratio(samples, "ddtrace_json", "ours_json"),
        "stub_received_event_keys": sorted(event),
        "same_input_output": same_io,
    }


# -- versus ddtrace's OpenAI integration (supplementary, no target) -----------------------------


def _differences(ours: dict[str, Any], theirs: dict[str, Any]) -> dict[str, Any]:
    """How ddtrace's event for the call differs from our span, field group by field group."""
    ours_meta, their_meta = ours["meta"], theirs["meta"]

    def messages(meta: dict[str, Any], side: str) -> list[Any]:
        found: list[Any] = meta.get(side, {}).get("messages", [])
        return found

    def keys(group: str, meta_level: bool) -> dict[str, list[str]]:
        mine = set((ours_meta if meta_level else ours).get(group, {}))
        other = set((their_meta if meta_level else theirs).get(group, {}))
        return {"only_ours": sorted(mine - other), "only_ddtrace": sorted(other - mine)}

    ours_in, their_in = messages(ours_meta, "input"), messages(their_meta, "input")
    return {
        "same_input": ours_in == their_in,
        "same_output": messages(ours_meta, "output") == messages(their_meta, "output"),
        "input_messages_differing": sum(a != b for a, b in zip(ours_in, their_in, strict=False))
        + abs(len(ours_in) - len(their_in)),
        "same_tool_definitions": ours_meta.get("tool_definitions") == their_meta.get("tool_definitions"),
        "metadata": keys("metadata", True),
        "metrics": keys("metrics", False),
        "model_provider": {
            "ours": ours_meta.get("model_provider"),
            "ddtrace": their_meta.get("model_provider"),
        },
        "name": {"ours": ours.get("name"), "ddtrace": theirs.get("name")},
        "session_id": {"ours": ours.get("session_id"), "ddtrace": theirs.get("session_id")},
    }


def _event_content(event: dict[str, Any]) -> dict[str, Any]:
    """An event without what differs from call to call (ids, clock)."""
    return {"meta": event.get("meta"), "metrics": event.get("metrics"), "name": event.get("name")}


def versus_openai_integration(
    dd: DdtraceBench, oa: OpenAIIntegrationBench, scenario: Scenario, *, rounds: int, target_ns: int
) -> dict[str, Any]:
    """ddtrace's OpenAI integration making its LLM span event for the scenario's call (a real
    ``openai`` client, answered in process), against our mapping of the same exchange."""
    reason = skip_reason(scenario.exchange_doc, scenario.settings_doc)
    if reason is not None:
        return {"skipped": reason}
    document, span, ours = _our_single_span(scenario)
    call = oa.chat_call(document["request"], document["response"])

    def with_writer(func: Callable[[], object], *, with_json: bool) -> Callable[[], object]:
        def run() -> object:
            dd.use_writer(with_json=with_json)
            return func()

        return run

    # The unpatched call makes no event and gives the SDK's parsed response; each patched call and
    # each run of ddtrace's wrapper alone delivers one LLM span event to the stub, the same event.
    requests, received = oa.requests, dd.received
    oa.unpatch()
    sdk_result = call()
    alone = oa.integration_only(document["request"], sdk_result)
    oa.patch()
    events: list[dict[str, Any]] = []
    for func in (call, alone):
        for with_json in (False, True):
            with_writer(func, with_json=with_json)()
            events.append(dd.last_event or {})
    oa.unpatch()
    event = events[0]
    same_event = all(_event_content(other) == _event_content(event) for other in events)
    if (
        dd.received != received + 4
        or oa.requests != requests + 3
        or any(e.get("meta", {}).get("span", {}).get("kind") != "llm" for e in events)
        or not same_event
    ):
        raise SystemExit(
            f"{scenario.name}: the ddtrace stub did not receive one LLM span event per patched call"
        )

    samples = side_by_side(
        {
            "patched_event": with_writer(call, with_json=False),
            "unpatched": call,
            "wrapper_event": with_writer(alone, with_json=False),
            "ours_event": ours["event"],
            "patched_json": with_writer(call, with_json=True),
            "wrapper_json": with_writer(alone, with_json=True),
            "ours_json": ours["json"],
        },
        rounds=rounds,
        target_ns=target_ns,
        before={
            "patched_event": oa.patch,
            "unpatched": oa.unpatch,
            "wrapper_event": oa.patch,
            "patched_json": oa.patch,
            "wrapper_json": oa.patch,
        },
    )
    oa.unpatch()
    # ddtrace's added cost: the patched batch minus the unpatched batch of the same round
    for variant in ("event", "json"):
        samples[f"added_{variant}"] = [
            patched - plain
            for patched, plain in zip(samples[f"patched_{variant}"], samples["unpatched"], strict=True)
        ]
    differences = _differences(span, event)
    return {
        "call_event": ratio(samples, "patched_event", "ours_event"),
        "call_event+json": ratio(samples, "patched_json", "ours_json"),
        "added_event": ratio(samples, "added_event", "ours_event"),
        "added_event+json": ratio(samples, "added_json", "ours_json"),
        "wrapper_event": ratio(samples, "wrapper_event", "ours_event"),
        "wrapper_event+json": ratio(samples, "wrapper_json", "ours_json"),
        "unpatched_call_us": round(statistics.median(samples["unpatched"]), 2),
        "stub_received_event_keys": sorted(event),
        "same_input_output": differences["same_input"] and differences["same_output"],
        "differences": differences,
    }


# -- bulk memory --------------------------------------------------------------------------------


# ru_maxrss of a child is useless here: Linux carries the parent's high-water mark across fork and
# exec, so every child would report at least the benchmark's own size. VmHWM of /proc/self/status
# belongs to the exec'd process alone; this wrapper writes it at exit, then runs the real command.
_PEAK_WRAPPER = """
import atexit, sys
peak_file = sys.argv.pop(1)

def report():
    with open("/proc/self/status") as status:
        kib = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(peak_file, "w") as out:
        out.write(kib)

atexit.register(report)
from llmobs_mapping.cli import main
raise SystemExit(main(sys.argv[1:]))
"""


def bulk_run(workdir: Path, lines: int, settings_path: Path, workers: int = 1) -> dict[str, Any]:
    """Generate ``lines`` exchanges, run ``map-jsonl`` on them in a subprocess, read its peak RSS."""
    source = workdir / f"exchanges-{lines}.jsonl"
    target = workdir / f"payloads-{lines}.jsonl"
    peak_file = workdir / "peak-kib.txt"
    with source.open("w", encoding="utf-8") as handle:
        for line in exchange_lines(lines):
            handle.write(line)
            handle.write("\n")
    command = [sys.executable, "-c", _PEAK_WRAPPER, str(peak_file), "map-jsonl", str(source)]
    command += ["--settings", str(settings_path), "--out", str(target), "--workers", str(workers)]
    started = time.perf_counter()
    with (workdir / "stderr.txt").open("wb") as errors:
        process = subprocess.run(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=errors, check=False)
    seconds = time.perf_counter() - started
    stderr = (workdir / "stderr.txt").read_text(encoding="utf-8").strip().splitlines()
    summary = json.loads(stderr[-1])["summary"] if stderr else {}
    with target.open("rb") as handle:
        written = sum(1 for _ in handle)
    peak = int(peak_file.read_text()) / 1024 if peak_file.exists() else None
    result = {
        "lines": lines,
        "workers": workers,
        "input_mb": round(source.stat().st_size / 1e6, 1),
        "exit_code": process.returncode,
        "payload_lines": written,
        "summary": summary,
        "peak_rss_mb": None if peak is None else round(peak, 1),  # VmHWM of the command's process
        "seconds": round(seconds, 2),
        "lines_per_second": round(lines / seconds),
    }
    for path in (source, target, peak_file):
        path.unlink(missing_ok=True)
    return result


# -- report -------------------------------------------------------------------------------------


def _mark(ok: bool) -> str:
    return "ok" if ok else "MISS"


def print_table(results: dict[str, Any]) -> None:
    head = f"{'scenario':<18} {'exch KB':>8} {'ours µs':>9} {'floor µs':>9} {'floorx':>7} "
    head += f"{'validx':>7} {'ddx ev':>7} {'ddx json':>8}"
    print(head)
    print("-" * len(head))
    for name, row in results["scenarios"].items():
        floor, valid = row["floor"], row["validation"]
        dd = row.get("vs_ddtrace")
        ev = f"{dd['event']['ratio']:>7.1f}" if dd else f"{'n/a':>7}"
        js = f"{dd['event+json']['ratio']:>8.1f}" if dd else f"{'n/a':>8}"
        print(
            f"{name:<18} {row['exchange_bytes'] / 1000:>8.1f} {floor['ours_us']:>9.1f} "
            f"{floor['floor_us']:>9.1f} {floor['ratio']:>7.2f} {valid['ratio']:>7.2f} {ev} {js}"
        )
        if "stream" in row:
            stream = row["stream"]
            print(
                f"{'':<18} stream: {stream['chunks']} chunks; reassemble = "
                f"{stream['reassemble_vs_chunk_loads']['ratio']:.2f}x the chunks' json.loads, which alone "
                f"= {stream['chunk_loads_vs_file_loads']['ratio']:.2f}x json.loads of the whole file"
            )
    for run in results["bulk"]:
        print(
            f"bulk {run['lines']:>7,} lines: peak RSS {run['peak_rss_mb']} MB, "
            f"{run['lines_per_second']:,} lines/s, exit {run['exit_code']}, {run['summary']}"
        )
    print_openai_block(results)
    verdict = results["verdict"]
    print("targets: " + ", ".join(f"{k} {_mark(v)}" for k, v in verdict.items()))
    print(f"network attempts: {len(results['network_attempts'])}")


def print_openai_block(results: dict[str, Any]) -> None:
    """The supplementary figure, under its own heading: no target, not in the verdict."""
    rows = {
        name: row["vs_ddtrace_openai"]
        for name, row in results["scenarios"].items()
        if "vs_ddtrace_openai" in row
    }
    if not rows:
        return
    print(f"vs ddtrace's OpenAI integration ({results['ddtrace_openai']}; supplementary, no target):")
    head = f"  {'scenario':<18} {'call ev':>8} {'call json':>9} {'added ev':>8} {'added json':>10} "
    head += f"{'wrap ev':>7} {'wrap json':>9} {'call µs':>8} {'plain µs':>8}  same in/out"
    print(head)
    for name, fig in rows.items():
        if "skipped" in fig:
            print(f"  {name:<18} skipped: {fig['skipped'].split(':')[0]}")
            continue
        cells = [
            f"{fig[key]['ratio']:>{width}.1f}"
            for key, width in (
                ("call_event", 8),
                ("call_event+json", 9),
                ("added_event", 8),
                ("added_event+json", 10),
                ("wrapper_event", 7),
                ("wrapper_event+json", 9),
            )
        ]
        same = fig["differences"]
        print(
            f"  {name:<18} {' '.join(cells)} {fig['call_event']['patched_event_us']:>8.0f} "
            f"{fig['unpatched_call_us']:>8.0f}  {same['same_input']}/{same['same_output']}"
        )
    print(
        "  call = whole patched openai call / ours; added = (patched - unpatched call) / ours;\n"
        "  wrap = ddtrace's wrapper alone around the SDK's ready result / ours (bench/README.md)"
    )


def verdict_of(results: dict[str, Any]) -> dict[str, bool]:
    rows = results["scenarios"].values()
    out = {
        "floor_ratio<=2.0": all(r["floor"]["ratio"] <= TARGETS["floor_ratio_max"] for r in rows),
        "validation<=1.0": all(r["validation"]["ratio"] <= TARGETS["validation_ratio_max"] for r in rows),
    }
    dd_rows = [r["vs_ddtrace"] for r in rows if "vs_ddtrace" in r]
    if dd_rows:
        out["vs_ddtrace>=10"] = all(
            min(r["event"]["ratio"], r["event+json"]["ratio"]) >= TARGETS["vs_ddtrace_min"] for r in dd_rows
        )
    if results["bulk"]:
        out["bulk_rss<=150MB"] = all(
            b["peak_rss_mb"] is not None and b["peak_rss_mb"] <= TARGETS["bulk_peak_rss_mb_max"]
            for b in results["bulk"]
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=31, help="interleaved rounds per figure")
    parser.add_argument("--batch-ms", type=float, default=20.0, help="target duration of one batch")
    parser.add_argument("--bulk-sizes", default="10000,100000", help="comma-separated line counts; '' = none")
    parser.add_argument("--scenarios", default="", help="comma-separated scenario names (default all)")
    parser.add_argument("--no-ddtrace", action="store_true", help="skip the ddtrace comparison")
    parser.add_argument("--out", type=Path, default=BENCH / "results.json")
    args = parser.parse_args(argv)
    sys.addaudithook(_audit)

    target_ns = int(args.batch_ms * 1e6)
    chosen = {s for s in args.scenarios.split(",") if s}
    dd: DdtraceBench | None = None
    dd_status = "skipped (--no-ddtrace)"
    if not args.no_ddtrace:
        try:
            dd = DdtraceBench()
            dd_status = f"ddtrace {importlib.metadata.version('ddtrace')}"
        except ImportError:
            dd_status = "skipped (ddtrace not installed: pip install -e '.[bench]')"
    oa: OpenAIIntegrationBench | None = None
    oa_status = dd_status if dd is None else ""
    if dd is not None:
        try:
            oa = OpenAIIntegrationBench()
            oa_status = (
                f"ddtrace {importlib.metadata.version('ddtrace')}, openai "
                f"{importlib.metadata.version('openai')}, {oa.http_library}"
            )
        except ImportError:
            oa_status = "skipped (openai not installed: pip install -e '.[bench]')"

    results: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "implementation": platform.python_implementation(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "method": {
            "rounds": args.rounds,
            "batch_ms": args.batch_ms,
            "statistic": "median of per-round ratios",
        },
        "targets": TARGETS,
        "ddtrace": dd_status,
        "ddtrace_openai": oa_status,
        "scenarios": {},
        "bulk": [],
    }
    for scenario in scenarios():
        if chosen and scenario.name not in chosen:
            continue
        print(f"… {scenario.name}", file=sys.stderr)
        row: dict[str, Any] = {"description": scenario.description}
        row.update(floor_and_validation(scenario, rounds=args.rounds, target_ns=target_ns))
        if "stream" in scenario.exchange_doc:
            row["stream"] = stream_breakdown(scenario, rounds=args.rounds, target_ns=target_ns)
        if dd is not None:
            row["vs_ddtrace"] = versus_ddtrace(dd, scenario, rounds=args.rounds, target_ns=target_ns)
        if dd is not None and oa is not None:
            row["vs_ddtrace_openai"] = versus_openai_integration(
                dd, oa, scenario, rounds=args.rounds, target_ns=target_ns
            )
        results["scenarios"][scenario.name] = row

    sizes = [int(size) for size in args.bulk_sizes.split(",") if size.strip()]
    if sizes:
        with tempfile.TemporaryDirectory(prefix="llmobs-bench-") as tmp:
            workdir = Path(tmp)
            settings_path = REPO / "examples" / "seed-settings.json"
            for size in sizes:
                print(f"… bulk {size} lines", file=sys.stderr)
                results["bulk"].append(bulk_run(workdir, size, settings_path))
    peaks = [run["peak_rss_mb"] for run in results["bulk"]]
    if len(peaks) >= 2 and None not in peaks:
        results["bulk_rss_growth"] = round(peaks[-1] / peaks[0], 3)

    results["network_attempts"] = list(network_attempts)
    results["verdict"] = verdict_of(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print_table(results)
    print(f"wrote {args.out}")
    return 0 if not network_attempts else 1


if __name__ == "__main__":
    raise SystemExit(main())
