"""Find US coins in a photo of coins on a plain light background and add up their value.

Pipeline:
1. Work on a copy scaled to at most WORK_LONG_SIDE pixels; convert to CIE Lab.
2. Model the background (paper under uneven light) with a robust low-order surface fit, refined
   locally by normalised convolution, and measure every pixel's colour distance from it.
3. Segment with hysteresis thresholds (Otsu, floored by the noise level), close small gaps and
   fill holes (shiny coins can match the paper in places).
4. Peel discs off each blob: the distance transform's maximum is the largest inscribed circle,
   which separates touching coins and ignores cast shadows; erase it and repeat.
5. Refine every disc on the full-resolution image: sample rays, take the outermost sharp edge on
   each, fit a circle with RANSAC and least squares, and verify that it is a coin.
6. Read each coin's metal from its colour relative to the local background (white balance).
7. Calibrate pixels to millimetres (largest silver coin taken as a quarter, as the original app
   did, with fall-backs) and name each coin from its size and metal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

WORK_LONG_SIDE = 1024
MIN_RADIUS_WORK_PX = 6.0
CHROMA_WEIGHT = 2.0  # colour differences count more than lightness ones (shadows only change lightness)
RAYS = 96


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

SIZE_TOLERANCE = 0.09  # relative; the nearest silver sizes differ by 13-16 %


class CountError(Exception):
    """The photo cannot be counted; the message says why (for the client)."""


class NoCoinsFound(CountError):
    pass


class NothingToCalibrate(CountError):
    pass


@dataclass(frozen=True)
class Disc:
    """A verified coin-shaped disc, in the coordinates of the image given to find_discs."""

    x: float
    y: float
    radius: float
    chroma: float  # colour saturation relative to the local background, CIE Lab units
    hue_deg: float
    edge_support: float  # fraction of rays that found the rim on the fitted circle

    @property
    def diameter(self) -> float:
        return 2 * self.radius

    @property
    def metal(self) -> str:
        """'copper', 'silver' or 'unsure' (then size decides)."""
        if self.chroma >= 11.0 and 15.0 <= self.hue_deg <= 100.0:
            return "copper"
        if self.chroma <= 7.0 or not (0.0 <= self.hue_deg <= 110.0):
            return "silver"
        return "unsure"


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
    reference: str  # the denomination that set the scale
    ignored: int  # discs that fit no coin at that scale

    @property
    def total_cents(self) -> int:
        return sum(c.denomination.cents for c in self.coins)


def count_coins(image: np.ndarray) -> Count:
    """Count the coins in a BGR image. Raises NoCoinsFound or NothingToCalibrate."""
    discs = find_discs(image)
    if not discs:
        raise NoCoinsFound("no coins found in the image")
    return classify(discs)


# --- calibration and naming -------------------------------------------------------------------

def _candidates(metal: str) -> tuple[Denomination, ...]:
    if metal == "unsure":
        return DENOMINATIONS
    return tuple(d for d in DENOMINATIONS if d.metal == metal)


def _name(disc: Disc, px_per_mm: float) -> Denomination | None:
    size_mm = disc.diameter / px_per_mm
    best = min(_candidates(disc.metal), key=lambda d: abs(math.log(size_mm / d.diameter_mm)))
    if abs(math.log(size_mm / best.diameter_mm)) <= math.log(1 + SIZE_TOLERANCE):
        return best
    return None


def classify(discs: list[Disc]) -> Count:
    """Choose the scale that names the most discs, preferring the seed's rule: the largest silver
    disc is a quarter. Other silver discs are tried as the quarter next (the largest may be a
    stray object), then pennies (unambiguous by colour) as the reference."""
    hypotheses: list[tuple[str, float]] = []
    silver_first = sorted((d for d in discs if d.metal != "copper"), key=lambda d: -d.radius)
    hypotheses += [("quarter", d.diameter / QUARTER.diameter_mm) for d in silver_first]
    pennies = [d.diameter for d in discs if d.metal == "copper"]
    if pennies:
        hypotheses.append(("penny", float(np.median(pennies)) / PENNY.diameter_mm))

    best: tuple[int, int, str, float, list] | None = None
    for order, (reference, px_per_mm) in enumerate(hypotheses):
        named = [(disc, _name(disc, px_per_mm)) for disc in discs]
        recognised = [(disc, d) for disc, d in named if d is not None]
        # the reference coin itself must be recognised as what it was assumed to be
        if reference == "quarter" and not any(d is QUARTER for _, d in recognised):
            continue
        key = (len(recognised), -order)
        if best is None or key > best[:2]:
            best = (len(recognised), -order, reference, px_per_mm, recognised)

    needed = max(1, math.ceil(0.75 * len(discs)))
    if best is None or best[0] < needed:
        raise NothingToCalibrate(
            "nothing to calibrate with: no coin could be taken as a quarter (24.26 mm) or a penny "
            "(19.05 mm) so that the other coins' sizes fit US coins"
        )
    _, _, reference, px_per_mm, recognised = best
    coins = tuple(Coin(d, disc.x, disc.y, disc.diameter) for disc, d in recognised)
    return Count(coins=coins, px_per_mm=px_per_mm, reference=reference, ignored=len(discs) - len(coins))


# --- detection --------------------------------------------------------------------------------

def find_discs(image: np.ndarray) -> list[Disc]:
    """Coin-like discs in a BGR uint8 image, in its pixel coordinates."""
    height, width = image.shape[:2]
    scale = min(1.0, WORK_LONG_SIDE / max(height, width))
    if scale < 1.0:
        work = cv2.resize(image, (max(1, round(width * scale)), max(1, round(height * scale))),
                          interpolation=cv2.INTER_AREA)
        scale_x, scale_y = work.shape[1] / width, work.shape[0] / height
    else:
        work, scale_x, scale_y = image, 1.0, 1.0
    work_scale = math.sqrt(scale_x * scale_y)

    lab = cv2.cvtColor(work, cv2.COLOR_BGR2Lab).astype(np.float32)
    background = _background(lab)
    difference = lab - background
    distance = np.sqrt(difference[..., 0] ** 2
                       + CHROMA_WEIGHT * (difference[..., 1] ** 2 + difference[..., 2] ** 2))
    mask, low_threshold = _segment(distance)
    background_like = distance < low_threshold

    discs: list[Disc] = []
    for cx, cy, r0 in _peel(mask, MIN_RADIUS_WORK_PX, max_radius=0.5 * min(work.shape[:2])):
        circle = _refine(image, cx / scale_x, cy / scale_y, r0 / work_scale)
        if circle is None:
            yield_back = None
        else:
            x, y, radius, support = circle
            wx, wy, wr = x * scale_x, y * scale_y, radius * work_scale
            if _is_coin(mask, background_like, wx, wy, wr, r0):
                chroma, hue = _colour(difference, wx, wy, wr)
                discs.append(Disc(x, y, radius, chroma, hue, support))
                yield_back = (wx, wy, wr)
            else:
                yield_back = None
        _peel.erase = yield_back  # type: ignore[attr-defined]
    return _drop_duplicates(discs)


def _background(lab: np.ndarray) -> np.ndarray:
    """Per-pixel Lab of the bare background: a robust quadratic surface, then a local smooth fill."""
    height, width = lab.shape[:2]
    grid_long = 64
    grid_scale = grid_long / max(height, width)
    gw, gh = max(4, round(width * grid_scale)), max(4, round(height * grid_scale))
    small = cv2.resize(lab, (gw, gh), interpolation=cv2.INTER_AREA)
    ys, xs = np.mgrid[0:gh, 0:gw].astype(np.float32)
    xs = xs / gw * 2 - 1
    ys = ys / gh * 2 - 1
    design = np.stack([np.ones_like(xs), xs, ys, xs * xs, xs * ys, ys * ys], axis=-1).reshape(-1, 6)
    values = small.reshape(-1, 3)
    inlier = np.ones(len(values), bool)
    weights = np.array([1.0, CHROMA_WEIGHT, CHROMA_WEIGHT], np.float32)
    for _ in range(5):
        coefficients, *_ = np.linalg.lstsq(design[inlier], values[inlier], rcond=None)
        residual = np.sqrt(((values - design @ coefficients) ** 2 * weights).sum(axis=1))
        spread = 1.4826 * np.median(residual[inlier]) + 1.0
        inlier = residual < 3.0 * spread
        if inlier.sum() < 12:
            inlier[:] = True
            break
    surface = (design @ coefficients).reshape(gh, gw, 3).astype(np.float32)

    # Local correction, so a shade that is no quadratic (a phone's shadow) is still background.
    keep = cv2.erode(inlier.reshape(gh, gw).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(np.float32)
    sigma = max(1.5, grid_long / 14)
    residual_map = (small - surface) * keep[..., None]
    smooth = cv2.GaussianBlur(residual_map, (0, 0), sigma)
    support = cv2.GaussianBlur(keep, (0, 0), sigma)
    correction = np.where(support[..., None] > 0.05, smooth / np.maximum(support, 1e-3)[..., None], 0.0)
    small_background = (surface + correction).astype(np.float32)
    return cv2.resize(small_background, (width, height), interpolation=cv2.INTER_LINEAR)


def _segment(distance: np.ndarray) -> tuple[np.ndarray, float]:
    """Foreground mask from the distance to background, and the low threshold used."""
    noise = float(np.median(distance))
    floor = max(10.0, 4.0 * noise)
    clipped = np.clip(distance, 0, 255).astype(np.uint8)
    otsu, _ = cv2.threshold(clipped, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    high = max(float(otsu), floor)
    low = max(0.5 * high, 0.7 * floor)
    weak = (distance > low).astype(np.uint8)
    strong = distance > high
    count, labels = cv2.connectedComponents(weak, connectivity=8)
    keep = np.zeros(count, bool)
    keep[np.unique(labels[strong])] = True
    keep[0] = False
    mask = keep[labels].astype(np.uint8) * 255
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5)))
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    filled = np.zeros_like(mask)
    cv2.drawContours(filled, contours, -1, 255, thickness=cv2.FILLED)
    return filled, low


def _peel(mask: np.ndarray, min_radius: float, max_radius: float):
    """Yield (x, y, inscribed radius) of discs, largest first within each blob. After each yield the
    caller sets _peel.erase to the accepted circle (x, y, r) or None; that area is removed."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    for label in range(1, count):
        x0, y0, w, h, area = stats[label]
        if area < math.pi * min_radius * min_radius:
            continue
        pad = 2
        blob = np.zeros((h + 2 * pad, w + 2 * pad), np.uint8)
        blob[pad:pad + h, pad:pad + w] = (labels[y0:y0 + h, x0:x0 + w] == label)
        largest = 0.0
        for _ in range(60):
            dist = cv2.distanceTransform(blob, cv2.DIST_L2, 5)
            _, peak, _, (px, py) = cv2.minMaxLoc(dist)
            if peak < min_radius or peak < 0.45 * largest:
                break
            if peak > max_radius:
                cv2.circle(blob, (px, py), int(peak) + 1, 0, -1)
                continue
            _peel.erase = None  # type: ignore[attr-defined]
            yield x0 + px - pad, y0 + py - pad, float(peak)
            accepted = _peel.erase  # type: ignore[attr-defined]
            if accepted is not None:
                ax, ay, ar = accepted
                largest = max(largest, ar)
                cv2.circle(blob, (round(ax - x0 + pad), round(ay - y0 + pad)), int(math.ceil(ar * 1.06 + 1.5)), 0, -1)
            else:
                cv2.circle(blob, (px, py), int(math.ceil(peak)), 0, -1)
