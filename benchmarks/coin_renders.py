"""Deterministic synthetic photos of US coins on paper, with known totals.

Each scene is rendered from a seed: copper or silver coins (rim, relief of a heads or a tails
design, wear, specular highlight) at a random rotation, scale and count, on a light paper
background under an uneven light (gradient, vignetting, a broad soft shade such as a phone's),
with soft cast shadows, a colour cast, lens blur, sensor noise and JPEG compression.

Used by the Bean Counter tests (known image -> exact total) and by benchmarks/coin_accuracy.py.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image

DIAMETER_MM = {"dime": 17.91, "penny": 19.05, "nickel": 21.21, "quarter": 24.26}
CENTS = {"penny": 1, "nickel": 5, "dime": 10, "quarter": 25}
EXIF_ORIENTATION_TAG = 0x0112


@dataclass(frozen=True)
class PlacedCoin:
    denomination: str
    center: tuple[float, float]  # x, y in pixels of the upright image
    diameter_px: float
    face: str  # "heads" or "tails"


@dataclass(frozen=True)
class Scene:
    seed: int
    image: np.ndarray = field(repr=False)  # BGR uint8, upright
    coins: tuple[PlacedCoin, ...]

    @property
    def total_cents(self) -> int:
        return sum(CENTS[c.denomination] for c in self.coins)

    def encode(self, fmt: str = "jpeg", quality: int | None = None, exif_orientation: int = 1) -> bytes:
        """The scene as a file. With an EXIF orientation other than 1, the stored pixels are turned so
        that a viewer applying the tag (as a phone's photo does) shows the upright scene."""
        stored = _stored_for_orientation(self.image, exif_orientation)
        picture = Image.fromarray(cv2.cvtColor(stored, cv2.COLOR_BGR2RGB))
        out = io.BytesIO()
        exif = Image.Exif()
        if exif_orientation != 1:
            exif[EXIF_ORIENTATION_TAG] = exif_orientation
        if fmt == "jpeg":
            if quality is None:
                quality = int(np.random.default_rng(self.seed + 7).integers(72, 94))
            picture.save(out, "JPEG", quality=quality, exif=exif.tobytes())
        elif fmt == "png":
            picture.save(out, "PNG", exif=exif.tobytes(), compress_level=1)
        else:
            raise ValueError(f"unknown format {fmt!r}")
        return out.getvalue()


def _stored_for_orientation(upright: np.ndarray, orientation: int) -> np.ndarray:
    """Inverse of the EXIF orientation transform: what a camera stores so the tag makes it upright."""
    inverse = {
        1: lambda a: a,
        2: lambda a: cv2.flip(a, 1),
        3: lambda a: cv2.rotate(a, cv2.ROTATE_180),
        4: lambda a: cv2.flip(a, 0),
        5: lambda a: cv2.transpose(a),
        6: lambda a: cv2.rotate(a, cv2.ROTATE_90_COUNTERCLOCKWISE),
        7: lambda a: cv2.flip(cv2.transpose(a), -1),
        8: lambda a: cv2.rotate(a, cv2.ROTATE_90_CLOCKWISE),
    }
    return np.ascontiguousarray(inverse[orientation](upright))


# --- the set used by the accuracy benchmark and the tests -------------------------------------

SIZES = ((1024, 768), (768, 1024), (800, 600), (640, 480), (1280, 960), (1600, 1200), (480, 360))


def synthetic_set(count: int = 24, first_seed: int = 1000) -> list[dict]:
    """Scene parameters for `count` varied renders; pass each to render_scene(**params)."""
    specs = []
    for i in range(count):
        seed = first_seed + i
        width, height = SIZES[i % len(SIZES)]
        specs.append({"seed": seed, "width": width, "height": height, "touching": i % 4 == 3,
                      "table_edge": i % 5 == 4})
    return specs


# --- rendering --------------------------------------------------------------------------------

def render_scene(
    seed: int,
    width: int = 1024,
    height: int = 768,
    denominations: list[str] | None = None,
    quarter_fraction: float | None = None,
    touching: bool = False,
    diameters_mm: dict[str, float] | None = None,
    table_edge: bool = False,
) -> Scene:
    """Render one photo. `quarter_fraction` is a quarter's diameter as a fraction of the short side;
    `diameters_mm` overrides coin sizes (to make photos that no true calibration fits); `table_edge`
    lets a strip of dark wooden table show past the paper's edge on one side."""
    rng = np.random.default_rng(seed)
    if denominations is None:
        count = int(rng.integers(3, 10))
        denominations = ["quarter"] + list(
            str(name) for name in rng.choice(["penny", "nickel", "dime", "quarter"], size=count - 1,
                                              p=[0.32, 0.22, 0.26, 0.20])
        )
    if quarter_fraction is None:
        quarter_fraction = float(rng.uniform(0.11, 0.2))
    px_per_mm = quarter_fraction * min(width, height) / DIAMETER_MM["quarter"]

    light_azimuth = float(rng.uniform(0, 2 * math.pi))
    light = _light_vector(light_azimuth, float(rng.uniform(0.45, 0.8)))
    sizes = {**DIAMETER_MM, **(diameters_mm or {})}
    table = _TableEdge.random(seed, width, height) if table_edge else None
    coins = _place_coins(rng, denominations, sizes, px_per_mm, width, height, touching, table)

    paper = _paper(rng, width, height)
    if table is not None:
        paper = table.draw(paper, seed)
    shade = _cast_shadows(rng, coins, light_azimuth, width, height)
    image = paper * shade[..., None]
    for coin in coins:
        _draw_coin(rng, image, coin, light)
    image *= _illumination(rng, width, height)[..., None]
    image *= _colour_cast(rng)
    image = _camera(rng, image)
    return Scene(seed=seed, image=image, coins=tuple(coins))


def _light_vector(azimuth: float, elevation_sin: float) -> np.ndarray:
    horizontal = math.sqrt(1 - elevation_sin**2)
    return np.array([horizontal * math.cos(azimuth), horizontal * math.sin(azimuth), elevation_sin])


@dataclass(frozen=True)
class _TableEdge:
    side: int  # 0 left, 1 top, 2 right, 3 bottom
    depth: float  # fraction of the frame the table covers on that side
    tilt: float  # how much the paper's edge slants, as a fraction of the frame

    @classmethod
    def random(cls, seed: int, width: int, height: int) -> _TableEdge:
        rng = np.random.default_rng(seed + 99_991)  # its own stream: the rest of the scene is unchanged
        return cls(int(rng.integers(4)), float(rng.uniform(0.07, 0.15)), float(rng.uniform(-0.03, 0.03)))

    def keep_out(self, width: int, height: int) -> tuple[float, float, float, float]:
        """Extra margins (left, top, right, bottom) in pixels that coins must keep from the frame."""
        reach = self.depth + abs(self.tilt) + 0.03
        margins = [0.0, 0.0, 0.0, 0.0]
        margins[self.side] = reach * (width if self.side in (0, 2) else height)
        return tuple(margins)

    def draw(self, paper: np.ndarray, seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed + 99_992)
        height, width = paper.shape[:2]
        along = np.linspace(-0.5, 0.5, height if self.side in (0, 2) else width, dtype=np.float32)
        across_len = width if self.side in (0, 2) else height
        edge = (self.depth + self.tilt * along) * across_len  # table depth at each position along the edge
        across = np.arange(across_len, dtype=np.float32)
        if self.side in (2, 3):
            across = across[::-1]
        table = np.clip(edge[:, None] - across[None, :] + 0.5, 0, 1)  # (along, across), anti-aliased
        if self.side in (1, 3):
            table = table.T
        grain = cv2.resize(rng.standard_normal((4, 64), dtype=np.float32), (width, height),
                           interpolation=cv2.INTER_CUBIC)
        if self.side in (0, 2):
            grain = cv2.resize(rng.standard_normal((64, 4), dtype=np.float32), (width, height),
                               interpolation=cv2.INTER_CUBIC)
        wood = np.array([0.22, 0.34, 0.52], np.float32) * rng.uniform(0.7, 1.15) * (1 + 0.12 * grain)[..., None]
        return paper * (1 - table[..., None]) + wood * table[..., None]


def _place_coins(rng, denominations, sizes, px_per_mm, width, height, touching, table=None) -> list[PlacedCoin]:
    placed: list[PlacedCoin] = []
    margin = 0.04 * min(width, height)
    left, top, right, bottom = table.keep_out(width, height) if table else (0.0, 0.0, 0.0, 0.0)
    for index, name in enumerate(denominations):
        radius = sizes[name] * px_per_mm / 2
        for attempt in range(2000):
            if touching and placed and index % 2 == 1 and attempt < 200:
                # lay this coin against the previous one
                other = placed[-1]
                angle = rng.uniform(0, 2 * math.pi)
                distance = other.diameter_px / 2 + radius + rng.uniform(0.0, 0.6)
                x = other.center[0] + distance * math.cos(angle)
                y = other.center[1] + distance * math.sin(angle)
            else:
                x = rng.uniform(margin + left + radius, width - margin - right - radius)
                y = rng.uniform(margin + top + radius, height - margin - bottom - radius)
            if not (margin + left + radius <= x <= width - margin - right - radius
                    and margin + top + radius <= y <= height - margin - bottom - radius):
                continue
            gap = 0.0 if touching else 0.12 * radius
            if all(math.hypot(x - c.center[0], y - c.center[1]) >= c.diameter_px / 2 + radius + gap - 1e-6 for c in placed):
                placed.append(PlacedCoin(name, (float(x), float(y)), 2 * radius, str(rng.choice(["heads", "tails"]))))
                break
        else:
            raise ValueError(f"seed leaves no room for a {name}; use a larger image or fewer coins")
    return placed


def _paper(rng, width, height) -> np.ndarray:
    base = rng.uniform(0.8, 0.93)
    tint = 1 + rng.uniform(-0.025, 0.025, size=3)
    grain = cv2.GaussianBlur(rng.standard_normal((height, width), dtype=np.float32), (0, 0), 1.2) * 0.02
    fibres = cv2.resize(rng.normal(0, 1, size=(max(2, height // 40), max(2, width // 40))).astype(np.float32),
                        (width, height), interpolation=cv2.INTER_CUBIC) * 0.01
    paper = (base + grain + fibres)[..., None] * tint.astype(np.float32)
    return paper.astype(np.float32)


def _cast_shadows(rng, coins, light_azimuth, width, height) -> np.ndarray:
    """Multiplicative shade of the paper: soft shadows cast away from the light, plus contact shade."""
    if not coins:
        return np.ones((height, width), np.float32)
    occluder = np.zeros((height, width), np.float32)
    contact = np.zeros((height, width), np.float32)
    mean_radius = float(np.mean([c.diameter_px for c in coins])) / 2
    offset = rng.uniform(0.05, 0.25) * mean_radius
    dx, dy = -math.cos(light_azimuth) * offset, -math.sin(light_azimuth) * offset
    for coin in coins:
        x, y = coin.center
        radius = coin.diameter_px / 2
        cv2.circle(occluder, _fixed(x + dx, y + dy), _fixed_len(radius), 1.0, -1, cv2.LINE_AA, shift=4)
        cv2.circle(contact, _fixed(x, y), _fixed_len(radius), 1.0, -1, cv2.LINE_AA, shift=4)
    softness = rng.uniform(0.05, 0.3) * mean_radius
    strength = rng.uniform(0.2, 0.55)
    shadow = _soft_blur(occluder, softness) * strength
    contact = cv2.GaussianBlur(contact, (0, 0), max(0.8, 0.03 * mean_radius)) * rng.uniform(0.05, 0.2)
    return np.clip(1 - shadow - contact, 0.3, 1).astype(np.float32)


def _soft_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur; a wide one is done on a reduced copy (same result to the eye, far faster)."""
    factor = int(max(1, sigma // 4))
    if factor == 1:
        return cv2.GaussianBlur(image, (0, 0), sigma)
    height, width = image.shape[:2]
    small = cv2.resize(image, (max(1, width // factor), max(1, height // factor)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma / factor)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


def _fixed(x, y):
    return int(round(x * 16)), int(round(y * 16))


def _fixed_len(r):
    return int(round(r * 16))


COPPER_TONES = np.array([  # BGR of shiny, dull and dark toned pennies
    [0.32, 0.48, 0.80], [0.27, 0.38, 0.62], [0.20, 0.27, 0.44], [0.24, 0.36, 0.70]], np.float32)
SILVER_TONES = {
    "quarter": np.array([0.62, 0.62, 0.62], np.float32),
    "dime": np.array([0.60, 0.61, 0.62], np.float32),
    "nickel": np.array([0.50, 0.52, 0.53], np.float32),
}


def _draw_coin(rng, image, coin: PlacedCoin, light) -> None:
    height, width = image.shape[:2]
    radius = coin.diameter_px / 2
    cx, cy = coin.center
    x0, x1 = max(0, int(cx - radius - 3)), min(width, int(cx + radius + 4))
    y0, y1 = max(0, int(cy - radius - 3)), min(height, int(cy + radius + 4))
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    u = (xs - cx) / radius
    v = (ys - cy) / radius
    rho = np.sqrt(u * u + v * v)

    relief = _relief(rng, u, v, rho, coin.face, radius)
    # surface normals from the height map
    gy, gx = np.gradient(relief)
    steepness = 2.5 * radius / 100.0
    nx, ny, nz = -gx * steepness * 100 / radius, -gy * steepness * 100 / radius, np.ones_like(gx)
    norm = np.sqrt(nx * nx + ny * ny + nz * nz)
    nx, ny, nz = nx / norm, ny / norm, nz / norm
    lambert = np.clip(nx * light[0] + ny * light[1] + nz * light[2], 0, 1)
    half = light + np.array([0, 0, 1.0])
    half /= np.linalg.norm(half)
    specular = np.clip(nx * half[0] + ny * half[1] + nz * half[2], 0, 1) ** rng.uniform(18, 40)

    if coin.denomination == "penny":
        base = COPPER_TONES[rng.integers(len(COPPER_TONES))] * rng.uniform(0.9, 1.1, size=3).astype(np.float32)
        spec_colour = np.array([0.55, 0.7, 0.95], np.float32)
    else:
        base = SILVER_TONES[coin.denomination] * rng.uniform(0.85, 1.3)
        spec_colour = np.array([1.0, 1.0, 1.0], np.float32)
    sheen_angle = rng.uniform(0, 2 * math.pi)
    sheen = 1 + rng.uniform(0.05, 0.3) * (u * math.cos(sheen_angle) + v * math.sin(sheen_angle))
    toning = cv2.resize(rng.normal(0, 1, size=(5, 5)).astype(np.float32), (x1 - x0, y1 - y0),
                        interpolation=cv2.INTER_CUBIC) * rng.uniform(0.02, 0.08)
    shade = (0.45 + 0.75 * lambert) * sheen * (1 + toning)
    colour = base * shade[..., None] + spec_colour * (specular * rng.uniform(0.2, 0.6))[..., None]
    edge_dark = np.clip((rho - 0.96) / 0.04, 0, 1) * rng.uniform(0.25, 0.45)  # the bevelled edge, seen at a grazing angle
    colour *= (1 - edge_dark)[..., None]

    # anti-aliased disc coverage
    coverage = np.clip(radius - rho * radius + 0.5, 0, 1)[..., None]
    patch = image[y0:y1, x0:x1]
    patch[:] = patch * (1 - coverage) + colour * coverage


def _relief(rng, u, v, rho, face, radius) -> np.ndarray:
    """Height map of rim, lettering ring, a central design and wear noise, turned at random."""
    angle = rng.uniform(0, 2 * math.pi)
    ur = u * math.cos(angle) - v * math.sin(angle)
    vr = u * math.sin(angle) + v * math.cos(angle)
    height = np.zeros_like(u)
    height += ((rho > 0.88) & (rho <= 1.0)).astype(np.float32)  # raised rim
    theta = np.arctan2(vr, ur)
    # lettering: dashes on a ring, a different arc for each face
    arc_start, arc_len = (0.6, 4.2) if face == "heads" else (-2.6, 5.0)
    letters = rng.integers(10, 22)
    in_arc = ((theta - arc_start) % (2 * math.pi)) < arc_len
    letter_phase = (((theta - arc_start) % (2 * math.pi)) / arc_len * letters) % 1.0
    height += (in_arc & (np.abs(rho - 0.76) < 0.06) & (letter_phase < 0.62)).astype(np.float32) * 0.6
    if face == "heads":
        bust = ((ur - 0.05) / 0.42) ** 2 + ((vr + 0.02) / 0.55) ** 2 < 1
        neck = (np.abs(ur + 0.05) < 0.2) & (vr > 0.3) & (vr < 0.62)
        height += (bust | neck).astype(np.float32) * 0.7
        height += ((((ur - 0.2) / 0.12) ** 2 + ((vr + 0.1) / 0.08) ** 2) < 1).astype(np.float32) * 0.2  # eye
    else:
        building = (np.abs(ur) < 0.45) & (np.abs(vr) < 0.28)
        columns = building & ((((ur + 0.45) / 0.9 * 7) % 1.0) < 0.5)
        height += building.astype(np.float32) * 0.35 + columns.astype(np.float32) * 0.35
        height += ((np.abs(ur) < 0.55) & (vr > -0.42) & (vr < -0.3)).astype(np.float32) * 0.5  # pediment
    wear = rng.normal(0, 1, size=u.shape).astype(np.float32)
    wear = cv2.GaussianBlur(wear, (0, 0), max(0.7, radius / 60)) * 0.08
    height = cv2.GaussianBlur(height.astype(np.float32), (0, 0), max(0.6, radius / 90)) + wear
    return height * (rho <= 1.0)


def _illumination(rng, width, height) -> np.ndarray:
    xs = (np.arange(width, dtype=np.float32) / width - 0.5)[None, :]
    ys = (np.arange(height, dtype=np.float32) / height - 0.5)[:, None]
    direction = rng.uniform(0, 2 * math.pi)
    gradient = 1 + rng.uniform(0.1, 0.7) * (xs * math.cos(direction) + ys * math.sin(direction))
    vignette = 1 - rng.uniform(0.05, 0.3) * (xs * xs + ys * ys) * 2
    light = gradient * vignette
    if rng.random() < 0.5:  # a broad soft shade, e.g. of the phone or a hand
        sx, sy = rng.uniform(-0.5, 0.5, size=2)
        blob = np.exp(-(((xs - sx) / rng.uniform(0.15, 0.35)) ** 2 + ((ys - sy) / rng.uniform(0.15, 0.35)) ** 2))
        light *= 1 - rng.uniform(0.1, 0.3) * blob
    return (light / light.max() * rng.uniform(0.85, 1.05)).astype(np.float32)


def _colour_cast(rng) -> np.ndarray:
    warmth = rng.uniform(-0.08, 0.1)  # > 0: tungsten-like, < 0: shade-like
    return np.array([1 - warmth, 1.0, 1 + warmth * 0.6], np.float32)


def _camera(rng, image: np.ndarray) -> np.ndarray:
    short = min(image.shape[:2])
    blur = rng.uniform(0.4, 1.2) * max(1.0, short / 900)
    image = cv2.GaussianBlur(image, (0, 0), blur)
    luminance_noise = rng.standard_normal(image.shape[:2], dtype=np.float32) * np.float32(rng.uniform(0.006, 0.018))
    image += luminance_noise[..., None]
    image += rng.standard_normal(image.shape, dtype=np.float32) * np.float32(0.004)
    image *= 255.0
    return np.clip(image, 0, 255).astype(np.uint8)
