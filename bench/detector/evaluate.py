"""Train and evaluate a detector project on one dev set through the command line.

TRAIN and VAL are folders in the YOLO (or COCO) layout. A fresh project from
``inspekt init --template detector`` is trained with ``inspekt train --data TRAIN``
and measured with ``inspekt eval VAL --json``.

    D=../shared/datasets/deeppcb_dev/detector
    python bench/detector/evaluate.py $D/train $D/val
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cli_project import emit, parse_options, train_and_eval  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("train", type=Path, help="training set (YOLO or COCO layout)")
    parser.add_argument("val", type=Path, help="validation set, same layout")
    parser.add_argument("--set", action="append", default=[], help="model option key=value")
    parser.add_argument("--out", type=Path, help="append the JSON result to this file")
    args = parser.parse_args()
    options = parse_options(args.set)
    with tempfile.TemporaryDirectory() as scratch:
        run = train_and_eval(Path(scratch) / "project", "detector", options, args.train, args.val)
        training = run.training
        emit(
            {
                "dataset": str(args.train),
                "options": options,
                **{key: run.result[key] for key in ("map50", "map50_95", "n_images")},
                "ms_per_image_p50": round(run.result["ms_per_image_p50"], 2),
                "ap50_per_class": run.result["ap50_per_class"],
                "train_s": run.train_s,
                "peak_rss_mb": run.peak_rss_mb,
                "model_mb": run.model_mb,
                "validation_map50": training["validation_map50"],
                "epochs": len(training["epochs"]),
                "input_size": run.manifest["config"]["input_size"],
            },
            args.out,
        )


if __name__ == "__main__":
    main()
