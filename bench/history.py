"""What recording the history costs an analysis, and how the dashboard keeps up.

The demo project (the anomaly detector at 256 px, trained here in a temp copy) is
served three ways, in alternating rounds so drift on a shared machine hits all alike:

- ``off``: ``--no-history``, the reference;
- ``on``: the default, every inspection recorded, NOK and error images kept as files;
- ``on_all_images``: ``--history-ok-images 1``, every image kept (the worst case).

Each round (starting with each way in turn) measures the analyze p50 of
``--sequential`` posts one after another, then the throughput of ``--clients`` threads
posting for ``--seconds``. The images are the
demo's test images resized to 512x512 (good ones and defects, so NOK images are kept).
Then, with history on, ``--viewers`` dashboard event streams are read while the same
clients post: the updates each stream got a second, and the throughput beside the
round without streams.

    python bench/history.py [--rounds 3] [--out bench/history.md]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import requests
from posting import add_load_options, post_for, round_ratios
from servers import ServerProcess
from startup import trained_demo

REPO = Path(__file__).resolve().parents[1]
MODES = {
    "off": ("--no-history",),
    "on": (),
    "on_all_images": ("--history-ok-images", "1"),
}
SIDE = 512


def images() -> list[bytes]:
    """The demo's test images at 512x512, as PNG."""
    found = []
    for path in sorted((REPO / "demo" / "images" / "test").glob("*.jpg")):
        picture = cv2.resize(cv2.imread(str(path)), (SIDE, SIDE), interpolation=cv2.INTER_AREA)
        found.append(cv2.imencode(".png", picture)[1].tobytes())
    return found


def sequential_p50(url: str, bodies: list[bytes], count: int) -> float:
    with requests.Session() as session:
        for body in bodies * 2:  # warm-up
            session.post(url, data=body, timeout=60).raise_for_status()
        times = []
        for index in range(count):
            started = time.perf_counter()
            session.post(url, data=bodies[index % len(bodies)], timeout=60).raise_for_status()
            times.append((time.perf_counter() - started) * 1000)
    return float(np.percentile(times, 50))


def throughput(url: str, bodies: list[bytes], clients: int, seconds: float) -> float:
    """Analyses a second with ``clients`` threads posting back to back."""
    return post_for(url, bodies, clients, seconds)[0]


def watched_throughput(
    base: str, bodies: list[bytes], clients: int, viewers: int, seconds: float
) -> tuple[float, list[float]]:
    """Throughput while ``viewers`` event streams are read, and each stream's updates/s."""
    counts = [0] * viewers
    connected = threading.Barrier(viewers + 1)
    stop = threading.Event()

    def view(slot: int) -> None:
        with requests.get(f"{base}/api/events", stream=True, timeout=60) as stream:
            connected.wait()
            for line in stream.iter_lines():
                if stop.is_set():
                    return
                if line.startswith(b"event: update"):
                    counts[slot] += 1

    threads = [threading.Thread(target=view, args=(i,), daemon=True) for i in range(viewers)]
    for thread in threads:
        thread.start()
    connected.wait()
    time.sleep(0.5)
    before = list(counts)
    started = time.monotonic()
    rate = throughput(f"{base}/analyze_image", bodies, clients, seconds)
    elapsed = time.monotonic() - started
    stop.set()
    return rate, [(after - first) / elapsed for after, first in zip(counts, before, strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_load_options(parser, REPO / "bench" / "history.md")
    parser.add_argument("--sequential", type=int, default=150)
    parser.add_argument("--viewers", type=int, default=8)
    args = parser.parse_args()
    bodies = images()
    results: dict[str, dict[str, list[float]]] = {m: {"p50": [], "rate": []} for m in MODES}
    viewer_rates: list[float] = []
    watched: list[float] = []
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        project = trained_demo(folder / "demo", 256)
        names = list(MODES)
        for round_ in range(args.rounds):
            # each round starts with another way: no way always runs first or last
            for mode in names[round_ % 3:] + names[: round_ % 3]:
                options = MODES[mode]
                server = ServerProcess.inspekt(f"{mode}-{round_}", project, folder, options)
                server.wait_ready()
                base = f"http://127.0.0.1:{server.port}"
                try:
                    url = f"{base}/analyze_image"
                    results[mode]["p50"].append(sequential_p50(url, bodies, args.sequential))
                    results[mode]["rate"].append(
                        throughput(url, bodies, args.clients, args.seconds)
                    )
                    if mode == "on":
                        rate, per_viewer = watched_throughput(
                            base, bodies, args.clients, args.viewers, args.seconds
                        )
                        watched.append(rate)
                        viewer_rates += per_viewer
                finally:
                    server.stop()
                print(mode, round_, {k: round(v[-1], 2) for k, v in results[mode].items()},
                      flush=True)
    summary = {mode: _summary(values, results["off"]) for mode, values in results.items()}
    dashboard = {
        "viewers": args.viewers,
        "updates_per_s_median": round(statistics.median(viewer_rates), 2),
        "updates_per_s_max": round(max(viewer_rates), 2),
        "per_s_watched": round(statistics.median(watched), 1),
        "watched_ratio": round_ratios(watched, results["on"]["rate"], 3)[0],
    }
    print(json.dumps({"history": summary, "dashboard": dashboard}))
    args.out.write_text(render(summary, dashboard, args), encoding="utf-8")


def _summary(values: dict[str, list[float]], off: dict[str, list[float]]) -> dict[str, Any]:
    """Medians of one way's figures, and of its per-round ratios to ``off`` with their
    range."""
    out: dict[str, Any] = {
        "p50_ms": round(statistics.median(values["p50"]), 2),
        "per_s": round(statistics.median(values["rate"]), 1),
    }
    for key, name in (("p50", "p50_ratio"), ("rate", "rate_ratio")):
        median, low, high = round_ratios(values[key], off[key], 3)
        out[name], out[name + "_range"] = median, (low, high)
    return out


def render(summary: dict[str, dict[str, Any]], dashboard: dict[str, float],
           args: argparse.Namespace) -> str:
    rows = "\n".join(
        f"| {mode} | {row['p50_ms']} | {row['p50_ratio']} "
        f"({row['p50_ratio_range'][0]}–{row['p50_ratio_range'][1]}) | {row['per_s']} | "
        f"{row['rate_ratio']} ({row['rate_ratio_range'][0]}–{row['rate_ratio_range'][1]}) |"
        for mode, row in summary.items()
    )
    return f"""# History and dashboard: cost and update rate

Written by `python bench/history.py --rounds {args.rounds}`: the demo's anomaly detector
(256 px) on the demo's test images at 512×512, {args.sequential} sequential posts
(p50) and {args.clients} clients posting for {args.seconds:g} s (throughput) per round,
the three ways interleaved, each round starting with another; ratios are medians of
each round's ratio to `off`. The bar:
history costs **≤ 5 %**.

| history | p50 ms | p50 / off (range) | analyses/s | analyses/s / off (range) |
|---|---:|---:|---:|---:|
{rows}

With history on, {dashboard['viewers']} dashboard event streams read while the same
clients post: each stream got a median **{dashboard['updates_per_s_median']} updates/s**
(max {dashboard['updates_per_s_max']}; the server sends at most 4), and the line ran
{dashboard['per_s_watched']} analyses/s, {dashboard['watched_ratio']} × the same round
without streams.

Why recording costs so little: the subscriber only copies what it needs and queues it
(~0.05 ms); a writer thread at a lower priority stores the image as the camera sent
it, the heat as an 8-bit JPEG and one SQLite row, and annotated images are drawn only
when someone looks. The first version encoded the input and heat as PNG on that
thread (~14 ms and ~6 ms for 512×512, more than half an analysis on these two cores)
and cost +34 % p50 and −34 % throughput in a one-round trial. The ranges show this
machine's noise: single rounds differ by ±15–30 % either way.
"""


if __name__ == "__main__":
    main()
