"""Shapes used in module options."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Rect"]


class Rect(BaseModel):
    """A rectangle in image pixels."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    x: int = Field(ge=0)
    y: int = Field(ge=0)
    width: int = Field(gt=0)
    height: int = Field(gt=0)

    def clipped(self, height: int, width: int) -> tuple[slice, slice]:
        """Row and column slices of this rectangle inside an image of that size."""
        return (
            slice(min(self.y, height), min(self.y + self.height, height)),
            slice(min(self.x, width), min(self.x + self.width, width)),
        )
