"""A tiny run of bench/run.py so the benchmark cannot rot: structure only, no timing assertions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
    assert set(results) >= {"machine", "method", "targets", "ddtrace", "scenarios", "bulk", "verdict"}
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
