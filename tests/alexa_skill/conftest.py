"""Alexa request envelopes (the JSON documents in envelopes/, shaped as the ASK request reference shows them),
the sample race-data service on a loopback port, and the skill's Lambda handler built against it."""
from __future__ import annotations

import copy
import json
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from runtime.alexa_skill.contract import Settings
from runtime.alexa_skill.handler import make_handler
from runtime.alexa_skill.races import RaceDataClient
from runtime.alexa_skill.sample_service import SampleService

ENVELOPES = Path(__file__).resolve().parent / "envelopes"
SKILL_ID = "amzn1.ask.skill.8f3c2a1e-5b7d-4c9e-a1f2-3d4e5f6a7b8c"
TODAY = date(2027, 3, 13)  # a Saturday: Tampa Bay Downs races (its derby day), Arapahoe Park is out of season
TAMPA = {"id": "TAMPA_BAY_DOWNS", "name": "Tampa Bay Downs"}
ARAPAHOE = {"id": "ARAPAHOE_PARK", "name": "Arapahoe Park"}


def envelope(name: str, **changes: Any) -> dict[str, Any]:
    """envelopes/<name>.json; ``attributes`` replaces the session's attributes, ``intent`` the intent's name
    (its slots dropped unless ``slots`` gives them)."""
    document = json.loads((ENVELOPES / f"{name}.json").read_text())
    if "attributes" in changes:
        document["session"]["attributes"] = copy.deepcopy(changes["attributes"])
    if "intent" in changes:
        document["request"]["intent"] = {"name": changes["intent"], "confirmationStatus": "NONE"}
    if "slots" in changes:
        document["request"]["intent"]["slots"] = changes["slots"]
    return document


def track_slot(value: str | None, status: str | None = None, resolved: dict | None = None) -> dict[str, Any]:
    """The TrackName slot as Alexa fills it: what it heard and, when entity resolution ran, its status."""
    slot: dict[str, Any] = {"name": "TrackName", "confirmationStatus": "NONE"}
    if value is not None:
        slot.update(value=value, source="USER")
    if status is not None:
        authority: dict[str, Any] = {"authority": f"amzn1.er-authority.echo-sdk.{SKILL_ID}.TrackName",
                                     "status": {"code": status}}
        if resolved:
            authority["values"] = [{"value": resolved}]
        slot["resolutions"] = {"resolutionsPerAuthority": [authority]}
    return {"TrackName": slot}


class LambdaContext:
    """What the handler reads of Lambda's context object: the time left in the invocation."""

    def __init__(self, seconds: float = 6.0):
        self.deadline = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


def speech(response: dict) -> str:
    return response["response"]["outputSpeech"]["ssml"].removeprefix("<speak>").removesuffix("</speak>")


def reprompt(response: dict) -> str | None:
    prompt = response["response"].get("reprompt")
    return prompt["outputSpeech"]["ssml"].removeprefix("<speak>").removesuffix("</speak>") if prompt else None


@pytest.fixture(scope="session")
def race_service():
    service = SampleService(today=lambda timezone: TODAY).start()
    yield service
    service.stop()


def skill_handler(url: str, timeout: float = 1.0, cache: int = 0, races: RaceDataClient | None = None):
    return make_handler(Settings(SKILL_ID, url, timeout, cache), races)


@pytest.fixture(scope="session")
def skill(race_service):
    """The handler against the sample service, without a cache (every answer is the service's)."""
    handler = skill_handler(race_service.url)
    return lambda event, seconds=6.0: handler(event, LambdaContext(seconds))
