"""Start the servers under test as subprocesses and watch their memory and threads."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil

BENCH_DIR = Path(__file__).resolve().parent
READY = "__SERVER_RUNNING__"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """One server subprocess on a free loopback port; output goes to a log file.

    The constructors only spawn; call :meth:`wait_ready` (so several can start at once).
    """

    def __init__(self, label: str, argv: list[str], log_dir: Path, port: int) -> None:
        self.label = label
        self.port = port
        self.log_path = log_dir / f"{label}.log"
        self._log = open(self.log_path, "w", encoding="utf-8")  # noqa: SIM115
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen(
            argv, stdout=self._log, stderr=subprocess.STDOUT, env=env, text=True
        )
        self.ps = psutil.Process(self.process.pid)

    @classmethod
    def inspekt(
        cls, label: str, project: Path, log_dir: Path, options: tuple[str, ...] = ()
    ) -> ServerProcess:
        port = free_port()
        argv = [sys.executable, "-m", "inspekt", "serve", str(project), "--port", str(port),
                "--stop-key", "bench-stop", *options]
        return cls(label, argv, log_dir, port)

    @classmethod
    def floor(cls, label: str, log_dir: Path) -> ServerProcess:
        port = free_port()
        argv = [sys.executable, str(BENCH_DIR / "floor_app.py"), "--port", str(port)]
        return cls(label, argv, log_dir, port)

    @classmethod
    def peer(cls, label: str, project: Path, log_dir: Path) -> ServerProcess:
        port = free_port()
        argv = [sys.executable, str(BENCH_DIR / "peer_flask.py"), str(project), "--port", str(port)]
        return cls(label, argv, log_dir, port)

    @classmethod
    def variant(cls, label: str, variant: str, project: Path, log_dir: Path) -> ServerProcess:
        """inspekt with one fix reverted (see variants.py)."""
        port = free_port()
        argv = [sys.executable, str(BENCH_DIR / "variants.py"), variant, str(project),
                "--port", str(port)]
        return cls(label, argv, log_dir, port)

    def wait_ready(self, timeout: float = 120.0) -> ServerProcess:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if READY in self.log_path.read_text(encoding="utf-8", errors="replace"):
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        tail = self.log_path.read_text(encoding="utf-8", errors="replace")[-2000:]
        raise RuntimeError(f"{self.label} did not start:\n{tail}")

    def rss_mb(self, tree: bool = False) -> float:
        """Resident memory of the server, or of it and its children (Code module workers)."""
        procs = [self.ps] + (self.ps.children(recursive=True) if tree else [])
        total = 0
        for proc in procs:
            try:
                total += proc.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return total / 2**20

    def threads(self) -> int:
        return self.ps.num_threads()

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
                    sock.sendall(b"GET /stop?key=bench-stop HTTP/1.1\r\nHost: x\r\n\r\n")
                    sock.recv(1024)
                self.process.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.process.terminate()
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
        self._log.close()
