"""Bulk mapping (llmobs_mapping.bulk) and the ``map-jsonl`` command (llmobs_mapping.cli_bulk)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from llmobs_mapping import Settings, build_payload, dumps
from llmobs_mapping.bulk import LineResult, Summary, map_line, map_lines, map_lines_parallel
from llmobs_mapping.cli import main

ROOT = Path(__file__).resolve().parent.parent
SEED = json.loads((ROOT / "examples" / "seed-exchange.json").read_text(encoding="utf-8"))
SEED_SETTINGS = ROOT / "examples" / "seed-settings.json"
SETTINGS = Settings.from_destination(json.loads(SEED_SETTINGS.read_text(encoding="utf-8")))


def seed_with_id(generation_id: str) -> dict[str, Any]:
    return {**SEED, "response": {**SEED["response"], "id": generation_id}}


def line_of(doc: Any) -> bytes:
    return json.dumps(doc).encode("utf-8")


def expected_payload(doc: Any, fmt: str = "public") -> bytes:
    return dumps(build_payload(doc, SETTINGS, fmt))  # type: ignore[arg-type]


# -- map_line -----------------------------------------------------------------------------------


def test_map_line_maps_a_seed_line_to_the_compact_payload() -> None:
    result = map_line(line_of(SEED), 7, SETTINGS)
    assert result == LineResult(7, "mapped", payload=expected_payload(SEED))


def test_map_line_uses_the_requested_format() -> None:
    result = map_line(line_of(SEED), 1, SETTINGS, "evp")
    assert result.payload == expected_payload(SEED, "evp")
    assert json.loads(result.payload or b"")[0]["event_type"] == "span"


def test_map_line_reports_invalid_json_at_the_root() -> None:
    result = map_line(b'{"request": ', 3, SETTINGS)
    assert result.outcome == "failed"
    assert result.reason == "InvalidInput"
    assert result.error == {
        "error": "InvalidInput",
        "path": "$",
        "message": "line is not a JSON document (Expecting value: line 1 column 13 (char 12))",
    }


def test_map_line_refuses_numbers_a_payload_could_not_hold() -> None:
    line = line_of(SEED).replace(b'"support"', b"NaN", 1)
    result = map_line(line, 4, SETTINGS)
    assert result.outcome == "failed"
    assert result.error == {
        "error": "InvalidInput",
        "path": "$",
        "message": "line is not a JSON document (NaN is not JSON)",
    }


def test_map_line_reports_invalid_utf8_as_invalid_input() -> None:
    result = map_line(b'{"a": "\xff"}', 1, SETTINGS)
    assert result.outcome == "failed"
    assert result.error is not None
    assert result.error["error"] == "InvalidInput"
    assert result.error["path"] == "$"


def test_map_line_reports_a_bad_exchange_with_its_json_path() -> None:
    bad = {**SEED, "timing": {"start": "2026-09-05T12:54:35Z", "end": "2026-09-05T12:54:30Z"}}
    result = map_line(line_of(bad), 9, SETTINGS)
    assert result == LineResult(
        9,
        "failed",
        reason="InvalidInput",
        error={"error": "InvalidInput", "path": "$.timing.end", "message": "is before timing.start"},
    )


def test_map_line_skips_what_decide_rejects() -> None:
    no_id = {**SEED, "response": {k: v for k, v in SEED["response"].items() if k != "id"}}
    assert map_line(line_of(no_id), 2, SETTINGS) == LineResult(2, "skipped", reason="not_traceable")
    disabled = Settings.from_destination({**json.loads(SEED_SETTINGS.read_text()), "enabled": False})
    assert map_line(line_of(SEED), 4, disabled) == LineResult(4, "skipped", reason="disabled")


@pytest.mark.parametrize("raw", [b"", b"   \n", "\t\r\n"])
def test_map_line_ignores_blank_lines(raw: bytes | str) -> None:
    assert map_line(raw, 5, SETTINGS) == LineResult(5, "blank")


def test_map_line_accepts_text_and_crlf_lines() -> None:
    assert map_line(json.dumps(SEED) + "\r\n", 1, SETTINGS).payload == expected_payload(SEED)


# -- map_lines / parallel -----------------------------------------------------------------------


def mixed_lines(count: int) -> list[bytes]:
    lines = []
    for number in range(1, count + 1):
        if number % 10 == 3:
            lines.append(b"{not json")
        elif number % 10 == 6:
            lines.append(b"")
        else:
            lines.append(line_of(seed_with_id(f"gen-{number:06d}")))
    return lines


def test_map_lines_numbers_every_line_and_keeps_order() -> None:
    results = list(map_lines(mixed_lines(20), SETTINGS))
    assert [r.line for r in results] == list(range(1, 21))
    assert [r.outcome for r in results][:7] == [
        "mapped",
        "mapped",
        "failed",
        "mapped",
        "mapped",
        "blank",
        "mapped",
    ]
    assert results[0].payload == expected_payload(seed_with_id("gen-000001"))


def test_parallel_results_equal_sequential_results_in_order() -> None:
    lines = mixed_lines(53)
    sequential = list(map_lines(lines, SETTINGS, "evp"))
    parallel = list(map_lines_parallel(lines, SETTINGS, "evp", workers=2, batch_lines=4))
    assert parallel == sequential


def test_parallel_rejects_zero_workers() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        list(map_lines_parallel([], SETTINGS, workers=0))


def test_summary_counts_by_outcome_and_reason() -> None:
    summary = Summary()
    for result in (
        LineResult(1, "mapped", payload=b"{}"),
        LineResult(2, "skipped", reason="sampled_out"),
        LineResult(3, "skipped", reason="sampled_out"),
        LineResult(
            4, "failed", reason="InvalidInput", error={"error": "InvalidInput", "path": "$", "message": "x"}
        ),
        LineResult(5, "blank"),
    ):
        summary.add(result)
    assert summary.to_dict() == {
        "lines": 5,
        "mapped": 1,
        "skipped": {"sampled_out": 2},
        "failed": {"InvalidInput": 1},
        "blank": 1,
    }
    assert summary.failures == 1


# -- the command --------------------------------------------------------------------------------


def write_lines(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_cli_writes_one_payload_per_mapped_line_and_reports_bad_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_lines(tmp_path / "in.jsonl", mixed_lines(12))
    out = tmp_path / "out.jsonl"
    code = main(["map-jsonl", str(source), "--settings", str(SEED_SETTINGS), "--out", str(out)])
    assert code == 1  # some lines failed
    expected = [expected_payload(seed_with_id(f"gen-{n:06d}")) for n in range(1, 13) if n % 10 not in (3, 6)]
    assert out.read_bytes() == b"".join(p + b"\n" for p in expected)
    captured = capsys.readouterr()
    assert captured.out == ""
    report = [json.loads(line) for line in captured.err.splitlines()]
    detail = "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"
    assert report == [
        {
            "line": 3,
            "error": "InvalidInput",
            "path": "$",
            "message": f"line is not a JSON document ({detail})",
        },
        {"summary": {"lines": 12, "mapped": 10, "skipped": {}, "failed": {"InvalidInput": 1}, "blank": 1}},
    ]


def test_cli_writes_to_stdout_and_exits_0_when_nothing_failed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [line_of(seed_with_id(f"gen-{n}")) for n in range(3)]
    source = write_lines(tmp_path / "in.jsonl", lines)
    code = main(["map-jsonl", str(source), "--settings", str(SEED_SETTINGS), "--format", "evp"])
    assert code == 0
    captured = capsys.readouterr()
    assert captured.out.encode("utf-8") == b"".join(
        expected_payload(seed_with_id(f"gen-{n}"), "evp") + b"\n" for n in range(3)
    )
    assert json.loads(captured.err) == {
        "summary": {"lines": 3, "mapped": 3, "skipped": {}, "failed": {}, "blank": 0}
    }


def test_cli_workers_keep_the_output_identical(tmp_path: Path) -> None:
    source = write_lines(tmp_path / "in.jsonl", mixed_lines(700))
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    base = ["map-jsonl", str(source), "--settings", str(SEED_SETTINGS)]
    assert main([*base, "--out", str(one)]) == 1
    assert main([*base, "--out", str(two), "--workers", "2"]) == 1
    assert two.read_bytes() == one.read_bytes()
    assert one.read_bytes().count(b"\n") == 560


def test_cli_bad_settings_exit_2_without_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = write_lines(tmp_path / "in.jsonl", [line_of(SEED)])
    settings = tmp_path / "settings.json"
    settings.write_text(
        json.dumps({"type": "datadog", "config": {"mlApp": "", "url": "https://api.datadoghq.com"}})
    )
    out = tmp_path / "out.jsonl"
    code = main(["map-jsonl", str(source), "--settings", str(settings), "--out", str(out)])
    assert code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert json.loads(captured.err)["error"] == "InvalidSettings"
    assert not out.exists()


def test_cli_missing_input_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["map-jsonl", str(tmp_path / "nope.jsonl"), "--settings", str(SEED_SETTINGS)])
    assert code == 2
    error = json.loads(capsys.readouterr().err)
    assert error["error"] == "InvalidInput"
    assert error["path"] == "$"
    assert "nope.jsonl" in error["message"]


def test_cli_zero_workers_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = write_lines(tmp_path / "in.jsonl", [line_of(SEED)])
    assert main(["map-jsonl", str(source), "--settings", str(SEED_SETTINGS), "--workers", "0"]) == 2
    assert json.loads(capsys.readouterr().err) == {
        "error": "InvalidInput",
        "path": "$",
        "message": "--workers must be from 1 to 64, not 0",
    }


def test_cli_reads_stdin_in_a_real_process(tmp_path: Path) -> None:
    lines = b"\n".join([line_of(SEED), b"[]"]) + b"\n"
    process = subprocess.run(
        [sys.executable, "-m", "llmobs_mapping", "map-jsonl", "-", "--settings", str(SEED_SETTINGS)],
        input=lines,
        capture_output=True,
        cwd=ROOT,
        check=False,
    )
    assert process.returncode == 1
    assert process.stdout == expected_payload(SEED) + b"\n"
    report = [json.loads(line) for line in process.stderr.decode().splitlines()]
    assert report[0] == {
        "line": 2,
        "error": "InvalidInput",
        "path": "$",
        "message": "must be an object, not array",
    }
    assert report[1]["summary"]["mapped"] == 1
