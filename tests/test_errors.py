"""One error tree, and an HTTP table without rows that can never fire."""

from __future__ import annotations

import ast
from pathlib import Path

import inspekt.errors as errors
from inspekt.api.errors import _STATUS

PACKAGE = Path(__file__).parents[1] / "src" / "inspekt"
#: Runs as a standalone script in the Code module's child process (standard library only).
STANDALONE = {PACKAGE / "modules" / "_code_worker.py"}


def classes_and_raises() -> tuple[list[tuple[Path, ast.ClassDef]], set[str]]:
    classes, raised = [], set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                classes.append((path, node))
            elif isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                if isinstance(node.exc.func, ast.Name):
                    raised.add(node.exc.func.id)
    return classes, raised


def test_every_exception_class_is_in_the_tree() -> None:
    classes, _ = classes_and_raises()
    outside = []
    for path, node in classes:
        bases = {base.id for base in node.bases if isinstance(base, ast.Name)}
        if bases & {"Exception", "ValueError", "RuntimeError", "OSError", "TypeError"}:
            if path not in STANDALONE and not (
                path.name == "errors.py" and node.name == "InspektError"
            ):
                outside.append(f"{path.relative_to(PACKAGE)}: {node.name}")
    assert outside == []
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), errors.InspektError)


def test_every_row_of_the_http_table_can_fire() -> None:
    _, raised = classes_and_raises()
    for cls in _STATUS:
        if cls is errors.InspektError:
            continue  # the catch-all for errors without a row of their own
        family = {cls.__name__} | {sub.__name__ for sub in cls.__subclasses__()}
        assert family & raised, f"{cls.__name__} has a row but is never raised"


BUILTIN_ERRORS = {"Exception", "ValueError", "RuntimeError", "TypeError", "KeyError", "OSError"}


def validator_functions(tree: ast.AST) -> set[str]:
    """Functions pydantic calls to validate options: they must raise ValueError."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and any(
            "validator" in ast.unparse(decorator) for decorator in node.decorator_list
        ):
            names.add(node.name)
        if isinstance(node, ast.Call) and ast.unparse(node.func).endswith("Validator"):
            names.update(arg.id for arg in node.args if isinstance(arg, ast.Name))
    return names


def test_nothing_raises_a_builtin_or_framework_error_except_option_validators() -> None:
    found = []
    for path in PACKAGE.rglob("*.py"):
        if path in STANDALONE:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        allowed_in = validator_functions(tree)
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef) or function.name in allowed_in:
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                    name = ast.unparse(node.exc.func)
                    if name in BUILTIN_ERRORS or name.endswith("HTTPException"):
                        found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: {name}")
    assert found == []
