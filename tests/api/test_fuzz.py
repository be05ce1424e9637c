"""Property-based fuzzing: every input ends in a 200 or a 4xx with a message, never a 500.

Example counts scale with INSPEKT_FUZZ_EXAMPLES (default 60 per property) so CI
stays quick while a longer run (see RELIABILITY.md) tries many more.
"""

from __future__ import annotations

import os
from urllib.parse import quote

import numpy as np
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable

from inspekt.errors import ImageError
from inspekt.imaging.io import ImageLimits, decode_image, image_from_raw
from tests.conftest import (
    Server,
    code_flow,
    color_card,
    encode,
    free_port,
    inspekt_command,
    start_process,
    write_project,
)

EXAMPLES = int(os.environ.get("INSPEKT_FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
ALLOWED = {200, 400, 401, 403, 404, 405, 408, 413, 422, 503}
SMALL_LIMITS = ImageLimits(max_pixels=4_000_000)
VALID_IMAGES = [encode(color_card(48, 32), ext) for ext in (".png", ".jpg", ".bmp")]


@st.composite
def damaged_images(draw: st.DrawFn) -> bytes:
    """Real encoded images, truncated or with bytes overwritten."""
    data = bytearray(draw(st.sampled_from(VALID_IMAGES)))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    for _ in range(draw(st.integers(0, 8))):
        if data:
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data)


@FUZZ
@given(st.one_of(st.binary(max_size=2048), damaged_images()))
def test_decoder_returns_an_image_or_an_image_error(data: bytes) -> None:
    try:
        image = decode_image(data, SMALL_LIMITS)
    except ImageError as exc:
        assert exc.message
    else:
        assert image.dtype == np.uint8 and image.ndim == 3


@FUZZ
@given(st.integers(-5, 70_000), st.integers(-5, 70_000), st.integers(0, 4096), st.booleans())
def test_raw_sizes_are_checked_before_use(
    width: int, height: int, length: int, bayer: bool
) -> None:
    try:
        image = image_from_raw(bytes(length), width, height, bayer=bayer, limits=SMALL_LIMITS)
    except ImageError as exc:
        assert exc.message
    else:
        assert image.shape[:2] == (height, width)


ECHO = "def main(context):\n    context['echo'] = context['data']\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Server:
    project = write_project(
        tmp_path_factory.mktemp("fuzz") / "p", code_flow("echo.py"), {"echo.py": ECHO}
    )
    port = free_port()
    process, output = start_process(
        inspekt_command("serve", str(project), "--port", str(port), "--max-body-mb", "1")
    )
    server = Server(process, f"http://127.0.0.1:{port}", output)
    yield server
    assert process.poll() is None, "the server died during fuzzing"
    server.stop()


def check(response: requests.Response) -> None:
    assert response.status_code in ALLOWED, (response.status_code, response.text[:300])
    if response.status_code >= 400 and response.request.method != "HEAD":
        assert response.json()["error"]


SIZES = st.one_of(
    st.integers(-10, 100_000).map(str),
    st.text(max_size=12),
    st.sampled_from(["", "1e3", "0x10", " 4", "٣"]),
)
PARAMETER = st.sampled_from(
    ["width", "height", "response_type", "data", "context_in_body", "bayer", "api_key", "name", "x"]
)
VALUES = st.one_of(
    SIZES,
    st.sampled_from(["context", "image", "annotated_image", "heatmap", "None"]),
    st.text(max_size=40),
)


@FUZZ
@given(
    endpoint=st.sampled_from(["analyze_image", "analyze_raw_image", "analyze_image_shared_memory"]),
    query=st.lists(st.tuples(PARAMETER, VALUES), max_size=6),
    body=st.one_of(st.binary(max_size=600), st.sampled_from(VALID_IMAGES), damaged_images()),
    method=st.sampled_from(["POST", "PUT"]),
)
def test_any_query_and_body(
    server: Server, endpoint: str, query: list[tuple[str, str]], body: bytes, method: str
) -> None:
    encoded = "&".join(f"{quote(k)}={quote(v, safe='')}" for k, v in query)
    check(requests.request(method, f"{server.url}/{endpoint}?{encoded}", data=body, timeout=30))


@FUZZ
@given(data=st.text(max_size=200))
def test_data_round_trips_any_text(server: Server, data: str) -> None:
    response = requests.post(
        f"{server.url}/analyze_image", params={"data": data}, data=VALID_IMAGES[0], timeout=30
    )
    assert response.status_code == 200
    assert response.json()["echo"] == data


def test_openapi_schema_fuzzing(server: Server) -> None:
    """Schemathesis generates requests from the server's own OpenAPI schema."""
    schema = schemathesis.openapi.from_dict(
        requests.get(f"{server.url}/openapi.json", timeout=10).json()
    )
    tried = 0
    with requests.Session() as session:
        for result in schema.get_all_operations():
            operation = result.ok()
            for mode in (
                schemathesis.GenerationMode.POSITIVE,
                schemathesis.GenerationMode.NEGATIVE,
            ):

                @FUZZ
                @given(case=operation.as_strategy(generation_mode=mode))
                def call(case: schemathesis.Case) -> None:
                    nonlocal tried
                    tried += 1
                    if case.path == "/stop":
                        case.query = {**(case.query or {}), "key": "not-the-key"}
                    check(case.call(base_url=server.url, session=session, timeout=30))

                try:
                    call()
                except Unsatisfiable:  # nothing to make invalid (no parameters)
                    assert mode is schemathesis.GenerationMode.NEGATIVE
    assert tried >= EXAMPLES
    print(f"schemathesis cases tried: {tried}")
