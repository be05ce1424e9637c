"""The peer users would pick: an Ultralytics YOLO nano model trained from scratch.

Run with a Python that has ``ultralytics`` (AGPL, a bench-only dependency: never
imported by inspekt, not installed by it). Trains ``yolov8n.yaml`` from random weights
(no weights can be downloaded) on TRAIN for a fixed number of CPU seconds, then writes
every validation image's boxes as JSON (by file name), for ``evaluate.py --peer`` to score with
inspekt's own COCO-style mAP.

    python bench/detector/yolo_peer.py TRAIN VAL --seconds 560 --out found.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import yaml

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp"}


def class_names(root: Path) -> list[str]:
    if (root / "classes.txt").is_file():
        return [n.strip() for n in (root / "classes.txt").read_text().splitlines() if n.strip()]
    names = yaml.safe_load((root / "data.yaml").read_text())["names"]
    return list(names.values()) if isinstance(names, dict) else list(names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("train", type=Path)
    parser.add_argument("val", type=Path)
    parser.add_argument("--seconds", type=float, required=True, help="training time budget")
    parser.add_argument("--imgsz", type=int, default=640)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    torch.set_num_threads(2)
    from ultralytics import YOLO

    with tempfile.TemporaryDirectory() as scratch:
        data = Path(scratch) / "data.yaml"
        data.write_text(yaml.safe_dump({
            "train": str(args.train.resolve() / "images"),
            "val": str(args.val.resolve() / "images"),
            "names": dict(enumerate(class_names(args.train))),
        }))
        model = YOLO("yolov8n.yaml")
        started = time.perf_counter()
        model.train(
            data=str(data), time=args.seconds / 3600, epochs=1000, imgsz=args.imgsz, batch=16,
            device="cpu", workers=0, val=False, plots=False, pretrained=False, amp=False,
            project=scratch, name="run", seed=0, deterministic=True, verbose=False,
        )
        train_s = time.perf_counter() - started
        images = sorted(p for p in (args.val / "images").rglob("*")
                        if p.suffix.lower() in IMAGE_SUFFIXES)
        found, ms = {}, []
        for image in images:
            begun = time.perf_counter()
            result = model.predict(str(image), imgsz=args.imgsz, conf=0.001, iou=0.6,
                                   max_det=100, device="cpu", verbose=False)[0]
            ms.append((time.perf_counter() - begun) * 1000)
            boxes = result.boxes
            found[image.name] = [
                [int(c), *map(float, xyxy), float(p)]
                for xyxy, c, p in zip(boxes.xyxy.tolist(), boxes.cls.tolist(),
                                      boxes.conf.tolist(), strict=True)
            ]
    args.out.write_text(json.dumps({
        "train_s": round(train_s, 1), "ms_per_image_p50": round(float(np.median(ms)), 2),
        "imgsz": args.imgsz, "detections": found,
    }))


if __name__ == "__main__":
    main()
