"""``llmobs-mapping validate FILE --schema NAME``: check a JSON document against one of the schemas.

Exit 0 when valid (``valid`` on stderr, nothing on stdout); exit 1 with one ``<json path>: <message>``
line per violation on stdout; exit 2 with the CLI's JSON error line on stderr when the file cannot be
read or is not JSON.
"""

from __future__ import annotations

import argparse
import sys

from .cli import fail, load_json
from .errors import InvalidInput, MappingError
from .schemas import SCHEMA_NAMES, iter_violations

__all__ = ["register", "run_validate"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``validate`` subcommand to the ``llmobs-mapping`` parser."""
    parser = subparsers.add_parser(
        "validate",
        help="validate a JSON document against one of the project's JSON Schemas",
        description="Exit 0 if valid; 1 with one '<json path>: <message>' line per violation; "
        "2 if the file cannot be read or is not JSON.",
    )
    parser.add_argument("file", metavar="FILE", help="the JSON document; - for stdin")
    parser.add_argument(
        "--schema", required=True, choices=SCHEMA_NAMES, help="the schema to validate against"
    )
    parser.set_defaults(func=run_validate)


def run_validate(args: argparse.Namespace) -> int:
    """Validate ``args.file`` against ``args.schema``; return the exit code."""
    try:
        document = load_json(args.file, InvalidInput)
    except MappingError as exc:
        return fail(exc)
    violations = iter_violations(document, args.schema)
    if not violations:
        sys.stderr.write("valid\n")
        return 0
    sys.stdout.write("".join(f"{v.path}: {v.message}\n" for v in violations))
    sys.stdout.flush()
    return 1
