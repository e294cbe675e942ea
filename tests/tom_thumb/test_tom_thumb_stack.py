"""The tom-thumb stack under the mock engine: scoped IAM, notifications, task size, logs, dead letters, privacy."""
from __future__ import annotations

import json

import pytest

from programs.common import ConfigError
from runtime.task_invoker.handler import Settings
from planning.offline import plan_environment
from planning.project import load_environment
from tests.conftest import run_program

ACCOUNT = "123456789012"
SETTINGS = {"log_retention_days": 14, "position": "00:00:02.5", "video_suffixes": [".mp4", ".mov"],
            "dead_letter_retention_days": 7, "retry_attempts": 1, "max_event_age_seconds": 900}


def plan_with(network_outputs, settings=None, nat_strategy=None):
    outputs = network_outputs
    if nat_strategy:  # the network decides where tasks run
        outputs = {"test-network": run_program("network", {"network": {"nat_strategy": nat_strategy}}).outputs}
    return run_program("tom-thumb", {"tom_thumb": SETTINGS if settings is None else settings},
                       upstream={"network": "test-network"}, upstream_outputs=outputs, short_name="tom-thumb")


@pytest.fixture(scope="module")
def plan(network_outputs):
    return plan_with(network_outputs)


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


def test_task_role_reads_only_the_input_prefix_and_writes_only_the_output_prefix(plan):
    bucket = arns(plan)["bucket"]
    assert policy(plan, "test-tom-thumb-thumbnail-task") == [
        {"Sid": "ReadInputVideos", "Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{bucket}/video/*"},
        {"Sid": "WriteThumbnails", "Effect": "Allow", "Action": "s3:PutObject", "Resource": f"{bucket}/thumbnail/*"},
    ]


def test_execution_role_pulls_only_this_image_repository_and_writes_only_the_task_logs(plan):
    statements = {s["Sid"]: s for s in policy(plan, "test-tom-thumb-thumbnail-execution")}
    repository = plan.outputs["repository_url"].rsplit("/", 1)[1]
    assert statements["PullTaskImages"]["Resource"] == f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/{repository}"
    task_logs = plan.outputs["task_log_group"]
    assert statements["WriteTaskLogs"]["Resource"] == f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{task_logs}:*"
    assert set(statements) == {"WriteTaskLogs", "LogInToEcr", "PullTaskImages"}


def test_invoker_runs_only_this_family_on_this_cluster_and_passes_only_the_two_task_roles(plan):
    ids = arns(plan)
    invoker_logs = plan.outputs["invoker_log_group"]
    assert policy(plan, "test-tom-thumb-invoker-role") == [
        {"Sid": "WriteOwnLogs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{invoker_logs}:*"},
        {"Sid": "RunThumbnailTasks", "Effect": "Allow", "Action": "ecs:RunTask", "Resource": f"{ids['family']}:*",
         "Condition": {"ArnEquals": {"ecs:cluster": ids["cluster"]}}},
        {"Sid": "PassTaskRoles", "Effect": "Allow", "Action": "iam:PassRole",
         "Resource": [ids["execution_role"], ids["task_role"]],
         "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}},
        {"Sid": "DeadLetterFailedEvents", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": ids["queue"]},
    ]
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
    assert container["environment"] == [{"name": "AWS_REGION", "value": "us-east-1"}]
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
    assert image["dockerfile"]["location"] == "runtime/thumbnail/Dockerfile"
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
    assert group["ingress"] == [] and group["egress"] == []
    [egress] = plan.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
    assert {k: egress.inputs[k] for k in ("ipProtocol", "fromPort", "toPort", "cidrIpv4")} == {
        "ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "cidrIpv4": "0.0.0.0/0"}
    assert not plan.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert invoker_environment(plan)["SECURITY_GROUPS"] == egress.inputs["securityGroupId"]


@pytest.mark.parametrize(("nat_strategy", "tier", "public_ip"),
                         [("none", "public", "ENABLED"), ("one-per-az", "private", "DISABLED")])
def test_tasks_run_in_public_subnets_only_when_the_network_has_no_nat(network_outputs, nat_strategy, tier, public_ip):
    network = run_program("network", {"network": {"nat_strategy": nat_strategy}}).outputs
    environment = invoker_environment(plan_with(network_outputs, nat_strategy=nat_strategy))
    assert environment["SUBNETS"].split(",") == network[f"{tier}_subnet_ids"]
    assert environment["ASSIGN_PUBLIC_IP"] == public_ip


def test_the_planned_invoker_environment_is_what_the_handler_reads(plan):
    settings = Settings.from_env(invoker_environment(plan))
    assert settings.cluster == plan.outputs["cluster_arn"]
    assert settings.task_definition == plan.outputs["task_definition_arn"]
    assert settings.output_s3_path == f"{plan.outputs['bucket']}/thumbnail"
    assert settings.position == "00:00:02.5"
    assert settings.video_suffixes == (".mp4", ".mov")
    assert len(settings.security_groups) == 1 and len(settings.subnets) == 2


@pytest.mark.parametrize(("settings", "key"), [
    ({"cpu": 256, "memory_mb": 4096}, "memory_mb"),
    ({"cpu": 300}, "cpu"),
    ({"position": "halfway"}, "position"),
    ({"position": "100%"}, "position"),
    ({"position": "1:30"}, "position"),
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
def test_invalid_settings_are_refused_naming_the_config_key(network_outputs, settings, key):
    with pytest.raises(ConfigError, match=rf"^cloud-patterns:tom_thumb\.{key}: "):
        plan_with(network_outputs, settings)


@pytest.mark.parametrize(("environment", "tier", "public_ip"), [("dev", "public", "ENABLED"),
                                                                 ("prod", "private", "DISABLED")])
def test_stack_files_read_their_environments_network(environment, tier, public_ip):
    stacks = load_environment(environment)
    assert stacks.stacks[f"{environment}-tom-thumb"].depends_on == [f"{environment}-network"]
    [network, thumbs] = plan_environment(stacks, [f"{environment}-network", f"{environment}-tom-thumb"])
    variables = invoker_environment(thumbs)
    assert variables["SUBNETS"].split(",") == network.outputs[f"{tier}_subnet_ids"]
    assert variables["ASSIGN_PUBLIC_IP"] == public_ip
    assert json.loads(one(thumbs, "aws:ecs/taskDefinition:TaskDefinition").inputs["memory"]) == 1024
