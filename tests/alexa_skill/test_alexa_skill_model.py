"""The interaction model, the skill manifest and the handlers agree: every intent of the model has a handler and
every handler an intent; every sample utterance means its intent; every track is one the data service knows."""
from __future__ import annotations

import json
import logging
import re

import pytest
import requests

from components.packaging import project_path
from runtime.alexa_skill import envelopes
from runtime.alexa_skill import model as interaction_model
from runtime.alexa_skill.contract import SKILL_PACKAGE_DIR
from runtime.alexa_skill.skill import Conversation
from runtime.alexa_skill.talk import Understanding
from tests.alexa_skill.conftest import SKILL_ID, envelope

MODEL = interaction_model.load()
MANIFEST = json.loads(project_path(SKILL_PACKAGE_DIR).joinpath("skill.json").read_text())["manifest"]


def test_every_intent_of_the_model_has_a_handler_and_every_handler_an_intent():
    in_model, handled = set(MODEL.intents), set(Conversation.INTENTS)
    assert sorted(in_model - handled) == [], "intents of the model without a handler"
    assert sorted(handled - in_model) == [], "handlers of intents the model does not have"


@pytest.mark.parametrize("intent", sorted(MODEL.intents))
def test_each_intent_of_the_model_reaches_its_own_handler(skill, intent, caplog):
    with caplog.at_level(logging.WARNING):
        response = skill(envelope("how_many_races_intent", intent=intent))
    assert "no handler" not in caplog.text and "failed to answer" not in caplog.text
    assert response["response"]["outputSpeech"]["ssml"]


def test_the_model_has_the_tracks_of_the_issue_with_synonyms():
    assert [(t.id, t.name) for t in MODEL.tracks] == [("ARAPAHOE_PARK", "Arapahoe Park"),
                                                       ("TAMPA_BAY_DOWNS", "Tampa Bay Downs")]
    assert all(t.synonyms for t in MODEL.tracks)
    spoken = [interaction_model.normalised(v) for t in MODEL.tracks for v in (t.name, *t.synonyms)]
    assert len(spoken) == len(set(spoken)), "a synonym that names two tracks"
    assert MODEL.intents["FavoriteTrackIntent"].slots == {"TrackName": "TrackName"}


def test_every_track_of_the_model_is_known_to_the_data_service(race_service):
    for track in MODEL.tracks:
        answer = requests.get(f"{race_service.url}/v1/tracks/{track.id}/races/today", timeout=2)
        assert answer.status_code == 200 and answer.json()["track"]["name"] == track.name


@pytest.mark.parametrize("intent, sample", [(i.name, s) for i in MODEL.intents.values() for s in i.samples])
def test_each_sample_utterance_means_its_own_intent(intent, sample):
    typed = sample.replace("{TrackName}", "tampa bay downs")
    request_type, understood, slots = Understanding(MODEL)(typed)
    assert (request_type, understood) == ("IntentRequest", intent)
    assert slots == ({"TrackName": "tampa bay downs"} if "{TrackName}" in sample else {})


def test_the_invocation_name_is_one_alexa_accepts():
    name = MODEL.invocation_name
    assert name == "talk horse racing" and name == name.lower() and len(name.split()) >= 2
    assert not re.search(r"\b(alexa|amazon|echo|skill|app)\b", name) and re.fullmatch(r"[a-z ]+", name)


def test_the_manifest_points_alexa_at_a_lambda_and_its_example_phrases_work():
    assert MANIFEST["manifestVersion"] == "1.0"
    endpoint = MANIFEST["apis"]["custom"]["endpoint"]["uri"]
    assert re.fullmatch(r"arn:aws:lambda:[a-z0-9-]+:\d{12}:function:[\w-]+", endpoint)
    locales = MANIFEST["publishingInformation"]["locales"]
    models = project_path(SKILL_PACKAGE_DIR).joinpath("interactionModels", "custom")
    assert sorted(locales) == sorted(p.stem for p in models.glob("*.json")) == ["en-US"]
    understand = Understanding(MODEL)
    for phrase in locales["en-US"]["examplePhrases"]:
        assert phrase.startswith("Alexa, ") and MODEL.invocation_name in phrase
        request_type, intent, _ = understand(phrase)
        assert intent != "AMAZON.FallbackIntent", phrase


def shape(value, depth=3):
    """Key structure of a JSON value to ``depth`` levels."""
    if isinstance(value, dict) and depth:
        return {k: shape(v, depth - 1) for k, v in value.items()}
    return type(value).__name__


@pytest.mark.parametrize("fixture, alexa_request", [
    ("launch_request", envelopes.launch_request()),
    ("how_many_races_intent", envelopes.intent_request("HowManyRacesIntent")),
    ("session_ended_request", {**envelopes.session_ended_request("ERROR"),
                               "error": {"type": "INVALID_RESPONSE", "message": "m"}}),
])
def test_the_repls_envelopes_have_the_shape_of_alexas(fixture, alexa_request):
    alexa = envelope(fixture)
    built = envelopes.Session(SKILL_ID, attributes=alexa["session"]["attributes"]).envelope(alexa_request)
    assert set(built) == set(alexa)
    assert shape(built["session"]) == shape(alexa["session"])
    assert set(built["context"]["System"]) <= set(alexa["context"]["System"])
    assert set(built["request"]) == set(alexa["request"]) - {"shouldLinkResultBeReturned"}


def test_the_repls_track_slot_has_the_shape_of_alexas():
    alexa = envelope("favorite_track_intent")["request"]["intent"]["slots"]["TrackName"]
    built = envelopes.track_slot(MODEL, SKILL_ID, "tampa")
    assert set(built) == set(alexa) - {"slotValue"}
    assert built["resolutions"] == alexa["resolutions"]
    missing = envelopes.track_slot(MODEL, SKILL_ID, "saratoga")["resolutions"]["resolutionsPerAuthority"]
    assert missing == [{"authority": f"amzn1.er-authority.echo-sdk.{SKILL_ID}.TrackName",
                        "status": {"code": "ER_SUCCESS_NO_MATCH"}}]
