"""How the offline plans of dev and prod differ from the plans of main before the architecture change.

``tests/fixtures/plan_before/<env>.json`` was generated from main at 7c35d2b (resources keyed by URN, with their
type, parent, inputs and the stack outputs). A change that restructures code must leave a deployed stack
untouched: the same URNs with the same inputs, the same outputs. What a later change alters on purpose is listed
in ``INTENDED``, each with its reason; anything else that differs fails the test.
"""
from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "plan_before"


@dataclass(frozen=True)
class Intended:
    """A difference made on purpose: ``path`` is ``added``, ``removed``, ``outputs.<name>`` or ``inputs.<key>``
    (glob patterns; ``urn`` and ``stack`` too)."""

    stack: str
    urn: str
    path: str
    reason: str

    def covers(self, stack: str, urn: str, path: str) -> bool:
        return (fnmatch.fnmatchcase(stack, self.stack) and fnmatch.fnmatchcase(urn, self.urn)
                and fnmatch.fnmatchcase(path, self.path))


# Every difference from the before-plan that a change makes on purpose, with its reason.
INTENDED: tuple[Intended, ...] = (
    Intended("*-network", "", "outputs.task_*", "architecture: the network exports where tasks run, so service "
                                                "stacks stop re-deriving it from nat_strategy"),
    Intended("*-network", "", "outputs.data_port", "architecture: the data port, for stacks with a database"),
    Intended("dev-network", "*NetworkAclRule::dev-isolated-ingress-100", "inputs.cidrBlock",
             "api-backend: without NAT tasks run in the public tier, so the isolated tier admits the data port "
             "from there (it admitted the empty private tier, and no task could reach its database)"),
    Intended("*", "*aws:iam/role:Role::*", "inputs.assumeRolePolicy",
             "hardening: every service role trusts its service for this account only (aws:SourceAccount), task roles "
             "and flow logs for their resources too (aws:SourceArn)"),
    Intended("dev-network", "*aws:ec2/networkAclRule:NetworkAclRule::dev-public-ingress-deny-*", "added",
             "hardening: where tasks run in public subnets, the public NACL denies the app and data ports from the "
             "internet (IPv4 and IPv6) before the ephemeral-ports rule"),
    Intended("dev-network", "*aws:ec2/networkAcl:NetworkAcl::dev-public", "inputs.tags",
             "hardening: the NACL of public subnets with tasks is tagged for the policy rule that checks its ports"),
    Intended("*-label-detector", "*gcp:storage/bucketObject:BucketObject::*-label-detector-source",
             "inputs.[ns][ao]*", "hardening: the function's code changed (contract.py, POSTed image bytes), so its "
                                 "content-named source zip is a new object"),
    Intended("*-label-detector", "*gcp:cloudfunctionsv2/function:Function::*-label-detector", "inputs.buildConfig",
             "hardening: the build reads the new source object"),
    Intended("*-label-proxy", "*aws:lambda/function:Function::*-label-proxy", "inputs.code",
             "architecture: the handler's package holds its contract.py, and the SSRF guard in guard.py"),
    Intended("*-label-proxy", "*aws:lambda/function:Function::*-label-proxy", "inputs.environment",
             "hardening: ALLOWED_GS_BUCKETS (the gs:// allow-list) and MAX_IMAGE_BYTES (the proxy fetches http(s) "
             "images itself, behind its SSRF guard)"),
    Intended("*-label-proxy", "*aws:lambda/layerVersion:LayerVersion::*-label-proxy-dependencies", "inputs.code",
             "hardening: urllib3 pinned in the proxy's requirements (its guarded connection subclasses urllib3's)"),
    Intended("dev-label-proxy", "*aws:apigatewayv2/route:Route::dev-label-proxy-detect", "inputs.authorizationType",
             "hardening: dev's GET /detect requires SigV4-signed requests (AWS_IAM) instead of NONE"),
    Intended("*-label-proxy", "*aws:iam/policy:Policy::*-label-proxy-invoke", "added",
             "hardening: the managed policy callers attach to be allowed execute-api:Invoke on GET /detect"),
    Intended("*-label-proxy", "", "outputs.invoke_policy_arn", "hardening: that policy's ARN"),
    Intended("*-label-proxy", "*pulumi:pulumi:StackReference::alerts-stack", "added",
             "alarms: the proxy reads the alerts stack's topic_arn"),
    Intended("*-label-proxy", "*aws:cloudwatch/metricAlarm:MetricAlarm::*-label-proxy-[e5t]*", "added",
             "alarms: the proxy Lambda's errors and throttles and the HTTP API's 5xx notify the topic"),
    Intended("*", "*aws:s3/bucket:Bucket*::*-access-logs", "added",
             "checkov (CKV_AWS_91): every load balancer writes access logs to a private bucket of its own (TLS-only "
             "policy that lets ELB log delivery put objects under the account's prefix, logs expire)"),
    Intended("*", "*aws:lb/loadBalancer:LoadBalancer::*", "inputs.accessLogs",
             "checkov (CKV_AWS_91): the load balancer's access logs are on, into that bucket"),
    Intended("prod-*", "*aws:cloudwatch/logGroup:LogGroup::*", "inputs.retentionInDays",
             "checkov (CKV_AWS_338): prod keeps every log group a year (365 days), as auth-sidecar, bean-counter "
             "and the flow logs already did"),
    *(Intended("*-tom-thumb", f"urn:pulumi:*-tom-thumb::cloud-patterns::{urn}", path, reason) for urn, path, reason in (
        ("pulumi:pulumi:StackReference::alerts-stack", "added",
         "alarms: the stack reads the alerts stack's topic_arn"),
        ("cloud-patterns:lambda:LambdaFunction$aws:cloudwatch/metricAlarm:MetricAlarm::*-tom-thumb-invoker-"
         "[et]*[sr]", "added", "alarms: the invoker's errors and throttles notify the topic"),
        ("cloud-patterns:patterns:ContainerOnDemand$aws:cloudwatch/metricAlarm:MetricAlarm::"
         "*-tom-thumb-invoker-failures-not-empty", "added", "hardening: an alarm on the dead-letter queue's depth"),
        ("cloud-patterns:patterns:ContainerOnDemand$aws:cloudwatch/eventRule:EventRule::*-tom-thumb-failed-tasks",
         "added", "hardening: a task stopped with a non-zero exit notifies the topic"),
        ("aws:cloudwatch/eventRule:EventRule$aws:cloudwatch/eventTarget:EventTarget::*-tom-thumb-failed-tasks",
         "added", "hardening: the failed-task rule's target is the topic"),
        ("cloud-patterns:patterns:ContainerOnDemand$aws:scheduler/scheduleGroup:ScheduleGroup::"
         "*-tom-thumb-schedules", "added", "events: the nightly backfill's schedule group (pins the role's trust)"),
        ("cloud-patterns:patterns:ContainerOnDemand$aws:scheduler/schedule:Schedule::*-tom-thumb-backfill", "added",
         "events: the nightly backfill schedule runs the task directly"),
        ("cloud-patterns:patterns:ContainerOnDemand$aws:iam/role:Role::*-tom-thumb-scheduler", "added",
         "events: the role the schedule starts the task with"),
        ("aws:iam/role:Role$aws:iam/rolePolicy:RolePolicy::*-tom-thumb-scheduler-policy", "added",
         "events: RunTask on the family, PassRole on its roles, SendMessage to the dead-letter queue"),
        ("aws:iam/role:Role$aws:iam/rolePolicy:RolePolicy::*-tom-thumb-invoker-role-policy", "inputs.policy",
         "architecture: generic statement ids (RunTasks), written once for every starter"),
        ("aws:iam/role:Role$aws:iam/rolePolicy:RolePolicy::*-tom-thumb-thumbnail-task-policy", "inputs.policy",
         "architecture and events: generic statement ids; backfill may list the video and thumbnail prefixes"),
        ("cloud-patterns:containers:ContainerImage$docker-build:index:Image::*-tom-thumb-thumbnail", "inputs.tags",
         "the worker's sources changed (bucket and key apart, faster, backfill): a new image tag"),
        ("cloud-patterns:containers:FargateTask$aws:ecs/taskDefinition:TaskDefinition::*-tom-thumb-thumbnail",
         "inputs.containerDefinitions", "hardening and architecture: the container gets the bucket, prefixes "
         "and position from the task definition; each start passes only the key"),
        ("cloud-patterns:lambda:LambdaFunction$aws:lambda/function:Function::*-tom-thumb-invoker",
         "inputs.[cde][eno]*", "architecture and hardening: the generic invoker (code, description and variables "
         "from its contract; RunTask's network configuration as JSON, no ENABLED/DISABLED round trip)"),
        ("cloud-patterns:patterns:ContainerOnDemand$aws:ec2/securityGroup:SecurityGroup::*-tom-thumb-tasks",
         "inputs.[ei]*gress", "hardening: rule resources only, no inline egress=[]/ingress=[] that fights them"),
        ("cloud-patterns:patterns:ContainerOnDemand$aws:s3/bucketNotification:BucketNotification::"
         "*-tom-thumb-uploads", "inputs.lambdaFunctions", "architecture: generic notification ids"),
    )),
    Intended("*-tom-thumb", "", "outputs.backfill_schedule", "events: the backfill schedule's name"),
    # Bean Counter (issues 13, 23, 26)
    Intended("*-bean-counter", "*::pulumi:pulumi:StackReference::alerts-stack", "added",
             "alarms: the stack reads the alerts stack for the topic its alarms notify"),
    Intended("*-bean-counter", "*$aws:cloudwatch/metricAlarm:MetricAlarm::*-bean-counter-*", "added",
             "alarms: the load balancer's 5xx, response-time and unhealthy-target alarms, the service's running-tasks "
             "alarm and the CPU anomaly-detection alarm, all on the alerts topic"),
    Intended("*-bean-counter", "*:EventRule::*-bean-counter-failed-tasks", "added",
             "alarms: a task that stops with a container exited non-zero notifies the alerts topic"),
    Intended("*-bean-counter", "*$aws:cloudwatch/eventTarget:EventTarget::*-bean-counter-failed-tasks", "added",
             "alarms: the failed-task rule's target, the alerts topic"),
    Intended("*-bean-counter", "*$docker-build:index:Image::*-bean-counter", "inputs.tags",
             "the image's sources changed (detector, hostile-image limits, the page): the tag is their hash"),
    Intended("*-bean-counter", "*$aws:ecs/taskDefinition:TaskDefinition::*-bean-counter", "inputs.containerDefinitions",
             "the container runs the new image (its digest); command, port, environment and health check unchanged"),
    Intended("*", "*docker-build:index:Image::*", "inputs.tags",
             "hardening: base images pinned by digest; the Dockerfiles changed, so every image's source tag did"),
    Intended("*", "*aws:ecs/taskDefinition:TaskDefinition::*", "inputs.containerDefinitions",
             "hardening: the task definitions run the rebuilt images (new digests)"),
    # auth-sidecar: hardening (issue 16), the decision cache and metrics (15, 23), the alarms (23).
    Intended("*-auth-sidecar", "*ContainerImage$docker-build:index:Image::*-auth-*", "inputs.tags",
             "new sources, so new image tags: the three contracts, the sidecar's checks (email_verified, hd), "
             "decision and key caches, EMF metrics and waitress, nginx on Debian with the HMAC-keyed decision cache"),
    Intended("*-auth-sidecar", "*FargateTask$aws:ecs/taskDefinition:TaskDefinition::*-auth-sidecar",
             "inputs.containerDefinitions", "the new images, and the sidecar's decision cache, key cache and "
             "metrics service in its environment"),
    Intended("*-auth-sidecar", "*CognitoFront$aws:cognito/userPoolClient:UserPoolClient::*-auth", "inputs.readAttributes",
             "hardening: the app client reads only the claims the sidecar checks"),
    Intended("*-auth-sidecar", "*CognitoFront$aws:cognito/userPoolClient:UserPoolClient::*-auth",
             "inputs.writeAttributes", "hardening: users may write profile attributes only, never their own e-mail"),
    Intended("*-auth-sidecar", "*CognitoFront$aws:ec2/securityGroup:SecurityGroup::*-auth-sign-in", "inputs.*gress",
             "hardening: rule resources only (inline egress=[] and a rule resource overwrite each other)"),
    Intended("*-auth-sidecar", "*::pulumi:pulumi:StackReference::alerts-stack", "added",
             "operations: the stack reads the environment's alarm topic"),
    Intended("*-auth-sidecar", "*WebLoadBalancer$aws:cloudwatch/metricAlarm:MetricAlarm::*-auth-*", "added",
             "operations: the load balancer's 5xx, response-time and unhealthy-target alarms"),
    Intended("*-auth-sidecar", "*FargateService$aws:cloudwatch/metricAlarm:MetricAlarm::*-auth-sidecar-running-tasks",
             "added", "operations: fewer tasks running than the minimum"),
    Intended("*-auth-sidecar", "*SidecarAssembly$aws:cloudwatch/eventRule:EventRule::*-auth-sidecar-failed-tasks",
             "added", "operations: tasks that stop with a container exited non-zero notify the topic"),
    Intended("*-auth-sidecar", "*EventRule$aws:cloudwatch/eventTarget:EventTarget::*-auth-sidecar-failed-tasks",
             "added", "operations: the failed-task rule's target, the topic"),
    # operations (issue 23)
    Intended("*", "", "outputs.dashboard_widgets", "operations: every pattern stack exports its alarms' (and the "
                                                    "auth sidecar its metrics') widgets for the environment dashboard"),
)


def canonical(document: dict) -> dict[str, dict]:
    """A plan document (``plan --offline --json``) keyed by stack name and URN, as the fixtures store it."""
    return {s["name"]: {"resources": {r["urn"]: {k: r[k] for k in ("type", "name", "parent", "inputs", "custom")}
                                      for r in s["resources"]},
                        "outputs": s["outputs"]} for s in document["stacks"]}


def before(environment: str) -> dict[str, dict]:
    return json.loads((FIXTURES / f"{environment}.json").read_text())["stacks"]


def differences(old: dict[str, dict], new: dict[str, dict]) -> list[tuple[str, str, str]]:
    """(stack, urn or '', path) for everything that differs in the stacks the before-plan has."""
    found = []
    for stack, old_stack in old.items():
        new_stack = new.get(stack)
        if new_stack is None:
            found.append((stack, "", "removed"))
            continue
        old_resources, new_resources = old_stack["resources"], new_stack["resources"]
        for urn in sorted(old_resources.keys() - new_resources.keys()):
            found.append((stack, urn, "removed"))
        for urn in sorted(new_resources.keys() - old_resources.keys()):
            found.append((stack, urn, "added"))
        for urn in sorted(old_resources.keys() & new_resources.keys()):
            a, b = old_resources[urn], new_resources[urn]
            for key in ("type", "parent", "custom"):
                if a[key] != b[key]:
                    found.append((stack, urn, key))
            found += [(stack, urn, f"inputs.{path}") for path in _changed(a["inputs"], b["inputs"])]
        found += [(stack, "", f"outputs.{path}") for path in _changed(old_stack["outputs"], new_stack["outputs"],
                                                                      depth=1)]
    return found


def _changed(a: Any, b: Any, prefix: str = "", depth: int = 1) -> list[str]:
    """Top-level keys (``depth`` levels) whose values differ."""
    if isinstance(a, dict) and isinstance(b, dict) and depth > 0:
        return [p for key in sorted(a.keys() | b.keys())
                for p in _changed(a.get(key), b.get(key), f"{prefix}{key}", depth - 1)]
    return [] if a == b else [prefix]


def unintended(old: dict[str, dict], new: dict[str, dict]) -> list[tuple[str, str, str]]:
    return [d for d in differences(old, new) if not any(i.covers(*d) for i in INTENDED)]
