"""A tiny run of bench/run.py so the benchmark cannot rot: structure only, no timing assertions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def test_bench_runs_and_writes_results(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    process = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "run.py"),
            "--rounds",
            "2",
            "--batch-ms",
            "0.2",
            "--bulk-sizes",
            "30,60",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert process.returncode == 0, process.stderr
    results = json.loads(out.read_text(encoding="utf-8"))
    assert set(results) >= {
        "machine",
        "method",
        "targets",
        "ddtrace",
        "ddtrace_openai",
        "scenarios",
        "bulk",
        "verdict",
    }
    assert results["network_attempts"] == []
    assert {"seed", "conversation-20", "stream-200k", "privacy"} <= set(results["scenarios"])
    for name, row in results["scenarios"].items():
        assert row["floor"]["ratio"] > 0, name
        assert row["validation"]["ratio"] > 0, name
        assert row["exchange_bytes"] > 0, name
        assert row["payload_bytes"] > 0, name
        if results["ddtrace"].startswith("ddtrace "):
            assert row["vs_ddtrace"]["event"]["ratio"] > 0, name
            assert row["vs_ddtrace"]["event+json"]["ratio"] > 0, name
        if results["ddtrace_openai"].startswith("ddtrace "):
            _check_openai_figure(name, row)
        else:
            assert "vs_ddtrace_openai" not in row, name
    stream = results["scenarios"]["stream-200k"]
    assert stream["exchange_bytes"] > 200_000
    assert stream["stream"]["chunks"] > 500
    assert [run["lines"] for run in results["bulk"]] == [30, 60]
    for run in results["bulk"]:
        assert run["exit_code"] == 0
        assert run["payload_lines"] == run["lines"] == run["summary"]["mapped"]
        assert run["peak_rss_mb"] > 0
    table = process.stdout.splitlines()
    for name in results["scenarios"]:
        assert any(line.startswith(name) for line in table), name
    # the supplementary figure is reported beside the targets, never in the verdict
    assert not any("openai" in key for key in results["verdict"])
    if results["ddtrace_openai"].startswith("ddtrace "):
        assert any(line.startswith("vs ddtrace's OpenAI integration") for line in table)


def _check_openai_figure(name: str, row: dict[str, Any]) -> None:
    figure = row["vs_ddtrace_openai"]
    if name in ("stream-200k", "privacy"):
        assert set(figure) == {"skipped"}, name
        return
    for key in (
        "call_event",
        "call_event+json",
        "added_event",
        "added_event+json",
        "wrapper_event",
        "wrapper_event+json",
    ):
        assert "ratio" in figure[key], (name, key)
    for key in ("call_event", "call_event+json", "wrapper_event", "wrapper_event+json"):
        assert figure[key]["ratio"] > 0, (name, key)
    assert figure["unpatched_call_us"] > 0, name
    assert {"meta", "metrics", "tags"} <= set(figure["stub_received_event_keys"]), name
    assert isinstance(figure["same_input_output"], bool), name
    differences = figure["differences"]
    assert {"same_input", "same_output", "metadata", "metrics", "model_provider"} <= set(differences)
