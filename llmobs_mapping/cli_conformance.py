"""CLI subcommands ``conformance`` (run the fixture suite against any command) and ``diff``.

``llmobs-mapping conformance --impl "node mapper.js"`` prints one ``FAIL <case id>: ...`` block per
failing case and ends with the line ``N passed, N failed``. Exit codes: 0 all passed, 1 some case
failed, 2 no case matched (or the fixture tree is broken, ``--timeout`` is not a finite number > 0,
``--jobs`` is not from 1 to 64). ``llmobs-mapping diff A.json B.json`` prints the differences by JSON
path: exit 0 equal, 1 different, 2 unreadable. Exit 2 comes with the CLI's JSON error line on stderr,
also when stdout cannot be written (``OutputError``, e.g. a full disk).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TextIO

from .cli import fail, load_json, one_stdin, run
from .cli_bulk import MAX_WORKERS
from .conformance import CASE_FORMATS, Outcome, SuiteError, check_timeout, run_suite
from .errors import InvalidInput, MappingError
from .jsondiff import diff, format_difference, format_differences

__all__ = ["format_outcome", "main", "register"]

_EXCERPT_LINES = 10
_EXCERPT_WIDTH = 200
_EXCERPT_SCAN = 16384  # characters of output first looked at for the excerpt (it may hold 64 MiB)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``conformance`` and ``diff`` subcommands; each sets ``func(args) -> exit code``."""
    conformance = subparsers.add_parser(
        "conformance",
        help="run the fixture suite against an implementation's command line",
        description=(
            "Run every fixture case through COMMAND (a shell command line): the case document "
            '{"exchange", "settings", "format"} goes to its stdin; it answers with the payload JSON on '
            'stdout and exit 0, or exit 2 and {"error", "path", "message"} on stderr. See fixtures/README.md.'
        ),
    )
    conformance.add_argument("--impl", required=True, metavar="COMMAND", help="shell command line to test")
    conformance.add_argument(
        "--fixtures",
        metavar="DIR",
        help="fixture root (default: $LLMOBS_MAPPING_FIXTURES, else the built-in suite)",
    )
    conformance.add_argument("--run", metavar="GLOB", help="only case ids matching GLOB, e.g. 'core/*'")
    conformance.add_argument("--format", choices=CASE_FORMATS, help="only cases of this wire format")
    conformance.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="per-case time limit, a number > 0 (default 30; the pipes get 0.5 s more)",
    )
    conformance.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=1,
        metavar="N",
        help=f"run N cases at once, 1 to {MAX_WORKERS} (default 1)",
    )
    conformance.set_defaults(func=run_conformance)

    differ = subparsers.add_parser(
        "diff",
        help="compare two JSON documents field by field",
        description="Print every difference by JSON path (conformance comparison rules: 1 and 1.0 differ).",
    )
    differ.add_argument("expected", metavar="EXPECTED.json", help="expected document ('-' for stdin)")
    differ.add_argument("actual", metavar="ACTUAL.json", help="actual document ('-' for stdin)")
    differ.add_argument(
        "--width", type=int, default=120, help="shorten values longer than this (default 120)"
    )
    differ.set_defaults(func=run_diff)


def run_conformance(args: argparse.Namespace) -> int:
    """The ``conformance`` subcommand."""
    try:
        check_timeout(args.timeout)
    except ValueError as exc:
        return fail(InvalidInput("$", f"--{exc}"))
    if not 1 <= args.jobs <= MAX_WORKERS:
        # each job is a process at once: 100000 would start as many
        return fail(InvalidInput("$", f"--jobs must be from 1 to {MAX_WORKERS}, not {args.jobs}"))

    def report(outcome: Outcome) -> None:
        if not outcome.passed:
            print(format_outcome(outcome), flush=True)  # a failed write ends the run (cli.run)

    try:
        result = run_suite(
            args.impl,
            args.fixtures,
            args.run,
            args.format,
            timeout=args.timeout,
            jobs=args.jobs,
            on_outcome=report,
        )
    except SuiteError as exc:
        _error_line(type(exc).__name__, str(exc))
        return 2
    print(f"{result.passed} passed, {result.failed} failed", flush=True)
    return 1 if result.failed else 0


def format_outcome(outcome: Outcome) -> str:
    """The report for one failed case: ``FAIL <id>: <first difference or reason>`` plus output excerpts."""
    if outcome.differences:
        first, *rest = outcome.differences
        headline = format_difference(first)
        if rest:
            headline += f" (and {len(rest)} more difference{'s' if len(rest) > 1 else ''})"
    else:
        headline = outcome.reason
    lines = [f"FAIL {outcome.case.id}: {headline}"]
    if outcome.status == "invalid-output" and outcome.exit_code in (0, None):  # None: output cut
        lines += _excerpt("stdout", outcome.stdout)
    if outcome.exit_code != 0:
        lines += _excerpt("stderr", outcome.stderr)
    return "\n".join(lines)


def _excerpt(name: str, text: str) -> list[str]:
    tail = _last_lines(text, _EXCERPT_LINES)
    if not tail:
        return [f"  {name}: (empty)"]
    return [f"  {name}:"] + [f"  | {_shorten(line)}" for line in tail]


def _last_lines(text: str, count: int) -> list[str]:
    # The last ``count`` non-blank lines, read from the end: splitting 64 MiB of "y\n" whole would
    # make 32 million strings. A window that does not start the text may start mid-line: its first
    # line is left out, and the window doubles until it holds enough lines (or is the whole text).
    size = _EXCERPT_SCAN
    while True:
        window = text[-size:]
        lines = window.splitlines()
        if len(window) < len(text):
            lines = lines[1:]
        kept = [line for line in lines if line.strip()][-count:]
        if len(kept) == count or len(window) == len(text):
            return kept
        size *= 2


def _shorten(line: str) -> str:
    return line if len(line) <= _EXCERPT_WIDTH else line[: _EXCERPT_WIDTH - 1] + "…"


def run_diff(args: argparse.Namespace) -> int:
    """The ``diff`` subcommand."""
    try:
        one_stdin(args.expected, args.actual)
        expected = load_json(args.expected, InvalidInput)
        actual = load_json(args.actual, InvalidInput)
    except MappingError as exc:
        return fail(exc)
    differences = diff(expected, actual)
    if differences:
        print(format_differences(differences, args.width), flush=True)
        return 1
    return 0


def _error_line(error: str, message: str, stream: TextIO | None = None) -> None:
    # CLI error convention: one JSON line on stderr, nothing on stdout.
    line = json.dumps({"error": error, "path": "$", "message": message}, ensure_ascii=False, sort_keys=True)
    print(line, file=stream or sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``conformance`` or ``diff`` on their own (``python -m llmobs_mapping.cli_conformance``)."""
    parser = argparse.ArgumentParser(prog="llmobs-mapping")
    subparsers = parser.add_subparsers(dest="command", required=True)
    register(subparsers)
    args = parser.parse_args(argv)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
