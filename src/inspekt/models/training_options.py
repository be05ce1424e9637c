"""Options every supervised model trains with, validated at load and importable without torch."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from .backbone import Backbone


class TrainingOptions(BaseModel):
    """The pretrained network and the schedule a supervised model is trained on."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    backbone: Backbone = Field("efficientnet-lite0", description="Pretrained network.")
    epochs: int | None = Field(
        None,
        ge=1,
        le=200,
        description="Most training epochs. Unset: enough for about 300 batches, 4 to 30.",
    )
    patience: int = Field(
        4, ge=1, le=50, description="Stop after this many epochs without a better validation."
    )
    batch_size: int = Field(32, ge=2, le=256, description="Images per training step.")
    learning_rate: float = Field(1e-3, gt=0, le=1, description="Peak learning rate.")
    validation_share: float = Field(
        0.2,
        ge=0.05,
        le=0.5,
        description="Share of the images (of each class) held back to choose the epoch.",
    )
    turns: bool = Field(
        True,
        description="Train on mirrored and quarter-turned copies too; turn off when "
        "orientation matters.",
    )
    seed: int = Field(0, description="Seed of the split, the copies and the weights.")
