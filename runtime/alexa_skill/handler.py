"""The Lambda entry point of the horse-racing skill: checks the envelope, then lets the SDK answer.

What Alexa sends that the skill cannot use is answered, never raised: a request the SDK cannot read (malformed,
or of a type it does not know) gets a short spoken refusal, since it is the sender's mistake, not the
function's (so it does not count as a function error). A request of another skill is refused by raising: the
Lambda permission admits only this skill, so one arriving means something is wrong, and the errors alarm
should say so.
"""
from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from typing import Any

from ask_sdk_core.exceptions import AskSdkException, SerializationException
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_model import RequestEnvelope

from runtime.alexa_skill.contract import Settings
from runtime.alexa_skill.races import RaceDataClient
from runtime.alexa_skill.skill import build_skill

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)

REFUSAL = "Sorry, I could not read that request."


class ForeignSkill(PermissionError):
    """A request of a skill other than this one."""


def make_handler(settings: Settings, races: RaceDataClient | None = None) -> Callable[[Any, Any], dict]:
    """The Lambda entry point for ``settings``: checks the envelope, then lets the SDK answer."""
    skill = build_skill(settings, races)
    serializer = DefaultSerializer()

    def handle(event: Any, context: Any) -> dict:
        problem = envelope_problem(event)
        if problem is None:
            sender = event["context"]["System"]["application"]["applicationId"]
            if sender != settings.skill_id:
                logger.warning("refused a request of skill %s", sender)
                raise ForeignSkill(f"request of skill {sender}; this function answers {settings.skill_id} only")
            try:
                envelope = serializer.deserialize(json.dumps(event), RequestEnvelope)
            except SerializationException as error:
                problem = f"the SDK cannot read it ({error})"
        if problem is not None:
            logger.warning("refused a request that is not an Alexa request envelope: %s", problem)
            return refusal()
        try:
            return serializer.serialize(skill.invoke(envelope, context))
        except AskSdkException:
            logger.exception("the SDK could not answer %s", event["request"]["type"])
            return refusal()

    return handle


def envelope_problem(event: Any) -> str | None:
    """What makes ``event`` not an Alexa request envelope; None when it is one."""
    if not isinstance(event, dict):
        return f"a {type(event).__name__}, not a JSON object"
    request = event.get("request")
    if not isinstance(request, dict) or not isinstance(request.get("type"), str) or not request.get("requestId"):
        return "no request with a type and a requestId"
    system = (event.get("context") or {}).get("System") if isinstance(event.get("context"), dict) else None
    application = system.get("application") if isinstance(system, dict) else None
    if not isinstance(application, dict) or not isinstance(application.get("applicationId"), str):
        return "no context.System.application.applicationId"
    return None


def refusal() -> dict:
    return {"version": "1.0", "response": {"outputSpeech": {"type": "PlainText", "text": REFUSAL},
                                           "shouldEndSession": True}}


_handler: Callable[[Any, Any], dict] | None = None


def handler(event: Any, context: Any) -> dict:
    """What Lambda calls; the skill is built on the first request of a container, from its environment."""
    global _handler
    if _handler is None:
        _handler = make_handler(Settings.from_env(os.environ))
    return _handler(event, context)
