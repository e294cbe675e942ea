"""How long the horse-racing skill takes to answer, against Alexa's 8 s, each figure beside its baseline.

- cold start: a fresh interpreter importing the handler and building the skill (what a new Lambda container
  does before its first answer), beside a bare interpreter start;
- a turn: the handler answering "how many races" with the race-data service on loopback behind a simulated
  network delay, with the answer cache (``race_data_cache_seconds``) beside without it, and a LaunchRequest
  (no data needed) as the floor.

    .venv/bin/python benchmarks/alexa_skill_latency.py [--turns 200] [--service-delay 0.08]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))
SKILL_ID = "amzn1.ask.skill.8f3c2a1e-5b7d-4c9e-a1f2-3d4e5f6a7b8c"
COLD = ("from runtime.alexa_skill.contract import Settings; from runtime.alexa_skill.handler import make_handler; "
        f"make_handler(Settings('{SKILL_ID}', 'https://race-data.example.com'))")


def cold_start(code: str, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, cwd=PROJECT_DIR)
        times.append(time.perf_counter() - started)
    return times


def turns(handler, event, count: int) -> list[float]:
    from runtime.alexa_skill.talk import LocalContext
    times = []
    for _ in range(count):
        started = time.perf_counter()
        handler(event, LocalContext())
        times.append(time.perf_counter() - started)
    return times


def row(name: str, times: list[float], baseline: list[float] | None = None, against: str = "baseline") -> str:
    p50, p95 = statistics.median(times), sorted(times)[int(len(times) * 0.95) - 1]
    versus = ""
    if baseline:
        ratio = p50 / statistics.median(baseline)
        versus = (f"  ({ratio:.1f}x the {against}'s p50)" if ratio >= 1
                  else f"  ({1 / ratio:.0f}x faster than the {against})")
    return f"{name:<44} p50 {p50 * 1000:8.1f} ms   p95 {p95 * 1000:8.1f} ms{versus}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=200, help="turns per case")
    parser.add_argument("--cold-runs", type=int, default=5, help="fresh interpreters per case")
    parser.add_argument("--service-delay", type=float, default=0.08, help="seconds the race-data service waits")
    args = parser.parse_args()

    from datetime import date

    from runtime.alexa_skill import envelopes
    from runtime.alexa_skill.contract import Settings
    from runtime.alexa_skill.handler import make_handler
    from runtime.alexa_skill.sample_service import SampleService

    def skill_handler(url: str, cache: int = 0):
        return make_handler(Settings(SKILL_ID, url, 1.0, cache))

    session = envelopes.Session(SKILL_ID, attributes={"favoriteTrack": {"id": "TAMPA_BAY_DOWNS",
                                                                         "name": "Tampa Bay Downs"}}, new=False)
    launch_event = session.envelope(envelopes.launch_request())
    races_event = session.envelope(envelopes.intent_request("HowManyRacesIntent"))

    print(f"cold start, {args.cold_runs} fresh interpreters each (Alexa waits 8 s):")
    bare = cold_start("pass", args.cold_runs)
    print(row("  baseline: python -c pass", bare))
    print(row("  import the handler and build the skill", cold_start(COLD, args.cold_runs), bare))

    service = SampleService(today=lambda timezone: date(2027, 3, 13), delay_seconds=args.service_delay).start()
    try:
        print(f"\na turn, {args.turns} each, race-data service {args.service_delay * 1000:.0f} ms away:")
        launch = turns(skill_handler(service.url), launch_event, args.turns)
        print(row("  floor: LaunchRequest (no data)", launch))
        uncached = turns(skill_handler(service.url, cache=0), races_event, args.turns)
        print(row("  baseline: HowManyRaces, no cache", uncached, launch, "floor"))
        cached = turns(skill_handler(service.url, cache=60), races_event, args.turns)
        print(row("  HowManyRaces, 60 s cache", cached, uncached))
        print(f"  service calls: {service.requests_served} for {3 * args.turns} turns")
    finally:
        service.stop()


if __name__ == "__main__":
    main()
