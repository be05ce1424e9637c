"""One process or several: throughput and p99 of ``inspekt serve --workers N``.

The demo project (the anomaly detector at 256 px, trained here in a temp copy) and an
empty project (the server alone) are served with 1 and 2 workers, in alternating
rounds, each round starting with the other; ``--clients`` threads post the demo's
test images at 512x512 back to back for ``--seconds``. Ratios are medians of each
round's ratio to one worker, with their range.

    python bench/workers.py [--rounds 3] [--out bench/workers.md]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from history import images
from posting import add_load_options, post_for, round_ratios
from servers import ServerProcess
from startup import trained_demo, write_empty

REPO = Path(__file__).resolve().parents[1]
COUNTS = (1, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_load_options(parser, REPO / "bench" / "workers.md")
    args = parser.parse_args()
    bodies = images()
    found: dict[str, dict[int, dict[str, list[float]]]] = {}
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        projects = {
            "demo": trained_demo(folder / "demo", 256),
            "empty": write_empty(folder / "empty"),
        }
        for name, project in projects.items():
            found[name] = {count: {"rate": [], "p50": [], "p99": []} for count in COUNTS}
            for round_ in range(args.rounds):
                for count in COUNTS if round_ % 2 == 0 else COUNTS[::-1]:
                    server = ServerProcess.inspekt(
                        f"{name}-{count}-{round_}", project, folder,
                        ("--workers", str(count), "--quiet"),
                    )
                    server.wait_ready()
                    try:
                        url = f"http://127.0.0.1:{server.port}/analyze_image"
                        post_for(url, bodies, args.clients, 1.0)  # warm-up
                        rate, latencies = post_for(url, bodies, args.clients, args.seconds)
                    finally:
                        server.stop()
                    row = found[name][count]
                    row["rate"].append(rate)
                    row["p50"].append(float(np.percentile(latencies, 50)))
                    row["p99"].append(float(np.percentile(latencies, 99)))
                    print(name, count, round_, round(rate, 1), flush=True)
    summary = {name: {count: _summary(rows[count], rows[1]) for count in COUNTS}
               for name, rows in found.items()}
    print(json.dumps(summary))
    args.out.write_text(render(summary, args), encoding="utf-8")


def _summary(mine: dict[str, list[float]], one: dict[str, list[float]]) -> dict[str, Any]:
    out: dict[str, Any] = {key: round(statistics.median(values), 1) for key, values in mine.items()}
    for key in ("rate", "p99"):
        out[f"{key}_ratio"] = round_ratios(mine[key], one[key], 2)
    return out


def render(summary: dict[str, dict[int, dict[str, Any]]], args: argparse.Namespace) -> str:
    rows = []
    for name, by_count in summary.items():
        for count, row in by_count.items():
            rate, p99 = row["rate_ratio"], row["p99_ratio"]
            rows.append(
                f"| {name} | {count} | {row['rate']} | {rate[0]} ({rate[1]}–{rate[2]}) | "
                f"{row['p50']} | {row['p99']} | {p99[0]} ({p99[1]}–{p99[2]}) |"
            )
    table = "\n".join(rows)
    return f"""# Workers: one process or several

Written by `python bench/workers.py --rounds {args.rounds}` on this machine
({os.cpu_count()} cores): {args.clients} clients posting the demo's test images at
512×512 back to back for {args.seconds:g} s per round, 1 and 2 workers alternating;
ratios are medians of each round's ratio to 1 worker (range).

| project | workers | analyses/s | / 1 worker | p50 ms | p99 ms | p99 / 1 worker |
|---|---:|---:|---:|---:|---:|---:|
{table}

When to use which: a flow whose model keeps every core busy (the demo's anomaly
detector runs onnxruntime on both) gains little from a second worker, which only
costs the model's memory again; a light flow (codes, user code, an empty flow: the
server's own Python, which one process runs on one core at a time) gains the most.
"""


if __name__ == "__main__":
    main()
