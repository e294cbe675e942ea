"""The skill's Lambda handler driven with Alexa request envelopes, against the sample race-data service on
loopback: speech, reprompt, card, session attributes and shouldEndSession of every answer."""
from __future__ import annotations

import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from runtime.alexa_skill import handler as entry
from runtime.alexa_skill.handler import ForeignSkill
from runtime.alexa_skill.races import RaceDataClient
from runtime.alexa_skill.sample_service import SampleService
from tests.alexa_skill.conftest import (
    ARAPAHOE,
    SKILL_ID,
    TAMPA,
    TODAY,
    LambdaContext,
    envelope,
    reprompt,
    skill_handler,
    speech,
    track_slot,
)

ASK_FOR_TRACK = "Please tell me your favorite track by saying, my favorite track is Arapahoe Park."
WHAT_TO_ASK = "You can ask me how many races there are today, or when the next stakes race is."
APOLOGY = "Sorry, I can't get the race information right now. Please try again in a little while."


def card(response):
    return response["response"]["card"]


def ended(response):
    return response["response"]["shouldEndSession"]


def test_launch_welcomes_and_asks_for_a_track(skill):
    response = skill(envelope("launch_request"))
    assert speech(response) == "Welcome to horse racing. " + ASK_FOR_TRACK
    assert reprompt(response) == ASK_FOR_TRACK
    assert card(response) == {"type": "Simple", "title": "Horse Racing",
                              "content": "Welcome to horse racing. " + ASK_FOR_TRACK}
    assert ended(response) is False and response["sessionAttributes"] == {}


def test_a_track_alexa_resolved_is_kept_in_the_session(skill):
    response = skill(envelope("favorite_track_intent"))  # "tampa", resolved by Alexa to Tampa Bay Downs
    assert speech(response) == f"I now know your favorite track is Tampa Bay Downs. {WHAT_TO_ASK}"
    assert reprompt(response) == WHAT_TO_ASK and card(response)["content"] == speech(response)
    assert response["sessionAttributes"] == {"favoriteTrack": TAMPA} and ended(response) is False


def test_an_unknown_track_gets_a_helpful_reprompt_and_keeps_the_track_already_named(skill):
    response = skill(envelope("favorite_track_intent_no_match", attributes={"favoriteTrack": ARAPAHOE}))
    assert speech(response) == ("I don't know a track called saratoga. I know Arapahoe Park and Tampa Bay Downs. "
                                + ASK_FOR_TRACK)
    assert reprompt(response) == ASK_FOR_TRACK and ended(response) is False
    assert response["sessionAttributes"] == {"favoriteTrack": ARAPAHOE}


@pytest.mark.parametrize("heard, status, expected", [
    ("tampa downs", "ER_ERROR_TIMEOUT", TAMPA),      # Alexa could not resolve in time: the model's synonyms do
    ("Arapahoe Park Race Track", None, ARAPAHOE),     # no resolutions at all: the same
    ("Aurora", "ER_ERROR_EXCEPTION", ARAPAHOE),
])
def test_a_track_alexa_could_not_resolve_is_matched_against_the_models_synonyms(skill, heard, status, expected):
    response = skill(envelope("favorite_track_intent", slots=track_slot(heard, status)))
    assert response["sessionAttributes"] == {"favoriteTrack": expected}
    assert speech(response).startswith(f"I now know your favorite track is {expected['name']}.")


def test_an_alexa_no_match_is_not_overruled_by_the_synonyms(skill):
    response = skill(envelope("favorite_track_intent", slots=track_slot("tampa", "ER_SUCCESS_NO_MATCH")))
    assert response["sessionAttributes"] == {} and speech(response).startswith("I don't know a track called tampa.")


def test_the_track_intent_without_a_value_asks_for_the_track(skill):
    response = skill(envelope("favorite_track_intent", slots=track_slot(None)))
    assert speech(response) == ASK_FOR_TRACK and reprompt(response) == ASK_FOR_TRACK
    assert response["sessionAttributes"] == {} and ended(response) is False


def test_the_race_count_of_the_session_track_ends_the_session(skill):
    response = skill(envelope("how_many_races_intent"))  # favoriteTrack: Tampa Bay Downs, a Saturday in March
    assert speech(response) == "There are 10 races at Tampa Bay Downs today. Thank you, good bye."
    assert card(response)["content"] == speech(response)
    assert ended(response) is True and "reprompt" not in response["response"]


def test_a_track_out_of_season_has_no_races(skill):
    response = skill(envelope("how_many_races_intent", attributes={"favoriteTrack": ARAPAHOE}))
    assert speech(response) == "There are no races at Arapahoe Park today. Thank you, good bye."


@pytest.mark.parametrize("intent", ["HowManyRacesIntent", "NextStakesRaceIntent"])
def test_without_a_track_the_skill_reprompts_for_one(skill, intent):
    response = skill(envelope("how_many_races_intent", attributes={}, intent=intent))
    assert speech(response) == ASK_FOR_TRACK and reprompt(response) == ASK_FOR_TRACK
    assert ended(response) is False and response["sessionAttributes"] == {}


@pytest.mark.parametrize("track, expected", [
    (TAMPA, "The next stakes race at Tampa Bay Downs is the Tampa Bay Derby, on Saturday, March 13."),
    (ARAPAHOE, "The next stakes race at Arapahoe Park is the Rocky Mountain Stakes, on Saturday, June 19."),
])
def test_the_next_stakes_race_is_named_with_its_date(skill, track, expected):
    response = skill(envelope("how_many_races_intent", attributes={"favoriteTrack": track},
                              intent="NextStakesRaceIntent"))
    assert speech(response) == f"{expected} {WHAT_TO_ASK}"
    assert reprompt(response) == WHAT_TO_ASK and ended(response) is False
    assert response["sessionAttributes"] == {"favoriteTrack": track}


def test_session_attributes_carry_across_turns(skill):
    launched = skill(envelope("launch_request"))
    named = skill(envelope("favorite_track_intent", attributes=launched["sessionAttributes"],
                           slots=track_slot("arapahoe", "ER_SUCCESS_MATCH",
                                            {"name": "Arapahoe Park", "id": "ARAPAHOE_PARK"})))
    stakes = skill(envelope("how_many_races_intent", attributes=named["sessionAttributes"],
                            intent="NextStakesRaceIntent"))
    assert "Arapahoe Park is the Rocky Mountain Stakes" in speech(stakes)
    count = skill(envelope("how_many_races_intent", attributes=stakes["sessionAttributes"]))
    assert speech(count).startswith("There are no races at Arapahoe Park today.") and ended(count) is True


@pytest.mark.parametrize("intent, attributes, expected, end", [
    ("AMAZON.HelpIntent", {}, "I know the races at Arapahoe Park and Tampa Bay Downs. " + ASK_FOR_TRACK
     + " Then you can ask me how many races there are today, or when the next stakes race is.", False),
    ("AMAZON.HelpIntent", {"favoriteTrack": TAMPA}, f"Your favorite track is Tampa Bay Downs. {WHAT_TO_ASK}", False),
    ("AMAZON.StopIntent", {"favoriteTrack": TAMPA}, "Thank you, good bye.", True),
    ("AMAZON.CancelIntent", {}, "Thank you, good bye.", True),
    ("AMAZON.FallbackIntent", {}, "Sorry, I can't help with that. " + ASK_FOR_TRACK, False),
    ("AMAZON.FallbackIntent", {"favoriteTrack": TAMPA}, "Sorry, I can't help with that. " + WHAT_TO_ASK, False),
    ("AMAZON.NavigateHomeIntent", {}, "Welcome to horse racing. " + ASK_FOR_TRACK, False),
    ("AMAZON.NavigateHomeIntent", {"favoriteTrack": TAMPA},
     f"Welcome back. Your favorite track is Tampa Bay Downs. {WHAT_TO_ASK}", False),
])
def test_built_in_intents(skill, intent, attributes, expected, end):
    response = skill(envelope("how_many_races_intent", attributes=attributes, intent=intent))
    assert speech(response) == expected and card(response)["content"] == expected
    assert ended(response) is end and (reprompt(response) is None) is end
    assert response["sessionAttributes"] == attributes


def test_an_intent_the_model_does_not_have_gets_a_polite_answer(skill, caplog):
    with caplog.at_level(logging.WARNING):
        response = skill(envelope("how_many_races_intent", intent="MyColorIsIntent"))
    assert speech(response) == "Sorry, I can't help with that. " + WHAT_TO_ASK and ended(response) is False
    assert "no handler for IntentRequest MyColorIsIntent" in caplog.text


def test_session_ended_is_logged_and_answered_without_speech(skill, caplog):
    with caplog.at_level(logging.INFO):
        response = skill(envelope("session_ended_request"))
    assert response["response"] == {}
    assert "session ended: ERROR (INVALID_RESPONSE: An exception occurred" in caplog.text


def test_a_failing_handler_is_answered_politely_and_logged(race_service, caplog):
    class Broken(RaceDataClient):
        def races_today(self, track_id, seconds_left=None):
            raise KeyError("bug")
    handler = skill_handler(race_service.url, races=Broken(race_service.url, 1, 0))
    with caplog.at_level(logging.ERROR):
        response = handler(envelope("how_many_races_intent"), LambdaContext())
    assert speech(response) == "Sorry, I had trouble doing what you asked. Please try again."
    assert reprompt(response) == WHAT_TO_ASK and ended(response) is False
    assert "failed to answer IntentRequest HowManyRacesIntent" in caplog.text and "KeyError" in caplog.text


# --- the race-data service down, slow, or answering nonsense ------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("intent", ["HowManyRacesIntent", "NextStakesRaceIntent"])
def test_the_service_down_gets_a_spoken_apology_and_the_session_stays_open(intent, caplog):
    handler = skill_handler(f"http://127.0.0.1:{free_port()}")
    with caplog.at_level(logging.WARNING):
        response = handler(envelope("how_many_races_intent", intent=intent), LambdaContext())
    assert speech(response) == APOLOGY and reprompt(response) == WHAT_TO_ASK and ended(response) is False
    assert response["sessionAttributes"] == {"favoriteTrack": TAMPA}
    assert "race data unavailable" in caplog.text and "ConnectionError" in caplog.text


def test_a_slow_service_is_given_up_on_within_the_timeout():
    slow = SampleService(today=lambda timezone: TODAY, delay_seconds=2.0).start()
    try:
        handler = skill_handler(slow.url, timeout=0.3)
        started = time.monotonic()
        response = handler(envelope("how_many_races_intent"), LambdaContext())
        elapsed = time.monotonic() - started
    finally:
        slow.stop()
    assert speech(response) == APOLOGY and elapsed < 1.5


def test_a_call_is_not_started_when_the_invocation_has_no_time_left(race_service):
    before = race_service.requests_served
    response = skill_handler(race_service.url)(envelope("how_many_races_intent"), LambdaContext(seconds=0.4))
    assert speech(response) == APOLOGY and race_service.requests_served == before


class Canned(ThreadingHTTPServer):
    """A race-data service that answers every request with one status and body."""

    def __init__(self, status: int, body: bytes):
        self.status, self.body = status, body

        class Handler(BaseHTTPRequestHandler):
            def do_GET(handler):  # noqa: N802,N805
                handler.send_response(self.status)
                handler.send_header("Content-Type", "application/json")
                handler.send_header("Content-Length", str(len(self.body)))
                handler.end_headers()
                handler.wfile.write(self.body)

            def log_message(handler, *args):  # noqa: N805
                pass
        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.mark.parametrize("status, body", [
    (503, b'{"error": "maintenance"}'), (404, b'{"error": "no track"}'), (200, b"<html>oops</html>"),
    (200, b'["a list"]'), (200, b'{"track": {"name": "Tampa Bay Downs"}, "date": "2027-03-13"}'),
    (200, b'{"track": {"name": "Tampa Bay Downs"}, "date": "yesterday", "races": []}'),
])
def test_a_service_answering_nonsense_gets_the_apology(status, body):
    service = Canned(status, body)
    try:
        response = skill_handler(service.url)(envelope("how_many_races_intent"), LambdaContext())
    finally:
        service.shutdown()
        service.server_close()
    assert speech(response) == APOLOGY and ended(response) is False


def test_names_from_the_service_are_escaped_in_ssml_and_plain_on_the_card():
    service = Canned(200, b'{"track": {"name": "Smith & <Sons> Downs"}, "date": "2027-03-13", "races": [{}, {}]}')
    try:
        response = skill_handler(service.url)(envelope("how_many_races_intent"), LambdaContext())
    finally:
        service.shutdown()
        service.server_close()
    assert speech(response) == "There are 2 races at Smith &amp; &lt;Sons&gt; Downs today. Thank you, good bye."
    assert card(response)["content"] == "There are 2 races at Smith & <Sons> Downs today. Thank you, good bye."


def test_answers_are_cached_for_the_configured_time(race_service):
    clock = [100.0]
    client = RaceDataClient(race_service.url, 1.0, cache_seconds=60, clock=lambda: clock[0])
    handler = skill_handler(race_service.url, races=client)
    before = race_service.requests_served
    first = handler(envelope("how_many_races_intent"), LambdaContext())
    clock[0] += 59
    second = handler(envelope("how_many_races_intent"), LambdaContext())
    assert race_service.requests_served == before + 1 and speech(first) == speech(second)
    clock[0] += 2
    handler(envelope("how_many_races_intent"), LambdaContext())
    assert race_service.requests_served == before + 2


def test_failures_are_not_cached():
    port = free_port()
    client = RaceDataClient(f"http://127.0.0.1:{port}", 1.0, cache_seconds=60)
    handler = skill_handler(client.base_url, races=client)
    assert speech(handler(envelope("how_many_races_intent"), LambdaContext())) == APOLOGY
    service = SampleService(port=port, today=lambda timezone: TODAY).start()
    try:
        response = handler(envelope("how_many_races_intent"), LambdaContext())
    finally:
        service.stop()
    assert speech(response) == "There are 10 races at Tampa Bay Downs today. Thank you, good bye."


# --- envelopes the SDK cannot use, and requests of another skill ----------------------------------------------


@pytest.mark.parametrize("event", [
    {}, [], "LaunchRequest", {"version": "1.0", "request": {"type": "LaunchRequest"}},
    {**envelope("launch_request"), "context": {}},
    {**envelope("launch_request"), "request": {"type": "Alexa.Unknown.Thing", "requestId": "amzn1.echo-api.request.x",
                                               "timestamp": "2027-03-13T15:04:05Z", "locale": "en-US"}},
])
def test_a_malformed_envelope_gets_a_short_refusal_not_an_error(skill, event, caplog):
    with caplog.at_level(logging.WARNING):
        response = skill(event)
    assert response == {"version": "1.0", "response": {
        "outputSpeech": {"type": "PlainText", "text": "Sorry, I could not read that request."},
        "shouldEndSession": True}}
    assert "not an Alexa request envelope" in caplog.text


def test_a_request_of_another_skill_is_refused(skill, caplog):
    event = envelope("launch_request")
    other = "amzn1.ask.skill.00000000-1111-2222-3333-444444444444"
    event["context"]["System"]["application"]["applicationId"] = other
    event["session"]["application"]["applicationId"] = other
    with pytest.raises(ForeignSkill, match=other), caplog.at_level(logging.WARNING):
        skill(event)
    assert f"refused a request of skill {other}" in caplog.text


def test_the_lambda_entry_point_reads_its_settings_from_the_environment(race_service, monkeypatch):
    monkeypatch.setattr(entry, "_handler", None)
    monkeypatch.setenv("SKILL_ID", SKILL_ID)
    monkeypatch.setenv("RACE_DATA_URL", race_service.url)
    monkeypatch.setenv("RACE_DATA_CACHE_SECONDS", "0")
    response = entry.handler(envelope("how_many_races_intent"), LambdaContext())
    assert speech(response) == "There are 10 races at Tampa Bay Downs today. Thank you, good bye."


def test_the_lambda_entry_point_without_a_skill_id_fails_loudly(monkeypatch):
    monkeypatch.setattr(entry, "_handler", None)
    monkeypatch.delenv("SKILL_ID", raising=False)
    monkeypatch.setenv("RACE_DATA_URL", "https://race-data.example.com")
    with pytest.raises(ValueError, match="SKILL_ID is not set"):
        entry.handler(envelope("launch_request"), LambdaContext())

