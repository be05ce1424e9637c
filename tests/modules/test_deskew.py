"""The deskew module: the image turned upright by the code or line read before, and what
was found moved with it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from inspekt.context import new_context
from inspekt.modules import Module, ModuleEnv, lookup
from tests.modules.test_barcode import part, qr
from tests.modules.test_ocr import part as printed_part


def built(kind: str, **options: Any) -> Module:
    cls = lookup(kind)
    return cls(
        cls.options_model.model_validate({"type": f"{kind}@1", "name": kind, **options}),
        ModuleEnv(project_dir=Path(".")),
        0,
    )


def flowed(image: np.ndarray, *modules: Module) -> dict[str, Any]:
    context = new_context(image, "", {})
    for module in modules:
        module.run(context)
    return context


def test_a_turned_code_is_stood_upright_with_what_was_found() -> None:
    image = part((qr("UPRIGHT"), 400, 300), angle=30)
    context = flowed(image, built("barcode"), built("deskew"))
    (code,) = context["codes"]
    assert code["angle"] == pytest.approx(0, abs=2)
    assert context["angle"] == pytest.approx(-30, abs=2)
    (tl_x, tl_y), (tr_x, tr_y), (br_x, br_y), (bl_x, bl_y) = code["corners"]
    assert abs(tr_y - tl_y) <= 3 and abs(bl_x - tl_x) <= 3  # level and plumb
    height, width = context["image"].shape[:2]
    assert (width, height) != (800, 600)  # the canvas grew to keep every corner
    (rectangle,) = context["detectedRectangles"]
    assert rectangle["x"] == pytest.approx(min(tl_x, bl_x), abs=3)
    assert rectangle["y"] == pytest.approx(min(tl_y, tr_y), abs=3)
    assert rectangle["rotate"] == code["angle"]
    # what a reading after it sees is the upright code where the moved one says
    (again,) = flowed(context["image"], built("barcode"))["codes"]
    assert again["text"] == "UPRIGHT" and again["angle"] == pytest.approx(0, abs=2)
    assert np.abs(np.subtract(again["corners"], code["corners"])).max() <= 4


def test_level_only_keeps_quarter_turns() -> None:
    image = part((qr("QUARTER"), 400, 300), angle=100)
    context = flowed(image, built("barcode"), built("deskew", level_only=True))
    (code,) = context["codes"]
    assert code["angle"] == pytest.approx(-90, abs=2)
    assert context["angle"] == pytest.approx(-10, abs=2)


def test_a_skewed_line_of_text_is_levelled() -> None:
    ocr = built("ocr")
    ocr.open()
    image = printed_part(("LOT 2231-B", 170, 215), angle=8)
    context = flowed(image, ocr, built("deskew", by="ocr"))
    (line,) = context["ocr"]
    assert line["text"] == "LOT 2231-B" and abs(line["angle"]) < 1.5
    (tl_x, tl_y), (tr_x, tr_y), *_ = line["box"]
    assert abs(tr_y - tl_y) <= 4


def test_nothing_read_or_a_small_turn_leaves_the_image_as_it_was() -> None:
    empty = part()
    context = flowed(empty, built("barcode"), built("deskew"))
    assert context["image"] is empty and context["angle"] is None
    level = part((qr("LEVEL"), 400, 300))
    context = flowed(level, built("barcode"), built("deskew", min_angle=5))
    assert context["image"] is level and context["angle"] is None


def test_only_the_named_modules_reading_is_used() -> None:
    image = part((qr("TURNED"), 400, 300), angle=20)
    context = flowed(image, built("barcode"), built("deskew", module="other"))
    assert context["image"] is image
