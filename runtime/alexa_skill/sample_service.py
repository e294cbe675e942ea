"""A small race-data service for local use and tests: ``python -m runtime.alexa_skill.sample_service``.

It serves the API ``races.py`` reads, from the calendars in ``sample_races.json`` (a season, race days with
their number of races, and stakes races as "the nth weekday of a month"), so it answers for any date. "Today"
is the date at the track, in its time zone, unless ``--today`` fixes it. Standard library only.

    python -m runtime.alexa_skill.sample_service --port 8000 [--today 2027-03-13] [--delay 0.5]
"""
from __future__ import annotations

import argparse
import json
import re
import threading
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

DATA_FILE = Path(__file__).resolve().parent / "sample_races.json"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HORIZON_DAYS = 400
ROUTE = re.compile(r"^/v1/tracks/(?P<track>[A-Z0-9_]+)/(?P<what>races/today|stakes/next)$")


class Calendar:
    """Race days, races and stakes of the sample tracks."""

    def __init__(self, document: dict[str, Any]):
        self.tracks = document["tracks"]

    def stakes_on(self, track: dict, day: date) -> str | None:
        for stakes in track["stakes"]:
            if (day.month == stakes["month"] and WEEKDAYS[day.weekday()] == stakes["weekday"]
                    and (day.day - 1) // 7 + 1 == stakes["nth"]):
                return stakes["name"]
        return None

    def races(self, track: dict, day: date) -> list[dict[str, Any]]:
        if day.month not in track["season_months"]:
            return []
        count = track["races_by_weekday"].get(WEEKDAYS[day.weekday()], 0)
        first = datetime.combine(day, datetime.strptime(track["first_post"], "%H:%M").time())
        feature = self.stakes_on(track, day)
        return [{"number": n, "postTime": (first + timedelta(minutes=(n - 1) * track["minutes_between_races"]))
                 .strftime("%H:%M"), "name": feature if feature and n == count else f"Race {n}",
                 "stakes": bool(feature) and n == count} for n in range(1, count + 1)]

    def next_stakes(self, track: dict, today: date) -> dict[str, Any] | None:
        for offset in range(HORIZON_DAYS):
            day = today + timedelta(days=offset)
            races = self.races(track, day)
            if races and races[-1]["stakes"]:
                return {"name": races[-1]["name"], "date": day.isoformat(), "postTime": races[-1]["postTime"]}
        return None


def track_today(timezone: str) -> date:
    return datetime.now(ZoneInfo(timezone)).date()


class SampleService(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int = 0, host: str = "127.0.0.1", today: Callable[[str], date] = track_today,
                 delay_seconds: float = 0.0, data_file: Path = DATA_FILE):
        self.calendar = Calendar(json.loads(data_file.read_text()))
        self.today = today
        self.delay_seconds = delay_seconds
        self.requests_served = 0
        super().__init__((host, port), _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def answer(self, path: str) -> tuple[int, dict[str, Any]]:
        match = ROUTE.match(path)
        if not match:
            return 404, {"error": "no such resource; try /v1/tracks/<TRACK_ID>/races/today or /stakes/next"}
        track = self.calendar.tracks.get(match["track"])
        if track is None:
            return 404, {"error": f"no track {match['track']}; tracks: {', '.join(sorted(self.calendar.tracks))}"}
        today = self.today(track["timezone"])
        about = {"id": match["track"], "name": track["name"], "timezone": track["timezone"]}
        if match["what"] == "races/today":
            return 200, {"track": about, "date": today.isoformat(), "races": self.calendar.races(track, today)}
        return 200, {"track": about, "stakesRace": self.calendar.next_stakes(track, today)}

    def start(self) -> "SampleService":
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, name="sample-race-data",
                         daemon=True).start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: SampleService

    def do_GET(self) -> None:  # noqa: N802 - the http.server name
        if self.server.delay_seconds:
            time.sleep(self.server.delay_seconds)
        self.server.requests_served += 1
        status, body = self.server.answer(self.path.split("?", 1)[0])
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the http.server signature
        pass


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    parser.add_argument("--today", type=date.fromisoformat, help="the date every track has today (YYYY-MM-DD)")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds to wait before each answer")
    args = parser.parse_args(argv)
    today = (lambda _: args.today) if args.today else track_today
    service = SampleService(args.port, args.host, today, args.delay)
    print(f"sample race data on {service.url} (Ctrl-C stops)", flush=True)
    try:
        service.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        service.server_close()


if __name__ == "__main__":
    main()
