"""The barcode module: codes of every kind read exactly on a part, turned too; the verdict
and its reasons; the template evaluated by the CLI and served over HTTP."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import barcode
import cv2
import numpy as np
import pytest
import segno
import zxingcpp
from barcode.writer import ImageWriter

from inspekt.context import new_context
from inspekt.errors import FlowError, ProjectError
from inspekt.flow import load_project
from inspekt.modules import ModuleEnv, lookup, run_modules
from inspekt.modules.barcode import BarcodeModule, _BlockGradients, _busy_areas
from inspekt.templates import create_project
from tests.conftest import Server, inspekt_command, write_project
from tests.test_context_model import analyze, start_server, valid

PART = 150  # the part's gray; the background around it is darker

# ---- codes drawn on a part --------------------------------------------------------------


def qr(text: str, micro: bool = False) -> np.ndarray:
    """A QR (or Micro QR) code from segno, 5 px a module, with its quiet zone."""
    symbol = segno.make_micro(text) if micro else segno.make_qr(text)
    modules = np.pad(np.array(symbol.matrix, np.uint8), 2 if micro else 4)
    return np.where(np.kron(modules, np.ones((5, 5), np.uint8)) > 0, 0, 255).astype(np.uint8)


def linear(kind: str, text: str) -> np.ndarray:
    """A bar code from python-barcode, tall enough to read turned by some degrees."""
    symbol = barcode.get(kind, text, writer=ImageWriter())
    picture = symbol.render({
        "write_text": False, "module_width": 0.4, "module_height": 30, "quiet_zone": 4,
        "dpi": 150,
    })
    return np.asarray(picture.convert("L"))


def datamatrix(text: str) -> np.ndarray:
    """A Data Matrix code from zxing-cpp's own writer."""
    symbol = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.DataMatrix)
    return np.asarray(zxingcpp.write_barcode_to_image(symbol, scale=6))


def part(*codes: tuple[np.ndarray, int, int], angle: float = 0.0) -> np.ndarray:
    """A gray part on a darker background with codes centred at (x, y), the whole picture
    turned by ``angle`` degrees (counter-clockwise, as OpenCV turns)."""
    rng = np.random.default_rng(3)
    image = np.full((600, 800), 110, np.uint8)
    cv2.rectangle(image, (30, 30), (770, 570), PART, -1)
    cv2.circle(image, (700, 500), 40, 90, -1)  # a hole in the part
    for code, x, y in codes:
        top, left = y - code.shape[0] // 2, x - code.shape[1] // 2
        image[top : top + code.shape[0], left : left + code.shape[1]] = code
    noisy = image.astype(np.int16) + rng.integers(-6, 7, image.shape, dtype=np.int16)
    image = np.clip(noisy, 0, 255).astype(np.uint8)
    if angle:
        turn = cv2.getRotationMatrix2D((400, 300), angle, 1.0)
        image = cv2.warpAffine(image, turn, (800, 600), borderValue=110)
    return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)


def module(**options: Any) -> BarcodeModule:
    cls = lookup("barcode")
    built = cls(
        cls.options_model.model_validate({"type": "barcode@1", "name": "barcode", **options}),
        ModuleEnv(project_dir=Path(".")),
        0,
    )
    assert isinstance(built, BarcodeModule)
    return built


def inspected(image: np.ndarray, data: str = "", **options: Any) -> dict[str, Any]:
    context = new_context(image, data, {})
    module(**options).run(context)
    return context


# ---- reading ----------------------------------------------------------------------------

CODES = [
    ("QRCode", lambda: qr("SN-0042-A"), "SN-0042-A", 31),
    ("MicroQRCode", lambda: qr("12345", micro=True), "12345", 17),
    ("DataMatrix", lambda: datamatrix("LOT 7/2024"), "LOT 7/2024", 200),
    ("Code128", lambda: linear("code128", "PN-88120"), "PN-88120", 12),
    ("EAN13", lambda: linear("ean13", "400638133393"), "4006381333931", -8),
]


@pytest.mark.parametrize(("kind", "draw", "text", "angle"), CODES, ids=[c[0] for c in CODES])
def test_each_kind_is_read_exactly_on_a_turned_part(
    kind: str, draw: Any, text: str, angle: float
) -> None:
    context = inspected(part((draw(), 400, 300), angle=angle))
    assert context["result"] is True and "codeProblems" not in context
    (code,) = context["codes"]
    assert code["module"] == "barcode" and code["format"] == kind and code["text"] == text
    assert len(code["corners"]) == 4 and all(len(corner) == 2 for corner in code["corners"])
    (rectangle,) = context["detectedRectangles"]
    assert rectangle["source"]["type"] == "CODE" and rectangle["confidence"] == 1.0
    assert rectangle["classNames"][0]["label"] == kind
    assert rectangle["classNames"][0]["confidence"] == 100
    assert isinstance(rectangle["rotate"], float) and rectangle["rotate"] == code["angle"]
    xs, ys = zip(*code["corners"], strict=True)
    assert rectangle["x"] == max(0, min(xs)) and rectangle["y"] == max(0, min(ys))
    assert rectangle["x"] + rectangle["width"] - 1 == min(799, max(xs))
    assert rectangle["y"] + rectangle["height"] - 1 == min(599, max(ys))


def test_a_2d_code_reports_its_turn_clockwise_and_its_corners_turned_with_it() -> None:
    # OpenCV turns counter-clockwise on screen; the code's angle counts clockwise
    (code,) = inspected(part((qr("TURN"), 400, 300), angle=30))["codes"]
    assert code["angle"] == pytest.approx(-30, abs=2)
    (tl_x, tl_y), (tr_x, tr_y), *_ = code["corners"]
    assert tr_y < tl_y and tr_x > tl_x  # the top edge rises to the right
    (code,) = inspected(part((qr("TURN"), 400, 300), angle=90))["codes"]
    (tl_x, tl_y), (tr_x, tr_y), *_ = code["corners"]
    assert code["angle"] == pytest.approx(-90, abs=2) and tr_y < tl_y  # the top edge points up


@pytest.mark.parametrize("angle", [37, 128])
def test_a_bar_code_turned_far_from_the_axes_is_read_once_with_its_turn(angle: float) -> None:
    # scan lines along the axes miss it; it is found by its bars and read stood upright
    context = inspected(part((linear("code128", "PN-88120"), 400, 300), angle=angle))
    assert context["result"] is True
    (code,) = context["codes"]
    assert code["format"] == "Code128" and code["text"] == "PN-88120"
    assert code["angle"] == pytest.approx(-angle, abs=3)  # clockwise, the top edge's turn
    assert all(150 <= x <= 650 and 50 <= y <= 550 for x, y in code["corners"])
    assert len(context["detectedRectangles"]) == 1


def test_several_codes_are_all_read_and_counted() -> None:
    image = part(
        (qr("ONE"), 200, 170), (datamatrix("TWO"), 600, 170), (linear("code128", "THREE"), 400, 430)
    )
    context = inspected(image, expected_count=3)
    assert context["result"] is True
    assert sorted(code["text"] for code in context["codes"]) == ["ONE", "THREE", "TWO"]
    assert [r["id"] for r in context["detectedRectangles"]] == [1, 2, 3]
    context = inspected(image, expected_count=2)
    assert context["result"] is False
    assert context["codeProblems"] == ["barcode: expected 2 codes, read 3"]


def test_codes_far_apart_are_read_each_in_its_own_busy_area() -> None:
    areas = busy_areas(part((qr("LEFT"), 150, 150), (datamatrix("RIGHT"), 650, 420)))
    covered = sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in areas)
    assert len(areas) >= 2 and covered < 0.5 * 800 * 600
    context = inspected(part((qr("LEFT"), 150, 150), (datamatrix("RIGHT"), 650, 420)))
    assert sorted(code["text"] for code in context["codes"]) == ["LEFT", "RIGHT"]


def test_a_code_of_tiny_modules_is_read_enlarged() -> None:
    # 2 px modules, blurred: zxing-cpp misses it at its size, reads it enlarged twice
    modules = np.pad(np.array(segno.make_qr("SMALL").matrix, np.uint8), 4)
    code = np.where(np.kron(modules, np.ones((2, 2), np.uint8)) > 0, 0, 255).astype(np.uint8)
    image = cv2.GaussianBlur(part((code, 400, 300), angle=33), (0, 0), 0.9)
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    assert not any(c.text == "SMALL" for c in zxingcpp.read_barcodes(gray))
    (found,) = inspected(image)["codes"]
    assert found["text"] == "SMALL"


def test_a_code_no_busy_area_holds_whole_is_read_in_the_whole_view() -> None:
    # modules of 12 px: most blocks inside the code are flat or hold a single edge
    modules = np.pad(np.array(segno.make_qr("BIG").matrix, np.uint8), 4)
    code = np.where(np.kron(modules, np.ones((12, 12), np.uint8)) > 0, 0, 255).astype(np.uint8)
    image = part((code, 400, 300))
    left, top = 400 - code.shape[1] // 2, 300 - code.shape[0] // 2
    assert not any(
        x0 <= left and y0 <= top and left + code.shape[1] <= x1 and top + code.shape[0] <= y1
        for x0, y0, x1, y1 in busy_areas(image)
    )
    (found,) = inspected(image)["codes"]
    assert found["text"] == "BIG"


def busy_areas(image: np.ndarray) -> list[tuple[int, int, int, int]]:
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    return _busy_areas(_BlockGradients.of(gray), gray.shape)


def test_formats_and_roi_limit_what_is_read() -> None:
    image = part((qr("LEFT"), 200, 300), (linear("code128", "RIGHT"), 560, 300))
    assert [c["text"] for c in inspected(image, formats=["Code128"])["codes"]] == ["RIGHT"]
    roi = {"x": 80, "y": 180, "width": 240, "height": 240}
    (code,) = inspected(image, roi=roi)["codes"]
    assert code["text"] == "LEFT"
    # corners are in the coordinates of the whole image
    assert all(80 <= x < 320 and 180 <= y < 420 for x, y in code["corners"])


def test_codes_of_earlier_modules_are_kept() -> None:
    context = new_context(part((qr("SECOND"), 400, 300)), "", {})
    context["codes"] = [{"module": "first", "text": "FIRST"}]
    context["codeProblems"] = ["first: something"]
    module(name="second", expected_count=2).run(context)
    assert [c["text"] for c in context["codes"]] == ["FIRST", "SECOND"]
    assert context["codeProblems"] == ["first: something", "second: expected 2 codes, read 1"]


# ---- the verdict ------------------------------------------------------------------------


def test_a_text_that_does_not_match_the_pattern_is_nok() -> None:
    image = part((qr("ABC"), 400, 300))
    context = inspected(image, pattern="^[0-9]+$")
    assert context["result"] is False
    assert context["codeProblems"] == ["barcode: 'ABC' does not match ^[0-9]+$"]
    assert context["codes"][0]["text"] == "ABC"  # what was read is still reported
    assert inspected(image, pattern="[A-Z]+")["result"] is True
    assert inspected(image, pattern="[A-Z]")["result"] is False  # the whole text must match


def test_a_text_other_than_the_requests_data_is_nok_with_match_data() -> None:
    image = part((qr("SN-2"), 400, 300))
    context = inspected(image, data="SN-1", match_data=True)
    assert context["result"] is False
    assert context["codeProblems"] == ["barcode: 'SN-2' is not the data 'SN-1'"]
    assert inspected(image, data="SN-2", match_data=True)["result"] is True
    assert inspected(image, data="SN-1")["result"] is True  # data is compared only when asked


def test_a_part_without_a_code_is_nok() -> None:
    context = inspected(part())
    assert context["result"] is False and context["codes"] == []
    assert context["codeProblems"] == ["barcode: expected at least 1 code, read 0"]
    context = inspected(part(), expected_count=1)
    assert context["codeProblems"] == ["barcode: expected 1 code, read 0"]
    assert inspected(part(), expected_count=0)["result"] is True


def test_a_damaged_code_is_nok() -> None:
    code = qr("DAMAGED-QR")
    code[:, : code.shape[1] // 2] = PART  # half of it painted over
    context = inspected(part((code, 400, 300)))
    assert context["result"] is False and context["codes"] == []
    assert context["codeProblems"] == ["barcode: expected at least 1 code, read 0"]


def test_an_image_the_reader_cannot_take_is_an_error_not_a_crash() -> None:
    with pytest.raises(FlowError, match="barcode: cannot read codes in a float32 image"):
        module().read(np.zeros((40, 40), np.float32))
    with pytest.raises(FlowError, match="roi lies outside the 800x600 image"):
        module(roi={"x": 900, "y": 0, "width": 10, "height": 10}).read(part())
    context = new_context(np.zeros((40, 40), np.float32), "", {})  # type: ignore[arg-type]
    run_modules([module()], context)
    assert context["error"] is True and context["result"] is False
    assert "cannot read codes" in context["errors"][0]


# ---- options ----------------------------------------------------------------------------


def load_flow(tmp_path: Path, options: str) -> None:
    load_project(write_project(tmp_path / "p", f"flow:\n  - {{type: barcode, {options}}}\n"))


def test_an_unknown_format_is_refused_listing_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ProjectError) as refused:
        load_flow(tmp_path, "formats: [QRCode, QR]")
    message = refused.value.message
    assert "formats" in message and "'QRCode'" in message and "'DataMatrix'" in message


def test_a_bad_pattern_is_refused_at_load(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="pattern.*not a regular expression"):
        load_flow(tmp_path, "pattern: '[0-9'")


# ---- the template: eval and serve ------------------------------------------------------


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(inspekt_command(*args), capture_output=True, text=True, timeout=300)


def write_labelled(folder: Path) -> Path:
    """Images of turned parts with their codes in labels.csv (a format on some rows)."""
    folder.mkdir(parents=True)
    images = {
        "qr.png": (part((qr("SN-1"), 400, 300), angle=25), [("SN-1", "QRCode")]),
        "dm.png": (part((datamatrix("DM 2"), 400, 300), angle=-40), [("DM 2", "")]),
        "two.png": (
            part((qr("SN-3"), 220, 300), (linear("code128", "C-3"), 560, 300), angle=5),
            [("SN-3", "QRCode"), ("C-3", "Code128")],
        ),
        "none.png": (part(), [("", "")]),
    }
    rows = ["file,text,format"]
    for name, (image, labels) in images.items():
        cv2.imwrite(str(folder / name), image)
        rows += [f"{name},{text},{kind}" for text, kind in labels]
    (folder / "labels.csv").write_text("\n".join(rows) + "\n")
    return folder


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = tmp_path_factory.mktemp("barcode") / "labels"
    create_project(project, "barcode")
    return project


def test_the_template_reads_the_whole_image_and_explains_itself(project: Path) -> None:
    (reader,) = load_project(project).modules
    assert isinstance(reader, BarcodeModule) and reader.options.roi is None
    readme = (project / "README.txt").read_text()
    assert "expected_count" in readme and "inspekt eval" in readme
    done = cli("train", str(project))
    assert done.returncode == 1 and "no trainable module" in done.stderr


def test_eval_reads_every_labelled_code(project: Path, tmp_path: Path) -> None:
    dataset = write_labelled(tmp_path / "set")
    report = tmp_path / "report"
    done = cli("eval", str(project), str(dataset), "--json", "--report", str(report))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["read_rate"] == 1.0 and result["false_read_rate"] == 0.0
    assert result["n_images"] == 4 and result["n_labels"] == 4
    assert result["ms_per_image_p50"] <= result["ms_per_image_p95"]
    assert json.loads((report / "metrics.json").read_text()) == result


def test_eval_names_the_line_of_a_malformed_label(project: Path, tmp_path: Path) -> None:
    dataset = write_labelled(tmp_path / "set")
    with (dataset / "labels.csv").open("a") as labels:
        labels.write("qr.png,SN-1,QRCode,extra\n")
    done = cli("eval", str(project), str(dataset), "--json")
    assert done.returncode == 1
    assert "labels.csv, line 7: expected 3 fields" in done.stderr


@pytest.fixture(scope="module")
def server(project: Path) -> Iterator[Server]:
    running = start_server(project)
    yield running
    running.stop()


def test_a_served_image_gets_its_codes_and_rectangles(server: Server) -> None:
    image = part((qr("SERVED-1"), 400, 300), angle=20)
    context = valid(analyze(server, image))
    assert context["result"] is True
    (code,) = context["codes"]
    assert code["text"] == "SERVED-1" and code["format"] == "QRCode"
    (rectangle,) = context["detectedRectangles"]
    assert rectangle["source"]["type"] == "CODE" and rectangle["rotate"] == code["angle"]
    context = valid(analyze(server, part()))
    assert context["result"] is False and context["codeProblems"]
