"""inspekt: a self-hosted visual-inspection server.

Compatible with PEKAT VISION's Image Analyze API, so existing clients work
unchanged. Load a project and run its flow in-process::

    from inspekt import FlowRunner, load_project
    runner = FlowRunner(load_project(Path("my_project")))
    context = runner.analyze(image_bgr)
"""

from __future__ import annotations

import os

# Before OpenCV is first imported: inspekt reports decode errors itself (no
# stderr noise per bad image), and OpenCV's own pixel cap backs up ours for
# formats whose headers inspekt does not read.
os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(2**28))

from .errors import InspektError, ProjectError
from .flow import FlowRunner, Project, load_project

__version__ = "0.1.0"

__all__ = ["FlowRunner", "InspektError", "Project", "ProjectError", "__version__", "load_project"]
