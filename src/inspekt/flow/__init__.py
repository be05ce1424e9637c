"""The flow: a project's module tree, loaded from its folder, run image by image, trained."""

from __future__ import annotations

from .project import Project, load_project, project_warnings, validate_project
from .runner import FlowRunner

__all__ = ["FlowRunner", "Project", "load_project", "project_warnings", "validate_project"]
