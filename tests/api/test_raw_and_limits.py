"""Raw pixels (BGR, gray, Bayer) and every bad input the API must refuse clearly."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
import requests

from tests.conftest import Server, color_card, decode, encode, write_project


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Server:
    from tests.conftest import free_port, inspekt_command, start_process

    project = write_project(tmp_path_factory.mktemp("projects") / "empty")
    port = free_port()
    process, output = start_process(
        inspekt_command("serve", str(project), "--port", str(port), "--max-body-mb", "8")
    )
    server = Server(process, f"http://127.0.0.1:{port}", output)
    yield server
    server.stop()


def raw_image(
    server: Server, body: bytes, width: int, height: int, extra: str = ""
) -> requests.Response:
    return requests.post(
        f"{server.url}/analyze_raw_image?width={width}&height={height}&response_type=image{extra}",
        data=body,
    )


def test_raw_bgr_round_trip(server: Server) -> None:
    image = color_card(97, 33)
    response = raw_image(server, image.tobytes(), 97, 33)
    assert response.status_code == 200
    assert np.array_equal(decode(response.content), image)


def test_raw_grayscale_round_trip(server: Server) -> None:
    gray = np.arange(40 * 30, dtype=np.uint32).reshape(30, 40).astype(np.uint8)
    response = raw_image(server, gray.tobytes(), 40, 30)
    assert response.status_code == 200
    assert np.array_equal(decode(response.content), gray)


def rggb_mosaic(scene_bgr: np.ndarray) -> np.ndarray:
    """What an RGGB sensor records of a BGR scene: R G / G B."""
    b, g, r = (scene_bgr[..., i] for i in range(3))
    mosaic = np.empty(scene_bgr.shape[:2], np.uint8)
    mosaic[0::2, 0::2] = r[0::2, 0::2]
    mosaic[0::2, 1::2] = g[0::2, 1::2]
    mosaic[1::2, 0::2] = g[1::2, 0::2]
    mosaic[1::2, 1::2] = b[1::2, 1::2]
    return mosaic


@pytest.mark.parametrize("flag", ["&bayer", "&bayer=1", "&bayer=true"])
def test_bayer_rggb_demosaics_to_the_right_colours(server: Server, flag: str) -> None:
    scene = np.zeros((60, 90, 3), np.uint8)
    scene[:, :30] = (0, 0, 255)
    scene[:, 30:60] = (0, 255, 0)
    scene[:, 60:] = (255, 0, 0)
    response = raw_image(server, rggb_mosaic(scene).tobytes(), 90, 60, flag)
    assert response.status_code == 200, response.text
    out = decode(response.content).astype(int)
    for column, channel in ((15, 2), (45, 1), (75, 0)):  # red, green, blue bands
        pixel = out[30, column]
        assert pixel[channel] > 200 and np.delete(pixel, channel).max() < 60, (column, pixel)


def test_bayer_needs_one_byte_per_pixel(server: Server) -> None:
    response = raw_image(server, bytes(90 * 60 * 3), 90, 60, "&bayer")
    assert response.status_code == 400
    assert "5400" in response.json()["error"]


@pytest.mark.parametrize(
    ("query", "body", "words"),
    [
        ("width=10&height=10", bytes(299), ["300", "100", "299"]),
        ("height=10", bytes(300), ["width"]),
        ("width=10", bytes(300), ["height"]),
        ("", bytes(300), ["width", "height"]),
        ("width=0&height=10", bytes(0), ["positive"]),
        ("width=-5&height=10", bytes(10), ["positive"]),
        ("width=ten&height=10", bytes(300), ["width", "ten"]),
        ("width=100000&height=100000", bytes(3), ["exceeds"]),
        ("width=1.5&height=2", bytes(3), ["whole number"]),
    ],
)
def test_bad_raw_sizes_are_400_with_a_reason(
    server: Server, query: str, body: bytes, words: list[str]
) -> None:
    response = requests.post(f"{server.url}/analyze_raw_image?{query}", data=body)
    assert response.status_code in (400, 413), response.text
    message = response.json()["error"]
    for word in words:
        assert word in message, message


@pytest.mark.parametrize(
    "body",
    [b"", b"not an image at all", encode(color_card())[:60], b"\x89PNG\r\n\x1a\n" + bytes(40)],
    ids=["empty", "text", "truncated_png", "png_header_only"],
)
def test_undecodable_bytes_are_400(server: Server, body: bytes) -> None:
    response = requests.post(f"{server.url}/analyze_image", data=body)
    assert response.status_code == 400
    assert response.json()["error"]


def png_claiming(width: int, height: int) -> bytes:
    """A tiny, valid-looking PNG whose header claims a huge size (decompression bomb)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = lambda kind, data: (  # noqa: E731
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    )
    idat = zlib.compress(b"\x00" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def test_decompression_bomb_refused_before_allocation(server: Server) -> None:
    response = requests.post(f"{server.url}/analyze_image", data=png_claiming(100_000, 100_000))
    assert response.status_code in (400, 413)
    assert "100000x100000" in response.json()["error"]


def test_body_over_the_limit_is_413(server: Server) -> None:
    response = requests.post(f"{server.url}/analyze_image", data=bytes(9 * 1024 * 1024))
    assert response.status_code == 413
    assert "exceeds the limit" in response.json()["error"]


def test_chunked_body_over_the_limit_is_413(server: Server) -> None:
    def chunks():
        for _ in range(10):
            yield bytes(1024 * 1024)

    response = requests.post(f"{server.url}/analyze_image", data=chunks())
    assert response.status_code == 413


@pytest.mark.parametrize("value", ["json", "IMAGE", "", "heat map"])
def test_invalid_response_type_is_400(server: Server, value: str) -> None:
    response = requests.post(
        f"{server.url}/analyze_image?response_type={value}", data=encode(color_card())
    )
    if value == "":  # empty means the default
        assert response.status_code == 200
    else:
        assert response.status_code == 400
        assert "response_type" in response.json()["error"]


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("psm_does_not_exist_42", ["no shared memory"]),
        ("../etc/passwd", ["invalid"]),
        ("", ["name"]),
    ],
)
def test_bad_shared_memory_names(server: Server, name: str, words: list[str]) -> None:
    response = requests.post(
        f"{server.url}/analyze_image_shared_memory?name={name}&width=4&height=4"
    )
    assert response.status_code == 400
    for word in words:
        assert word in response.json()["error"]


def test_multipart_without_an_image_part(server: Server) -> None:
    response = requests.post(
        f"{server.url}/analyze_image", files={"photo": ("x.png", encode(color_card()))}
    )
    assert response.status_code == 400
    assert "file, image, array" in response.json()["error"]


def test_server_still_answers_after_bad_input(server: Server) -> None:
    assert requests.get(f"{server.url}/ping").status_code == 200
    response = requests.post(f"{server.url}/analyze_image", data=encode(color_card()))
    assert response.status_code == 200 and response.json()["error"] is False
