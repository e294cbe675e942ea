"""Sub-pixel circles of coins: edge strength sampled along rays from a guessed centre, a RANSAC circle
through the strongest edges, then a least-squares circle through each ray's half-way crossing from the
coin's colour to the paper's (the silhouette of a blurred step, wherever its contrast).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

CHROMA_WEIGHT = 2.0  # colour differences count more than lightness ones (shadows only change lightness)
RAYS = 96


def refine(image_lab: np.ndarray, cx: float, cy: float, r0: float):
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
        paper = ring_paper(image_lab, x, y, radius)
        rays = _EdgeRays.sample(image_lab, paper, x, y, radius, inner, outer)
        fit = rays and rays.profile_circle()
    return None if fit is None else (*fit, paper)


def ring_paper(image_lab: np.ndarray, x: float, y: float, r: float) -> np.ndarray:
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
            distance = np.sqrt(off_paper[..., 0] ** 2
                               + CHROMA_WEIGHT * (off_paper[..., 1] ** 2 + off_paper[..., 2] ** 2))
            strength = distance[:, :-2 * cls.SPAN] - distance[:, 2 * cls.SPAN:]
        return cls(strength, radii[cls.SPAN:-cls.SPAN], distance[:, cls.SPAN:-cls.SPAN], theta, (ccx, ccy, cr),
                   inner, outer, (x0, y0), (sx, sy))

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
