"""``python -m stacks init <env>``: a new environment's stack files from flags or prompts, every value checked by
its setting's rule, nothing overwritten, and the files it writes plan offline."""
from __future__ import annotations

import shutil

import pytest
import yaml
from typer.testing import CliRunner

from planning.offline import plan_environment
from planning.project import PROJECT_DIR, load_environment
from stacks import cli, placeholders

runner = CliRunner()
CERTIFICATE = "arn:aws:acm:eu-west-1:111122223333:certificate/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
FLAGS = ["--region", "eu-west-1", "--domain", "qa.acme.io", "--certificate-arn", CERTIFICATE,
         "--email-domain", "acme.io", "--email-domain", "partner.acme.io", "--gcp-project", "acme-qa-4711",
         "--nat-strategy", "single", "--alert-email", "ops@acme.io"]


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project directory holding the shipped stack files (the programs are this project's)."""
    for path in PROJECT_DIR.glob("Pulumi*.yaml"):
        shutil.copy2(path, tmp_path / path.name)
    monkeypatch.setattr("planning.project.PROJECT_DIR", tmp_path)
    return tmp_path


def config(project, stack: str) -> dict:
    return yaml.safe_load((project / f"Pulumi.qa-{stack}.yaml").read_text())["config"]


def qa_files(project) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(project.glob("Pulumi.qa-*.yaml"))}


def test_init_writes_every_stack_of_the_template_with_the_values_given(project):
    result = runner.invoke(cli.app, ["init", "qa", *FLAGS])
    assert result.exit_code == 0, result.output
    dev, qa = load_environment("dev", project), load_environment("qa", project)
    assert [s.short_name for s in qa.stacks.values()] == [s.short_name for s in dev.stacks.values()]
    for spec in qa.stacks.values():
        template = dev.stacks[f"dev-{spec.short_name}"]
        assert spec.program == template.program
        assert spec.upstream == {alias: f"qa-{name[4:]}" for alias, name in template.upstream.items()}
        assert spec.config.get("aws:region") == ("eu-west-1" if "aws:region" in template.config else None)
    assert config(project, "network")["cloud-patterns:network"]["nat_strategy"] == "single"
    assert config(project, "auth-sidecar")["cloud-patterns:auth_front"] == {
        **dev.stacks["dev-auth-sidecar"].config["cloud-patterns:auth_front"],
        "host_name": "backoffice.qa.acme.io", "certificate_arn": CERTIFICATE, "domain_prefix": "backoffice-qa-acme-io"}
    assert config(project, "auth-sidecar")["cloud-patterns:auth_sidecar"]["valid_domains"] == ["acme.io",
                                                                                              "partner.acme.io"]
    assert config(project, "label-detector")["gcp:project"] == "acme-qa-4711"
    assert config(project, "alerts")["cloud-patterns:alerts"]["emails"] == ["ops@acme.io"]
    text = (project / "Pulumi.qa-network.yaml").read_text()
    assert text.startswith("# qa: written by `python -m stacks init qa --from dev`")
    assert "tiers: [public, private, isolated]" in text  # lists as the shipped files write them
    left = {(p.stack, p.key) for p in placeholders.find(qa)}
    # what init cannot know stays flagged: the skill's id, the race-data service, the users, the package index
    assert left == {("qa-alexa-skill", "cloud-patterns:alexa_skill.skill_id"),
                    ("qa-alexa-skill", "cloud-patterns:alexa_skill.race_data_url"),
                    *(("qa-secure-api", f"cloud-patterns:secure_api_users.users[{i}].email") for i in range(3)),
                    ("qa-stub-pipeline", "cloud-patterns:stub_pipeline.index_url")}
    assert "Pulumi.qa-alexa-skill.yaml: cloud-patterns:alexa_skill.skill_id" in " ".join(result.stdout.split())


def test_the_files_init_writes_plan_offline_with_those_values(project):
    assert runner.invoke(cli.app, ["init", "qa", *FLAGS]).exit_code == 0
    qa = load_environment("qa", project)
    plans = {p.spec.name: p for p in plan_environment(qa, ["qa-auth-sidecar", "qa-alerts"], workers=1)}
    https = [r for r in plans["qa-auth-sidecar"].of_type("aws:lb/listener:Listener") if r.inputs.get("port") == 443]
    assert [r.inputs["certificateArn"] for r in https] == [CERTIFICATE]
    pool_domain = plans["qa-auth-sidecar"].of_type("aws:cognito/userPoolDomain:UserPoolDomain")[0]
    assert pool_domain.inputs["domain"] == "backoffice-qa-acme-io"
    assert ":eu-west-1:" in plans["qa-alerts"].outputs["topic_arn"]
    subscriptions = plans["qa-alerts"].of_type("aws:sns/topicSubscription:TopicSubscription")
    endpoints = [r.inputs["endpoint"] for r in subscriptions]
    assert endpoints == ["ops@acme.io"]


def test_init_from_prod_asks_for_the_static_sites_zone_and_keeps_prods_choices(project):
    result = runner.invoke(cli.app, ["init", "qa", "--from", "prod", "--domain", "acme.io", "--zone-id",
                                     "Z08123456ABCDEFGHIJKL", "--certificate-arn", CERTIFICATE.replace("eu-west-1",
                                                                                                       "us-east-1")])
    assert result.exit_code == 0, result.output
    assert config(project, "static-site")["cloud-patterns:static_site"]["domain"] == "acme.io"
    assert config(project, "static-site")["cloud-patterns:static_site"]["zone_id"] == "Z08123456ABCDEFGHIJKL"
    assert config(project, "bean-counter")["cloud-patterns:bean_counter"]["certificate_arn"].endswith(
        CERTIFICATE.split(":", 5)[5])
    assert config(project, "network")["cloud-patterns:network"]["nat_strategy"] == "one-per-az"


@pytest.mark.parametrize(("flags", "message"), [
    (["--nat-strategy", "double"], "--nat-strategy: cloud-patterns:network.nat_strategy: 'double' is not allowed; "
                                   "allowed: one of none, single, one-per-az"),
    (["--region", "mars-1"], "--region: 'mars-1' is not allowed; allowed: an AWS region"),
    (["--alert-email", "ops"], "--alert-email: cloud-patterns:alerts.emails: 'ops' is not allowed; allowed: an "
                               "e-mail address"),
    (["--gcp-project", "Acme"], "--gcp-project: 'Acme' is not allowed; allowed: a GCP project id"),
    (["--domain", "acme"], "--domain: 'acme' is not allowed; allowed: a lower-case DNS domain"),
    (["--email-domain", " "], "--email-domain: give at least one value"),
    (["--certificate-arn", "certificate-1"], "--certificate-arn: cloud-patterns:auth_front.certificate_arn: "
                                             "'certificate-1' is not "
                                             "allowed; allowed: an ACM certificate ARN"),
    (["--region", "eu-west-1"], "--certificate-arn: cloud-patterns:auth_front.certificate_arn is in us-east-1, but "
                                "qa-auth-sidecar runs in eu-west-1"),
])
def test_a_wrong_value_is_refused_naming_its_key_and_nothing_is_written(project, flags, message):
    result = runner.invoke(cli.app, ["init", "qa", *flags])
    assert result.exit_code == 2
    assert " ".join(result.stderr.split()).startswith(f"error: {message}")
    assert qa_files(project) == {}


def test_init_never_overwrites_an_environment(project):
    (project / "Pulumi.qa-network.yaml").write_text("config: {mine: true}\n")
    result = runner.invoke(cli.app, ["init", "qa", *FLAGS])
    assert result.exit_code == 2 and "already has stack files (Pulumi.qa-network.yaml)" in result.stderr
    assert qa_files(project) == {"Pulumi.qa-network.yaml": "config: {mine: true}\n"}
    for name, text in (("dev", "choose another environment"), ("q-a", "lower-case letters and digits only")):
        result = runner.invoke(cli.app, ["init", name])
        assert result.exit_code == 2 and text in result.stderr


def test_prompts_ask_again_after_a_wrong_answer_and_enter_keeps_the_templates_value(project, monkeypatch):
    monkeypatch.setattr(cli, "interactive", lambda: True)
    answers = ["eu-central-1",  # region
               "double", "single",  # nat strategy: refused, then accepted
               "",  # domain: kept (the certificate is given as a flag: not asked)
               "acme.io, partner.acme.io",  # e-mail domains
               "",  # GCP project: kept
               "ops@acme.io"]  # alert e-mails
    certificate = CERTIFICATE.replace("eu-west-1", "eu-central-1")
    result = runner.invoke(cli.app, ["init", "qa", "--certificate-arn", certificate], input="\n".join(answers) + "\n")
    assert result.exit_code == 0, result.output
    assert "'double' is not allowed" in result.stderr
    assert config(project, "network")["aws:region"] == "eu-central-1"
    assert config(project, "network")["cloud-patterns:network"]["nat_strategy"] == "single"
    assert config(project, "auth-sidecar")["cloud-patterns:auth_front"]["host_name"] == "backoffice.dev.example.com"
    assert config(project, "auth-sidecar")["cloud-patterns:auth_sidecar"]["valid_domains"] == ["acme.io",
                                                                                              "partner.acme.io"]
    assert config(project, "label-detector")["gcp:project"] == "cloud-patterns-dev"
    assert "placeholder values" in result.stdout  # what was kept is still a placeholder, and said so
