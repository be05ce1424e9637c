"""Every context inspekt returns fits PEKAT's context model, checked through a real server.

PEKAT's clients validate answers against the SDK's pydantic context model, so the
types matter, not only the keys. The models below are written from the contract
(``The context (JSON)`` in the API spec). They are stricter than a client would
be, so that a drift shows here first: an int where the contract says float, a
float where it says int, ``null`` where it says bool are all refused. Keys that
user code adds pass (``extra="allow"`` at the top level only).
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pytest
import requests
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from inspekt.results import ClassName, Rectangle, add_rectangles
from tests.conftest import (
    Server,
    code_flow,
    encode,
    free_port,
    inspekt_command,
    real_image,
    start_process,
    write_project,
)
from tests.modules.test_anomaly import HAZELNUT, SMALL_MODEL, good_image, with_blob

#: (response_type, context_in_body): the JSON answer, and each PNG with the context in
#: the ContextBase64utf header or after the PNG in the body.
ANSWERS = [("context", False)] + [
    (kind, in_body) for kind in ("image", "annotated_image", "heatmap") for in_body in (False, True)
]


def _exact_float(value: object) -> object:
    # Strict pydantic still takes an int for a float field (and makes it a float before
    # any after-validator sees it); the contract types these float.
    if not isinstance(value, float):
        raise ValueError(f"must be a JSON float, got {type(value).__name__}")
    return value


def _true(value: bool) -> bool:
    if value is not True:
        raise ValueError("must be true: the flow ran")
    return value


Float = Annotated[float, BeforeValidator(_exact_float)]
Number = int | Float


class _Item(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class ImageShape(_Item):
    height: int
    width: int


class ClassNameModel(_Item):
    id: int
    label: str
    confidence: int = Field(ge=0, le=100)  # a whole percentage, unlike the rectangle's
    color: str | None = Field(None, pattern=r"^#[0-9a-fA-F]{6}$")
    color_bgr: list[int] | None = Field(None, min_length=3, max_length=3)


class Source(_Item):
    modelId: int
    moduleId: int
    type: Literal["UNSUPERVISED", "SUPERVISED", "DETECTOR", "CLASSIFIER", "CODE"]


class DetectedRectangle(_Item):
    x: Number
    y: Number
    width: Number
    height: Number
    rotate: Float
    area: Number | None = None  # "float or absent"; the contract's own example sends 660
    confidence: Float = Field(ge=0, le=1)
    id: int
    classNames: list[ClassNameModel]
    source: Source


class Point(_Item):
    x: Number
    y: Number


class Line(_Item):
    start: Point
    end: Point
    angle: Float
    width: Number
    length: Number
    id: int
    label: str
    method: str
    percent: bool


class FullContext(BaseModel):
    """The context once the flow ran."""

    model_config = ConfigDict(strict=True, extra="allow")

    error: bool
    imageShape: ImageShape
    processing: Annotated[bool, AfterValidator(_true)]
    processingTime: Float = Field(ge=0)
    save: bool
    data: str
    # Seconds the image took, never a Unix timestamp.
    completeTime: Float = Field(ge=0, lt=3600)
    errors: list[Any]
    stdout: str
    stderr: str
    globalData: dict[str, Any]
    operatorInput: dict[str, Any]
    production_mode: bool
    score: Float
    threshold: Float
    surfaceClasses: list[ClassNameModel]
    angle: Float | None
    detectedRectangles: list[DetectedRectangle]
    lines: list[Line]
    result: bool

    @model_validator(mode="after")
    def _rectangle_ids_are_unique(self) -> FullContext:
        ids = [rectangle.id for rectangle in self.detectedRectangles]
        if len(ids) != len(set(ids)):
            raise ValueError(f"rectangle ids repeat: {ids}")
        return self


def valid(context: dict[str, Any]) -> dict[str, Any]:
    """The context, after checking it against the model (which raises when it does not fit)."""
    FullContext.model_validate(context)
    assert not {"image", "input_image", "heatmap", "mask", "exit", "items", "trace"} & set(context)
    assert context["processing"] is True and 0 <= context["completeTime"] < 10
    return context


# ---- servers ------------------------------------------------------------------------------

JUDGE = """
import numpy as np

def main(context):
    height, width = context["image"].shape[:2]
    context["dataFound"] = context["data"]
    context["measures"] = {"width": np.int64(width), "mean": np.float32(context["image"].mean())}
    context["tags"] = ("checked", "judge")
    if context["data"] == "nok":
        context["result"] = False
"""

# Runs before the anomaly module: a rectangle of its own, with an id the module must skip.
MARK = """
def main(context):
    context["detectedRectangles"].append({
        "x": 1, "y": 2, "width": 10, "height": 20, "rotate": 0.0, "area": 200.0,
        "confidence": 0.5, "id": 7,
        "classNames": [{"id": 1, "label": "mark", "confidence": 50, "color": "#00ff00"}],
        "source": {"modelId": 1, "moduleId": 1, "type": "CODE"},
    })
"""


def start_server(project: Path) -> Server:
    port = free_port()
    process, output = start_process(inspekt_command("serve", str(project), "--port", str(port)))
    if process.poll() is not None:
        raise RuntimeError(f"server exited: {''.join(output)}")
    return Server(process, f"http://127.0.0.1:{port}", output)


@pytest.fixture(scope="module")
def code_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    project = write_project(
        tmp_path_factory.mktemp("context") / "code", code_flow("judge.py"), {"judge.py": JUDGE}
    )
    server = start_server(project)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def anomaly_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    flow = (
        "flow:\n  - {type: code, name: mark, file: mark.py}\n"
        f"  - {{type: anomaly, name: nut, {SMALL_MODEL}}}\n"
    )
    project = write_project(tmp_path_factory.mktemp("context") / "nuts", flow, {"mark.py": MARK})
    shutil.copytree(HAZELNUT / "train" / "good", project / "images" / "good")
    done = subprocess.run(
        inspekt_command("train", str(project)), capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    server = start_server(project)
    yield server
    server.stop()


def analyze(
    server: Server, image: np.ndarray, response_type: str = "context",
    in_body: bool = False, **params: str,
) -> dict[str, Any]:
    """The context of one answer, taken from wherever the response type puts it."""
    query: dict[str, str] = {"response_type": response_type, **params}
    if in_body:
        query["context_in_body"] = "1"
    response = requests.post(
        f"{server.url}/analyze_image", params=query, data=encode(image), timeout=60
    )
    assert response.status_code == 200, response.text
    if response_type == "context":
        return response.json()
    if in_body:
        return json.loads(response.content[int(response.headers["ImageLen"]) :])
    return json.loads(base64.b64decode(response.headers["ContextBase64utf"]))


# ---- tests ----------------------------------------------------------------------------------


@pytest.mark.parametrize("verdict", ["ok", "nok"])
@pytest.mark.parametrize(("response_type", "in_body"), ANSWERS)
def test_code_flow_contexts_fit_the_model(
    code_server: Server, response_type: str, in_body: bool, verdict: str
) -> None:
    image = real_image()
    context = valid(analyze(code_server, image, response_type, in_body, data=verdict))
    assert context["result"] is (verdict == "ok")
    assert context["data"] == context["dataFound"] == verdict
    assert context["measures"] == {"width": image.shape[1], "mean": pytest.approx(image.mean())}
    assert context["tags"] == ["checked", "judge"]
    assert context["errors"] == [] and context["error"] is False


def test_data_is_an_empty_string_when_none_was_sent(code_server: Server) -> None:
    context = valid(analyze(code_server, real_image()))
    assert context["data"] == context["dataFound"] == ""
    assert context["result"] is True
    assert context["score"] == 0.0 and context["threshold"] == 0.0 and context["angle"] is None
    assert context["operatorInput"] == {} and context["production_mode"] is True


@pytest.mark.parametrize(("response_type", "in_body"), ANSWERS)
def test_anomaly_contexts_and_rectangles_fit_the_model(
    anomaly_server: Server, response_type: str, in_body: bool
) -> None:
    context = valid(analyze(anomaly_server, with_blob(good_image()), response_type, in_body))
    assert context["result"] is False and context["score"] >= context["threshold"] == 0.5
    mark, *found = context["detectedRectangles"]
    assert mark["id"] == 7 and found
    # numbered after the rectangle user code added; the anomaly module is the flow's second
    assert [r["id"] for r in found] == list(range(8, 8 + len(found)))
    for rectangle in found:
        assert rectangle["source"] == {"modelId": 2, "moduleId": 2, "type": "UNSUPERVISED"}
        (name,) = rectangle["classNames"]
        assert name["label"] == "anomaly" and name["color_bgr"] == [0, 0, 255]
        assert name["confidence"] == round(rectangle["confidence"] * 100)


def test_a_good_image_through_the_anomaly_flow_fits_the_model(anomaly_server: Server) -> None:
    context = valid(analyze(anomaly_server, good_image()))
    assert context["threshold"] == 0.5 and context["score"] > 0


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("result", None),
        ("processing", False),
        ("data", None),
        ("completeTime", 1764230400.5),  # a timestamp
        ("completeTime", 0),
        ("score", None),
        ("operatorInput", None),
        ("angle", 0),
    ],
)
def test_the_model_refuses_what_clients_refuse(
    code_server: Server, key: str, value: object
) -> None:
    context = valid(analyze(code_server, real_image()))
    with pytest.raises(ValidationError, match=key):
        FullContext.model_validate({**context, key: value})


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("classNames", 0, "confidence"), 0.93),
        (("source", "moduleId"), "nut"),
        (("rotate",), 0),
        (("id",), 7),  # the id of the rectangle user code added
    ],
)
def test_the_model_refuses_bad_rectangles(
    anomaly_server: Server, path: tuple[str | int, ...], value: object
) -> None:
    context = valid(analyze(anomaly_server, with_blob(good_image())))
    *parents, last = path
    target: Any = context["detectedRectangles"][-1]
    for part in parents:
        target = target[part]
    target[last] = value
    with pytest.raises(ValidationError):
        FullContext.model_validate(context)


def test_rectangle_ids_continue_after_any_int_id_already_there() -> None:
    context: dict[str, Any] = {"detectedRectangles": [
        {"id": 4}, {"id": "12"}, {"id": True}, {"x": 0}, "not a rectangle",
    ]}
    name = ClassName("scratch", 0.934, "#102030")
    box = Rectangle(1, 2, 3, 4, 0.934, (name,), module_id=3, kind="DETECTOR")
    add_rectangles(context, [box, box])
    first, second = context["detectedRectangles"][-2:]
    assert (first["id"], second["id"]) == (5, 6)
    assert first["classNames"] == [
        {"id": 0, "label": "scratch", "confidence": 93, "color": "#102030",
         "color_bgr": [0x30, 0x20, 0x10]}
    ]
    assert first["rotate"] == 0.0 and first["area"] == 12
    DetectedRectangle.model_validate(first)
