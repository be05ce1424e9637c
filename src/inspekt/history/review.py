"""A person's review of an inspection turns its image into training data.

Marking a verdict wrong (a good part flagged, a defect missed) or confirming it says
what the part truly was. A good part's input image is copied into each anomaly
module's good-image folder, so the next ``inspekt train`` learns it; every reviewed
image of a project with supervised modules (classifier, surface, detector), and a
defect's in any project, goes to ``to_label/``, which a person labels before training.
Undoing a review removes the copies it made.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from ..errors import RequestError
from ..flow import Project
from ..modules import TrainableModule
from ..modules.anomaly import AnomalyModule
from .store import Record, Review, ReviewVerdict

__all__ = ["TO_LABEL", "review_record", "undo_review"]

#: Reviewed images a person still has to label (for supervised modules), in the project.
TO_LABEL = Path("to_label")


def review_record(
    project: Project, history_folder: Path, record: Record, verdict: ReviewVerdict
) -> Review:
    """Copy the record's input image where training finds it; the review to store."""
    if record.result not in ("ok", "nok"):
        raise RequestError(
            f"inspection {record.id} ended in {record.result!r}, not a verdict to review"
        )
    if "input" not in record.images:
        raise RequestError(
            f"inspection {record.id} kept no input image to learn from (OK images are "
            "kept only as sampled by --history-ok-images)"
        )
    if record.review is not None:
        undo_review(project, record.review)
    part_is_good = (record.result == "ok") == (verdict == "right")
    trainable = [m for m in project.walk() if isinstance(m, TrainableModule)]
    folders = []
    if part_is_good:
        folders += [
            project.path / m.options.good_images for m in trainable
            if isinstance(m, AnomalyModule)
        ]
    if not part_is_good or any(not isinstance(m, AnomalyModule) for m in trainable) or not folders:
        folders.append(project.path / TO_LABEL)
    source = history_folder / record.images["input"]
    files = []
    for folder in dict.fromkeys(folders):  # one copy a folder, in order
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"reviewed_{record.id}{source.suffix}"
        shutil.copyfile(source, target)
        files.append(target.relative_to(project.path).as_posix())
    return Review(verdict, time.time(), files)


def undo_review(project: Project, review: Review) -> None:
    """Remove the training files a review made (those a person already moved stay)."""
    for relative in review.files:
        (project.path / relative).unlink(missing_ok=True)
