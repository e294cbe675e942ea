"""AlexaSkillFunction: a Lambda that one Alexa custom skill, and nothing else, may invoke.

Generic in the way every component here is: it knows Alexa, not the skill. The code, its handler, its packages
and its environment arrive as arguments (the fields of ``LambdaFunctionArgs``, which this extends); what it adds
is what any skill's backend needs:

- the trigger: a Lambda permission for the Alexa service principal (``alexa-appkit.amazon.com``) whose event
  source token is the skill's id, so Alexa invokes the function for that skill only. Without the token any
  skill of any developer could name the function as its endpoint, which is why ``skill_id`` is required and
  refused unless it is a skill id (``amzn1.ask.skill.<uuid>``);
- the skill id in the function's environment as well (``skill_id_variable``), so the code refuses requests of
  another skill even when invoked some other way (the ASK SDK's skill-id check);
- a timeout inside Alexa's wait: Alexa gives a skill 8 s, then tells the user it did not answer, so a longer
  timeout buys nothing; an alarm on slow answers (p99 duration) besides the errors and throttles alarms.

The function is not in a VPC (it calls a public HTTPS service and nothing private) and has no dead-letter
queue: Alexa invokes it synchronously, so a failure is answered to Alexa, never queued for a retry.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from components import alarms
from components.args import InvalidArgument, Text, Whole, required, setting, wiring
from components.lambda_function import LambdaFunction, LambdaFunctionArgs
from service_limits import ALEXA_RESPONSE_SECONDS, LAMBDA_MEMORY_MB

ALEXA_PRINCIPAL = "alexa-appkit.amazon.com"
SKILL_ID = r"amzn1\.ask\.skill\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


@dataclass(frozen=True, kw_only=True)
class AlexaSkillFunctionArgs(LambdaFunctionArgs):
    skill_id: str = required(Text(SKILL_ID, "an Alexa skill id, amzn1.ask.skill.<uuid> in lower case (the Skill ID "
                                            "of the developer console)"),
                             "The only skill that may invoke the function: the permission's event source token.")
    skill_id_variable: Optional[str] = wiring("Environment variable that receives skill_id, for the code's own "
                                              "check; None: not passed.", default=None)
    memory_mb: int = setting(256, Whole(*LAMBDA_MEMORY_MB), "Memory (MiB); CPU grows with it, and with it the cold "
                             "start (importing the ASK SDK) shortens.")
    timeout_seconds: int = setting(6, Whole(2, ALEXA_RESPONSE_SECONDS - 1, "seconds"),
                                   f"How long an invocation may run; Alexa waits {ALEXA_RESPONSE_SECONDS} s for "
                                   "an answer, so more buys nothing.")
    slow_answer_ms: int = setting(3000, Whole(200, ALEXA_RESPONSE_SECONDS * 1000, "milliseconds"),
                                  "The p99 duration over 5 minutes above which the slow-answers alarm fires.")

    def check(self) -> None:
        super().check()
        if self.skill_id_variable is not None and self.skill_id_variable in self.environment:
            raise InvalidArgument("environment", self.skill_id_variable, "names other than skill_id_variable "
                                  "(the component sets it to the skill id)")


class AlexaSkillFunction(pulumi.ComponentResource):
    function: LambdaFunction
    permission: aws.lambda_.Permission
    alarms: list[aws.cloudwatch.MetricAlarm]
    """Errors, throttles and slow answers, on the environment's topic (none without ``alarm_topic_arn``)."""

    def __init__(self, name: str, args: AlexaSkillFunctionArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("cloud-patterns:serverless:AlexaSkillFunction", name, None, opts)
        self.args = args
        environment = dict(args.environment)
        if args.skill_id_variable is not None:
            environment[args.skill_id_variable] = args.skill_id
        function_args = {f.name: getattr(args, f.name) for f in dataclasses.fields(LambdaFunctionArgs)}
        self.function = LambdaFunction(name, LambdaFunctionArgs(**{**function_args, "environment": environment}),
                                       opts=pulumi.ResourceOptions(parent=self))
        # Alexa invokes the function for this skill only: the token is matched against the calling skill's id.
        self.permission = aws.lambda_.Permission(
            f"{name}-from-skill", action="lambda:InvokeFunction", function=self.function.function.name,
            principal=ALEXA_PRINCIPAL, event_source_token=args.skill_id, opts=pulumi.ResourceOptions(parent=self))
        self.alarms = list(self.function.alarms)
        if args.alarm_topic_arn is not None:
            self.alarms.append(alarms.metric_alarm(
                f"{name}-slow-answers", self, args.alarm_topic_arn, namespace="AWS/Lambda", metric="Duration",
                dimensions={"FunctionName": self.function.function.name}, statistic="p99", period_seconds=300,
                threshold=args.slow_answer_ms,
                description=f"{name}: p99 answer time above {args.slow_answer_ms} ms (Alexa gives up at "
                            f"{ALEXA_RESPONSE_SECONDS} s)"))
        self.register_outputs({"function_arn": self.function.function.arn, "function_name": self.function.function.name,
                               "skill_id": args.skill_id, "log_group_name": self.function.log_group.name})
