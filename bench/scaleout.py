"""Scale-out on one machine: one process, ``--workers 2``, Ray Serve with 1 and 2
replicas, and the peer (Flask + gevent, PEKAT's stack), in the same run.

The demo project (the anomaly detector at 256 px, trained here in a temp copy) and an
empty project (the server alone) are served by each setup in turn, the order rotating
every round. ``--clients`` threads post the demo's test images at 512x512 back to back
for ``--seconds`` (throughput, p50, p99), then one client posts one image at a time
(its p50 less one process's is what a setup adds to each request). Ratios are medians
of each round's ratio to one process, with their range. The last table estimates, on
paper and from these figures, what a Ray cluster of K such machines sustains.

    pip install -e ".[bench,cluster]"
    python bench/scaleout.py [--rounds 3] [--out bench/scaleout.md]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from history import images
from posting import add_load_options, post_for, round_ratios
from servers import ServerProcess
from startup import trained_demo, write_empty

REPO = Path(__file__).resolve().parents[1]
#: Setup name → ``inspekt serve`` options; None is the peer.
SETUPS: dict[str, tuple[str, ...] | None] = {
    "1 process": (),
    "2 workers": ("--workers", "2"),
    "Ray, 1 replica": ("--ray", "--replicas", "1"),
    "Ray, 2 replicas": ("--ray", "--replicas", "2"),
    "peer (Flask + gevent)": None,
}
REFERENCE = "1 process"
SINGLE_SECONDS = 4.0
NODES = (1, 2, 4, 8, 16)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_load_options(parser, REPO / "bench" / "scaleout.md")
    args = parser.parse_args()
    bodies = images()
    found: dict[str, dict[str, dict[str, list[float]]]] = {}
    names = list(SETUPS)
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        projects = {
            "demo": trained_demo(folder / "demo", 256),
            "empty": write_empty(folder / "empty"),
        }
        for project_name, project in projects.items():
            found[project_name] = {
                name: {"rate": [], "p50": [], "p99": [], "alone": []} for name in names
            }
            for round_ in range(args.rounds):
                shift = round_ % len(names)
                for name in names[shift:] + names[:shift]:
                    row = found[project_name][name]
                    measured = _measure(name, project, folder, bodies, args, round_)
                    for key, value in measured.items():
                        row[key].append(value)
                    print(project_name, name, round_, measured, flush=True)
        in_process = {"inspekt": [], "peer": []}
        for _ in range(args.rounds):
            for side, times in in_process_ms(projects["empty"], bodies).items():
                in_process[side].append(times)
    summary: dict[str, Any] = {
        project: {name: _summary(rows[name], rows[REFERENCE]) for name in names}
        for project, rows in found.items()
    }
    summary["in_process_ms"] = {
        side: round(statistics.median(values), 2) for side, values in in_process.items()
    }
    print(json.dumps(summary))
    args.out.write_text(render(summary, args), encoding="utf-8")


def in_process_ms(project: Path, bodies: list[bytes], count: int = 400) -> dict[str, float]:
    """Median milliseconds of what each server does for one request besides HTTP, in
    this process: inspekt's backend (decode, flow, history, live feed, metrics, answer)
    and the peer's handler body (decode, flow, JSON)."""
    from inspekt import FlowRunner, load_project
    from inspekt.api import LocalBackend, ServerSettings
    from inspekt.api.params import parse_analyze_params
    from inspekt.api.service import InspectionService
    from inspekt.context import context_to_json
    from inspekt.history import HistoryRecorder, HistorySettings
    from inspekt.imaging.io import ImageLimits, decode_image
    from inspekt.inspection import InspectionOptions, Inspector

    with tempfile.TemporaryDirectory() as temp:
        copy = Path(temp) / "project"
        shutil.copytree(project, copy)
        loaded = load_project(copy)
        recorder = HistoryRecorder(loaded, HistorySettings())
        backend = LocalBackend(Inspector(loaded))
        backend.subscribe(recorder)
        service = InspectionService(backend, ServerSettings(), recorder)
        params = parse_analyze_params({})
        limits = ImageLimits()

        def inspekt(body: bytes) -> None:
            options = InspectionOptions(endpoint="/analyze_image", encoded=body, pictures=False)
            backend.answer(partial(decode_image, body, limits), options, params)

        runner = FlowRunner(loaded)

        def peer(body: bytes) -> None:
            context_to_json(runner.analyze(decode_image(body)))

        found = {}
        for side, handle in (("inspekt", inspekt), ("peer", peer)):
            times = []
            for index in range(count):
                started = time.perf_counter()
                handle(bodies[index % len(bodies)])
                times.append((time.perf_counter() - started) * 1000)
                if side == "inspekt" and index % 32 == 0:
                    recorder.flush()  # a server's writer keeps up at line rates
            found[side] = statistics.median(times)
        service.close()
        backend.close()
        runner.close()
        recorder.close()
    return found


def _measure(
    name: str, project: Path, folder: Path, bodies: list[bytes], args: argparse.Namespace,
    round_: int,
) -> dict[str, float]:
    label = f"{project.name}-{name.replace(' ', '_').replace(',', '')}-{round_}"
    options = SETUPS[name]
    if options is None:
        server = ServerProcess.peer(label, project, folder)
    else:
        server = ServerProcess.inspekt(label, project, folder, (*options, "--quiet"))
    server.wait_ready()
    try:
        url = f"http://127.0.0.1:{server.port}/analyze_image"
        post_for(url, bodies, args.clients, 1.0)  # warm-up: every replica's first image
        rate, latencies = post_for(url, bodies, args.clients, args.seconds)
        _, alone = post_for(url, bodies, 1, SINGLE_SECONDS)
    finally:
        server.stop()
    return {
        "rate": rate,
        "p50": float(np.percentile(latencies, 50)),
        "p99": float(np.percentile(latencies, 99)),
        "alone": float(np.percentile(alone, 50)),
    }


def _summary(mine: dict[str, list[float]], one: dict[str, list[float]]) -> dict[str, Any]:
    out: dict[str, Any] = {key: round(statistics.median(values), 1) for key, values in mine.items()}
    for key in ("rate", "p99"):
        out[f"{key}_ratio"] = round_ratios(mine[key], one[key], 2)
    added = [a - b for a, b in zip(mine["alone"], one["alone"], strict=True)]
    out["added_ms"] = (round(statistics.median(added), 1), round(min(added), 1),
                       round(max(added), 1))
    return out


def _ratio(value: tuple[float, float, float]) -> str:
    return f"{value[0]} ({value[1]}–{value[2]})"


def estimate(summary: dict[str, Any]) -> str:
    """K machines like this one, each running replicas of the demo, one front door.

    A machine that runs only replicas analyses about as fast as one process does here
    (the model, not the server, is the work); the front door's ceiling is what Ray with
    two replicas answers for the empty flow, where it does little else (a floor: here
    it shares the cores with the replicas and Ray itself).
    """
    per_machine = summary["demo"][REFERENCE]["rate"]
    front_door = summary["empty"]["Ray, 2 replicas"]["rate"]
    rows = []
    for nodes in NODES:
        sustained = min(nodes * per_machine, front_door)
        bound = "front door" if nodes * per_machine > front_door else "replicas"
        rows.append(f"| {nodes} | {nodes * per_machine:.0f} | {sustained:.0f} | {bound} |")
    return "\n".join(rows)


def render(summary: dict[str, Any], args: argparse.Namespace) -> str:
    rows = []
    for project in ("demo", "empty"):
        for name, row in summary[project].items():
            rows.append(
                f"| {project} | {name} | {row['rate']} | {_ratio(row['rate_ratio'])} | "
                f"{row['p50']} | {row['p99']} | {_ratio(row['p99_ratio'])} | {row['alone']} | "
                f"{_ratio(row['added_ms'])} |"
            )
    table = "\n".join(rows)
    demo_rate = summary["demo"][REFERENCE]["rate"]
    front_door = summary["empty"]["Ray, 2 replicas"]["rate"]
    empty = summary["empty"]
    peer = empty["peer (Flask + gevent)"]["rate"]
    ours, theirs = summary["in_process_ms"]["inspekt"], summary["in_process_ms"]["peer"]
    return f"""# Scale-out: one process, workers, Ray Serve replicas, and the peer

Written by `python bench/scaleout.py --rounds {args.rounds}` on this machine
({os.cpu_count()} cores): {args.clients} clients posting the demo's test images at
512×512 (PNG) back to back for {args.seconds:g} s per round, then one client alone for
{SINGLE_SECONDS:g} s; every setup in every round, the order rotating. Ratios are medians of
each round's ratio to one process (range). *alone p50* is one client's median;
*added* is that less one process's, round by round: what the setup adds to a request.
Ray runs on this machine (`--ray` without `--address`), its front door, replicas and
own daemons sharing the same {os.cpu_count()} cores.

| project | setup | /s | / 1 process | p50 ms | p99 ms | p99 / 1 proc. | alone p50 | added ms |
|---|---|---:|---:|---:|---:|---:|---:|---:|
{table}

Against PEKAT's stack on the empty flow, with these PNG bodies (decoding included):
one process answers {empty[REFERENCE]["rate"] / peer:.2f}× the peer's analyses per
second and two workers {empty["2 workers"]["rate"] / peer:.2f}× (medians above). What
each does for a request besides HTTP, timed in one process (median of {args.rounds}
rounds): inspekt {ours:.2f} ms (decode, flow, history, live feed, metrics, answer), the
peer {theirs:.2f} ms (decode, flow, JSON), {ours - theirs:+.2f} ms; one client alone
waits {empty[REFERENCE]["alone"]} and {empty["peer (Flask + gevent)"]["alone"]} ms. A
leaner analysis path could win back at most that difference; the rest is the HTTP
stack, which one process runs on one core at a time: workers are what put the second
core to work.

Ray's hop costs {empty["Ray, 1 replica"]["added_ms"][0]} ms a request for the empty
flow and {summary["demo"]["Ray, 1 replica"]["added_ms"][0]} ms for the demo (its NOK
images' pictures travel back, and a replica reserves one core), and every
process, Ray's own included, shares these {os.cpu_count()} cores: on one machine Ray is
slower than one process. It is for more machines than one.

## On paper: a Ray cluster of K machines like this one, serving the demo

Each machine runs replicas only and analyses about {demo_rate:g} images/s, as one
process does here (the model is the work); one front door answers at most about
{front_door:g}/s, what Ray with two replicas answered for the empty flow (a floor:
there it shared these cores with the replicas and Ray's own processes).

| machines | replicas' capacity /s | sustained /s | bound by |
|---:|---:|---:|---|
{estimate(summary)}

Beyond the front door's ceiling, start another front door (another station's
`inspekt serve --ray --address` on the same cluster) rather than more replicas.
"""


if __name__ == "__main__":
    main()
