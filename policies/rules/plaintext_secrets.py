"""Secrets passed in plaintext: which environment variables (of a Lambda function or a container) look like
secrets, by their name or their value. Helpers for the Lambda and ECS rules; no rules of their own."""
from __future__ import annotations

import re
from collections.abc import Mapping
from itertools import pairwise
from typing import Any

from policies.rules.core import SECRET, known

SECRET_WORDS = {"PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "SECRETS", "TOKEN", "CREDENTIAL", "CREDENTIALS",
                "APIKEY", "PRIVATEKEY"}
KEY_QUALIFIERS = {"API", "PRIVATE", "ACCESS", "SECRET", "SIGNING", "ENCRYPTION", "MASTER", "CLIENT", "ACCOUNT", "SA"}
REFERENCE_SUFFIXES = {"ARN", "ARNS", "NAME", "ID", "PATH", "URL", "URI", "PARAMETER", "PARAM", "FILE", "HEADER",
                      "ENDPOINT", "REGION", "TTL", "SECONDS"}
SECRET_VALUES = {
    "an AWS access key id": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "a private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "a service account key": re.compile(r'"private_key"\s*:'),
    "a JWT": re.compile(r"\beyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{8,}"),
    "a GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}"),
    "a Slack token": re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    "a Google API key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}"),
    "credentials in a URL": re.compile(r"://[^/\s:@]+:[^/\s@]+@"),
}


def secret_looking_name(name: str) -> bool:
    words = [w.upper() for w in re.split(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])", name) if w]
    if not words:
        return False
    if any(pair == ("ACCESS", "KEY") for pair in pairwise(words)):
        return True  # AWS_ACCESS_KEY_ID too: a credential, whatever its suffix
    if words[-1] in REFERENCE_SUFFIXES:
        return False
    return (any(w in SECRET_WORDS for w in words) or words == ["KEY"]
            or any(a in KEY_QUALIFIERS and b == "KEY" for a, b in pairwise(words)))


def plaintext_secret_problems(variables: Mapping[str, Any]) -> list[str]:
    """Why each variable looks like a secret passed in plaintext (by its name or its value)."""
    problems = []
    for name, value in variables.items():
        if not known(value):
            continue
        text = "" if value is None else str(value)
        if text == SECRET:
            problems.append(f"{name} holds a Pulumi secret in a plaintext variable")
            continue
        kinds = [kind for kind, pattern in SECRET_VALUES.items() if pattern.search(text)]
        if kinds:
            problems.append(f"{name} holds what looks like {kinds[0]}")
        elif text and secret_looking_name(name) and not text.startswith("arn:"):
            problems.append(f"{name} looks like a secret (by its name)")
    return problems
