"""``python -m stacks init <env>``: a new environment's stack files, written from an existing environment's.

Every ``Pulumi.<from>-<stack>.yaml`` of the template environment (``--from``, default dev) becomes
``Pulumi.<env>-<stack>.yaml`` with the environment and upstream names changed and the values only the user knows
replaced: the AWS region, the domain and its certificate, the e-mail domains allowed to sign in, the GCP project,
the NAT strategy and the alert e-mails (``QUESTIONS``). Each value is checked, before anything is written, by
the rule its setting declares in the program's Args (``components.args``), so a wrong one is refused naming its
config key and what is allowed; stacks whose program declares no rule for a value are planned offline with
it instead. Existing stack files are never overwritten. Secret values cannot be carried over (they are
encrypted for the template's stacks) and are listed to be set again.
"""
from __future__ import annotations

import copy
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi_aws as aws
import yaml

from components.args import InvalidArgument, ListOf, OneOf, Rule, Text
from planning.offline import plan_environment
from planning.project import PROJECT, STACK_FILE, Environment, ProjectError, load_environment
from stacks import placeholders, settings_docs

REGION = OneOf(*sorted(region.value for region in aws.Region), described="an AWS region, e.g. us-east-1 or eu-west-1")
GCP_PROJECT = Text(r"[a-z][a-z0-9-]{4,28}[a-z0-9]", "a GCP project id (6-30 lower-case letters, digits and hyphens, "
                                                    "starting with a letter)")
DOMAIN = Text(r"(?=.{1,240}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}", "a lower-case DNS domain, e.g. "
                                                                                   "dev.acme.io")
BACKOFFICE = "backoffice"
"""The auth-sidecar's back office is served at ``backoffice.<domain>``; its Cognito sign-in prefix is
``backoffice-<domain with hyphens>``."""


class InitError(ProjectError):
    """The new environment cannot be written (nothing was written)."""


@dataclass(frozen=True)
class Target:
    """Where an answer goes: ``key`` (``aws:region`` or ``cloud-patterns:<section>.<setting>``) of the stacks
    running ``program`` (``*``: any), made from the answer by ``derive``."""

    program: str
    key: str
    derive: Callable[[Any], Any] = lambda value: value
    only_where_set: bool = False
    """Written only where the template's stack file sets the key (e.g. the prod static site's domain)."""


@dataclass(frozen=True)
class Question:
    name: str
    """The option (``--<name with hyphens>``) and the key of ``answers``."""
    text: str
    targets: tuple[Target, ...]
    many: bool = False
    """A list (the option repeats; a prompt takes a comma-separated answer)."""
    rule: Rule | None = None
    """For a value no Args declares (the region, the GCP project); otherwise each target's declared rule."""

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")


QUESTIONS: tuple[Question, ...] = (
    Question("region", "AWS region of every AWS stack", (Target("*", "aws:region", only_where_set=True),),
             rule=REGION),
    Question("nat_strategy", "NAT strategy of the network (none, single, one-per-az)",
             (Target("network", f"{PROJECT}:network.nat_strategy"),)),
    Question("domain", f"DNS domain (the back office is {BACKOFFICE}.<domain>)", (
        Target("auth-sidecar", f"{PROJECT}:auth_front.host_name", lambda domain: f"{BACKOFFICE}.{domain}"),
        Target("auth-sidecar", f"{PROJECT}:auth_front.domain_prefix",
               lambda domain: f"{BACKOFFICE}-{domain.replace('.', '-')}"[:63].rstrip("-")),
        Target("static-site", f"{PROJECT}:static_site.domain", only_where_set=True)), rule=DOMAIN),
    Question("zone_id", "Route 53 hosted zone id of the domain",
             (Target("static-site", f"{PROJECT}:static_site.zone_id", only_where_set=True),)),
    Question("certificate_arn", f"ACM certificate ARN covering {BACKOFFICE}.<domain>, in the region", (
        Target("auth-sidecar", f"{PROJECT}:auth_front.certificate_arn"),
        Target("bean-counter", f"{PROJECT}:bean_counter.certificate_arn", only_where_set=True))),
    Question("email_domain", "E-mail domains allowed to sign in to the back office (comma-separated)",
             (Target("auth-sidecar", f"{PROJECT}:auth_sidecar.valid_domains"),), many=True),
    Question("gcp_project", "GCP project id", (Target("*", "gcp:project", only_where_set=True),), rule=GCP_PROJECT),
    Question("alert_email", "E-mail addresses the alarms notify (comma-separated)",
             (Target("alerts", f"{PROJECT}:alerts.emails"),), many=True),
)


@dataclass
class Draft:
    """The new environment's stack configs, by short stack name, and what is left to check or say."""

    environment: str
    template: Environment
    configs: dict[str, dict[str, Any]]
    unchecked: set[str] = field(default_factory=set)
    """Stacks with a value no declared rule checked: planned offline before anything is written."""
    dropped_secrets: list[str] = field(default_factory=list)


def split_key(key: str) -> tuple[str, str | None]:
    top, _, setting = key.partition(".") if key.startswith(f"{PROJECT}:") else (key, "", "")
    return top, setting or None


def declared_rule(program: str, key: str) -> Rule | None:
    """The rule the program's Args declare for ``cloud-patterns:<section>.<setting>``; None when undeclared."""
    top, setting = split_key(key)
    for section in settings_docs.sections(program):
        if f"{PROJECT}:{section.name}" == top and setting:
            for args_type in filter(None, (section.args, section.own)):
                found = args_type.__dataclass_fields__.get(setting)
                if found is not None and found.metadata.get("rule") is not None:
                    return found.metadata["rule"]
    return None


def applies(target: Target, spec_program: str, config: dict[str, Any]) -> bool:
    if target.program not in ("*", spec_program):
        return False
    if not target.only_where_set:
        return True
    top, setting = split_key(target.key)
    return top in config and (setting is None or setting in (config[top] or {}))


def questions_for(template: Environment) -> list[Question]:
    """The questions that have somewhere to go in the template's stacks."""
    return [q for q in QUESTIONS if any(applies(t, s.program, s.config) for t in q.targets
                                        for s in template.stacks.values())]


def current(question: Question, template: Environment) -> Any:
    """The template's value where the answer goes first: what keeping it (no answer) leaves there."""
    for spec in template.stacks.values():
        for target in (t for t in question.targets if applies(t, spec.program, spec.config)):
            top, setting = split_key(target.key)
            value = spec.config.get(top)
            return (value or {}).get(setting) if setting else value
    return None


def parse(question: Question, raw: Any) -> Any:
    """An answer as typed (a prompt's text, an option's value or values) as the value to check."""
    if question.many:
        items = raw if isinstance(raw, (list, tuple)) else re.split(r"[,\s]+", str(raw))
        return [item.strip() for item in items if str(item).strip()]
    return raw.strip() if isinstance(raw, str) else raw


def check_answer(question: Question, value: Any, template: Environment) -> set[str]:
    """Checks ``value`` against the rule of every place it goes; returns the stacks no declared rule covers."""
    if question.many and not value:
        raise InitError(f"{question.option}: give at least one value")
    if question.rule is not None:
        rule = ListOf(question.rule, min_items=1) if question.many else question.rule
        try:
            rule.check(question.option, value)
        except InvalidArgument as error:
            raise InitError(str(error)) from None
    unchecked = set()
    for spec in template.stacks.values():
        for target in (t for t in question.targets if applies(t, spec.program, spec.config)):
            top, setting = split_key(target.key)
            if setting is None:  # a provider's key (aws:region, gcp:project): the question's own rule
                continue
            rule = declared_rule(spec.program, target.key)
            if rule is None:
                unchecked.add(spec.short_name)
                continue
            try:
                rule.check(setting, target.derive(value))
            except InvalidArgument as error:
                raise InitError(f"{question.option}: {error.with_prefix(top + '.')}") from None
    return unchecked


def draft(environment: str, template: Environment, answers: dict[str, Any]) -> Draft:
    """The new stack configs with ``answers`` (question name -> parsed value) applied and checked."""
    result = Draft(environment, template, {})
    for spec in template.stacks.values():
        config = {k: copy.deepcopy(v) for k, v in spec.config.items() if not _is_secret(v)}
        result.dropped_secrets += [f"{spec.short_name}: {k}" for k, v in spec.config.items() if _is_secret(v)]
        config[f"{PROJECT}:environment"] = environment
        if f"{PROJECT}:upstream" in config:
            config[f"{PROJECT}:upstream"] = {alias: f"{environment}-{name[len(template.name) + 1:]}"
                                             for alias, name in config[f"{PROJECT}:upstream"].items()}
        result.configs[spec.short_name] = config
    for question in QUESTIONS:
        if answers.get(question.name) is None:
            continue
        value = answers[question.name]
        result.unchecked |= check_answer(question, value, template)
        for spec in template.stacks.values():
            for target in (t for t in question.targets if applies(t, spec.program, spec.config)):
                top, setting = split_key(target.key)
                config = result.configs[spec.short_name]
                if setting is None:
                    config[top] = target.derive(value)
                else:
                    config[top] = {**(config.get(top) or {}), setting: target.derive(value)}
    _check_certificate_region(result)
    return result


def _is_secret(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"secure"}


def _check_certificate_region(result: Draft) -> None:
    for short, config in result.configs.items():
        region = config.get("aws:region", "us-east-1")
        for top, settings in config.items():
            arn = (settings or {}).get("certificate_arn") if isinstance(settings, dict) else None
            match = re.match(r"arn:aws[\w-]*:acm:([a-z0-9-]+):", arn) if isinstance(arn, str) else None
            if match and match[1] != region:
                raise InitError(f"--certificate-arn: {top}.certificate_arn is in {match[1]}, but {result.environment}"
                                f"-{short} runs in {region}: a load balancer takes certificates of its own region")


def render(result: Draft, short: str) -> str:
    template = result.template.stacks[f"{result.template.name}-{short}"]
    notes = [line for line in template.path.read_text().splitlines() if line.startswith("#")]
    header = [f"# {result.environment}: written by `python -m stacks init {result.environment} --from "
              f"{result.template.name}`; the notes below are {result.template.name}'s. See docs/deploying.md."]
    body = yaml.dump({"config": result.configs[short]}, Dumper=_Dumper, sort_keys=False, width=120)
    return "\n".join(header + notes) + "\n" + body


class _Dumper(yaml.SafeDumper):
    """Mappings as blocks, lists of plain values on one line: the shape of the shipped stack files."""


_Dumper.add_representer(list, lambda dumper, value: dumper.represent_sequence(
    "tag:yaml.org,2002:seq", value, flow_style=all(not isinstance(v, (dict, list)) for v in value)))


def stack_path(directory: Path, environment: str, short: str) -> Path:
    return directory / f"Pulumi.{environment}-{short}.yaml"


def check_new(environment: str, template: str, project_dir: Path) -> None:
    if not STACK_FILE.match(f"Pulumi.{environment}-x.yaml") or "-" in environment:
        raise InitError(f"environment {environment!r}: lower-case letters and digits only (it prefixes every "
                        "stack name, e.g. staging-network)")
    if environment == template:
        raise InitError(f"--from {template}: choose another environment than the one to write")
    existing = sorted(p.name for p in project_dir.glob(f"Pulumi.{environment}-*.yaml"))
    if existing:
        raise InitError(f"environment {environment} already has stack files ({', '.join(existing)}); init writes "
                        "only new environments and never overwrites: edit those files, or delete them first")


def verify(result: Draft) -> None:
    """Plans offline the stacks holding values no declared rule checked (with their upstream stacks)."""
    if not result.unchecked:
        return
    with tempfile.TemporaryDirectory() as directory:
        for short in result.configs:
            stack_path(Path(directory), result.environment, short).write_text(render(result, short))
        environment = load_environment(result.environment, Path(directory))
        try:
            plan_environment(environment, [f"{result.environment}-{s}" for s in sorted(result.unchecked)], workers=1)
        except ProjectError:
            raise
        except Exception as error:  # the program's own refusal, which names the key
            raise InitError(f"{error}") from None


def write(result: Draft, project_dir: Path) -> list[Path]:
    check_new(result.environment, result.template.name, project_dir)
    verify(result)
    shorts = sorted(result.configs)
    paths = [stack_path(project_dir, result.environment, short) for short in shorts]
    for short, path in zip(shorts, paths):
        with path.open("x") as file:  # "x": never overwrite, even a file that appeared meanwhile
            file.write(render(result, short))
    return paths


def remaining_placeholders(environment: str, project_dir: Path) -> list[placeholders.Placeholder]:
    return placeholders.find(load_environment(environment, project_dir))
