"""inspekt: a self-hosted visual-inspection server.

Compatible with PEKAT VISION's Image Analyze API, so existing clients work
unchanged. Load a project and inspect images in-process, exactly as the server
does (outputs and image savers included)::

    from inspekt import Inspector, load_project
    with Inspector(load_project(Path("my_project"))) as inspector:
        inspection = inspector.inspect(lambda: image_bgr)
        print(inspection.result, inspection.context["detectedRectangles"])
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
from .inspection import InspectionOptions, Inspector
from .results import Inspection

__version__ = "0.1.0"

__all__ = [
    "FlowRunner",
    "Inspection",
    "InspectionOptions",
    "Inspector",
    "InspektError",
    "Project",
    "ProjectError",
    "__version__",
    "load_project",
]
