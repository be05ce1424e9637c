"""Train and evaluate a one-module project through the command line, as a user would.

Shared by the supervised models' bench scripts: ``inspekt init --template T``, a flow
with the model options under test, ``inspekt train --data``, ``inspekt eval --json``.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def inspekt(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the real command line; stop the bench with its error when it fails."""
    done = subprocess.run(
        [sys.executable, "-m", "inspekt", *args], capture_output=True, text=True
    )
    if done.returncode:
        raise SystemExit(f"inspekt {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return done


@dataclass(frozen=True)
class Run:
    """What one train + eval gave."""

    result: dict[str, Any]
    train_s: float
    model_dir: Path
    #: Largest resident set of the commands run so far in this process (MB).
    peak_rss_mb: float

    @property
    def training(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads((self.model_dir / "training.json").read_text())
        return loaded

    @property
    def manifest(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads((self.model_dir / "model.json").read_text())
        return loaded

    @property
    def model_mb(self) -> float:
        return round(sum(p.stat().st_size for p in self.model_dir.iterdir()) / 1e6, 1)


def train_and_eval(
    project: Path, module: str, options: dict[str, str], train: Path, val: Path
) -> Run:
    """A project with one ``module`` (its model options set), trained on ``train``."""
    inspekt("init", str(project), "--template", module)
    model = "{" + ", ".join(f"{k}: {v}" for k, v in options.items()) + "}"
    (project / "flow.yaml").write_text(
        f"flow:\n  - type: {module}\n    name: {module}\n    model: {model}\n"
    )
    started = time.perf_counter()
    inspekt("train", str(project), "--data", str(train))
    train_s = time.perf_counter() - started
    result = json.loads(inspekt("eval", str(project), str(val), "--json").stdout)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return Run(result, round(train_s, 1), project / "models" / module, round(peak))


def parse_options(pairs: list[str]) -> dict[str, str]:
    """``key=value`` command-line pairs as model options."""
    return dict(pair.split("=", 1) for pair in pairs)


def emit(row: dict[str, Any], out: Path | None) -> None:
    """Print the row as one JSON line, and append it to ``out``."""
    line = json.dumps(row)
    print(line)
    if out:
        with out.open("a") as handle:
            handle.write(line + "\n")


#: Images timed for a torch eager reference (the first few warm up and are dropped).
REFERENCE_RUNS, WARM_UP = 30, 5


def torch_eager_p50(model_dir: Path, config_type: Any, build: Callable[[Any, int], Any]) -> float:
    """p50 ms of the trained model's network, rebuilt untrained by ``build(config,
    classes)`` and run by torch eager on one RGB square of the model's input size: the
    reference its onnxruntime p50 is set beside."""
    import numpy as np
    import torch

    manifest = json.loads((model_dir / "model.json").read_text())
    config = config_type.model_validate(manifest["config"])
    network = build(config, len(manifest["classes"])).eval()
    size = int(config.input_size or 0)
    image = torch.rand(1, 3, size, size) * 255
    times = []
    with torch.no_grad():
        for _ in range(REFERENCE_RUNS):
            started = time.perf_counter()
            network(image)
            times.append((time.perf_counter() - started) * 1000)
    return round(float(np.median(times[WARM_UP:])), 2)
