"""Decoding request bytes: format and size checks before decoding, EXIF orientation, PNG variants."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from runtime.bean_counter.images import ImageRejected, decode_upright, jpeg_is_complete, read_header
from tests.bean_counter.bean_counter_support import (
    encode_png,
    jpeg_claiming_size,
    png_bomb,
    rgba16_bomb,
    scene,
)


def _asymmetric_image() -> np.ndarray:
    """A 60x40 BGR picture whose orientation is unambiguous."""
    image = np.zeros((40, 60, 3), np.uint8)
    image[:, :] = (40, 40, 40)
    image[0:10, 0:20] = (0, 0, 255)  # red block top-left
    image[30:40, 50:60] = (255, 0, 0)  # blue block bottom-right
    image[0:5, 40:60] = (0, 255, 0)  # green bar top-right
    return image


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_as_pillow_does(orientation):
    stored = _asymmetric_image()
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encode_png(stored, exif=exif.tobytes())

    decoded = decode_upright(data)

    expected = ImageOps.exif_transpose(Image.open(io.BytesIO(data)).convert("RGB"))
    assert decoded.pixels.shape[:2] == (expected.height, expected.width)
    assert (decoded.width, decoded.height) == expected.size
    np.testing.assert_array_equal(decoded.pixels[..., ::-1], np.asarray(expected))


def test_large_jpeg_is_decoded_at_reduced_scale_with_orientation():
    upright = np.full((4032, 3024, 3), 220, np.uint8)
    cv2.circle(upright, (600, 3400), 200, (60, 90, 170), -1)  # a disc near the bottom-left
    stored = cv2.rotate(upright, cv2.ROTATE_90_COUNTERCLOCKWISE)  # what the camera stores for orientation 6
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    Image.fromarray(stored[..., ::-1]).save(out, "JPEG", quality=90, exif=exif.tobytes())

    decoded = decode_upright(out.getvalue())

    assert (decoded.width, decoded.height) == (3024, 4032)
    assert decoded.scale == pytest.approx(0.5)
    assert decoded.pixels.shape[:2] == (2016, 1512)
    y, x = np.argwhere(decoded.pixels[..., 0] < 120).mean(axis=0) / decoded.scale
    assert (x, y) == pytest.approx((600, 3400), abs=4)


def test_png_with_alpha_lies_on_white_paper():
    rgba = np.zeros((20, 20, 4), np.uint8)
    rgba[5:15, 5:15] = (10, 20, 30, 255)  # opaque square; the rest is fully transparent black
    out = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(out, "PNG")
    pixels = decode_upright(out.getvalue()).pixels
    assert tuple(pixels[0, 0]) == (255, 255, 255)
    assert tuple(pixels[10, 10]) == (30, 20, 10)  # BGR


def test_sixteen_bit_greyscale_png_becomes_8_bit_bgr():
    grey16 = np.full((10, 12), 40000, np.uint16)
    ok, buffer = cv2.imencode(".png", grey16)
    pixels = decode_upright(buffer.tobytes()).pixels
    assert pixels.dtype == np.uint8 and pixels.shape == (10, 12, 3)
    assert int(pixels[0, 0, 0]) == 40000 >> 8


@pytest.mark.parametrize("data,status,message", [
    (b"", 400, "empty body"),
    (b"hello, world", 415, "not a JPEG or PNG"),
    (b"%PDF-1.7\n" + b"0" * 200, 415, "not a JPEG or PNG"),
])
def test_bad_bytes_are_refused_with_a_status(data, status, message):
    with pytest.raises(ImageRejected) as caught:
        decode_upright(data)
    assert caught.value.status == status
    assert message in caught.value.message


def test_other_image_formats_are_unsupported():
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, "GIF")
    with pytest.raises(ImageRejected) as caught:
        decode_upright(out.getvalue())
    assert caught.value.status == 415
    assert "GIF" in caught.value.message


def test_png_decompression_bomb_is_refused_from_its_header():
    bomb = png_bomb()
    assert len(bomb) < 600_000  # small on the wire, 144 megapixels inside
    with pytest.raises(ImageRejected) as caught:
        read_header(bomb)
    assert caught.value.status == 413
    assert "pixels" in caught.value.message


def test_sixteen_bit_rgba_bomb_under_the_pixel_limit_is_refused_by_the_memory_budget():
    bomb = rgba16_bomb()
    header = read_header(bomb)  # 49,999,041 pixels: within the pixel limit
    assert (header.channels, header.bytes_per_sample) == (4, 2)
    assert header.decoded_bytes() == 7071 * 7071 * (2 * 4 * 2 + 3)
    with pytest.raises(ImageRejected) as caught:
        decode_upright(bomb, budget_mb=256)
    assert caught.value.status == 413
    assert "decodes to 905 MB, over the budget of 256 MB" in caught.value.message


def test_a_large_jpeg_is_decoded_reduced_enough_to_fit_the_budget():
    upright = np.full((3000, 4000, 3), 200, np.uint8)
    ok, data = cv2.imencode(".jpg", upright)
    # 12 MP at 1/2 scale peaks at 2 x 2000x1500x3 = 17 MB; a 10 MB budget needs 1/4 scale
    assert decode_upright(data.tobytes(), budget_mb=256).scale == pytest.approx(0.5)
    assert decode_upright(data.tobytes(), budget_mb=10).scale == pytest.approx(0.25)


def test_a_png_within_the_budget_is_made_8_bit_and_reduced_before_the_detector_sees_it():
    rgba16 = np.zeros((4400, 300, 4), np.uint16)
    rgba16[..., :3] = 40000
    rgba16[:, 150:, 3] = 65535  # right half opaque, left half transparent
    ok, data = cv2.imencode(".png", rgba16)
    decoded = decode_upright(data.tobytes())
    assert decoded.pixels.dtype == np.uint8
    assert decoded.pixels.shape == (2200, 150, 3)  # halved: the long side stays at least 2000
    assert decoded.scale == pytest.approx(0.5)
    assert tuple(decoded.pixels[1000, 10]) == (255, 255, 255)
    assert tuple(decoded.pixels[1000, 140]) == (40000 >> 8,) * 3


def test_alpha_is_blended_in_integers_and_rounded():
    out = io.BytesIO()
    Image.new("RGBA", (4, 4), (0, 100, 255, 128)).save(out, "PNG")  # half transparent
    pixels = decode_upright(out.getvalue()).pixels
    expected = [(c * 128 + 255 * 127 + 127) // 255 for c in (0, 100, 255)]  # RGB onto white
    assert tuple(pixels[0, 0]) == tuple(reversed(expected))


def test_truncated_jpeg_is_refused_not_counted_half_grey():
    data = scene(1000, 1024, 768).encode("jpeg")
    for cut in (len(data) // 2, len(data) - 3):
        with pytest.raises(ImageRejected) as caught:
            decode_upright(data[:cut])
        assert caught.value.status == 422
        assert "truncated" in caught.value.message
    assert jpeg_is_complete(data)


@pytest.mark.parametrize("width,height", [(9000, 9000), (65000, 65000)])
def test_jpeg_announcing_too_many_pixels_is_refused(width, height):
    with pytest.raises(ImageRejected) as caught:
        decode_upright(jpeg_claiming_size(width, height))
    assert caught.value.status == 413


def test_pixel_limit_is_configurable():
    data = encode_png(np.zeros((100, 100, 3), np.uint8))
    assert decode_upright(data, max_pixels=10_000).width == 100
    with pytest.raises(ImageRejected) as caught:
        decode_upright(data, max_pixels=9_999)
    assert caught.value.status == 413


def test_corrupt_image_data_is_unprocessable():
    data = bytearray(encode_png(np.full((64, 64, 3), 128, np.uint8)))
    idat = data.index(b"IDAT")
    data[idat + 4:idat + 40] = b"\x00" * 36  # smash the compressed pixels, keep the header
    with pytest.raises(ImageRejected) as caught:
        decode_upright(bytes(data))
    assert caught.value.status == 422
