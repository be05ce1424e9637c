"""Code module: run the user's Python ``main(context)`` on every image.

Semantics follow PEKAT so existing scripts work unchanged: ``main`` is called
with the arity it declares (``main(context)`` or ``main(context, module_item)``),
edits the context in place, may replace ``context['image']``, may set
``context['exit'] = True`` to stop the rest of its branch; ``print`` output lands
in ``context['stdout']``/``['stderr']`` and an exception is reported in
``context['errors']`` instead of failing the request.

Isolation (``isolation``): ``process`` (default) runs the file in a child
process per module, so a call that exceeds ``timeout`` is stopped (the child is
killed and restarted for the next image), ``memory_mb`` caps what it may
allocate and a crash costs one image. The context travels to the child and back
pickled — about a millisecond for a 1080p image. ``none`` runs the file inside
the server: fastest, but nothing stops an endless loop. ``--disable-code``
keeps the file from ever being executed, in either mode.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from ..errors import CodeProcessError, UserCodeError
from ..types import Context
from ._capture import captured_output
from ._code_process import CodeProcess
from ._code_worker import CappedBuffer, CodeLoadError, call_main, load_main
from .base import Module, ModuleEnv, ModuleOptions, ProjectPath
from .registry import module_type

__all__ = ["CodeModule", "CodeOptions"]


class CodeOptions(ModuleOptions):
    type: Literal["code@1"]
    file: ProjectPath = Field(description="Python file in the project that defines main(context).")
    isolation: Literal["process", "none"] = Field(
        "process",
        description="process: a child process with timeout and memory limit; none: in the server.",
    )
    timeout: float = Field(
        10.0, gt=0, le=3600, description="Seconds one call may take (process isolation)."
    )
    memory_mb: int = Field(2048, ge=0, description="Address-space limit of the child (0: none).")
    max_output_kb: int = Field(
        1024, ge=1, description="stdout/stderr kept per image; the rest is counted."
    )

    @field_validator("file")
    @classmethod
    def _python_file(cls, value: str) -> str:
        if Path(value).suffix != ".py":
            raise ValueError("must name a .py file")
        return value


@module_type
class CodeModule(Module):
    options_model = CodeOptions
    options: CodeOptions
    runs_user_code = True

    def __init__(self, options: CodeOptions, env: ModuleEnv, index: int) -> None:
        super().__init__(options, env, index)
        self.path = env.project_dir / options.file
        self.item: dict[str, Any] = {"name": self.name, "type": options.type, "file": options.file}
        self._output_limit = options.max_output_kb * 1024
        self._process: CodeProcess | None = None
        self._main: Callable[..., Any] | None = None
        self._arity = 1

    def problems(self) -> list[str]:
        """The file must exist and compile; it is not executed (that is what opening does)."""
        try:
            compile(self.path.read_text(encoding="utf-8"), str(self.path), "exec")
        except FileNotFoundError:
            return [f"{self.path}: file not found"]
        except (OSError, UnicodeDecodeError) as exc:
            return [f"{self.path}: cannot read: {exc}"]
        except SyntaxError as exc:
            return [f"{self.path}:{exc.lineno}: syntax error: {exc.msg}"]
        return []

    def open(self) -> None:
        """Load the user file: in a child process, or in this one (``isolation: none``)."""
        if not self.env.allow_code:
            return
        if self.options.isolation == "process":
            process = CodeProcess(
                self.path, memory_mb=self.options.memory_mb, output_limit=self._output_limit
            )
            process.start()
            self._process = process
            return
        try:
            self._main, self._arity = load_main(self.path)
        except CodeLoadError as exc:
            raise UserCodeError(str(exc)) from None

    def run(self, context: Context) -> None:
        if self._process is not None:
            self._run_isolated(context)
        elif self._main is not None:
            self._run_inline(context)
        else:
            context["errors"].append(
                f"code module '{self.name}' not run: "
                "code is disabled on this server (--disable-code)"
            )

    def _run_isolated(self, context: Context) -> None:
        assert self._process is not None
        try:
            error = self._process.call(context, self.item, self.options.timeout)
        except CodeProcessError as exc:
            error = str(exc)
        self._report(context, error)

    def _run_inline(self, context: Context) -> None:
        assert self._main is not None
        stdout, stderr = CappedBuffer(self._output_limit), CappedBuffer(self._output_limit)
        with captured_output(stdout, stderr):
            error = call_main(self._main, self._arity, context, self.item, stdout, stderr)
        context["stdout"] += stdout.text()
        context["stderr"] += stderr.text()
        self._report(context, error)

    def _report(self, context: Context, error: str | None) -> None:
        if error is not None:
            context["errors"].append(f"code module '{self.name}': {error}")

    def close(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            process.close()
