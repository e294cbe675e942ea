"""Find US coins in a photo of coins on a plain light background and add up their value.

Pipeline:
1. Convert to CIE Lab; segment on a copy at most WORK_LONG_SIDE pixels long.
2. Model the background (paper under uneven light): a robust quadratic surface fitted on a coarse
   grid, corrected locally (a median wider than a coin, then normalised convolution of the cells
   that look like paper), so gradients and broad shades are background. Measure each pixel's
   colour distance from it (chroma weighted: shadows change lightness only).
3. Segment with hysteresis thresholds (Otsu, floored by the noise level), close gaps, fill holes,
   and fill the convex hull of blobs whose hull is round (a shiny coin matching the paper leaves
   only arcs of its rim).
4. Offer the distance transform's peaks (inscribed circles) as coin candidates, biggest first;
   cut each accepted coin out and look again, so touching coins come apart and shadows are left
   over as crescents.
5. Refine each candidate on the full-resolution image: edge strength along rays from the centre,
   a RANSAC circle, the paper's colour on a ring just outside it, then a consensus radius over the
   rays (the outermost clear one: a raised rim makes an inner circle too) and a trimmed
   least-squares circle through each ray's half-way crossing from coin to paper. Verify it.
6. Read each coin's metal from its colour white-balanced against that paper: copper or silver.
7. Calibrate pixels to millimetres (the largest silver coin taken as a quarter, as the original
   app did, with fall-backs) and name each coin from its size and metal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

WORK_LONG_SIDE = 800
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
    image_lab = cv2.cvtColor(image, cv2.COLOR_BGR2Lab)
    scale = min(1.0, WORK_LONG_SIDE / max(height, width))
    if scale < 1.0:
        work_lab = cv2.resize(image_lab, (max(1, round(width * scale)), max(1, round(height * scale))),
                              interpolation=cv2.INTER_AREA)
        scale_x, scale_y = work_lab.shape[1] / width, work_lab.shape[0] / height
    else:
        work_lab, scale_x, scale_y = image_lab, 1.0, 1.0
    work_scale = math.sqrt(scale_x * scale_y)

    lab = work_lab.astype(np.float32)
    background = _background(lab)
    difference = lab - background
    distance = np.sqrt(difference[..., 0] ** 2
                       + CHROMA_WEIGHT * (difference[..., 1] ** 2 + difference[..., 2] ** 2))
    mask, low_threshold = _segment(distance)
    background_like = distance < low_threshold

    discs: list[Disc] = []

    def verify(cx: float, cy: float, r0: float) -> tuple[float, float, float] | None:
        circle = _refine(image_lab, cx / scale_x, cy / scale_y, r0 / work_scale)
        if circle is None:
            return None
        x, y, radius, support, paper = circle
        if any(math.hypot(x - d.x, y - d.y) < 0.5 * max(radius, d.radius) for d in discs):
            return None  # found a coin that is already counted
        wx, wy, wr = x * scale_x, y * scale_y, radius * work_scale
        if not _is_coin(mask, background_like, wx, wy, wr, r0, support):
            return None
        chroma, hue = _colour(work_lab, paper, wx, wy, wr)
        discs.append(Disc(x, y, radius, chroma, hue, support))
        return wx, wy, wr

    _peel(mask, MIN_RADIUS_WORK_PX, 0.5 * min(work_lab.shape[:2]), verify)
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
    # Start from the lighter half: the paper is light and covers most of the photo, while coins
    # and shadows are mostly darker, and a close-up's coins would otherwise drag the fit.
    inlier = np.ones(len(values), bool)
    weights = np.array([1.0, CHROMA_WEIGHT, CHROMA_WEIGHT], np.float32)
    for _ in range(5):
        chosen = design[inlier]
        coefficients = np.linalg.solve(chosen.T @ chosen + np.eye(6) * 1e-6, chosen.T @ values[inlier])
        residual = np.sqrt(((values - design @ coefficients) ** 2 * weights).sum(axis=1))
        spread = 1.4826 * np.median(residual[inlier]) + 1.0
        inlier = residual < 3.0 * spread
        if inlier.sum() < 12:
            inlier[:] = True
            break
    surface = (design @ coefficients).reshape(gh, gw, 3).astype(np.float32)

    # Local correction, so a shade that is no quadratic (a phone's shadow) is background too: fill
    # from the cells that look like background, and re-judge the cells against that fill a few
    # times; coins, small and sharp, stay outliers while a broad soft shade is taken in.
    sigma = max(1.5, grid_long / 14)
    # A median over windows wider than a coin follows a broad shade and ignores the coins.
    window = 2 * (grid_long // 12) + 1
    offset = np.clip(small - surface + 128.0, 0, 255).astype(np.uint8)
    small_background = surface + cv2.medianBlur(offset, window).astype(np.float32) - 128.0
    off = np.sqrt((((small - small_background) ** 2) * weights).sum(axis=2))
    spread = 1.4826 * float(np.median(off)) + 1.0
    keep_cells = off < 3.0 * spread
    for _ in range(2):
        keep = cv2.erode(keep_cells.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(np.float32)
        residual_map = (small - surface) * keep[..., None]
        smooth = cv2.GaussianBlur(residual_map, (0, 0), sigma)
        support = cv2.GaussianBlur(keep, (0, 0), sigma)
        correction = np.where(support[..., None] > 0.02, smooth / np.maximum(support, 1e-3)[..., None], 0.0)
        small_background = (surface + correction).astype(np.float32)
        off = np.sqrt((((small - small_background) ** 2) * weights).sum(axis=2))
        spread = 1.4826 * float(np.median(off[keep_cells])) + 1.0
        keep_cells = off < 3.0 * spread
    return cv2.resize(small_background, (width, height), interpolation=cv2.INTER_LINEAR)


def _segment(distance: np.ndarray) -> tuple[np.ndarray, float]:
    """Foreground mask from the distance to background, and the low threshold used."""
    noise = float(np.median(distance[::3, ::3]))
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
    # A shiny coin can match the paper over its face and part of its rim, leaving an open crescent
    # or broken arcs: where a blob (arcs joined by a wider closing) has a round convex hull, the
    # blob is one coin, so fill the hull.
    size = 2 * max(2, round(0.01 * max(mask.shape))) + 1
    joined = cv2.morphologyEx(filled, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)))
    for contour in cv2.findContours(joined, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)[0]:
        hull = cv2.convexHull(contour)
        hull_area = cv2.contourArea(hull)
        _, enclosing_radius = cv2.minEnclosingCircle(hull)
        if hull_area < 50 or hull_area < 0.85 * math.pi * enclosing_radius * enclosing_radius:
            continue
        x, y, w, h = cv2.boundingRect(hull)
        inside = np.zeros((h, w), np.uint8)
        cv2.drawContours(inside, [hull - np.array([x, y])], -1, 1, thickness=cv2.FILLED)
        if np.count_nonzero(filled[y:y + h, x:x + w][inside > 0]) < 0.95 * np.count_nonzero(inside):
            cv2.drawContours(filled, [hull], -1, 255, thickness=cv2.FILLED)
    return filled, low


def _peel(mask: np.ndarray, min_radius: float, max_radius: float, verify) -> None:
    """Offer verify(x, y, r) the centres of the blobs' inscribed circles: the peaks of the distance
    transform, each peak once, biggest first. verify returns the accepted coin (x, y, r) or None;
    an accepted coin is cut out of the blob and the peaks are found again, so touching coins come
    apart one by one, and a cast shadow is left over as a thin crescent."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    for label in range(1, count):
        x0, y0, w, h, area = stats[label]
        if area < math.pi * min_radius * min_radius:
            continue
        pad = 2
        blob = np.zeros((h + 2 * pad, w + 2 * pad), np.uint8)
        blob[pad:pad + h, pad:pad + w] = labels[y0:y0 + h, x0:x0 + w] == label
        largest = 0.0
        tried: list[tuple[int, int, float]] = []
        offers = 0
        while offers < 30:
            dist = cv2.distanceTransform(blob, cv2.DIST_L2, 5)
            fresh = [(px, py, value) for px, py, value in _peaks(dist, max(min_radius, 0.45 * largest))
                     if not any(math.hypot(px - tx, py - ty) < 0.3 * max(value, tv) for tx, ty, tv in tried)]
            if not fresh:
                break
            for px, py, value in fresh:
                if offers >= 30 or not blob[py, px] or value < 0.45 * largest:
                    continue
                offers += 1
                accepted = None if value > max_radius else verify(x0 + px - pad, y0 + py - pad, value)
                if accepted is None:
                    # Not a coin centre (say, the middle of a cluster): hollow it out, so the
                    # coins around it get peaks of their own.
                    tried.append((px, py, value))
                    cv2.circle(blob, (px, py), max(1, int(0.3 * value)), 0, -1)
                    continue
                ax, ay, ar = accepted
                largest = max(largest, ar)
                cv2.circle(blob, (round(ax - x0 + pad), round(ay - y0 + pad)), int(math.ceil(ar * 1.06 + 1.5)), 0, -1)


def _peaks(dist: np.ndarray, floor: float) -> list[tuple[int, int, float]]:
    """Local maxima of a distance transform at least `floor` high, strongest first, thinned so no
    two are closer than the larger one's value (one per inscribed circle)."""
    maxima = (dist >= cv2.dilate(dist, np.ones((3, 3), np.uint8))) & (dist >= floor)
    ys, xs = np.nonzero(maxima)
    order = np.argsort(-dist[ys, xs])
    kept: list[tuple[int, int, float]] = []
    for index in order:
        x, y, value = int(xs[index]), int(ys[index]), float(dist[ys[index], xs[index]])
        if all(math.hypot(x - kx, y - ky) >= 0.9 * max(value, kv) for kx, ky, kv in kept):
            kept.append((x, y, value))
    return kept


def _refine(image_lab: np.ndarray, cx: float, cy: float, r0: float):
    """(x, y, radius, support, paper Lab) of the coin's outline near the guess, or None. First a
    wide RANSAC search on plain edge strength around the guess (an inscribed circle, off where a
    shadow or a neighbour shaped the blob); then the paper colour on a ring just outside that
    circle; then two precise profile fits that know which way is paper."""
    rays = _EdgeRays.sample(image_lab, None, cx, cy, r0, 0.7, 1.6)
    fit = rays and rays.ransac_circle()
    if fit is None:  # the guess may be a small circle off-centre in a coin that a neighbour bit into
        rays = _EdgeRays.sample(image_lab, None, cx, cy, r0, 0.6, 2.6)
        fit = rays and rays.ransac_circle(centre_slack=1.2)
    paper = None
    for inner, outer in ((0.8, 1.3), (0.9, 1.15)):
        if fit is None:
            return None
        x, y, radius, _ = fit
        paper = _ring_paper(image_lab, x, y, radius)
        rays = _EdgeRays.sample(image_lab, paper, x, y, radius, inner, outer)
        fit = rays and rays.profile_circle()
    return None if fit is None else (*fit, paper)


def _ring_paper(image_lab: np.ndarray, x: float, y: float, r: float) -> np.ndarray:
    """Lab of the paper right around a coin: the median on a ring just outside it (a neighbour or
    a shadow covers less than half of it). Local, so right under any shade."""
    height, width = image_lab.shape[:2]
    theta = np.linspace(0, 2 * math.pi, 64, endpoint=False)
    radii = np.array([1.2, 1.35, 1.5]) * r
    xs = np.clip(np.round(x + np.cos(theta)[:, None] * radii[None, :]), 0, width - 1).astype(int).ravel()
    ys = np.clip(np.round(y + np.sin(theta)[:, None] * radii[None, :]), 0, height - 1).astype(int).ravel()
    return np.median(image_lab[ys, xs].astype(np.float32), axis=0)


@dataclass
class _EdgeRays:
    """Edge strength sampled along rays from a centre, in a region of interest resampled so that the
    coin is at most ~150 px in radius. Strength is the drop of the colour distance from the paper
    going outwards: the silhouette (coin to paper) is positive, relief edges go either way."""

    strength: np.ndarray  # (RAYS, samples)
    radii: np.ndarray  # radius of each strength column, ROI pixels
    distance: np.ndarray  # colour distance from the paper at the same columns
    theta: np.ndarray
    centre: tuple[float, float, float]  # guess x, y, r in ROI pixels
    inner: float
    outer: float
    origin: tuple[int, int]  # ROI corner in image pixels
    scale: tuple[float, float]  # ROI pixels per image pixel

    STEP = 0.5  # ROI pixels between samples along a ray
    SPAN = 2  # samples either side for the central difference (2 px)

    @classmethod
    def sample(cls, image_lab, paper, cx, cy, r0, inner, outer) -> _EdgeRays | None:
        height, width = image_lab.shape[:2]
        reach = outer * r0 + 4
        x0, y0 = max(0, int(cx - reach)), max(0, int(cy - reach))
        x1, y1 = min(width, int(math.ceil(cx + reach)) + 1), min(height, int(math.ceil(cy + reach)) + 1)
        if x1 - x0 < 8 or y1 - y0 < 8 or r0 < 2:
            return None
        roi = image_lab[y0:y1, x0:x1]
        shrink = min(1.0, 150.0 / r0)
        if shrink < 1.0:
            roi = cv2.resize(roi, (max(8, round(roi.shape[1] * shrink)), max(8, round(roi.shape[0] * shrink))),
                             interpolation=cv2.INTER_AREA)
        sx, sy = roi.shape[1] / (x1 - x0), roi.shape[0] / (y1 - y0)
        lab = cv2.GaussianBlur(roi.astype(np.float32), (0, 0), 0.7)
        ccx, ccy, cr = (cx - x0) * sx, (cy - y0) * sy, r0 * math.sqrt(sx * sy)
        radii = np.arange(min(inner * cr, cr - 5), max(outer * cr, cr + 7), cls.STEP, dtype=np.float32)
        if len(radii) < 4 * cls.SPAN + 4:
            return None
        theta = np.linspace(0, 2 * math.pi, RAYS, endpoint=False, dtype=np.float32)
        map_x = (ccx + np.cos(theta)[:, None] * radii[None, :]).astype(np.float32)
        map_y = (ccy + np.sin(theta)[:, None] * radii[None, :]).astype(np.float32)
        samples = cv2.remap(lab, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        if paper is None:  # plain edge strength, either way
            delta = samples[:, 2 * cls.SPAN:] - samples[:, :-2 * cls.SPAN]
            strength = np.sqrt(delta[..., 0] ** 2 + CHROMA_WEIGHT * (delta[..., 1] ** 2 + delta[..., 2] ** 2))
            distance = samples[..., 0]
        else:
            off_paper = samples - np.asarray(paper, np.float32)
            distance = np.sqrt(off_paper[..., 0] ** 2 + CHROMA_WEIGHT * (off_paper[..., 1] ** 2 + off_paper[..., 2] ** 2))
            strength = distance[:, :-2 * cls.SPAN] - distance[:, 2 * cls.SPAN:]
        return cls(strength, radii[cls.SPAN:-cls.SPAN], distance[:, cls.SPAN:-cls.SPAN], theta, (ccx, ccy, cr), inner, outer, (x0, y0), (sx, sy))

    def _to_image(self, x, y, r, support):
        (x0, y0), (sx, sy) = self.origin, self.scale
        return x0 + x / sx, y0 + y / sy, r / math.sqrt(sx * sy), support

    def _points(self, rays: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sub-sample edge positions (parabola through the peak) as points, and their strength."""
        s = self.strength
        cols = np.clip(cols, 1, s.shape[1] - 2)
        left, mid, right = s[rays, cols - 1], s[rays, cols], s[rays, cols + 1]
        curvature = left - 2 * mid + right
        offset = np.where(curvature < 0, 0.5 * (left - right) / np.where(curvature < 0, curvature, -1.0), 0.0)
        r_edge = self.radii[cols] + np.clip(offset, -0.5, 0.5) * self.STEP
        ccx, ccy, _ = self.centre
        points = np.stack([ccx + np.cos(self.theta[rays]) * r_edge, ccy + np.sin(self.theta[rays]) * r_edge], axis=1)
        return points, mid

    def ransac_circle(self, hypotheses: int = 160, centre_slack: float = 0.5):
        """Circle through the most (strength-weighted) candidate edges: every local maximum of at
        least 40 % of its ray's strongest is a candidate."""
        s = self.strength
        centre = s[:, 1:-1]
        ray_max = s.max(axis=1, keepdims=True)
        is_peak = (centre >= s[:, :-2]) & (centre > s[:, 2:]) & (centre >= 0.4 * ray_max) & (centre >= 9.0)
        rays, cols = np.nonzero(is_peak)
        if len(rays) < 12:
            return None
        points, strength = self._points(rays, cols + 1)
        weights = strength / ray_max[rays, 0]
        gx, gy, gr = self.centre
        rng = np.random.default_rng(len(points))  # deterministic for a given input
        picks = rng.integers(0, len(points), size=(hypotheses, 3))
        ux, uy, ur, ok = _circle_through(points[picks[:, 0]], points[picks[:, 1]], points[picks[:, 2]])
        ok &= (ur > self.inner * gr) & (ur < self.outer * gr) & (np.hypot(ux - gx, uy - gy) < centre_slack * gr)
        if not ok.any():
            return None
        ux, uy, ur = ux[ok], uy[ok], ur[ok]
        tolerance = np.maximum(0.75, 0.012 * ur)
        residual = np.abs(np.hypot(points[None, :, 0] - ux[:, None], points[None, :, 1] - uy[:, None]) - ur[:, None])
        best = int(np.argmax(((residual < tolerance[:, None]) * weights[None, :]).sum(axis=1)))
        x, y, r = ux[best], uy[best], ur[best]
        for _ in range(3):
            inliers = np.abs(np.hypot(points[:, 0] - x, points[:, 1] - y) - r) < max(1.1, 0.018 * r)
            if inliers.sum() < 8:
                return None
            x, y, r = _least_squares_circle(points[inliers])
        return self._to_image(x, y, r, len(np.unique(rays[inliers])) / RAYS)

    def profile_circle(self):
        """First the radius at which the outward colour drop is strong on most rays (a percentile
        over rays: the relief's edges and a cast shadow each cover only part of the circle; the
        outermost such radius, as a raised rim gives a second, inner one). Then on
        each ray, near that radius, the outermost point where the colour distance from the paper
        crosses half-way between the coin's edge and what lies just outside (paper or shadow): that
        is the silhouette of a blurred step, whatever its contrast. Last a trimmed least-squares
        circle through those points."""
        consensus = np.percentile(self.strength, 50, axis=0)
        top = float(consensus.max())
        if top < 4.0:
            return None
        # The rim's inner boundary can be a concentric circle as strong as the outline: take the
        # outermost clear peak, one separated from the strongest by a dip (a soft shadow's halo
        # only makes a shoulder on the outline's peak).
        strongest = int(np.argmax(consensus))
        peaks = np.nonzero((consensus[1:-1] >= consensus[:-2]) & (consensus[1:-1] >= consensus[2:])
                           & (consensus[1:-1] >= max(4.0, 0.3 * top)))[0] + 1
        column = strongest
        for peak in sorted(peaks[peaks > strongest], reverse=True):
            if consensus[strongest:peak].min() <= 0.5 * consensus[peak]:
                column = int(peak)
                break
        r_c = float(self.radii[column])
        band = max(3, int(round(0.08 * r_c / self.STEP)))
        lo, hi = max(0, column - band), min(self.distance.shape[1] - 1, column + band)
        outside = self.distance[:, hi:min(self.distance.shape[1], hi + band)]
        if outside.shape[1] == 0:
            return None
        near = self.distance[:, lo:hi + 1]
        peak = near.max(axis=1)
        beyond = np.median(outside, axis=1)
        level = beyond + 0.6 * (peak - beyond)
        above = near >= level[:, None]
        # outermost sample still above the level, followed by one below it
        crossing = np.where(above[:, :-1] & ~above[:, 1:], np.arange(near.shape[1] - 1)[None, :], -1).max(axis=1)
        rays = np.nonzero((crossing >= 0) & (peak - beyond >= 6.0))[0]
        if len(rays) < RAYS // 3:
            return None
        j = crossing[rays]
        d0, d1 = near[rays, j], near[rays, j + 1]
        fraction = np.clip((d0 - level[rays]) / np.maximum(d0 - d1, 1e-6), 0, 1)
        r_edge = self.radii[lo + j] + fraction * self.STEP
        ccx, ccy, _ = self.centre
        points = np.stack([ccx + np.cos(self.theta[rays]) * r_edge, ccy + np.sin(self.theta[rays]) * r_edge], axis=1)
        x, y, r = _least_squares_circle(points)
        for _ in range(3):
            residual = np.abs(np.hypot(points[:, 0] - x, points[:, 1] - y) - r)
            keep = residual <= max(0.6, 2.5 * 1.4826 * float(np.median(residual)))
            if keep.sum() < RAYS // 3:
                return None
            x, y, r = _least_squares_circle(points[keep])
        return self._to_image(x, y, r, keep.sum() / RAYS)


def _circle_through(p1: np.ndarray, p2: np.ndarray, p3: np.ndarray):
    ax, ay = p1[:, 0], p1[:, 1]
    bx, by = p2[:, 0], p2[:, 1]
    cx, cy = p3[:, 0], p3[:, 1]
    d = 2 * (ax * (by - cy) + bx * (cy - ay) + cx * (ay - by))
    ok = np.abs(d) > 1e-6
    d = np.where(ok, d, 1.0)
    a2, b2, c2 = ax * ax + ay * ay, bx * bx + by * by, cx * cx + cy * cy
    ux = (a2 * (by - cy) + b2 * (cy - ay) + c2 * (ay - by)) / d
    uy = (a2 * (cx - bx) + b2 * (ax - cx) + c2 * (bx - ax)) / d
    return ux, uy, np.hypot(ax - ux, ay - uy), ok


def _least_squares_circle(points: np.ndarray):
    """Algebraic (Kasa) circle fit: x^2 + y^2 = a x + b y + c, by its 3x3 normal equations."""
    x, y = points[:, 0].astype(np.float64), points[:, 1].astype(np.float64)
    mx, my = x.mean(), y.mean()
    x, y = x - mx, y - my  # centred for numerical stability
    z = x * x + y * y
    design = np.stack([x, y, np.ones_like(x)], axis=1)
    a, b, c = np.linalg.solve(design.T @ design + np.eye(3) * 1e-9, design.T @ z)
    ux, uy = a / 2, b / 2
    return ux + mx, uy + my, math.sqrt(max(c + ux * ux + uy * uy, 0.0))


def _is_coin(mask: np.ndarray, background_like: np.ndarray, x: float, y: float, r: float, r0: float,
             support: float) -> bool:
    """A fitted circle is a coin if it fills its blob, stands inside the frame, and either has some
    background around it or a rim found all round (a circle fitted by chance inside a large
    non-coin area has neither)."""
    height, width = mask.shape
    if r < 0.6 * r0 or r < MIN_RADIUS_WORK_PX:
        return False
    slack = 0.03 * r
    if x - r < -slack or y - r < -slack or x + r > width - 1 + slack or y + r > height - 1 + slack:
        return False
    x0, y0 = max(0, int(x - 1.45 * r)), max(0, int(y - 1.45 * r))
    x1, y1 = min(width, int(x + 1.45 * r) + 1), min(height, int(y + 1.45 * r) + 1)
    ys, xs = np.mgrid[y0:y1, x0:x1]
    rho = np.hypot(xs - x, ys - y) / r
    inside = rho < 0.9
    ring = (rho > 1.15) & (rho < 1.4)
    if not inside.any() or not ring.any():
        return False
    filled = (mask[y0:y1, x0:x1][inside] > 0).mean()
    clear = background_like[y0:y1, x0:x1][ring].mean()
    return bool(filled >= 0.85 and (clear >= 0.2 or support >= 0.8))


def _colour(work_lab: np.ndarray, paper_lab: np.ndarray, x: float, y: float, r: float) -> tuple[float, float]:
    """(chroma, hue in degrees) of the coin's face after white-balancing by the paper around it."""
    height, width = work_lab.shape[:2]
    inner = 0.7 * r
    x0, y0 = max(0, int(x - inner)), max(0, int(y - inner))
    x1, y1 = min(width, int(x + inner) + 1), min(height, int(y + inner) + 1)
    ys, xs = np.mgrid[y0:y1, x0:x1]
    inside = np.hypot(xs - x, ys - y) < inner
    face = work_lab[y0:y1, x0:x1][inside]
    if len(face) == 0:
        return 0.0, 0.0
    pair = np.stack([np.median(face, axis=0), np.asarray(paper_lab, np.float64)])
    coin_bgr, paper_bgr = cv2.cvtColor(np.clip(np.round(pair), 0, 255).astype(np.uint8).reshape(2, 1, 3),
                                       cv2.COLOR_Lab2BGR).reshape(2, 3).astype(np.float32)
    balanced = np.clip(coin_bgr * (200.0 / np.maximum(paper_bgr, 1.0)), 0, 255)
    lab = cv2.cvtColor(balanced.astype(np.uint8).reshape(1, 1, 3), cv2.COLOR_BGR2Lab).reshape(3).astype(np.float32)
    a, b = lab[1] - 128.0, lab[2] - 128.0
    return float(math.hypot(a, b)), float(math.degrees(math.atan2(b, a)))


def _drop_duplicates(discs: list[Disc]) -> list[Disc]:
    kept: list[Disc] = []
    for disc in sorted(discs, key=lambda d: -d.edge_support):
        if all(math.hypot(disc.x - k.x, disc.y - k.y) > 0.5 * max(disc.radius, k.radius) for k in kept):
            kept.append(disc)
    return kept
