"""Keep-alive HTTP load from forked client processes, bounded in count and time.

Each client is its own process with one ``http.client`` connection (keep-alive),
so the clients' Python never shares a GIL with the server or with each other.
Requests are prepared before the fork (bodies already encoded), so a client only
sends bytes and reads the answer. A client may interleave requests to several
servers or transports (tagged): what is compared is then measured under the
same machine load, request by request. A shared-memory request copies its frame into
the block before each send, as a camera client does, and that copy is timed.
"""

from __future__ import annotations

import http.client
import mmap
import multiprocessing as mp
import os
import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Req:
    """One prepared request."""

    method: str
    path: str
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    #: (block name, frame bytes): copy the frame into /dev/shm/<name> before sending.
    shm: tuple[str, bytes] | None = None
    #: The status (or statuses) that count as a right answer.
    expect: int | tuple[int, ...] = 200
    #: Send to this port instead of the run's (one connection per port, all keep-alive).
    port: int | None = None
    #: Latencies are also kept per tag, so one client can interleave what it compares.
    tag: str = ""


@dataclass
class LoadResult:
    latencies: np.ndarray  # seconds, one per request in the window
    throughput: float  # requests per second while every client was busy
    count: int
    statuses: Counter = field(default_factory=Counter)
    unexpected: int = 0
    by_tag: dict[str, np.ndarray] = field(default_factory=dict)

    def pct(self, q: float, tag: str | None = None) -> float:
        """Percentile in ms, of every request or of one tag's."""
        values = self.latencies if tag is None else self.by_tag.get(tag, np.array([]))
        return float(np.percentile(values, q)) * 1000 if len(values) else float("nan")

    def ms(self, tag: str | None = None) -> np.ndarray:
        return (self.latencies if tag is None else self.by_tag[tag]) * 1000


def _client(port: int, reqs: list[Req], offset: int, warmup: int, count: int, seconds: float,
            barrier, out) -> None:  # noqa: ANN001
    conns: dict[int, http.client.HTTPConnection] = {}
    blocks: dict[str, mmap.mmap] = {}

    def send(req: Req) -> int:
        if req.shm is not None:
            name, frame = req.shm
            block = blocks.get(name)
            if block is None:
                fd = os.open(f"/dev/shm/{name}", os.O_RDWR)
                block = blocks[name] = mmap.mmap(fd, len(frame))
                os.close(fd)
            block[: len(frame)] = frame
        target = req.port or port
        conn = conns.get(target)
        if conn is None:
            conn = conns[target] = http.client.HTTPConnection("127.0.0.1", target, timeout=120)
        conn.request(req.method, req.path, body=req.body, headers=dict(req.headers))
        response = conn.getresponse()
        response.read()
        return response.status

    try:
        i = offset
        for _ in range(warmup):
            send(reqs[i % len(reqs)])
            i += 1
        barrier.wait()
        start = time.perf_counter()
        deadline = start + seconds
        times: list[tuple[float, float, int]] = []
        statuses: Counter = Counter()
        unexpected = 0
        while len(times) < count and time.perf_counter() < deadline:
            k = i % len(reqs)
            req = reqs[k]
            i += 1
            t0 = time.perf_counter()
            status = send(req)
            t1 = time.perf_counter()
            times.append((t0, t1, k))
            statuses[status] += 1
            expected = req.expect if isinstance(req.expect, tuple) else (req.expect,)
            unexpected += status not in expected
        out.put((start, times, statuses, unexpected, None))
    except Exception as exc:  # report, never hang the parent
        try:
            barrier.abort()
        except Exception:
            pass
        out.put((0.0, [], Counter(), 0, f"{type(exc).__name__}: {exc}"))
    finally:
        for conn in conns.values():
            conn.close()


def run_load(port: int, reqs: list[Req], *, clients: int = 1, count: int = 100,
             seconds: float = 10.0, warmup: int | None = None) -> LoadResult:
    """``clients`` keep-alive clients, each sending up to ``count`` requests or for ``seconds``.

    Throughput counts the requests finished while all clients were still
    sending (from the common start to the first client's last answer), so a
    client that ends early does not thin out the measured concurrency.
    """
    if warmup is None:
        warmup = max(3, len(reqs))
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(clients)
    out = ctx.Queue()
    procs = [
        ctx.Process(target=_client, args=(port, reqs, k * 7, warmup, count, seconds, barrier, out))
        for k in range(clients)
    ]
    for p in procs:
        p.start()
    results = [out.get(timeout=seconds + 300) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    errors = [r[4] for r in results if r[4]]
    if errors:
        raise RuntimeError(f"load client failed: {errors[0]}")
    start = min(r[0] for r in results)
    stop = min(r[1][-1][1] for r in results if r[1])
    latencies = np.array([t1 - t0 for r in results for t0, t1, _ in r[1]])
    in_window = sum(1 for r in results for _, t1, _ in r[1] if t1 <= stop)
    tagged: dict[str, list[float]] = {}
    for r in results:
        for t0, t1, k in r[1]:
            tagged.setdefault(reqs[k].tag, []).append(t1 - t0)
    statuses: Counter = Counter()
    for r in results:
        statuses.update(r[2])
    return LoadResult(
        latencies=latencies,
        throughput=in_window / (stop - start) if stop > start else float("nan"),
        count=len(latencies),
        statuses=statuses,
        unexpected=sum(r[3] for r in results),
        by_tag={tag: np.array(v) for tag, v in tagged.items()},
    )
