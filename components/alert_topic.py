"""AlertTopic: the one SNS topic an environment's alarms and failure events notify, with its subscribers.

CloudWatch alarms and EventBridge rules of this account (and only this account: ``aws:SourceAccount``) may
publish to it; nobody else may. E-mail subscribers confirm from the message AWS sends them before they
receive anything. The topic is encrypted with SNS's own key only when no alarm publishes to it would break:
CloudWatch cannot use the AWS managed ``alias/aws/sns`` key, so the topic is left unencrypted at rest (alarm
texts hold names and numbers, never data) unless a customer managed key is given.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from components import iam
from components.args import Args, ListOf, Maybe, Text, setting

EMAIL = r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}"
PUBLISHERS = ("cloudwatch.amazonaws.com", "events.amazonaws.com")


@dataclass(frozen=True)
class AlertTopicArgs(Args):
    emails: Sequence[str] = setting([], ListOf(Text(EMAIL, "an e-mail address")),
                                    "Who is told when an alarm fires or clears (each confirms by e-mail first).")
    kms_key_id: Optional[str] = setting(None, Maybe(Text(r"(arn:aws:kms:\S+|alias/(?!aws/)\S+)",
                                                         "a customer managed KMS key ARN or alias")),
                                        "Encrypts the topic at rest; the key policy must let CloudWatch and "
                                        "EventBridge use it. null: not encrypted (see the module's why).")


class AlertTopic(pulumi.ComponentResource):
    topic: aws.sns.Topic
    subscriptions: list[aws.sns.TopicSubscription]

    def __init__(self, name: str, args: AlertTopicArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("cloud-patterns:operations:AlertTopic", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.topic = aws.sns.Topic(name, kms_master_key_id=args.kms_key_id, opts=child)
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        publish = aws.iam.GetPolicyDocumentStatementArgs(
            sid="AlarmsAndRulesOfThisAccount", effect="Allow", actions=["sns:Publish"], resources=[self.topic.arn],
            principals=[aws.iam.GetPolicyDocumentStatementPrincipalArgs(type="Service", identifiers=list(PUBLISHERS))],
            conditions=[iam.condition("StringEquals", "aws:SourceAccount", account)])
        aws.sns.TopicPolicy(name, arn=self.topic.arn, policy=iam.policy_document([publish], self), opts=child)
        self.subscriptions = [aws.sns.TopicSubscription(
            f"{name}-{index + 1}", topic=self.topic.arn, protocol="email", endpoint=email, opts=child)
            for index, email in enumerate(args.emails)]
        self.register_outputs({"topic_arn": self.topic.arn})
