"""The inspection service tells the backend when the pictures of an OK image are needed:
a replica elsewhere then sends them back, and otherwise keeps them."""

from __future__ import annotations

import asyncio
from pathlib import Path

from inspekt.api import LocalBackend, ServerSettings
from inspekt.api.params import AnalyzeParams, parse_analyze_params
from inspekt.api.responses import Answer
from inspekt.api.service import InspectionService
from inspekt.flow import load_project
from inspekt.history import HistoryRecorder, HistorySettings
from inspekt.inspection import ImageSource, InspectionOptions, Inspector
from tests.conftest import color_card, write_project


class RecordingBackend(LocalBackend):
    """The local backend, noting the options each analysis came with."""

    def __init__(self, inspector: Inspector) -> None:
        super().__init__(inspector)
        self.options: list[InspectionOptions] = []

    def answer(
        self, source: ImageSource, options: InspectionOptions, params: AnalyzeParams
    ) -> Answer:
        self.options.append(options)
        return super().answer(source, options, params)


def pictures_asked(service: InspectionService, backend: RecordingBackend) -> bool:
    params = parse_analyze_params({})
    asyncio.run(service.inspect(color_card, params))
    return backend.options[-1].pictures


def test_pictures_are_asked_for_while_a_dashboard_watches_or_the_history_samples_ok(
    tmp_path: Path,
) -> None:
    project = load_project(write_project(tmp_path / "p", "flow: []\n"))
    backend = RecordingBackend(Inspector(project))
    service = InspectionService(backend, ServerSettings())
    try:
        assert not pictures_asked(service, backend)
        with service.live.watching():
            assert pictures_asked(service, backend)
        assert not pictures_asked(service, backend)
    finally:
        service.close()
        backend.close()

    sampling = HistoryRecorder(project, HistorySettings(ok_images=0.1))
    backend = RecordingBackend(Inspector(project))
    service = InspectionService(backend, ServerSettings(), sampling)
    try:
        assert pictures_asked(service, backend)
    finally:
        service.close()
        backend.close()
        sampling.close()
