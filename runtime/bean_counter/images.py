"""Request bytes to upright BGR pixels, refusing bad input before it costs memory or time.

The header is read first (Pillow reads only the header on open; a PNG's IHDR gives its bit depth and
channels): the format must be JPEG or PNG, the pixel count within the limit, and the memory the decode
takes (width x height x channels x bytes per sample, twice as OpenCV's peak holds it, plus the 8-bit BGR
copy) within the budget, so a decompression bomb -- a few hundred kB that would decode to gigabytes -- is
refused (413) before any pixel is decoded. A JPEG must end (its marker segments are walked to the
end-of-image marker), so a truncated upload is refused (422) instead of counted half grey. OpenCV then
decodes: a large JPEG at 1/2, 1/4 or 1/8 scale directly by libjpeg, as the budget and the detector's needs
allow; a PNG at full size, then made 8-bit BGR in integers (alpha blended onto white paper) strip by strip
and reduced by area averaging, all before any floating-point work. The EXIF orientation is applied here, so
coordinates refer to the image as a viewer shows it.
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from .contract import DEFAULT_DECODE_BUDGET_MB, DEFAULT_MAX_PIXELS

DECODE_LONG_SIDE = 2000  # decode at the smallest scale still at least this long (the detector needs less)
STRIP_ROWS = 128  # rows converted to 8-bit BGR at a time
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
    channels: int  # samples per pixel as decoded (a palette PNG counts as BGRA)
    bytes_per_sample: int

    def decoded_bytes(self, reduction: int = 1) -> int:
        """Peak memory of the decode at 1/reduction scale: OpenCV holds two copies of the decoded samples at
        its peak (measured for JPEG and PNG), and a PNG that is not 8-bit BGR needs its BGR copy besides."""
        pixels = -(-self.width // reduction) * -(-self.height // reduction)
        if self.format == "JPEG":  # libjpeg decodes into 8-bit BGR
            return 2 * pixels * 3
        samples = pixels * self.channels * self.bytes_per_sample
        return 2 * samples + (0 if (self.channels, self.bytes_per_sample) == (3, 1) else pixels * 3)


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
                mode = picture.mode
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
    if kind == "PNG":
        bit_depth, colour_type = data[24], data[25]  # IHDR, which Pillow has just parsed
        channels, sample_bytes = {0: 1, 2: 3, 3: 4, 4: 2, 6: 4}.get(colour_type, 4), 2 if bit_depth == 16 else 1
    else:
        channels, sample_bytes = {"L": 1, "CMYK": 4}.get(mode, 3), 1
    return Header(kind, width, height, orientation, channels, sample_bytes)


def _orientation(picture: Image.Image) -> int:
    """The EXIF orientation, read without decoding: a JPEG's APP1 segment, or a PNG's eXIf chunk when it comes
    before the pixels (Pillow's ``getexif`` on a PNG would decode the whole image to look for one after them)."""
    try:
        if picture.format == "PNG":
            exif = Image.Exif()
            if "exif" in picture.info:
                exif.load(picture.info["exif"])
        else:
            exif = picture.getexif()
        value = exif.get(EXIF_ORIENTATION, 1)
    except Exception:  # a broken EXIF block is no reason to refuse the photo
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def decode_upright(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS,
                   budget_mb: int = DEFAULT_DECODE_BUDGET_MB) -> DecodedImage:
    header = read_header(data, max_pixels)
    budget = budget_mb * 1024 * 1024
    buffer = np.frombuffer(data, np.uint8)
    if header.format == "JPEG":
        if not jpeg_is_complete(data):
            raise ImageRejected(422, "JPEG data is truncated: it ends before its end-of-image marker")
        reduction = 1
        while reduction < 8 and (max(header.width, header.height) / (reduction * 2) >= DECODE_LONG_SIDE
                                 or header.decoded_bytes(reduction) > budget):
            reduction *= 2
        _within_budget(header, reduction, budget)
        flags = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4,
                 8: cv2.IMREAD_REDUCED_COLOR_8}[reduction]
        pixels = _imdecode(buffer, flags | cv2.IMREAD_IGNORE_ORIENTATION)
    else:
        _within_budget(header, 1, budget)
        pixels = _reduced(_to_bgr8(_imdecode(buffer, cv2.IMREAD_UNCHANGED | cv2.IMREAD_IGNORE_ORIENTATION)))
    scale = pixels.shape[1] / header.width
    if abs(pixels.shape[0] / header.height - scale) > 0.01 + 1 / header.height:
        raise ImageRejected(422, "image data does not match its header")
    pixels = apply_orientation(pixels, header.orientation)
    width, height = (header.height, header.width) if header.orientation >= 5 else (header.width, header.height)
    return DecodedImage(pixels=pixels, width=width, height=height, scale=scale, format=header.format)


def _within_budget(header: Header, reduction: int, budget: int) -> None:
    needed = header.decoded_bytes(reduction)
    if needed > budget:
        raise ImageRejected(413, f"a {header.width}x{header.height} {header.format} with {header.channels} channels "
                                 f"of {8 * header.bytes_per_sample} bits decodes to {needed // 2 ** 20} MB, over the "
                                 f"budget of {budget // 2 ** 20} MB: send a JPEG or a smaller image")


# A marker after entropy-coded data: 0xFF followed by neither a stuffed 0x00, a restart marker nor a fill byte.
_NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


def jpeg_is_complete(data: bytes) -> bool:
    """Whether the JPEG's marker segments run to its end-of-image marker (walking the segments, so an EXIF
    thumbnail's own end marker does not count)."""
    pos = 2  # after SOI
    while pos + 2 <= len(data):
        if data[pos] != 0xFF:
            return False
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
        elif marker == 0xD9:
            return True
        elif 0xD0 <= marker <= 0xD7 or marker == 0x01:
            pos += 2
        else:
            pos += 2 + int.from_bytes(data[pos + 2:pos + 4], "big")
            if marker == 0xDA:  # start of scan: entropy-coded data up to the next marker
                found = _NEXT_MARKER.search(data, pos)
                if found is None:
                    return False
                pos = found.start()
    return False


def _imdecode(buffer: np.ndarray, flags: int) -> np.ndarray:
    try:
        pixels = cv2.imdecode(buffer, flags)
    except cv2.error:
        pixels = None
    if pixels is None or pixels.size == 0:
        raise ImageRejected(422, "image data is corrupt or truncated and could not be decoded")
    return pixels


def _to_bgr8(pixels: np.ndarray) -> np.ndarray:
    """PNGs come grey, 16-bit or with alpha: make them 8-bit BGR in integers, a strip of rows at a time,
    transparent parts on white paper."""
    if pixels.dtype not in (np.uint8, np.uint16):
        raise ImageRejected(422, f"unsupported PNG sample type {pixels.dtype}")
    if pixels.dtype == np.uint8 and pixels.ndim == 3 and pixels.shape[2] == 3:
        return pixels
    out = np.empty((*pixels.shape[:2], 3), np.uint8)
    for top in range(0, pixels.shape[0], STRIP_ROWS):
        strip = pixels[top:top + STRIP_ROWS]
        if strip.dtype == np.uint16:
            strip = (strip >> 8).astype(np.uint8)
        if strip.ndim == 2:
            strip = cv2.cvtColor(strip, cv2.COLOR_GRAY2BGR)
        elif strip.shape[2] == 2:  # grey and alpha
            strip = np.dstack([strip[..., 0]] * 3 + [strip[..., 1]])
        if strip.shape[2] == 4:
            alpha = strip[..., 3:4].astype(np.uint16)
            # c * a + 255 * (255 - a) <= 65025: exact in 16 bits, rounded to nearest
            strip = ((strip[..., :3] * alpha + 255 * (255 - alpha) + 127) // 255).astype(np.uint8)
        out[top:top + STRIP_ROWS] = strip
    return out


def _reduced(pixels: np.ndarray) -> np.ndarray:
    """Halved by area averaging (as libjpeg's reduced decode would) while still twice DECODE_LONG_SIDE."""
    factor = 1
    while max(pixels.shape[:2]) / (factor * 2) >= DECODE_LONG_SIDE:
        factor *= 2
    if factor == 1:
        return pixels
    size = (-(-pixels.shape[1] // factor), -(-pixels.shape[0] // factor))
    return cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)


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
