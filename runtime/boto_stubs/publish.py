"""The publish step: upload the wheel to the package index unless the index already has its version.

The index is CodeArtifact (a 15-minute token from the build's role, no stored credential) or an external index
(its token from the SSM parameter, handed over by CodeBuild as an environment variable). What the index holds is
read from its simple API (PEP 503) first, so a re-run of a build whose boto3 has not changed publishes nothing
and succeeds. A refused upload fails with the index's status and reason; no URL, user or token is printed.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from packaging.utils import InvalidSdistFilename, InvalidWheelFilename, parse_sdist_filename, parse_wheel_filename
from packaging.version import Version
from twine.commands.upload import upload
from twine.exceptions import TwineException
from twine.settings import Settings as TwineSettings

from runtime.boto_stubs import contract

log = logging.getLogger("boto_stubs.publish")
TOKEN_SECONDS = 900
TIMEOUT_SECONDS = 30


class PublishError(RuntimeError):
    """The wheel could not be published (the message says why, without credentials)."""


@dataclass(frozen=True)
class Index:
    upload_url: str
    simple_url: str
    username: str
    password: str
    described: str
    """How the index is named in messages (no credentials)."""


def resolve_index(settings: contract.Settings, codeartifact: Any = None) -> Index:
    """Where to publish, with credentials: the external index as configured, or CodeArtifact's pypi endpoint
    with a fresh authorization token (``codeartifact``: a boto3 client, made here when not given)."""
    if not settings.codeartifact:
        return Index(settings.index_url, settings.simple_url, settings.username, settings.token,
                     described=_without_credentials(settings.index_url))
    if codeartifact is None:
        import boto3
        codeartifact = boto3.client("codeartifact")
    where = {"domain": settings.domain, "domainOwner": settings.domain_owner}
    endpoint = codeartifact.get_repository_endpoint(**where, repository=settings.repository,
                                                    format="pypi")["repositoryEndpoint"]
    token = codeartifact.get_authorization_token(**where, durationSeconds=TOKEN_SECONDS)["authorizationToken"]
    endpoint = endpoint if endpoint.endswith("/") else endpoint + "/"
    return Index(endpoint, endpoint + "simple/", contract.CODEARTIFACT_USERNAME, token,
                 described=f"CodeArtifact {settings.domain}/{settings.repository}")


def published_versions(index: Index, package: str) -> set[Version]:
    """The versions of ``package`` the index lists (empty when it does not know the package)."""
    url = f"{index.simple_url}{contract.normalized(package)}/"
    try:
        response = requests.get(url, auth=(index.username, index.password), timeout=TIMEOUT_SECONDS)
    except requests.RequestException as error:
        raise PublishError(f"{index.described}: cannot read what it holds ({type(error).__name__})") from None
    if response.status_code == 404:
        return set()
    if response.status_code != 200:
        raise PublishError(f"{index.described}: reading what it holds answered {response.status_code} "
                           f"{response.reason}")
    versions = set()
    for href in re.findall(r'href="([^"#?]+)', response.text):
        filename = href.rstrip("/").rsplit("/", 1)[-1]
        try:
            versions.add(parse_wheel_filename(filename)[1] if filename.endswith(".whl")
                         else parse_sdist_filename(filename)[1])
        except (InvalidWheelFilename, InvalidSdistFilename):
            continue
    return versions


def publish(wheel: Path, settings: contract.Settings, codeartifact: Any = None) -> str:
    """``published`` or ``skipped`` (the index has this version); raises PublishError when refused."""
    name, version, _, _ = parse_wheel_filename(wheel.name)
    index = resolve_index(settings, codeartifact)
    if version in published_versions(index, name):
        log.info("%s already has %s %s: nothing to publish", index.described, name, version)
        return "skipped"
    try:
        upload(TwineSettings(repository_url=index.upload_url, username=index.username, password=index.password,
                             non_interactive=True, disable_progress_bar=True), [str(wheel)])
    except requests.HTTPError as error:
        response = error.response
        status = f"{response.status_code} {response.reason}" if response is not None else "an HTTP error"
        raise PublishError(f"{index.described} refused {wheel.name}: {status}") from None
    except (TwineException, requests.RequestException) as error:
        raise PublishError(f"uploading {wheel.name} to {index.described} failed: {type(error).__name__}") from None
    log.info("published %s %s to %s", name, version, index.described)
    return "published"


def _without_credentials(url: str) -> str:
    return re.sub(r"//[^/@]*@", "//", url)
