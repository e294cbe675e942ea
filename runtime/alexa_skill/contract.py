"""What the horse-racing skill's Lambda and its program (``programs/alexa_skill.py``) share. Standard library only.

The program builds the function's environment from these names and checks the race-data settings with these
validators; the runtime reads the same names through ``Settings.from_env``.
"""
from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

SOURCE_DIR = "runtime/alexa_skill"
# The package keeps its project path in the Lambda archive, so it imports as it does here.
HANDLER = "runtime.alexa_skill.handler.handler"
REQUIREMENTS_FILE = "runtime/alexa_skill/requirements.txt"
SKILL_PACKAGE_DIR = "runtime/alexa_skill/skill-package"
"""The skill manifest and interaction model, laid out as the ASK CLI's skill-package directory."""

ENV_SKILL_ID = "SKILL_ID"
ENV_RACE_DATA_URL = "RACE_DATA_URL"
ENV_RACE_DATA_TIMEOUT = "RACE_DATA_TIMEOUT_SECONDS"
ENV_RACE_DATA_CACHE = "RACE_DATA_CACHE_SECONDS"

TIMEOUT_SECONDS = (0.2, 3.0)
"""How long one call to the race-data service may wait (connect, then read); Alexa waits 8 s for the answer."""
DEFAULT_TIMEOUT_SECONDS = 2.0
CACHE_SECONDS = (0, 3600)
DEFAULT_CACHE_SECONDS = 60

SERVICE_URL = "an https:// URL of the race-data service (no query, no credentials in it)"


def is_service_url(value: object, local: bool = False) -> bool:
    """An https:// base URL without user info, query or fragment; with ``local``, http:// on a loopback
    address too (the sample service)."""
    if not isinstance(value, str) or not value:
        return False
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return False
    if not host or parts.username or parts.password or parts.query or parts.fragment:
        return False
    if parts.scheme == "https":
        return True
    return local and parts.scheme == "http" and _is_loopback(host)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Settings:
    skill_id: str
    race_data_url: str
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    cache_seconds: int = DEFAULT_CACHE_SECONDS

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> "Settings":
        """The function's settings; ValueError naming the variable when one is missing or wrong."""
        skill_id = environ.get(ENV_SKILL_ID, "").strip()
        if not skill_id:
            raise ValueError(f"{ENV_SKILL_ID} is not set: without it the skill would answer any skill's requests")
        url = environ.get(ENV_RACE_DATA_URL, "")
        if not is_service_url(url, local=True):
            raise ValueError(f"{ENV_RACE_DATA_URL} is {url!r}; it must be {SERVICE_URL}")
        timeout = _number(environ, ENV_RACE_DATA_TIMEOUT, DEFAULT_TIMEOUT_SECONDS, *TIMEOUT_SECONDS)
        cache = _number(environ, ENV_RACE_DATA_CACHE, DEFAULT_CACHE_SECONDS, *CACHE_SECONDS)
        return cls(skill_id, url.rstrip("/"), timeout, int(cache))


def _number(environ: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not low <= value <= high:
        raise ValueError(f"{name} is {raw!r}; it must be a number from {low:g} to {high:g}")
    return value
