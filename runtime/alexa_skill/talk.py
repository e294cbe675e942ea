"""Talk to the skill locally: ``python -m runtime.alexa_skill.talk``.

Each typed line is understood the way the interaction model says (its sample utterances, ``{TrackName}`` filled
and entity-resolved from the slot type's values and synonyms; the English phrases of the built-in intents;
anything else is ``AMAZON.FallbackIntent``), sent to the Lambda handler as the Alexa request envelope Alexa
would send, and what Alexa would say is printed. The session, with its attributes, carries across turns until
the skill ends it. "open talk horse racing" launches; "ask talk horse racing how many races" is a one-shot.
Without ``--race-data-url`` the sample race-data service is started on a free loopback port.

    $ python -m runtime.alexa_skill.talk --today 2027-03-13
    you> open talk horse racing
    Alexa: Welcome to horse racing. Please tell me your favorite track by saying, ...
"""
from __future__ import annotations

import argparse
import html
import json
import re
import sys
import time
from datetime import date
from typing import Any, TextIO

from runtime.alexa_skill import envelopes
from runtime.alexa_skill import model as interaction_model
from runtime.alexa_skill.contract import ENV_RACE_DATA_URL, ENV_SKILL_ID, Settings
from runtime.alexa_skill.handler import make_handler
from runtime.alexa_skill.sample_service import SampleService, track_today

PLACEHOLDER_SKILL_ID = "amzn1.ask.skill.00000000-0000-0000-0000-000000000000"
ALEXA_WAITS_SECONDS = 8.0
# What Alexa understands for the built-in intents without samples in the model (a few of its phrases).
BUILT_IN_PHRASES = {
    "AMAZON.HelpIntent": ("help", "help me", "what can i say", "what can i do"),
    "AMAZON.StopIntent": ("stop", "good bye", "goodbye", "bye", "exit"),
    "AMAZON.CancelIntent": ("cancel", "never mind", "nevermind", "forget it"),
    "AMAZON.NavigateHomeIntent": ("go home", "home"),
}
QUIT = {"quit", ":q"}


class Understanding:
    """Typed text -> (request type, intent, slot values) by the interaction model."""

    def __init__(self, model: interaction_model.InteractionModel):
        self.model = model
        self.invocation = interaction_model.normalised(model.invocation_name)
        self.samples: list[tuple[re.Pattern[str], str]] = []
        for intent in model.intents.values():
            phrases = intent.samples or BUILT_IN_PHRASES.get(intent.name, ())
            self.samples += [(_pattern(phrase), intent.name) for phrase in phrases]

    def __call__(self, text: str) -> tuple[str, str | None, dict[str, str]]:
        words = interaction_model.normalised(text)
        words = re.sub(r"^alexa\s+", "", words)
        launch = re.fullmatch(rf"(open|launch|start|begin)\s+{re.escape(self.invocation)}", words)
        if launch or words == self.invocation:
            return "LaunchRequest", None, {}
        words = re.sub(rf"^(ask|tell)\s+{re.escape(self.invocation)}\s+(to\s+|that\s+|for\s+)?", "", words)
        for pattern, intent in self.samples:
            match = pattern.fullmatch(words)
            if match:
                return "IntentRequest", intent, match.groupdict()
        return "IntentRequest", "AMAZON.FallbackIntent", {}


def _pattern(sample: str) -> re.Pattern[str]:
    """A sample utterance as a regular expression over normalised text; each ``{Slot}`` captures its words."""
    words = []
    for word in sample.split():
        slot = re.fullmatch(r"\{(\w+)\}", word)
        words.append(f"(?P<{slot[1]}>.+?)" if slot else re.escape(interaction_model.normalised(word)))
    return re.compile(" ".join(w for w in words if w))


class LocalContext:
    """The part of Lambda's context the handler reads: the time left, as Alexa's 8 s from the turn's start."""

    def __init__(self) -> None:
        self.deadline = time.monotonic() + ALEXA_WAITS_SECONDS

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


def spoken(response: dict[str, Any]) -> str:
    speech = (response.get("response") or {}).get("outputSpeech") or {}
    text = speech.get("text") or re.sub(r"</?speak>", "", speech.get("ssml") or "")
    return html.unescape(text)


def converse(handler, lines: TextIO, out: TextIO, skill_id: str, verbose: bool = False) -> None:
    model = interaction_model.load()
    understand = Understanding(model)
    session = envelopes.Session(skill_id)
    for line in lines:
        text = line.strip()
        if not text:
            continue
        if text.lower() in QUIT:
            break
        request_type, intent, values = understand(text)
        if request_type == "LaunchRequest":
            if not session.new:  # "open ..." in a session starts a new one, as on a device
                session.restart()
            request = envelopes.launch_request()
        else:
            slots = {name: envelopes.track_slot(model, skill_id, value) for name, value in values.items()}
            request = envelopes.intent_request(intent, slots)
        envelope = session.envelope(request)
        response = handler(envelope, LocalContext())
        if verbose:
            print(json.dumps({"request": envelope, "response": response}, indent=2), file=out)
        print(f"Alexa: {spoken(response)}", file=out)
        if session.answered(response):
            print("(session ended)", file=out)
        out.flush()
    if not session.new:  # the user walked away: Alexa tells the skill the session is over
        handler(session.envelope(envelopes.session_ended_request()), LocalContext())


def main(argv: list[str] | None = None, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> int:
    parser = argparse.ArgumentParser(description="Talk to the horse-racing skill locally (quit, or Ctrl-D, ends).")
    parser.add_argument("--race-data-url", help="the race-data service; default: the sample service, started here")
    parser.add_argument("--today", type=date.fromisoformat, help="the sample service's date at every track")
    parser.add_argument("--skill-id", default=PLACEHOLDER_SKILL_ID)
    parser.add_argument("--verbose", action="store_true", help="print each request envelope and response")
    args = parser.parse_args(argv)
    service = None
    if args.race_data_url is None:
        service = SampleService(today=(lambda _: args.today) if args.today else track_today).start()
    try:
        url = args.race_data_url or service.url
        settings = Settings.from_env({ENV_SKILL_ID: args.skill_id, ENV_RACE_DATA_URL: url})
        if stdin.isatty():
            print("Say something (quit ends), e.g.: open talk horse racing", file=stdout)
        converse(make_handler(settings), _prompted(stdin, stdout), stdout, args.skill_id, args.verbose)
    finally:
        if service is not None:
            service.stop()
    return 0


def _prompted(stdin: TextIO, stdout: TextIO):
    interactive = stdin.isatty()
    while True:
        if interactive:
            stdout.write("you> ")
            stdout.flush()
        line = stdin.readline()
        if not line:
            return
        yield line


if __name__ == "__main__":
    sys.exit(main())
