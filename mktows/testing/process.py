"""A test double in a process of its own: `mktows serve` (or any mktows command that prints a
ready line) started as a subprocess of the test.

A server in the test's own process (mktows.testing.double) starts in milliseconds, but it
shares the process with the test: its logging, the emulator's clock offset, the SMTP
connection limit. A server in a process of its own shares nothing and can be signalled or
killed like a production server; it takes a second or two to start. `start_server(...,
process=True)` picks it.

The harness waits for the command's ready line (`mktows ready on URL` for `serve`); if the
process exits first, or stays silent for `ready_timeout` seconds, `StartError` says so with
everything the process printed, so a broken start is reported as one clear error.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

READY_RE = re.compile(r"mktows ready on (http://\S+)")
# A variable of the test process that would change the server's settings (MKTOWS_*) is not
# passed on, so a developer's environment cannot change what a test sees; these are not settings.
PASSED_ON = ("MKTOWS_TEST_",)


class StartError(RuntimeError):
    """A mktows process exited, or printed no ready line in time; the message holds its output."""


class MktowsProcess:
    """A `python -m mktows ...` process: its output so far, signals, and a hard kill."""

    def __init__(self, proc: subprocess.Popen[str], ready_match: str, output: list[str]) -> None:
        self.proc = proc
        self.ready_match = ready_match
        self._output = output

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self) -> str:
        """Everything the process printed (stdout and stderr) so far."""
        return "".join(self._output)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: no chance to finish calls or hand jobs back (what a crash test wants)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def process_environment(env: Mapping[str, str] | None) -> dict[str, str]:
    """The test process's environment without its mktows settings, then `env`."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith("MKTOWS_") or k.startswith(PASSED_ON)}
    return {**kept, "PYTHONUNBUFFERED": "1", **(env or {})}


def _read_lines(
    stream: object, sink: list[str], found: list[str], ready: threading.Event, pattern: re.Pattern[str]
) -> None:
    for line in iter(stream.readline, ""):  # type: ignore[attr-defined]
        sink.append(line)
        if not found and (match := pattern.search(line)):
            found.append(match.group(1))
            ready.set()
    ready.set()  # end of output: wake the waiter so it sees the exit


@contextlib.contextmanager
def running_mktows(
    args: list[str],
    ready_re: re.Pattern[str] = READY_RE,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    ready_timeout: float = 30.0,
) -> Iterator[MktowsProcess]:
    """`python -m mktows ARGS` with the settings `env`, once it printed a line `ready_re`
    matches (its first group is `ready_match`); terminated, then killed, on exit."""
    command = [sys.executable, "-m", "mktows", *args]
    proc = subprocess.Popen(
        command,
        cwd=cwd,
        env=process_environment(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        errors="replace",
    )
    output: list[str] = []
    found: list[str] = []
    ready = threading.Event()
    reader = threading.Thread(target=_read_lines, args=(proc.stdout, output, found, ready, ready_re), daemon=True)
    reader.start()
    try:
        _wait_until_ready(proc, found, ready, ready_re, ready_timeout, command, output)
        yield MktowsProcess(proc, found[0], output)
    finally:
        _stop(proc)
        reader.join(10)
        if proc.stdout is not None:
            proc.stdout.close()


def _wait_until_ready(
    proc: subprocess.Popen[str],
    found: list[str],
    ready: threading.Event,
    pattern: re.Pattern[str],
    timeout: float,
    command: list[str],
    output: list[str],
) -> None:
    deadline = time.monotonic() + timeout
    what = " ".join(["mktows", *command[3:4]])  # the command's name: `mktows serve`
    while not found:
        if proc.poll() is not None:
            time.sleep(0.05)  # let the reader take the last lines
            raise StartError(
                f"{what} exited with code {proc.returncode} before it was ready.\n"
                f"command: {' '.join(command)}\n--- output ---\n{''.join(output)}"
            )
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise StartError(
                f"{what} printed no line matching {pattern.pattern!r} within {timeout:g}s.\n"
                f"command: {' '.join(command)}\n--- output ---\n{''.join(output)}"
            )
        ready.wait(min(remaining, 0.2))
        if ready.is_set() and not found:  # output closed: the exit code is on its way
            time.sleep(0.02)


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@contextlib.contextmanager
def working_directory(directory: Path | None) -> Iterator[Path]:
    """`directory` (created if missing), or a temporary one removed afterwards."""
    if directory is not None:
        directory.mkdir(parents=True, exist_ok=True)
        yield directory
        return
    with tempfile.TemporaryDirectory(prefix="mktows-double-") as made:
        yield Path(made)
