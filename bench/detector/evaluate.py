"""Train and evaluate a detector project on one dev set through the command line.

TRAIN and VAL are folders in the YOLO (or COCO) layout. A fresh project from
``inspekt init --template detector`` is trained with ``inspekt train --data TRAIN``
and measured with ``inspekt eval VAL --json``; beside it, the same network's p50 in
torch eager. With ``--peer PYTHON`` (a Python that has ``ultralytics``) the peer, a
YOLO nano trained from scratch for the same wall time, is trained and scored with the
same mAP in the same run (``yolo_peer.py``).

    D=../shared/datasets/deeppcb_dev/detector
    python bench/detector/evaluate.py $D/train $D/val --peer /path/to/venv/bin/python
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from inspekt.evaluation.detection import Box, DetectionEvaluator, load_detection_set
from inspekt.models.detector import DetectorConfig
from inspekt.models.detector._network import DetectorNetwork, _Exported

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cli_project import (  # noqa: E402
    emit,
    parse_options,
    torch_eager_p50,
    train_and_eval,
)


def peer(python: str, train: Path, val: Path, seconds: float, scratch: Path) -> dict[str, Any]:
    """The YOLO nano peer trained for ``seconds``, scored like inspekt's detector."""
    found = scratch / "peer.json"
    subprocess.run(
        [python, str(Path(__file__).with_name("yolo_peer.py")), str(train), str(val),
         "--seconds", str(seconds), "--out", str(found)],
        check=True,
    )
    result = json.loads(found.read_text())
    data = load_detection_set(val)
    evaluator = DetectionEvaluator(data, shown_confidence=0.25)
    for sample in data.samples:
        boxes = result["detections"][sample.image.name]
        evaluator.add(sample, [Box(int(b[0]), *b[1:5], b[5]) for b in boxes], 0.0)
    scored = evaluator.result.as_json()
    return {
        "model": "yolov8n from scratch", "imgsz": result["imgsz"],
        "map50": scored["map50"], "map50_95": scored["map50_95"],
        "train_s": result["train_s"], "ms_per_image_p50": result["ms_per_image_p50"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("train", type=Path, help="training set (YOLO or COCO layout)")
    parser.add_argument("val", type=Path, help="validation set, same layout")
    parser.add_argument("--set", action="append", default=[], help="model option key=value")
    parser.add_argument("--out", type=Path, help="append the JSON result to this file")
    parser.add_argument("--peer", help="a Python with ultralytics: train the YOLO-n peer too")
    args = parser.parse_args()
    options = parse_options(args.set)
    with tempfile.TemporaryDirectory() as scratch:
        run = train_and_eval(Path(scratch) / "project", "detector", options, args.train, args.val)
        training = run.training
        row = {
            "dataset": str(args.train),
            "options": options,
            **{key: run.result[key] for key in ("map50", "map50_95", "n_images")},
            "ms_per_image_p50": round(run.result["ms_per_image_p50"], 2),
            "torch_eager_p50": torch_eager_p50(
                run.model_dir, DetectorConfig,
                lambda config, classes: _Exported(DetectorNetwork(config, classes)),
            ),
            "ap50_per_class": run.result["ap50_per_class"],
            "train_s": run.train_s,
            "peak_rss_mb": run.peak_rss_mb,
            "model_mb": run.model_mb,
            "validation_map50": training["validation_map50"],
            "epochs": len(training["epochs"]),
            "input_size": run.manifest["config"]["input_size"],
        }
        if args.peer:
            row["peer"] = peer(args.peer, args.train, args.val, run.train_s, Path(scratch))
    emit(row, args.out)


if __name__ == "__main__":
    main()
