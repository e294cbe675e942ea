"""Alexa request envelopes as the Alexa service sends them to a skill, for the local REPL (``talk.py``).

The shapes follow the ASK request reference: ``version``, ``session`` (new, sessionId, application, attributes,
user), ``context.System`` (application, user, device, apiEndpoint) and ``request`` (type, requestId, timestamp,
locale, and the type's own fields). A custom slot carries its spoken ``value`` and the entity-resolution result
Alexa computes from the slot type's values and synonyms: ``ER_SUCCESS_MATCH`` with the value's id and name, or
``ER_SUCCESS_NO_MATCH``.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from runtime.alexa_skill.model import TRACK_SLOT, InteractionModel

LOCALE = "en-US"
USER_ID = "amzn1.ask.account.LOCAL-REPL-USER"
DEVICE_ID = "amzn1.ask.device.LOCAL-REPL-DEVICE"


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def track_slot(model: InteractionModel, skill_id: str, heard: str) -> dict[str, Any]:
    """The track slot as Alexa fills it, with the entity resolution Alexa would report for ``heard``."""
    name = TRACK_SLOT
    slot_type = next(i.slots[name] for i in model.intents.values() if name in i.slots)
    track = model.track(heard)
    authority = {"authority": f"amzn1.er-authority.echo-sdk.{skill_id}.{slot_type}",
                 "status": {"code": "ER_SUCCESS_MATCH" if track else "ER_SUCCESS_NO_MATCH"}}
    if track:
        authority["values"] = [{"value": {"name": track.name, "id": track.id}}]
    return {"name": name, "value": heard, "confirmationStatus": "NONE", "source": "USER",
            "resolutions": {"resolutionsPerAuthority": [authority]}}


@dataclass
class Session:
    """One conversation: a session id, its attributes as the skill last returned them, and request ids."""

    skill_id: str
    attributes: dict[str, Any] = field(default_factory=dict)
    new: bool = True
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    session_number: int = 1

    def envelope(self, request: dict[str, Any]) -> dict[str, Any]:
        number = next(self._ids)
        application = {"applicationId": self.skill_id}
        user = {"userId": USER_ID}
        return {
            "version": "1.0",
            "session": {"new": self.new, "sessionId": f"amzn1.echo-api.session.local-{self.session_number:04d}",
                        "application": application, "attributes": dict(self.attributes), "user": user},
            "context": {"System": {"application": application, "user": user,
                                   "device": {"deviceId": DEVICE_ID, "supportedInterfaces": {}},
                                   "apiEndpoint": "https://api.amazonalexa.com"}},
            "request": {"requestId": f"amzn1.echo-api.request.local-{self.session_number:04d}-{number:04d}",
                        "timestamp": _now(), "locale": LOCALE, **request},
        }

    def answered(self, response: dict[str, Any]) -> bool:
        """Takes in the skill's response; True when it ended the session (the next request starts a new one)."""
        self.new = False
        self.attributes = dict(response.get("sessionAttributes") or {})
        ended = (response.get("response") or {}).get("shouldEndSession") is not False
        if ended:
            self.restart()
        return ended

    def restart(self) -> None:
        self.attributes, self.new, self.session_number = {}, True, self.session_number + 1


def launch_request() -> dict[str, Any]:
    return {"type": "LaunchRequest"}


def intent_request(name: str, slots: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    intent: dict[str, Any] = {"name": name, "confirmationStatus": "NONE"}
    if slots:
        intent["slots"] = slots
    return {"type": "IntentRequest", "intent": intent}


def session_ended_request(reason: str = "USER_INITIATED") -> dict[str, Any]:
    return {"type": "SessionEndedRequest", "reason": reason}
