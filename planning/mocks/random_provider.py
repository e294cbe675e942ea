"""Mock shapes: pulumi-random. A random value under the mock engine is a fixed fake derived from the resource's
name and keepers, so two plans print the same bytes and a changed keeper gives a new value."""
from __future__ import annotations

import json

from planning.mocks import ProviderMocks, digest, shape


@shape("random:index/randomPassword:RandomPassword")
def _random_password(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    length = int(inputs.get("length") or 16)
    keepers = json.dumps(inputs.get("keepers") or {}, sort_keys=True)
    value = (f"mock{digest('random-password', name, keepers, length=64)}" * 4)[:length]
    return "none", {"result": value, "bcryptHash": f"$2a$10$mock{digest('bcrypt', value, length=49)}"}
