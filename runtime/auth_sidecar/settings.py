"""Sidecar settings, read once from the environment at start-up (names in ``contract``); a bad value stops the
start."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from runtime.auth_sidecar import contract

DEFAULT_KEY_URL_TEMPLATE = "https://public-keys.auth.elb.{region}.amazonaws.com/{kid}"

_TRUE_WORDS = {"true", "1", "yes", "on"}
_FALSE_WORDS = {"false", "0", "no", "off"}


class SettingsError(ValueError):
    """The environment does not describe a usable configuration."""


@dataclass(frozen=True)
class Settings:
    alb_arn: str
    valid_domains: frozenset[str]  # lower-case; {"*"} allows any domain
    auth_required: bool
    key_url_template: str
    region: str
    leeway_seconds: float
    key_cache_size: int
    key_cache_seconds: float
    key_fetch_timeout_seconds: float
    decision_cache_seconds: int
    metrics_service: str
    metrics_interval_seconds: float
    log_level: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        key_url_template = env.get(contract.ENV_KEY_URL_TEMPLATE, "").strip() or DEFAULT_KEY_URL_TEMPLATE
        region = env.get(contract.ENV_REGION, "").strip()
        _check_key_url_template(key_url_template, region)
        try:
            valid_domains = contract.parse_domains(_required(env, contract.ENV_VALID_DOMAINS))
        except ValueError as error:
            raise SettingsError(f"{contract.ENV_VALID_DOMAINS}: {error}") from None
        return cls(
            alb_arn=_required(env, contract.ENV_ALB_ARN),
            valid_domains=valid_domains,
            auth_required=_parse_bool(env, contract.ENV_AUTH_REQUIRED, "true"),
            key_url_template=key_url_template,
            region=region,
            leeway_seconds=_parse_number(env, contract.ENV_LEEWAY_SECONDS, "10", float, 0, 300),
            key_cache_size=_parse_number(env, contract.ENV_KEY_CACHE_SIZE, "32", int, 1, 10_000),
            key_cache_seconds=_parse_number(env, contract.ENV_KEY_CACHE_SECONDS, "300", float,
                                            *contract.KEY_CACHE_SECONDS),
            key_fetch_timeout_seconds=_parse_number(env, contract.ENV_KEY_FETCH_TIMEOUT_SECONDS, "3", float, 0.1, 30),
            decision_cache_seconds=_parse_number(env, contract.ENV_DECISION_CACHE_SECONDS, "30", int,
                                                 *contract.DECISION_CACHE_SECONDS),
            metrics_service=env.get(contract.ENV_METRICS_SERVICE, "").strip() or "auth-sidecar",
            metrics_interval_seconds=_parse_number(env, contract.ENV_METRICS_INTERVAL_SECONDS, "60", float, 0, 3600),
            log_level=env.get(contract.ENV_LOG_LEVEL, "INFO").strip().upper() or "INFO",
        )


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise SettingsError(f"{name} must be set")
    return value


def _parse_bool(env: Mapping[str, str], name: str, default: str) -> bool:
    raw = env.get(name, default)
    word = raw.strip().lower()
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def _parse_number(env: Mapping[str, str], name: str, default: str, kind: type, low: float, high: float):
    raw = env.get(name, default)
    try:
        value = kind(raw.strip())
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _check_key_url_template(template: str, region: str) -> None:
    if "{kid}" not in template:
        raise SettingsError(f"{contract.ENV_KEY_URL_TEMPLATE} must contain {{kid}}")
    if "{region}" in template and not region:
        raise SettingsError(f"{contract.ENV_REGION} must be set to fill {{region}} in {contract.ENV_KEY_URL_TEMPLATE}")
    # A key fetched over plain HTTP could be swapped in transit, and a swapped key accepts forged
    # tokens: plain HTTP is only allowed to a loopback key server (tests, local runs).
    parts = urlsplit(template.replace("{region}", "region").replace("{kid}", "kid"))
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and _is_loopback(parts.hostname):
        return
    raise SettingsError(f"{contract.ENV_KEY_URL_TEMPLATE} must be an https:// URL (http:// only to a loopback host)")


def _is_loopback(hostname: str | None) -> bool:
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname or "").is_loopback
    except ValueError:
        return False
