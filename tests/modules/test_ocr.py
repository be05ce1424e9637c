"""The ocr module: printed lines read exactly, turned, inverted, small or in rectangles;
the verdict and its reasons; the template evaluated by the CLI and served over HTTP."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont
from pydantic import BaseModel, ConfigDict, Field

from inspekt.context import new_context
from inspekt.errors import FlowError, ProjectError
from inspekt.flow import load_project
from inspekt.models.text_reader import (
    _COARSE_MIN_HEIGHT,
    _COARSE_SIDE,
    MODEL_FILES,
    Line,
    TextReader,
    models_folder,
)
from inspekt.modules import ModuleEnv, lookup, run_modules
from inspekt.modules.ocr import OcrModule
from inspekt.templates import create_project
from tests.conftest import Server, inspekt_command, write_project
from tests.test_context_model import analyze, start_server, valid

FONTS = Path("/usr/share/fonts/truetype/dejavu")
GROUND = 140  # the part's gray

# ---- text printed on a part -------------------------------------------------------------


def font(size: int, name: str) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """A DejaVu font where Debian's fonts-dejavu is installed, else Pillow's own."""
    path = FONTS / name
    return ImageFont.truetype(str(path), size) if path.is_file() else ImageFont.load_default(size)


def part(
    *lines: tuple[str, int, int], size: int = 36, name: str = "DejaVuSans.ttf",
    angle: float = 0.0, ink: int = 25, ground: int = GROUND,
) -> np.ndarray:
    """A 640x480 textured part with lines printed at (x, y) (their top-left), the whole
    picture turned by ``angle`` degrees (counter-clockwise, as OpenCV turns)."""
    rng = np.random.default_rng(7)
    noise = rng.integers(-12, 13, (480, 640), dtype=np.int16)
    image = np.clip(ground + noise, 0, 255).astype(np.uint8)
    image = cv2.GaussianBlur(image, (3, 3), 0)
    picture = Image.fromarray(image)
    draw = ImageDraw.Draw(picture)
    for text, x, y in lines:
        draw.text((x, y), text, fill=ink, font=font(size, name))
    image = np.asarray(picture)
    if angle:
        turn = cv2.getRotationMatrix2D((320, 240), angle, 1.0)
        image = cv2.warpAffine(image, turn, (640, 480), borderMode=cv2.BORDER_REPLICATE)
    return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)


def module(**options: Any) -> OcrModule:
    cls = lookup("ocr")
    built = cls(
        cls.options_model.model_validate({"type": "ocr@1", "name": "ocr", **options}),
        ModuleEnv(project_dir=Path(".")),
        0,
    )
    assert isinstance(built, OcrModule)
    return built


@pytest.fixture(scope="module")
def reader() -> Iterator[OcrModule]:
    """One opened module for the tests that need the default options."""
    opened = module()
    opened.open()
    yield opened
    opened.close()


def texts(context: dict[str, Any]) -> list[str]:
    return [line["text"] for line in context["ocr"]]


def inspected(
    image: np.ndarray, data: str = "", reader: OcrModule | None = None, **options: Any
) -> dict[str, Any]:
    context = new_context(image, data, {})
    (reader or module(**options)).run(context)
    return context


# ---- reading ----------------------------------------------------------------------------


def test_the_models_ship_inside_the_installed_package() -> None:
    folder = models_folder()
    assert "site-packages" in folder.parts or "dist-packages" in folder.parts
    assert all((folder / name).stat().st_size > 100_000 for name in MODEL_FILES.values())


@pytest.mark.parametrize(
    ("text", "name", "angle"),
    [
        ("AB123456", "DejaVuSans.ttf", 0.0),
        ("2026-12-01", "DejaVuSerif.ttf", 5.0),
        ("PN:47/B.9", "DejaVuSansMono-Bold.ttf", -5.0),
    ],
)
def test_a_line_is_read_exactly_in_several_fonts_turned_too(
    reader: OcrModule, text: str, name: str, angle: float
) -> None:
    context = inspected(part((text, 170, 215), name=name, angle=angle), reader=reader)
    assert texts(context) == [text] and context["result"] is True
    (line,) = context["ocr"]
    assert line["module"] == "ocr" and 0.8 < line["confidence"] <= 1.0
    assert abs(line["angle"] + angle) < 3  # OpenCV turns counter-clockwise
    xs = [x for x, _ in line["box"]]
    ys = [y for _, y in line["box"]]
    assert 120 < min(xs) < 200 and 330 < max(xs) < 520 and 150 < min(ys) < max(ys) < 310
    (rectangle,) = context["detectedRectangles"]
    assert rectangle["classNames"][0]["label"] == text
    assert rectangle["source"]["type"] == "CODE" and rectangle["rotate"] == line["angle"]
    assert not context.get("ocrProblems")


def test_print_small_on_a_large_image_is_found_searching_again_finer(
    reader: OcrModule,
) -> None:
    picture = Image.new("L", (1920, 1080), GROUND)
    ImageDraw.Draw(picture).text((700, 500), "LOT 5521-A", fill=25, font=font(40, "DejaVuSans.ttf"))
    image = cv2.cvtColor(np.asarray(picture), cv2.COLOR_GRAY2BGR)
    text_reader = TextReader()
    _, lowest = text_reader._found(image, _COARSE_SIDE / 1920)
    assert lowest < _COARSE_MIN_HEIGHT  # too low to trust where first searched
    assert texts(inspected(image, reader=reader)) == ["LOT 5521-A"]


def test_several_lines_come_in_reading_order_and_earlier_entries_are_kept(
    reader: OcrModule,
) -> None:
    context = new_context(part(("SN 000417", 60, 120), ("EXP 2027/03", 60, 300)), "", {})
    context["ocr"] = [{"module": "before", "text": "X", "confidence": 1.0, "box": []}]
    reader.run(context)
    assert texts(context) == ["X", "SN 000417", "EXP 2027/03"]


def test_upside_down_text_is_read_with_its_angle_or_auto(reader: OcrModule) -> None:
    image = cv2.rotate(part(("AB123456", 170, 215)), cv2.ROTATE_180)
    assert texts(inspected(image, angle=180)) == ["AB123456"]
    context = inspected(image, angle="auto")
    assert texts(context) == ["AB123456"]
    assert abs(abs(context["ocr"][0]["angle"]) - 180) < 3
    turned = cv2.rotate(part(("AB123456", 170, 215)), cv2.ROTATE_90_CLOCKWISE)
    assert texts(inspected(turned, angle=90)) == ["AB123456"]


def test_light_text_on_a_dark_ground_is_read_inverted() -> None:
    image = part(("QX-88213", 170, 215), ink=235, ground=40)
    assert texts(inspected(image, invert=True)) == ["QX-88213"]


def test_small_text_in_a_roi_is_enlarged_and_read_in_image_coordinates() -> None:
    image = part(("7781-A", 300, 200), size=14)
    context = inspected(image, roi={"x": 280, "y": 190, "width": 90, "height": 30})
    assert texts(context) == ["7781-A"]
    xs = [x for x, _ in context["ocr"][0]["box"]]
    assert 280 <= min(xs) < 310 and max(xs) < 370


def test_text_is_read_inside_each_rectangle_found_before() -> None:
    image = part(("AA1111", 60, 100), ("BB2222", 380, 100), ("CC3333", 60, 350), size=30)
    context = new_context(image, "", {})
    context["detectedRectangles"] = [
        {"id": 4, "x": 40, "y": 80, "width": 200, "height": 80},
        {"id": 9, "x": 360, "y": 80, "width": 200, "height": 80},
    ]
    module(regions="rectangles", expected_lines=1).run(context)
    assert texts(context) == ["AA1111", "BB2222"]  # CC3333 lies in no rectangle
    assert [line["rectangle"] for line in context["ocr"]] == [4, 9]
    assert context["result"] is True and len(context["detectedRectangles"]) == 4
    context = inspected(image, regions="rectangles")
    assert context["result"] is False
    assert context["ocrProblems"] == ["ocr: no rectangles to read text in"]


def test_characters_not_allowed_are_dropped() -> None:
    context = inspected(part(("SN: 0042", 170, 215)), allowed_characters="0123456789")
    assert texts(context) == ["0042"]


def read_as(line: Line, **options: Any) -> tuple[str, float]:
    return module(**options)._chosen(line)


def test_look_alikes_are_taken_where_a_character_is_not_allowed_or_the_pattern_wants_one(
) -> None:
    corners = np.zeros((4, 2), np.float32)
    # "6C63", where the recognizer also saw a G in the 6 and an O in the 3
    choices = ((("6", 0.6), ("G", 0.35)), (("C", 0.9),), (("6", 0.95),),
               (("3", 0.5), ("O", 0.3), ("8", 0.01)))
    line = Line("6C63", 0.74, corners, choices)
    assert read_as(line) == ("6C63", pytest.approx(0.7375))
    text, confidence = read_as(line, pattern=r"[A-Z]{2}\d{2}")
    assert text == "GC63" and confidence == pytest.approx((0.35 + 0.9 + 0.95 + 0.5) / 4)
    assert read_as(line, pattern=r"[A-Z]{4}")[0] == "6C63"  # no look-alike makes it match
    assert read_as(line, allowed_characters="0123456789")[0] == "663"  # C: no likely digit
    assert read_as(line, allowed_characters="GCO6")[0] == "6C6O"  # the 3's likely O
    # a look-alike's chance below the threshold is never taken
    assert read_as(line, pattern=r"6C68")[0] == "6C63"


# ---- the verdict ------------------------------------------------------------------------


def test_a_text_that_does_not_match_the_pattern_is_nok(reader: OcrModule) -> None:
    image = part(("AB12345", 170, 215))
    context = inspected(image, pattern=r"^[A-Z]{2}\d{6}$")
    assert texts(context) == ["AB12345"] and context["result"] is False
    assert context["ocrProblems"] == ["ocr: 'AB12345' does not match ^[A-Z]{2}\\d{6}$"]
    assert inspected(part(("AB123456", 170, 215)), pattern=r"^[A-Z]{2}\d{6}$")["result"]


def test_a_text_other_than_the_requests_data_is_nok_with_match_data() -> None:
    image = part(("2026-12-01", 170, 215))
    assert inspected(image, "2026-12-01", match_data=True)["result"] is True
    context = inspected(image, "2026-12-02", match_data=True)
    assert context["result"] is False
    assert context["ocrProblems"] == ["ocr: '2026-12-01' is not the data '2026-12-02'"]


def test_a_part_without_text_or_with_too_few_lines_is_nok(reader: OcrModule) -> None:
    context = inspected(part(), reader=reader)
    assert context["result"] is False and context["ocr"] == []
    assert context["ocrProblems"] == ["ocr: expected at least 1 line of text, read 0"]
    context = inspected(part(("AB123456", 170, 215)), expected_lines=2)
    assert context["ocrProblems"] == ["ocr: expected 2 lines of text, read 1"]


def test_an_image_the_reader_cannot_take_is_an_error_not_a_crash(reader: OcrModule) -> None:
    with pytest.raises(FlowError, match="ocr: cannot read text in a float32 image"):
        reader.read(np.zeros((40, 40), np.float32))  # type: ignore[arg-type]
    with pytest.raises(FlowError, match="lies outside the 640x480 image"):
        module(roi={"x": 900, "y": 0, "width": 10, "height": 10}).read(part())
    context = new_context(np.zeros((40, 40), np.float32), "", {})  # type: ignore[arg-type]
    run_modules([reader], context)
    assert context["error"] is True and context["result"] is False
    assert "cannot read text" in context["errors"][0]


def test_a_bad_pattern_or_angle_is_refused_at_load(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="pattern.*not a regular expression"):
        load_project(write_project(tmp_path / "a", "flow:\n  - {type: ocr, pattern: '[0-9'}\n"))
    with pytest.raises(ProjectError, match="angle"):
        load_project(write_project(tmp_path / "b", "flow:\n  - {type: ocr, angle: 45}\n"))


# ---- the template: eval and serve ------------------------------------------------------


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(inspekt_command(*args), capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = tmp_path_factory.mktemp("ocr") / "labels"
    create_project(project, "ocr")
    return project


def test_the_template_reads_the_whole_image_and_explains_itself(project: Path) -> None:
    (ocr,) = load_project(project).modules
    assert isinstance(ocr, OcrModule) and ocr.options.regions == "image"
    readme = (project / "README.txt").read_text()
    assert "allowed_characters" in readme and "inspekt eval" in readme


def test_eval_reads_every_labelled_line(project: Path, tmp_path: Path) -> None:
    dataset = tmp_path / "set"
    dataset.mkdir()
    images = {
        "one.png": (part(("AB123456", 170, 215), angle=4), ["AB123456"]),
        "two.png": (part(("SN 000417", 60, 120), ("EXP 2027/03", 60, 300)), ["SN 000417",
                                                                             "EXP 2027/03"]),
        "none.png": (part(), [""]),
    }
    rows = ["file,text"]
    for name, (image, labels) in images.items():
        cv2.imwrite(str(dataset / name), image)
        rows += [f"{name},{text}" for text in labels]
    (dataset / "labels.csv").write_text("\n".join(rows) + "\n")
    done = cli("eval", str(project), str(dataset), "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["read_rate"] == 1.0 and result["false_read_rate"] == 0.0
    assert result["n_images"] == 3 and result["n_labels"] == 3
    assert result["ms_per_image_p50"] <= result["ms_per_image_p95"]


class OcrLine(BaseModel):
    """An ``ocr`` entry of the context, as the README documents it."""

    model_config = ConfigDict(strict=True, extra="forbid")

    module: str
    text: str
    confidence: float = Field(ge=0, le=1)
    box: list[list[int]] = Field(min_length=4, max_length=4)
    angle: float
    rectangle: int | None


@pytest.fixture(scope="module")
def server(project: Path) -> Iterator[Server]:
    running = start_server(project)
    yield running
    running.stop()


def test_a_served_image_gets_its_lines_and_rectangles(server: Server) -> None:
    context = valid(analyze(server, part(("AB123456", 170, 215), angle=-5)))
    assert context["result"] is True
    (line,) = context["ocr"]
    OcrLine.model_validate(line)
    assert line["text"] == "AB123456"
    (rectangle,) = context["detectedRectangles"]
    assert rectangle["classNames"][0]["label"] == "AB123456"
    assert rectangle["source"]["type"] == "CODE" and rectangle["rotate"] == line["angle"]
    context = valid(analyze(server, part()))
    assert context["result"] is False and context["ocrProblems"]
