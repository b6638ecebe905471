"""``llmobs-mapping map-jsonl IN.jsonl --settings S.json [--out OUT.jsonl] [--format F] [--workers N]``.

Streams one exchange per input line to one compact payload per output line (stdout, or ``--out``),
in input order and constant memory. Lines that ``decide`` skips produce no output line; a bad line
produces none either and is reported on stderr as the CLI's error object plus its line number,
``{"line": 12, "error": "InvalidInput", "path": "$.timing", "message": "..."}``, without stopping
the run. At the end one summary line goes to stderr:
``{"summary": {"lines", "mapped", "skipped": {reason: n}, "failed": {error: n}, "blank"}}``.
When stderr is a terminal a progress bar is drawn there too.

Exit codes: 0 every line mapped or skipped; 1 some lines failed; 2 unusable settings, an unreadable
input file or bad options (the CLI's JSON error line on stderr, nothing on stdout).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator
from typing import IO, Any

from .bulk import LineResult, Summary, map_lines_parallel
from .cli import drop_stdout, fail, one_stdin, read_settings
from .encode import FORMATS
from .errors import InvalidInput, MappingError, OutputError

__all__ = ["Progress", "register", "run_map_jsonl"]

MAX_WORKERS = 64  # more processes than this only add start-up time and memory
_PROGRESS_EVERY = 0.1  # seconds between progress bar redraws
_BAR_WIDTH = 30


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``map-jsonl`` subcommand to the ``llmobs-mapping`` parser."""
    parser = subparsers.add_parser(
        "map-jsonl",
        help="map a JSONL file of exchanges to a JSONL file of payloads (backfills)",
        description="One exchange per input line → one payload per output line, in order. Bad lines "
        "are reported on stderr with their line number and do not stop the run; a summary follows. "
        "Exit 0 if no line failed, 1 if some did, 2 for unusable settings or input.",
    )
    parser.add_argument("input", metavar="IN.jsonl", help="exchanges, one JSON per line; - for stdin")
    parser.add_argument("--settings", required=True, help="destination settings JSON file")
    parser.add_argument("--out", metavar="OUT.jsonl", help="write payloads here instead of stdout")
    parser.add_argument("--format", choices=FORMATS, default="public", help="wire format (default public)")
    parser.add_argument(
        "--workers", type=int, default=1, help="worker processes, 1 to 64 (default 1); output order is kept"
    )
    parser.set_defaults(func=run_map_jsonl)


class Progress:
    """A one-line progress bar on a terminal: bytes read of the file's size (when known), lines and
    lines per second. Draws at most every 0.1 s; ``close`` erases it."""

    def __init__(self, stream: IO[str], total_bytes: int | None) -> None:
        self._stream = stream
        self._total = total_bytes
        self._started = time.monotonic()
        self._drawn_at = 0.0
        self._shown = False

    def update(self, lines: int, done_bytes: int, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._drawn_at < _PROGRESS_EVERY:
            return
        self._drawn_at = now
        rate = lines / max(now - self._started, 1e-9)
        if self._total:
            share = min(done_bytes / self._total, 1.0)
            filled = int(share * _BAR_WIDTH)
            bar = f"[{'#' * filled}{'.' * (_BAR_WIDTH - filled)}] {share:4.0%} "
        else:
            bar = ""
        self._stream.write(f"\r{bar}{lines:,} lines  {rate:,.0f} lines/s\x1b[K")
        self._stream.flush()
        self._shown = True

    def close(self) -> None:
        if self._shown:
            self._stream.write("\r\x1b[K")
            self._stream.flush()
            self._shown = False


class _CountingLines:
    """Iterate a binary file's lines while counting the bytes read (for the progress bar)."""

    def __init__(self, source: IO[bytes]) -> None:
        self._source = source
        self.bytes_read = 0

    def __iter__(self) -> Iterator[bytes]:
        for raw in self._source:
            self.bytes_read += len(raw)
            yield raw


def _open_input(name: str) -> IO[bytes]:
    if name == "-":
        return sys.stdin.buffer
    try:
        return open(name, "rb")  # closed by the caller's ExitStack
    except OSError as exc:
        raise InvalidInput("$", f"cannot read {name!r}: {exc.__class__.__name__}: {exc.strerror}") from None


def _file_size(source: IO[bytes]) -> int | None:
    try:
        info = os.fstat(source.fileno())
    except (OSError, ValueError):
        return None
    return info.st_size if info.st_size > 0 else None


def _report(result: LineResult) -> str:
    error: dict[str, Any] = {"line": result.line, **(result.error or {})}
    return json.dumps(error, ensure_ascii=False) + "\n"


def _same_file(input_path: str, out_path: str) -> bool:
    if input_path == "-":
        return False
    try:
        return os.path.samefile(input_path, out_path)
    except OSError:  # the output does not exist yet (or the input is unreadable: reported on open)
        return False


def run_map_jsonl(args: argparse.Namespace) -> int:
    """Run ``map-jsonl``; return the exit code."""
    if not 1 <= args.workers <= MAX_WORKERS:
        # a process pool starts every worker at once: 100000 would start 100000 processes
        return fail(InvalidInput("$", f"--workers must be from 1 to {MAX_WORKERS}, not {args.workers}"))
    with contextlib.ExitStack() as stack:
        try:
            one_stdin(args.input, args.settings)
            settings = read_settings(args.settings)
            source = _open_input(args.input)
            if source is not sys.stdin.buffer:
                stack.callback(source.close)
            if args.out is not None:
                if _same_file(args.input, args.out):  # opening it for writing would empty the input
                    raise InvalidInput("$", f"--out {args.out!r} is the input file; write elsewhere")
                try:
                    out: IO[bytes] = stack.enter_context(open(args.out, "wb"))
                except OSError as exc:
                    raise OutputError("$", f"cannot write {args.out!r}: {exc.strerror}") from None
            else:
                out = sys.stdout.buffer
        except MappingError as exc:
            return fail(exc)

        lines = _CountingLines(source)
        progress = Progress(sys.stderr, _file_size(source)) if sys.stderr.isatty() else None
        summary = Summary()
        results = map_lines_parallel(lines, settings, args.format, workers=args.workers)
        try:
            for result in results:
                summary.add(result)
                if result.payload is not None:
                    out.write(result.payload)
                    out.write(b"\n")
                elif result.outcome == "failed":
                    if progress is not None:
                        progress.close()
                    sys.stderr.write(_report(result))
                if progress is not None:
                    progress.update(summary.lines, lines.bytes_read)
            out.flush()
        except BrokenPipeError:  # the reader went away (`| head`): stop quietly
            drop_stdout()
            return 1
        finally:
            if progress is not None:
                progress.close()
            results.close()
    sys.stderr.write(json.dumps({"summary": summary.to_dict()}, ensure_ascii=False) + "\n")
    sys.stderr.flush()
    return 1 if summary.failures else 0
