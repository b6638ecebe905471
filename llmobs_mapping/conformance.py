"""The conformance suite: load fixture cases, run an implementation on them, compare the results.

A case is a folder ``<root>/<group>/<name>/`` (id ``<group>/<name>``) holding ``case.json``,
``exchange.json``, ``settings.json`` and exactly one of ``expected.json`` (the payload) or
``error.json`` (``{"error": "<ErrorClassName>", "path": "<JSON path>"}``). fixtures/README.md is
the suite's specification: the layout, the process contract and the comparison rules.

Two ways to use it:

- from Python: :func:`iter_cases` + :func:`compare` (parametrize a test over the cases);
- through a process, any language: :func:`run_command` / :func:`run_suite` start the
  implementation's command line, write :func:`case_document` to its stdin and read its stdout.

This module is not part of the pure mapping core: it reads files, the environment
(``LLMOBS_MAPPING_FIXTURES``) and starts processes.
"""

from __future__ import annotations

import fnmatch
import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Final, Literal, cast

from .bounded_process import run_bounded
from .canonical import strict_loads
from .jsondiff import Difference, diff

__all__ = [
    "CASE_FORMATS",
    "CASE_KEYS",
    "ENV_FIXTURES",
    "MAX_STDERR_BYTES",
    "MAX_STDOUT_BYTES",
    "Case",
    "CaseFormat",
    "ExpectedError",
    "MalformedCase",
    "Outcome",
    "OutcomeStatus",
    "SuiteError",
    "SuiteNotFound",
    "SuiteResult",
    "case_document",
    "check_timeout",
    "compare",
    "default_root",
    "iter_cases",
    "judge",
    "load_case",
    "run_command",
    "run_suite",
]

ENV_FIXTURES: Final = "LLMOBS_MAPPING_FIXTURES"
"""Environment variable naming the fixture root (overrides the built-in suite)."""

CaseFormat = Literal["public", "evp"]
CASE_FORMATS: Final[tuple[CaseFormat, ...]] = ("public", "evp")

ERROR_EXIT_CODE: Final = 2
"""Process contract: an implementation reports a typed error with exit code 2."""


class SuiteError(Exception):
    """The fixture tree cannot be used: nothing found, or a case folder is malformed."""


class SuiteNotFound(SuiteError):
    """No fixture root, or no case under it matched."""


class MalformedCase(SuiteError):
    """A case folder breaks the layout (missing file, unreadable JSON, wrong ``case.json`` shape)."""


@dataclass(frozen=True, slots=True)
class ExpectedError:
    """The content of ``error.json``: the error class name and the JSON path it names."""

    error: str
    path: str

    def to_dict(self) -> dict[str, str]:
        """The ``error.json`` document."""
        return {"error": self.error, "path": self.path}


@dataclass(frozen=True, slots=True)
class Case:
    """One fixture case. Exactly one of ``expected`` and ``error`` is not None."""

    id: str
    """``<group>/<name>``, the folder path under the fixture root."""
    path: Path
    description: str
    spec: tuple[str, ...]
    """Where the rule comes from: contract sections and documentation URLs."""
    format: CaseFormat
    exchange: Any
    settings: Any
    expected: Any | None
    """The expected payload (an object for ``public``, an array for ``evp``) or None for error cases."""
    error: ExpectedError | None
    tags: tuple[str, ...] = ()
    comment: str | None = None


# -- finding and loading cases ----------------------------------------------------------------


def default_root() -> Path:
    """The fixture root used when none is given.

    In order: ``$LLMOBS_MAPPING_FIXTURES``; the repository's ``fixtures/`` next to the package (a
    source checkout, so updates land in the reviewed files); the copy shipped in the wheel
    (``llmobs_mapping/_data/fixtures``). Raises :class:`SuiteNotFound` when none exists.
    """
    from_env = os.environ.get(ENV_FIXTURES)
    if from_env:
        root = Path(from_env)
        if not root.is_dir():
            raise SuiteNotFound(f"{ENV_FIXTURES}={from_env!r} is not a directory")
        return root
    checkout = Path(__file__).resolve().parent.parent / "fixtures"
    if checkout.is_dir():
        return checkout
    shipped = resources.files("llmobs_mapping").joinpath("_data", "fixtures")
    if shipped.is_dir():
        return Path(str(shipped))
    raise SuiteNotFound(
        f"no fixture suite found: set {ENV_FIXTURES} to a fixtures directory, pass root=, "
        "or install llmobs-mapping from a wheel (it ships llmobs_mapping/_data/fixtures)"
    )


def iter_cases(root: str | Path | None = None, pattern: str | None = None) -> list[Case]:
    """Load the cases under ``root`` (default: :func:`default_root`), sorted by id.

    ``pattern`` is a glob over case ids (``core/*``, ``*/stream-*``). Raises :class:`SuiteNotFound`
    when no case matches, and :class:`MalformedCase` for a broken case folder, so a misconfigured
    run fails loudly instead of passing with zero cases.
    """
    base = Path(root) if root is not None else default_root()
    if not base.is_dir():
        raise SuiteNotFound(f"fixture root {str(base)!r} is not a directory")
    cases = []
    for folder in sorted(base.glob("*/*")):
        case_id = f"{folder.parent.name}/{folder.name}"
        if not folder.is_dir() or _is_decision_case(folder):
            continue
        if pattern is None or fnmatch.fnmatchcase(case_id, pattern):
            cases.append(load_case(folder, case_id))
    if not cases:
        where = f"matching {pattern!r} " if pattern is not None else ""
        raise SuiteNotFound(f"no case {where}under {str(base)!r} (expected <group>/<name>/case.json)")
    return cases


def _is_decision_case(folder: Path) -> bool:
    # A folder with decision.json (and no payload or error) pins decide() (contract §2), not the
    # mapping: it has no answer under the process contract, so the runner leaves it out.
    return (
        (folder / "decision.json").is_file()
        and not (folder / "expected.json").exists()
        and not (folder / "error.json").exists()
    )


def load_case(folder: Path, case_id: str | None = None) -> Case:
    """Load one case folder. ``case_id`` defaults to ``<parent name>/<folder name>``."""
    case_id = case_id or f"{folder.parent.name}/{folder.name}"
    meta = _read_json(folder / "case.json", case_id)
    if not isinstance(meta, dict):
        raise MalformedCase(f"{case_id}: case.json must be an object")
    description = meta.get("description")
    if not isinstance(description, str) or not description:
        raise MalformedCase(f"{case_id}: case.json needs a non-empty string 'description'")
    spec = meta.get("spec")
    if not isinstance(spec, list) or not spec or not all(isinstance(s, str) for s in spec):
        raise MalformedCase(f"{case_id}: case.json needs 'spec', a non-empty list of strings")
    case_format = meta.get("format")
    if case_format not in CASE_FORMATS:
        raise MalformedCase(f"{case_id}: case.json 'format' must be one of {list(CASE_FORMATS)}")
    tags = meta.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise MalformedCase(f"{case_id}: case.json 'tags' must be a list of strings")
    comment = meta.get("comment")
    if comment is not None and not isinstance(comment, str):
        raise MalformedCase(f"{case_id}: case.json 'comment' must be a string")

    has_expected = (folder / "expected.json").is_file()
    has_error = (folder / "error.json").is_file()
    if has_expected == has_error:
        raise MalformedCase(f"{case_id}: needs exactly one of expected.json and error.json")
    expected = _read_json(folder / "expected.json", case_id) if has_expected else None
    error = _read_expected_error(folder / "error.json", case_id) if has_error else None
    return Case(
        id=case_id,
        path=folder,
        description=description,
        spec=tuple(spec),
        format=cast(CaseFormat, case_format),
        exchange=_read_json(folder / "exchange.json", case_id),
        settings=_read_json(folder / "settings.json", case_id),
        expected=expected,
        error=error,
        tags=tuple(tags),
        comment=comment,
    )


def _read_json(file: Path, case_id: str) -> Any:
    try:
        return strict_loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MalformedCase(f"{case_id}: missing {file.name}") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise MalformedCase(f"{case_id}: cannot read {file.name}: {exc}") from None


def _read_expected_error(file: Path, case_id: str) -> ExpectedError:
    doc = _read_json(file, case_id)
    if (
        not isinstance(doc, dict)
        or set(doc) != {"error", "path"}
        or not isinstance(doc["error"], str)
        or not isinstance(doc["path"], str)
    ):
        raise MalformedCase(
            f'{case_id}: error.json must be {{"error": "<ErrorClassName>", "path": "<JSON path>"}}'
        )
    return ExpectedError(error=doc["error"], path=doc["path"])


# -- comparing ------------------------------------------------------------------------------


CASE_KEYS = ("exchange", "settings", "format")
"""The members of a case document (``schemas/case.schema.json``), in :func:`case_document`'s order."""


def case_document(case: Case) -> dict[str, Any]:
    """What the implementation reads on stdin: ``{"exchange", "settings", "format"}``."""
    return {"exchange": case.exchange, "settings": case.settings, "format": case.format}


def compare(
    case: Case,
    actual_payload: Any = None,
    *,
    error: BaseException | Mapping[str, Any] | None = None,
) -> list[Difference]:
    """Differences between what the case expects and what an implementation produced; ``[]`` = pass.

    Pass the payload the implementation returned, or (keyword ``error``) the exception it raised or
    its error document ``{"error": <class name>, "path": ...}``. For error cases the class name and
    the path are compared (paths ``$.error`` and ``$.path`` of the error document), never the message.
    A payload where an error was expected (or the reverse) is one ``changed`` difference at ``$``.
    """
    actual_error = _error_document(error) if error is not None else None
    if case.error is not None:
        if actual_error is None:
            return [Difference("$", "changed", case.error.to_dict(), actual_payload)]
        return diff(case.error.to_dict(), actual_error)
    if actual_error is not None:
        return [Difference("$", "changed", case.expected, actual_error)]
    return diff(case.expected, actual_payload)


def _error_document(error: BaseException | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(error, BaseException):
        # MappingError and subclasses carry .path; anything else (a crash) has none.
        return {"error": type(error).__name__, "path": getattr(error, "path", None)}
    return {"error": error.get("error"), "path": error.get("path")}


# -- running an implementation as a process ---------------------------------------------------

MAX_STDOUT_BYTES: Final = 64 * 1024 * 1024
"""The most stdout a case may write. An answer is one exchange's payload: a few spans of at most
``max_span_bytes`` (5 MB at most, docs/spec.md §9) each; the fixtures' largest is under 4 KB."""
MAX_STDERR_BYTES: Final = 1024 * 1024
"""The most stderr a case may write: an error line, warnings, a stack trace."""

OutcomeStatus = Literal["passed", "mismatch", "crashed", "timeout", "invalid-output"]
"""``passed``; ``mismatch``: a well-formed answer that differs (see ``differences``); ``crashed``: an
exit code other than 0 and 2; ``timeout``; ``invalid-output``: exit 0 without JSON on stdout, exit 2
without an error line on stderr, or more output than :data:`MAX_STDOUT_BYTES` /
:data:`MAX_STDERR_BYTES` (the command is then stopped: ``exit_code`` None)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of running one case through an implementation."""

    case: Case
    status: OutcomeStatus
    differences: tuple[Difference, ...] = ()
    reason: str = ""
    """Why a case that did not produce a comparable answer failed (crash, timeout, bad output)."""
    exit_code: int | None = None
    stdout: str = ""
    stderr: str = ""

    @property
    def passed(self) -> bool:
        """True when the implementation's answer equals the expected one."""
        return self.status == "passed"


@dataclass(frozen=True, slots=True)
class SuiteResult:
    """All outcomes of a suite run, in case id order."""

    outcomes: tuple[Outcome, ...]

    @property
    def passed(self) -> int:
        """How many cases passed."""
        return sum(1 for o in self.outcomes if o.passed)

    @property
    def failed(self) -> int:
        """How many cases failed, for whatever reason."""
        return len(self.outcomes) - self.passed

    @property
    def failures(self) -> tuple[Outcome, ...]:
        """The outcomes that did not pass."""
        return tuple(o for o in self.outcomes if not o.passed)


def run_command(
    case: Case,
    command: str,
    timeout: float = 30,
    *,
    stdout_limit: int = MAX_STDOUT_BYTES,
    stderr_limit: int = MAX_STDERR_BYTES,
) -> Outcome:
    """Run ``command`` on one case and judge its answer.

    ``command`` is a shell command line, run with ``shell=True`` (``/bin/sh -c`` on POSIX) in the
    current directory and environment, so ``node mapper.js`` or ``cd impl && ./map`` both work. Its
    stdin receives :func:`case_document` as UTF-8 JSON. Exit 0 with the payload JSON on stdout is an
    answer; so is exit 2 with a JSON line ``{"error", "path", "message"}`` on stderr. Anything else
    fails the case, and so does running longer than ``timeout`` seconds (a finite number > 0) or
    writing more than ``stdout_limit`` / ``stderr_limit`` bytes: the command's process group is then
    killed. The run takes at most ``timeout`` plus a 0.5 s grace, whatever the command does: pipes a
    detached grandchild keeps open are closed 0.5 s after the command exited or was killed.
    """
    check_timeout(timeout)
    _check_limit("stdout_limit", stdout_limit)
    _check_limit("stderr_limit", stderr_limit)
    stdin = json.dumps(case_document(case), ensure_ascii=False, sort_keys=True).encode("utf-8")
    run = run_bounded(command, stdin, timeout, {"stdout": stdout_limit, "stderr": stderr_limit})
    if run.stopped == "timeout":
        return Outcome(
            case,
            "timeout",
            reason=f"timed out after {timeout:g}s",
            stdout=_text(run.stdout),
            stderr=_text(run.stderr),
        )
    if run.overflow is not None:
        limit = stdout_limit if run.overflow == "stdout" else stderr_limit
        return Outcome(
            case,
            "invalid-output",
            reason=f"more than {_size(limit)} on {run.overflow}; the command was stopped",
            exit_code=run.exit_code,
            stdout=_text(run.stdout),
            stderr=_text(run.stderr),
        )
    assert run.exit_code is not None  # neither stopped nor cut: the command exited
    return judge(case, run.exit_code, run.stdout, run.stderr)


def check_timeout(timeout: object) -> None:
    """A per-case time limit must be a finite number of seconds above 0 (TypeError, ValueError)."""
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise TypeError(f"timeout must be a number of seconds, not {type(timeout).__name__}")
    if not (math.isfinite(timeout) and timeout > 0):
        raise ValueError(f"timeout must be a finite number of seconds greater than 0, not {timeout:g}")


def _check_limit(name: str, limit: object) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise TypeError(f"{name} must be a whole number of bytes, not {type(limit).__name__}")
    if limit < 1:
        raise ValueError(f"{name} must be at least 1 byte, not {limit}")


def _size(limit: int) -> str:
    for unit, size in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if limit % size == 0:
            return f"{limit // size} {unit}"
    return f"{limit} bytes"


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def judge(case: Case, exit_code: int, raw_stdout: bytes, raw_stderr: bytes) -> Outcome:
    """Turn a finished process's exit code and output into an :class:`Outcome` (process contract)."""
    stdout, stderr = _text(raw_stdout), _text(raw_stderr)

    def outcome(status: OutcomeStatus, differences: Sequence[Difference] = (), reason: str = "") -> Outcome:
        return Outcome(case, status, tuple(differences), reason, exit_code, stdout, stderr)

    if exit_code == 0:
        try:
            payload = strict_loads(raw_stdout.decode("utf-8"))  # NaN or Infinity is not JSON either
        except UnicodeDecodeError:
            return outcome("invalid-output", reason="exit 0 but stdout is not UTF-8")
        except (ValueError, RecursionError) as exc:
            return outcome("invalid-output", reason=f"exit 0 but stdout is not JSON ({exc})")
        differences = compare(case, payload)
    elif exit_code == ERROR_EXIT_CODE:
        error_line = _error_line(stderr)
        if error_line is None:
            return outcome(
                "invalid-output",
                reason='exit 2 but no JSON error line {"error": ..., "path": ...} on stderr',
            )
        differences = compare(case, error=error_line)
    else:
        return outcome("crashed", reason=f"crashed with exit code {exit_code}")
    return outcome("mismatch" if differences else "passed", differences)


def _error_line(stderr: str) -> dict[str, Any] | None:
    # The last stderr line that is a JSON object with a string "error": warnings may come before it.
    for line in reversed(stderr.splitlines()):
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if isinstance(doc, dict) and isinstance(doc.get("error"), str):
            return doc
    return None


def run_suite(
    command: str,
    root: str | Path | None = None,
    pattern: str | None = None,
    format: CaseFormat | None = None,
    *,
    timeout: float = 30,
    jobs: int = 1,
    on_outcome: Callable[[Outcome], None] | None = None,
    stdout_limit: int = MAX_STDOUT_BYTES,
    stderr_limit: int = MAX_STDERR_BYTES,
) -> SuiteResult:
    """Run ``command`` (see :func:`run_command`) on every case, optionally filtered.

    ``pattern`` globs case ids; ``format`` keeps only cases of that wire format. ``jobs`` > 1 runs that
    many cases at once (``jobs`` ≥ 1; each is a process); outcomes (and ``on_outcome`` calls, for
    progress reports) still come in case id order; an exception from ``on_outcome`` ends the run (cases
    not started are not run). Raises :class:`SuiteNotFound` when no case matches, ValueError or
    TypeError for a ``timeout`` that is not a finite number > 0 or ``jobs`` below 1.
    """
    check_timeout(timeout)
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a whole number from 1, not {jobs!r}")
    cases = iter_cases(root, pattern)
    if format is not None:
        cases = [c for c in cases if c.format == format]
        if not cases:
            raise SuiteNotFound(f"no case of format {format!r} matched")

    def run(case: Case) -> Outcome:
        return run_command(case, command, timeout, stdout_limit=stdout_limit, stderr_limit=stderr_limit)

    outcomes = []
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for outcome in pool.map(run, cases):
            if on_outcome is not None:
                on_outcome(outcome)
            outcomes.append(outcome)
    return SuiteResult(tuple(outcomes))
