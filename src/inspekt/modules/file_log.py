"""File log: append every inspection as one JSON line, rotating at a size limit."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..types import Context
from ._output import OutputModule, OutputOptions
from .base import ModuleEnv
from .registry import module_type

__all__ = ["FileLog", "FileLogOptions"]


class FileLogOptions(OutputOptions):
    type: Literal["file_log@1"]
    path: str = Field(
        "logs/inspections.jsonl", description="File, relative to the project or absolute."
    )
    max_megabytes: float = Field(100, gt=0, description="Rotate to <path>.1 beyond this size.")


@module_type
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
        max_bytes = self.options.max_megabytes * 2**20
        if self.path.exists() and self.path.stat().st_size + len(payload) > max_bytes:
            self.path.replace(self.path.with_name(self.path.name + ".1"))
        with open(self.path, "ab") as log:
            log.write(payload)
