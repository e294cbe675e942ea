"""Accuracy of the Bean Counter detector on the synthetic coin renders.

Renders the deterministic set from benchmarks/coin_renders.py, encodes each as the JPEG a client
would send, runs it through the service's decoding and counting path, and prints per image the true
and counted totals, then the exact-total rate and per-denomination precision and recall (a detected
coin is a true positive when its centre lies within half a radius of an unmatched true coin of the
same denomination).

    .venv/bin/python -m benchmarks.coin_accuracy [--count 40] [--first-seed 1000] [--verbose]
"""

from __future__ import annotations

import argparse
import math
import time
from collections import Counter

from benchmarks.coin_renders import render_scene, synthetic_set
from runtime.bean_counter.detector import CountError, count_coins
from runtime.bean_counter.images import decode_upright

NAMES = ("penny", "nickel", "dime", "quarter")


def match(truth, found) -> tuple[Counter, Counter, Counter]:
    """True positives, false positives and false negatives per denomination."""
    tp, fp, fn = Counter(), Counter(), Counter()
    unmatched = list(truth)
    for coin in found:
        hit = next((t for t in unmatched if t.denomination == coin.denomination.name
                    and math.hypot(t.center[0] - coin.x, t.center[1] - coin.y) < t.diameter_px / 4), None)
        if hit is None:
            fp[coin.denomination.name] += 1
        else:
            tp[coin.denomination.name] += 1
            unmatched.remove(hit)
    for t in unmatched:
        fn[t.denomination] += 1
    return tp, fp, fn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--first-seed", type=int, default=1000)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()

    tp, fp, fn = Counter(), Counter(), Counter()
    exact = 0
    timings = []
    print(f"{'seed':>6} {'size':>10} {'coins':>5} {'true':>6} {'counted':>8}  result")
    for params in synthetic_set(args.count, args.first_seed):
        scene = render_scene(**params)
        data = scene.encode("jpeg")
        started = time.perf_counter()
        decoded = decode_upright(data)
        try:
            result = count_coins(decoded.pixels)
            found = [c for c in result.coins]
            counted = f"{result.total_cents / 100:.2f}"
        except CountError as error:
            found, counted = [], f"({error.__class__.__name__})"
        timings.append(time.perf_counter() - started)
        # detector coordinates are in the decoded image; the renders are upright originals
        found_original = [type(c)(c.denomination, c.x / decoded.scale, c.y / decoded.scale, c.diameter_px / decoded.scale)
                          for c in found]
        a, b, c = match(scene.coins, found_original)
        tp, fp, fn = tp + a, fp + b, fn + c
        ok = sum(x.denomination.cents for x in found) == scene.total_cents
        exact += ok
        size = f"{params['width']}x{params['height']}"
        print(f"{params['seed']:>6} {size:>10} {len(scene.coins):>5} {scene.total_cents / 100:>6.2f} {counted:>8}  "
              f"{'exact' if ok else 'WRONG'}")
        if args.verbose and not ok:
            truth = sorted((t.denomination, round(t.center[0]), round(t.center[1]), round(t.diameter_px, 1)) for t in scene.coins)
            seen = sorted((x.denomination.name, round(x.x), round(x.y), round(x.diameter_px, 1)) for x in found_original)
            print("        truth:", truth)
            print("        found:", seen)

    total = len(timings)
    print()
    print(f"exact totals: {exact}/{total} = {exact / total:.1%}")
    print(f"{'denomination':<12} {'precision':>9} {'recall':>7} {'true':>5}")
    for name in NAMES:
        p = tp[name] / max(1, tp[name] + fp[name])
        r = tp[name] / max(1, tp[name] + fn[name])
        print(f"{name:<12} {p:>9.1%} {r:>7.1%} {tp[name] + fn[name]:>5}")
    all_tp, all_fp, all_fn = sum(tp.values()), sum(fp.values()), sum(fn.values())
    print(f"{'all coins':<12} {all_tp / max(1, all_tp + all_fp):>9.1%} {all_tp / max(1, all_tp + all_fn):>7.1%} "
          f"{all_tp + all_fn:>5}")
    timings.sort()
    print(f"decode+count per image: median {timings[total // 2] * 1000:.1f} ms, max {timings[-1] * 1000:.1f} ms")


if __name__ == "__main__":
    main()
