"""The photo as the detector saw it: each coin circled where it was fitted and labelled with its name."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from .coins import Coin

MAX_LONG_SIDE = 1600
COLOURS = {"penny": (40, 90, 230), "nickel": (200, 120, 0), "dime": (40, 170, 40), "quarter": (180, 40, 170)}  # BGR


def annotated_png(image: np.ndarray, coins: Sequence[Coin]) -> bytes:
    """PNG of ``image`` (BGR, the coins' coordinates), at most MAX_LONG_SIDE pixels long, with every coin's
    fitted circle and a label (its name and value) on it."""
    scale = min(1.0, MAX_LONG_SIDE / max(image.shape[:2]))
    canvas = image if scale == 1.0 else cv2.resize(
        image, (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale))),
        interpolation=cv2.INTER_AREA)
    canvas = np.ascontiguousarray(canvas)
    line = max(2, round(max(canvas.shape[:2]) / 400))
    for coin in coins:
        colour = COLOURS[coin.denomination.name]
        centre = (round(coin.x * scale * 16), round(coin.y * scale * 16))  # 4 fractional bits: sub-pixel circles
        radius = round(coin.diameter_px * scale / 2 * 16)
        cv2.circle(canvas, centre, radius, colour, line, cv2.LINE_AA, shift=4)
        label = f"{coin.denomination.name} {coin.denomination.cents}c"
        font_scale = max(0.35, coin.diameter_px * scale / 220)
        (width, height), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, font_scale, 1)
        x, y = round(coin.x * scale - width / 2), round(coin.y * scale + height / 2)
        cv2.rectangle(canvas, (x - 3, y - height - 4), (x + width + 3, y + 5), (255, 255, 255), cv2.FILLED)
        cv2.putText(canvas, label, (x, y), cv2.FONT_HERSHEY_SIMPLEX, font_scale, colour, max(1, line // 2),
                    cv2.LINE_AA)
    ok, png = cv2.imencode(".png", canvas, [cv2.IMWRITE_PNG_COMPRESSION, 3])
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return png.tobytes()
