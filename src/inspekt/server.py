"""Start the Image Analyze API for one project on uvicorn.

The project is loaded (and its models with it) before the socket is bound, so
``/ping`` answers 200 as soon as anyone can connect. Then the launcher lines
that PEKAT's SDKs wait for are printed: ``__SERVER_RUNNING__`` and
``STOP_INIT_MODEL``. stdout carries nothing else the SDKs could misread:
warnings about the project and the request log go to stderr.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import signal
import socket
import stat
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import uvicorn

from .api import InspectionService, ServerSettings, create_app
from .api.limits import header_timeout_protocol
from .errors import InspektError, PortInUseError
from .flow import load_project, project_warnings
from .history import HistoryRecorder, HistorySettings
from .inspection import Inspector

__all__ = ["bind_socket", "load_or_create_api_key", "serve"]

log = logging.getLogger(__name__)

#: PEKAT's SDKs look for this exact text (macOS's errno) to pick another port.
ADDRESS_IN_USE = "OSError: [Errno 48] Address already in use"
API_KEY_FILE = Path(".inspekt") / "api_key"
#: Open connections plus running requests; beyond it uvicorn answers 503.
MAX_CONNECTIONS = 1000
#: How long a stop waits for requests in flight before closing their connections.
GRACEFUL_SHUTDOWN_S = 30


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind and listen ourselves, so a busy port is reported before anything else."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must say TCP: asyncio and uvloop only set TCP_NODELAY on accepted
    # sockets whose proto is IPPROTO_TCP, and without it every answer (headers,
    # then body) waits ~40 ms for the client's delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # inherited by accepted sockets
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUseError(
                f"{ADDRESS_IN_USE} (port {port} on {host} is taken; the Errno 48 wording, "
                "macOS's, is what PEKAT's SDKs look for)"
            ) from exc
        raise InspektError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def load_or_create_api_key(project_dir: Path) -> tuple[str, bool]:
    """The project's stored api key, or a new UUID-v1 one; True when just created."""
    path = project_dir / API_KEY_FILE
    if path.is_file():
        key = path.read_text(encoding="utf-8").strip()
        if key:
            return key, False
    key = str(uuid.uuid1())
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(key + "\n", encoding="utf-8")
    temporary.chmod(stat.S_IRUSR | stat.S_IWUSR)
    temporary.replace(path)
    return key, True


def serve(
    project_dir: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    settings: ServerSettings | None = None,
    history: HistorySettings | None = None,
    allow_code: bool = True,
    ssl_certfile: Path | None = None,
    ssl_keyfile: Path | None = None,
) -> None:
    """Load the project, listen, announce readiness and serve until stopped."""
    if settings is None:
        settings = ServerSettings()
    started = time.perf_counter()
    project = load_project(project_dir, allow_code=allow_code)
    for warning in project_warnings(project):
        print(f"inspekt: WARNING: {warning}", file=sys.stderr, flush=True)
    inspector = Inspector(project)
    load_seconds = time.perf_counter() - started
    recorder: HistoryRecorder | None = None
    try:
        if history is None or history.enabled:
            recorder = HistoryRecorder(project, history or HistorySettings())
            inspector.subscribe(recorder)
        sock = bind_socket(host, port)
    except BaseException:
        inspector.close()
        if recorder is not None:
            recorder.close()
        raise
    service = InspectionService(inspector, settings, recorder, load_seconds)
    config = uvicorn.Config(
        app=None,  # type: ignore[arg-type]  # set below, once the server exists
        http=header_timeout_protocol(settings.header_timeout),
        log_level="warning",
        access_log=False,  # query strings may carry the api key
        timeout_keep_alive=30,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        limit_concurrency=MAX_CONNECTIONS,
        lifespan="off",
        ssl_certfile=str(ssl_certfile) if ssl_certfile else None,
        ssl_keyfile=str(ssl_keyfile) if ssl_keyfile else None,
    )
    server = _Server(config)

    def request_stop() -> None:
        server.should_exit = True

    config.app = create_app(service, request_stop, lambda: server.should_exit)
    try:
        scheme = "https" if ssl_certfile else "http"
        what = f"{project.package.name} on {scheme}://{host}:{port}"
        asyncio.run(_serve_and_announce(server, sock, what))
    finally:
        service.close()
        inspector.close()
        if recorder is not None:
            recorder.close()
        sock.close()


class _Server(uvicorn.Server):
    """uvicorn, but SIGTERM/SIGINT end ``serve`` normally instead of being re-raised.

    uvicorn re-raises the signal after its graceful shutdown, which kills the
    process before inspekt flushes savers and outputs; here shutdown returns and
    the caller cleans up, then exits 0.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        handled = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


async def _serve_and_announce(server: uvicorn.Server, sock: socket.socket, what: str) -> None:
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started and not task.done():
        await asyncio.sleep(0.01)
    if server.started:
        print(f"inspekt: serving {what}", flush=True)
        print("__SERVER_RUNNING__", flush=True)
        print("STOP_INIT_MODEL", flush=True)
        sys.stdout.flush()
    await task
