"""The package's layers point one way, and every subpackage imports on its own."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "src" / "inspekt"

#: Lowest first. A module may import from its own layer and the ones below it.
LAYERS: list[tuple[str, ...]] = [
    ("errors", "types"),
    ("context", "conditions", "imaging", "results"),
    ("models", "evaluation"),
    ("modules",),
    ("flow",),
    ("inspection", "history"),
    (
        "api", "archive", "batch", "cluster", "server", "cli", "launcher", "templates", "__init__",
        "__main__",
    ),
]


def layer_of(module: str) -> int:
    """Layer of ``inspekt.x.y`` by its first part below the package."""
    top = module.split(".")[1] if "." in module else "__init__"
    for number, names in enumerate(LAYERS):
        if top in names:
            return number
    raise AssertionError(f"{module}: not in any layer; add it to LAYERS")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" and len(parts) > 1 else parts)


def imported_modules(source: str, own: str, is_package: bool = False) -> set[str]:
    """Absolute names of the inspekt modules some source imports (relative imports resolved)."""
    package = own if is_package else own.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            names = [target] + [f"{target}.{alias.name}" for alias in node.names]
            found.update(name for name in names if name.startswith("inspekt"))
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("inspekt"))
    return found


SOURCES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_a_higher_layer(path: Path) -> None:
    own = module_name(path)
    if own == "inspekt":
        return  # the package's front door re-exports from every layer
    source = path.read_text(encoding="utf-8")
    upward = sorted(
        target for target in imported_modules(source, own, path.name == "__init__.py")
        if target != "inspekt" and layer_of(target) > layer_of(own)
    )
    assert not upward, f"{own} imports a higher layer: {upward}"


def test_the_layer_check_catches_an_upward_import() -> None:
    found = imported_modules("from ..flow.runner import FlowRunner\n", "inspekt.modules.gate")
    assert "inspekt.flow.runner" in found
    assert layer_of("inspekt.flow.runner") > layer_of("inspekt.modules.gate")


SUBPACKAGES = sorted(
    module_name(path) for path in SOURCES if path.name == "__init__.py" or path.parent == PACKAGE
)


@pytest.mark.parametrize("name", SUBPACKAGES)
def test_each_module_imports_alone_in_a_fresh_interpreter(name: str) -> None:
    if name.endswith("__main__"):
        return  # runs the command line
    done = subprocess.run([sys.executable, "-c", f"import {name}"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
