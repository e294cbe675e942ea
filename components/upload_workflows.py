"""UploadWorkflows: a private bucket whose uploads under a prefix start a workflow, and the workflows' Lambdas.

- The bucket (``storage.private_bucket``) sends its events to EventBridge. A bucket has one notification
  configuration, so this component, which owns the bucket, owns that configuration too and makes it once with
  ``eventbridge: true``; anyone else who wants the bucket's events adds an EventBridge rule instead, and no
  notification is ever overwritten.
- A rule on ``Object Created`` for this bucket and keys under ``trigger_prefix`` only starts the triggered
  state machine (its input ``{bucket, key, size}`` by an input transformer), through a role that may start
  only it. No step may write under the trigger prefix, the loop an output there would start is refused.
- Each step is a ``LambdaFunction`` that may read, write and delete only its declared prefixes of the bucket and
  publish only to its declared topics; Pillow-like dependencies come from one layer they share.
- The workflows are ``StateMachine``s given the ARNs of their steps and topics (SNS topics made here,
  encrypted with SNS's key).
- Alarms: each workflow's, and failed deliveries of the trigger rule. The steps have no alarms of their own:
  their failures are retried and caught by the workflows, which alarm on failed executions.
"""
from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from components import alarms, iam
from components.args import Args, Boolean, InvalidArgument, Retention, Text, setting, wiring
from components.lambda_function import LambdaFunction, LambdaFunctionArgs, dependency_layer
from components.state_machine import StateMachine, StateMachineArgs
from components.storage import private_bucket

PREFIX = r"[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*/"


@dataclass(frozen=True)
class Step:
    """A workflow step: its function and what it may touch (key prefixes of the bucket, topic keys)."""

    function: LambdaFunctionArgs
    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    deletes: tuple[str, ...] = ()
    publishes: tuple[str, ...] = ()
    shared_layer: bool = False


def trigger_pattern(bucket: str, prefix: str) -> dict:
    """Object Created events of ``bucket`` whose key starts with ``prefix`` (S3's EventBridge events)."""
    return {"source": ["aws.s3"], "detail-type": ["Object Created"],
            "detail": {"bucket": {"name": [bucket]}, "object": {"key": [{"prefix": prefix}]}}}


@dataclass(frozen=True)
class UploadWorkflowsArgs(Args):
    trigger_prefix: str = setting("uploads/", Text(PREFIX, "a key prefix such as raw/ (ending in /)"),
                                  "Uploads under this prefix start the triggered workflow.")
    force_destroy: bool = setting(False, Boolean(), "Let destroy delete the bucket with its objects (dev only).")
    log_retention_days: int = setting(30, Retention(), "Retention of the functions' and workflows' logs.")
    steps: Mapping[str, Step] = wiring("The workflows' Lambda steps, by key.", default={})
    topics: Sequence[str] = wiring("SNS topics to make, by key (steps and workflows publish to them).", default=())
    workflows: Mapping[str, StateMachineArgs] = wiring("The state machines by key; their functions and topics are "
                                                       "keys of steps and topics.", default={})
    triggered: str = wiring("The workflow that uploads start.", default="")
    environment: Callable[[pulumi.Output, Mapping[str, pulumi.Output]], Mapping[str, pulumi.Input[str]]] = wiring(
        "The steps' environment, from the bucket's name and the topics' ARNs.", default=lambda bucket, topics: {})
    requirements_file: Optional[str] = wiring("Packages of the layer shared by the steps that ask for it.",
                                              default=None)
    alarm_topic_arn: Optional[pulumi.Input[str]] = wiring("The environment's alarm topic; None: no alarms.",
                                                          default=None)

    def check(self) -> None:
        for key, step in self.steps.items():
            for prefix in step.writes:
                if prefix.startswith(self.trigger_prefix) or self.trigger_prefix.startswith(prefix):
                    raise InvalidArgument("trigger_prefix", self.trigger_prefix, f"a prefix no step writes under "
                                          f"({key} writes {prefix}: its outputs would start the workflow again)")
        if self.workflows and self.triggered not in self.workflows:
            raise InvalidArgument("triggered", self.triggered, "one of " + ", ".join(self.workflows))
        platforms = {(s.function.runtime, s.function.architecture) for s in self.steps.values() if s.shared_layer}
        if len(platforms) > 1:
            raise InvalidArgument("steps", sorted(platforms), "one runtime and architecture for the shared layer")


class UploadWorkflows(pulumi.ComponentResource):
    bucket: aws.s3.Bucket
    notification: aws.s3.BucketNotification
    topics: dict[str, aws.sns.Topic]
    layer: Optional[aws.lambda_.LayerVersion]
    functions: dict[str, LambdaFunction]
    workflows: dict[str, StateMachine]
    rule: aws.cloudwatch.EventRule
    alarms: list[aws.cloudwatch.MetricAlarm]

    def __init__(self, name: str, args: UploadWorkflowsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("cloud-patterns:workflow:UploadWorkflows", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.bucket = private_bucket(f"{name}-images", self, force_destroy=args.force_destroy)
        self.notification = aws.s3.BucketNotification(f"{name}-images", bucket=self.bucket.id, eventbridge=True,
                                                      opts=pulumi.ResourceOptions(parent=self.bucket))
        self.topics = {key: aws.sns.Topic(f"{name}-{key}", kms_master_key_id="alias/aws/sns", opts=child)
                       for key in args.topics}
        topic_arns = {key: topic.arn for key, topic in self.topics.items()}
        shared = [s.function for s in args.steps.values() if s.shared_layer]
        self.layer = dependency_layer(f"{name}-dependencies", args.requirements_file, shared[0].runtime,
                                      shared[0].architecture, self) if shared and args.requirements_file else None
        environment = dict(args.environment(self.bucket.bucket, topic_arns))
        self.functions = {key: LambdaFunction(f"{name}-{key}", dataclasses.replace(
            step.function, environment=environment, policy_statements=self._statements(step, topic_arns),
            layers=[self.layer.arn] if step.shared_layer and self.layer else [],
            log_retention_days=args.log_retention_days), opts=child) for key, step in args.steps.items()}
        arns = {**{key: f.function.arn for key, f in self.functions.items()}, **topic_arns}
        self.workflows = {key: StateMachine(f"{name}-{key}", dataclasses.replace(
            workflow, arns={k: arns[k] for k in (*workflow.functions, *workflow.topics)},
            log_retention_days=args.log_retention_days, alarm_topic_arn=args.alarm_topic_arn), opts=child)
            for key, workflow in args.workflows.items()}
        self.rule = self._trigger(name, args)
        self.alarms = [alarm for workflow in self.workflows.values() for alarm in workflow.alarms]
        if args.alarm_topic_arn is not None:
            self.alarms.append(alarms.metric_alarm(
                f"{name}-trigger-failures", self, args.alarm_topic_arn, namespace="AWS/Events",
                metric="FailedInvocations", dimensions={"RuleName": self.rule.name}, period_seconds=300,
                description=f"{name}: uploads did not start the workflow (they stay under {args.trigger_prefix})"))
        self.register_outputs({"bucket": self.bucket.bucket, "rule_name": self.rule.name,
                               **{f"{key}_arn": w.state_machine.arn for key, w in self.workflows.items()}})

    def _statements(self, step: Step, topic_arns: Mapping[str, pulumi.Output]) -> list[iam.Statement]:
        def objects(prefixes: Sequence[str]) -> list[pulumi.Output]:
            return [pulumi.Output.concat(self.bucket.arn, "/", prefix, "*") for prefix in prefixes]

        statements = []
        if step.reads:  # with ListBucket a missing object answers 404 (not 403), which a step tells apart
            statements += [iam.statement(["s3:GetObject"], objects(step.reads), sid="ReadItsPrefixes"),
                           iam.statement(["s3:ListBucket"], [self.bucket.arn], sid="TellMissingObjects")]
        if step.writes:
            statements.append(iam.statement(["s3:PutObject"], objects(step.writes), sid="WriteItsPrefixes"))
        if step.deletes:
            statements.append(iam.statement(["s3:DeleteObject"], objects(step.deletes), sid="DeleteItsPrefixes"))
        if step.publishes:
            statements.append(iam.statement(["sns:Publish"], [topic_arns[k] for k in step.publishes],
                                            sid="PublishToItsTopics"))
        return statements

    def _trigger(self, name: str, args: UploadWorkflowsArgs) -> aws.cloudwatch.EventRule:
        pattern = self.bucket.bucket.apply(lambda bucket: json.dumps(trigger_pattern(bucket, args.trigger_prefix)))
        rule = aws.cloudwatch.EventRule(f"{name}-uploads", description=f"Uploads under {args.trigger_prefix} start "
                                        f"{name}-{args.triggered}", event_pattern=pattern,
                                        opts=pulumi.ResourceOptions(parent=self, depends_on=[self.notification]))
        workflow = self.workflows[args.triggered].state_machine
        role = iam.service_role(f"{name}-uploads", "events.amazonaws.com", iam.policy_document(
            [iam.statement(["states:StartExecution"], [workflow.arn], sid="StartTheWorkflow")], self), rule,
            f"Starts {name}-{args.triggered} for uploads", source_arns=[rule.arn])
        aws.cloudwatch.EventTarget(
            f"{name}-uploads", rule=rule.name, arn=workflow.arn, role_arn=role.arn,
            input_transformer=aws.cloudwatch.EventTargetInputTransformerArgs(
                input_paths={"bucket": "$.detail.bucket.name", "key": "$.detail.object.key",
                             "size": "$.detail.object.size"},
                input_template='{"bucket": <bucket>, "key": <key>, "size": <size>}'),
            opts=pulumi.ResourceOptions(parent=rule, depends_on=[*role.permissions]))
        return rule
