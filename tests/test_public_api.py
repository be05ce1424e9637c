"""The package's public names do not drift by accident."""

from __future__ import annotations

import inspekt


def test_exported_names() -> None:
    assert sorted(inspekt.__all__) == [
        "FlowRunner", "Inspection", "InspectionOptions", "Inspector", "InspektError", "Project",
        "ProjectError", "__version__", "load_project",
    ]
    for name in inspekt.__all__:
        assert hasattr(inspekt, name)
