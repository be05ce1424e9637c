"""The parent side of an isolated Code module: a child process per module.

The child is started when the module is opened (so a broken user file fails
the server's start), gets each context pickled over a pipe — the image itself through a shared
memory block, so a large frame costs two memory copies, not a pickle — and
answers the edited context. A call
that outlives its timeout kills the child; the next call starts a new one, so a
user's endless loop costs one image, not the line.
"""

from __future__ import annotations

import select
import subprocess
import sys
from multiprocessing import shared_memory
from pathlib import Path
from typing import Any, cast

import numpy as np

from ..context import PARENT_ONLY_KEYS
from ..errors import CodeProcessError, UserCodeError
from . import _code_worker
from ._code_worker import receive, send

__all__ = ["CodeProcess"]

_WORKER = Path(_code_worker.__file__)
_START_TIMEOUT = 60.0
#: The image travels through shared memory; the input image and the flow's own
#: bookkeeping stay with the parent.
_NOT_SENT = frozenset({"image", *PARENT_ONLY_KEYS})


class CodeProcess:
    def __init__(self, path: Path, *, memory_mb: int, output_limit: int) -> None:
        self.path = path
        self.memory_mb = memory_mb
        self.output_limit = output_limit
        self._process: subprocess.Popen[bytes] | None = None
        self._block: shared_memory.SharedMemory | None = None

    def start(self) -> int:
        """Start the child and wait until it loaded the user file; returns main's arity."""
        process = subprocess.Popen(
            [
                sys.executable,
                str(_WORKER),
                str(self.path),
                str(self.memory_mb),
                str(self.output_limit),
            ],
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
            self.start()
        process = self._process
        assert process is not None and process.stdin is not None
        image = context["image"]
        shared = self._share(image)
        outgoing = {k: v for k, v in context.items() if k not in _NOT_SENT}
        error: str | None  # what the child's call_main answered
        try:
            send(process.stdin, (outgoing, item, shared))
            returned, error, image_kept = self._read(process, timeout)
        except (BrokenPipeError, CodeProcessError) as exc:
            self._kill()
            message = str(exc) if isinstance(exc, CodeProcessError) else "the code process died"
            raise CodeProcessError(f"{message}; it restarts for the next image") from None
        if image_kept:  # possibly edited in place: copy it out before the block is reused
            returned["image"] = self._view(image.shape, image.dtype).copy()
        returned.update({key: context[key] for key in PARENT_ONLY_KEYS if key in context})
        _adopt(context, returned)
        return error

    def _share(self, image: np.ndarray) -> tuple[str, tuple[int, ...], str]:
        """Copy the image into the shared block (grown when needed); name, shape, dtype."""
        if self._block is None or self._block.size < image.nbytes:
            self._release_block()
            self._block = shared_memory.SharedMemory(create=True, size=max(image.nbytes, 1))
        self._view(image.shape, image.dtype)[...] = image
        return self._block.name, image.shape, image.dtype.str

    def _view(self, shape: tuple[int, ...], dtype: np.dtype[Any]) -> np.ndarray:
        assert self._block is not None
        # numpy's stubs type this constructor as Any when targeting Python 3.10
        return cast(np.ndarray, np.ndarray(shape, dtype, buffer=self._block.buf))

    def _release_block(self) -> None:
        block, self._block = self._block, None
        if block is not None:
            block.close()
            block.unlink()

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
        self._release_block()


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


