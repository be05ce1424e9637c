"""Train and evaluate a classifier project on one dev set through the command line.

The set is a folder with train/<class>/ and val/<class>/ (bench/classifier/sets.py
builds them). A fresh project from ``inspekt init --template classifier`` is trained
with ``inspekt train --data SET/train`` and measured with ``inspekt eval SET/val
--json``, as a user would run them. Beside the result: training wall time, peak RSS
of those commands, the model's size, what training chose (head or fine-tune), and the
p50 of the same network run by torch eager at the same size (the reference).

    python bench/classifier/evaluate.py bench/out/classifier/neu_cls
    python bench/classifier/evaluate.py bench/out/classifier/hazelnut --set training=head
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from inspekt.models.classifier import ClassifierConfig
from inspekt.models.classifier._network import ClassifierNetwork, _WithProbabilities

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cli_project import (  # noqa: E402
    emit,
    parse_options,
    torch_eager_p50,
    train_and_eval,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="folder with train/<class>/ and val/<class>/")
    parser.add_argument("--set", action="append", default=[], help="model option key=value")
    parser.add_argument("--out", type=Path, help="append the JSON result to this file")
    args = parser.parse_args()
    options = parse_options(args.set)
    with tempfile.TemporaryDirectory() as scratch:
        run = train_and_eval(
            Path(scratch) / "project", "classifier", options, args.root / "train",
            args.root / "val",
        )
        training = run.training
        emit(
            {
                "dataset": args.root.name,
                "options": options,
                "accuracy": run.result["accuracy"],
                "macro_f1": run.result["macro_f1"],
                "n_images": run.result["n_images"],
                "ms_per_image_p50": round(run.result["ms_per_image_p50"], 2),
                "torch_eager_p50": torch_eager_p50(
                    run.model_dir, ClassifierConfig,
                    lambda config, classes: _WithProbabilities(ClassifierNetwork(config, classes)),
                ),
                "train_s": run.train_s,
                "peak_rss_mb": run.peak_rss_mb,
                "model_mb": run.model_mb,
                "chosen": training["chosen"],
                "head_validation_accuracy": training["head_validation_accuracy"],
                "validation_accuracy": training["validation_accuracy"],
                "epochs": len(training["epochs"]),
                "input_size": run.manifest["config"]["input_size"],
            },
            args.out,
        )


if __name__ == "__main__":
    main()
