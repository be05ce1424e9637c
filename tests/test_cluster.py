"""``inspekt serve --ray``: the flow on Ray Serve replicas behind the same API.

A replica is a plain class, tested first on its own: it unpacks the project from
its archive (models checked), runs the inspection seam and hands back what the
front door records. Then a real Ray cluster on loopback, started and stopped here.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np
import psutil
import pytest
import requests

from inspekt.archive import export_project
from inspekt.cluster import REPLICA_ONGOING, FlowReplica, ReplicaRequest
from inspekt.errors import ProjectError
from inspekt.imaging.io import ImageLimits, decode_image
from inspekt.inspection import InspectionOptions
from tests.conftest import (
    DATA_DIR,
    Server,
    decode,
    encode,
    free_port,
    inspekt_command,
    real_image,
    write_project,
)

#: The replica's pid, its own count of images, a slow path for the load test, and a
#: verdict the request chooses.
REPORT = """
import os
import time

def main(context):
    context["replica"] = os.getppid()  # the replica process that runs this Code module
    context["globalData"]["seen"] = context["globalData"].get("seen", 0) + 1
    if context["data"] == "slow":
        time.sleep(0.05)
    context["result"] = context["data"] != "nok"
"""
FLOW = """
flow:
  - {type: anomaly, name: anomaly, model: {input_size: 160, bank_size: 600, map_dilation: 1}}
  - {type: code, name: report, file: report.py}
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = write_project(
        tmp_path_factory.mktemp("cluster") / "nuts", FLOW, {"report.py": REPORT}
    )
    shutil.copytree(DATA_DIR / "hazelnut" / "train" / "good", project / "images" / "good")
    done = subprocess.run(
        inspekt_command("train", str(project)), capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    return project


def archive_of(project: Path, tmp_path: Path) -> bytes:
    packed = tmp_path / "project.inspekt"
    export_project(project, packed)
    return packed.read_bytes()


def test_a_replica_answers_from_the_archive_and_returns_what_the_front_door_records(
    trained: Path, tmp_path: Path
) -> None:
    replica = FlowReplica(archive_of(trained, tmp_path), allow_code=True)
    body = encode(real_image(), ".jpg")
    request = ReplicaRequest(
        partial(decode_image, body, ImageLimits()),
        InspectionOptions(data="x", endpoint="/analyze_image", encoded=body),
        "annotated_image", True,
    )
    answer, inspection = replica.inspect(request)
    assert answer.media_type == "image/png" and int(answer.headers["ImageLen"]) > 0
    assert decode(answer.body[: int(answer.headers["ImageLen"])]).shape == real_image().shape
    # it crosses to the front door as the client saw it, with the pictures to record
    carried = pickle.loads(pickle.dumps(inspection))
    assert carried.encoded is None  # the front door still has the client's bytes
    assert carried.context["replica"] == os.getpid()
    assert carried.context["globalData"]["seen"] == 1
    assert carried.context["input_image"].shape == real_image().shape
    assert carried.context["heatmap"] is not None and carried.module_ms.keys() >= {"anomaly"}
    assert carried.verdict == inspection.verdict
    assert np.array_equal(replica.last_image(), inspection.context["image"])

    # the pictures are most of what travels: an OK image's stay behind when not wanted
    for data, sent in (("ok", False), ("nok", True)):
        options = InspectionOptions(data=data, pictures=False)
        _, inspection = replica.inspect(dataclasses.replace(request, options=options))
        assert inspection.verdict == data
        assert (inspection.context["image"] is not None) is sent
        assert (inspection.context["heatmap"] is not None) is sent
    folder = replica._folder
    del replica
    assert not folder.exists()  # the unpacked project goes with the replica


def test_a_replica_refuses_a_model_that_is_not_the_one_trained(
    trained: Path, tmp_path: Path
) -> None:
    changed = shutil.copytree(trained, tmp_path / "changed")
    weights = max((changed / "models").rglob("*.npy"), key=lambda path: path.stat().st_size)
    weights.write_bytes(weights.read_bytes()[:-8] + b"\0" * 8)
    before = set(Path(tempfile.gettempdir()).glob("inspekt-replica-*"))
    with pytest.raises(ProjectError, match=r"bank-.*\.npy: content does not match its SHA-256"):
        FlowReplica(archive_of(changed, tmp_path), allow_code=True)
    assert set(Path(tempfile.gettempdir()).glob("inspekt-replica-*")) == before


# ---- on a Ray cluster ----------------------------------------------------------------------

RAY = Path(sys.executable).parent / "ray"


def ray_processes(marker: str) -> list[psutil.Process]:
    """Every process of the cluster whose command line names its temporary folder, and
    their children (the replicas and other workers)."""
    found: dict[int, psutil.Process] = {}
    for process in psutil.process_iter(["cmdline"]):
        if any(marker in part for part in process.info["cmdline"] or []):
            found[process.pid] = process
            with_children = process.children(recursive=True)
            found.update((child.pid, child) for child in with_children)
    return list(found.values())


@pytest.fixture
def ray_cluster(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A one-node Ray cluster on loopback; every process it started is gone afterwards."""
    if not RAY.exists():
        pytest.skip("Ray Serve is the optional cluster extra: pip install -e '.[cluster]'")
    # the cluster, and the server started below, share a token of their own
    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    monkeypatch.setenv("RAY_AUTH_TOKEN", secrets.token_hex(32))
    # short: Ray's socket paths must fit in 107 bytes
    temporary = tempfile.mkdtemp(prefix="ray", dir="/tmp")
    port = free_port()
    started = subprocess.run(
        [str(RAY), "start", "--head", f"--port={port}", "--node-ip-address=127.0.0.1",
         "--num-cpus=3", "--include-dashboard=false", "--disable-usage-stats",
         f"--temp-dir={temporary}"],
        capture_output=True, text=True, timeout=120,
    )
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        yield f"127.0.0.1:{port}"
    finally:
        processes = ray_processes(temporary)
        for process in processes:
            process.send_signal(signal.SIGTERM)
        _, alive = psutil.wait_procs(processes, timeout=20)
        for process in alive:
            process.kill()
        psutil.wait_procs(alive, timeout=10)
        shutil.rmtree(temporary, ignore_errors=True)
        assert not ray_processes(temporary)


def replicas_of(app_marker: str, count: int, without: int = 0) -> list[psutil.Process]:
    """The cluster's replica processes for one front door, once there are ``count``."""
    deadline = time.monotonic() + 90
    while True:
        found = [
            process for process in psutil.process_iter(["cmdline"])
            if any(app_marker in part for part in process.info["cmdline"] or [])
            and process.pid != without
        ]
        if len(found) == count or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def post(server: Server, data: str) -> requests.Response:
    return requests.post(
        f"{server.url}/analyze_image", params={"data": data},
        data=encode(real_image(), ".jpg"), timeout=60,
    )


def test_served_on_ray_replicas_spread_survive_a_lost_replica_and_record_whole(
    trained: Path, ray_cluster: str, serve: Callable[..., Server]
) -> None:
    from PekatVisionSDK import Instance

    server = serve(trained, "--ray", "--replicas", "2", "--address", ray_cluster)
    port = server.url.rsplit(":", 1)[1]
    marker = f"ServeReplica:inspekt-{port}-"
    replicas = replicas_of(marker, 2)
    assert len(replicas) == 2

    # PEKAT's SDK works unchanged: numpy frames go over HTTP, not shared memory
    sdk = Instance(port=int(port), already_running=True)
    assert not sdk._can_use_shm
    for response_type in ("context", "annotated_image"):
        result = sdk.analyze(real_image(), response_type=response_type, data="sdk")
        assert result.context["replica"] in {replica.pid for replica in replicas}
        assert "score" in result.context and isinstance(result.context["result"], bool)
    height, width = real_image().shape[:2]
    raw = requests.post(
        f"{server.url}/analyze_raw_image",
        params={"width": width, "height": height, "response_type": "heatmap",
                "context_in_body": ""},
        data=real_image().tobytes(), timeout=60,
    )
    assert raw.status_code == 200, raw.text
    split = int(raw.headers["ImageLen"])
    assert decode(raw.content[:split]).shape[:2] == (height, width)
    assert json.loads(raw.content[split:])["replica"] in {replica.pid for replica in replicas}
    shared = requests.post(
        f"{server.url}/analyze_image_shared_memory",
        params={"name": "frame", "width": 4, "height": 4}, timeout=10,
    )
    assert shared.status_code == 400 and "shared memory" in shared.json()["error"]
    last = requests.get(f"{server.url}/last_image", timeout=30)  # some replica's last
    assert last.status_code == 200 and decode(last.content).shape == real_image().shape

    # requests spread over both replicas
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: post(server, "spread"), range(16)))
    assert all(answer.status_code == 200 for answer in answers)
    assert {answer.json()["replica"] for answer in answers} == {r.pid for r in replicas}

    # a replica killed under load: every request answered (200, or 503 + Retry-After)
    victim = replicas[0]
    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(post, server, "slow") for _ in range(40)]
        while sum(future.done() for future in futures) < 8:
            time.sleep(0.01)
        victim.kill()
        under_load = [future.result() for future in futures]
    statuses = [answer.status_code for answer in under_load]
    assert set(statuses) <= {200, 503}, statuses
    assert all("Retry-After" in a.headers for a in under_load if a.status_code == 503)
    ok = statuses.count(200)
    # Ray re-sends what waited for the lost replica; the front door, what it was running
    assert ok >= 40 - 2 * REPLICA_ONGOING, statuses

    # the replica comes back, and both take work again
    back = replicas_of(marker, 2, without=victim.pid)
    assert len(back) == 2 and victim.pid not in {r.pid for r in back}
    # the replacement removed the project folder the killed replica could not
    assert not list(Path(tempfile.gettempdir()).glob(f"inspekt-replica-{victim.pid}-*"))
    again: list[requests.Response] = []
    deadline = time.monotonic() + 60
    while {a.json()["replica"] for a in again[-8:]} != {r.pid for r in back}:
        assert time.monotonic() < deadline, [a.json()["replica"] for a in again]
        with ThreadPoolExecutor(4) as pool:
            again += pool.map(lambda _: post(server, "again"), range(8))
        assert all(answer.status_code == 200 for answer in again)

    # the front door recorded every answered analysis, whichever replica ran it
    answered = 2 + 1 + 16 + ok + len(again)  # SDK, raw, spread, under load, again
    deadline = time.monotonic() + 30
    while True:
        listed = requests.get(
            f"{server.url}/api/inspections", params={"limit": 1000}, timeout=10
        ).json()["items"]
        if len(listed) >= answered or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert len(listed) == answered
    newest = requests.get(f"{server.url}/api/inspections/{listed[0]['id']}", timeout=10).json()
    assert newest["context"]["replica"] in {r.pid for r in back}
    metrics = requests.get(f"{server.url}/metrics", timeout=10).text
    counted = re.findall(r'^inspekt_inspections_total\{result="[^"]+"\} (\S+)$', metrics, re.M)
    assert sum(float(value) for value in counted) == answered

    # stopping the front door removes its replicas from the cluster
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=60) == 0
    assert not replicas_of(marker, 0)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--ray", "--workers", "2"], "--workers and --ray do not go together"),
        (["--replicas", "3"], "--replicas and --address only go with --ray"),
    ],
)
def test_the_command_line_refuses_options_that_do_not_go_together(
    tmp_path: Path, options: list[str], message: str
) -> None:
    project = write_project(tmp_path / "p", "flow: []\n")
    done = subprocess.run(
        inspekt_command("serve", str(project), *options), capture_output=True, text=True,
        timeout=60,
    )
    assert done.returncode == 2 and message in " ".join(done.stderr.split()), done.stderr
