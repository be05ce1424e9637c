"""File log: append every inspection as one JSON line, rotating at a size limit."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..types import Context
from ._output import OutputModule, OutputOptions
from ._registry import register
from .base import ModuleEnv

__all__ = ["FileLog", "FileLogOptions"]


class FileLogOptions(OutputOptions):
    type: Literal["file_log@1"] = "file_log@1"
    path: str = Field("logs/inspections.jsonl", description="File, relative to the project or absolute.")
    max_megabytes: float = Field(100, gt=0, description="Rotate to <path>.1 beyond this size.")


@register("file_log@1")
class FileLog(OutputModule):
    options_model = FileLogOptions
    options: FileLogOptions

    def __init__(self, options: FileLogOptions, env: ModuleEnv, index: int) -> None:
        self.path = env.project_dir / options.path
        super().__init__(options, env, index)

    def payload(self, context: Context) -> bytes:
        return super().payload(context) + b"\n"

    def deliver(self, payload: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists() and self.path.stat().st_size + len(payload) > self.options.max_megabytes * 2**20:
            self.path.replace(self.path.with_name(self.path.name + ".1"))
        with open(self.path, "ab") as log:
            log.write(payload)
