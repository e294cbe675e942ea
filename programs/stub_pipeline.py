"""Stack ``<env>-stub-pipeline``: boto3 stubs regenerated and published on a schedule (``runtime/boto_stubs``).

``cloud-patterns:stub_pipeline`` sets the build (source, schedule, image, notifications) and the package (its name,
and the index: null ``index_url`` publishes to a CodeArtifact repository of this stack; an external index gets its
token from an SSM parameter the stack creates). Build failures and the alarms go to the ``alerts`` stack's topic.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Optional

import pulumi

from components.args import Args, Custom, Maybe, Text, setting
from components.dashboard import OUTPUT, widgets
from components.package_index import PackageIndex, PackageIndexArgs
from components.scheduled_build import ScheduledBuild, ScheduledBuildArgs
from programs.common import Section, environment, upstream
from runtime.boto_stubs import contract

INDEX_URL = Maybe(Custom(lambda url: contract.index_url_problem(url) is None, contract.index_url_problem(None),
                         ("http://pypi.example.com/", "https://user:token@pypi.example.com/", 3)))


@dataclass(frozen=True)
class StubPackageSettings(Args):
    package_name: str = setting(contract.DEFAULT_PACKAGE, Text(contract.PACKAGE_NAME.pattern, "a distribution name "
                                "(letters, digits, . _ -)"), f"The wheel's name (it installs the module "
                                f"{contract.MODULE}).")
    index_url: Optional[str] = setting(None, INDEX_URL, "An external index's upload URL; null: a private "
                                                        "CodeArtifact repository of this stack.")
    index_simple_url: Optional[str] = setting(None, INDEX_URL, "The external index's simple API; null: "
                                                               "index_url + simple/.")
    index_username: str = setting("__token__", Text(), "The external index's user (__token__ for an API token).")
    repository: str = setting("python", PackageIndexArgs.__dataclass_fields__["repository"].metadata["rule"],
                              "The CodeArtifact repository (without index_url).")


PIPELINE = Section("stub_pipeline", ScheduledBuildArgs, own=StubPackageSettings)


def main() -> None:
    package = PIPELINE.own_settings()
    external = package.index_url is not None
    args = PIPELINE.load(  # every setting checked before the index or anything else is registered
        buildspec=contract.BUILDSPEC, description=f"Regenerates and publishes {package.package_name}",
        secret_variable=contract.ENV_INDEX_TOKEN if external else None, secret_placeholder=contract.TOKEN_PLACEHOLDER,
        alarm_topic_arn=upstream("alerts").require_output("topic_arn"))
    name = f"{environment()}-stub-pipeline"
    index = None if external else PackageIndex(name, PackageIndexArgs(repository=package.repository))
    if index is None:
        variables = contract.build_environment(package.package_name, index_url=package.index_url,
                                               simple_url=package.index_simple_url, username=package.index_username)
        build = ScheduledBuild(name, dataclasses.replace(args, environment=variables))
    else:
        variables = contract.build_environment(package.package_name, domain=index.domain.domain,
                                               domain_owner=index.domain.owner, repository=index.repository.repository)
        build = ScheduledBuild(name, dataclasses.replace(args, environment=variables, policy_statements=(
            index.publish_statements(contract.normalized(package.package_name)))))
    pulumi.export("project_name", build.project.name)
    pulumi.export("badge_url", build.project.badge_url)
    pulumi.export("schedule", build.schedule.schedule_expression)
    pulumi.export("log_group", build.log_group.name)
    pulumi.export("package_name", package.package_name)
    pulumi.export("index_token_parameter", build.parameter.name if build.parameter else None)
    pulumi.export("codeartifact_repository", pulumi.Output.concat(index.domain.domain, "/", index.repository.repository)
                  if index else None)
    pulumi.export("reader_policy_arn", index.reader_policy.arn if index else None)
    pulumi.export("alarms", len(build.alarms))
    ended = f"builds that ended {', '.join(args.notify_on)}"
    pulumi.export(OUTPUT, widgets(build.alarms, rules=[(build.state_rule, ended)]))
