"""Run one Code module's user file, in this process or as an isolated child.

This file is deliberately standalone (standard library only, no package
imports): the isolated mode runs it as a script, ``python _code_worker.py FILE``,
so the child starts in a fraction of a second without loading inspekt's models.

Protocol on stdin/stdout: length-prefixed pickles. The child answers
``("ready", arity)`` or ``("load_error", message)`` once, then for every
``(context, module_item, (shm_name, shape, dtype))`` it receives — the image
lies in the named shared-memory block — it answers ``(context, error_or_None,
image_kept)``; when ``image_kept`` the image is still that block (perhaps edited
in place) and is left out of the context.
"""

from __future__ import annotations

import inspect
import io
import mmap
import os
import pickle
import resource
import struct
import sys
import traceback
import types
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

_HEADER = struct.Struct("<Q")


class CodeLoadError(Exception):
    """The user file cannot be loaded (missing, syntax error, no main).

    Standalone like the rest of this file; the parent turns it into
    :class:`inspekt.errors.UserCodeError`.
    """


def load_main(path: Path) -> tuple[Callable[..., Any], int]:
    """Execute the user file once and return its ``main`` and how many args it takes."""
    try:
        source = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CodeLoadError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CodeLoadError(f"{path}: cannot read: {exc}") from None
    namespace = types.ModuleType(path.stem)
    namespace.__file__ = str(path)
    try:
        exec(compile(source, str(path), "exec"), namespace.__dict__)
    except SyntaxError as exc:
        raise CodeLoadError(f"{path}:{exc.lineno}: syntax error: {exc.msg}") from None
    except Exception as exc:
        raise CodeLoadError(f"{path}: failed at import: {type(exc).__name__}: {exc}") from None
    main = getattr(namespace, "main", None)
    if not callable(main):
        raise CodeLoadError(f"{path}: defines no main(context) function")
    return main, _positional_arity(main, path)


def _positional_arity(func: Callable[..., Any], path: Path) -> int:
    params = [
        p
        for p in inspect.signature(func).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
    ]
    if any(p.kind is p.VAR_POSITIONAL for p in params) or len(params) >= 2:
        return 2
    if len(params) == 1:
        return 1
    raise CodeLoadError(f"{path}: main must take context (and optionally module_item)")


class CappedBuffer(io.StringIO):
    """Keeps the first ``limit`` characters written and counts the rest."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self.dropped = 0

    def write(self, text: str) -> int:
        room = self.limit - self.tell()
        if room > 0:
            super().write(text[:room])
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def text(self) -> str:
        value = self.getvalue()
        if not self.dropped:
            return value
        return value + f"\n[... {self.dropped} more characters not kept]\n"


def call_main(
    main: Callable[..., Any], arity: int, context: dict[str, Any], item: dict[str, Any],
    stdout: CappedBuffer, stderr: CappedBuffer,
) -> str | None:
    """Call ``main`` with the arity it declares; an exception becomes the returned message."""
    try:
        main(*(context, item)[:arity])
    except (Exception, SystemExit) as exc:  # user code may raise anything
        print(traceback.format_exc(), end="", file=stderr)
        return f"{type(exc).__name__}: {exc}"
    return None


def send(stream: IO[bytes], message: Any) -> None:
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(payload)) + payload)
    stream.flush()


def receive(stream: IO[bytes]) -> Any:
    """The next message, or raise EOFError when the other side is gone."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError
    (size,) = _HEADER.unpack(header)
    payload = stream.read(size)
    if len(payload) < size:
        raise EOFError
    return pickle.loads(payload)


def _child(path: Path, memory_mb: int, output_limit: int) -> None:
    channel_in, channel_out = sys.stdin.buffer, os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # stray writes to fd 1 must not corrupt the channel
    try:
        main, arity = load_main(path)
    except CodeLoadError as exc:
        send(channel_out, ("load_error", str(exc)))
        return
    if memory_mb:
        limit = memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    send(channel_out, ("ready", arity))
    blocks: dict[str, mmap.mmap] = {}
    while True:
        try:
            context, item, shared = receive(channel_in)
        except EOFError:
            return
        image = _attach(blocks, *shared)
        context["image"] = image
        stdout, stderr = CappedBuffer(output_limit), CappedBuffer(output_limit)
        sys.stdout, sys.stderr = stdout, stderr
        try:
            error = call_main(main, arity, context, item, stdout, stderr)
        finally:
            sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
        context["stdout"] += stdout.text()
        context["stderr"] += stderr.text()
        kept = context.get("image") is image
        if kept:
            del context["image"]
        try:
            send(channel_out, (context, error, kept))
        except Exception:  # an object of a class only the user file knows
            portable = {key: _portable(value) for key, value in context.items()}
            send(channel_out, (portable, error, kept))


def _attach(blocks: dict[str, mmap.mmap], name: str, shape: tuple[int, ...], dtype: str) -> Any:
    """A numpy view of the parent's shared block (opened by path: never unlinked here)."""
    import numpy as np  # only once an image arrives: keeps the child's start quick

    if name not in blocks:
        for old in blocks.values():
            old.close()
        blocks.clear()
        with open(f"/dev/shm/{name.lstrip('/')}", "r+b") as file:
            blocks[name] = mmap.mmap(file.fileno(), 0)
    return np.ndarray(shape, np.dtype(dtype), buffer=blocks[name])


def _portable(value: Any) -> Any:
    """The value if it can be pickled, else its repr (what the JSON would show anyway)."""
    try:
        pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        return repr(value)
    return value


if __name__ == "__main__":
    _child(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
