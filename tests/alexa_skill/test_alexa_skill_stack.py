"""Stack ``<env>-alexa-skill`` under the SDK's mock engine: the trigger only the skill may pull, the function
and its role, the alarms on the environment's topic, and config refused before any resource."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from components.alexa_skill import AlexaSkillFunctionArgs
from components.args import InvalidArgument
from components.packaging import PROJECT_DIR
from planning.mocks import ProviderMocks
from planning.offline import RecordingMonitor
from programs.common import ConfigError
from tests.conftest import run_program

SKILL_ID = "amzn1.ask.skill.8f3c2a1e-5b7d-4c9e-a1f2-3d4e5f6a7b8c"
SETTINGS = {"skill_id": SKILL_ID, "race_data_url": "https://race-data.example.com/api"}
PERMISSION = "aws:lambda/permission:Permission"
FUNCTION = "aws:lambda/function:Function"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


@pytest.fixture(scope="module")
def alerts():
    return run_program("alerts", {"alerts": {"emails": ["ops@example.com"]}}).outputs


def plan(alerts, monitor=None, **settings):
    return run_program("alexa-skill", {"alexa_skill": {**SETTINGS, **settings}}, upstream={"alerts": "test-alerts"},
                       upstream_outputs={"test-alerts": alerts}, monitor=monitor)


@pytest.fixture(scope="module")
def stack(alerts):
    return plan(alerts, memory_mb=512, timeout_seconds=5, log_retention_days=60, reserved_concurrency=7,
                race_data_timeout_seconds=1.5, race_data_cache_seconds=30, slow_answer_ms=2500)


def only(stack, type_token):
    [resource] = stack.of_type(type_token)
    return resource


def test_only_the_configured_skill_may_invoke_the_function(stack):
    permission = only(stack, PERMISSION).inputs
    assert permission == {"action": "lambda:InvokeFunction", "function": stack.outputs["function_name"],
                          "principal": "alexa-appkit.amazon.com", "eventSourceToken": SKILL_ID}
    assert stack.outputs["function_arn"] == ("arn:aws:lambda:us-east-1:123456789012:function:"
                                             + stack.outputs["function_name"])
    assert stack.outputs["skill_id"] == SKILL_ID


def test_the_function_runs_the_skill_package_on_arm64_with_its_settings(stack):
    function = only(stack, FUNCTION).inputs
    assert (function["runtime"], function["architectures"], function["handler"]) == (
        "python3.12", ["arm64"], "runtime.alexa_skill.handler.handler")
    assert (function["memorySize"], function["timeout"], function["reservedConcurrentExecutions"]) == (512, 5, 7)
    assert function["environment"]["variables"] == {
        "RACE_DATA_URL": "https://race-data.example.com/api", "RACE_DATA_TIMEOUT_SECONDS": "1.5",
        "RACE_DATA_CACHE_SECONDS": "30", "SKILL_ID": SKILL_ID}
    assets = function["code"]["assets"]
    assert {"runtime/alexa_skill/handler.py", "runtime/alexa_skill/skill.py", "runtime/alexa_skill/contract.py",
            "runtime/alexa_skill/skill-package/interactionModels/custom/en-US.json"} <= set(assets)
    assert not [a for a in assets if a.endswith("requirements.txt") or "__pycache__" in a or "/tests/" in a]
    assert function["loggingConfig"]["logFormat"] == "JSON"
    [layer] = stack.of_type("aws:lambda/layerVersion:LayerVersion")
    assert layer.inputs["compatibleArchitectures"] == ["arm64"] and function["layers"]


def test_the_role_may_only_write_its_own_log_group(stack):
    role = only(stack, "aws:iam/role:Role").inputs
    trust = json.loads(role["assumeRolePolicy"])["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "lambda.amazonaws.com"}]
    policy = json.loads(only(stack, "aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    group = only(stack, "aws:cloudwatch/logGroup:LogGroup")
    assert group.inputs["retentionInDays"] == 60
    assert policy["Statement"] == [{"Sid": "WriteOwnLogs", "Effect": "Allow",
                                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                                    "Resource": f"arn:aws:logs:us-east-1:123456789012:log-group:"
                                                f"{stack.outputs['log_group']}:*"}]


def test_every_alarm_notifies_the_environments_topic(stack, alerts):
    alarms = {a.inputs["metricName"]: a.inputs for a in stack.of_type(ALARM)}
    assert sorted(alarms) == ["Duration", "Errors", "Throttles"]
    for alarm in alarms.values():
        assert alarm["alarmActions"] == [alerts["topic_arn"]] and alarm["okActions"] == [alerts["topic_arn"]]
        assert alarm["dimensions"] == {"FunctionName": stack.outputs["function_name"]}
    slow = alarms["Duration"]
    assert (slow["extendedStatistic"], slow["threshold"], slow["period"]) == ("p99", 2500, 300)
    assert "statistic" not in slow
    assert len(stack.outputs["alarms"]) == 3


def test_defaults_are_a_small_function_inside_alexas_wait(alerts):
    function = only(plan(alerts), FUNCTION).inputs
    assert (function["memorySize"], function["timeout"]) == (256, 6)
    assert "reservedConcurrentExecutions" not in function
    assert function["environment"]["variables"]["RACE_DATA_TIMEOUT_SECONDS"] == "2"


@pytest.mark.parametrize("settings, key, fragment", [
    ({"skill_id": None}, "skill_id", "an Alexa skill id"),
    ({"skill_id": "amzn1.ask.skill.PLACEHOLDER"}, "skill_id", "amzn1.ask.skill.<uuid>"),
    ({"skill_id": "amzn1.ask.skill.8F3C2A1E-5B7D-4C9E-A1F2-3D4E5F6A7B8C"}, "skill_id", "lower case"),
    ({"skill_id": "amzn1.echo-sdk-ams.app.8f3c2a1e-5b7d-4c9e-a1f2-3d4e5f6a7b8c"}, "skill_id", "skill id"),
    ({"race_data_url": "http://race-data.example.com"}, "race_data_url", "https://"),
    ({"race_data_url": "https://user:pw@race-data.example.com"}, "race_data_url", "no credentials"),
    ({"timeout_seconds": 8}, "timeout_seconds", "from 2 to 7"),
    ({"timeout_seconds": 3, "race_data_timeout_seconds": 2.5}, "race_data_timeout_seconds", "timeout_seconds - 1"),
    ({"handler": "other.handler"}, "handler", "unknown setting"),
    ({"favoriteColor": "blue"}, "favoriteColor", "unknown setting"),
])
def test_bad_config_is_refused_naming_the_key_before_any_resource(alerts, settings, key, fragment):
    monitor = RecordingMonitor(ProviderMocks())
    values = {k: v for k, v in {**SETTINGS, **settings}.items() if v is not None}
    with pytest.raises(ConfigError) as error:
        run_program("alexa-skill", {"alexa_skill": values}, upstream={"alerts": "test-alerts"},
                    upstream_outputs={"test-alerts": alerts}, monitor=monitor)
    assert f"cloud-patterns:alexa_skill.{key}:" in str(error.value) and fragment in str(error.value)
    assert [r for r in monitor.recorded if r.custom and r.type != "pulumi:pulumi:StackReference"] == []


def test_the_component_refuses_an_environment_that_would_overwrite_the_skill_id():
    with pytest.raises(InvalidArgument) as error:
        AlexaSkillFunctionArgs(source_dir="runtime/alexa_skill", skill_id=SKILL_ID, skill_id_variable="SKILL_ID",
                               environment={"SKILL_ID": "amzn1.ask.skill.00000000-0000-0000-0000-000000000000"})
    assert error.value.key == "environment"


def test_the_archive_alone_runs_the_handler_lambda_would_call(stack, tmp_path):
    """The function's package unpacked by itself (no project on the path, the SDK where the layer would put it)
    imports the handler by its configured name and answers a LaunchRequest."""
    function = only(stack, FUNCTION).inputs
    for name, source in function["code"]["assets"].items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(PROJECT_DIR / source["path"], target)
    module, entry = function["handler"].rsplit(".", 1)
    event = json.loads((PROJECT_DIR / "tests/alexa_skill/envelopes/launch_request.json").read_text())
    script = (f"import importlib, json, sys; sys.path[:0] = [{str(tmp_path)!r}]; "
              f"m = importlib.import_module({module!r}); import runtime; "
              f"assert runtime.__file__.startswith({str(tmp_path)!r}), runtime.__file__; "
              f"print(json.dumps(getattr(m, {entry!r})(json.loads(sys.stdin.read()), None)))")
    environment = {**function["environment"]["variables"], "SKILL_ID": event["context"]["System"]["application"][
        "applicationId"], "PATH": os.environ.get("PATH", "")}
    result = subprocess.run([sys.executable, "-I", "-c", script], input=json.dumps(event), capture_output=True,
                            text=True, cwd=tmp_path, env=environment, timeout=60)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["response"]["outputSpeech"]["ssml"].startswith("<speak>Welcome to horse racing.")


def test_the_layer_holds_the_pinned_sdk_for_arm64_and_leaves_botocore_its_dateutil(stack):
    [layer] = stack.of_type("aws:lambda/layerVersion:LayerVersion")
    packages = PROJECT_DIR / layer.inputs["code"]["path"] / "python"
    installed = {p.name for p in packages.glob("*.dist-info")}
    assert {"ask_sdk_core-1.19.0.dist-info", "ask_sdk_model-1.82.0.dist-info", "ask_sdk_runtime-1.19.0.dist-info",
            "requests-2.34.2.dist-info"} <= installed
    # the layer comes before the runtime's boto3 on the path: a python-dateutil 3+ there would break botocore
    assert [p for p in installed if p.startswith("python_dateutil-")] == ["python_dateutil-2.9.0.post0.dist-info"]
    assert not list(packages.rglob("*x86_64*.so")) and not list(packages.rglob("*cpython-311*"))
