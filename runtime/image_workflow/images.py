"""The image operations of the workflow, on bytes, with Pillow: inspect, fill to a size, filter, optimise.

``inspect`` reads only the header (format and size), so validation is cheap and a decompression bomb is refused
before it is decoded. The other operations decode the whole image; one that cannot be decoded (truncated,
corrupt) raises ``CorruptImage``, an error the workflow does not retry. Each output keeps the upload's format.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Optional

from PIL import Image, ImageFilter, ImageOps, UnidentifiedImageError

if __package__:
    from . import contract
else:
    import contract

# Decoding is bounded by our own pixel limit (checked in ``inspect``), not by Pillow's warning threshold.
Image.MAX_IMAGE_PIXELS = None


class CorruptImage(Exception):
    """The bytes claim an image format but do not decode; retrying cannot help."""


@dataclass(frozen=True)
class Inspection:
    is_valid: bool
    format: Optional[str]
    width: int
    height: int
    reason: str


@dataclass(frozen=True)
class Output:
    data: bytes
    width: int
    height: int
    content_type: str


def inspect(data: bytes, max_pixels: int) -> Inspection:
    """Format and size from the header; why not, for bytes the workflow will not process."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind, (width, height) = image.format, image.size
    except UnidentifiedImageError:
        return Inspection(False, None, 0, 0, "not an image (no format Pillow recognises)")
    except (OSError, ValueError, SyntaxError) as error:
        return Inspection(False, None, 0, 0, f"unreadable image header: {error}")
    if kind not in contract.FORMATS:
        return Inspection(False, kind, width, height, f"format {kind} is not one of {', '.join(contract.FORMATS)}")
    if width * height > max_pixels:
        return Inspection(False, kind, width, height, f"{width}x{height} is more than {max_pixels} pixels")
    return Inspection(True, kind, width, height, "")


def _decode(data: bytes) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise CorruptImage(f"the image does not decode: {error}") from None
    return ImageOps.exif_transpose(image)  # as a viewer shows it: EXIF orientation applied


def _encode(image: Image.Image, kind: str, optimise: bool = False) -> Output:
    buffer = io.BytesIO()
    if kind == "JPEG":
        image = image.convert("RGB")
        image.save(buffer, "JPEG", quality=contract.JPEG_QUALITY, optimize=optimise, progressive=optimise)
    elif kind == "PNG":
        image.save(buffer, "PNG", optimize=optimise)
    else:
        image.save(buffer, kind, quality=contract.JPEG_QUALITY, method=6 if optimise else 4)
    return Output(buffer.getvalue(), image.width, image.height, Image.MIME[kind])


def fill(data: bytes, kind: str, width: int, height: int) -> Output:
    """Exactly ``width`` x ``height``: cropped to that aspect around the centre, then resampled with LANCZOS."""
    image = _decode(data)
    return _encode(ImageOps.fit(image, (width, height), method=Image.Resampling.LANCZOS), kind)


def filtered(data: bytes, kind: str) -> Output:
    """Sharpened, then contrast stretched (1% of the darkest and lightest pixels clipped)."""
    image = _decode(data)
    if image.mode not in ("RGB", "L"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    sharpened = image.filter(ImageFilter.SHARPEN)
    if sharpened.mode == "RGBA":
        rgb = ImageOps.autocontrast(sharpened.convert("RGB"), cutoff=1)
        rgb.putalpha(sharpened.getchannel("A"))
        return _encode(rgb, kind)
    return _encode(ImageOps.autocontrast(sharpened, cutoff=1), kind)


def optimised(data: bytes, kind: str) -> Output:
    """Re-encoded for size: optimised Huffman tables and progressive JPEG, zlib-optimised PNG, WebP method 6."""
    return _encode(_decode(data), kind, optimise=True)
