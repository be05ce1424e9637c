"""Overload, slow clients, graceful stop and TLS, against real servers."""

from __future__ import annotations

import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from tests.conftest import Server, code_flow, color_card, encode, write_project

SLOW = (
    "import time\n\ndef main(context):\n"
    "    time.sleep(float(context['data'] or 0))\n    context['slept'] = True\n"
)


def slow_project(tmp_path: Path) -> Path:
    return write_project(tmp_path / "p", code_flow("slow.py"), {"slow.py": SLOW})


def post(server: Server, delay: float, out: list[requests.Response]) -> None:
    out.append(
        requests.post(
            f"{server.url}/analyze_image?data={delay}", data=encode(color_card()), timeout=30
        )
    )


def test_full_queue_answers_503_with_retry_after_and_recovers(
    tmp_path: Path, serve: Callable[..., Server]
) -> None:
    server = serve(slow_project(tmp_path), "--max-queue", "2")
    answers: list[requests.Response] = []
    threads = [threading.Thread(target=post, args=(server, 0.8, answers)) for _ in range(6)]
    for thread in threads:
        thread.start()
        time.sleep(0.05)
    for thread in threads:
        thread.join()
    statuses = sorted(r.status_code for r in answers)
    # two are admitted at once; the rest arrive while both are busy (0.8 s each)
    assert (
        set(statuses) == {200, 503} and statuses.count(200) >= 2 and statuses.count(503) >= 2
    ), statuses
    refused = next(r for r in answers if r.status_code == 503)
    assert refused.headers["Retry-After"] == "1" and "retry" in refused.json()["error"]
    assert requests.get(f"{server.url}/ping").status_code == 200
    later = requests.post(f"{server.url}/analyze_image?data=0", data=encode(color_card()))
    assert later.status_code == 200 and later.json()["slept"] is True


def test_slow_body_gets_408(tmp_path: Path, serve: Callable[..., Server]) -> None:
    server = serve(write_project(tmp_path / "p"), "--body-timeout", "1")
    port = int(server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"POST /analyze_image HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
        for _ in range(3):
            sock.sendall(b"x" * 10)
            time.sleep(0.5)
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 408") and b"did not arrive within 1 s" in answer


def test_slow_loris_headers_are_cut_off(tmp_path: Path, serve: Callable[..., Server]) -> None:
    server = serve(write_project(tmp_path / "p"), "--header-timeout", "1")
    port = int(server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        for _ in range(8):  # one header line every 0.5 s: never finishes on its own
            try:
                sock.sendall(b"X-Slow: 1\r\n")
            except OSError:
                break
            time.sleep(0.5)
        closed = sock.recv(100) == b""
    assert closed and time.monotonic() - started < 3.5
    assert requests.get(f"{server.url}/ping").status_code == 200


def test_sigterm_finishes_the_request_in_flight(
    tmp_path: Path, serve: Callable[..., Server]
) -> None:
    server = serve(slow_project(tmp_path))
    answers: list[requests.Response] = []
    worker = threading.Thread(target=post, args=(server, 1.0, answers))
    worker.start()
    time.sleep(0.4)
    server.process.send_signal(signal.SIGTERM)
    worker.join(timeout=20)
    assert answers and answers[0].status_code == 200 and answers[0].json()["slept"] is True
    assert server.process.wait(timeout=15) == 0


def test_api_key_from_a_file(tmp_path: Path, serve: Callable[..., Server]) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("file-key-1\n")
    server = serve(write_project(tmp_path / "p"), "--api-key-file", str(key_file))
    assert (
        requests.post(f"{server.url}/analyze_image", data=encode(color_card())).status_code == 401
    )
    ok = requests.post(f"{server.url}/analyze_image?api_key=file-key-1", data=encode(color_card()))
    assert ok.status_code == 200


def test_tls(tmp_path: Path, serve: Callable[..., Server]) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    made = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "1", "-subj", "/CN=localhost"],
        capture_output=True,
    )
    if made.returncode != 0:
        pytest.skip("openssl could not make a test certificate")
    server = serve(
        write_project(tmp_path / "p"), "--ssl-certfile", str(cert), "--ssl-keyfile", str(key)
    )
    url = server.url.replace("http://", "https://")
    response = requests.post(f"{url}/analyze_image", data=encode(color_card()), verify=False)
    assert response.status_code == 200 and response.json()["error"] is False
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{server.url}/ping", timeout=5)  # plain HTTP is not served
