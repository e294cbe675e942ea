"""Accuracy of the Bean Counter detector: real photos and synthetic renders, reported apart, each beside a baseline.

Real photos are the labelled ones in tests/bean_counter/photos/ (labels.yaml: per-coin counts and totals); a
photo is exact when every denomination's count is right. The synthetic set is the deterministic renders of
benchmarks/coin_renders.py, encoded as the JPEG a client would send; there a detected coin is a true positive
when its centre lies within a quarter of a diameter of an unmatched true coin of the same denomination. Every
image goes through the service's decoding and counting path, with the detector of this tree and with the
detector of ``--baseline-ref`` (a git ref; its runtime/bean_counter/ is loaded from git), timed side by side.

    .venv/bin/python -m benchmarks.coin_accuracy [--count 40] [--first-seed 1000] [--baseline-ref main] [--verbose]
"""

from __future__ import annotations

import argparse
import importlib
import math
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import yaml

from benchmarks.coin_renders import render_scene, synthetic_set

REPO = Path(__file__).resolve().parents[1]
PHOTOS = REPO / "tests" / "bean_counter" / "photos"
NAMES = ("penny", "nickel", "dime", "quarter")


def load_detector(ref: str | None) -> SimpleNamespace:
    """``count(data) -> (coins as (name, x, y) in original pixels, cents)`` of this tree (ref None) or of
    runtime/bean_counter/ at git ``ref``, imported from a temporary copy."""
    if ref is None:
        package = "runtime.bean_counter"
    else:
        folder = Path(tempfile.mkdtemp(prefix="bean-counter-baseline-"))
        package = f"baseline_{abs(hash(ref))}"
        target = folder / package
        target.mkdir()
        names = subprocess.run(["git", "ls-tree", "--name-only", f"{ref}:runtime/bean_counter/"], cwd=REPO,
                               capture_output=True, text=True, check=True).stdout.split()
        for name in (n for n in names if n.endswith(".py")):
            source = subprocess.run(["git", "show", f"{ref}:runtime/bean_counter/{name}"], cwd=REPO,
                                    capture_output=True, check=True).stdout
            (target / name).write_bytes(source)
        sys.path.insert(0, str(folder))
    detector = importlib.import_module(f"{package}.detector")
    images = importlib.import_module(f"{package}.images")

    def count(data: bytes):
        decoded = images.decode_upright(data)
        try:
            result = detector.count_coins(decoded.pixels)
        except detector.CountError as error:
            return [], None, error.__class__.__name__
        coins = [(c.denomination.name, c.x / decoded.scale, c.y / decoded.scale) for c in result.coins]
        return coins, result.total_cents, ""

    return SimpleNamespace(ref=ref or "this tree", count=count)


def timed(detector, data: bytes):
    started = time.perf_counter()
    coins, cents, error = detector.count(data)
    return coins, cents, error, (time.perf_counter() - started) * 1000


def match(truth, found) -> tuple[Counter, Counter, Counter]:
    """True positives, false positives and false negatives per denomination."""
    tp, fp, fn = Counter(), Counter(), Counter()
    unmatched = list(truth)
    for name, x, y in found:
        hit = next((t for t in unmatched if t.denomination == name
                    and math.hypot(t.center[0] - x, t.center[1] - y) < t.diameter_px / 4), None)
        if hit is None:
            fp[name] += 1
        else:
            tp[name] += 1
            unmatched.remove(hit)
    for t in unmatched:
        fn[t.denomination] += 1
    return tp, fp, fn


def shown(cents, error: str) -> str:
    return f"({error})" if cents is None else f"{cents / 100:.2f}"


def real_photos(detectors) -> None:
    labels = yaml.safe_load((PHOTOS / "labels.yaml").read_text())
    print(f"Real photos ({PHOTOS.relative_to(REPO)}): counted total, per-coin counts right?, decode + count ms")
    print(f"{'photo':<16} {'true':>6}  " + "  ".join(f"{d.ref[:14]:>14} {'coins':>5} {'ms':>6}" for d in detectors))
    exact = Counter()
    for name, label in labels.items():
        data = (PHOTOS / name).read_bytes()
        cells = []
        for detector in detectors:
            for _ in range(2):  # warm caches, then time the third run
                timed(detector, data)
            coins, cents, error, ms = timed(detector, data)
            right = dict(Counter(n for n, _, _ in coins)) == label["coins"]
            exact[detector.ref] += right
            cells.append(f"{shown(cents, error):>14} {'yes' if right else 'NO':>5} {ms:>6.0f}")
        print(f"{name:<16} {label['total']:>6.2f}  " + "  ".join(cells))
    print("exact (every coin right): " + ", ".join(f"{d.ref}: {exact[d.ref]}/{len(labels)}" for d in detectors))


def renders(detectors, count: int, first_seed: int, verbose: bool) -> None:
    print(f"Synthetic renders (benchmarks/coin_renders.py, seeds {first_seed}-{first_seed + count - 1})")
    print(f"{'seed':>6} {'size':>10} {'coins':>5} {'true':>6}  " + "  ".join(f"{d.ref[:14]:>14}" for d in detectors))
    tallies = {d.ref: (Counter(), Counter(), Counter()) for d in detectors}
    exact, timings = Counter(), {d.ref: [] for d in detectors}
    for params in synthetic_set(count, first_seed):
        scene = render_scene(**params)
        data = scene.encode("jpeg")
        cells = []
        for detector in detectors:
            coins, cents, error, ms = timed(detector, data)
            timings[detector.ref].append(ms)
            tally = match(scene.coins, coins)
            tallies[detector.ref] = tuple(a + b for a, b in zip(tallies[detector.ref], tally))
            ok = cents == scene.total_cents
            exact[detector.ref] += ok
            cells.append(f"{shown(cents, error):>9} {'ok' if ok else 'WRONG':>4}")
            if verbose and not ok:
                cells[-1] += f" found {sorted(n for n, _, _ in coins)}"
        size = f"{params['width']}x{params['height']}"
        print(f"{params['seed']:>6} {size:>10} {len(scene.coins):>5} {scene.total_cents / 100:>6.2f}  "
              + "  ".join(cells))
    print()
    for detector in detectors:
        tp, fp, fn = tallies[detector.ref]
        all_tp, all_fp, all_fn = sum(tp.values()), sum(fp.values()), sum(fn.values())
        ms = sorted(timings[detector.ref])
        print(f"{detector.ref}: exact totals {exact[detector.ref]}/{count} = {exact[detector.ref] / count:.1%}; "
              f"coin precision {all_tp / max(1, all_tp + all_fp):.1%}, recall {all_tp / max(1, all_tp + all_fn):.1%} "
              f"of {all_tp + all_fn}; decode + count median {ms[len(ms) // 2]:.1f} ms")
        print("   " + "  ".join(f"{name} P {tp[name] / max(1, tp[name] + fp[name]):.0%} "
                               f"R {tp[name] / max(1, tp[name] + fn[name]):.0%}" for name in NAMES))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=40, help="synthetic renders")
    parser.add_argument("--first-seed", type=int, default=1000)
    parser.add_argument("--baseline-ref", default="main", help="git ref whose detector is the baseline; '' for none")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    detectors = [load_detector(None)] + ([load_detector(args.baseline_ref)] if args.baseline_ref else [])
    real_photos(detectors)
    print()
    renders(detectors, args.count, args.first_seed, args.verbose)


if __name__ == "__main__":
    main()
