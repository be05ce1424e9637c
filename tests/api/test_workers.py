"""``inspekt serve --workers N``: processes sharing the port, each with the project
loaded; the history and the metrics come out whole, a worker that dies is replaced,
and stopping the server stops them all."""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import requests

from tests.api.test_history_api import post, project, wait_for
from tests.conftest import Server


def workers_of(server: Server, count: int) -> list[psutil.Process]:
    """The server's worker processes (its direct children), once there are ``count``."""
    deadline = time.monotonic() + 30
    while True:
        children = psutil.Process(server.process.pid).children()
        if len(children) == count or time.monotonic() > deadline:
            return children
        time.sleep(0.1)


def test_workers_share_the_port_the_history_and_the_metrics(
    tmp_path: Path, serve: Callable[..., Server]
) -> None:
    server = serve(project(tmp_path), "--workers", "2")
    workers = workers_of(server, 2)
    assert len(workers) == 2
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda i: post(server, "bad" if i % 3 else "good"), range(30)))
    assert all(answer.status_code == 200 for answer in answers)
    assert len(wait_for(server, 30, limit=100)) == 30  # one history, written by both
    text = requests.get(f"{server.url}/metrics", timeout=10).text
    pattern = r'^inspekt_inspections_total\{result="[^"]+"\} (\S+)$'
    counted = sum(float(value) for value in re.findall(pattern, text, re.MULTILINE))
    assert counted == 30, text  # summed over the workers, whichever answered the scrape
    answered_by = {answer.json()["worker"] for answer in answers}
    assert answered_by == {worker.pid for worker in workers}  # both took connections

    # a worker that dies is replaced; the line keeps being answered
    os.kill(workers[0].pid, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while {w.pid for w in workers_of(server, 2)} & {workers[0].pid} or len(
        workers_of(server, 2)
    ) != 2:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert post(server, "good").status_code == 200

    # stopping the server stops every worker
    remaining = workers_of(server, 2)
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=30) == 0
    gone, alive = psutil.wait_procs(remaining, timeout=10)
    assert not alive
