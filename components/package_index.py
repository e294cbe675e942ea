"""PackageIndex: a private CodeArtifact pypi repository, with what it takes to publish one package and to read it.

The domain and its repository have no upstream and no external connection: the index serves only what was
published to it, so a name on the public index can never shadow (or be shadowed by) a private package through it.
Nobody needs a stored credential: publishers and readers get a short-lived token from their own role
(``codeartifact:GetAuthorizationToken`` with ``sts:GetServiceBearerToken``). ``publish_statements`` grants
exactly one package of the repository; ``reader_policy`` is the managed policy a consumer attaches to install it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from components import iam
from components.args import Args, Text, setting

NAME = r"[a-z][a-z0-9-]{1,49}"


@dataclass(frozen=True)
class PackageIndexArgs(Args):
    repository: str = setting("python", Text(NAME, "2 to 50 lower-case letters, digits and -, starting with a "
                                                   "letter"), "Name of the pypi repository in the stack's domain.")


class PackageIndex(pulumi.ComponentResource):
    domain: aws.codeartifact.Domain
    repository: aws.codeartifact.Repository
    reader_policy: aws.iam.Policy

    def __init__(self, name: str, args: PackageIndexArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("cloud-patterns:build:PackageIndex", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.domain = aws.codeartifact.Domain(name, domain=name, opts=child)
        self.repository = aws.codeartifact.Repository(
            name, domain=self.domain.domain, domain_owner=self.domain.owner, repository=args.repository,
            description=f"Private Python packages of {name} (no upstream)", opts=child)
        self.reader_policy = aws.iam.Policy(
            f"{name}-read", description=f"Install packages from {name}/{args.repository} (attach to consumers)",
            policy=iam.policy_document([*self._token_statements(),
                                        iam.statement(["codeartifact:GetRepositoryEndpoint",
                                                       "codeartifact:ReadFromRepository"], [self.repository.arn],
                                                      sid="ReadTheRepository")], self), opts=child)
        self.register_outputs({"domain": self.domain.domain, "repository": self.repository.repository,
                               "reader_policy_arn": self.reader_policy.arn})

    def _token_statements(self) -> list[iam.Statement]:
        return [iam.statement(["codeartifact:GetAuthorizationToken"], [self.domain.arn], sid="TokenForTheDomain"),
                # GetServiceBearerToken has no resource type: it is narrowed by the service the token is for.
                iam.statement(["sts:GetServiceBearerToken"], ["*"], sid="BearerTokenForCodeArtifact",
                              conditions=[iam.condition("StringEquals", "sts:AWSServiceName",
                                                        "codeartifact.amazonaws.com")])]

    def package_arn(self, package: str) -> pulumi.Output[str]:
        """``package/<domain>/<repository>/pypi//<name>`` (a Python package has no namespace); ``package`` as
        CodeArtifact keeps it, normalized (PEP 503)."""
        return self.repository.arn.apply(lambda arn: arn.replace(":repository/", ":package/", 1) + f"/pypi//{package}")

    def publish_statements(self, package: str) -> list[iam.Statement]:
        """A token, the repository's endpoint and what it holds (to skip a published version), and publishing
        exactly ``package`` (normalized)."""
        return [*self._token_statements(),
                iam.statement(["codeartifact:GetRepositoryEndpoint", "codeartifact:ReadFromRepository"],
                              [self.repository.arn], sid="ReadTheRepository"),
                iam.statement(["codeartifact:PublishPackageVersion", "codeartifact:PutPackageMetadata"],
                              [self.package_arn(package)], sid="PublishThePackage")]
