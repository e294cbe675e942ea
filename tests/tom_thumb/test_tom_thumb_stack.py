"""The tom-thumb stack under the mock engine: scoped IAM of every role, triggers, alarms, notifications, task
size, logs, dead letters, privacy, placement."""
from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from programs.common import ConfigError
from runtime.task_invoker.contract import Settings
from runtime.thumbnail import contract as thumbnail
from planning.mocks import autoname
from planning.offline import plan_environment
from planning.project import load_environment
from tests.conftest import run_program

ACCOUNT = "123456789012"
REPO_ROOT = Path(__file__).resolve().parents[2]
SETTINGS = {"input_prefix": "video/", "output_prefix": "thumbnail/", "log_retention_days": 14,
            "position": "00:00:02.5", "video_suffixes": [".mp4", ".mov"], "dead_letter_retention_days": 7,
            "retry_attempts": 1, "max_event_age_seconds": 900, "backfill_schedule": "cron(0 3 * * ? *)",
            "backfill_timezone": "Europe/Berlin", "backfill_window_minutes": 30, "backfill_limit": 20}


@pytest.fixture(scope="module")
def upstreams(network_outputs):
    return {**network_outputs, "test-alerts": run_program("alerts", {"alerts": {"emails": []}}).outputs}


def plan_with(upstreams, settings=None, nat_strategy=None):
    outputs = upstreams
    if nat_strategy:  # the network decides where tasks run
        outputs = {**upstreams,
                   "test-network": run_program("network", {"network": {"nat_strategy": nat_strategy}}).outputs}
    return run_program("tom-thumb", {"tom_thumb": SETTINGS if settings is None else settings},
                       upstream={"network": "test-network", "alerts": "test-alerts"}, upstream_outputs=outputs,
                       short_name="tom-thumb")


@pytest.fixture(scope="module")
def plan(upstreams):
    return plan_with(upstreams)


def topic(upstreams):
    return upstreams["test-alerts"]["topic_arn"]


def one(plan, type_token, name_prefix=""):
    [resource] = [r for r in plan.of_type(type_token) if r.name.startswith(name_prefix)]
    return resource


def policy(plan, role_prefix):
    return json.loads(one(plan, "aws:iam/rolePolicy:RolePolicy", role_prefix).inputs["policy"])["Statement"]


def arns(plan):
    return {
        "bucket": f"arn:aws:s3:::{plan.outputs['bucket']}",
        "cluster": plan.outputs["cluster_arn"],
        "task_definition": plan.outputs["task_definition_arn"],
        "family": plan.outputs["task_definition_arn"].rsplit(":", 1)[0],
        "execution_role": one(plan, "aws:ecs/taskDefinition:TaskDefinition").inputs["executionRoleArn"],
        "task_role": one(plan, "aws:ecs/taskDefinition:TaskDefinition").inputs["taskRoleArn"],
        "queue": f"arn:aws:sqs:us-east-1:{ACCOUNT}:{plan.outputs['dead_letter_queue_url'].rsplit('/', 1)[1]}",
    }


def invoker_environment(plan):
    return one(plan, "aws:lambda/function:Function").inputs["environment"]["variables"]


def test_task_role_reads_only_the_input_prefix_writes_only_the_output_prefix_and_lists_only_both(plan):
    bucket = arns(plan)["bucket"]
    assert policy(plan, "test-tom-thumb-thumbnail-task") == [
        {"Sid": "ReadInputs", "Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{bucket}/video/*"},
        {"Sid": "WriteOutputs", "Effect": "Allow", "Action": "s3:PutObject", "Resource": f"{bucket}/thumbnail/*"},
        {"Sid": "ListInputsAndOutputs", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket,
         "Condition": {"StringLike": {"s3:prefix": ["video/*", "thumbnail/*"]}}},
    ]


def test_without_a_backfill_the_task_may_not_list_and_nothing_is_scheduled(upstreams):
    plan = plan_with(upstreams, {**SETTINGS, "backfill_schedule": None})
    assert [s["Sid"] for s in policy(plan, "test-tom-thumb-thumbnail-task")] == ["ReadInputs", "WriteOutputs"]
    assert not plan.of_type("aws:scheduler/schedule:Schedule") and plan.outputs["backfill_schedule"] is None


def test_execution_role_pulls_only_this_image_repository_and_writes_only_the_task_logs(plan):
    statements = {s["Sid"]: s for s in policy(plan, "test-tom-thumb-thumbnail-execution")}
    repository = plan.outputs["repository_url"].rsplit("/", 1)[1]
    assert statements["PullTaskImages"]["Resource"] == f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/{repository}"
    task_logs = plan.outputs["task_log_group"]
    assert statements["WriteTaskLogs"]["Resource"] == f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{task_logs}:*"
    assert set(statements) == {"WriteTaskLogs", "LogInToEcr", "PullTaskImages"}


def starter_statements(ids: dict, run_sid: str, dead_letter_sid: str) -> list[dict]:
    """What every starter of the task may do: run this family on this cluster, pass the two roles to ECS tasks,
    dead-letter what it could not start."""
    return [
        {"Sid": run_sid, "Effect": "Allow", "Action": "ecs:RunTask", "Resource": f"{ids['family']}:*",
         "Condition": {"ArnEquals": {"ecs:cluster": ids["cluster"]}}},
        {"Sid": "PassTaskRoles", "Effect": "Allow", "Action": "iam:PassRole",
         "Resource": [ids["execution_role"], ids["task_role"]],
         "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}},
        {"Sid": dead_letter_sid, "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": ids["queue"]},
    ]


def test_invoker_runs_only_this_family_on_this_cluster_and_passes_only_the_two_task_roles(plan):
    ids = arns(plan)
    invoker_logs = plan.outputs["invoker_log_group"]
    assert policy(plan, "test-tom-thumb-invoker-role") == [
        {"Sid": "WriteOwnLogs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{invoker_logs}:*"},
        *starter_statements(ids, "RunTasks", "DeadLetterFailedEvents")]
    assert ids["execution_role"] != ids["task_role"]
    assert all(arn.startswith(f"arn:aws:iam::{ACCOUNT}:role/") for arn in (ids["execution_role"], ids["task_role"]))


def test_no_policy_grants_every_action_or_data_on_every_resource(plan):
    for role_policy in plan.of_type("aws:iam/rolePolicy:RolePolicy"):
        for statement in json.loads(role_policy.inputs["policy"])["Statement"]:
            actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
            resources = [statement["Resource"]] if isinstance(statement["Resource"], str) else statement["Resource"]
            assert not any(action.endswith("*") for action in actions), (role_policy.name, actions)
            if "*" in resources:
                assert actions == ["ecr:GetAuthorizationToken"], (role_policy.name, actions)


def test_only_created_videos_under_the_input_prefix_notify_the_invoker(plan):
    notification = one(plan, "aws:s3/bucketNotification:BucketNotification")
    function_arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{plan.outputs['invoker_function']}"
    assert notification.inputs["bucket"] == plan.outputs["bucket"]
    rules = notification.inputs["lambdaFunctions"]
    assert sorted(rule["filterSuffix"] for rule in rules) == sorted([".mp4", ".MP4", ".mov", ".MOV"])
    for rule in rules:
        assert rule["events"] == ["s3:ObjectCreated:*"]
        assert rule["filterPrefix"] == "video/"
        assert rule["lambdaFunctionArn"] == function_arn
    assert not notification.inputs.get("queues") and not notification.inputs.get("topics")


def test_only_this_bucket_of_this_account_may_invoke_the_invoker(plan):
    permission = one(plan, "aws:lambda/permission:Permission").inputs
    assert permission == {"action": "lambda:InvokeFunction", "function": plan.outputs["invoker_function"],
                          "principal": "s3.amazonaws.com", "sourceArn": arns(plan)["bucket"],
                          "sourceAccount": ACCOUNT}


def test_task_is_the_default_fargate_size_with_one_non_root_container_logging_to_cloudwatch(plan):
    task = one(plan, "aws:ecs/taskDefinition:TaskDefinition").inputs
    assert (task["cpu"], task["memory"]) == ("256", "1024")
    assert task["networkMode"] == "awsvpc" and task["requiresCompatibilities"] == ["FARGATE"]
    [container] = json.loads(task["containerDefinitions"])
    assert container["name"] == invoker_environment(plan)["CONTAINER_NAME"] == "thumbnail"
    assert container["memory"] == 1024 and container["user"] == "10001" and container["essential"]
    assert container["portMappings"] == []
    assert {item["name"]: item["value"] for item in container["environment"]} == {
        "AWS_REGION": "us-east-1", thumbnail.ENV_BUCKET: plan.outputs["bucket"], thumbnail.ENV_VIDEO_PREFIX: "video/",
        thumbnail.ENV_THUMBNAIL_PREFIX: "thumbnail/", thumbnail.ENV_VIDEO_SUFFIXES: ".mp4,.mov",
        thumbnail.ENV_POSITION: "00:00:02.5", thumbnail.ENV_BACKFILL_LIMIT: "20"}  # the key comes per start
    assert container["user"] == thumbnail.CONTAINER_USER
    assert container["image"].startswith(plan.outputs["repository_url"] + "@sha256:")
    assert container["logConfiguration"]["options"]["awslogs-group"] == plan.outputs["task_log_group"]
    cluster = one(plan, "aws:ecs/cluster:Cluster").inputs
    assert cluster["settings"] == [{"name": "containerInsights", "value": "enabled"}]


def test_image_repository_scans_on_push_keeps_tags_immutable_and_expires_old_images(plan):
    repository = one(plan, "aws:ecr/repository:Repository").inputs
    assert repository["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repository["imageTagMutability"] == "IMMUTABLE"
    rules = json.loads(one(plan, "aws:ecr/lifecyclePolicy:LifecyclePolicy").inputs["policy"])["rules"]
    assert [rule["action"]["type"] for rule in rules] == ["expire", "expire"]
    image = one(plan, "docker-build:index:Image").inputs
    assert image["dockerfile"]["location"] == thumbnail.DOCKERFILE
    assert image["context"]["location"] == "runtime"


def test_every_log_group_keeps_logs_for_the_configured_days(plan):
    groups = plan.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert sorted(group.name.rsplit("-logs", 1)[0] for group in groups) == [
        "test-tom-thumb-invoker", "test-tom-thumb-thumbnail"]
    assert {group.inputs["retentionInDays"] for group in groups} == {14}


def test_failed_invocations_are_retried_then_dead_lettered(plan):
    invoke_config = one(plan, "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig").inputs
    assert invoke_config == {
        "functionName": plan.outputs["invoker_function"], "maximumRetryAttempts": 1, "maximumEventAgeInSeconds": 900,
        "destinationConfig": {"onFailure": {"destination": arns(plan)["queue"]}}}
    queue = one(plan, "aws:sqs/queue:Queue").inputs
    assert queue == {"messageRetentionSeconds": 7 * 86400, "sqsManagedSseEnabled": True}


def test_bucket_is_private_encrypted_and_reachable_only_over_tls(plan):
    bucket = plan.outputs["bucket"]
    assert one(plan, "aws:s3/bucket:Bucket").inputs == {"forceDestroy": False}  # no ACL, no policy, no website
    assert one(plan, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs == {
        "bucket": bucket, "blockPublicAcls": True, "blockPublicPolicy": True, "ignorePublicAcls": True,
        "restrictPublicBuckets": True}
    assert one(plan, "aws:s3/bucketOwnershipControls:BucketOwnershipControls").inputs["rule"] == {
        "objectOwnership": "BucketOwnerEnforced"}
    encryption = one(plan, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    assert encryption.inputs["rules"] == [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]
    [statement] = json.loads(one(plan, "aws:s3/bucketPolicy:BucketPolicy").inputs["policy"])["Statement"]
    assert statement == {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Action": "s3:*", "Principal": "*",
                         "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                         "Condition": {"Bool": {"aws:SecureTransport": "false"}}}


def test_tasks_accept_no_connections_and_may_only_call_out_over_https(plan, network_outputs):
    group = one(plan, "aws:ec2/securityGroup:SecurityGroup").inputs
    assert group["vpcId"] == network_outputs["test-network"]["vpc_id"]
    assert "ingress" not in group and "egress" not in group  # rule resources only: inline rules would fight them
    [egress] = plan.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
    assert {k: egress.inputs[k] for k in ("ipProtocol", "fromPort", "toPort", "cidrIpv4")} == {
        "ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "cidrIpv4": "0.0.0.0/0"}
    assert not plan.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    network = Settings.from_env(invoker_environment(plan)).network_configuration["awsvpcConfiguration"]
    assert network["securityGroups"] == [egress.inputs["securityGroupId"]]


@pytest.mark.parametrize(("nat_strategy", "tier", "public_ip"),
                         [("none", "public", True), ("one-per-az", "private", False)])
def test_tasks_run_where_the_network_decided_whoever_starts_them(upstreams, nat_strategy, tier, public_ip):
    network = run_program("network", {"network": {"nat_strategy": nat_strategy}}).outputs
    plan = plan_with(upstreams, nat_strategy=nat_strategy)
    invoker = Settings.from_env(invoker_environment(plan)).network_configuration["awsvpcConfiguration"]
    assert invoker["subnets"] == network["task_subnet_ids"] == network[f"{tier}_subnet_ids"]
    assert invoker["assignPublicIp"] == ("ENABLED" if public_ip else "DISABLED")  # RunTask's own words
    scheduled = one(plan, "aws:scheduler/schedule:Schedule").inputs["target"]["ecsParameters"]["networkConfiguration"]
    assert scheduled == {"subnets": network["task_subnet_ids"], "assignPublicIp": public_ip,
                         "securityGroups": invoker["securityGroups"]}


def test_the_planned_invoker_environment_is_what_the_handler_reads(plan):
    settings = Settings.from_env(invoker_environment(plan))
    assert settings.cluster == plan.outputs["cluster_arn"]
    assert settings.task_definition == plan.outputs["task_definition_arn"]
    assert settings.container_name == thumbnail.CONTAINER_NAME
    assert (settings.bucket_variable, settings.key_variable) == (thumbnail.ENV_BUCKET, thumbnail.ENV_KEY)
    assert settings.suffixes == (".mp4", ".mov")
    assert len(settings.network_configuration["awsvpcConfiguration"]["subnets"]) == 2


@pytest.mark.parametrize(("settings", "key"), [
    ({"cpu": 256, "memory_mb": 4096}, "memory_mb"),
    ({"cpu": 300}, "cpu"),
    ({"position": "halfway"}, "position"),
    ({"position": "100%"}, "position"),
    ({"position": "1:30"}, "position"),
    ({"backfill_schedule": "daily"}, "backfill_schedule"),
    ({"backfill_schedule": "cron(0 3 * * *)"}, "backfill_schedule"),
    ({"backfill_timezone": "Mars/Olympus"}, "backfill_timezone"),
    ({"backfill_window_minutes": 2000}, "backfill_window_minutes"),
    ({"backfill_limit": 0}, "backfill_limit"),
    ({"suffixes": [".mp4"]}, "suffixes"),
    ({"input_prefix": "/video/"}, "input_prefix"),
    ({"input_prefix": "video"}, "input_prefix"),
    ({"output_prefix": "video/thumbnail/"}, "output_prefix"),
    ({"video_suffixes": ["mp4"]}, "video_suffixes"),
    ({"video_suffixes": [".MP4"]}, "video_suffixes"),
    ({"video_suffixes": []}, "video_suffixes"),
    ({"log_retention_days": 10}, "log_retention_days"),
    ({"retry_attempts": 3}, "retry_attempts"),
    ({"dead_letter_retention_days": 30}, "dead_letter_retention_days"),
    ({"invoker_reserved_concurrency": 0}, "invoker_reserved_concurrency"),
    ({"subnets": ["subnet-1"]}, "subnets"),
])
def test_invalid_settings_are_refused_naming_the_config_key(upstreams, settings, key):
    with pytest.raises(ConfigError, match=rf"^cloud-patterns:tom_thumb\.{key}: "):
        plan_with(upstreams, {**SETTINGS, **settings})


@pytest.mark.parametrize(("environment", "tier", "public_ip"), [("dev", "public", "ENABLED"),
                                                                 ("prod", "private", "DISABLED")])
def test_stack_files_read_their_environments_network_and_alerts(environment, tier, public_ip):
    stacks = load_environment(environment)
    assert sorted(stacks.stacks[f"{environment}-tom-thumb"].depends_on) == [f"{environment}-alerts",
                                                                           f"{environment}-network"]
    [alerts, network, thumbs] = plan_environment(
        stacks, [f"{environment}-alerts", f"{environment}-network", f"{environment}-tom-thumb"])
    network_configuration = Settings.from_env(invoker_environment(thumbs)).network_configuration
    assert network_configuration["awsvpcConfiguration"]["subnets"] == network.outputs[f"{tier}_subnet_ids"]
    assert network_configuration["awsvpcConfiguration"]["assignPublicIp"] == public_ip
    for alarm in thumbs.of_type("aws:cloudwatch/metricAlarm:MetricAlarm"):
        assert alarm.inputs["alarmActions"] == [alerts.outputs["topic_arn"]]
    assert one(thumbs, "aws:scheduler/schedule:Schedule").inputs["scheduleExpression"] == "cron(0 3 * * ? *)"
    assert json.loads(one(thumbs, "aws:ecs/taskDefinition:TaskDefinition").inputs["memory"]) == 1024


def test_the_backfill_schedule_runs_the_task_directly_with_retries_and_a_dead_letter_queue(plan):
    ids = arns(plan)
    schedule = one(plan, "aws:scheduler/schedule:Schedule").inputs
    group = one(plan, "aws:scheduler/scheduleGroup:ScheduleGroup")
    assert schedule["groupName"] == autoname(group.name, group.inputs)  # the stack's own group, as wired
    assert (schedule["scheduleExpression"], schedule["scheduleExpressionTimezone"]) == ("cron(0 3 * * ? *)",
                                                                                        "Europe/Berlin")
    assert schedule["flexibleTimeWindow"] == {"mode": "FLEXIBLE", "maximumWindowInMinutes": 30}
    target = schedule["target"]
    assert target["arn"] == ids["cluster"]
    assert target["ecsParameters"]["taskDefinitionArn"] == ids["task_definition"]
    assert target["ecsParameters"]["launchType"] == "FARGATE" and target["ecsParameters"]["taskCount"] == 1
    assert "input" not in target  # no key: the worker backfills
    assert target["retryPolicy"] == {"maximumRetryAttempts": 2, "maximumEventAgeInSeconds": 3600}
    assert target["deadLetterConfig"] == {"arn": ids["queue"]}
    role = one(plan, "aws:iam/role:Role", "test-tom-thumb-scheduler")
    assert target["roleArn"] == f"arn:aws:iam::{ACCOUNT}:role/{autoname(role.name, role.inputs)}"


def test_the_schedulers_role_trusts_only_this_accounts_schedule_group_and_may_only_start_this_task(plan):
    ids = arns(plan)
    role = one(plan, "aws:iam/role:Role", "test-tom-thumb-scheduler")
    [trust] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    group = one(plan, "aws:scheduler/schedule:Schedule").inputs["groupName"]
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}, "ArnLike": {
        "aws:SourceArn": f"arn:aws:scheduler:us-east-1:{ACCOUNT}:schedule-group/{group}"}}
    assert policy(plan, "test-tom-thumb-scheduler") == starter_statements(ids, "RunScheduledTasks",
                                                                          "DeadLetterFailedStarts")


def test_every_alarm_and_the_failed_task_rule_notify_the_alert_topic(plan, upstreams):
    alarms = {a.name: a.inputs for a in plan.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert sorted(alarms) == ["test-tom-thumb-invoker-errors", "test-tom-thumb-invoker-failures-not-empty",
                              "test-tom-thumb-invoker-throttles"]
    for alarm in alarms.values():
        assert alarm["alarmActions"] == alarm["okActions"] == [topic(upstreams)]
    queue = alarms["test-tom-thumb-invoker-failures-not-empty"]
    assert (queue["namespace"], queue["metricName"], queue["statistic"], queue["threshold"]) == (
        "AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum", 0)
    assert queue["dimensions"] == {"QueueName": arns(plan)["queue"].rsplit(":", 1)[1]}
    assert alarms["test-tom-thumb-invoker-errors"]["dimensions"] == {"FunctionName": plan.outputs["invoker_function"]}
    rule = one(plan, "aws:cloudwatch/eventRule:EventRule", "test-tom-thumb-failed-tasks")
    pattern = json.loads(rule.inputs["eventPattern"])
    assert pattern["detail"]["clusterArn"] == [plan.outputs["cluster_arn"]]
    assert pattern["detail"]["lastStatus"] == ["STOPPED"]
    [target] = plan.of_type("aws:cloudwatch/eventTarget:EventTarget")
    assert target.inputs["arn"] == topic(upstreams) and target.inputs["rule"] == autoname(rule.name, rule.inputs)


def test_the_dockerfile_runs_as_the_contracts_user():
    dockerfile = (REPO_ROOT / thumbnail.DOCKERFILE).read_text()
    assert f"USER {thumbnail.CONTAINER_USER}" in dockerfile
    assert f"--uid {thumbnail.CONTAINER_USER}" in dockerfile


@pytest.mark.parametrize("module", ["components/container_on_demand.py", "components/task_triggers.py"])
def test_the_pattern_imports_no_app_and_names_none(module):
    source = (REPO_ROOT / module).read_text()
    imported = [node.module or "" for node in ast.walk(ast.parse(source)) if isinstance(node, ast.ImportFrom)]
    imported += [alias.name for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Import)
                 for alias in node.names]
    assert not [name for name in imported if name.split(".")[0] in ("runtime", "programs")]
    for app_name in ("runtime/", "thumbnail/", "video/", "MEDIA_BUCKET", "VIDEO_KEY", "POSITION_TIME_DURATION"):
        assert app_name not in source
