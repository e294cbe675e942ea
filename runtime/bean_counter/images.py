"""Request bytes to upright BGR pixels, refusing bad input before it costs memory.

The header is read first (Pillow reads only the header on open): the format must be JPEG or PNG
and the pixel count must be within the limit, so a decompression bomb is refused before any pixel
is decoded. OpenCV then decodes; a large JPEG is decoded at 1/2, 1/4 or 1/8 scale directly by
libjpeg (much faster, and still more detail than the detector needs). The EXIF orientation is
applied here, so coordinates refer to the image as a viewer shows it.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

DEFAULT_MAX_PIXELS = 50_000_000  # a 48 MP phone photo fits
DECODE_LONG_SIDE = 2000  # decode JPEGs at the smallest libjpeg scale still at least this long
EXIF_ORIENTATION = 0x0112
ACCEPTED_FORMATS = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG"}  # MPO: multi-picture JPEG from phones


class ImageRejected(Exception):
    """A client's image that cannot be used: carries the HTTP status to answer with."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class DecodedImage:
    pixels: np.ndarray  # BGR uint8, upright
    width: int  # upright size of the original image
    height: int
    scale: float  # pixels.shape / original size (< 1 when decoded at reduced scale)
    format: str


@dataclass(frozen=True)
class Header:
    format: str
    width: int  # as stored, before orientation
    height: int
    orientation: int


def read_header(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> Header:
    if not data:
        raise ImageRejected(400, "empty body: send the bytes of a JPEG or PNG image as the request body")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as picture:
                kind = ACCEPTED_FORMATS.get(picture.format or "")
                width, height = picture.size
                orientation = _orientation(picture) if kind else 1
    except Image.DecompressionBombError:  # Pillow's own guard trips first on absurd sizes
        raise ImageRejected(413, f"image has more than {2 * Image.MAX_IMAGE_PIXELS} pixels, over the limit of "
                                 f"{max_pixels} pixels") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ImageRejected(415, "body is not a JPEG or PNG image") from None
    if kind is None:
        raise ImageRejected(415, f"unsupported image format {picture.format}: send a JPEG or PNG image")
    if width <= 0 or height <= 0:
        raise ImageRejected(422, "image has no pixels")
    if width * height > max_pixels:
        raise ImageRejected(
            413, f"image is {width}x{height} = {width * height} pixels, over the limit of {max_pixels} pixels")
    return Header(kind, width, height, orientation)


def _orientation(picture: Image.Image) -> int:
    try:
        value = picture.getexif().get(EXIF_ORIENTATION, 1)
    except Exception:  # a broken EXIF block is no reason to refuse the photo
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def decode_upright(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> DecodedImage:
    header = read_header(data, max_pixels)
    buffer = np.frombuffer(data, np.uint8)
    if header.format == "JPEG":
        reduction = 1
        while reduction < 8 and max(header.width, header.height) / (reduction * 2) >= DECODE_LONG_SIDE:
            reduction *= 2
        flags = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4,
                 8: cv2.IMREAD_REDUCED_COLOR_8}[reduction]
        pixels = _imdecode(buffer, flags | cv2.IMREAD_IGNORE_ORIENTATION)
    else:
        pixels = _to_bgr8(_imdecode(buffer, cv2.IMREAD_UNCHANGED | cv2.IMREAD_IGNORE_ORIENTATION))
    scale = pixels.shape[1] / header.width
    if abs(pixels.shape[0] / header.height - scale) > 0.01 + 1 / header.height:
        raise ImageRejected(422, "image data does not match its header")
    pixels = apply_orientation(pixels, header.orientation)
    width, height = (header.height, header.width) if header.orientation >= 5 else (header.width, header.height)
    return DecodedImage(pixels=pixels, width=width, height=height, scale=scale, format=header.format)


def _imdecode(buffer: np.ndarray, flags: int) -> np.ndarray:
    try:
        pixels = cv2.imdecode(buffer, flags)
    except cv2.error:
        pixels = None
    if pixels is None or pixels.size == 0:
        raise ImageRejected(422, "image data is corrupt or truncated and could not be decoded")
    return pixels


def _to_bgr8(pixels: np.ndarray) -> np.ndarray:
    """PNGs come grey, 16-bit or with alpha: make them 8-bit BGR, transparent parts on white paper."""
    if pixels.dtype == np.uint16:
        pixels = (pixels >> 8).astype(np.uint8)
    elif pixels.dtype != np.uint8:
        raise ImageRejected(422, f"unsupported PNG sample type {pixels.dtype}")
    if pixels.ndim == 2:
        return cv2.cvtColor(pixels, cv2.COLOR_GRAY2BGR)
    if pixels.shape[2] == 4:
        alpha = pixels[..., 3:4].astype(np.float32) / 255.0
        return (pixels[..., :3].astype(np.float32) * alpha + 255.0 * (1 - alpha)).astype(np.uint8)
    return pixels


def apply_orientation(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Turn stored pixels upright as the EXIF orientation tag (1-8) says."""
    if orientation == 2:
        return cv2.flip(pixels, 1)
    if orientation == 3:
        return cv2.rotate(pixels, cv2.ROTATE_180)
    if orientation == 4:
        return cv2.flip(pixels, 0)
    if orientation == 5:
        return cv2.transpose(pixels)
    if orientation == 6:
        return cv2.rotate(pixels, cv2.ROTATE_90_CLOCKWISE)
    if orientation == 7:
        return cv2.flip(cv2.transpose(pixels), -1)
    if orientation == 8:
        return cv2.rotate(pixels, cv2.ROTATE_90_COUNTERCLOCKWISE)
    return pixels
