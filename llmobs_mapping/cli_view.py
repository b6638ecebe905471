"""``llmobs-mapping view``: write the self-contained HTML trace view of a payload (issue 8).

- ``view PAYLOAD.json [--out trace.html]``: a public or EVP payload;
- ``view EXCHANGE.json --settings SETTINGS.json [--format public|evp]``: map the exchange first;
- ``view --diff EXPECTED.json ACTUAL.json``: the actual payload with the differences marked
  (either file may be an exchange when ``--settings`` is given).

The page goes to ``--out`` (default ``trace.html``; ``-`` for stdout) and its path is printed on
stderr. Bad input: exit 2, nothing on stdout, one JSON error line on stderr (the CLI convention).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .cli import fail, load_json, read_settings
from .encode import FORMATS, build_payload
from .errors import InvalidInput, MappingError
from .settings import Settings
from .view import render_diff_html, render_html

__all__ = ["register"]


def _is_exchange(doc: Any) -> bool:
    return isinstance(doc, dict) and "request" in doc and "data" not in doc


def _payload(source: str, settings: Settings | None, fmt: Any) -> Any:
    """The payload in ``source``, or the mapping of the exchange in it when settings are given."""
    doc = load_json(source, InvalidInput)
    if settings is not None and _is_exchange(doc):
        return build_payload(doc, settings, fmt)
    return doc


def _cmd_view(args: argparse.Namespace) -> int:
    try:
        wanted = 2 if args.diff else 1
        if len(args.files) != wanted:
            usage = "--diff EXPECTED.json ACTUAL.json" if args.diff else "one PAYLOAD.json (or EXCHANGE.json)"
            raise InvalidInput("$", f"view takes {usage}, got {len(args.files)} files")
        settings = read_settings(args.settings) if args.settings is not None else None
        payloads = [_payload(source, settings, args.format) for source in args.files]
        if args.diff:
            page = render_diff_html(payloads[0], payloads[1], title=args.title)
        else:
            page = render_html(payloads[0], title=args.title)
        if args.out == "-":
            sys.stdout.write(page)
            sys.stdout.flush()
            return 0
        try:
            Path(args.out).write_text(page, encoding="utf-8")
        except OSError as exc:
            raise InvalidInput(
                "$", f"cannot write --out {args.out!r}: {exc.__class__.__name__}: {exc}"
            ) from None
    except MappingError as exc:
        return fail(exc)
    sys.stderr.write(f"{args.out}\n")
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``view`` subcommand."""
    parser = subparsers.add_parser(
        "view",
        help="write a self-contained HTML trace view of a payload (or of an exchange's mapping)",
        description="Show a span payload the way Datadog's LLM Observability trace view does, in one "
        "HTML file with no network access. With --diff, show ACTUAL with its differences from EXPECTED.",
    )
    parser.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="PAYLOAD.json, or EXCHANGE.json with --settings; with --diff: EXPECTED.json ACTUAL.json",
    )
    parser.add_argument("--diff", action="store_true", help="compare EXPECTED.json with ACTUAL.json")
    parser.add_argument("--settings", help="destination settings JSON: map exchange files first")
    parser.add_argument("--format", choices=FORMATS, default="public", help="wire format when mapping")
    parser.add_argument(
        "--out", default="trace.html", help="where to write the page (default trace.html; - = stdout)"
    )
    parser.add_argument("--title", help="page title (default: the root span's name)")
    parser.set_defaults(func=_cmd_view)
