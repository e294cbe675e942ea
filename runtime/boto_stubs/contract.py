"""What the stub build and the stub-pipeline program share: the build's environment, the version scheme, names.

Standard library only. The program writes the build project's environment through these names; the build reads
them back with ``Settings.from_env`` and refuses to start on a wrong one, naming it.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SOURCE_DIR = "runtime/boto_stubs"
BUILDSPEC = f"{SOURCE_DIR}/buildspec.yml"
"""The build's commands, read by CodeBuild from the cloned repository."""
MODULE = "botostubs"
"""The import name of the generated package, whatever its distribution name."""
DEFAULT_PACKAGE = "cloud-patterns-botostubs"
"""A distribution name that is not on the public index (a private package named like a public one invites
dependency confusion when both indexes are configured)."""
VERSION_PREFIX = "0.4"
"""Versions follow boto3: ``0.4.x.y.z`` for boto3 ``x.y.z``."""
STUB_REGION = "us-east-1"
"""Region the generator's offline clients are made in (the models do not depend on it)."""

ENV_PACKAGE = "STUB_PACKAGE"
"""Distribution name of the wheel."""
ENV_INDEX_URL = "INDEX_URL"
"""External index: where uploads go (e.g. https://upload.pypi.org/legacy/); unset with CodeArtifact."""
ENV_INDEX_SIMPLE_URL = "INDEX_SIMPLE_URL"
"""External index: its simple API (PEP 503), read to skip a version the index has; default INDEX_URL + simple/."""
ENV_INDEX_USERNAME = "INDEX_USERNAME"
ENV_INDEX_TOKEN = "INDEX_TOKEN"
"""External index: its password or API token, from the SSM SecureString parameter (never plain text)."""
ENV_DOMAIN = "CODEARTIFACT_DOMAIN"
ENV_DOMAIN_OWNER = "CODEARTIFACT_DOMAIN_OWNER"
ENV_REPOSITORY = "CODEARTIFACT_REPOSITORY"

CODEARTIFACT_USERNAME = "aws"
"""CodeArtifact's pypi endpoints take the user ``aws`` and an authorization token as the password."""
TOKEN_PLACEHOLDER = "unset: aws ssm put-parameter --overwrite --type SecureString --name <index_token_parameter>"
"""What the stack writes into the token parameter; the real token is put there out of band (docs/stub-pipeline.md)
so that it never passes through code, config or state."""

PACKAGE_NAME = re.compile(r"^([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])$")
"""A distribution name as PEP 508 allows it."""
INDEX_URL = re.compile(r"^https://[A-Za-z0-9.-]+(:\d+)?(/[\w.~%-]+)*/$")
"""An HTTPS URL ending in /, without credentials, query or fragment."""
LOCAL_URL = re.compile(r"^http://(127\.0\.0\.1|localhost)(:\d+)?(/[\w.~%-]+)*/$")
"""Plain HTTP only to this machine (a local index, for trying the build by hand)."""
BOTO3_VERSION = re.compile(r"^\d+\.\d+\.\d+$")


def normalized(name: str) -> str:
    """The name as indexes compare it (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def stub_version(boto3_version: str) -> str:
    """``0.4.1.44.5`` for boto3 ``1.44.5``."""
    if not BOTO3_VERSION.match(boto3_version):
        raise ValueError(f"boto3 version {boto3_version!r}: expected x.y.z")
    return f"{VERSION_PREFIX}.{boto3_version}"


def index_url_problem(url: object) -> str | None:
    if not isinstance(url, str) or not (INDEX_URL.match(url) or LOCAL_URL.match(url)):
        return "an https:// URL ending in / without credentials (http:// only to 127.0.0.1 or localhost)"
    return None


class SettingsError(ValueError):
    """The build's environment is incomplete or wrong."""


@dataclass(frozen=True)
class Settings:
    package: str
    index_url: str | None
    simple_url: str | None
    username: str | None
    token: str | None
    domain: str | None
    domain_owner: str | None
    repository: str | None

    @property
    def codeartifact(self) -> bool:
        return self.domain is not None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> "Settings":
        def get(name: str) -> str | None:
            return environ.get(name) or None

        package = cls.package_name(environ)
        codeartifact = [get(n) for n in (ENV_DOMAIN, ENV_DOMAIN_OWNER, ENV_REPOSITORY)]
        index_url = get(ENV_INDEX_URL)
        if any(codeartifact):
            if not all(codeartifact) or index_url:
                raise SettingsError(f"CodeArtifact needs {ENV_DOMAIN}, {ENV_DOMAIN_OWNER} and {ENV_REPOSITORY}, "
                                    f"and no {ENV_INDEX_URL}")
            return cls(package, None, None, CODEARTIFACT_USERNAME, None, *codeartifact)
        if index_url is None:
            raise SettingsError(f"no index: set {ENV_INDEX_URL} (an external index) or {ENV_DOMAIN}, "
                                f"{ENV_DOMAIN_OWNER} and {ENV_REPOSITORY} (CodeArtifact)")
        simple_url = get(ENV_INDEX_SIMPLE_URL) or index_url + "simple/"
        for name, url in ((ENV_INDEX_URL, index_url), (ENV_INDEX_SIMPLE_URL, simple_url)):
            problem = index_url_problem(url)
            if problem:
                raise SettingsError(f"{name}={url!r}: {problem}")
        token = get(ENV_INDEX_TOKEN)
        if token is None or token == TOKEN_PLACEHOLDER:
            raise SettingsError(f"{ENV_INDEX_TOKEN} is not set: put the index's token into the parameter "
                                f"(aws ssm put-parameter --overwrite --type SecureString …)")
        return cls(package, index_url, simple_url, get(ENV_INDEX_USERNAME) or "__token__", token, None, None, None)

    @staticmethod
    def package_name(environ: Mapping[str, str]) -> str:
        package = environ.get(ENV_PACKAGE) or DEFAULT_PACKAGE
        if not PACKAGE_NAME.match(package):
            raise SettingsError(f"{ENV_PACKAGE}={package!r}: a distribution name (letters, digits, . _ -)")
        return package


def build_environment(package: str, **index: Any) -> dict[str, Any]:
    """The build's plain-text variables, as the program sets them: ``index_url``, ``simple_url`` and ``username``
    for an external index, or ``domain``, ``domain_owner`` and ``repository`` for CodeArtifact (values may be the
    program's outputs). The token is no plain-text variable: it comes from its SSM parameter."""
    names = {"index_url": ENV_INDEX_URL, "simple_url": ENV_INDEX_SIMPLE_URL, "username": ENV_INDEX_USERNAME,
             "domain": ENV_DOMAIN, "domain_owner": ENV_DOMAIN_OWNER, "repository": ENV_REPOSITORY}
    unknown = sorted(set(index) - set(names))
    if unknown:
        raise TypeError(f"build_environment: no variable for {unknown[0]}")
    return {ENV_PACKAGE: package, **{names[k]: v for k, v in index.items() if v is not None}}
