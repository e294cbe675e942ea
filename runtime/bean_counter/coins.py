"""Naming coins from what a photo shows of them: their sizes relative to each other, and their metal.

A photo has no ruler, so nothing is known in millimetres; but every coin of one photo is seen at the
same scale (pixels per millimetre), so their diameters' *ratios* are the US Mint's. ``classify``
chooses the scale and the denominations together: each disc costs the squared log-error of its size
against the denomination it is given (in units of the measurement's spread) plus how unlikely its
colour is for that denomination's metal, or a fixed cost when it is taken for no coin at all; the
scale is searched over every disc-as-denomination hypothesis and refined by least squares. No coin
is assumed to be a quarter: three dimes and a nickel are named as such because 21.21 / 17.91 fits.

Metal is read from colour relative to the paper around the coin (``metal_colour``): both are taken
to linear light and the coin's reflectance is divided by the paper's per channel (von Kries white
balance: the paper is white, so whatever colour the light has cancels). The balanced colour in CIE
Lab has a red-green component a* near 0 for the nickel-faced coins and clearly positive for copper,
whose reflectance rises steeply towards red; lightness and yellowness vary with the light's angle
and wear, a* much less.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Denomination:
    name: str
    cents: int
    diameter_mm: float
    metal: str  # "copper" or "silver"


PENNY = Denomination("penny", 1, 19.05, "copper")
NICKEL = Denomination("nickel", 5, 21.21, "silver")
DIME = Denomination("dime", 10, 17.91, "silver")
QUARTER = Denomination("quarter", 25, 24.26, "silver")
DENOMINATIONS = (DIME, PENNY, NICKEL, QUARTER)

SIZE_SPREAD = 0.025
"""Relative spread of a measured diameter within one photo (circle fit, perspective of a hand-held
phone, wear); the closest two denominations of one metal differ by 14 %."""
NOT_A_COIN_COST = 3.5 ** 2
"""Cost of taking a disc for no coin: what a size 3.5 spreads off would cost."""
COPPER_REDNESS = 5.0
"""Balanced a* half-way between the nickel-faced coins (about 0) and copper (8 and more)."""
REDNESS_SPREAD = 1.2
MIN_RECOGNISED = 0.75
"""Share of the discs that must be named for a count to stand (a photo of washers is refused)."""


class CountError(Exception):
    """The photo cannot be counted; the message says why (for the client)."""


class NoCoinsFound(CountError):
    pass


class NothingToCalibrate(CountError):
    pass


@dataclass(frozen=True)
class Disc:
    """A verified coin-shaped disc, in the coordinates of the image it was found in."""

    x: float
    y: float
    radius: float
    redness: float
    """a* of the coin's face white-balanced against the paper around it (CIE Lab units)."""
    edge_support: float
    """Fraction of rays that found the rim on the fitted circle."""

    @property
    def diameter(self) -> float:
        return 2 * self.radius

    @property
    def copper_probability(self) -> float:
        return 1.0 / (1.0 + math.exp(-(self.redness - COPPER_REDNESS) / REDNESS_SPREAD))

    @property
    def metal(self) -> str:
        """'copper', 'silver' or 'unsure' (then size decides)."""
        p = self.copper_probability
        return "copper" if p >= 0.9 else "silver" if p <= 0.1 else "unsure"


@dataclass(frozen=True)
class Coin:
    denomination: Denomination
    x: float
    y: float
    diameter_px: float


@dataclass(frozen=True)
class Count:
    coins: tuple[Coin, ...]
    px_per_mm: float
    size_error: float
    """Root-mean-square relative error of the named coins' sizes at that scale."""
    ignored: int
    """Discs that fit no coin at that scale."""

    @property
    def total_cents(self) -> int:
        return sum(c.denomination.cents for c in self.coins)


def classify(discs: list[Disc]) -> Count:
    """The scale and the denominations that together explain the discs best (see the module's doc).
    Raises NothingToCalibrate when no scale names at least three quarters of them."""
    if not discs:
        raise NoCoinsFound("no coins found in the image")
    diameters = np.array([d.diameter for d in discs])
    sizes_mm = np.array([k.diameter_mm for k in DENOMINATIONS])
    copper = np.array([d.copper_probability for d in discs]).clip(1e-6, 1 - 1e-6)
    is_copper = np.array([k.metal == "copper" for k in DENOMINATIONS])
    colour_cost = -2 * np.log(np.where(is_copper[None, :], copper[:, None], 1 - copper[:, None]))

    def assign(scales: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per scale: the total cost and each disc's denomination (-1: no coin)."""
        size_cost = (np.log(diameters[None, :, None] / (scales[:, None, None] * sizes_mm[None, None, :]))
                     / SIZE_SPREAD) ** 2
        cost = size_cost + colour_cost[None]
        choice = cost.argmin(axis=2)
        best = np.take_along_axis(cost, choice[..., None], axis=2)[..., 0]
        return np.minimum(best, NOT_A_COIN_COST).sum(axis=1), np.where(best <= NOT_A_COIN_COST, choice, -1)

    # every disc taken as every denomination, then each scale refined by least squares over the coins
    # it names (and those named again)
    scales = (diameters[:, None] / sizes_mm[None, :]).ravel()
    for _ in range(3):
        _, choice = assign(scales)
        named = choice >= 0
        logs = np.where(named, np.log(diameters[None, :] / sizes_mm[np.maximum(choice, 0)]), 0.0)
        scales = np.where(named.any(axis=1), np.exp(logs.sum(axis=1) / np.maximum(named.sum(axis=1), 1)), scales)
    totals, choices = assign(scales)
    # equal costs (coins all of one size and metal): the largest coin as the largest denomination,
    # as the original app's rule (its quarter) would have it
    largest = np.where(choices >= 0, sizes_mm[np.maximum(choices, 0)], 0.0).max(axis=1)
    best = int(np.lexsort((-largest, np.round(totals, 6)))[0])
    best_scale, best_choice = float(scales[best]), choices[best]

    named = best_choice >= 0
    if named.sum() < max(1, math.ceil(MIN_RECOGNISED * len(discs))):
        raise NothingToCalibrate(
            "nothing to calibrate with: the objects' sizes do not fit the ratios of US coin diameters "
            "(penny 19.05 mm, nickel 21.21, dime 17.91, quarter 24.26) at any one scale")
    errors = np.log(diameters[named] / (best_scale * sizes_mm[best_choice[named]]))
    coins = tuple(Coin(DENOMINATIONS[k], d.x, d.y, d.diameter) for d, k in zip(discs, best_choice) if k >= 0)
    return Count(coins=coins, px_per_mm=best_scale, size_error=float(np.sqrt(np.mean(errors ** 2))),
                 ignored=int((~named).sum()))


# --- colour ---------------------------------------------------------------------------------------

_SRGB_TO_XYZ = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])


def linear_light(bgr: np.ndarray) -> np.ndarray:
    """sRGB-encoded 8-bit values to linear light (0-1)."""
    c = np.asarray(bgr, np.float64) / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def balanced_redness(face_bgr: np.ndarray, paper_bgr: np.ndarray) -> float:
    """CIE a* of the face's colour after white balance on the paper: medians of each, in linear light,
    the face's divided by the paper's per channel, so the paper maps to the white point."""
    face = np.median(linear_light(face_bgr).reshape(-1, 3), axis=0)
    paper = np.median(linear_light(paper_bgr).reshape(-1, 3), axis=0)
    reflectance = (face / np.maximum(paper, 1e-4))[::-1]  # RGB
    xyz = _SRGB_TO_XYZ @ reflectance / (_SRGB_TO_XYZ @ np.ones(3))
    fx, fy = (_lab_f(v) for v in xyz[:2])
    return float(500 * (fx - fy))


def _lab_f(t: float) -> float:
    return math.copysign(abs(t) ** (1 / 3), t) if t > (6 / 29) ** 3 else t / (3 * (6 / 29) ** 2) + 4 / 29
