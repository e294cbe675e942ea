"""Find US coins in a photo of coins on a plain light background and add up their value.

Pipeline:
1. Convert to CIE Lab; segment on a copy at most WORK_LONG_SIDE pixels long.
2. Model the background (paper under uneven light): cells of a coarse grid with no edge in them and
   not enclosed by edges are paper; a robust quadratic surface through them, corrected locally by
   normalised convolution of those cells, so gradients, shades and shadows are background and every
   coin is filled in from the paper around it. Measure each pixel's colour distance from it (chroma
   weighted: shadows change lightness only).
3. Segment with hysteresis thresholds (Otsu, floored by the noise level), close gaps, fill holes,
   and fill the convex hull of blobs whose hull is round (a shiny coin matching the paper leaves
   only arcs of its rim).
4. Offer the distance transform's peaks (inscribed circles) as coin candidates, biggest first;
   cut each accepted coin out and look again, so touching coins come apart and shadows are left
   over as crescents.
5. Fit each candidate's circle to sub-pixel precision on the full-resolution image (``circles``) and
   verify it.
6. Read each coin's metal from its colour white-balanced against the paper around it, and name the
   coins by their size ratios and metal together (``coins.classify``).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from .circles import CHROMA_WEIGHT, refine
from .coins import (  # noqa: F401 (the names callers use)
    Count,
    CountError,
    Disc,
    NoCoinsFound,
    NothingToCalibrate,
    balanced_redness,
    classify,
)

WORK_LONG_SIDE = 800
MIN_RADIUS_WORK_PX = 6.0


def count_coins(image: np.ndarray) -> Count:
    """Count the coins in a BGR image. Raises NoCoinsFound or NothingToCalibrate."""
    return classify(find_discs(image))


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
        # A blob of touching coins (and the paper pockets between them) can hold a larger inscribed circle
        # than the coin whose centre it is near: a smaller guess finds that coin's own rim.
        circle = (refine(image_lab, cx / scale_x, cy / scale_y, r0 / work_scale)
                  or refine(image_lab, cx / scale_x, cy / scale_y, 0.75 * r0 / work_scale))
        if circle is None:
            return None
        x, y, radius, support, paper = circle
        if any(math.hypot(x - d.x, y - d.y) < 0.5 * max(radius, d.radius) for d in discs):
            return None  # found a coin that is already counted
        wx, wy, wr = x * scale_x, y * scale_y, radius * work_scale
        if not _is_coin(mask, background_like, wx, wy, wr, r0, support):
            return None
        discs.append(Disc(x, y, radius, _redness(image, x, y, radius), support))
        return wx, wy, wr

    _peel(mask, MIN_RADIUS_WORK_PX, 0.5 * min(work_lab.shape[:2]), verify)
    return _drop_duplicates(discs)


def _background(lab: np.ndarray) -> np.ndarray:
    """Per-pixel Lab of the bare background (paper under uneven light).

    Paper is smooth and coins are bounded by a rim: cells of a coarse grid whose lightness gradient
    stands above the noise are edges, and what edges enclose is an object. The background is a
    robust quadratic surface fitted on the remaining cells, corrected locally by normalised
    convolution of those cells, so a broad soft shade (a phone's) is background while every object,
    however many and however large, is filled in from the paper around it."""
    height, width = lab.shape[:2]
    grid_long = 64
    grid_scale = grid_long / max(height, width)
    gw, gh = max(4, round(width * grid_scale)), max(4, round(height * grid_scale))
    small = cv2.resize(lab, (gw, gh), interpolation=cv2.INTER_AREA)
    keep = _plain_cells(lab[..., 0], gw, gh)
    ys, xs = np.mgrid[0:gh, 0:gw].astype(np.float32)
    xs = xs / gw * 2 - 1
    ys = ys / gh * 2 - 1
    design = np.stack([np.ones_like(xs), xs, ys, xs * xs, xs * ys, ys * ys], axis=-1).reshape(-1, 6)
    values = small.reshape(-1, 3)
    weights = np.array([1.0, CHROMA_WEIGHT, CHROMA_WEIGHT], np.float32)
    inlier = keep.ravel().copy()
    if inlier.sum() < 12:
        inlier = values[:, 0] >= np.percentile(values[:, 0], 50)
    for _ in range(4):
        chosen = design[inlier]
        coefficients = np.linalg.solve(chosen.T @ chosen + np.eye(6) * 1e-6, chosen.T @ values[inlier])
        residual = np.sqrt(((values - design @ coefficients) ** 2 * weights).sum(axis=1))
        spread = 1.4826 * np.median(residual[inlier]) + 1.0
        narrowed = inlier & (residual < 3.0 * spread)
        if narrowed.sum() < 12:
            break
        inlier = narrowed
    surface = (design @ coefficients).reshape(gh, gw, 3).astype(np.float32)
    # the local correction follows every plain cell, shade and shadow included (they are background:
    # only the light changed), finely where plain cells are near and coarsely across large objects
    plain = keep.astype(np.float32)
    residual = (small - surface) * plain[..., None]
    correction = np.zeros_like(small)
    for sigma in (grid_long / 14, grid_long / 40):
        smooth = cv2.GaussianBlur(residual, (0, 0), sigma)
        support = cv2.GaussianBlur(plain, (0, 0), sigma)[..., None]
        weight = np.clip(support / 0.3, 0, 1)
        correction = (1 - weight) * correction + weight * smooth / np.maximum(support, 1e-3)
    small_background = (surface + correction).astype(np.float32)
    return cv2.resize(small_background, (width, height), interpolation=cv2.INTER_LINEAR)


def _plain_cells(lightness: np.ndarray, gw: int, gh: int) -> np.ndarray:
    """Grid cells of bare background: no edge in them, and not enclosed by edges."""
    # four samples a cell each way are enough to see a rim: the gradient is taken there, not at full size
    fine = cv2.resize(lightness, (4 * gw, 4 * gh), interpolation=cv2.INTER_AREA).astype(np.float32)
    gradient = cv2.magnitude(cv2.Sobel(fine, cv2.CV_32F, 1, 0), cv2.Sobel(fine, cv2.CV_32F, 0, 1))
    texture = cv2.resize(gradient, (gw, gh), interpolation=cv2.INTER_AREA)
    quiet = float(np.percentile(texture, 25))
    edges = (texture > max(2.5 * quiet, quiet + 6.0)).astype(np.uint8)
    edges = cv2.morphologyEx(edges, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    # what the edges enclose: everything the outside cannot reach without crossing an edge
    outside = np.pad(1 - edges, 1, constant_values=1)
    reach = np.zeros((gh + 4, gw + 4), np.uint8)
    cv2.floodFill(outside, reach, (0, 0), 2)
    plain = outside[1:-1, 1:-1] == 2
    return cv2.erode(plain.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)


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


def _redness(image: np.ndarray, x: float, y: float, r: float) -> float:
    """Balanced a* of the coin's face (inside 0.75 r) against the paper on a ring just outside it."""
    height, width = image.shape[:2]
    theta = np.linspace(0, 2 * math.pi, 48, endpoint=False)

    def ring(radii: np.ndarray) -> np.ndarray:
        xs = np.clip(np.round(x + np.cos(theta)[:, None] * radii[None, :]), 0, width - 1).astype(int)
        ys = np.clip(np.round(y + np.sin(theta)[:, None] * radii[None, :]), 0, height - 1).astype(int)
        return image[ys.ravel(), xs.ravel()]

    face = ring(np.sqrt(np.linspace(0.01, 1.0, 10)) * 0.75 * r)  # evenly over the face's area
    paper = ring(np.array([1.2, 1.35, 1.5]) * r)
    return balanced_redness(face, paper)


def _drop_duplicates(discs: list[Disc]) -> list[Disc]:
    kept: list[Disc] = []
    for disc in sorted(discs, key=lambda d: -d.edge_support):
        if all(math.hypot(disc.x - k.x, disc.y - k.y) > 0.5 * max(disc.radius, k.radius) for k in kept):
            kept.append(disc)
    return kept
