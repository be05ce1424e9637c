"""Per-thread capture of ``print()`` output from user code.

``contextlib.redirect_stdout`` swaps ``sys.stdout`` for the whole process, so
two analyses on two threads would mix their output. Instead ``sys.stdout`` and
``sys.stderr`` are replaced once by routers that write to the calling thread's
capture buffer when it has one, and to the real stream otherwise.
"""

from __future__ import annotations

import io
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

__all__ = ["captured_output"]

_local = threading.local()
_install_lock = threading.Lock()


class _ThreadRouter(io.TextIOBase):
    def __init__(self, stream_name: str, fallback: TextIO) -> None:
        self._stream_name = stream_name
        self._fallback = fallback

    def _target(self) -> TextIO:
        buffers = getattr(_local, "buffers", None)
        return buffers[self._stream_name] if buffers else self._fallback

    def write(self, text: str) -> int:
        return self._target().write(text)

    def flush(self) -> None:
        self._target().flush()

    def isatty(self) -> bool:
        return False


def _install() -> None:
    with _install_lock:
        if not isinstance(sys.stdout, _ThreadRouter):
            sys.stdout = _ThreadRouter("stdout", sys.stdout)
        if not isinstance(sys.stderr, _ThreadRouter):
            sys.stderr = _ThreadRouter("stderr", sys.stderr)


@contextmanager
def captured_output(stdout: TextIO, stderr: TextIO) -> Iterator[None]:
    """Send this thread's stdout and stderr to the given streams."""
    _install()
    previous = getattr(_local, "buffers", None)
    _local.buffers = {"stdout": stdout, "stderr": stderr}
    try:
        yield
    finally:
        _local.buffers = previous
