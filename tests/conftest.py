"""Fixtures shared by every test: small projects in temp dirs and real servers."""

from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pytest
import requests

from inspekt import InspectionOptions, Inspector

DATA_DIR = Path(__file__).parent / "data"


def inspect(inspector: Inspector, image: np.ndarray, data: str | None = None) -> dict:
    """Inspect one in-memory image as the server would; the finished context."""
    return inspector.inspect(lambda: image, InspectionOptions(data=data)).context


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_project(
    directory: Path, flow: str = "flow: []\n", files: dict[str, str] | None = None
) -> Path:
    """A project folder with the given flow.yaml and extra files (code, masks...)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "pekat_package.json").write_text(
        json.dumps({"name": directory.name, "version": "1.0.0"}), encoding="utf-8"
    )
    (directory / "flow.yaml").write_text(textwrap.dedent(flow), encoding="utf-8")
    for name, content in (files or {}).items():
        (directory / name).write_text(textwrap.dedent(content), encoding="utf-8")
    return directory


def code_flow(*files: str, **options: object) -> str:
    """flow.yaml with one Code module per file, named after the file."""
    lines = ["flow:"]
    for file in files:
        lines += ["  - type: code", f"    name: {Path(file).stem}", f"    file: {file}"]
        lines += [f"    {key}: {value}" for key, value in options.items()]
    return "\n".join(lines) + "\n"


@dataclass
class Server:
    """A real ``inspekt serve`` subprocess on a free port."""

    process: subprocess.Popen[str]
    url: str
    output: list[str] = field(default_factory=list)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_process(
    args: list[str], ready: str = "__SERVER_RUNNING__", timeout: float = 60
) -> tuple[subprocess.Popen[str], list[str]]:
    """Start a process and wait until it prints ``ready`` (or exits)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    lines: queue.Queue[str | None] = queue.Queue()
    output: list[str] = []

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        if line is None:
            process.wait()
            return process, output
        output.append(line)
        if ready in line:
            threading.Thread(target=_drain, args=(lines, output), daemon=True).start()
            return process, output
    process.kill()
    raise TimeoutError(f"{args} did not print {ready!r}: {''.join(output)}")


def _drain(lines: queue.Queue[str | None], output: list[str]) -> None:
    while (line := lines.get()) is not None:
        output.append(line)


def read_until_ready(process: subprocess.Popen[str]) -> list[str]:
    """What a starting server printed on stdout, up to its last start-up line."""
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.strip() == "STOP_INIT_MODEL":
            break
    return lines


def inspekt_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "inspekt", *args]


@pytest.fixture
def serve() -> Iterator[Callable[..., Server]]:
    """Start ``inspekt serve PROJECT ...`` on a free port; stopped after the test."""
    servers: list[Server] = []

    def start(project: Path, *options: str) -> Server:
        port = free_port()
        process, output = start_process(
            inspekt_command("serve", str(project), "--port", str(port), *options)
        )
        server = Server(process, f"http://127.0.0.1:{port}", output)
        servers.append(server)
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {''.join(output)}")
        return server

    yield start
    for server in servers:
        server.stop()


def color_card(width: int = 96, height: int = 64) -> np.ndarray:
    """A BGR image with red, green and blue bands and a white square."""
    image = np.zeros((height, width, 3), np.uint8)
    third = width // 3
    image[:, :third] = (0, 0, 255)
    image[:, third : 2 * third] = (0, 255, 0)
    image[:, 2 * third :] = (255, 0, 0)
    image[height // 4 : height // 2, width // 4 : width // 4 + height // 4] = 255
    return image


def real_image() -> np.ndarray:
    """A real photograph (hazelnut, CC BY 4.0, see tests/data/hazelnut/README.md)."""
    path = sorted((DATA_DIR / "hazelnut").glob("**/*.jpg"))[0]
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, path
    return image


def encode(image: np.ndarray, ext: str = ".png") -> bytes:
    ok, buffer = cv2.imencode(ext, image)
    assert ok
    return buffer.tobytes()


def decode(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert image is not None
    return image


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session
