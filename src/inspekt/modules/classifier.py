"""Classifier: tells which class an image (or a region of it) belongs to.

Trained from a folder per class (``images/<class>/``). Per image it adds one
rectangle over what it classified, with every class in ``classNames`` (winner
first, confidence in percent, as PEKAT's classifier reports them), and records the
winner in ``context["classification"][<module name>]`` as ``label`` and
``confidence`` — what a gate branches on (``key: classification.classifier.label``).
With ``ok_classes`` set, any other winner makes the result NOK.

Like the anomaly module, it first checks the image against what the training
images looked like; an image too far outside that (a black frame, another camera)
is not classified: the module records a "cannot inspect" error and sets
``result`` to False.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from ..evaluation.classification import (
    ClassificationEvaluation,
    ClassificationEvaluator,
    load_class_folders,
)
from ..imaging.io import ImageFiles, read_image_file
from ..imaging.regions import Rect, roi_view
from ..imaging.render import as_bgr
from ..models.classifier import ClassifierConfig, ClassifierModel, ClassifierPrediction
from ..models.input_profile import InputChecks
from ..results import ClassName, Rectangle, add_rectangles
from ..types import Context, Image
from ._trained import ModelModule
from .base import (
    ModuleOptions,
    Progress,
    ProjectPath,
    TrainingData,
    TrainingSources,
)
from .registry import module_type

__all__ = ["RECOMMENDED_PER_CLASS", "ClassifierModule", "ClassifierOptions"]

#: Fewer images of a class than this still train, with a warning.
RECOMMENDED_PER_CLASS = 20
#: Colours of the classes, in class order (the rectangle takes its winner's).
PALETTE = ("#00c853", "#ff1744", "#2979ff", "#ffab00", "#d500f9", "#00b8d4", "#ff6d00", "#c6ff00")


class ClassifierOptions(ModuleOptions):
    type: Literal["classifier@1"]
    model: ClassifierConfig = Field(
        default_factory=ClassifierConfig, description="How the model is built and trained."
    )
    images: ProjectPath = Field(
        "images", description="Folder in the project with a sub-folder of images per class."
    )
    ok_classes: list[str] | None = Field(
        None,
        min_length=1,
        description="Classes that pass; any other winner sets the result NOK. "
        "Unset: the verdict is left to later modules and rules.",
    )
    roi: Rect | None = Field(None, description="Only this rectangle of the image is classified.")
    input_checks: InputChecks = Field(
        default_factory=InputChecks,
        description="Images too far from the training images (size, aspect, lighting, "
        "degenerate frames, format) are not classified: error, result false.",
    )


@module_type
class ClassifierModule(ModelModule[ClassifierModel]):
    """Classifier: tells which class an image (or a region of it) belongs to."""

    options_model = ClassifierOptions
    options: ClassifierOptions
    model_type = ClassifierModel
    class_option = "ok_classes"
    learns_from = TrainingData.LABELLED_IMAGES

    # ---- training and evaluation ---------------------------------------------------------

    def fit(self, sources: TrainingSources, progress: Progress | None = None) -> dict[str, Any]:
        """Learn from ``--data`` (a folder per class) or the options' folder."""
        folder, data = self.training_data(sources, self.options.images, load_class_folders)
        images = ImageFiles(list(data.paths), self._model_input)
        model = ClassifierModel.fit(
            images, data.labels, data.classes, self.options.model, progress
        )
        warnings = [
            f"module '{self.name}': class '{name}' has {count} images; "
            f"{RECOMMENDED_PER_CLASS} or more per class generalise better"
            for name, count in model.training["per_class"].items()
            if count < RECOMMENDED_PER_CLASS
        ]
        return self.keep_trained(model, [folder], warnings)

    def training_options(self) -> dict[str, Any]:
        # ok_classes and the checks act on the answer; the model depends on these.
        return self.options.model_dump(mode="json", include={"model", "roi"})

    def evaluate(
        self, dataset: Path, progress: Progress | None = None, keep_examples: bool = False
    ) -> ClassificationEvaluation:
        data = load_class_folders(dataset)
        evaluator = ClassificationEvaluator(data)
        for done, (path, label) in enumerate(zip(data.paths, data.labels, strict=True), 1):
            image = self._model_input(read_image_file(path))
            started = time.perf_counter()
            prediction = self._model.predict(image)
            ms = (time.perf_counter() - started) * 1000
            evaluator.add(path, label, prediction.label, prediction.confidence, ms)
            if progress:
                progress(done, len(data.paths), "eval")
        return evaluator.result()

    def _model_input(self, image: Image) -> Image:
        """The image as the flow hands it to this module, cut to the ROI."""
        return roi_view(as_bgr(self.preparation(image)[0]), self.options.roi)

    # ---- inspection ------------------------------------------------------------------------

    def run(self, context: Context) -> None:
        image: Image = context["image"]
        view = roi_view(image, self.options.roi)
        if self.refused(context, view, self.options.input_checks):
            return
        prediction = self._model.predict(view)
        context.setdefault("classification", {})[self.name] = {
            "label": prediction.label,
            "confidence": round(prediction.confidence, 4),
        }
        add_rectangles(context, [self._rectangle(prediction, image)])
        ok_classes = self.options.ok_classes
        if ok_classes is not None and prediction.label not in ok_classes:
            context["result"] = False

    def _rectangle(self, prediction: ClassifierPrediction, image: Image) -> Rectangle:
        """The classified area with every class, winner first."""
        rows, cols = slice(0, image.shape[0]), slice(0, image.shape[1])
        if self.options.roi is not None:
            rows, cols = self.options.roi.clipped(*image.shape[:2])
        x, y, width, height = cols.start, rows.start, cols.stop - cols.start, rows.stop - rows.start
        classes = self._model.classes
        names = tuple(
            ClassName(label, probability, PALETTE[classes.index(label) % len(PALETTE)],
                      classes.index(label) + 1)
            for label, probability in prediction.ranked
        )
        return Rectangle(
            x, y, width, height, round(prediction.confidence, 4), names, self.module_id,
            "CLASSIFIER",
        )
