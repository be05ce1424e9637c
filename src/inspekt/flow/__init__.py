"""The flow: a project's modules, the context they share, and the runner."""

from __future__ import annotations

from . import graph
from .context import context_to_json, new_context, public_context
from .project import Project, load_project, validate_project
from .runner import FlowRunner

__all__ = [
    "FlowRunner",
    "Project",
    "context_to_json",
    "graph",
    "load_project",
    "new_context",
    "public_context",
    "validate_project",
]
