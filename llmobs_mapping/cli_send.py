"""CLI subcommands ``send`` and ``test-connection`` (contract §8), registered by :mod:`llmobs_mapping.cli`.

- ``send EXCHANGE.json... --settings S.json [--format public|evp] [--agent URL] [--gzip] [--dry-run]``
  maps each exchange, packs the spans into the fewest requests (:mod:`.batching`) and sends them
  (:mod:`.sender`). ``--agent URL`` sends the EVP format through a Datadog Agent; ``--format evp``
  alone sends it agentless. ``--dry-run`` prints the request bodies, one JSON per line, instead.
  Like Broadcast, it sends only the exchanges the destination's rules let through (``decide``:
  enabled, api_key_hashes, filter rules, sampling; contract §2) and counts the others as skipped by
  reason; ``--send-all`` sends every exchange given. The exchange files carry no API key hash, so
  a destination with ``api_key_hashes`` skips everything unless ``--send-all`` is given.
- ``send --test-trace --settings S.json`` sends OpenRouter's synthetic "Send Trace" exchange (as
  the destination page's test button does, whatever the rules).
- ``test-connection --settings S.json`` checks the API key against the site (``/api/v1/validate``).

Output: the outcome as one JSON line on stdout and a human summary on stderr. Exit codes: 0 all
delivered (or the key is valid), 1 something not delivered (each batch listed) or the check failed,
2 bad input or settings (one JSON error line on stderr, nothing on stdout). stdout is flushed before
returning, so an output that cannot be written (a full disk) fails here, not at exit, and
:func:`~.cli.main` reports it as ``OutputError`` (exit 2); after a real send that line also says
how many spans were delivered, since the report itself is lost.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from . import sender
from .batching import plan_batches
from .cli import fail, load_json, read_settings
from .decide import decide
from .encode import FORMATS, Format, build_payload
from .errors import InvalidInput, MappingError
from .exchange import read_exchange
from .settings import Settings
from .testtrace import test_trace_exchange

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``send`` and ``test-connection`` subcommands."""
    p = subparsers.add_parser("send", help="map exchanges and send their spans to Datadog")
    p.add_argument("exchanges", nargs="*", metavar="EXCHANGE.json", help="exchange JSON files")
    p.add_argument("--settings", help="destination settings JSON file (OpenRouter's destination object)")
    p.add_argument("--format", choices=FORMATS, default=None, help="public (default) or evp (agentless)")
    p.add_argument("--agent", metavar="URL", help="send the evp format through a Datadog Agent at URL")
    p.add_argument("--gzip", action="store_true", help="gzip request bodies (unconfirmed on the public API)")
    p.add_argument("--dry-run", action="store_true", help="print the request bodies instead of sending")
    p.add_argument(
        "--send-all",
        action="store_true",
        help="send every exchange, ignoring the destination's rules (enabled, key hashes, filters, sampling)",
    )
    p.add_argument("--test-trace", action="store_true", help="send OpenRouter's synthetic test trace")
    p.set_defaults(func=_cmd_send)
    t = subparsers.add_parser("test-connection", help="check the API key against the Datadog site")
    t.add_argument("--settings", help="destination settings JSON file")
    t.set_defaults(func=_cmd_test_connection)


def _settings(args: argparse.Namespace) -> Settings:
    if not args.settings:
        raise InvalidInput("$", "--settings SETTINGS.json is required")
    return read_settings(args.settings)


def _route(args: argparse.Namespace) -> tuple[sender.Mode, Format]:
    """--agent → agent mode (evp); --format evp → agentless; otherwise the public API."""
    if args.agent is not None:
        if args.format == "public":
            raise InvalidInput("$", "--agent sends the evp format (the Agent's route); drop --format public")
        return "agent", "evp"
    return ("agentless", "evp") if args.format == "evp" else ("public", "public")


def _payloads(args: argparse.Namespace, settings: Settings, fmt: Format) -> tuple[list[Any], dict[str, int]]:
    """The payloads to send, and the exchanges skipped by the destination's rules, by reason."""
    if args.test_trace == bool(args.exchanges):
        raise InvalidInput("$", "give EXCHANGE.json files or --test-trace (one of the two)")
    if args.test_trace:
        return [build_payload(test_trace_exchange(int(time.time() * 1000)), settings, fmt)], {}
    payloads = []
    skipped: dict[str, int] = {}
    for source in args.exchanges:
        try:
            exchange = read_exchange(load_json(source, InvalidInput))
            decision = decide(exchange, settings)
            if decision.send or args.send_all:
                payloads.append(build_payload(exchange, settings, fmt))
            else:
                skipped[decision.reason] = skipped.get(decision.reason, 0) + 1
        except MappingError as exc:
            exc.message = f"{source}: {exc.message}"  # say which file the path is in
            raise
    return payloads, dict(sorted(skipped.items()))


def _skipped_line(skipped: dict[str, int]) -> str:
    """The stderr line for exchanges the rules skipped ("" when none), newline included."""
    if not skipped:
        return ""
    reasons = ", ".join(f"{reason} {count}" for reason, count in skipped.items())
    total = sum(skipped.values())
    return f"skipped {total} exchange(s) by the destination's rules: {reasons} (--send-all sends them)\n"


def _result_line(result: sender.BatchResult) -> dict[str, Any]:
    line: dict[str, Any] = {
        "index": result.index,
        "split": result.split,
        "bytes": result.size,
        "spans": result.spans,
        "status": result.status,
        "attempts": result.attempts,
    }
    if result.reason != "delivered":
        line["reason"] = result.reason
    return line


def _cmd_send(args: argparse.Namespace) -> int:
    try:
        settings = _settings(args)
        mode, fmt = _route(args)
        payloads, skipped = _payloads(args, settings, fmt)
        plan = plan_batches(payloads, fmt)
        if not args.dry_run:
            http = sender.Sender(settings, mode=mode, agent_url=args.agent, gzip=args.gzip)
    except MappingError as exc:
        return fail(exc)
    for number, item in enumerate(plan):
        if item.oversized:
            sys.stderr.write(
                f"warning: request {number} holds one span of {item.size} bytes, over the request limit\n"
            )
    if args.dry_run:
        for item in plan:
            sys.stdout.buffer.write(item.body + b"\n")
        sys.stdout.buffer.flush()
        spans = sum(item.spans for item in plan)
        sys.stderr.write(
            f"dry run: {spans} span(s) in {len(plan)} request(s) ({fmt} format), nothing sent\n"
            + _skipped_line(skipped)
        )
        return 0
    with http:
        report = http.send([item.body for item in plan])
    out = {
        "url": report.url,
        "ok": report.ok,
        "delivered": [_result_line(r) for r in report.delivered],
        "failed": [_result_line(r) for r in report.failed],
        "skipped": skipped,
    }
    try:
        _print(out)
    except BrokenPipeError:
        raise
    except OSError as exc:  # main() reports it; the spans went out regardless: say what became of them
        outcome = f"{report.spans_delivered} span(s) delivered, {report.spans_failed} not delivered"
        raise OSError(exc.errno, f"{exc.strerror or exc}; {outcome}") from None
    sys.stderr.write(report.summary() + "\n" + _skipped_line(skipped))
    return 0 if report.ok else 1


def _print(out: dict[str, Any]) -> None:
    """The outcome line on stdout, flushed now: a write error raises here (main() turns it into
    ``OutputError``) rather than at interpreter exit, where it would be a traceback and exit 120."""
    sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _cmd_test_connection(args: argparse.Namespace) -> int:
    try:
        settings = _settings(args)
        result = sender.test_connection(settings)
    except MappingError as exc:
        return fail(exc)
    _print({"ok": result.ok, "status": result.status, "reason": result.reason, "message": result.message})
    sys.stderr.write(result.message + "\n")
    return 0 if result.ok else 1
