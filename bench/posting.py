"""Clients that post images to a server back to back, for the benches that need load,
their common options, and the per-round ratios they compare servers by."""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from pathlib import Path

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


def add_load_options(parser: argparse.ArgumentParser, out: Path) -> None:
    """``--rounds``, ``--clients``, ``--seconds`` and ``--out`` (defaulting to ``out``)."""
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--out", type=Path, default=out)


def round_ratios(
    mine: list[float], reference: list[float], digits: int
) -> tuple[float, float, float]:
    """The median of each round's ratio to the reference's same round, and their range
    (the noise of a shared machine shows there)."""
    ratios = [a / b for a, b in zip(mine, reference, strict=True)]
    return (round(statistics.median(ratios), digits), round(min(ratios), digits),
            round(max(ratios), digits))
