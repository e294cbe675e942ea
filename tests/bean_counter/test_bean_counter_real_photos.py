"""Real photos (tests/bean_counter/photos/, labels.yaml): exact totals and per-coin counts."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from runtime.bean_counter.detector import count_coins
from runtime.bean_counter.images import decode_upright

PHOTOS = Path(__file__).parent / "photos"
LABELS = yaml.safe_load((PHOTOS / "labels.yaml").read_text())


@pytest.mark.parametrize("name", sorted(LABELS))
def test_real_photo_is_counted_coin_by_coin(name):
    label = LABELS[name]
    image = decode_upright((PHOTOS / name).read_bytes())

    result = count_coins(image.pixels)

    assert dict(Counter(c.denomination.name for c in result.coins)) == label["coins"]
    assert result.total_cents == round(label["total"] * 100)
    assert result.ignored == 0
    assert result.size_error < 0.04  # the coins' sizes agree with the Mint's ratios within a few percent


# Crops of the phone photo (rows and columns of the 3024x4032 original): the coins wholly inside each, by
# their place in the photo; a coin the crop's edge cuts is no coin. Two have no quarter to take a scale from.
CROPS = [
    ((2300, 4032, 0, 2000), {"dime": 1, "penny": 2}),  # a nickel cut by the top edge
    ((1080, 3360, 1120, 2000), {"dime": 2, "nickel": 1}),  # no quarter, no penny: the ratio 21.21 / 17.91 names them
    ((0, 2600, 0, 3024), {"dime": 1, "quarter": 1, "nickel": 1, "penny": 1}),  # a dime cut by the bottom edge
    ((1000, 3400, 1000, 3024), {"dime": 3, "quarter": 1, "nickel": 1}),  # a penny cut by the left edge
]


@pytest.mark.parametrize("rows_and_columns,coins", CROPS)
def test_crops_of_a_real_photo_are_counted_with_or_without_a_quarter(rows_and_columns, coins):
    y0, y1, x0, x1 = rows_and_columns
    photo = cv2.imdecode(np.frombuffer((PHOTOS / "63_cents.jpg").read_bytes(), np.uint8), cv2.IMREAD_COLOR)
    crop = cv2.imencode(".jpg", photo[y0:y1, x0:x1], [cv2.IMWRITE_JPEG_QUALITY, 92])[1].tobytes()

    result = count_coins(decode_upright(crop).pixels)

    assert dict(Counter(c.denomination.name for c in result.coins)) == coins
