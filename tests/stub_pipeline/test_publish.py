"""The publish step against a real local index: a refused upload fails with the index's answer and no credential,
CodeArtifact's endpoint and token are asked for, and a build environment that cannot publish is refused."""
from __future__ import annotations

import boto3
import botocore.session
import pytest
from botocore.stub import Stubber

from runtime.boto_stubs import contract
from runtime.boto_stubs.__main__ import main
from runtime.boto_stubs.generator import generate
from runtime.boto_stubs.package import build_wheel
from runtime.boto_stubs.publish import PublishError, publish
from tests.stub_pipeline.index_support import PASSWORD, USER, local_index


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    session = botocore.session.get_session()
    return build_wheel(generate(session, ["sqs"]), tmp_path_factory.mktemp("dist"), "tiny-stubs", "1.2.3", "1.5.6")


def external(index, token=PASSWORD):
    return contract.Settings.from_env({contract.ENV_INDEX_URL: index.url, contract.ENV_INDEX_USERNAME: USER,
                                       contract.ENV_INDEX_TOKEN: token, contract.ENV_PACKAGE: "tiny-stubs"})


def test_a_refused_upload_fails_with_the_index_s_answer_and_no_credential(wheel, tmp_path, capsys):
    with local_index(tmp_path, protect=("update",)) as index:  # anyone may read; uploads need the password
        with pytest.raises(PublishError) as refused:
            publish(wheel, external(index, token="not-the-password"))
        assert list(index.packages.iterdir()) == []
    assert str(refused.value) == f"{index.url} refused tiny_stubs-0.4.1.2.3-py3-none-any.whl: 403 Forbidden"
    assert "not-the-password" not in capsys.readouterr().out


def test_the_cli_exits_1_with_one_line_when_the_index_refuses(wheel, tmp_path, capsys, monkeypatch):
    with local_index(tmp_path) as index:
        for name, value in {contract.ENV_INDEX_URL: index.url, contract.ENV_INDEX_USERNAME: USER,
                            contract.ENV_INDEX_TOKEN: "wrong"}.items():
            monkeypatch.setenv(name, value)
        assert main(["publish", str(wheel.parent)]) == 1
    assert capsys.readouterr().err == f"error: {index.url}: reading what it holds answered 403 Forbidden\n"


def test_codeartifact_publishes_with_a_fresh_token_to_the_repository_s_endpoint(wheel, tmp_path):
    client = boto3.client("codeartifact", region_name="us-east-1", aws_access_key_id="testing",
                          aws_secret_access_key="testing")
    settings = contract.Settings.from_env({contract.ENV_DOMAIN: "prod-stub-pipeline", contract.ENV_REPOSITORY: "python",
                                           contract.ENV_DOMAIN_OWNER: "123456789012"})
    where = {"domain": "prod-stub-pipeline", "domainOwner": "123456789012"}
    with local_index(tmp_path, user=contract.CODEARTIFACT_USERNAME) as index, Stubber(client) as stub:
        for _ in range(2):  # the endpoint is the local index; the token is its password, for user aws
            stub.add_response("get_repository_endpoint", {"repositoryEndpoint": index.url.rstrip("/")},
                              {**where, "repository": "python", "format": "pypi"})
            stub.add_response("get_authorization_token", {"authorizationToken": PASSWORD},
                              {**where, "durationSeconds": 900})
        assert publish(wheel, settings, codeartifact=client) == "published"
        assert publish(wheel, settings, codeartifact=client) == "skipped"
        stub.assert_no_pending_responses()


@pytest.mark.parametrize("environ, message", [
    ({}, "no index: set INDEX_URL"),
    ({"INDEX_URL": "https://pypi.example.com/"}, "INDEX_TOKEN is not set"),
    ({"INDEX_URL": "https://pypi.example.com/", "INDEX_TOKEN": contract.TOKEN_PLACEHOLDER}, "INDEX_TOKEN is not set"),
    ({"INDEX_URL": "http://pypi.example.com/", "INDEX_TOKEN": "t"}, "INDEX_URL='http://pypi.example.com/'"),
    ({"INDEX_URL": "https://u:p@pypi.example.com/", "INDEX_TOKEN": "t"}, "without credentials"),
    ({"CODEARTIFACT_DOMAIN": "d"}, "CodeArtifact needs CODEARTIFACT_DOMAIN, CODEARTIFACT_DOMAIN_OWNER"),
    ({"STUB_PACKAGE": "bad name", "INDEX_URL": "https://p.example.com/", "INDEX_TOKEN": "t"}, "STUB_PACKAGE="),
])
def test_a_build_environment_that_cannot_publish_is_refused_naming_the_variable(environ, message):
    with pytest.raises(contract.SettingsError, match=message.replace("(", r"\(").replace("?", r"\?")):
        contract.Settings.from_env(environ)


def test_the_build_environment_the_program_writes_reads_back():
    written = contract.build_environment("p", index_url="https://pypi.example.com/", simple_url=None, username="u")
    assert written == {"STUB_PACKAGE": "p", "INDEX_URL": "https://pypi.example.com/", "INDEX_USERNAME": "u"}
    settings = contract.Settings.from_env({**written, contract.ENV_INDEX_TOKEN: "t"})
    assert (settings.simple_url, settings.username, settings.codeartifact) == ("https://pypi.example.com/simple/",
                                                                              "u", False)
    with pytest.raises(TypeError, match="no variable for token"):
        contract.build_environment("p", token="t")
