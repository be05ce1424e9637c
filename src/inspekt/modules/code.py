"""Code module: run the user's Python ``main(context)`` on every image.

Semantics follow PEKAT so existing scripts work unchanged: ``main`` is called
with the arity it declares (``main(context)`` or ``main(context, module_item)``),
edits the context in place, may replace ``context['image']``, may set
``context['exit'] = True`` to stop the rest of its branch; ``print`` output lands
in ``context['stdout']``/``['stderr']`` and an exception is reported in
``context['errors']`` instead of failing the request.

User code runs in the server process (no isolation): it is as trusted as the
project itself. ``--disable-code`` keeps the file from ever being executed.
"""

from __future__ import annotations

import inspect
import traceback
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from ..errors import ProjectError
from ..types import Context
from ._capture import captured_output
from ._registry import register
from .base import Module, ModuleEnv, ModuleOptions

__all__ = ["CodeModule", "CodeOptions"]


class CodeOptions(ModuleOptions):
    type: Literal["code@1"] = "code@1"
    file: str = Field(description="Python file in the project that defines main(context).")

    @field_validator("file")
    @classmethod
    def _inside_project(cls, value: str) -> str:
        path = Path(value)
        if path.is_absolute() or ".." in path.parts:
            raise ValueError("must be a path inside the project folder")
        if path.suffix != ".py":
            raise ValueError("must name a .py file")
        return value


@register("code@1")
class CodeModule(Module):
    options_model = CodeOptions
    options: CodeOptions

    def __init__(self, options: CodeOptions, env: ModuleEnv, index: int) -> None:
        super().__init__(options, env, index)
        self.path = env.project_dir / options.file
        self.item: dict[str, Any] = {"name": self.name, "type": options.type, "file": options.file}
        self._main: Callable[..., Any] | None = None
        self._arity = 1
        if env.allow_code:
            self._main, self._arity = _load_main(self.path)

    def run(self, context: Context) -> None:
        if self._main is None:
            context["errors"].append(
                f"code module '{self.name}' not run: code is disabled on this server (--disable-code)"
            )
            return
        args = (context, self.item)[: self._arity]
        with captured_output() as output:
            try:
                self._main(*args)
            except (Exception, SystemExit) as exc:  # user code may raise anything
                traceback.print_exc()
                context["errors"].append(f"code module '{self.name}': {type(exc).__name__}: {exc}")
        context["stdout"] += output["stdout"].getvalue()
        context["stderr"] += output["stderr"].getvalue()


def _load_main(path: Path) -> tuple[Callable[..., Any], int]:
    """Execute the user file once and return its ``main`` and how many args it takes."""
    try:
        source = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ProjectError(f"{path}: file not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ProjectError(f"{path}: cannot read: {exc}") from exc
    namespace = types.ModuleType(path.stem)
    namespace.__file__ = str(path)
    try:
        exec(compile(source, str(path), "exec"), namespace.__dict__)
    except SyntaxError as exc:
        raise ProjectError(f"{path}:{exc.lineno}: syntax error: {exc.msg}") from exc
    except Exception as exc:
        raise ProjectError(f"{path}: failed at import: {type(exc).__name__}: {exc}") from exc
    main = getattr(namespace, "main", None)
    if not callable(main):
        raise ProjectError(f"{path}: defines no main(context) function")
    return main, _positional_arity(main, path)


def _positional_arity(func: Callable[..., Any], path: Path) -> int:
    params = [
        p
        for p in inspect.signature(func).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
    ]
    if any(p.kind is p.VAR_POSITIONAL for p in params) or len(params) >= 2:
        return 2
    if len(params) == 1:
        return 1
    raise ProjectError(f"{path}: main must take context (and optionally module_item)")
