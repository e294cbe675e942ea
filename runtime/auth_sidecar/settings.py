"""Sidecar settings, read once from the environment at start-up; a bad value stops the start."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_KEY_URL_TEMPLATE = "https://public-keys.auth.elb.{region}.amazonaws.com/{kid}"
ANY_DOMAIN = "*"

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
    key_fetch_timeout_seconds: float
    log_level: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        alb_arn = _required(env, "ALB_ARN")
        valid_domains = _parse_domains(_required(env, "VALID_DOMAINS"))
        key_url_template = env.get("KEY_URL_TEMPLATE", "").strip() or DEFAULT_KEY_URL_TEMPLATE
        region = env.get("AWS_REGION", "").strip()
        _check_key_url_template(key_url_template, region)
        return cls(
            alb_arn=alb_arn,
            valid_domains=valid_domains,
            auth_required=_parse_bool(env.get("AUTH_REQUIRED", "true"), "AUTH_REQUIRED"),
            key_url_template=key_url_template,
            region=region,
            leeway_seconds=_parse_number(env.get("JWT_LEEWAY_SECONDS", "10"), "JWT_LEEWAY_SECONDS", float, 0, 300),
            key_cache_size=_parse_number(env.get("KEY_CACHE_SIZE", "32"), "KEY_CACHE_SIZE", int, 1, 10_000),
            key_fetch_timeout_seconds=_parse_number(
                env.get("KEY_FETCH_TIMEOUT_SECONDS", "3"), "KEY_FETCH_TIMEOUT_SECONDS", float, 0.1, 30
            ),
            log_level=env.get("LOG_LEVEL", "INFO").strip().upper() or "INFO",
        )


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise SettingsError(f"{name} must be set")
    return value


def _parse_domains(raw: str) -> frozenset[str]:
    domains = frozenset(part.strip().lower().lstrip("@") for part in raw.split(",") if part.strip())
    if not domains:
        raise SettingsError("VALID_DOMAINS must list at least one domain (or '*' for any)")
    if ANY_DOMAIN in domains and len(domains) > 1:
        raise SettingsError("VALID_DOMAINS: '*' cannot be combined with named domains")
    return domains


def _parse_bool(raw: str, name: str) -> bool:
    word = raw.strip().lower()
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def _parse_number(raw: str, name: str, kind: type, low: float, high: float):
    try:
        value = kind(raw.strip())
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _check_key_url_template(template: str, region: str) -> None:
    if "{kid}" not in template:
        raise SettingsError("KEY_URL_TEMPLATE must contain {kid}")
    if "{region}" in template and not region:
        raise SettingsError("AWS_REGION must be set to fill {region} in KEY_URL_TEMPLATE")
    # A key fetched over plain HTTP could be swapped in transit, and a swapped key accepts forged
    # tokens: plain HTTP is only allowed to a loopback key server (tests, local runs).
    parts = urlsplit(template.replace("{region}", "region").replace("{kid}", "kid"))
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and _is_loopback(parts.hostname):
        return
    raise SettingsError("KEY_URL_TEMPLATE must be an https:// URL (http:// only to a loopback host)")


def _is_loopback(hostname: str | None) -> bool:
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname or "").is_loopback
    except ValueError:
        return False
