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
import os
import signal
import socket
import stat
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from .api import (
    InspectionBackend,
    InspectionService,
    LocalBackend,
    ServerSettings,
    create_app,
)
from .api.limits import header_timeout_protocol
from .errors import InspektError, PortInUseError
from .flow import Project, load_project, project_warnings
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
    workers: int = 1,
    open_backend: Callable[[Project], InspectionBackend] | None = None,
) -> None:
    """Load the project, listen, announce readiness and serve until stopped.

    With ``workers`` above one the port is bound here and that many processes, each
    with the project loaded, accept on it (the kernel spreads the connections); they
    share the project's history (SQLite takes writers in turn) and, through
    Prometheus' multiprocess mode, the metrics (see :func:`_serve_workers`).
    ``open_backend`` opens where the flow runs (default: an inspector in this process).
    """
    serving = _Serving(
        project_dir, host, port, settings or ServerSettings(), history, allow_code,
        ssl_certfile, ssl_keyfile, open_backend or _open_here,
    )
    if workers <= 1:
        serving.run(None, _announce)
    else:
        _serve_workers(serving, workers)


def _open_here(project: Project) -> InspectionBackend:
    return LocalBackend(Inspector(project))


def _announce(what: str) -> None:
    print(f"inspekt: serving {what}", flush=True)
    print("__SERVER_RUNNING__", flush=True)
    print("STOP_INIT_MODEL", flush=True)
    sys.stdout.flush()


@dataclass(frozen=True)
class _Serving:
    """How to serve one project, in this process."""

    project_dir: Path
    host: str
    port: int
    settings: ServerSettings
    history: HistorySettings | None
    allow_code: bool
    ssl_certfile: Path | None
    ssl_keyfile: Path | None
    #: Where the flow runs: this process (the default) or replicas elsewhere.
    open_backend: Callable[[Project], InspectionBackend]

    def run(self, sock: socket.socket | None, ready: Callable[[str], None],
            stop_all: Callable[[], None] | None = None) -> None:
        """Load the project, listen (on ``sock`` when given), call ``ready``, serve until
        stopped; ``stop_all`` is what ``/stop`` does besides stopping this server."""
        started = time.perf_counter()
        project = load_project(self.project_dir, allow_code=self.allow_code)
        for warning in project_warnings(project):
            print(f"inspekt: WARNING: {warning}", file=sys.stderr, flush=True)
        backend = self.open_backend(project)
        load_seconds = time.perf_counter() - started
        recorder: HistoryRecorder | None = None
        try:
            if self.history is None or self.history.enabled:
                recorder = HistoryRecorder(project, self.history or HistorySettings())
                backend.subscribe(recorder)
            if sock is None:
                sock = bind_socket(self.host, self.port)
        except BaseException:
            backend.close()
            if recorder is not None:
                recorder.close()
            raise
        service = InspectionService(backend, self.settings, recorder, load_seconds)
        config = uvicorn.Config(
            app=None,  # type: ignore[arg-type]  # set below, once the server exists
            http=header_timeout_protocol(self.settings.header_timeout),
            log_level="warning",
            access_log=False,  # query strings may carry the api key
            timeout_keep_alive=30,
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
            limit_concurrency=MAX_CONNECTIONS,
            lifespan="off",
            ssl_certfile=str(self.ssl_certfile) if self.ssl_certfile else None,
            ssl_keyfile=str(self.ssl_keyfile) if self.ssl_keyfile else None,
        )
        server = _Server(config)

        def request_stop() -> None:
            server.should_exit = True
            if stop_all is not None:
                stop_all()

        config.app = create_app(service, request_stop, lambda: server.should_exit)
        try:
            scheme = "https" if self.ssl_certfile else "http"
            what = f"{project.package.name} on {scheme}://{self.host}:{self.port}"
            asyncio.run(_serve_and_announce(server, sock, lambda: ready(what)))
        finally:
            service.close()
            backend.close()
            if recorder is not None:
                recorder.close()
            sock.close()


def _serve_workers(serving: _Serving, count: int) -> None:
    """Bind once, fork ``count`` workers that accept on the socket, announce when all are
    ready, restart one that dies, and stop them all on SIGTERM/SIGINT or ``/stop``.

    The workers are forked before any model is loaded (each loads its own), so no
    thread of the parent is copied half-way. Per worker: ``globalData``, ``/last_image``,
    the dashboard's live numbers and Code-module children; shared: the history and the
    metrics (each worker's in Prometheus' multiprocess files, summed at ``/metrics``).
    """
    sock = bind_socket(serving.host, serving.port)
    ready_read, ready_write = os.pipe()
    parent = os.getpid()

    def start() -> int:
        pid = os.fork()
        if pid:
            return pid
        code = 0
        try:
            os.close(ready_read)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)

            def ready(_: str) -> None:
                os.write(ready_write, b".")

            serving.run(sock, ready, lambda: os.kill(parent, signal.SIGTERM))
        except BaseException as exc:  # a worker's end is told, never a traceback
            print(f"inspekt: error: worker {os.getpid()}: {exc}", file=sys.stderr, flush=True)
            code = 1
        finally:
            os._exit(code)

    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    workers = {start() for _ in range(count)}
    os.close(ready_write)
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        ready = b""
        while len(ready) < count:
            chunk = os.read(ready_read, count)
            if not chunk:  # every worker died before it was ready
                raise InspektError("no worker started; see the errors above")
            ready += chunk
        _announce(f"{serving.project_dir} on {serving.host}:{serving.port} with {count} workers")
        while workers:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            except InterruptedError:
                continue
            workers.discard(pid)
            _mark_dead(pid)
            if not stopping:
                print(f"inspekt: WARNING: worker {pid} ended (status {status}); "
                      "starting another", file=sys.stderr, flush=True)
                workers.add(start())
    finally:
        stop(signal.SIGTERM, None)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for pid in list(workers):
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        os.close(ready_read)
        sock.close()


def _mark_dead(pid: int) -> None:
    """Drop a dead worker's live gauges from the metrics (multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


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


async def _serve_and_announce(
    server: uvicorn.Server, sock: socket.socket, ready: Callable[[], None]
) -> None:
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started and not task.done():
        await asyncio.sleep(0.01)
    if server.started:
        ready()
    await task
