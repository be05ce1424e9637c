"""Leave-one-dataset-out: choose a configuration on the other dev sets, report on the one left out.

Reads the JSON lines of ``evaluate.py`` runs (unperturbed rows only), names each
configuration by how it differs from the defaults — the input size relative to the
largest one run on that dataset, which is the size chosen from the data — and, for
every dataset in turn, picks the configuration whose *worst* image AUROC over the
other datasets is highest (pixel AUROC breaks ties). Prints a markdown table: the
pick, its figures on the left-out set, and the best figures any configuration got
there (what an oracle would have picked):

    python bench/anomaly/leave_one_out.py bench/anomaly/grid.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from inspekt.models.anomaly import AnomalyConfig

Row = dict[str, Any]


def settings(config: dict[str, Any], native: int) -> dict[str, str]:
    """The configuration with its input size relative to the dataset's own."""
    named = {key: json.dumps(value) for key, value in config.items()}
    named["input_size"] = f"×{config['input_size'] / native:g}"
    return named


def label(named: dict[str, str], varying: set[str]) -> str:
    """A dataset-independent name: the settings that differ between the rows compared."""
    default = settings(AnomalyConfig(input_size=64).model_dump(mode="json"), 64)
    # Options no longer in the config (renamed since a run) do not tell runs apart.
    compared = sorted(key for key in varying if key in default)
    parts = [f"{key}={named[key]}" for key in compared if named.get(key) != default[key]]
    return ", ".join(parts) or "defaults"


def merit(row: Row) -> tuple[float, float]:
    return row["image_auroc"], row["pixel_auroc"] or 0.0


def by_dataset_and_label(paths: list[Path]) -> dict[str, dict[str, Row]]:
    rows = [json.loads(line) for path in paths for line in path.read_text().splitlines() if line]
    rows = [row for row in rows if row.get("perturbation") is None]
    native: dict[str, int] = defaultdict(int)
    for row in rows:
        native[row["dataset"]] = max(native[row["dataset"]], row["config"]["input_size"])
    named = [settings(row["config"], native[row["dataset"]]) for row in rows]
    varying = {key for key in named[0] if len({n.get(key) for n in named}) > 1}
    table: dict[str, dict[str, Row]] = defaultdict(dict)
    for row, name in zip(rows, named, strict=True):  # a later run of a configuration wins
        table[row["dataset"]][label(name, varying)] = row
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, nargs="+", help="evaluate.py JSON-lines files")
    args = parser.parse_args(argv)
    table = by_dataset_and_label(args.results)
    datasets = sorted(table)
    shared = sorted(set.intersection(*(set(table[d]) for d in datasets)))
    print(f"Configurations run on every set: {'; '.join(shared)}\n")
    print("| left out | chosen on the others (their worst image AUROC) | left-out image / pixel "
          "AUROC, AUPRO | best on the left-out set | its image / pixel AUROC |")
    print("|---|---|---|---|---|")
    for left in datasets:
        others = [d for d in datasets if d != left]
        chosen = max(shared, key=lambda name: min(merit(table[d][name]) for d in others))
        worst = min(table[d][chosen]["image_auroc"] for d in others)
        row = table[left][chosen]
        oracle = max(shared, key=lambda name: merit(table[left][name]))
        best = table[left][oracle]
        print(f"| {left} | {chosen} ({worst:.3f}) | {row['image_auroc']:.3f} / "
              f"{row['pixel_auroc']:.3f}, {row['aupro']:.3f} | {oracle} | "
              f"{best['image_auroc']:.3f} / {best['pixel_auroc']:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
