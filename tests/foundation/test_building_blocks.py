"""The shared building blocks every pattern is made of, under the mock engine."""
from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pytest

from components import iam
from components.fargate_service import FargateService, FargateServiceArgs
from components.fargate_task import ContainerSpec, FargateTask, FargateTaskArgs
from components.lambda_function import LambdaFunction, LambdaFunctionArgs
from components.load_balancer import WebLoadBalancer, WebLoadBalancerArgs
from components.validation import InvalidArgument
from tests.conftest import run_components

CERT = "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9"


def policy_of(plan, role_name_prefix):
    [policy] = [r for r in plan.of_type("aws:iam/rolePolicy:RolePolicy") if r.name.startswith(role_name_prefix)]
    return json.loads(policy.inputs["policy"])


def test_lambda_function_role_writes_only_its_own_log_group_plus_given_statements():
    def main():
        LambdaFunction("fn", LambdaFunctionArgs(
            source_dir="stacks", environment={"TABLE": "t"}, timeout_seconds=20, log_retention_days=14,
            policy_statements=[iam.statement(["sqs:SendMessage"], ["arn:aws:sqs:us-east-1:123456789012:q"])]))
    plan = run_components(main)
    [function] = plan.of_type("aws:lambda/function:Function")
    [group] = plan.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert group.inputs["retentionInDays"] == 14
    assert function.inputs["loggingConfig"] == {"logFormat": "JSON", "logGroup": "fn-logs-" + group.name[-7:]} or \
        function.inputs["loggingConfig"]["logGroup"].startswith("fn-logs")
    assert function.inputs["timeout"] == 20 and function.inputs["architectures"] == ["arm64"]
    assert function.inputs["environment"] == {"variables": {"TABLE": "t"}}
    assert "cli.py" in function.inputs["code"]["assets"] and not any(
        "__pycache__" in k for k in function.inputs["code"]["assets"])
    statements = policy_of(plan, "fn-role")["Statement"]
    assert statements[0]["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert statements[0]["Resource"].startswith("arn:aws:logs:us-east-1:123456789012:log-group:fn-logs")
    assert statements[1] == {"Effect": "Allow", "Action": "sqs:SendMessage",
                             "Resource": "arn:aws:sqs:us-east-1:123456789012:q"}


@pytest.mark.parametrize("kwargs, key", [
    ({"timeout_seconds": 901}, "timeout_seconds"), ({"memory_mb": 64}, "memory_mb"),
    ({"runtime": "python2.7"}, "runtime"), ({"source_dir": "nowhere"}, "source_dir"),
    ({"environment": {"DB_PASSWORD": "hunter2"}}, "environment"),
    ({"environment": {"AWS_REGION": "x"}}, "environment"), ({"log_retention_days": 2}, "log_retention_days")])
def test_lambda_function_args_are_validated(kwargs, key):
    with pytest.raises(InvalidArgument) as error:
        LambdaFunctionArgs(**{"source_dir": "stacks", **kwargs})
    assert error.value.key == key


def test_fargate_task_roles_are_separate_and_scoped():
    def main():
        FargateTask("worker", FargateTaskArgs(
            cpu=256, memory_mb=1024,
            containers=[ContainerSpec("app", image="repo@sha256:abc", port=8080, memory_mb=512,
                                      health_check=["CMD-SHELL", "true"],
                                      secrets={"KEY": "arn:aws:secretsmanager:us-east-1:123456789012:secret:k"}),
                        ContainerSpec("proxy", image="nginx:1.27", port=80, memory_mb=256, cpu=64,
                                      depends_on={"app": "HEALTHY"})],
            image_repository_arns=["arn:aws:ecr:us-east-1:123456789012:repository/app"],
            task_policy_statements=[iam.statement(["s3:GetObject"], ["arn:aws:s3:::b/in/*"])]))
    plan = run_components(main)
    [task] = plan.of_type("aws:ecs/taskDefinition:TaskDefinition")
    assert task.inputs["cpu"] == "256" and task.inputs["memory"] == "1024"
    assert task.inputs["networkMode"] == "awsvpc" and task.inputs["requiresCompatibilities"] == ["FARGATE"]
    containers = {c["name"]: c for c in json.loads(task.inputs["containerDefinitions"])}
    assert containers["proxy"]["dependsOn"] == [{"containerName": "app", "condition": "HEALTHY"}]
    assert containers["app"]["secrets"] == [{"name": "KEY", "valueFrom":
                                            "arn:aws:secretsmanager:us-east-1:123456789012:secret:k"}]
    for c in containers.values():
        assert c["logConfiguration"]["logDriver"] == "awslogs"
        assert c["logConfiguration"]["options"]["awslogs-group"].startswith("worker-logs")
    assert task.inputs["executionRoleArn"] != task.inputs["taskRoleArn"]
    execution = {s["Sid"]: s for s in policy_of(plan, "worker-execution")["Statement"]}
    assert execution["PullTaskImages"]["Resource"] == "arn:aws:ecr:us-east-1:123456789012:repository/app"
    assert execution["ReadTaskSecrets"]["Resource"] == "arn:aws:secretsmanager:us-east-1:123456789012:secret:k"
    assert policy_of(plan, "worker-task")["Statement"] == [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/in/*"}]


@pytest.mark.parametrize("kwargs, key", [
    ({"cpu": 256, "memory_mb": 4096}, "memory_mb"), ({"cpu": 300}, "cpu"),
    ({"containers": [ContainerSpec("a", "i", memory_mb=2048)]}, "containers.memory"),
    ({"containers": [ContainerSpec("a", "i", cpu=512)]}, "containers.cpu"),
    ({"containers": [ContainerSpec("a", "i"), ContainerSpec("b", "i", depends_on={"a": "HEALTHY"})]},
     "containers.b.depends_on.a"),
    ({"containers": [ContainerSpec("a", "i", depends_on={"zz": "START"})]}, "containers.a.depends_on"),
    ({"containers": [ContainerSpec("a", "i"), ContainerSpec("a", "j")]}, "containers")])
def test_fargate_task_args_are_validated(kwargs, key):
    with pytest.raises(InvalidArgument) as error:
        FargateTaskArgs(**{"containers": [ContainerSpec("a", "i")], **kwargs})
    assert error.value.key == key


def test_load_balancer_with_certificate_redirects_http_and_authenticates_before_forwarding():
    def main():
        lb = WebLoadBalancer("web", WebLoadBalancerArgs(
            vpc_id="vpc-1", subnet_ids=["subnet-1", "subnet-2"], security_group_ids=["sg-1"], certificate_arn=CERT,
            deletion_protection=True, authentication_actions=[aws.lb.ListenerDefaultActionArgs(
                type="authenticate-cognito", authenticate_cognito=aws.lb.ListenerDefaultActionAuthenticateCognitoArgs(
                    user_pool_arn="arn:pool", user_pool_client_id="client", user_pool_domain="d"))]))
        FargateService("svc", FargateServiceArgs(
            cluster_arn="arn:cluster", task_definition_arn="arn:td", subnet_ids=["subnet-1"],
            security_group_ids=["sg-app"], target_group_arn=lb.target_group.arn, container_name="app",
            container_port=8080, wait_for=lb.listeners))
        pulumi.export("url", lb.url)
    plan = run_components(main)
    [alb] = plan.of_type("aws:lb/loadBalancer:LoadBalancer")
    assert alb.inputs["dropInvalidHeaderFields"] and alb.inputs["enableDeletionProtection"]
    assert not alb.inputs["internal"]
    listeners = {r.name: r.inputs for r in plan.of_type("aws:lb/listener:Listener")}
    assert listeners["web-http"]["defaultActions"] == [{"type": "redirect", "redirect": {
        "protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}]
    https = listeners["web-https"]
    assert https["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06" and https["certificateArn"] == CERT
    assert [(a["order"], a["type"]) for a in https["defaultActions"]] == [(1, "authenticate-cognito"), (2, "forward")]
    [group] = plan.of_type("aws:lb/targetGroup:TargetGroup")
    assert group.inputs["targetType"] == "ip" and group.inputs["healthCheck"]["path"] == "/healthz"
    assert group.inputs["deregistrationDelay"] == 30
    [service] = plan.of_type("aws:ecs/service:Service")
    assert service.inputs["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    assert service.inputs["deploymentMinimumHealthyPercent"] == 100 and service.inputs["deploymentMaximumPercent"] == 200
    assert service.inputs["loadBalancers"][0]["targetGroupArn"].startswith("arn:aws:elasticloadbalancing:")
    assert plan.outputs["url"].startswith("https://web-") and plan.outputs["url"].endswith(".elb.amazonaws.com")


def test_authentication_without_a_certificate_is_refused():
    with pytest.raises(InvalidArgument, match="only on HTTPS"):
        WebLoadBalancerArgs(vpc_id="v", subnet_ids=[], security_group_ids=[], authentication_actions=[
            aws.lb.ListenerDefaultActionArgs(type="authenticate-oidc")])
    with pytest.raises(InvalidArgument, match="ssl_policy"):
        WebLoadBalancerArgs(vpc_id="v", subnet_ids=[], security_group_ids=[], certificate_arn=CERT,
                            ssl_policy="ELBSecurityPolicy-2016-08")


def test_container_image_is_tagged_with_its_sources_hash_in_an_immutable_scanned_repository():
    from components import packaging
    from components.container_image import ContainerImage, ContainerImageArgs

    args = ContainerImageArgs(dockerfile="runtime/bean_counter/Dockerfile")

    def main():
        ContainerImage("img", args)
    plan = run_components(main)
    [repo] = plan.of_type("aws:ecr/repository:Repository")
    assert repo.inputs["imageTagMutability"] == "IMMUTABLE"
    assert repo.inputs["imageScanningConfiguration"] == {"scanOnPush": True}
    policy = json.loads(plan.of_type("aws:ecr/lifecyclePolicy:LifecyclePolicy")[0].inputs["policy"])
    assert [r["selection"]["tagStatus"] for r in policy["rules"]] == ["untagged", "any"]
    [image] = plan.of_type("docker-build:index:Image")
    assert image.inputs["tags"] == [f"123456789012.dkr.ecr.us-east-1.amazonaws.com/img-{repo.name[-7:]}:"
                                    f"{args.source_tag}"] or image.inputs["tags"][0].endswith(":" + args.source_tag)
    assert image.inputs["push"] and image.inputs["platforms"] == ["linux/amd64"]
    assert image.inputs["context"] == {"location": "runtime"}
    # The tag follows the sources the Dockerfile copies: the image's directory and the context's shared modules.
    assert len(args.source_tag) == 16
    assert args.source_tag != ContainerImageArgs(dockerfile="runtime/auth_sidecar/Dockerfile").source_tag
    packaging.BUILD_DIR.mkdir(exist_ok=True)
    context = Path(tempfile.mkdtemp(dir=packaging.BUILD_DIR, prefix="test-context-"))
    try:
        (context / "img").mkdir()
        (context / "img" / "Dockerfile").write_text("FROM scratch\n")
        (context / "__init__.py").write_text("")
        (context / "serving.py").write_text("A = 1\n")
        scratch = ContainerImageArgs(dockerfile=str(context / "img" / "Dockerfile"), context_dir=str(context))
        before = scratch.source_tag
        (context / "serving.py").write_text("A = 2\n")
        assert scratch.source_tag != before
        (context / "serving.py").write_text("A = 1\n")
        (context / "img" / "__pycache__").mkdir()
        (context / "img" / "__pycache__" / "x.pyc").write_bytes(b"cache")
        assert scratch.source_tag == before
    finally:
        shutil.rmtree(context)


def test_a_dependency_layer_finished_first_by_a_concurrent_build_is_used_not_an_error(monkeypatch, tmp_path):
    """Parallel stacks (or test workers) may build the same layer at once: the second one to finish uses the first's."""
    from components import packaging

    monkeypatch.setattr(packaging, "BUILD_DIR", packaging.PROJECT_DIR / ".build" / f"test-race-{tmp_path.name}")
    requirements = "runtime/label_proxy/requirements.txt"

    def pip_install_while_another_build_finishes(command, **kwargs):
        target_dir = Path(command[command.index("--target") + 1])
        (target_dir / "ours.py").parent.mkdir(parents=True)
        (target_dir / "ours.py").write_text("")
        # The other build lands its result under the same key while ours is still staging.
        key = hashlib.sha256(packaging.project_path(requirements).read_bytes() + b"3.12/arm64").hexdigest()[:16]
        other = packaging.BUILD_DIR / "lambda-layers" / key
        (other / "python").mkdir(parents=True)
        (other / "python" / "theirs.py").write_text("")

    monkeypatch.setattr(packaging.subprocess, "run", pip_install_while_another_build_finishes)
    try:
        layer = packaging.python_dependencies(requirements, "3.12", "arm64")
        assert (layer / "python" / "theirs.py").exists()
        assert [p.name for p in packaging.BUILD_DIR.iterdir()] == ["lambda-layers"]  # no staging left behind
    finally:
        shutil.rmtree(packaging.BUILD_DIR, ignore_errors=True)
