"""Run a shell command with bounded time and output, whatever it does (the conformance runner's
process layer, :func:`~.conformance.run_command`).

The command gets its own process group (POSIX), its stdin is written and its stdout and stderr are
read up to their limits, and the run ends at the deadline, at an output limit, or when the command
exits, plus a grace for pipes a detached grandchild may hold: :func:`run_bounded` returns within
``timeout`` + 0.5 s. What the command leaves in its process group is killed. POSIX reads the pipes
with a selector in the calling thread; elsewhere (Windows pipes cannot be selected) one thread per
pipe does.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any, Final, Literal, cast

__all__ = ["BoundedRun", "run_bounded"]

_GRACE: Final = 0.5
"""Seconds the pipes may stay open after the command exited or was killed (a detached grandchild can
hold them forever); then they are closed and the case is judged on what was read."""
_POLL: Final = 0.05
"""Seconds between checks whether the command exited while something else holds its pipes."""
_CHUNK: Final = 65536


@dataclass(frozen=True, slots=True)
class BoundedRun:
    """How a bounded run ended: what was read (at most each stream's limit) and why it stopped."""

    stdout: bytes
    stderr: bytes
    exit_code: int | None
    """None when the runner stopped the command (timeout, output over a limit)."""
    stopped: Literal["timeout"] | None
    overflow: str | None
    """``stdout`` or ``stderr`` when that stream passed its limit."""


def run_bounded(
    command: str, stdin: bytes, timeout: float, limits: Mapping[str, int], *, threads: bool | None = None
) -> BoundedRun:
    """Run the command to its end, the deadline, or an output limit; never longer than timeout + grace.

    POSIX reads the pipes with a selector in this thread, so they can be closed whatever holds them;
    elsewhere (Windows) one thread per pipe does (``threads``, for tests).
    """
    process = subprocess.Popen(
        command,
        shell=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=os.name == "posix",  # a process group, so a timeout kills the whole tree
    )
    files = cast(_Files, (process.stdin, process.stdout, process.stderr))  # all three are PIPE
    use_threads = os.name != "posix" if threads is None else threads
    pipes = (_ThreadPipes if use_threads else _SelectorPipes)(files, stdin, limits)
    stopped: Literal["timeout"] | None = None
    exited_at: float | None = None
    try:
        deadline = time.monotonic() + timeout
        while pipes.overflow is None:
            now = time.monotonic()
            if exited_at is None and _exited(process):
                exited_at = now
            if exited_at is not None:
                # The command is gone; a detached grandchild may hold the pipes: wait a grace at most.
                if pipes.outputs_closed or now >= exited_at + _GRACE:
                    break
                pipes.pump(min(_POLL, exited_at + _GRACE - now))
            elif now >= deadline:
                stopped = "timeout"
                break
            elif pipes.idle:  # stdout and stderr closed, stdin written: wait for the exit alone
                _wait_exit(process, deadline - now)
            else:
                pipes.pump(min(_POLL, deadline - now))
        if exited_at is None:
            _kill(process)
            if stopped == "timeout":  # what the group wrote before the kill, unless a leftover holds on
                until = time.monotonic() + _GRACE
                while not pipes.outputs_closed and pipes.overflow is None and time.monotonic() < until:
                    pipes.pump(min(_POLL, until - time.monotonic()))
    finally:
        pipes.close()
        _reap(process, exited=exited_at is not None)
    return BoundedRun(
        stdout=pipes.output("stdout"),
        stderr=pipes.output("stderr"),
        exit_code=process.returncode if exited_at is not None else None,
        stopped=stopped,
        overflow=pipes.overflow if stopped is None else None,
    )


def _exited(process: subprocess.Popen[bytes]) -> bool:
    # On POSIX the exited command is left unreaped (WNOWAIT): its pid, the process group's id, cannot
    # be reused before _reap kills what is left in the group.
    if process.returncode is not None:
        return True
    if os.name == "posix" and hasattr(os, "waitid"):
        try:
            return os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
        except ChildProcessError:  # reaped elsewhere
            pass
    return process.poll() is not None


def _wait_exit(process: subprocess.Popen[bytes], seconds: float) -> None:
    # Like Popen.wait(seconds) (the same backoff) but leaves the process unreaped (see _exited).
    until, delay = time.monotonic() + seconds, 0.0005
    while not _exited(process):
        remaining = until - time.monotonic()
        if remaining <= 0:
            return
        time.sleep(min(delay, remaining))
        delay = min(delay * 2, _POLL)


def _reap(process: subprocess.Popen[bytes], *, exited: bool) -> None:
    # Kill whatever the command left in its process group (still unreaped, so the group id is ours),
    # then collect its exit status.
    if process.returncode is None and (os.name == "posix" or not exited):
        _kill(process)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(_GRACE)


def _kill(process: subprocess.Popen[bytes]) -> None:
    if os.name == "posix":
        # already gone; or only a zombie left, which some systems (macOS) answer with EPERM
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)  # the group we created for this process only
    else:
        process.kill()


_Files = tuple[IO[bytes], IO[bytes], IO[bytes]]
"""The command's stdin, stdout and stderr pipes."""


class _Pipes(ABC):
    """The command's three pipes: stdin being written, stdout and stderr read up to their limits."""

    overflow: str | None = None
    """The first output stream that passed its limit (reading it stops there)."""

    def __init__(self, limits: Mapping[str, int]) -> None:
        self._limits = dict(limits)
        self._buffers = {name: bytearray() for name in limits}

    @property
    @abstractmethod
    def outputs_closed(self) -> bool:
        """True once stdout and stderr are both at end of file (or cut at their limit)."""

    @property
    @abstractmethod
    def idle(self) -> bool:
        """True when nothing is left to read or write."""

    @abstractmethod
    def pump(self, seconds: float) -> None:
        """Move data for at most ``seconds`` (returns earlier on any progress)."""

    @abstractmethod
    def close(self) -> None:
        """Stop: close what can be closed; nothing is read after this."""

    def output(self, name: str) -> bytes:
        """What was read from ``name`` (at most its limit)."""
        return bytes(self._buffers[name])

    def _keep(self, name: str, data: bytes) -> bool:
        # Store data up to the stream's limit; False (and overflow set) once it is passed.
        buffer = self._buffers[name]
        room = self._limits[name] - len(buffer)
        buffer += data[:room]
        if len(data) > room:
            if self.overflow is None:
                self.overflow = name
            return False
        return True


class _SelectorPipes(_Pipes):
    """POSIX: non-blocking pipes and a selector, all in the calling thread."""

    def __init__(self, files: _Files, stdin: bytes, limits: Mapping[str, int]) -> None:
        super().__init__(limits)
        self._files = files
        self._stdin = memoryview(stdin)
        self._selector = selectors.DefaultSelector()
        os.set_blocking(files[0].fileno(), False)
        for file, name in zip(files, ("stdin", "stdout", "stderr"), strict=True):
            events = selectors.EVENT_WRITE if name == "stdin" else selectors.EVENT_READ
            self._selector.register(file, events, name)

    @property
    def outputs_closed(self) -> bool:
        registered = self._selector.get_map()
        return all(key.data == "stdin" for key in registered.values())

    @property
    def idle(self) -> bool:
        return not self._selector.get_map()

    def pump(self, seconds: float) -> None:
        if self.idle:
            time.sleep(max(seconds, 0))
            return
        for key, _ in self._selector.select(max(seconds, 0)):
            if key.data == "stdin":
                self._write(key)
                continue
            data = os.read(key.fd, _CHUNK)
            if not data or not self._keep(key.data, data):
                self._done(key)

    def _write(self, key: selectors.SelectorKey) -> None:
        try:
            written = os.write(key.fd, self._stdin[:_CHUNK])
        except BlockingIOError:
            return
        except OSError:  # the command stopped reading (EPIPE): its answer tells
            written = len(self._stdin)
        self._stdin = self._stdin[written:]
        if not self._stdin:
            self._done(key)

    def _done(self, key: selectors.SelectorKey) -> None:
        self._selector.unregister(key.fileobj)
        with contextlib.suppress(OSError):
            cast(Any, key.fileobj).close()

    def close(self) -> None:
        self._selector.close()
        for file in self._files:
            with contextlib.suppress(OSError):
                file.close()


class _ThreadPipes(_Pipes):
    """Elsewhere (Windows pipes cannot be selected): one thread per pipe. A thread blocked on a pipe
    that a leftover process holds cannot be interrupted; it owns its pipe and closes it at its end."""

    def __init__(self, files: _Files, stdin: bytes, limits: Mapping[str, int]) -> None:
        super().__init__(limits)
        self._lock = threading.Lock()
        self._progress = threading.Event()
        self._closed = False
        self._threads = [
            threading.Thread(target=self._write, args=(files[0], stdin), daemon=True),
            threading.Thread(target=self._read, args=("stdout", files[1]), daemon=True),
            threading.Thread(target=self._read, args=("stderr", files[2]), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _write(self, pipe: Any, data: bytes) -> None:
        try:
            pipe.write(data)
        except (OSError, ValueError):  # the command stopped reading
            pass
        finally:
            with contextlib.suppress(OSError, ValueError):
                pipe.close()
            self._progress.set()

    def _read(self, name: str, pipe: Any) -> None:
        try:
            while not self._closed:
                data = pipe.read1(_CHUNK)
                with self._lock:
                    if not data or self._closed or not self._keep(name, data):
                        break
                self._progress.set()
        except (OSError, ValueError):
            pass
        finally:
            with contextlib.suppress(OSError, ValueError):
                pipe.close()
            self._progress.set()

    @property
    def outputs_closed(self) -> bool:
        return not any(thread.is_alive() for thread in self._threads[1:])

    @property
    def idle(self) -> bool:
        return not any(thread.is_alive() for thread in self._threads)

    def pump(self, seconds: float) -> None:
        self._progress.wait(max(seconds, 0))
        self._progress.clear()

    def close(self) -> None:
        with self._lock:
            self._closed = True

    def output(self, name: str) -> bytes:
        with self._lock:
            return super().output(name)
