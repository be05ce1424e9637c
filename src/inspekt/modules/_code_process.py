"""The parent side of an isolated Code module: a child process per module.

The child is started at load (so a broken user file fails the project load),
gets each context pickled over a pipe, and answers the edited context. A call
that outlives its timeout kills the child; the next call starts a new one, so a
user's endless loop costs one image, not the line.
"""

from __future__ import annotations

import select
import subprocess
import sys
from pathlib import Path
from typing import Any

from . import _code_worker
from ._code_worker import UserCodeError, receive, send

__all__ = ["CodeProcess", "CodeProcessError"]

_WORKER = Path(_code_worker.__file__)
_START_TIMEOUT = 60.0


class CodeProcessError(Exception):
    """The child timed out or died; the message says which."""


class CodeProcess:
    def __init__(self, path: Path, *, memory_mb: int, output_limit: int) -> None:
        self.path = path
        self.memory_mb = memory_mb
        self.output_limit = output_limit
        self._process: subprocess.Popen[bytes] | None = None
        self.arity = self._start()

    def _start(self) -> int:
        """Start the child and wait until it loaded the user file; returns main's arity."""
        process = subprocess.Popen(
            [sys.executable, str(_WORKER), str(self.path), str(self.memory_mb), str(self.output_limit)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=self.path.parent,
        )
        self._process = process
        try:
            status, value = self._read(process, _START_TIMEOUT)
        except CodeProcessError as exc:
            self._kill()
            raise UserCodeError(f"{self.path}: {exc}") from None
        if status != "ready":
            self._kill()
            raise UserCodeError(value)
        return int(value)

    def call(self, context: dict[str, Any], item: dict[str, Any], timeout: float) -> str | None:
        """Run ``main`` in the child on a copy of the context and copy the result back."""
        if self._process is None:
            self._start()
        process = self._process
        assert process is not None and process.stdin is not None
        try:
            send(process.stdin, (context, item))
            returned, error = self._read(process, timeout)
        except (BrokenPipeError, CodeProcessError) as exc:
            self._kill()
            message = str(exc) if isinstance(exc, CodeProcessError) else "the code process died"
            raise CodeProcessError(f"{message}; it restarts for the next image") from None
        _adopt(context, returned)
        return error

    def _read(self, process: subprocess.Popen[bytes], timeout: float) -> Any:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], timeout)
        if not ready:
            raise CodeProcessError(f"no answer within {timeout:g} s")
        try:
            return receive(process.stdout)
        except EOFError:
            code = process.wait(timeout=5)
            raise CodeProcessError(f"the code process exited (code {code})") from None

    def _kill(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.kill()
        process.wait()
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()

    def close(self) -> None:
        """Ask the child to finish (EOF on its stdin), then make sure it is gone."""
        process = self._process
        if process is not None and process.stdin is not None:
            try:
                process.stdin.close()
                process.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self._kill()


def _adopt(context: dict[str, Any], returned: dict[str, Any]) -> None:
    """Make ``context`` the child's version while keeping the shared globalData dict."""
    shared = context.get("globalData")
    updated = returned.pop("globalData", shared)
    context.clear()
    context.update(returned)
    if isinstance(shared, dict):
        if updated is not shared:
            shared.clear()
            shared.update(updated if isinstance(updated, dict) else {})
        context["globalData"] = shared


