"""The ``llmobs-mapping`` command line: a thin layer over the public functions.

Exit codes: 0 success; 1 a check failed (validate, diff, conformance, delivery); 2 bad input or
settings, with nothing on stdout and one JSON line on stderr:
``{"error": "<ErrorClassName>", "path": "<JSON path>", "message": "<sentence>"}``; also 2, as
``OutputError``, when the output cannot be written (a full disk).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .canonical import DuplicateKey, strict_loads
from .conformance import CASE_KEYS
from .encode import FORMATS, build_payload, dumps
from .errors import InvalidInput, InvalidSettings, MappingError, OutputError, json_path
from .settings import Settings

__all__ = ["drop_stdout", "fail", "load_json", "main", "one_stdin", "read_settings", "run"]

# Subcommands that live in their own modules, each exposing register(subparsers).
_REGISTRARS = ("cli_validate", "cli_conformance", "cli_send", "cli_view", "cli_bulk")


def load_json(source: str, error: Callable[[str, str], MappingError]) -> Any:
    """Parse a JSON file (``-`` = stdin); unreadable or invalid JSON → ``error`` at ``$``. The bytes
    are decoded as ``map-jsonl`` decodes its lines (``strict_loads``): UTF-8, a leading BOM allowed."""
    try:
        text = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except OSError as exc:
        raise error("$", f"cannot read {source!r}: {exc.__class__.__name__}: {exc}") from None
    try:
        return strict_loads(text)
    except DuplicateKey as exc:  # only a destination holds no content, so only there is the key named
        message = exc.sentence_naming_key if error is InvalidSettings else exc.sentence
        raise error(exc.path or "$", message) from None
    except (ValueError, RecursionError) as exc:
        raise error("$", f"{source!r} is not valid JSON ({exc})") from None


def read_settings(source: str) -> Settings:
    return Settings.from_destination(load_json(source, InvalidSettings))


def one_stdin(*sources: str | None) -> None:
    """Refuse ``-`` (stdin) for two inputs: the second read would find stdin empty."""
    if sum(source == "-" for source in sources) > 1:
        raise InvalidInput("$", "only one input can be read from stdin ('-'); give files for the others")


def fail(exc: MappingError) -> int:
    """Report a typed error the CLI way: one JSON line on stderr, exit 2."""
    sys.stderr.write(json.dumps(exc.to_dict(), ensure_ascii=False) + "\n")
    return 2


def _emit(data: bytes, pretty: bool) -> None:
    sys.stdout.buffer.write(data if pretty else data + b"\n")
    sys.stdout.buffer.flush()


def _cmd_map(args: argparse.Namespace) -> int:
    try:
        if args.case is not None:
            if args.exchange is not None or args.settings is not None:
                raise InvalidInput("$", "use either --case or EXCHANGE with --settings, not both")
            case = load_json(args.case, InvalidInput)
            if not isinstance(case, dict):
                raise InvalidInput("$", "a case document must be an object {exchange, settings, format}")
            for key in case:  # like the exchange's envelope: a typo must not be silently dropped
                if key not in CASE_KEYS:
                    raise InvalidInput(
                        json_path((str(key),)),
                        f"is not a member of a case document ({', '.join(CASE_KEYS)})",
                    )
            fmt = case.get("format", args.format)
            if fmt not in FORMATS:
                raise InvalidInput("$.format", f"must be 'public' or 'evp', not {fmt!r}")
            settings = Settings.from_destination(case.get("settings"))
            payload = build_payload(case.get("exchange"), settings, fmt)
        else:
            if args.exchange is None or args.settings is None:
                raise InvalidInput("$", "give EXCHANGE and --settings SETTINGS, or --case CASE")
            one_stdin(args.exchange, args.settings)
            settings = read_settings(args.settings)
            payload = build_payload(load_json(args.exchange, InvalidInput), settings, args.format)
        data = dumps(payload, pretty=args.pretty)  # can still refuse a value UTF-8 cannot hold
    except MappingError as exc:
        return fail(exc)
    _emit(data, args.pretty)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="llmobs-mapping",
        description="Map OpenRouter calls to Datadog LLM Observability spans.",
    )
    parser.add_argument("--version", action="version", version=f"llmobs-mapping {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("map", help="map one exchange to a payload (JSON on stdout)")
    p.add_argument("exchange", nargs="?", help="exchange JSON file, - for stdin")
    p.add_argument("--settings", help="destination settings JSON file (OpenRouter's destination object)")
    p.add_argument("--case", help="a case document {exchange, settings, format}; - for stdin")
    p.add_argument("--format", choices=FORMATS, default="public")
    p.add_argument("--pretty", action="store_true", help="indent the output (the fixtures' form)")
    p.set_defaults(func=_cmd_map)
    for name in _REGISTRARS:
        importlib.import_module(f".{name}", __package__).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


def run(args: argparse.Namespace) -> int:
    """Run a parsed subcommand (``args.func``) the CLI way; return its exit code."""
    try:
        result: int = args.func(args)
    except BrokenPipeError:  # `llmobs-mapping ... | head`: the reader left; not an error of ours
        sys.stderr.close()
        return 1
    except OSError as exc:
        # Writing the output failed (a full disk, an I/O error): every read reports its own typed
        # error where it happens, so what reaches here is a write. Same convention as bad input.
        drop_stdout()
        return fail(OutputError("$", f"cannot write the output: {exc.strerror or exc}"))
    return result


def drop_stdout() -> None:
    """Point stdout at devnull: its unwritten buffer would fail again at exit ("Exception ignored
    ..."), after a full disk or a reader that went away."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


if __name__ == "__main__":
    raise SystemExit(main())
