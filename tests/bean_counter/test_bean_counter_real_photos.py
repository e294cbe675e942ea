"""Real photos (tests/bean_counter/photos/, labels.yaml): exact totals and per-coin counts."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

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
