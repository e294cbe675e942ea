"""The local REPL: typed utterances become Alexa request envelopes, the session carries across turns."""
from __future__ import annotations

import io
import subprocess
import sys

from components.packaging import PROJECT_DIR
from runtime.alexa_skill.talk import converse
from tests.alexa_skill.conftest import SKILL_ID, skill_handler

SCRIPT = """open talk horse racing
how many races
my favorite track is tampa
when is the next stakes race
what is the weather
how many races
ask talk horse racing how many races
quit
"""


def test_python_m_talk_holds_a_conversation_with_the_sample_service():
    result = subprocess.run([sys.executable, "-m", "runtime.alexa_skill.talk", "--today", "2027-03-13"],
                            input=SCRIPT, capture_output=True, text=True, cwd=PROJECT_DIR, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "Alexa: Welcome to horse racing. Please tell me your favorite track by saying, my favorite track is "
        "Arapahoe Park.",
        "Alexa: Please tell me your favorite track by saying, my favorite track is Arapahoe Park.",
        "Alexa: I now know your favorite track is Tampa Bay Downs. You can ask me how many races there are today, "
        "or when the next stakes race is.",
        "Alexa: The next stakes race at Tampa Bay Downs is the Tampa Bay Derby, on Saturday, March 13. You can ask "
        "me how many races there are today, or when the next stakes race is.",
        "Alexa: Sorry, I can't help with that. You can ask me how many races there are today, or when the next "
        "stakes race is.",
        "Alexa: There are 10 races at Tampa Bay Downs today. Thank you, good bye.",
        "(session ended)",
        # a one-shot in a new session: the track of the last one is gone
        "Alexa: Please tell me your favorite track by saying, my favorite track is Arapahoe Park.",
    ]


def test_each_turn_is_an_envelope_of_one_session_until_the_skill_ends_it(race_service):
    handler = skill_handler(race_service.url)
    seen = []

    def recording(event, context):
        response = handler(event, context)
        seen.append((event, response))
        return response
    converse(recording, io.StringIO("my favourite track is arapahoe\nhow many races\nhelp\n"), io.StringIO(), SKILL_ID)
    requests = [event["request"] for event, _ in seen]
    sessions = [event["session"] for event, _ in seen]
    assert [r["type"] for r in requests] == ["IntentRequest", "IntentRequest", "IntentRequest", "SessionEndedRequest"]
    slot = requests[0]["intent"]["slots"]["TrackName"]
    assert slot["value"] == "arapahoe"
    assert slot["resolutions"]["resolutionsPerAuthority"][0]["values"] == [
        {"value": {"name": "Arapahoe Park", "id": "ARAPAHOE_PARK"}}]
    assert sessions[1]["attributes"] == {"favoriteTrack": {"id": "ARAPAHOE_PARK", "name": "Arapahoe Park"}}
    assert [s["new"] for s in sessions] == [True, False, True, False]
    assert sessions[0]["sessionId"] == sessions[1]["sessionId"] != sessions[2]["sessionId"] == sessions[3]["sessionId"]
    assert sessions[2]["attributes"] == {} and requests[3]["reason"] == "USER_INITIATED"
    assert all(e["context"]["System"]["application"]["applicationId"] == SKILL_ID for e, _ in seen)
