"""Options of the image classifier, validated and frozen so a saved model can be rebuilt."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..training_options import TrainingOptions


class ClassifierConfig(TrainingOptions):
    """How the classifier sees images and how it is trained."""

    input_size: int | None = Field(
        None,
        ge=64,
        le=640,
        multiple_of=32,
        description="Side of the square the image is resized to. Unset: the training "
        "images' median longer side rounded up to 32, between 64 and 320 (never enlarged "
        "much, so small crops stay cheap and large frames keep their detail).",
    )
    training: Literal["auto", "head", "fine-tune"] = Field(
        "auto",
        description="'head' trains a linear layer on the frozen pretrained features (seconds); "
        "'fine-tune' then trains every layer too; 'auto' fine-tunes only when the head "
        "misses validation images, and keeps whichever scores better on them.",
    )
