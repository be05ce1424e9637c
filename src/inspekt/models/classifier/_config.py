"""Options of the image classifier, validated and frozen so a saved model can be rebuilt."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..backbone import Backbone


class ClassifierConfig(BaseModel):
    """How the classifier sees images and how it is trained."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    backbone: Backbone = Field("efficientnet-lite0", description="Pretrained network.")
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
    epochs: int | None = Field(
        None,
        ge=1,
        le=200,
        description="Most fine-tuning epochs. Unset: enough for about 300 batches, 4 to 30.",
    )
    patience: int = Field(
        4, ge=1, le=50, description="Stop after this many epochs without a better validation."
    )
    batch_size: int = Field(32, ge=2, le=256, description="Images per fine-tuning step.")
    learning_rate: float = Field(1e-3, gt=0, le=1, description="Peak fine-tuning learning rate.")
    validation_share: float = Field(
        0.2,
        ge=0.05,
        le=0.5,
        description="Share of each class held back to choose the epoch and the training.",
    )
    turns: bool = Field(
        True,
        description="Train on mirrored and quarter-turned copies too; turn off when "
        "orientation tells the classes apart.",
    )
    seed: int = Field(0, description="Seed of the split, the augmentation and the weights.")
