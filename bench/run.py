"""Measure where every millisecond of an inspection goes, and write BENCHMARKS.md.

    python bench/run.py            # full run (~10-15 min on 2 cores), writes BENCHMARKS.md
    python bench/run.py --quick    # smoke run (seconds): same tables, tiny counts
    python bench/run.py --quick --out /tmp/b   # BENCHMARKS.md, plots/ and results.json there

Everything runs in one process tree on this machine: the servers under test are
subprocesses on loopback ports (inspekt, a minimal ASGI floor, a Flask+gevent
peer, inspekt with a fix reverted), the load comes from forked keep-alive client
processes, and in-process figures (decoding, the flow) are measured in this
process while the servers idle. Every figure is a median over repeated runs with
min and max; every comparison is a ratio of runs made side by side, alternating
which server goes first.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

import numpy as np  # noqa: E402
import report  # noqa: E402
from load import LoadResult, Req, run_load  # noqa: E402
from payloads import OCTET, SIZES, TRANSPORTS, Payload  # noqa: E402
from servers import ServerProcess  # noqa: E402


@dataclass(frozen=True)
class Mode:
    name: str
    repeats: int
    floor_count: int
    transport_counts: dict[str, int]
    decode_runs: int
    e2e_count: int
    e2e_seconds: float
    e2e_repeats: int
    conc_levels: tuple[int, ...]
    conc_seconds: float
    conc_count: int
    conc_repeats: int
    memory_checkpoints: tuple[int, ...]
    fixes_count: int
    conc_flows: tuple[str, ...] = ("model", "empty")
    #: The model flow may take a second an image on a busy box: longer windows, fewer repeats.
    conc_model_seconds: float = 5.0
    conc_model_repeats: int = 3
    run_seconds: float = 60.0  # upper bound on any one load run


FULL = Mode(
    name="full",
    repeats=5,
    floor_count=100,
    transport_counts={"640x480": 100, "1920x1080": 40, "4096x3000": 10},
    decode_runs=10,
    e2e_count=60,
    e2e_seconds=8.0,
    e2e_repeats=3,
    conc_levels=(1, 2, 4, 8),
    conc_seconds=3.0,
    conc_count=4000,
    conc_repeats=3,
    memory_checkpoints=(1000, 2000, 4000, 6000, 8000, 10000),
    fixes_count=50,
)
QUICK = Mode(
    name="quick",
    repeats=2,
    floor_count=8,
    transport_counts={"640x480": 6, "1920x1080": 3},
    decode_runs=3,
    e2e_count=8,
    e2e_seconds=2.0,
    e2e_repeats=2,
    conc_levels=(1, 2, 4),
    conc_seconds=0.3,
    conc_count=20,
    conc_repeats=2,
    memory_checkpoints=(100, 300),
    fixes_count=8,
    conc_flows=("model",),
    conc_model_seconds=0.3,
    conc_model_repeats=2,
    run_seconds=5.0,
)

#: A Code module standing in for a model: blur, threshold, contours, a heatmap.
MODEL_STANDIN = '''
import cv2
import numpy as np


def main(context):
    image = context["image"]
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    blurred = cv2.GaussianBlur(gray, (9, 9), 0)
    heat = cv2.absdiff(gray, blurred).astype(np.float32) / 255.0
    context["heatmap"] = heat
    mask = (heat > 0.08).astype(np.uint8)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    boxes = [cv2.boundingRect(c) for c in contours[:5]]
    context["detectedRectangles"] = [
        {"x": x, "y": y, "width": w, "height": h, "classes": [{"label": "spot"}]}
        for x, y, w, h in boxes
    ]
    context["score"] = float(heat.mean())
    context["result"] = not boxes
'''


def write_project(directory: Path, flow: str, files: dict[str, str] | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "pekat_package.json").write_text(
        json.dumps({"name": directory.name, "version": "1.0.0"}), encoding="utf-8"
    )
    (directory / "flow.yaml").write_text(flow, encoding="utf-8")
    for name, text in (files or {}).items():
        (directory / name).write_text(text, encoding="utf-8")
    return directory


def stats(values: list[float]) -> dict[str, Any]:
    clean = [float(v) for v in values if v == v]
    if not clean:
        return {"median": float("nan"), "min": float("nan"), "max": float("nan"), "n": 0}
    return {"median": float(np.median(clean)), "min": min(clean), "max": max(clean),
            "n": len(clean)}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


class Bench:
    def __init__(self, mode: Mode, work: Path, demo: Path | None, train: bool) -> None:
        self.mode = mode
        self.work = work
        self.logs = work / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.results: dict[str, Any] = {"meta": {}, "notes": []}
        self.empty = write_project(work / "empty", "flow: []\n")
        # The model stand-in runs inside the server, as a model does; the memory
        # project keeps the default isolation (a child process per Code module).
        self.code = write_project(
            work / "code",
            "flow:\n  - type: code\n    name: model\n    file: model.py\n    isolation: none\n",
            {"model.py": MODEL_STANDIN},
        )
        self.isolated = write_project(
            work / "isolated", "flow:\n  - type: code\n    name: model\n    file: model.py\n",
            {"model.py": MODEL_STANDIN},
        )
        self.model, self.model_status = self._model_project(demo, train)
        self.servers: dict[str, ServerProcess] = {}

    # ---- setup -----------------------------------------------------------------------------

    def _model_project(self, demo: Path | None, train: bool) -> tuple[Path, str]:
        """The trained demo anomaly project, or the Code stand-in and why."""
        if self.mode.name == "quick":
            return self.code, "not trained (quick mode: a Code-module stand-in runs instead)"
        candidates = [demo] if demo else [REPO / "demo"]
        for candidate in candidates:
            models = candidate / "models" if candidate else None
            if models and models.is_dir() and any(models.iterdir()):
                return candidate, f"trained model found in {candidate}"
        if not train:
            return self.code, "not trained (--no-train: a Code-module stand-in runs instead)"
        source = demo or REPO / "demo"
        copy = self.work / "demo"
        shutil.copytree(source, copy, ignore=shutil.ignore_patterns("models", ".inspekt"))
        log(f"training a copy of {source} in {copy} (about a minute)")
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "inspekt", "train", str(copy)],
            capture_output=True, text=True, timeout=1800,
        )
        if done.returncode != 0:
            tail = (done.stdout + done.stderr).strip().splitlines()[-1:] or ["?"]
            return self.code, f"not trained (inspekt train failed: {tail[0][:200]})"
        seconds = time.perf_counter() - started
        return copy, f"trained a copy of demo/ for this run in {seconds:.0f} s"

    def start_servers(self) -> None:
        """Spawn every server at once (they idle until their section), then wait for all."""
        logs = self.logs
        self.servers = {
            "floor": ServerProcess.floor("floor", logs),
            "inspekt-empty": ServerProcess.inspekt("inspekt-empty", self.empty, logs),
            "inspekt-model": ServerProcess.inspekt("inspekt-model", self.model, logs),
            "peer-model": ServerProcess.peer("peer-model", self.model, logs),
            "inspekt-memory": ServerProcess.inspekt("inspekt-memory", self.isolated, logs),
        }
        if "empty" in self.mode.conc_flows:
            self.servers["peer-empty"] = ServerProcess.peer("peer-empty", self.empty, logs)
        for name in self._fix_variants():
            self.servers[f"before-{name}"] = ServerProcess.variant(
                f"before-{name}", name, self.empty, logs
            )
        for name, server in list(self.servers.items()):
            if self.servers[name] is not server:
                continue  # replaced by the stand-in below: already waited for
            try:
                server.wait_ready()
            except RuntimeError as exc:
                if not name.endswith("-model") or self.model == self.code:
                    raise
                # The trained demo does not load (the model code moved on?): the stand-in runs.
                reason = str(exc).strip().splitlines()[-1][:200]
                log(f"{name} failed to start with {self.model}; using the Code stand-in")
                self.model = self.code
                self.model_status = f"not trained (the trained demo failed to load: {reason})"
                self.results["meta"]["model_status"] = self.model_status
                for other in ("inspekt-model", "peer-model"):
                    self.servers[other].stop()
                self.servers["inspekt-model"] = ServerProcess.inspekt(
                    "inspekt-model", self.code, logs).wait_ready()
                self.servers["peer-model"] = ServerProcess.peer(
                    "peer-model", self.code, logs).wait_ready()
        memory = self.servers["inspekt-memory"]
        self.results["memory_start_rss_mb"] = (memory.rss_mb(), memory.rss_mb(tree=True))

    def stop_servers(self) -> None:
        for server in self.servers.values():
            server.stop()

    def load(self, server: str, reqs: list[Req], **kw: Any) -> LoadResult:
        kw.setdefault("seconds", self.mode.run_seconds)
        result = run_load(self.servers[server].port, reqs, **kw)
        if result.unexpected:
            raise RuntimeError(f"{server}: unexpected statuses {dict(result.statuses)}")
        return result

    # ---- sections --------------------------------------------------------------------------

    def floor(self) -> None:
        """Empty flow at 1080p: inspekt vs the floor ASGI app (+ in-process decode)."""
        from inspekt.imaging.io import decode_image

        payload = Payload.make(*SIZES["1920x1080"])
        rows: dict[str, dict[str, list[float]]] = {}
        hist: dict[str, dict[str, list[float]]] = {}
        floor_port = self.servers["floor"].port
        for rep in range(self.mode.repeats):
            for transport in ("raw", "jpeg", "png"):
                row = rows.setdefault(transport, {k: [] for k in (
                    "floor_p50", "inspekt_p50", "floor_p99", "inspekt_p99", "decode", "ratio")})
                # One client alternates floor and inspekt request by request.
                req = payload.req(transport)
                pair = [replace(req, port=floor_port, tag="floor"), replace(req, tag="inspekt")]
                if rep % 2:
                    pair.reverse()
                res = self.load("inspekt-empty", pair, count=2 * self.mode.floor_count)
                decode = 0.0
                if transport != "raw":
                    body = payload.jpeg if transport == "jpeg" else payload.png
                    decode = _time_ms(lambda body=body: decode_image(body), self.mode.decode_runs)
                row["floor_p50"].append(res.pct(50, "floor"))
                row["inspekt_p50"].append(res.pct(50, "inspekt"))
                row["floor_p99"].append(res.pct(99, "floor"))
                row["inspekt_p99"].append(res.pct(99, "inspekt"))
                row["decode"].append(decode)
                row["ratio"].append(res.pct(50, "inspekt") / (res.pct(50, "floor") + decode))
                h = hist.setdefault(transport, {"floor": [], "inspekt": []})
                h["floor"] += res.ms("floor").tolist()
                h["inspekt"] += res.ms("inspekt").tolist()
            log(f"floor: repeat {rep + 1}/{self.mode.repeats}")
        self.results["floor"] = {
            "size": "1920x1080",
            "bytes": {"raw": len(payload.raw), "jpeg": len(payload.jpeg), "png": len(payload.png)},
            "rows": {t: {k: stats(v) for k, v in row.items()} for t, row in rows.items()},
        }
        report.plot_floor_hist(hist, self.plots / "latency_floor_1080p.png")

    def transports(self) -> None:
        """raw / JPEG / PNG / shared memory / multipart at three sizes, empty flow."""
        out: dict[str, Any] = {}
        hist: dict[str, dict[str, list[float]]] = {}
        for size, count in self.mode.transport_counts.items():
            payload = Payload.make(*SIZES[size])
            try:
                runs: dict[str, dict[str, list[float]]] = {t: {"p50": [], "p99": [], "mbps": []}
                                                          for t in TRANSPORTS}
                shm_vs_raw: list[float] = []
                reqs = [replace(payload.req(t), tag=t) for t in TRANSPORTS]
                for rep in range(self.mode.repeats):
                    # One client cycles through the transports request by request.
                    shift = rep % len(reqs)
                    res = self.load("inspekt-empty", reqs[shift:] + reqs[:shift],
                                    count=count * len(reqs))
                    for t in TRANSPORTS:
                        runs[t]["p50"].append(res.pct(50, t))
                        runs[t]["p99"].append(res.pct(99, t))
                        runs[t]["mbps"].append(len(payload.raw) / 2**20 / (res.pct(50, t) / 1000))
                        if size == "1920x1080":
                            hist.setdefault(t, []).extend(res.ms(t).tolist())
                    shm_vs_raw.append(res.pct(50, "shm") / res.pct(50, "raw"))
                out[size] = {
                    "bytes": {t: payload.body_bytes(t) for t in TRANSPORTS},
                    "rows": {t: {k: stats(v) for k, v in r.items()} for t, r in runs.items()},
                    "shm_vs_raw": stats(shm_vs_raw),
                }
                log(f"transports: {size} done")
            finally:
                payload.close()
        self.results["transports"] = out
        report.plot_transports(out, hist, self.plots / "transports.png")

    def end_to_end(self) -> None:
        """The model flow over HTTP (keep-alive) vs the same flow called in-process."""
        from inspekt import FlowRunner, load_project
        from inspekt.imaging.io import decode_image

        files = sorted((REPO / "demo" / "images" / "test").glob("*.jpg"))
        encoded = [f.read_bytes() for f in files]
        images = [decode_image(b) for b in encoded]
        variants = {
            "raw": [Req("POST", f"/analyze_raw_image?width={im.shape[1]}&height={im.shape[0]}",
                        im.tobytes(), OCTET) for im in images],
            "jpeg": [Req("POST", "/analyze_image", b, OCTET) for b in encoded],
        }
        runner = FlowRunner(load_project(self.model))
        n = self.mode.e2e_count

        seconds = self.mode.e2e_seconds

        def in_process(variant: str) -> float:
            for k in range(2):  # warm-up, as the HTTP clients get
                runner.analyze(images[k % len(images)])
            started = time.perf_counter()
            deadline = started + seconds
            done = 0
            while done < n and time.perf_counter() < deadline:
                if variant == "jpeg":
                    runner.analyze(decode_image(encoded[done % len(encoded)]))
                else:
                    runner.analyze(images[done % len(images)])
                done += 1
            return done / (time.perf_counter() - started)

        def http(reqs: list[Req], clients: int = 1) -> LoadResult:
            return self.load("inspekt-model", reqs, clients=clients, count=n, seconds=seconds,
                             warmup=2)

        rows: dict[str, dict[str, list[float]]] = {}
        for rep in range(self.mode.e2e_repeats):
            for variant, reqs in variants.items():
                row = rows.setdefault(variant, {"inproc": [], "http": [], "http2": [], "ratio": [],
                                                "ratio2": [], "http_p50": [], "http_p99": []})
                if rep % 2 == 0:
                    inproc = in_process(variant)
                    one = http(reqs)
                else:
                    one = http(reqs)
                    inproc = in_process(variant)
                two = http(reqs, clients=2)
                row["inproc"].append(inproc)
                row["http"].append(one.throughput)
                row["http2"].append(two.throughput)
                row["ratio"].append(one.throughput / inproc)
                row["ratio2"].append(two.throughput / inproc)
                row["http_p50"].append(one.pct(50))
                row["http_p99"].append(one.pct(99))
            log(f"end-to-end: repeat {rep + 1}/{self.mode.e2e_repeats}")
        runner.close()
        self.results["e2e"] = {
            "project": self.model_status,
            "images": [f.name for f in files],
            "image_size": f"{images[0].shape[1]}x{images[0].shape[0]}",
            "rows": {v: {k: stats(x) for k, x in r.items()} for v, r in rows.items()},
        }

    def concurrency(self) -> None:
        """1..8 keep-alive clients, inspekt vs the Flask+gevent peer, model and empty flows."""
        files = sorted((REPO / "demo" / "images" / "test").glob("*.jpg"))
        from inspekt.imaging.io import decode_image

        images = [decode_image(f.read_bytes()) for f in files]
        reqs = [Req("POST", f"/analyze_raw_image?width={im.shape[1]}&height={im.shape[0]}",
                    im.tobytes(), OCTET) for im in images]
        out: dict[str, Any] = {}
        for flow in self.mode.conc_flows:
            table: dict[str, dict[int, dict[str, list[float]]]] = {}
            model = flow == "model"
            repeats = self.mode.conc_model_repeats if model else self.mode.conc_repeats
            seconds = self.mode.conc_model_seconds if model else self.mode.conc_seconds
            # Each repeat sweeps every level, alternating inspekt and the peer, so the
            # ratios (inspekt/peer, N clients/1 client) compare runs minutes apart at most.
            ratios: dict[int, dict[str, list[float]]] = {}
            for rep in range(repeats):
                for level in self.mode.conc_levels:
                    order = [f"inspekt-{flow}", f"peer-{flow}"][:: 1 if (rep + level) % 2 else -1]
                    got = {}
                    for server in order:
                        res = self.load(server, reqs, clients=level, count=self.mode.conc_count,
                                        seconds=seconds, warmup=1)
                        name = server.split("-")[0]
                        got[name] = res
                        cell = table.setdefault(name, {}).setdefault(
                            level, {"thr": [], "p50": [], "p99": [], "threads": []})
                        cell["thr"].append(res.throughput)
                        cell["p50"].append(res.pct(50))
                        cell["p99"].append(res.pct(99))
                        cell["threads"].append(self.servers[server].threads())
                    first = table["inspekt"][self.mode.conc_levels[0]]
                    r = ratios.setdefault(level, {"thr_vs_peer": [], "p99_peer_vs": [],
                                                  "thr_vs_1": [], "p99_vs_1": []})
                    r["thr_vs_peer"].append(got["inspekt"].throughput / got["peer"].throughput)
                    r["p99_peer_vs"].append(got["peer"].pct(99) / got["inspekt"].pct(99))
                    r["thr_vs_1"].append(got["inspekt"].throughput / first["thr"][-1])
                    r["p99_vs_1"].append(got["inspekt"].pct(99) / first["p99"][-1])
                log(f"concurrency: {flow} flow, repeat {rep + 1}/{repeats} done")
            out[flow] = {srv: {str(lv): {k: stats(v) for k, v in cell.items()}
                               for lv, cell in levels.items()} for srv, levels in table.items()}
            out[flow]["ratios"] = {str(lv): {k: stats(v) for k, v in r.items()}
                                   for lv, r in ratios.items()}
        out["model_project"] = self.model_status
        out["image_size"] = f"{images[0].shape[1]}x{images[0].shape[0]}"
        self.results["concurrency"] = out
        report.plot_concurrency(out, self.mode.conc_levels, self.plots / "concurrency.png")

    def memory(self) -> None:
        """RSS of a fresh server after start, after 1,000 and 10,000 mixed requests."""
        payload = Payload.make(*SIZES["640x480"])
        try:
            reqs = [
                payload.req("raw"),
                payload.req("jpeg", "response_type=annotated_image"),
                payload.req("png", "response_type=heatmap&context_in_body"),
                payload.req("shm", "data=camera-1"),
                payload.req("multipart"),
                payload.req("raw", "response_type=image"),
                Req("POST", "/analyze_image", b"not an image", OCTET, expect=400),
                Req("POST", "/analyze_raw_image?width=640&height=481", payload.raw, OCTET,
                    expect=400),
                Req("GET", "/ping"),
                Req("GET", "/last_image", expect=(200, 404)),  # 404 until the first analysis
                payload.req("jpeg", "response_type=image&context_in_body"),
            ]
            server = self.servers["inspekt-memory"]
            points = [(0, *self.results["memory_start_rss_mb"])]
            threads = [server.threads()]
            done = 0
            for checkpoint in self.mode.memory_checkpoints:
                per_client = (checkpoint - done) // 2
                res = self.load("inspekt-memory", reqs, clients=2, count=per_client, warmup=0,
                                seconds=600)
                done += res.count
                points.append((done, server.rss_mb(), server.rss_mb(tree=True)))
                threads.append(server.threads())
                log(f"memory: {done} requests, RSS {points[-1][1]:.1f} MB "
                    f"({points[-1][2]:.1f} MB with the Code module's child)")
            first = self.mode.memory_checkpoints[0]
            base = next(p for p in points if p[0] >= first)
            self.results["memory"] = {
                "points": points,
                "threads": threads,
                "growth_after_warmup_mb": points[-1][1] - base[1],
                "growth_tree_after_warmup_mb": points[-1][2] - base[2],
                "warmup_requests": first,
                "mix": [r.path.split("?")[0] + ("?" + r.path.split("?")[1] if "?" in r.path else "")
                        + (" (multipart)" if r.body.startswith(b"--") else "")
                        + (f" -> {r.expect}" if r.expect != 200 else "") for r in reqs],
            }
        finally:
            payload.close()
        report.plot_memory(self.results["memory"], self.plots / "memory.png")

    # ---- fixes -----------------------------------------------------------------------------

    FIXES: dict[str, dict[str, Any]] = {
        "no-nodelay": {
            "fix": "TCP_NODELAY on accepted sockets (server.py `bind_socket`)",
            "why": "the listening socket was created with proto 0, so neither asyncio nor uvloop "
                   "set TCP_NODELAY on accepted connections; every answer (headers, then body) "
                   "waited ~40 ms for the client's delayed ACK (Nagle)",
            "probes": ["GET /ping", "raw 640x480"],
        },
        "sync-dependency": {
            "fix": "`async def` query-documenting dependency (api/analyze.py)",
            "why": "FastAPI runs a plain `def` dependency on its threadpool: one thread hop per "
                   "analyze request, and concurrent requests start up to 40 extra threads (its "
                   "'before' server is the original code, with fix 4 undone too, since fix 4 "
                   "later removed that dependency from the serving routes altogether; the latency "
                   "of both together is the 'raw 640x480' row)",
            "probes": ["threads after 8 clients", "raw 640x480"],
        },
        "declared-query": {
            "fix": "no per-request FastAPI query validation on analyze routes (api/analyze.py)",
            "why": "the analyze routes declared their query parameters to FastAPI only for the "
                   "OpenAPI schema, and FastAPI validated all of them on every request (~0.2-0.4 "
                   "ms on this box); they are now documented through openapi_extra, which FastAPI "
                   "does not validate, and the schema still lists them",
            "probes": ["raw 8x8", "raw 640x480"],
        },
        "inline-analysis": {
            "fix": "diagnostic, not shipped: analysis on the event loop instead of the analysis "
                   "thread",
            "why": "what the hop to the analysis thread costs per request: the 'before' column "
                   "runs the flow on the event loop, as the gevent peer does, so a ratio under 1 "
                   "is the hop's share (two cross-thread wake-ups, slow when the cores are busy). "
                   "The hop is what keeps /ping and the other connections served while a model "
                   "runs, so it stays",
            "probes": ["raw 8x8", "raw 640x480"],
        },
        "spooled-multipart": {
            "fix": "multipart parts kept in memory (api/body.py)",
            "why": "Starlette spools file parts over 1 MB to a temporary file, written and read "
                   "back through threadpool threads, although the body is already in memory",
            "probes": ["multipart 1920x1080"],
        },
    }

    def _fix_variants(self) -> list[str]:
        return list(self.FIXES)

    def fixes(self) -> None:
        small = Payload.make(*SIZES["640x480"])
        large = Payload.make(*SIZES["1920x1080"])
        probes = {
            "GET /ping": [Req("GET", "/ping")],
            "raw 8x8": [Payload.make(8, 8).req("raw")],
            "raw 640x480": [small.req("raw")],
            "multipart 640x480": [small.req("multipart")],
            "multipart 1920x1080": [large.req("multipart")],
        }
        out = []
        for name, info in self.FIXES.items():
            before_srv, after_srv = f"before-{name}", "inspekt-empty"
            before_port = self.servers[before_srv].port
            rows = {}
            for probe in info["probes"]:
                before, after, ratio = [], [], []
                for rep in range(self.mode.repeats):
                    if probe.startswith("threads after"):
                        clients = int(probe.split()[2])
                        counts = {}
                        for server in [before_srv, after_srv][:: 1 if rep % 2 == 0 else -1]:
                            self.load(server, probes["raw 640x480"], clients=clients,
                                      count=self.mode.fixes_count)
                            counts[server] = self.servers[server].threads()
                        before.append(counts[before_srv])
                        after.append(counts[after_srv])
                    else:
                        reqs = probes[probe]
                        pair = [replace(r, port=before_port, tag="before") for r in reqs]
                        pair += [replace(r, tag="after") for r in reqs]
                        if rep % 2:
                            pair.reverse()
                        res = self.load(after_srv, pair, count=2 * self.mode.fixes_count)
                        before.append(res.pct(50, "before"))
                        after.append(res.pct(50, "after"))
                    ratio.append(before[-1] / after[-1])
                rows[probe] = {"before": stats(before), "after": stats(after),
                               "ratio": stats(ratio)}
            out.append({"name": name, **{k: v for k, v in info.items() if k != "probes"},
                        "rows": rows})
            log(f"fixes: {name} done")
        self.results["fixes"] = out

    # ---- all -------------------------------------------------------------------------------

    def run(self, sections: list[str], plots: Path) -> dict[str, Any]:
        self.plots = plots
        plots.mkdir(parents=True, exist_ok=True)
        self.results["meta"] = machine_info(self.mode)
        self.results["meta"]["model_status"] = self.model_status
        started = time.perf_counter()
        self.start_servers()
        log("servers up: " + ", ".join(f"{k}:{s.port}" for k, s in self.servers.items()))
        try:
            for section in sections:
                getattr(self, SECTIONS[section])()
        finally:
            self.stop_servers()
        self.results["meta"]["seconds"] = time.perf_counter() - started
        self.results["meta"]["sections"] = sections
        return self.results


SECTIONS = {
    "floor": "floor",
    "transports": "transports",
    "e2e": "end_to_end",
    "concurrency": "concurrency",
    "memory": "memory",
    "fixes": "fixes",
}


def _time_ms(fn: Callable[[], Any], runs: int) -> float:
    fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return float(np.median(times)) * 1000


def machine_info(mode: Mode) -> dict[str, Any]:
    import cv2
    import fastapi
    import uvicorn

    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import uvloop  # noqa: F401

        loop = "uvloop"
    except ImportError:
        loop = "asyncio"
    try:
        import httptools  # noqa: F401

        http = "httptools"
    except ImportError:
        http = "h11"
    return {
        "mode": mode.name,
        "mode_params": asdict(mode),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "load_avg_at_start": os.getloadavg(),
        "python": platform.python_version(),
        "versions": {"uvicorn": uvicorn.__version__, "fastapi": fastapi.__version__,
                     "opencv": cv2.__version__, "numpy": np.__version__,
                     "loop": loop, "http": http},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=textwrap.dedent(__doc__ or "").strip().splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="smoke mode: seconds, tiny counts")
    parser.add_argument("--out", type=Path,
                        help="write BENCHMARKS.md, plots/ and results.json into this folder")
    parser.add_argument("--report", type=Path, default=REPO / "BENCHMARKS.md")
    parser.add_argument("--plots", type=Path, default=BENCH_DIR / "plots")
    parser.add_argument("--demo", type=Path,
                        help="a trained demo project to use (default: demo/ if trained, else "
                             "train a copy in a temp dir)")
    parser.add_argument("--no-train", action="store_true",
                        help="never train: without a trained demo, a Code stand-in runs")
    parser.add_argument("--sections", default=",".join(SECTIONS),
                        help=f"comma-separated subset of {','.join(SECTIONS)}")
    parser.add_argument("--render", action="store_true",
                        help="measure nothing: rewrite the report from PLOTS/results.json")
    args = parser.parse_args(argv)
    if args.out:
        args.report = args.out / "BENCHMARKS.md"
        args.plots = args.out / "plots"
    if args.render:
        results = json.loads((args.plots / "results.json").read_text())
        args.report.write_text(report.markdown(results, args.report, args.plots), encoding="utf-8")
        log(f"rewrote {args.report} from {args.plots / 'results.json'}")
        return 0
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {unknown}")
    mode = QUICK if args.quick else FULL
    # A stopped bench still stops its servers (the finally blocks run on SystemExit).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory(prefix="inspekt-bench-") as tmp:
        bench = Bench(mode, Path(tmp), args.demo, train=not args.no_train)
        results = bench.run(sections, args.plots)
    args.report.parent.mkdir(parents=True, exist_ok=True)
    (args.plots / "results.json").write_text(json.dumps(results, indent=1, default=str))
    args.report.write_text(report.markdown(results, args.report, args.plots), encoding="utf-8")
    log(f"wrote {args.report} and {args.plots}/ in {results['meta']['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
