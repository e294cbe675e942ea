"""The coin detector on known renders, and the calibration rules on measured discs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmarks.coin_renders import render_scene
from runtime.bean_counter import detector
from runtime.bean_counter.detector import Disc, NoCoinsFound, NothingToCalibrate, classify, count_coins
from runtime.bean_counter.images import decode_upright
from tests.bean_counter.bean_counter_support import KNOWN_RENDERS, blank_paper_jpeg, scene, uncalibratable_jpeg


def _matched(truth, coins):
    """Each true coin paired with the detected coin at its centre (or None)."""
    pairs = []
    for t in truth:
        near = [c for c in coins if math.hypot(c.x - t.center[0], c.y - t.center[1]) < t.diameter_px / 4]
        pairs.append((t, near[0] if near else None))
    return pairs


@pytest.mark.parametrize("seed,width,height,touching", KNOWN_RENDERS)
def test_known_render_counts_to_its_exact_total(seed, width, height, touching):
    photo = scene(seed, width, height, touching)
    image = decode_upright(photo.encode("jpeg"))

    result = count_coins(image.pixels)

    assert result.total_cents == photo.total_cents
    for truth, found in _matched(photo.coins, result.coins):
        assert found is not None, f"missed the {truth.denomination} at {truth.center}"
        assert found.denomination.name == truth.denomination
        assert found.diameter_px == pytest.approx(truth.diameter_px, rel=0.06)
    assert len(result.coins) == len(photo.coins)


@pytest.mark.parametrize("params", [
    dict(seed=4, width=800, height=600, denominations=["quarter", "penny"], quarter_fraction=0.42),  # close-up
    dict(seed=3, width=800, height=600, denominations=["quarter", "penny", "dime", "nickel", "quarter"],
         quarter_fraction=0.05),  # coins about 25 px across
    dict(seed=1004, width=1280, height=960, table_edge=True),  # the table shows past the paper
    dict(seed=1009, width=800, height=600, table_edge=True),
], ids=["close-up", "tiny-coins", "table-edge-1", "table-edge-2"])
def test_hard_framings_count_exactly(params):
    photo = render_scene(**params)
    result = count_coins(decode_upright(photo.encode("jpeg")).pixels)
    assert result.total_cents == photo.total_cents
    assert len(result.coins) == len(photo.coins)


def test_scale_is_measured_from_the_coins_together():
    photo = scene(1000, 1024, 768)
    result = count_coins(decode_upright(photo.encode("jpeg")).pixels)
    true_px_per_mm = next(c.diameter_px for c in photo.coins if c.denomination == "quarter") / 24.26
    assert result.px_per_mm == pytest.approx(true_px_per_mm, rel=0.03)
    assert result.size_error < 0.03


def test_copper_and_silver_are_told_apart_by_colour():
    photo = scene(1010, 640, 480)
    discs = detector.find_discs(decode_upright(photo.encode("jpeg")).pixels)
    for truth, disc in _matched(photo.coins, discs):
        assert disc is not None
        expected = "copper" if truth.denomination == "penny" else "silver"
        assert disc.metal == expected, (truth, disc)


def test_blank_paper_has_no_coins():
    with pytest.raises(NoCoinsFound, match="no coins found"):
        count_coins(decode_upright(blank_paper_jpeg()).pixels)


def test_coins_whose_sizes_fit_no_us_coin_cannot_be_calibrated():
    with pytest.raises(NothingToCalibrate, match="nothing to calibrate with"):
        count_coins(decode_upright(uncalibratable_jpeg()).pixels)


def test_uniform_grey_and_pure_noise_have_no_coins():
    rng = np.random.default_rng(3)
    for image in (np.full((300, 400, 3), 128, np.uint8), rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)):
        with pytest.raises(NoCoinsFound):
            count_coins(image)


# --- calibration rules, on measured discs --------------------------------------------------------

SILVER = dict(redness=0.5, edge_support=1.0)
COPPER = dict(redness=12.0, edge_support=1.0)
UNSURE = dict(redness=5.0, edge_support=1.0)
PX_PER_MM = 5.0


def disc(diameter_mm: float, metal: dict, x: float = 0.0) -> Disc:
    return Disc(x=x, y=0.0, radius=diameter_mm * PX_PER_MM / 2, **metal)


def names(count) -> list[str]:
    return sorted(c.denomination.name for c in count.coins)


def test_all_four_coins_are_named_by_their_size_ratios():
    result = classify([disc(24.26, SILVER), disc(21.21, SILVER, 1), disc(17.91, SILVER, 2), disc(19.05, COPPER, 3)])
    assert names(result) == ["dime", "nickel", "penny", "quarter"]
    assert result.total_cents == 41
    assert result.px_per_mm == pytest.approx(PX_PER_MM)
    assert result.size_error == pytest.approx(0, abs=1e-9)


def test_without_a_quarter_the_largest_coin_is_not_taken_for_one():
    # Three dimes and a nickel: as a quarter the nickel would make the dimes 20.5 mm (no coin); the
    # ratio 21.21 / 17.91 names them all.
    result = classify([disc(17.91, SILVER), disc(17.91, SILVER, 1), disc(17.91, SILVER, 2), disc(21.21, SILVER, 3)])
    assert names(result) == ["dime", "dime", "dime", "nickel"]
    assert result.total_cents == 35


def test_a_nickel_and_a_dime_are_named_by_their_ratio_wherever_the_scale_is():
    for scale in (0.5, 1.0, 3.7):
        discs = [Disc(0, 0, 21.21 * scale, **SILVER), Disc(50, 0, 17.91 * scale, **SILVER)]
        assert names(classify(discs)) == ["dime", "nickel"]


def test_a_few_percent_of_measurement_error_still_names_every_coin():
    rng = np.random.default_rng(5)
    sizes = [(24.26, SILVER), (24.26, SILVER), (21.21, SILVER), (17.91, SILVER), (19.05, COPPER), (19.05, COPPER)]
    for _ in range(20):
        discs = [disc(mm * (1 + rng.uniform(-0.03, 0.03)), metal, i) for i, (mm, metal) in enumerate(sizes)]
        assert classify(discs).total_cents == 67


def test_a_penny_and_a_dime_of_nearly_equal_size_are_told_apart_by_colour():
    result = classify([disc(24.26, SILVER), disc(18.5, COPPER, 1), disc(18.5, SILVER, 2)])
    assert names(result) == ["dime", "penny", "quarter"]


def test_only_a_penny_and_a_dime():
    result = classify([disc(19.05, COPPER), disc(17.91, SILVER, 1)])
    assert names(result) == ["dime", "penny"]


def test_pennies_alone_are_counted_by_their_colour():
    result = classify([disc(19.05, COPPER), disc(19.05, COPPER, 1), disc(19.2, COPPER, 2)])
    assert result.total_cents == 3


def test_coins_all_of_one_size_and_metal_are_taken_as_the_largest_denomination():
    # Nothing in the photo tells three equal silver coins' size; the original app's rule decides.
    assert names(classify([disc(17.91, SILVER), disc(17.91, SILVER, 1)])) == ["quarter", "quarter"]


def test_a_stray_silver_object_larger_than_a_quarter_is_ignored():
    result = classify([disc(40.0, SILVER), disc(24.26, SILVER, 1), disc(21.21, SILVER, 2), disc(17.91, SILVER, 3),
                       disc(24.26, SILVER, 4)])
    assert names(result) == ["dime", "nickel", "quarter", "quarter"]
    assert result.ignored == 1


def test_sizes_that_fit_no_calibration_are_refused():
    with pytest.raises(NothingToCalibrate):
        classify([disc(17.91, SILVER), disc(36.0, COPPER, 1)])


def test_no_discs_are_no_coins():
    with pytest.raises(NoCoinsFound):
        classify([])


def test_unsure_colour_lets_size_decide():
    result = classify([disc(24.26, SILVER), disc(19.05, UNSURE, 1), disc(21.21, UNSURE, 2)])
    assert names(result) == ["nickel", "penny", "quarter"]


# --- metal from colour, white-balanced against the paper ---------------------------------------------

def _photographed(reflectance_rgb, light_rgb) -> np.ndarray:
    """What a camera (sRGB encoding) records of a surface under a coloured light: BGR uint8."""
    linear = np.clip(np.asarray(reflectance_rgb) * np.asarray(light_rgb), 0, 1)
    encoded = np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)
    return np.round(encoded[::-1] * 255).astype(np.uint8).reshape(1, 3)


@pytest.mark.parametrize("light", [(1.0, 1.0, 1.0), (1.0, 0.78, 0.52), (0.62, 0.8, 1.0)],
                         ids=["daylight", "tungsten", "shade"])
def test_copper_is_red_and_nickel_neutral_under_any_light(light):
    paper = _photographed((0.85, 0.85, 0.85), light)
    copper = detector.balanced_redness(_photographed((0.45, 0.22, 0.12), light), paper)
    nickel = detector.balanced_redness(_photographed((0.40, 0.39, 0.36), light), paper)
    assert copper > 10 and Disc(0, 0, 1, copper, 1).metal == "copper"
    assert abs(nickel) < 2 and Disc(0, 0, 1, nickel, 1).metal == "silver"
