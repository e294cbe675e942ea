"""CloudWatch log groups: every log group in this project has a retention period."""
from __future__ import annotations

from typing import Optional

import pulumi
import pulumi_aws as aws


def log_group(name: str, retention_days: int, parent: pulumi.Resource,
              log_group_name: Optional[pulumi.Input[str]] = None,
              provider: Optional[pulumi.ProviderResource] = None) -> aws.cloudwatch.LogGroup:
    """``provider``: a log group of another region than the stack's (WAF logs of CloudFront are in us-east-1)."""
    return aws.cloudwatch.LogGroup(name, name=log_group_name, retention_in_days=retention_days,
                                   opts=pulumi.ResourceOptions(parent=parent, provider=provider))
