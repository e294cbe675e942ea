"""Mock shapes: log groups, Lambda, ECS, ECR, image builds and Application Auto Scaling."""
from __future__ import annotations

import base64
import hashlib
import json

from planning.mocks import ACCOUNT_ID, ProviderMocks, autoname, call, digest, shape


@shape("aws:cloudwatch/logGroup:LogGroup")
def _log_group(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    group = autoname(name, inputs)
    return group, {"name": group, "arn": m.arn("logs", f"log-group:{group}")}


@shape("aws:cloudwatch/logStream:LogStream")
def _log_stream(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    stream = autoname(name, inputs)
    return stream, {"name": stream,
                    "arn": m.arn("logs", f"log-group:{inputs.get('logGroupName', '')}:log-stream:{stream}")}


@shape("aws:lambda/function:Function")
def _lambda(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    function = autoname(name, inputs)
    arn = m.arn("lambda", f"function:{function}")
    return function, {
        "name": function, "arn": arn, "qualifiedArn": f"{arn}:$LATEST", "version": "$LATEST",
        "invokeArn": f"arn:aws:apigateway:{m.region}:lambda:path/2015-03-31/functions/{arn}/invocations",
        "qualifiedInvokeArn": f"arn:aws:apigateway:{m.region}:lambda:path/2015-03-31/functions/{arn}:$LATEST/"
                              "invocations",
        "sourceCodeHash": base64.b64encode(hashlib.sha256(function.encode()).digest()).decode()}


@shape("aws:lambda/permission:Permission", "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig")
def _lambda_child(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    return f"{inputs.get('functionName', name)}|{digest(name, length=8)}", {}


@shape("aws:ecs/cluster:Cluster")
def _cluster(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    cluster = autoname(name, inputs)
    arn = m.arn("ecs", f"cluster/{cluster}")
    return arn, {"name": cluster, "arn": arn}


@shape("aws:ecs/taskDefinition:TaskDefinition")
def _task_definition(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    family = inputs.get("family", name)
    return family, {"arn": m.arn("ecs", f"task-definition/{family}:1"), "revision": 1,
                    "arnWithoutRevision": m.arn("ecs", f"task-definition/{family}")}


@shape("aws:ecs/service:Service")
def _service(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    service = autoname(name, inputs)
    cluster = str(inputs.get("cluster", "default")).split("/")[-1]
    arn = m.arn("ecs", f"service/{cluster}/{service}")
    return arn, {"name": service, "arn": arn}


@shape("aws:ecr/repository:Repository")
def _repository(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    repo = inputs.get("name") or f"{name}-{digest('repo', name, length=7)}"
    return repo, {"name": repo, "arn": m.arn("ecr", f"repository/{repo}"), "registryId": ACCOUNT_ID,
                  "repositoryUrl": f"{ACCOUNT_ID}.dkr.ecr.{m.region}.amazonaws.com/{repo}"}


@shape("docker-build:index:Image")
def _image(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    tags = inputs.get("tags") or [f"{name}:latest"]
    image_digest = "sha256:" + hashlib.sha256(json.dumps(tags).encode()).hexdigest()
    ref = f"{str(tags[0]).rsplit(':', 1)[0]}@{image_digest}"
    return image_digest, {"digest": image_digest, "ref": ref}


@shape("aws:appautoscaling/target:Target")
def _scaling_target(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    resource = inputs.get("resourceId", name)
    return resource, {"arn": m.arn("application-autoscaling", f"scalable-target/{digest('st', name, length=12)}")}


@shape("aws:appautoscaling/policy:Policy")
def _scaling_policy(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    policy = autoname(name, inputs)
    return policy, {"name": policy, "arn": m.arn(
        "autoscaling", f"scalingPolicy:{digest('sp', name, length=36)}:resource/ecs/service:policyName/{policy}")}


@call("aws:ecr/getAuthorizationToken:getAuthorizationToken")
def _ecr_token(m: ProviderMocks, args: dict) -> dict:
    return {"userName": "AWS", "password": "offline-plan-token", "authorizationToken": "QVdTOm9mZmxpbmU=",
            "proxyEndpoint": f"https://{ACCOUNT_ID}.dkr.ecr.{m.region}.amazonaws.com", "id": m.region,
            "expiresAt": "2099-01-01T00:00:00Z"}
