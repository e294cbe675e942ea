"""The horse-racing skill's conversation, on the Alexa Skills Kit SDK for Python (``ask-sdk-core``).

The user names a favourite track ("my favorite track is Tampa Bay Downs"), which is kept in the session
(attribute ``favoriteTrack``: its id and name); then asks how many races there are today (the answer ends the
session) or when the next stakes race is. The seed's names from the colour tutorial (``MyColorIsIntent``,
``favoriteColor``) are gone: intents and attributes are named for what they hold.

Unknown intents and failures inside a handler get a polite answer from the exception handler (and the error in
the log); the envelope checks are in ``handler.py``, the Lambda entry point.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar
from xml.sax.saxutils import escape

from ask_sdk_core.dispatch_components import AbstractExceptionHandler, AbstractRequestHandler
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.skill import CustomSkill
from ask_sdk_core.skill_builder import SkillBuilder
from ask_sdk_core.utils import get_slot, is_intent_name, is_request_type
from ask_sdk_model import Response
from ask_sdk_model.slu.entityresolution import StatusCode
from ask_sdk_model.ui import SimpleCard
from ask_sdk_runtime.exceptions import DispatchException

from runtime.alexa_skill import model as interaction_model
from runtime.alexa_skill.contract import Settings
from runtime.alexa_skill.races import RaceCard, RaceDataClient, RaceDataUnavailable, StakesRace

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)

CARD_TITLE = "Horse Racing"
SESSION_TRACK = "favoriteTrack"
ASK_FOR_TRACK = "Please tell me your favorite track by saying, my favorite track is Arapahoe Park."
WHAT_TO_ASK = "You can ask me how many races there are today, or when the next stakes race is."
WELCOME = "Welcome to horse racing. " + ASK_FOR_TRACK
GOOD_BYE = "Thank you, good bye."
DATA_APOLOGY = "Sorry, I can't get the race information right now. Please try again in a little while."
CANNOT_HELP = "Sorry, I can't help with that. "
TROUBLE = "Sorry, I had trouble doing what you asked. Please try again."

Respond = Callable[[HandlerInput], Response]
T = TypeVar("T")


def speak(handler_input: HandlerInput, speech: str, reprompt: str | None = None, end: bool = False) -> Response:
    """Speech (as SSML, so escaped) and the same text on the card; with a reprompt the session stays open."""
    builder = handler_input.response_builder.speak(escape(speech)).set_card(SimpleCard(CARD_TITLE, speech))
    if reprompt:
        builder.ask(escape(reprompt))
    return builder.set_should_end_session(end).response


def seconds_left(handler_input: HandlerInput) -> float | None:
    remaining = getattr(handler_input.context, "get_remaining_time_in_millis", None)
    return remaining() / 1000 if remaining else None


class Conversation:
    """What the skill answers, one method per request type or intent."""

    def __init__(self, races: RaceDataClient, model: interaction_model.InteractionModel):
        self.races = races
        self.model = model

    REQUESTS = {"LaunchRequest": "launch", "SessionEndedRequest": "session_ended"}
    INTENTS = {"FavoriteTrackIntent": "favorite_track", "HowManyRacesIntent": "how_many_races",
               "NextStakesRaceIntent": "next_stakes_race", "AMAZON.HelpIntent": "help",
               "AMAZON.StopIntent": "good_bye", "AMAZON.CancelIntent": "good_bye",
               "AMAZON.FallbackIntent": "fallback", "AMAZON.NavigateHomeIntent": "launch"}
    """Request type or intent name -> the method that answers it."""

    def launch(self, handler_input: HandlerInput) -> Response:
        track = self.session_track(handler_input)
        if track:
            return speak(handler_input, f"Welcome back. Your favorite track is {track['name']}. {WHAT_TO_ASK}",
                         WHAT_TO_ASK)
        return speak(handler_input, WELCOME, ASK_FOR_TRACK)

    def favorite_track(self, handler_input: HandlerInput) -> Response:
        track, heard = self.resolve_track(handler_input)
        if track is None:
            if not heard:
                return speak(handler_input, ASK_FOR_TRACK, ASK_FOR_TRACK)
            return speak(handler_input, f"I don't know a track called {heard}. I know {self.model.track_names}. "
                         + ASK_FOR_TRACK, ASK_FOR_TRACK)
        handler_input.attributes_manager.session_attributes[SESSION_TRACK] = {"id": track.id, "name": track.name}
        return speak(handler_input, f"I now know your favorite track is {track.name}. {WHAT_TO_ASK}", WHAT_TO_ASK)

    def how_many_races(self, handler_input: HandlerInput) -> Response:
        return self.with_race_data(handler_input, "the race count", self.races.races_today, self.race_count)

    def next_stakes_race(self, handler_input: HandlerInput) -> Response:
        return self.with_race_data(handler_input, "the next stakes race", self.races.next_stakes, self.stakes_race)

    def race_count(self, handler_input: HandlerInput, track: dict[str, str], card: RaceCard) -> Response:
        count = ("There are no races" if card.races == 0 else "There is 1 race" if card.races == 1
                 else f"There are {card.races} races")
        return speak(handler_input, f"{count} at {card.track_name} today. {GOOD_BYE}", end=True)

    def stakes_race(self, handler_input: HandlerInput, track: dict[str, str], race: StakesRace | None) -> Response:
        if race is None:
            speech = f"There is no stakes race scheduled at {track['name']}."
        else:
            speech = (f"The next stakes race at {race.track_name} is the {race.name}, on "
                      f"{race.date:%A}, {race.date:%B} {race.date.day}.")
        return speak(handler_input, f"{speech} {WHAT_TO_ASK}", WHAT_TO_ASK)

    def with_race_data(self, handler_input: HandlerInput, what: str, fetch: Callable[[str, float | None], T],
                       answer: Callable[[HandlerInput, dict[str, str], T], Response]) -> Response:
        """Asks for a track first if none is named yet, apologises if the service cannot answer in time."""
        track = self.session_track(handler_input)
        if track is None:
            return speak(handler_input, ASK_FOR_TRACK, ASK_FOR_TRACK)
        try:
            data = fetch(track["id"], seconds_left(handler_input))
        except RaceDataUnavailable as error:
            logger.warning("race data unavailable for %s at %s: %s", what, track["id"], error)
            return speak(handler_input, DATA_APOLOGY, WHAT_TO_ASK)
        return answer(handler_input, track, data)

    def help(self, handler_input: HandlerInput) -> Response:
        track = self.session_track(handler_input)
        if track:
            speech = f"Your favorite track is {track['name']}. {WHAT_TO_ASK}"
        else:
            speech = f"I know the races at {self.model.track_names}. {ASK_FOR_TRACK} Then {WHAT_TO_ASK[:1].lower()}" \
                     f"{WHAT_TO_ASK[1:]}"
        return speak(handler_input, speech, WHAT_TO_ASK if track else ASK_FOR_TRACK)

    def good_bye(self, handler_input: HandlerInput) -> Response:
        return speak(handler_input, GOOD_BYE, end=True)

    def fallback(self, handler_input: HandlerInput) -> Response:
        reprompt = WHAT_TO_ASK if self.session_track(handler_input) else ASK_FOR_TRACK
        return speak(handler_input, CANNOT_HELP + reprompt, reprompt)

    def session_ended(self, handler_input: HandlerInput) -> Response:
        request = handler_input.request_envelope.request
        error = getattr(request, "error", None)
        logger.info("session ended: %s%s", getattr(request.reason, "value", request.reason),
                    f" ({error.object_type.value if error.object_type else 'error'}: {error.message})"
                    if error else "")
        return handler_input.response_builder.response  # Alexa ignores any answer to this request

    def session_track(self, handler_input: HandlerInput) -> dict[str, str] | None:
        track = handler_input.attributes_manager.session_attributes.get(SESSION_TRACK)
        if isinstance(track, dict) and isinstance(track.get("id"), str) and isinstance(track.get("name"), str):
            return track
        return None

    def resolve_track(self, handler_input: HandlerInput) -> tuple[interaction_model.Track | None, str | None]:
        """The track the user named, and what Alexa heard. Alexa's entity resolution decides when it ran (a
        match, or no match); when it could not (timeout, error, or no resolutions at all), the model's names
        and synonyms decide."""
        slot = get_slot(handler_input, interaction_model.TRACK_SLOT)
        heard = slot.value.strip() if slot is not None and slot.value else None
        if not heard:
            return None, None
        authorities = slot.resolutions.resolutions_per_authority if slot.resolutions else None
        statuses = [a.status.code for a in authorities or () if a.status]
        for authority in authorities or ():
            if authority.status and authority.status.code == StatusCode.ER_SUCCESS_MATCH and authority.values:
                value = authority.values[0].value
                return self.model.track_named(value.id) or interaction_model.Track(value.id, value.name, ()), heard
        if StatusCode.ER_SUCCESS_NO_MATCH in statuses:
            return None, heard
        return self.model.track(heard), heard


class Route(AbstractRequestHandler):
    def __init__(self, matches: Callable[[HandlerInput], bool], respond: Respond):
        self.matches = matches
        self.respond = respond

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return self.matches(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        return self.respond(handler_input)


class Apology(AbstractExceptionHandler):
    """Anything a handler raised, and requests no handler takes (an intent not in the model)."""

    def __init__(self, conversation: Conversation):
        self.conversation = conversation

    def can_handle(self, handler_input: HandlerInput, exception: Exception) -> bool:
        return True

    def handle(self, handler_input: HandlerInput, exception: Exception) -> Response:
        request = handler_input.request_envelope.request
        intent = getattr(getattr(request, "intent", None), "name", None)
        if isinstance(exception, DispatchException):
            logger.warning("no handler for %s%s", request.object_type, f" {intent}" if intent else "")
            return self.conversation.fallback(handler_input)
        logger.error("failed to answer %s%s", request.object_type, f" {intent}" if intent else "", exc_info=exception)
        return speak(handler_input, TROUBLE, WHAT_TO_ASK)


def build_skill(settings: Settings, races: RaceDataClient | None = None) -> CustomSkill:
    races = races or RaceDataClient(settings.race_data_url, settings.timeout_seconds, settings.cache_seconds)
    conversation = Conversation(races, interaction_model.load())
    builder = SkillBuilder()
    builder.skill_id = settings.skill_id
    for request_type, method in Conversation.REQUESTS.items():
        builder.add_request_handler(Route(is_request_type(request_type), getattr(conversation, method)))
    for intent, method in Conversation.INTENTS.items():
        builder.add_request_handler(Route(is_intent_name(intent), getattr(conversation, method)))
    builder.add_exception_handler(Apology(conversation))
    return builder.create()
