"""Soak test: a bounded mix of valid and invalid requests against a real server.

Counts crashes (the server process gone), lost responses (connection errors,
timeouts) and unexpected statuses, and the server's RSS after warm-up and at
the end. Loopback only; stops by itself after ``--requests`` or ``--seconds``.

    python bench/soak.py --requests 20000            # the full soak (minutes)
    python bench/soak.py --requests 600 --json       # the CI variant
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from multiprocessing import shared_memory
from pathlib import Path

import cv2
import numpy as np
import psutil
import requests

CODE = "def main(context):\n    context['seen'] = context['data']\n    context['result'] = True\n"
FLOW = (
    "flow:\n  - {type: code, name: check, file: check.py}\n"
    "  - {type: evaluate, rules: [{kind: score}]}\n"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_project(root: Path) -> Path:
    project = root / "soak"
    project.mkdir()
    (project / "pekat_package.json").write_text('{"name": "soak", "version": "1"}')
    (project / "flow.yaml").write_text(FLOW)
    (project / "check.py").write_text(CODE)
    return project


def start_server(project: Path, port: int) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "inspekt", "serve", str(project),
         "--port", str(port), "--max-body-mb", "16"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        if "__SERVER_RUNNING__" in line:
            break
    threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()  # type: ignore[union-attr]
    return process


Request = Callable[[requests.Session, str], requests.Response]


def request_mix(
    rng: random.Random,
) -> tuple[list[tuple[str, Request, set[int]]], shared_memory.SharedMemory]:
    """(name, request, expected statuses) for each kind, and the shm block they read."""
    frame = np.random.default_rng(0).integers(0, 255, (480, 640, 3), dtype=np.uint8)
    jpeg = cv2.imencode(".jpg", frame)[1].tobytes()
    png = cv2.imencode(".png", frame)[1].tobytes()
    block = shared_memory.SharedMemory(create=True, size=frame.nbytes)
    np.ndarray(frame.shape, np.uint8, buffer=block.buf)[:] = frame
    raw = frame.tobytes()

    def post(path: str, **kwargs: object) -> Request:
        return lambda session, url: session.post(f"{url}{path}", timeout=30, **kwargs)  # type: ignore[arg-type]

    return [
        ("raw", post("/analyze_raw_image?width=640&height=480&data=r", data=raw), {200}),
        ("jpeg", post("/analyze_image?response_type=annotated_image", data=jpeg), {200}),
        (
            "png_in_body",
            post("/analyze_image?response_type=heatmap&context_in_body", data=png),
            {200},
        ),
        (
            "shm",
            post(f"/analyze_image_shared_memory?name={block.name}&width=640&height=480"),
            {200},
        ),
        ("multipart", post("/analyze_image", files={"file": ("f.jpg", jpeg)}), {200}),
        ("garbage", post("/analyze_image", data=rng.randbytes(2000)), {400}),
        ("truncated", post("/analyze_image", data=jpeg[:500]), {400}),
        ("wrong_length", post("/analyze_raw_image?width=641&height=480", data=raw), {400}),
        ("bad_size", post("/analyze_raw_image?width=abc&height=-1", data=b"x"), {400}),
        ("bad_type", post("/analyze_image?response_type=json", data=jpeg), {400}),
        ("no_shm", post("/analyze_image_shared_memory?name=psm_missing&width=4&height=4"), {400}),
        ("too_big", post("/analyze_image", data=bytes(17 * 2**20)), {413}),
        ("ping", lambda session, url: session.get(f"{url}/ping", timeout=30), {200}),
        (
            "last_image",
            lambda session, url: session.get(f"{url}/last_image", timeout=30),
            {200, 404},
        ),
        (
            "stop_wrong_key",
            lambda session, url: session.get(f"{url}/stop?key=nope", timeout=30),
            {403},
        ),
    ], block


def soak(total: int, seconds: float, clients: int) -> dict[str, object]:
    rng = random.Random(7)
    mix, block = request_mix(rng)
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        server = start_server(make_project(Path(tmp)), port)
        url = f"http://127.0.0.1:{port}"
        memory = psutil.Process(server.pid)
        counts: Counter[str] = Counter()
        unexpected: Counter[str] = Counter()
        lost: Counter[str] = Counter()
        done = 0
        lock = threading.Lock()
        rss: dict[str, float] = {"start": memory.memory_info().rss / 2**20}
        warm_up = min(1000, total // 10)
        deadline = time.monotonic() + seconds
        started = time.monotonic()

        def client(seed: int) -> None:
            nonlocal done
            local = random.Random(seed)
            with requests.Session() as session:
                while time.monotonic() < deadline:
                    with lock:
                        if done >= total:
                            return
                        done += 1
                        if done == warm_up:
                            rss["warm"] = memory.memory_info().rss / 2**20
                    name, send, expected = local.choice(mix)
                    try:
                        status = send(session, url).status_code
                    except requests.RequestException:
                        with lock:
                            lost[name] += 1
                        session = requests.Session()
                        continue
                    with lock:
                        counts[name] += 1
                        if status not in expected:
                            unexpected[f"{name}:{status}"] += 1

        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        alive = server.poll() is None
        rss["end"] = memory.memory_info().rss / 2**20 if alive else float("nan")
        if alive:
            server.terminate()
            server.wait(timeout=30)
        block.close()
        block.unlink()
    return {
        "requests": sum(counts.values()) + sum(lost.values()),
        "seconds": round(elapsed, 1),
        "clients": clients,
        "crashes": 0 if alive else 1,
        "lost_responses": sum(lost.values()),
        "unexpected_statuses": dict(unexpected),
        "per_kind": dict(sorted(counts.items())),
        "rss_mb_start": round(rss["start"], 1),
        "rss_mb_after_warm_up": round(rss.get("warm", rss["start"]), 1),
        "rss_mb_end": round(rss["end"], 1),
        "rss_growth_after_warm_up_mb": round(rss["end"] - rss.get("warm", rss["start"]), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=1800)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args()
    summary = soak(args.requests, args.seconds, args.clients)
    if args.json:
        print(json.dumps(summary))
    else:
        for key, value in summary.items():
            print(f"{key:>28}: {value}")
    ok = (
        not summary["crashes"]
        and not summary["lost_responses"]
        and not summary["unexpected_statuses"]
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
