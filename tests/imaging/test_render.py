"""The annotated image a person reads, and PEKAT's heatmap, drawn on a real photograph."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from inspekt.imaging.render import HEAT_COLOR, annotated_image, heatmap_image
from tests.conftest import DATA_DIR

HAZELNUT = DATA_DIR / "hazelnut"
SQUARE = (slice(200, 280), slice(180, 260))  # rows, columns of the hot square


def nut() -> np.ndarray:
    image = cv2.imread(str(HAZELNUT / "test" / "good" / "04.jpg"), cv2.IMREAD_COLOR)
    assert image is not None
    return image


def square_heat(value: float, background: float = 0.0) -> np.ndarray:
    heat = np.full(nut().shape[:2], background, np.float32)
    heat[SQUARE] = value
    return heat


def pure(image: np.ndarray, color: tuple[int, int, int]) -> np.ndarray:
    """Where the image is exactly this colour."""
    return np.all(image == np.array(color, np.uint8), axis=-1)


def test_heat_below_the_threshold_leaves_every_pixel_unchanged() -> None:
    image = nut()
    heat = square_heat(0.49, background=0.3)
    heat[0:50, 0:50] = np.linspace(0, 0.499, 50, dtype=np.float32)
    assert np.array_equal(annotated_image(image, heat, []), image)
    assert np.array_equal(annotated_image(image, None, []), image)


@pytest.mark.parametrize(("heat", "alpha"), [(1.0, 0.5), (0.5, 0.25)])
def test_heat_above_the_threshold_is_tinted_half_transparently(heat: float, alpha: float) -> None:
    image = nut()
    out = annotated_image(image, square_heat(heat), [])
    inside = (slice(220, 260), slice(200, 240))  # clear of the outline
    expected = image[inside] * (1 - alpha) + np.array(HEAT_COLOR) * alpha
    assert np.abs(out[inside].astype(float) - expected).max() <= 1
    # the part still shows through: the tint keeps the picture's light and shade
    assert np.corrcoef(out[inside][..., 1].ravel(), image[inside][..., 1].ravel())[0, 1] > 0.99
    outside = np.ones(image.shape[:2], bool)
    outside[190:290, 170:270] = False
    assert np.array_equal(out[outside], image[outside])


def test_the_region_above_the_threshold_is_outlined() -> None:
    image = nut()
    out = annotated_image(image, square_heat(0.8), [])
    edge = np.zeros(image.shape[:2], bool)
    edge[197:203, 180:260] = True  # the square's top edge, a few pixels either side
    assert not pure(image, HEAT_COLOR)[edge].any()
    assert pure(out, HEAT_COLOR)[edge].sum() >= 80  # a solid line along all 80 columns


def test_heat_of_another_size_is_scaled_to_the_image() -> None:
    image = nut()
    small = cv2.resize(square_heat(1.0), (128, 128), interpolation=cv2.INTER_NEAREST)
    out = annotated_image(image, small, [])
    assert out.shape == image.shape
    assert not np.array_equal(out[240, 220], image[240, 220])
    assert np.array_equal(out[50, 50], image[50, 50])


def box(label: str, color: str, **confidences: float) -> dict:
    rect = {"x": 150, "y": 150, "width": 100, "height": 80, "confidence": confidences.get("rect")}
    return {**rect, "classNames": [
        {"label": label, "color": color, "confidence": confidences.get("cls")}
    ]}


def test_rectangles_get_their_colour_and_a_readable_label() -> None:
    image = nut()
    out = annotated_image(image, None, [box("dent", "#00ff00", rect=0.75)])
    green = (0, 255, 0)
    assert pure(out[150:231, 150], green).all()  # the box's left side
    above = pure(out[100:149, 150:300], green)  # the label's tag sits on top of the box
    rows, cols = np.nonzero(above)
    assert rows.size and rows.max() == 48 and cols.min() == 0  # flush with the box's corner
    tag = out[100 + rows.min() : 149, 150 : 151 + cols.max()]
    assert tag.shape[0] >= 12 and tag.shape[1] >= 50  # room for "dent 75%"
    filled = pure(tag, green)
    assert filled.mean() > 0.5  # a filled background, not bare text
    ink = tag[~filled]
    assert len(ink) > 30 and ink.max(axis=-1).min() < 80  # dark letters on the light green
    unlabelled = annotated_image(image, None, [{**box("", "#00ff00"), "confidence": None}])
    assert not pure(unlabelled[100:148, 150:300], green).any()  # nothing to say, no tag


def test_the_label_reads_the_rectangle_fraction_or_a_class_percentage_alike() -> None:
    image = nut()
    from_rect = annotated_image(image, None, [box("dent", "#00ff00", rect=0.75, cls=75)])
    from_class = annotated_image(image, None, [box("dent", "#00ff00", cls=75)])
    class_fraction = annotated_image(image, None, [box("dent", "#00ff00", cls=0.75)])
    other = annotated_image(image, None, [box("dent", "#00ff00", rect=0.25)])
    assert np.array_equal(from_rect, from_class) and np.array_equal(from_rect, class_fraction)
    assert not np.array_equal(from_rect, other)


def test_a_turned_rectangle_is_outlined_turned_around_the_thing_it_holds() -> None:
    # a 100 px square turned by 30 degrees: its axis-aligned box is 137 px a side
    side = 100 * (np.cos(np.radians(30)) + np.sin(np.radians(30)))
    rect = {**box("QRCode", "#00ff00", rect=1.0), "x": 100, "y": 100,
            "width": round(side), "height": round(side), "rotate": 30.0}
    out = annotated_image(np.zeros((400, 400, 3), np.uint8), None, [rect])
    green = pure(out, (0, 255, 0))
    assert not green[100:106, 100:106].any()  # the box's corner is not drawn...
    centre = 100 + side / 2
    for corner in cv2.boxPoints(((centre, centre), (100, 100), 30.0)):
        x, y = (round(v) for v in corner)
        assert green[y - 3 : y + 4, x - 3 : x + 4].any()  # ...the square's corners are


def test_a_box_at_the_top_edge_keeps_its_label_inside_the_image() -> None:
    image = nut()
    rect = {**box("scratch", "#0000ff", rect=0.5), "x": 2, "y": 0}
    out = annotated_image(image, None, [rect])
    blue = (255, 0, 0)
    assert pure(out[0:20, 2:60], blue).mean() > 0.4


@pytest.mark.parametrize(
    ("result", "channel"), [(True, "green"), (False, "red"), (None, "grey")]
)
def test_the_banner_says_ok_or_nok_in_its_colour_below_the_image(
    result: bool | None, channel: str
) -> None:
    image = nut()
    heat = square_heat(0.9)
    plain = annotated_image(image, heat, [box("dent", "#00ff00", rect=0.9)])
    out = annotated_image(
        image, heat, [box("dent", "#00ff00", rect=0.9)], banner=True, result=result, score=0.9
    )
    assert out.shape[0] > image.shape[0] and out.shape[1:] == image.shape[1:]
    assert np.array_equal(out[: image.shape[0]], plain)  # coordinates are the image's
    strip = out[image.shape[0] :].reshape(-1, 3).astype(int)
    blue, green, red = np.median(strip, axis=0)
    if channel == "green":
        assert green > red + 60 and green > blue + 60
    elif channel == "red":
        assert red > green + 60 and red > blue + 60
    else:
        assert max(blue, green, red) - min(blue, green, red) < 10
    assert (strip.min(axis=1) > 200).sum() > 50  # white text: the verdict and the score


def test_the_banner_shows_the_score() -> None:
    image = nut()
    low = annotated_image(image, None, [], banner=True, result=False, score=0.6)
    high = annotated_image(image, None, [], banner=True, result=False, score=0.9)
    none = annotated_image(image, None, [], banner=True, result=False)
    assert not np.array_equal(low, high)
    assert (none[image.shape[0] :].min(axis=-1) > 200).sum() < (
        low[image.shape[0] :].min(axis=-1) > 200
    ).sum()


def test_grayscale_images_are_annotated_in_colour() -> None:
    gray = cv2.cvtColor(nut(), cv2.COLOR_BGR2GRAY)
    out = annotated_image(gray, square_heat(1.0), [])
    assert out.shape == (*gray.shape, 3)
    assert out[240, 220, 2] > out[240, 220, 0]


def test_the_heatmap_keeps_pekats_format() -> None:
    image = nut()
    heat = square_heat(1.0, background=0.25)
    heat[0:10, 0:10] = 0.5
    out = heatmap_image(image, heat)
    assert out.shape == image.shape and out.dtype == np.uint8
    assert out[..., :2].max() == 0  # black but for the red channel
    assert out[240, 220, 2] == 204 and out[5, 5, 2] == 102 and out[400, 400, 2] == 51
    assert heatmap_image(image, None).max() == 0
    small = heatmap_image(image, cv2.resize(heat, (64, 64), interpolation=cv2.INTER_NEAREST))
    assert small.shape == image.shape and small[240, 220, 2] == 204
