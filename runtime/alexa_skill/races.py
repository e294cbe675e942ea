"""The race-data service's client: today's race card and the next stakes race of a track.

The service (``sample_service.py`` is a local one) answers, for a track id of the interaction model:

- ``GET {base}/v1/tracks/{id}/races/today`` -> ``{"track": {"id", "name", "timezone"}, "date": "YYYY-MM-DD",
  "races": [{"number", "postTime", "name", "stakes"}]}`` ("today" at the track, in its time zone);
- ``GET {base}/v1/tracks/{id}/stakes/next`` -> ``{"track": {...}, "stakesRace": {"name", "date", "postTime"}}``
  or ``"stakesRace": null`` when none is scheduled.

Alexa waits 8 s for an answer, so every call is bounded (connect and read timeouts, never beyond what is left
of the invocation), retried once only when the connection could not be made, and its answer is cached for a
short while (per container, successes only). Anything else (a timeout, a 5xx, an answer of the wrong shape)
is ``RaceDataUnavailable``, which the skill turns into a spoken apology.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
from urllib3.util import Retry

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 1.0
DEADLINE_MARGIN_SECONDS = 0.5
"""Kept back from the invocation's deadline, to still speak the apology."""


class RaceDataUnavailable(Exception):
    """The service could not give an answer in time (the reason is for the log, not for the user)."""


@dataclass(frozen=True)
class RaceCard:
    track_name: str
    date: date
    races: int


@dataclass(frozen=True)
class StakesRace:
    track_name: str
    name: str
    date: date


class RaceDataClient:
    def __init__(self, base_url: str, timeout_seconds: float, cache_seconds: float,
                 clock: Callable[[], float] = time.monotonic, session: requests.Session | None = None):
        self.base_url = base_url.rstrip("/")
        self.timeout_seconds = timeout_seconds
        self.cache_seconds = cache_seconds
        self.clock = clock
        self.session = session or _session()
        self._cache: dict[str, tuple[float, dict]] = {}

    def races_today(self, track_id: str, seconds_left: float | None = None) -> RaceCard:
        body = self._get(f"/v1/tracks/{quote(track_id, safe='')}/races/today", seconds_left)
        try:
            races = body["races"]
            if not isinstance(races, list):
                raise TypeError("races is not a list")
            return RaceCard(str(body["track"]["name"]), date.fromisoformat(body["date"]), len(races))
        except (KeyError, TypeError, ValueError) as error:
            raise RaceDataUnavailable(f"race card of the wrong shape: {error!r}") from None

    def next_stakes(self, track_id: str, seconds_left: float | None = None) -> StakesRace | None:
        body = self._get(f"/v1/tracks/{quote(track_id, safe='')}/stakes/next", seconds_left)
        try:
            race = body["stakesRace"]
            if race is None:
                return None
            return StakesRace(str(body["track"]["name"]), str(race["name"]), date.fromisoformat(race["date"]))
        except (KeyError, TypeError, ValueError) as error:
            raise RaceDataUnavailable(f"stakes answer of the wrong shape: {error!r}") from None

    def _get(self, path: str, seconds_left: float | None) -> dict:
        now = self.clock()
        cached = self._cache.get(path)
        if cached is not None and now - cached[0] < self.cache_seconds:
            return cached[1]
        timeout = self.timeout_seconds
        if seconds_left is not None:
            timeout = min(timeout, seconds_left - DEADLINE_MARGIN_SECONDS)
        if timeout <= 0:
            raise RaceDataUnavailable("no time left in this invocation to ask the race-data service")
        started = time.monotonic()
        try:
            response = self.session.get(self.base_url + path, timeout=(min(CONNECT_TIMEOUT_SECONDS, timeout), timeout),
                                        headers={"Accept": "application/json"}, allow_redirects=False)
        except requests.RequestException as error:
            raise RaceDataUnavailable(f"{type(error).__name__} after {time.monotonic() - started:.2f} s") from None
        logger.info("race-data service answered HTTP %s in %.3f s", response.status_code, time.monotonic() - started)
        if response.status_code != 200:
            raise RaceDataUnavailable(f"HTTP {response.status_code} from the race-data service")
        try:
            body = response.json()
        except ValueError:
            raise RaceDataUnavailable("the race-data service did not answer JSON") from None
        if not isinstance(body, dict):
            raise RaceDataUnavailable("the race-data service answered JSON that is not an object")
        if self.cache_seconds > 0:
            self._cache[path] = (now, body)
        return body


def _session() -> requests.Session:
    """One connection pool per container; a connection that could not be made is tried once more (nothing
    was sent yet), a slow or failed answer is not (the user is waiting)."""
    session = requests.Session()
    retry = Retry(total=1, connect=1, read=0, status=0, other=0, allowed_methods=frozenset({"GET"}),
                  backoff_factor=0, raise_on_status=False)
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
