"""The skill's interaction model (``skill-package/interactionModels/custom/en-US.json``), read once.

The handlers take the known tracks and their synonyms from it (to name them in a reprompt, and to resolve a
spoken track themselves when Alexa's entity resolution could not run); the local REPL takes the sample
utterances from it. So a track or an utterance is written once, in the JSON the ASK CLI deploys.
"""
from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path

MODEL_FILE = Path(__file__).resolve().parent / "skill-package" / "interactionModels" / "custom" / "en-US.json"
TRACK_SLOT = "TrackName"
TRACK_SLOT_TYPE = "TrackName"


@dataclass(frozen=True)
class Track:
    id: str
    name: str
    synonyms: tuple[str, ...]


@dataclass(frozen=True)
class Intent:
    name: str
    samples: tuple[str, ...]
    slots: dict[str, str]
    """Slot name -> slot type."""


@dataclass(frozen=True)
class InteractionModel:
    invocation_name: str
    intents: dict[str, Intent]
    tracks: tuple[Track, ...]

    def track(self, spoken: str | None) -> Track | None:
        """The track whose name or a synonym is ``spoken`` (case, spacing and punctuation ignored)."""
        wanted = normalised(spoken or "")
        for track in self.tracks:
            if wanted and wanted in {normalised(v) for v in (track.name, *track.synonyms)}:
                return track
        return None

    def track_named(self, track_id: str) -> Track | None:
        return next((t for t in self.tracks if t.id == track_id), None)

    @property
    def track_names(self) -> str:
        """"Arapahoe Park and Tampa Bay Downs", as spoken."""
        names = [t.name for t in self.tracks]
        return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def normalised(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def parse(document: dict) -> InteractionModel:
    language = document["interactionModel"]["languageModel"]
    intents = {i["name"]: Intent(i["name"], tuple(i.get("samples") or ()),
                                 {s["name"]: s["type"] for s in i.get("slots") or ()})
               for i in language["intents"]}
    [track_type] = [t for t in language.get("types") or () if t["name"] == TRACK_SLOT_TYPE]
    tracks = tuple(Track(v["id"], v["name"]["value"], tuple(v["name"].get("synonyms") or ()))
                   for v in track_type["values"])
    return InteractionModel(language["invocationName"], intents, tracks)


@functools.cache
def load(path: Path = MODEL_FILE) -> InteractionModel:
    return parse(json.loads(path.read_text()))
