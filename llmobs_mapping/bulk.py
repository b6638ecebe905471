"""Bulk mapping: a JSONL stream of exchanges → a JSONL stream of payloads, in constant memory.

One exchange document per input line; per line, in this order: parse the JSON, read the exchange
(``read_exchange``), decide (``decide``: contract §2), map (``build_payload``) and encode
(``dumps``, compact). A line never stops the run: bad JSON or a bad exchange becomes a failed
:class:`LineResult` carrying the CLI's error object and the 1-based line number.

Pure apart from :func:`map_lines_parallel`, which runs the same per-line function in worker
processes and yields the results in input order, with a bounded number of batches in flight.
No clock, no network; the CLI (``cli_bulk.py``) does the reading, writing and progress display.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Generator, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Literal

from .canonical import DuplicateKey, strict_loads
from .decide import decide
from .encode import Format, build_payload, dumps
from .errors import InvalidInput, MappingError
from .exchange import read_exchange
from .settings import Settings

__all__ = [
    "DEFAULT_BATCH_LINES",
    "LineResult",
    "Outcome",
    "Summary",
    "map_line",
    "map_lines",
    "map_lines_parallel",
]

Outcome = Literal["mapped", "skipped", "failed", "blank"]
DEFAULT_BATCH_LINES = 256  # lines per task sent to a worker process
_BATCHES_PER_WORKER = 4  # in-flight batches per worker: enough to keep workers busy, bounded memory
_DETAIL = 160  # longest JSON parser message quoted in an error


@dataclass(frozen=True, slots=True)
class LineResult:
    """What became of one input line.

    ``mapped``: ``payload`` holds the compact JSON payload (no newline). ``skipped``: ``reason`` is
    :func:`~.decide.decide`'s reason. ``failed``: ``reason`` is the error class name and ``error``
    the CLI's error object (``{"error", "path", "message"}``). ``blank``: an empty or
    whitespace-only line, ignored.
    """

    line: int
    outcome: Outcome
    payload: bytes | None = None
    reason: str | None = None
    error: dict[str, str] | None = None


def _failed(line: int, error: dict[str, str]) -> LineResult:
    return LineResult(line, "failed", reason=error["error"], error=error)


def map_line(raw: bytes | str, line: int, settings: Settings, format: Format = "public") -> LineResult:
    """Map one JSONL line (``line`` is its 1-based number, used in the result only).

    Never raises for bad input: invalid JSON is an ``InvalidInput`` at ``$``; an unexpected
    exception from the mapping is reported as ``InternalError`` (class name only, so no input text
    or secret can leak through an exception message) rather than stopping a backfill.
    """
    if not raw.strip():
        return LineResult(line, "blank")
    try:
        document = strict_loads(raw)
    except DuplicateKey as exc:
        return _failed(line, InvalidInput(exc.path or "$", exc.sentence).to_dict())
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        detail = (str(exc).splitlines() or [type(exc).__name__])[0][:_DETAIL]
        return _failed(line, InvalidInput("$", f"line is not a JSON document ({detail})").to_dict())
    try:
        exchange = read_exchange(document)
        decision = decide(exchange, settings)  # contract §2: not every exchange is sent
        if not decision.send:
            return LineResult(line, "skipped", reason=decision.reason)
        return LineResult(line, "mapped", payload=dumps(build_payload(exchange, settings, format)))
    except MappingError as exc:
        return _failed(line, exc.to_dict())
    except Exception as exc:  # a bug must not stop a run over millions of lines; reported per line
        message = f"unexpected {type(exc).__name__} while mapping this line (a bug in llmobs-mapping)"
        return _failed(line, {"error": "InternalError", "path": "$", "message": message})


def map_lines(
    lines: Iterable[bytes | str], settings: Settings, format: Format = "public", *, first_line: int = 1
) -> Iterator[LineResult]:
    """Map lines one by one, lazily: one :class:`LineResult` per input line, in order."""
    for number, raw in enumerate(lines, start=first_line):
        yield map_line(raw, number, settings, format)


# -- worker processes ---------------------------------------------------------------------------

_worker_settings: Settings | None = None
_worker_format: Format = "public"


def _init_worker(settings: Settings, format: Format) -> None:
    global _worker_settings, _worker_format  # per-process state of a pool worker
    _worker_settings, _worker_format = settings, format


def _map_batch(first_line: int, batch: list[bytes | str]) -> list[LineResult]:
    if _worker_settings is None:
        raise RuntimeError("bulk worker used before _init_worker")
    return list(map_lines(batch, _worker_settings, _worker_format, first_line=first_line))


def map_lines_parallel(
    lines: Iterable[bytes | str],
    settings: Settings,
    format: Format = "public",
    *,
    workers: int,
    batch_lines: int = DEFAULT_BATCH_LINES,
) -> Generator[LineResult, None, None]:
    """:func:`map_lines` in ``workers`` processes: same results, same order.

    Lines are sent in batches of ``batch_lines``; at most ``4 * workers`` batches are in flight, so
    memory stays constant however long the input is.
    """
    if workers < 1:
        raise ValueError("workers must be at least 1")
    if workers == 1:
        yield from map_lines(lines, settings, format)
        return
    source = iter(lines)
    pending: deque[Future[list[LineResult]]] = deque()
    pool = ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(settings, format))
    try:
        first_line = 1
        while batch := list(islice(source, batch_lines)):
            pending.append(pool.submit(_map_batch, first_line, batch))
            first_line += len(batch)
            if len(pending) >= workers * _BATCHES_PER_WORKER:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# -- summary ------------------------------------------------------------------------------------


@dataclass(slots=True)
class Summary:
    """Counts over a run: lines read, payloads written, skips by decide reason, failures by error."""

    lines: int = 0
    mapped: int = 0
    blank: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)

    def add(self, result: LineResult) -> None:
        """Count one line's result."""
        self.lines += 1
        if result.outcome == "mapped":
            self.mapped += 1
        elif result.outcome == "blank":
            self.blank += 1
        elif result.outcome == "skipped":
            self.skipped[result.reason or ""] += 1
        else:
            self.failed[result.reason or ""] += 1

    @property
    def failures(self) -> int:
        return sum(self.failed.values())

    def to_dict(self) -> dict[str, Any]:
        """``{"lines", "mapped", "skipped": {reason: n}, "failed": {error: n}, "blank"}``, keys sorted."""
        return {
            "lines": self.lines,
            "mapped": self.mapped,
            "skipped": dict(sorted(self.skipped.items())),
            "failed": dict(sorted(self.failed.items())),
            "blank": self.blank,
        }
