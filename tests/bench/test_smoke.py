"""The bench's quick mode runs end to end and writes every table and plot.

No timing is asserted: the point is that the bench keeps working as the server
changes. The numbers of a quick run mean little.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("flask", reason="the bench extra (flask, gevent, psutil) is not installed")
pytest.importorskip("gevent", reason="the bench extra (flask, gevent, psutil) is not installed")
pytest.importorskip("psutil", reason="the bench extra (flask, gevent, psutil) is not installed")

REPO = Path(__file__).resolve().parents[2]
SECTIONS = [
    "## Targets",
    "## Floor comparison",
    "## Transport paths",
    "## End-to-end vs in-process",
    "## Concurrency and the peer",
    "## Memory",
    "## Fixes",
    "## Anomaly detector",
]
PLOTS = ["latency_floor_1080p.png", "transports.png", "concurrency.png", "memory.png"]


def test_quick_bench_writes_the_report(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "run.py"), "--quick", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=600, cwd=REPO,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    report = (tmp_path / "BENCHMARKS.md").read_text(encoding="utf-8")
    positions = [report.find(title) for title in SECTIONS]
    missing = [t for t, p in zip(SECTIONS, positions, strict=True) if p < 0]
    assert not missing, missing
    assert positions == sorted(positions)
    # Every measured section has a filled table: a header rule and at least one row.
    for title, start, end in zip(SECTIONS, positions, positions[1:] + [len(report)], strict=False):
        if title == "## Anomaly detector":
            assert "image AUROC" in report[start:end]
            continue
        section = report[start:end]
        assert "|---" in section, title
        lines = section.splitlines()
        rows = [line for line in lines if line.startswith("| ") and "---" not in line]
        assert len(rows) >= 2, title
    assert "nan" not in report.replace("n/a", "")
    for name in ("raw", "jpeg", "png", "shm", "multipart"):
        assert f"| {name} |" in report
    assert "Flask" in report and "images/s" in report

    for plot in PLOTS:
        data = (tmp_path / "plots" / plot).read_bytes()
        assert data.startswith(b"\x89PNG"), plot
    results = json.loads((tmp_path / "plots" / "results.json").read_text())
    assert results["meta"]["mode"] == "quick"
    assert {"floor", "transports", "e2e", "concurrency", "memory", "fixes"} <= set(results)
