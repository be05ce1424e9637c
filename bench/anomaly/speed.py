"""Predict latency of the shipped pipeline against a plain torch-eager reference, same run.

    python bench/anomaly/speed.py /work/shared/datasets/deeppcb_dev/anomaly --grayscale

Both paths compute the same model: the shipped one runs the exported ONNX backbone in
onnxruntime (2 threads, no spinning) and searches the bank with faiss; the reference
runs the same torch module eagerly, projects in torch and takes the nearest neighbour
with ``torch.cdist(...).min()``, then the same map post-processing. Calls alternate between
the two so that load from other processes hits both alike. Besides wall time it reports
CPU time per call (all threads), which other processes barely move, and the load average
during the run. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from inspekt.evaluation import load_mvtec, read_image
from inspekt.models.anomaly import AnomalyConfig, AnomalyModel
from inspekt.models.anomaly._runtime import to_network_input
from inspekt.models.anomaly._scoring import anomaly_map, smooth_grid

sys.path.insert(0, str(Path(__file__).parent))
from evaluate import emit, parse_overrides  # noqa: E402

Image = npt.NDArray[np.uint8]


def torch_reference(model: AnomalyModel) -> Callable[[Image], float]:
    """The same model computed the straightforward way: torch eager, exact cdist search."""
    import torch

    from inspekt.models.anomaly._backbone import build_feature_extractor

    torch.set_num_threads(2)
    network = build_feature_extractor(model.config)
    bank = torch.from_numpy(model._index.bank)
    projection = torch.from_numpy(model._projection)
    config = model.config

    def predict(image: Image) -> float:
        with torch.no_grad():
            features = network(torch.from_numpy(to_network_input(image, config)))[0]
            dim, rows, cols = features.shape
            queries = features.reshape(dim, -1).T @ projection[:-1] + projection[-1]
            distances = torch.cdist(queries, bank).min(dim=1).values.reshape(rows, cols).numpy()
        grid = smooth_grid(distances, config.map_dilation, config.blur_sigma / config.grid_stride)
        return float(anomaly_map(grid, model.scale, image.shape[0], image.shape[1]).max())

    return predict


def percentiles(seconds: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(float(np.percentile(seconds, 50)) * 1000, 1),
        "p90_ms": round(float(np.percentile(seconds, 90)) * 1000, 1),
    }


def measure(model: AnomalyModel, images: list[Image], repeats: int) -> dict[str, Any]:
    """Alternate shipped and reference calls on the same images; also compare their scores."""
    paths: dict[str, Callable[[Image], float]] = {
        "shipped": lambda image: model.predict(image).score,
        "torch_eager": torch_reference(model),
    }
    for run in paths.values():  # warm-up: first calls allocate and pick kernels
        run(images[0])
    timings: dict[str, list[float]] = {name: [] for name in paths}
    cpu: dict[str, list[float]] = {name: [] for name in paths}
    differences = []
    load_before = os.getloadavg()[0]
    for round_index in range(repeats):
        image = images[round_index % len(images)]
        scores = {}
        for name, run in paths.items():
            tick, cpu_tick = time.perf_counter(), time.process_time()
            scores[name] = run(image)
            timings[name].append(time.perf_counter() - tick)
            cpu[name].append(time.process_time() - cpu_tick)
        differences.append(abs(scores["shipped"] - scores["torch_eager"]))
    result: dict[str, Any] = {name: percentiles(values) for name, values in timings.items()}
    for name, values in cpu.items():
        # CPU seconds of all threads: unlike wall time, barely moved by other processes.
        result[name]["cpu_p50_ms"] = round(float(np.percentile(values, 50)) * 1000, 1)
    result["load_average"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    result["speedup_p50"] = round(result["torch_eager"]["p50_ms"] / result["shipped"]["p50_ms"], 2)
    result["max_score_difference"] = round(max(differences), 5)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="MVTec-layout dataset folder")
    parser.add_argument("--set", action="append", default=[], help="config override key=value")
    parser.add_argument("--grayscale", action="store_true", help="decode images as grayscale")
    parser.add_argument("--train", type=int, default=200, help="good images to fit on")
    parser.add_argument("--repeats", type=int, default=40, help="timed calls per path")
    parser.add_argument("--out", type=Path, help="append the JSON result to this file")
    args = parser.parse_args(argv)

    dataset = load_mvtec(args.root)
    good = [read_image(p, args.grayscale) for p in dataset.train[: args.train]]
    config = AnomalyConfig(**parse_overrides(args.set))
    started = time.perf_counter()
    model = AnomalyModel.fit(good, config)
    train_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as scratch:
        model.save(scratch)
        model = AnomalyModel.load(scratch)
    images = [read_image(s.path, args.grayscale) for s in dataset.test[:10]]
    result = {
        "dataset": str(args.root),
        "image_shape": list(images[0].shape),
        "config": config.model_dump(mode="json"),
        "train_s": round(train_s, 1),
        **measure(model, images, args.repeats),
    }
    emit(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
