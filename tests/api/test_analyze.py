"""Every analyze endpoint x response type x context_in_body, against a real server."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from multiprocessing import shared_memory
from pathlib import Path

import numpy as np
import pytest
import requests

from tests.conftest import Server, code_flow, color_card, decode, encode, real_image, write_project

MARK = '''
import numpy as np

def main(context):
    image = context["image"]
    h, w = image.shape[:2]
    heat = np.zeros((h, w), np.float32)
    heat[h // 4 : h // 2, w // 4 : w // 2] = 1.0
    context["heatmap"] = heat
    context["detectedRectangles"].append({
        "x": 2, "y": 2, "width": w // 2, "height": h // 2, "rotate": 0,
        "area": (w // 2) * (h // 2), "confidence": np.float32(0.75), "id": 1,
        "classNames": [{"id": 1, "label": "dent", "confidence": 0.75, "color": "#00ff00"}],
        "source": {"modelId": "m", "moduleId": "mark", "type": "CODE"},
    })
    context["dataFound"] = context["data"]
    context["result"] = False
'''

CONTEXT_KEYS = {
    "error", "imageShape", "processing", "processingTime", "save", "data", "completeTime",
    "errors", "stdout", "stderr", "globalData", "operatorInput", "production_mode", "score",
    "threshold", "surfaceClasses", "angle", "detectedRectangles", "lines", "result",
}
RESPONSE_TYPES = ["context", "image", "annotated_image", "heatmap"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Server:
    from tests.conftest import free_port, inspekt_command, start_process

    project = write_project(
        tmp_path_factory.mktemp("projects") / "mark", code_flow("mark.py"), {"mark.py": MARK}
    )
    port = free_port()
    process, output = start_process(inspekt_command("serve", str(project), "--port", str(port)))
    server = Server(process, f"http://127.0.0.1:{port}", output)
    yield server
    server.stop()


def split_answer(
    response: requests.Response, response_type: str, in_body: bool
) -> tuple[bytes | None, dict]:
    """Take a response apart the way PEKAT's SDK does."""
    assert response.status_code == 200, response.text
    if response_type == "context":
        assert response.headers["content-type"].startswith("application/json")
        return None, response.json()
    assert response.headers["content-type"] == "image/png"
    assert "ContextBase64utf" in response.headers["Access-Control-Expose-Headers"]
    if in_body:
        length = int(response.headers["ImageLen"])
        return response.content[:length], json.loads(response.content[length:])
    return response.content, json.loads(base64.b64decode(response.headers["ContextBase64utf"]))


def send(server: Server, endpoint: str, image: np.ndarray, query: str) -> requests.Response:
    if endpoint == "analyze_image":
        return requests.post(f"{server.url}/analyze_image?{query}", data=encode(image, ".jpg"))
    if endpoint == "analyze_raw_image":
        h, w = image.shape[:2]
        return requests.post(
            f"{server.url}/analyze_raw_image?width={w}&height={h}&{query}", data=image.tobytes()
        )
    if endpoint == "multipart":
        return requests.post(
            f"{server.url}/analyze_image?{query}", files={"file": ("i.png", encode(image))}
        )
    block = shared_memory.SharedMemory(create=True, size=image.nbytes)
    try:
        np.ndarray(image.shape, np.uint8, buffer=block.buf)[:] = image
        h, w = image.shape[:2]
        return requests.post(
            f"{server.url}/analyze_image_shared_memory?name={block.name}&width={w}&height={h}&{query}"
        )
    finally:
        block.close()
        block.unlink()


@pytest.mark.parametrize("in_body", [False, True], ids=["header", "in_body"])
@pytest.mark.parametrize("response_type", RESPONSE_TYPES)
@pytest.mark.parametrize(
    "endpoint", ["analyze_image", "analyze_raw_image", "multipart", "shared_memory"]
)
def test_every_endpoint_answers_every_response_type(
    server: Server, endpoint: str, response_type: str, in_body: bool
) -> None:
    image = real_image()
    query = f"response_type={response_type}&data=lot-7" + ("&context_in_body" if in_body else "")
    png, context = split_answer(send(server, endpoint, image, query), response_type, in_body)

    assert CONTEXT_KEYS <= set(context)
    assert not {"image", "heatmap", "exit", "items"} & set(context)
    assert context["imageShape"] == {"height": image.shape[0], "width": image.shape[1]}
    assert context["data"] == "lot-7" and context["dataFound"] == "lot-7"
    assert context["result"] is False and context["errors"] == []
    assert context["detectedRectangles"][0]["confidence"] == pytest.approx(0.75)
    if png is None:
        return
    out = decode(png)
    assert out.shape == image.shape
    h, w = image.shape[:2]
    hot = (h * 3 // 8, w * 3 // 8)
    if response_type == "heatmap":
        assert out[..., :2].max() == 0
        assert out[hot][2] == 204 and out[h - 1, w - 1, 2] == 0
    elif response_type == "annotated_image":
        assert tuple(out[2, w // 4]) == (0, 255, 0)  # rectangle edge in the class colour
        base = image[hot].astype(int)
        # heat above the threshold is tinted red, half transparent: the part shows through
        assert out[hot][2] > base[2] and out[hot][0] < base[0] and out[hot][0] > 20
    elif endpoint != "analyze_image":  # lossless paths return the very pixels
        assert np.array_equal(out, image)


def test_context_header_and_body_agree(server: Server) -> None:
    image = color_card()
    header = requests.post(f"{server.url}/analyze_image?response_type=image", data=encode(image))
    body = requests.post(
        f"{server.url}/analyze_image?response_type=image&context_in_body=1", data=encode(image)
    )
    _, from_header = split_answer(header, "image", False)
    _, from_body = split_answer(body, "image", True)
    for context in (from_header, from_body):
        context.pop("processingTime"), context.pop("completeTime")
    assert from_header == from_body


@pytest.mark.parametrize("ext", [".png", ".jpg", ".bmp", ".tiff"])
def test_encoded_formats_decode(server: Server, ext: str) -> None:
    image = color_card(90, 60)
    response = requests.post(
        f"{server.url}/analyze_image?response_type=image", data=encode(image, ext)
    )
    out, _ = split_answer(response, "image", False)
    assert decode(out).shape == (60, 90, 3)


def test_data_round_trip_keeps_text_and_the_sdk_literal_none(server: Server) -> None:
    for sent in ["None", "a b&c=ü", ""]:
        response = requests.post(
            f"{server.url}/analyze_image", params={"data": sent}, data=encode(color_card())
        )
        assert response.json()["dataFound"] == sent
    unsent = requests.post(f"{server.url}/analyze_image", data=encode(color_card())).json()
    assert unsent["data"] == ""  # PEKAT's context model types data as a string


@pytest.mark.parametrize("part", ["file", "image"])
def test_legacy_multipart_encoded(server: Server, part: str) -> None:
    response = requests.post(
        f"{server.url}/analyze_image", files={part: ("x.jpg", encode(color_card(), ".jpg"))}
    )
    assert response.status_code == 200
    assert response.json()["imageShape"] == {"height": 64, "width": 96}


def test_legacy_multipart_raw_array_with_form_size(server: Server) -> None:
    image = color_card(50, 30)
    response = requests.post(
        f"{server.url}/analyze_raw_image?response_type=image",
        files={"array": ("a", image.tobytes())},
        data={"width": "50", "height": "30"},
    )
    out, _ = split_answer(response, "image", False)
    assert np.array_equal(decode(out), image)


def test_unknown_parameters_and_put_are_accepted(server: Server) -> None:
    image = color_card()
    response = requests.put(
        f"{server.url}/analyze_raw_image?width=96&height=64&foo=bar&foo=baz", data=image.tobytes()
    )
    assert response.status_code == 200
    response = requests.post(f"{server.url}/analyze_image?width=1&height=1", data=encode(image))
    assert response.json()["imageShape"] == {"height": 64, "width": 96}


def test_last_image_is_the_last_analysed(server: Server) -> None:
    image = color_card(40, 20)
    requests.post(f"{server.url}/analyze_raw_image?width=40&height=20", data=image.tobytes())
    response = requests.get(f"{server.url}/last_image")
    assert response.headers["content-type"] == "image/png"
    assert np.array_equal(decode(response.content), image)


@pytest.mark.parametrize("response_type", RESPONSE_TYPES)
@pytest.mark.parametrize("part", ["file", "image", "array"])
def test_get_with_a_multipart_form_is_analysed_like_a_post(
    server: Server, part: str, response_type: str
) -> None:
    """An old multi-project example sends the legacy form with GET /analyze_image."""
    image = real_image()
    h, w = image.shape[:2]
    body = image.tobytes() if part == "array" else encode(image)
    fields = {"width": str(w), "height": str(h)} if part == "array" else {}
    answers = [
        split_answer(
            requests.request(
                method,
                f"{server.url}/analyze_image?response_type={response_type}&data=lot-7",
                files={part: ("frame", body)},
                data=fields,
            ),
            response_type,
            False,
        )
        for method in ("GET", "POST")
    ]
    (got_png, got), (posted_png, posted) = answers
    for context in (got, posted):
        context.pop("processingTime"), context.pop("completeTime")
    assert got == posted and got["dataFound"] == "lot-7"
    assert got_png == posted_png
    if got_png is not None and response_type == "image":
        assert np.array_equal(decode(got_png), image)


@pytest.mark.parametrize("banner", [False, True])
def test_the_project_can_add_an_ok_nok_banner_to_annotated_images(
    tmp_path: Path, serve: Callable[..., Server], banner: bool
) -> None:
    verdict = "def main(context):\n    context['score'] = 0.8\n    context['result'] = False\n"
    flow = f"annotation: {{banner: {str(banner).lower()}}}\n" + code_flow("v.py")
    server = serve(write_project(tmp_path / "p", flow, {"v.py": verdict}))
    image = real_image()
    response = requests.post(
        f"{server.url}/analyze_image?response_type=annotated_image", data=encode(image)
    )
    out = decode(response.content)
    assert out.shape[1] == image.shape[1]
    if not banner:
        assert out.shape == image.shape
        return
    strip = out[image.shape[0] :]
    assert len(strip) > 10  # a strip below the picture, so boxes keep their coordinates
    blue, green, red = (strip[..., c].astype(int) for c in range(3))
    assert ((red > 150) & (green < 100) & (blue < 100)).mean() > 0.3  # NOK is red
    heatmap = requests.post(f"{server.url}/analyze_image?response_type=heatmap", data=encode(image))
    assert decode(heatmap.content).shape == image.shape  # PEKAT's heatmap format is untouched
