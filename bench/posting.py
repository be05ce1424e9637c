"""Clients that post images to a server back to back, for the benches that need load."""

from __future__ import annotations

import threading
import time

import requests


def post_for(
    url: str, bodies: list[bytes], clients: int, seconds: float
) -> tuple[float, list[float]]:
    """``clients`` threads post ``bodies`` in turn for ``seconds``, each on its own
    keep-alive session: analyses a second, and every request's milliseconds."""
    done = [0] * clients
    latencies: list[list[float]] = [[] for _ in range(clients)]
    stop = time.monotonic() + seconds

    def post(slot: int) -> None:
        with requests.Session() as session:
            while time.monotonic() < stop:
                started = time.perf_counter()
                session.post(url, data=bodies[done[slot] % len(bodies)], timeout=60)
                latencies[slot].append((time.perf_counter() - started) * 1000)
                done[slot] += 1

    threads = [threading.Thread(target=post, args=(i,)) for i in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.monotonic() - started), [ms for each in latencies for ms in each]
