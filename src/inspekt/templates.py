"""Project templates for ``inspekt init``."""

from __future__ import annotations

import json
from pathlib import Path

from .errors import ProjectError
from .flow.project import FLOW_FILE, PACKAGE_FILE

__all__ = ["TEMPLATES", "create_project"]

_CODE_MAIN = '''"""Code module: called once per image with the flow context.

context["image"] is the BGR numpy array; edit the context in place.
See the README for every key.
"""


def main(context):
    height, width = context["image"].shape[:2]
    print(f"image {width}x{height}, data={context['data']!r}")
    context["result"] = True
'''

_ANOMALY_README = """Put 20 or more images of good parts in images/good/, then:

    inspekt train .
    inspekt serve .

Optional: images of defective parts in a folder named in flow.yaml
(defect_images) refine the threshold.
"""

_CLASSIFIER_README = """Put 20 or more images of each class in its own folder under images/
(images/good/, images/defect/, or any class names), then:

    inspekt train .
    inspekt serve .

ok_classes in flow.yaml names the classes that pass; rename it with the folders.
"""

_SURFACE_README = """Put images of parts in data/images/ and, for each, a mask of the same name
in data/masks/ (PNG, black background, white where the defect is; with several
classes the pixel value is the class index and data/classes.txt names them one
per line). Images without a defect need an all-black mask. Then:

    inspekt train .
    inspekt serve .
"""

_DETECTOR_README = """Put images in data/images/ and, for each, a YOLO label file of the same name
in data/labels/ (one line per object: class cx cy w h, normalised to 0..1; an
image with no object needs no file), and the class names one per line in
data/classes.txt. A COCO data/annotations.json works too. Then:

    inspekt train .
    inspekt serve .
"""

_OCR_README = """The ocr module finds and reads every line of printed text in the image
(serial numbers, dates, lot codes) with the PP-OCR models that ship inside the
rapidocr package; nothing is downloaded. It needs no training:

    inspekt serve .

Each line is returned in context["ocr"] (text, confidence, box, angle) and as a
rectangle labelled with its text. The result is NOK when no line is read, or when
a line breaks a rule. Options of the module in flow.yaml:

    roi                 {x, y, width, height}: read only inside this rectangle
    regions             image (default), or rectangles: read inside each rectangle
                        found by a module before this one (a detector)
    allowed_characters  e.g. "0123456789-": other characters are dropped
    pattern             a regular expression every line's whole text must match,
                        e.g. '^[A-Z]{2}\\d{6}$'
    match_data          true: every line must equal the request's data
    expected_lines      the number of lines each region must have (default: at least 1)
    min_confidence      lines read less surely (0..1, default 0.5) are left out
    angle               0, 90, 180, 270 (clockwise) or auto
    invert              true: light text on a dark ground
    upscale_below       regions and lines lower than this (px, default 32) are enlarged

Why an image is NOK is in context["ocrProblems"].

To measure how well it reads your images, put them in a folder with a
labels.csv: a header file,text, then a row per line of text (an image with two
lines has two rows), and run

    inspekt eval . FOLDER --json

It prints read_rate (lines read exactly / lines labelled) and false_read_rate
(lines read that no row names / lines read).
"""

_BARCODE_README = """The barcode module reads every QR, Micro QR, Data Matrix, Aztec, PDF417,
Code 128, Code 39, EAN-13, EAN-8, UPC-A, UPC-E and ITF code in the image, turned
or inverted too. It needs no training:

    inspekt serve .

Each code is returned in context["codes"] (format, text, corners, angle) and as a
rectangle. The result is NOK when no code is read, or when a code breaks a rule.
Options of the module in flow.yaml:

    formats         the formats to look for (default: all of the above)
    roi             {x, y, width, height}: read only inside this rectangle
    expected_count  the number of codes the image must have (default: at least 1)
    pattern         a regular expression every code's whole text must match
    match_data      true: every code's text must equal the request's data

Why an image is NOK is in context["codeProblems"].

To measure how well it reads your images, put them in a folder with a
labels.csv: a header file,text (optionally a format column, e.g. QRCode), then a
row per code (an image with two codes has two rows), and run

    inspekt eval . FOLDER --json

It prints read_rate (codes read right / codes labelled) and false_read_rate
(codes read that no row names / codes read).
"""

# `inspekt serve --secure` stores the project's api key in .inspekt/
# (server.API_KEY_FILE): it must never reach a repository with the project.
_GITIGNORE = """# inspekt's local state: the api key stored by `inspekt serve --secure`
.inspekt/
"""

_FLOWS: dict[str, str] = {
    "empty": "flow: []\n",
    "code": "flow:\n  - type: code\n    name: code\n    file: main.py\n",
    "anomaly": "flow:\n  - type: anomaly\n    name: anomaly\n    good_images: images/good\n",
    "classifier": (
        "flow:\n  - type: classifier\n    name: classifier\n    images: images\n"
        "    ok_classes: [good]\n"
    ),
    "surface": "flow:\n  - type: surface\n    name: surface\n    data: data\n",
    "detector": "flow:\n  - type: detector\n    name: detector\n    data: data\n",
    "ocr": "flow:\n  - type: ocr\n    name: ocr\n",
    "barcode": "flow:\n  - type: barcode\n    name: barcode\n",
}
_EXTRA_FILES: dict[str, dict[str, str]] = {
    "code": {"main.py": _CODE_MAIN},
    "anomaly": {"images/good/README.txt": _ANOMALY_README},
    "classifier": {
        "images/README.txt": _CLASSIFIER_README,
        "images/good/.keep": "",
        "images/defect/.keep": "",
    },
    "surface": {
        "data/README.txt": _SURFACE_README,
        "data/images/.keep": "",
        "data/masks/.keep": "",
    },
    "detector": {
        "data/README.txt": _DETECTOR_README,
        "data/images/.keep": "",
        "data/labels/.keep": "",
    },
    "ocr": {"README.txt": _OCR_README},
    "barcode": {"README.txt": _BARCODE_README},
}

TEMPLATES = tuple(_FLOWS)


def create_project(directory: Path, template: str) -> None:
    """Write a ready-to-serve project into ``directory`` (new or empty)."""
    if template not in _FLOWS:
        raise ProjectError(f"unknown template {template!r} (known: {', '.join(TEMPLATES)})")
    if directory.exists() and any(directory.iterdir()):
        raise ProjectError(f"{directory}: folder exists and is not empty")
    directory.mkdir(parents=True, exist_ok=True)
    package = {"name": directory.resolve().name, "version": "1.0.0", "template": template}
    (directory / PACKAGE_FILE).write_text(json.dumps(package, indent=2) + "\n", encoding="utf-8")
    (directory / FLOW_FILE).write_text(_FLOWS[template], encoding="utf-8")
    (directory / ".gitignore").write_text(_GITIGNORE, encoding="utf-8")
    for name, content in _EXTRA_FILES.get(template, {}).items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_text(content, encoding="utf-8")
