"""Outputs reach a real HTTP server, a TCP listener and a file — and survive outages."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

from inspekt import Inspector, load_project
from tests.conftest import free_port, inspect, write_project

IMAGE = np.zeros((16, 16, 3), np.uint8)


def inspector_with(tmp_path: Path, output: str) -> Inspector:
    return Inspector(load_project(write_project(tmp_path / "p", f"flow:\n  - {output}\n")))


def wait_for(predicate, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


class Receiver(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers["Content-Length"])
        type(self).received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def start_http(port: int) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", port), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_webhook_delivers_in_order_after_an_outage(tmp_path: Path) -> None:
    Receiver.received = []
    port = free_port()
    inspector = inspector_with(tmp_path, f"{{type: webhook, name: hook, url: 'http://127.0.0.1:{port}/inspections'}}")
    down = inspect(inspector, IMAGE, "0")  # nobody listens yet
    wait_for(lambda: inspector.project.modules[0].worker.status().failing)
    reported = inspect(inspector, IMAGE, "1")
    assert any("output 'hook'" in e and "failing" in e for e in reported["errors"])
    assert down["result"] is True
    server = start_http(port)
    try:
        inspect(inspector, IMAGE, "2")
        wait_for(lambda: len(Receiver.received) == 3)
        assert [m["data"] for m in Receiver.received] == ["0", "1", "2"]
        assert "image" not in Receiver.received[0] and "imageShape" in Receiver.received[0]
    finally:
        inspector.close()
        server.shutdown()


def test_bounded_backlog_drops_the_oldest_and_says_so(tmp_path: Path) -> None:
    port = free_port()
    inspector = inspector_with(tmp_path, f"{{type: webhook, name: hook, backlog: 2, url: 'http://127.0.0.1:{port}/'}}")
    contexts = [inspect(inspector, IMAGE, str(i)) for i in range(6)]
    assert any("dropped (backlog full)" in e for c in contexts for e in c["errors"])
    assert inspector.project.modules[0].worker.status().pending <= 2
    started = time.monotonic()
    inspector.close()
    assert time.monotonic() - started < 10


def test_tcp_output_reconnects_when_the_listener_comes_back(tmp_path: Path) -> None:
    port = free_port()
    inspector = inspector_with(
        tmp_path, f"{{type: tcp, name: plc, host: 127.0.0.1, port: {port}, fields: [data, result]}}"
    )
    inspect(inspector, IMAGE, "first")  # listener down
    wait_for(lambda: inspector.project.modules[0].worker.status().failing)
    lines: list[dict] = []
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen()
        inspect(inspector, IMAGE, "second")
        connection, _ = listener.accept()
        with connection, connection.makefile("r") as stream:
            connection.settimeout(20)
            for _ in range(2):
                lines.append(json.loads(stream.readline()))
    assert lines == [{"data": "first", "result": True}, {"data": "second", "result": True}]
    inspector.close()


def test_file_log_appends_and_rotates(tmp_path: Path) -> None:
    inspector = inspector_with(
        tmp_path, "{type: file_log, name: log, path: logs/x.jsonl, max_megabytes: 0.001}"
    )
    for i in range(5):
        inspect(inspector, IMAGE, str(i))
    inspector.close()
    log = tmp_path / "p" / "logs" / "x.jsonl"
    rotated = log.with_name("x.jsonl.1")
    records = [
        json.loads(line) for path in (rotated, log) for line in path.read_text().splitlines()
    ]
    assert [r["data"] for r in records][-1] == "4" and rotated.exists()


def test_outputs_and_savers_hear_only_of_images_that_reached_them(tmp_path: Path) -> None:
    flow = (
        "flow:\n"
        "  - type: gate\n    name: gate\n    when: [{key: data, equals: pass}]\n    flow:\n"
        "      - {type: file_log, name: gated_log, path: gated.jsonl}\n"
        "      - {type: image_saver, name: gated_saver, when: all, folder: gated}\n"
        "  - {type: code, name: stop, file: stop.py}\n"
        "  - {type: file_log, name: late_log, path: late.jsonl}\n"
    )
    stop = "def main(context):\n    context['exit'] = context['data'] == 'stop'\n"
    project = write_project(tmp_path / "p", flow, {"stop.py": stop})
    with Inspector(load_project(project)) as inspector:
        for data in ("pass", "block", "stop", "pass"):
            inspect(inspector, IMAGE, data)

    def logged(name: str) -> list[str]:
        lines = (project / name).read_text().splitlines()
        return [json.loads(line)["data"] for line in lines]

    assert logged("gated.jsonl") == ["pass", "pass"]
    assert len(list((project / "gated").iterdir())) == 2
    assert logged("late.jsonl") == ["pass", "block", "pass"]
