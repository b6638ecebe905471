"""The conformance suite: case loading, the Python API, the process runner and its CLI."""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import shlex
import shutil
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli_to_full_disk

from llmobs_mapping.bounded_process import run_bounded
from llmobs_mapping.cli_bulk import MAX_WORKERS
from llmobs_mapping.cli_conformance import format_outcome, main
from llmobs_mapping.conformance import (
    ENV_FIXTURES,
    MAX_STDERR_BYTES,
    MAX_STDOUT_BYTES,
    Case,
    ExpectedError,
    MalformedCase,
    Outcome,
    SuiteNotFound,
    case_document,
    compare,
    default_root,
    iter_cases,
    run_command,
    run_suite,
)
from llmobs_mapping.errors import InvalidInput, InvalidSettings
from llmobs_mapping.jsondiff import Difference

REPO = Path(__file__).resolve().parent.parent

# -- a hand-written fixture tree ----------------------------------------------------------------

SETTINGS = {"type": "datadog", "config": {"apiKey": "dd-test-key", "mlApp": "demo"}}
EXCHANGE = {
    "request": {"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "Hi"}]},
    "response": {"id": "gen-1", "model": "openai/gpt-4o", "choices": []},
    "timing": {"start": 1_700_000_000_000_000_000, "end": 1_700_000_001_500_000_000},
}
SPAN = {
    "name": "openai/gpt-4o",
    "span_id": "1",
    "trace_id": "gen-1",
    "parent_id": "undefined",
    "start_ns": 1_700_000_000_000_000_000,
    "duration": 1_500_000_000,
    "status": "ok",
    "meta": {"kind": "llm", "model_name": "gpt-4o", "model_provider": "openai"},
    "metrics": {"input_tokens": 3},
}
PUBLIC_PAYLOAD = {
    "data": {"type": "span", "attributes": {"ml_app": "demo", "tags": ["service:demo"], "spans": [SPAN]}}
}
EVP_SPAN = {**SPAN, "meta": {"span": {"kind": "llm"}}, "tags": ["ml_app:demo", "service:demo"]}
EVP_PAYLOAD = [{"_dd.stage": "raw", "_dd.tracer_version": "0.1.0", "event_type": "span", "spans": [EVP_SPAN]}]
BAD_TIMING = {**EXCHANGE, "timing": {"start": 2, "end": 1}}

# An implementation under test, in one script: argv = FIXTURE_ROOT MODE. It finds the case whose
# document it was given (exchange, settings and format all equal) and answers per MODE.
IMPL = r"""
import json, pathlib, subprocess, sys, time

root, mode = pathlib.Path(sys.argv[1]), sys.argv[2]
doc = json.loads(sys.stdin.buffer.read().decode("utf-8"))
if mode.startswith("daemon-"):  # double fork: a grandchild in its own session keeps stdout and stderr
    import os
    pidfile = root.parent / "grandchild.pid"
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            (root.parent / "grandchild.tmp").write_text(str(os.getpid()))
            os.rename(root.parent / "grandchild.tmp", pidfile)
            time.sleep(1000)
        os._exit(0)
    os.wait()
    while not pidfile.exists():
        time.sleep(0.01)
    print("started", file=sys.stderr, flush=True)
    if mode == "daemon-sleep":
        time.sleep(60)
if mode == "crash":
    raise RuntimeError("boom")
if mode == "sleep":
    time.sleep(60)
if mode == "sleep-child":  # the grandchild keeps stdout open: the runner must kill the group
    subprocess.run([sys.executable, "-c", "import time; time.sleep(60)"])
if mode == "not-json":
    print("hello")
    sys.exit(0)
if mode == "nan":  # Python's json writes NaN, which is not JSON
    print(json.dumps({"data": float("nan")}))
    sys.exit(0)
if mode == "bare-exit-2":
    print("something went wrong", file=sys.stderr)
    sys.exit(2)
for folder in sorted(root.glob("*/*")):
    def load(name):
        return json.loads((folder / name).read_text(encoding="utf-8"))
    case = load("case.json")
    if [load("exchange.json"), load("settings.json"), case["format"]] == [
        doc["exchange"], doc["settings"], doc["format"]
    ]:
        break
else:
    sys.exit("no such case")
if (folder / "error.json").exists():
    error = load("error.json")
    if mode == "wrong-path":
        error["path"] = "$.timing.start"
    print("warning: a line before the error line", file=sys.stderr)
    print(json.dumps({**error, "message": "end is before start"}), file=sys.stderr)
    sys.exit(2)
payload = load("expected.json")
if mode == "mutate":
    if case["format"] == "public":
        payload["data"]["attributes"]["spans"][0]["meta"]["kind"] = "workflow"
    else:
        payload[0]["spans"][0]["duration"] = float(payload[0]["spans"][0]["duration"])
sys.stdout.write(json.dumps(payload, ensure_ascii=False))
"""


def write_json(path: Path, value: Any) -> None:
    """Write a fixture file in the suite's canonical pretty form."""
    path.write_text(json.dumps(value, sort_keys=True, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def write_case(
    root: Path,
    case_id: str,
    *,
    case_format: str,
    exchange: Any,
    expected: Any = None,
    error: dict[str, str] | None = None,
) -> Path:
    """Create one case folder under ``root``."""
    folder = root / case_id
    folder.mkdir(parents=True)
    meta = {"description": f"{case_id} in {case_format}", "spec": ["contract §7"], "format": case_format}
    write_json(folder / "case.json", meta)
    write_json(folder / "exchange.json", exchange)
    write_json(folder / "settings.json", SETTINGS)
    if error is not None:
        write_json(folder / "error.json", error)
    else:
        write_json(folder / "expected.json", expected)
    return folder


@pytest.fixture
def fixtures(tmp_path: Path) -> Path:
    """Three cases: a public payload, an EVP payload and an error."""
    root = tmp_path / "fixtures"
    write_case(root, "core/basic-text", case_format="public", exchange=EXCHANGE, expected=PUBLIC_PAYLOAD)
    write_case(root, "core/evp-basic", case_format="evp", exchange=EXCHANGE, expected=EVP_PAYLOAD)
    write_case(
        root,
        "errors/end-before-start",
        case_format="public",
        exchange=BAD_TIMING,
        error={"error": "InvalidInput", "path": "$.timing.end"},
    )
    return root


@pytest.fixture
def impl(tmp_path: Path, fixtures: Path) -> Any:
    """``impl(mode)`` → the shell command line running the scripted implementation in that mode."""
    script = tmp_path / "impl.py"
    script.write_text(IMPL, encoding="utf-8")

    def command(mode: str) -> str:
        return shlex.join([sys.executable, str(script), str(fixtures), mode])

    return command


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run the subcommands in-process; returns (exit code, stdout, stderr)."""
    exit_code = main(list(argv))
    captured = capsys.readouterr()
    return exit_code, captured.out, captured.err


# -- loading cases ------------------------------------------------------------------------------


def test_iter_cases_loads_every_case_in_id_order(fixtures: Path) -> None:
    """Each folder becomes a Case with its parsed files; ids are ``group/name``, sorted."""
    cases = iter_cases(fixtures)
    assert [c.id for c in cases] == ["core/basic-text", "core/evp-basic", "errors/end-before-start"]
    basic, evp, error = cases
    assert (
        Case(
            id="core/basic-text",
            path=fixtures / "core" / "basic-text",
            description="core/basic-text in public",
            spec=("contract §7",),
            format="public",
            exchange=EXCHANGE,
            settings=SETTINGS,
            expected=PUBLIC_PAYLOAD,
            error=None,
        )
        == basic
    )
    assert (evp.format, evp.expected, evp.error) == ("evp", EVP_PAYLOAD, None)
    assert (None, ExpectedError("InvalidInput", "$.timing.end")) == (error.expected, error.error)


def test_iter_cases_pattern_globs_case_ids(fixtures: Path) -> None:
    """``pattern`` is a glob over case ids."""
    assert [c.id for c in iter_cases(fixtures, "errors/*")] == ["errors/end-before-start"]
    assert [c.id for c in iter_cases(str(fixtures), "*/evp-*")] == ["core/evp-basic"]


def test_no_case_fails_loudly(tmp_path: Path, fixtures: Path) -> None:
    """An empty tree, a missing root or a pattern that matches nothing raises SuiteNotFound."""
    (tmp_path / "empty").mkdir()
    with pytest.raises(SuiteNotFound, match="no case under"):
        iter_cases(tmp_path / "empty")
    with pytest.raises(SuiteNotFound, match="is not a directory"):
        iter_cases(tmp_path / "missing")
    with pytest.raises(SuiteNotFound, match="matching 'nope/\\*'"):
        iter_cases(fixtures, "nope/*")


def test_environment_variable_selects_the_root(
    fixtures: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``LLMOBS_MAPPING_FIXTURES`` overrides the built-in suite; a wrong value is an error."""
    monkeypatch.setenv(ENV_FIXTURES, str(fixtures))
    assert fixtures == default_root()
    assert len(iter_cases()) == 3
    monkeypatch.setenv(ENV_FIXTURES, str(tmp_path / "missing"))
    with pytest.raises(SuiteNotFound, match=ENV_FIXTURES):
        iter_cases()


def test_default_root_is_the_checkout_fixtures(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the variable, a source checkout uses the repository's fixtures/ folder."""
    monkeypatch.delenv(ENV_FIXTURES, raising=False)
    if not (REPO / "fixtures").is_dir():
        pytest.skip("no fixtures/ folder in this checkout")
    assert default_root() == REPO / "fixtures"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: (f / "error.json").write_text('{"error": "X", "path": "$"}\n'), "exactly one of"),
        (lambda f: (f / "expected.json").unlink(), "exactly one of"),
        (lambda f: (f / "settings.json").unlink(), "missing settings.json"),
        (lambda f: (f / "exchange.json").write_text("{not json"), "cannot read exchange.json"),
        (
            lambda f: write_json(f / "case.json", {"description": "d", "spec": ["s"], "format": "otlp"}),
            "'format'",
        ),
        (lambda f: write_json(f / "case.json", {"description": "d", "format": "evp"}), "'spec'"),
        (lambda f: write_json(f / "case.json", {"spec": ["s"], "format": "evp"}), "'description'"),
    ],
)
def test_malformed_case_names_the_case_and_the_problem(fixtures: Path, change: Any, message: str) -> None:
    """A broken case folder raises MalformedCase naming the case id and what is wrong."""
    change(fixtures / "core" / "basic-text")
    with pytest.raises(MalformedCase, match="^core/basic-text: .*" + re.escape(message)):
        iter_cases(fixtures)


def test_decision_cases_are_left_out(fixtures: Path) -> None:
    """A folder pinning decide() (decision.json, no payload or error) is not a mapping case."""
    folder = fixtures / "decide" / "disabled"
    folder.mkdir(parents=True)
    write_json(folder / "case.json", {"description": "disabled", "spec": ["contract §2"], "format": "public"})
    write_json(folder / "exchange.json", EXCHANGE)
    write_json(folder / "settings.json", {**SETTINGS, "enabled": False})
    write_json(folder / "decision.json", {"reason": "destination disabled", "send": False})
    assert [c.id for c in iter_cases(fixtures)] == [
        "core/basic-text",
        "core/evp-basic",
        "errors/end-before-start",
    ]
    with pytest.raises(SuiteNotFound):
        iter_cases(fixtures, "decide/*")


def test_malformed_error_json(fixtures: Path) -> None:
    """error.json must hold exactly a string ``error`` and a string ``path``."""
    write_json(fixtures / "errors" / "end-before-start" / "error.json", {"error": "InvalidInput"})
    with pytest.raises(MalformedCase, match=r"error\.json must be"):
        iter_cases(fixtures)


# -- the Python API -----------------------------------------------------------------------------


def test_case_document_is_what_stdin_gets(fixtures: Path) -> None:
    """The process input holds the exchange, the settings and the format."""
    case = iter_cases(fixtures, "core/evp-basic")[0]
    assert case_document(case) == {"exchange": EXCHANGE, "settings": SETTINGS, "format": "evp"}


def test_compare_payloads(fixtures: Path) -> None:
    """The right payload gives no difference; a changed one gives the exact path."""
    case = iter_cases(fixtures, "core/basic-text")[0]
    assert compare(case, json.loads(json.dumps(PUBLIC_PAYLOAD))) == []
    wrong = json.loads(json.dumps(PUBLIC_PAYLOAD))
    wrong["data"]["attributes"]["spans"][0]["metrics"]["input_tokens"] = 3.0
    assert [Difference("$.data.attributes.spans[0].metrics.input_tokens", "type", 3, 3.0)] == compare(
        case, wrong
    )


def test_compare_errors(fixtures: Path) -> None:
    """Error cases compare the class name and the path, never the message."""
    case = iter_cases(fixtures, "errors/*")[0]
    assert compare(case, error=InvalidInput("$.timing.end", "any message at all")) == []
    assert compare(case, error={"error": "InvalidInput", "path": "$.timing.end", "message": "x"}) == []
    assert [
        Difference("$.error", "changed", "InvalidInput", "InvalidSettings"),
        Difference("$.path", "changed", "$.timing.end", "$.config"),
    ] == compare(case, error=InvalidSettings("$.config", "m"))
    assert [Difference("$.error", "changed", "InvalidInput", "KeyError")] == compare(
        case, error=KeyError("x")
    )[:1]


def test_compare_payload_against_error_and_back(fixtures: Path) -> None:
    """A payload where an error is expected (or the reverse) is one difference at ``$``."""
    payload_case, _, error_case = iter_cases(fixtures)
    assert [
        Difference("$", "changed", {"error": "InvalidInput", "path": "$.timing.end"}, PUBLIC_PAYLOAD)
    ] == compare(error_case, PUBLIC_PAYLOAD)
    assert [Difference("$", "changed", PUBLIC_PAYLOAD, {"error": "InvalidInput", "path": "$.x"})] == compare(
        payload_case, error=InvalidInput("$.x", "m")
    )


# -- the process runner -------------------------------------------------------------------------


def test_correct_implementation_passes_everything(fixtures: Path, impl: Any) -> None:
    """An implementation that answers every case correctly passes all of them."""
    result = run_suite(impl("correct"), fixtures)
    assert (result.passed, result.failed) == (3, 0)
    assert [o.status for o in result.outcomes] == ["passed"] * 3


def test_cli_correct_implementation(capsys: pytest.CaptureFixture[str], fixtures: Path, impl: Any) -> None:
    """All cases pass: only the summary line, exit 0."""
    assert run_cli(capsys, "conformance", "--impl", impl("correct"), "--fixtures", str(fixtures)) == (
        0,
        "3 passed, 0 failed\n",
        "",
    )


def test_cli_cat_fails_every_case(capsys: pytest.CaptureFixture[str], fixtures: Path) -> None:
    """``cat`` echoes the case document: every case fails with the first differing path."""
    exit_code, out, err = run_cli(capsys, "conformance", "--impl", "cat", "--fixtures", str(fixtures))
    assert (exit_code, err) == (1, "")
    lines = out.splitlines()
    assert len(lines) == 4
    assert lines[0].startswith('FAIL core/basic-text: $.data: missing, expected {"attributes":{')
    assert lines[0].endswith("(and 3 more differences)")
    assert lines[1].startswith('FAIL core/evp-basic: $: expected array [{"_dd.stage":"raw"')
    assert ', got object {"exchange":{' in lines[1]
    assert lines[2].startswith(
        "FAIL errors/end-before-start: "
        '$: expected {"error":"InvalidInput","path":"$.timing.end"}, got {"exchange":'
    )
    assert lines[3] == "0 passed, 3 failed"


def test_cli_mutated_value_is_reported_at_its_path(
    capsys: pytest.CaptureFixture[str], fixtures: Path, impl: Any
) -> None:
    """A wrong string and an int-turned-float are reported at their exact JSON paths."""
    assert run_cli(capsys, "conformance", "--impl", impl("mutate"), "--fixtures", str(fixtures)) == (
        1,
        'FAIL core/basic-text: $.data.attributes.spans[0].meta.kind: expected "llm", got "workflow"\n'
        "FAIL core/evp-basic: $[0].spans[0].duration: expected integer 1500000000, got float 1500000000.0\n"
        "1 passed, 2 failed\n",
        "",
    )


def test_cli_wrong_error_path(capsys: pytest.CaptureFixture[str], fixtures: Path, impl: Any) -> None:
    """Right error class, wrong path: the failure names ``$.path`` and both paths, plus stderr."""
    assert run_cli(
        capsys, "conformance", "--impl", impl("wrong-path"), "--fixtures", str(fixtures), "--run", "errors/*"
    ) == (
        1,
        'FAIL errors/end-before-start: $.path: expected "$.timing.end", got "$.timing.start"\n'
        "  stderr:\n"
        "  | warning: a line before the error line\n"
        '  | {"error": "InvalidInput", "path": "$.timing.start", "message": "end is before start"}\n'
        "0 passed, 1 failed\n",
        "",
    )


def test_cli_crash_shows_exit_code_and_stderr(
    capsys: pytest.CaptureFixture[str], fixtures: Path, impl: Any
) -> None:
    """A crash is reported with its exit code and the end of its stderr (the traceback)."""
    exit_code, out, _ = run_cli(
        capsys,
        "conformance",
        "--impl",
        impl("crash"),
        "--fixtures",
        str(fixtures),
        "--run",
        "core/basic-text",
    )
    lines = out.splitlines()
    assert exit_code == 1
    assert lines[:2] == ["FAIL core/basic-text: crashed with exit code 1", "  stderr:"]
    assert lines[-2] == "  | RuntimeError: boom"
    assert lines[-1] == "0 passed, 1 failed"


@pytest.mark.parametrize(
    "case",
    [
        ("not-json", "Expecting value: line 1 column 1 (char 0)", "hello"),
        # NaN, which Python's json writes and reads, is not JSON either
        ("nan", "NaN is not JSON", '{"data": NaN}'),
    ],
)
def test_cli_stdout_that_is_not_json_fails(
    capsys: pytest.CaptureFixture[str], fixtures: Path, impl: Any, case: tuple[str, str, str]
) -> None:
    """Exit 0 with text that is not JSON fails with the parse error and the stdout excerpt."""
    program, reason, stdout = case
    assert run_cli(
        capsys, "conformance", "--impl", impl(program), "--fixtures", str(fixtures), "--format", "evp"
    ) == (
        1,
        f"FAIL core/evp-basic: exit 0 but stdout is not JSON ({reason})\n"
        "  stdout:\n"
        f"  | {stdout}\n"
        "0 passed, 1 failed\n",
        "",
    )


def test_cli_exit_2_without_error_line(capsys: pytest.CaptureFixture[str], fixtures: Path, impl: Any) -> None:
    """Exit 2 must come with the JSON error line on stderr, else the case fails."""
    assert run_cli(
        capsys, "conformance", "--impl", impl("bare-exit-2"), "--fixtures", str(fixtures), "--run", "errors/*"
    ) == (
        1,
        "FAIL errors/end-before-start: exit 2 but no JSON error line "
        '{"error": ..., "path": ...} on stderr\n'
        "  stderr:\n"
        "  | something went wrong\n"
        "0 passed, 1 failed\n",
        "",
    )


@pytest.mark.parametrize("mode", ["sleep", "sleep-child"])
def test_timeout_kills_the_implementation(fixtures: Path, impl: Any, mode: str) -> None:
    """A case that runs past the timeout fails quickly, even when a grandchild holds stdout open."""
    case = iter_cases(fixtures, "core/basic-text")[0]
    started = time.monotonic()
    outcome = run_command(case, impl(mode), timeout=0.5)
    assert time.monotonic() - started < 10
    assert (outcome.status, outcome.reason, outcome.exit_code) == ("timeout", "timed out after 0.5s", None)
    assert format_outcome(outcome) == "FAIL core/basic-text: timed out after 0.5s\n  stderr: (empty)"


def test_cli_timeout_option(capsys: pytest.CaptureFixture[str], fixtures: Path, impl: Any) -> None:
    """``--timeout`` bounds each case."""
    assert run_cli(
        capsys,
        "conformance",
        "--impl",
        impl("sleep"),
        "--fixtures",
        str(fixtures),
        "--run",
        "core/basic-text",
        "--timeout",
        "0.5",
    ) == (
        1,
        "FAIL core/basic-text: timed out after 0.5s\n  stderr: (empty)\n0 passed, 1 failed\n",
        "",
    )


def _bounded(call: Any, seconds: float) -> Any:
    """``call()`` in a daemon thread; fail (instead of hanging the test run) if it takes over ``seconds``."""
    box: list[Any] = []
    thread = threading.Thread(target=lambda: box.append(call()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds}s"
    return box[0]


@pytest.fixture
def grandchild(tmp_path: Path) -> Iterator[Path]:
    """Where a detached grandchild writes its pid; it is killed after the test."""
    pidfile = tmp_path / "grandchild.pid"
    yield pidfile
    with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
        os.kill(int(pidfile.read_text()), signal.SIGKILL)


# A grandchild that leaves the process group (its own session) and keeps stdout and stderr open:
# killing the group cannot reach it. One shell spelling, one Python double fork (impl mode daemon-*).
SETSID_SHELL = "setsid sh -c 'echo $$ > {pidfile}; exec sleep 1000' & echo started >&2; sleep 60"


@pytest.mark.skipif(os.name != "posix", reason="sessions and process groups are POSIX")
@pytest.mark.parametrize("spelling", ["python-double-fork", "shell-setsid"])
def test_timeout_holds_against_a_detached_grandchild(
    fixtures: Path, impl: Any, grandchild: Path, spelling: str
) -> None:
    """A grandchild in its own session keeps the pipes open: the run still ends at timeout + grace,
    as a timeout with the output read so far."""
    if spelling == "shell-setsid":
        if shutil.which("setsid") is None:
            pytest.skip("no setsid(1) here")
        command = SETSID_SHELL.format(pidfile=shlex.quote(str(grandchild)))
    else:
        command = impl("daemon-sleep")
    case = iter_cases(fixtures, "core/basic-text")[0]
    started = time.monotonic()
    outcome = _bounded(lambda: run_command(case, command, timeout=1), 15)
    elapsed = time.monotonic() - started
    assert grandchild.exists()  # the escape really happened
    assert elapsed < 4, elapsed  # 1 s, the 0.5 s grace and process start-up on a loaded machine
    assert (outcome.status, outcome.reason, outcome.exit_code, outcome.stdout, outcome.stderr) == (
        "timeout",
        "timed out after 1s",
        None,
        "",
        "started\n",
    )


@pytest.mark.skipif(os.name != "posix", reason="sessions and process groups are POSIX")
def test_exit_0_while_a_detached_grandchild_holds_stdout(fixtures: Path, impl: Any, grandchild: Path) -> None:
    """The command answers and exits while a detached grandchild keeps stdout open: the answer is
    judged a short grace after the exit, not at the timeout."""
    case = iter_cases(fixtures, "core/basic-text")[0]
    started = time.monotonic()
    outcome = _bounded(lambda: run_command(case, impl("daemon-answer"), timeout=20), 10)
    elapsed = time.monotonic() - started
    assert grandchild.exists()
    assert elapsed < 4, elapsed
    assert (outcome.status, outcome.exit_code, outcome.stderr) == ("passed", 0, "started\n")


@pytest.mark.parametrize(
    ("command", "stream"), [("yes", "stdout"), ("yes 1>&2", "stderr")], ids=["stdout", "stderr"]
)
def test_endless_output_is_cut_at_the_limit(fixtures: Path, command: str, stream: str) -> None:
    """A command that prints forever is stopped as soon as a stream passes its limit."""
    case = iter_cases(fixtures, "core/basic-text")[0]
    started = time.monotonic()
    outcome = _bounded(
        lambda: run_command(case, command, timeout=20, stdout_limit=100_000, stderr_limit=50_000), 15
    )
    assert time.monotonic() - started < 5
    kept = outcome.stdout if stream == "stdout" else outcome.stderr
    limit = 100_000 if stream == "stdout" else 50_000
    assert (outcome.status, outcome.reason, outcome.exit_code, len(kept)) == (
        "invalid-output",
        f"more than {limit} bytes on {stream}; the command was stopped",
        None,
        limit,
    )
    assert set(kept) == {"y", "\n"}


@pytest.mark.skipif(os.name != "posix", reason="sessions and process groups are POSIX")
def test_thread_reader_used_on_windows_keeps_the_same_bounds(grandchild: Path) -> None:
    """The reader Windows uses (one thread per pipe, selectors cannot wait on its pipes), run here: the
    same answers, the same limits, the same bound against a detached grandchild."""
    limits = {"stdout": 1000, "stderr": 1000}
    echo = run_bounded("cat; echo oops >&2; exit 3", b'{"a": 1}', 5, limits, threads=True)
    assert (echo.stdout, echo.stderr, echo.exit_code, echo.stopped, echo.overflow) == (
        b'{"a": 1}',
        b"oops\n",
        3,
        None,
        None,
    )
    flood = _bounded(lambda: run_bounded("yes", b"", 20, limits, threads=True), 10)
    assert (flood.stdout, flood.exit_code, flood.stopped, flood.overflow) == (
        b"y\n" * 500,
        None,
        None,
        "stdout",
    )
    command = SETSID_SHELL.format(pidfile=shlex.quote(str(grandchild)))
    if shutil.which("setsid") is None:
        pytest.skip("no setsid(1) here")
    started = time.monotonic()
    held = _bounded(lambda: run_bounded(command, b"", 1, limits, threads=True), 10)
    assert time.monotonic() - started < 4
    assert (held.stderr, held.exit_code, held.stopped) == (b"started\n", None, "timeout")


def test_cli_stderr_over_the_default_limit(capsys: pytest.CaptureFixture[str], fixtures: Path) -> None:
    """The CLI reports the cut with the module's limit (1 MiB of stderr) and the end of stderr."""
    flood = f"{shlex.quote(sys.executable)} -c \"import sys; sys.stderr.write('x' * 3_000_000)\"; sleep 60"
    started = time.monotonic()
    exit_code, out, err = run_cli(
        capsys, "conformance", "--impl", flood, "--fixtures", str(fixtures), "--run", "core/basic-text"
    )
    assert time.monotonic() - started < 10
    assert MAX_STDERR_BYTES == 1024 * 1024
    assert (exit_code, err) == (1, "")
    assert out == (
        "FAIL core/basic-text: more than 1 MiB on stderr; the command was stopped\n"
        "  stdout: (empty)\n"
        "  stderr:\n"
        f"  | {'x' * 199}…\n"
        "0 passed, 1 failed\n"
    )


def test_default_output_limits() -> None:
    """Far above any real answer: a case maps one exchange to a few spans of at most 5 MB each."""
    assert (MAX_STDOUT_BYTES, MAX_STDERR_BYTES) == (64 * 1024 * 1024, 1024 * 1024)


@pytest.mark.parametrize("timeout", [math.nan, math.inf, -math.inf, 0, -1, 0.0])
def test_timeout_must_be_finite_and_positive(fixtures: Path, timeout: float) -> None:
    """run_command and run_suite refuse a time limit that is not a finite number of seconds > 0."""
    case = iter_cases(fixtures, "core/basic-text")[0]
    with pytest.raises(ValueError, match="timeout must be a finite number of seconds greater than 0"):
        run_command(case, "cat", timeout=timeout)
    with pytest.raises(ValueError, match="timeout must be a finite number of seconds greater than 0"):
        run_suite("cat", fixtures, timeout=timeout)


@pytest.mark.parametrize("timeout", ["1", True, None])
def test_timeout_must_be_a_number(fixtures: Path, timeout: Any) -> None:
    """A string, a bool or None is not a number of seconds."""
    case = iter_cases(fixtures, "core/basic-text")[0]
    with pytest.raises(TypeError, match="timeout must be a number of seconds"):
        run_command(case, "cat", timeout=timeout)


@pytest.mark.parametrize("jobs", [0, -1])
def test_jobs_must_be_at_least_one(fixtures: Path, jobs: int) -> None:
    """run_suite refuses fewer than one job instead of silently running one."""
    with pytest.raises(ValueError, match="jobs must be a whole number from 1"):
        run_suite("cat", fixtures, jobs=jobs)


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--timeout", "nan", "--timeout must be a finite number of seconds greater than 0, not nan"),
        ("--timeout", "inf", "--timeout must be a finite number of seconds greater than 0, not inf"),
        ("--timeout", "0", "--timeout must be a finite number of seconds greater than 0, not 0"),
        ("--timeout", "-2.5", "--timeout must be a finite number of seconds greater than 0, not -2.5"),
        ("--jobs", "0", f"--jobs must be from 1 to {MAX_WORKERS}, not 0"),
        ("--jobs", "-3", f"--jobs must be from 1 to {MAX_WORKERS}, not -3"),
        ("--jobs", "100000", f"--jobs must be from 1 to {MAX_WORKERS}, not 100000"),
    ],
)
def test_cli_refuses_bad_timeout_and_jobs(
    capsys: pytest.CaptureFixture[str], fixtures: Path, option: str, value: str, message: str
) -> None:
    """Bad bounds: nothing runs, nothing on stdout, the CLI's JSON error line, exit 2."""
    exit_code, out, err = run_cli(
        capsys, "conformance", "--impl", "cat", "--fixtures", str(fixtures), option, value
    )
    assert (exit_code, out) == (2, "")
    assert json.loads(err) == {"error": "InvalidInput", "path": "$", "message": message}


def test_a_failing_progress_callback_stops_the_run(fixtures: Path, tmp_path: Path) -> None:
    """An exception from on_outcome propagates at once: the cases not yet started never run."""
    log = tmp_path / "runs.log"
    command = f"echo run >> {shlex.quote(str(log))}; sleep 0.3; cat"

    def explode(outcome: Outcome) -> None:
        raise RuntimeError(outcome.case.id)

    with pytest.raises(RuntimeError, match="core/basic-text"):
        run_suite(command, fixtures, on_outcome=explode)
    assert len(log.read_text().splitlines()) < 3


def test_excerpt_shows_the_last_lines_of_a_long_output(fixtures: Path) -> None:
    """The excerpt is the last ten non-blank lines however long the output (read from its end)."""
    case = iter_cases(fixtures, "core/basic-text")[0]
    lines = [f"{n}:" + "z" * 5000 for n in range(20)]
    text = "\n".join(lines) + "\n\n   \n" + "\n" * 100_000
    outcome = Outcome(case, "crashed", reason="crashed with exit code 3", exit_code=3, stderr=text)
    expected = [f"  | {line[:199]}…" for line in lines[-10:]]
    assert format_outcome(outcome).splitlines() == [
        "FAIL core/basic-text: crashed with exit code 3",
        "  stderr:",
        *expected,
    ]


def test_format_filter(fixtures: Path, impl: Any) -> None:
    """``format`` keeps only the cases of that wire format."""
    assert [o.case.id for o in run_suite(impl("correct"), fixtures, format="evp").outcomes] == [
        "core/evp-basic"
    ]
    public = run_suite(impl("correct"), fixtures, format="public")
    assert [o.case.id for o in public.outcomes] == ["core/basic-text", "errors/end-before-start"]


def test_parallel_jobs_keep_case_order(fixtures: Path, impl: Any) -> None:
    """With several jobs, outcomes and progress calls still come in case id order."""
    seen: list[str] = []
    result = run_suite(impl("mutate"), fixtures, jobs=3, on_outcome=lambda o: seen.append(o.case.id))
    assert seen == ["core/basic-text", "core/evp-basic", "errors/end-before-start"]
    assert [o.status for o in result.outcomes] == ["mismatch", "mismatch", "passed"]


def test_cli_no_matching_case_exits_2(capsys: pytest.CaptureFixture[str], fixtures: Path) -> None:
    """No case matched: nothing on stdout, one JSON error line on stderr, exit 2."""
    exit_code, out, err = run_cli(
        capsys, "conformance", "--impl", "cat", "--fixtures", str(fixtures), "--run", "x/*"
    )
    assert (exit_code, out) == (2, "")
    error = json.loads(err)
    assert (error["error"], error["path"]) == ("SuiteNotFound", "$")
    assert "matching 'x/*'" in error["message"]
    exit_code, out, err = run_cli(
        capsys,
        "conformance",
        "--impl",
        "cat",
        "--fixtures",
        str(fixtures),
        "--run",
        "errors/*",
        "--format",
        "evp",
    )
    assert (exit_code, out, json.loads(err)["error"]) == (2, "", "SuiteNotFound")


# -- diff ---------------------------------------------------------------------------------------


def test_cli_diff(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """``diff`` prints one line per differing path: exit 0 equal, 1 different, 2 unreadable."""
    expected, actual, same = tmp_path / "expected.json", tmp_path / "actual.json", tmp_path / "same.json"
    write_json(expected, {"a": 1, "b": [1, 2], "c": "x"})
    write_json(same, {"c": "x", "b": [1, 2], "a": 1})
    write_json(actual, {"a": 1.0, "b": [1], "d": None})
    assert run_cli(capsys, "diff", str(expected), str(same)) == (0, "", "")
    assert run_cli(capsys, "diff", str(expected), str(actual)) == (
        1,
        "$.a: expected integer 1, got float 1.0\n$.b[1]: missing, expected 2\n"
        '$.c: missing, expected "x"\n$.d: unexpected member, got null\n',
        "",
    )

    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    for unreadable in (tmp_path / "missing.json", tmp_path / "broken.json"):
        exit_code, out, err = run_cli(capsys, "diff", str(expected), str(unreadable))
        assert (exit_code, out, json.loads(err)["error"]) == (2, "", "InvalidInput")
        assert str(unreadable) in json.loads(err)["message"]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("subcommand", ["diff", "conformance"])
def test_cli_full_disk_on_stdout(tmp_path: Path, fixtures: Path, subcommand: str) -> None:
    """Stdout on a full device (ENOSPC): exit 2 and one JSON error line, never a traceback."""
    if subcommand == "diff":
        write_json(tmp_path / "a.json", {"a": 1})
        write_json(tmp_path / "b.json", {"a": 2})
        argv = ["diff", str(tmp_path / "a.json"), str(tmp_path / "b.json")]
    else:
        argv = ["conformance", "--impl", "cat", "--fixtures", str(fixtures)]
    done = run_cli_to_full_disk(*argv, cwd=REPO)
    assert done.returncode == 2, done.stderr
    assert json.loads(done.stderr) == {
        "error": "OutputError",
        "path": "$",
        "message": "cannot write the output: No space left on device",
    }


# -- the real suite against the library's own implementation -------------------------------------


def test_library_passes_its_own_suite() -> None:
    """``python -m llmobs_mapping map --case -`` passes every case in the repository's fixtures/."""
    if not any((REPO / "fixtures").glob("*/*/case.json")):
        pytest.skip("no fixture cases in fixtures/ yet")
    command = f"cd {shlex.quote(str(REPO))} && " + shlex.join(
        [sys.executable, "-m", "llmobs_mapping", "map", "--case", "-"]
    )
    result = run_suite(command, REPO / "fixtures", jobs=4)
    assert [format_outcome(o) for o in result.failures] == []
    assert result.passed > 0
