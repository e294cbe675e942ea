"""S3 buckets, SQS queues, SNS topics and ECR repositories."""
from __future__ import annotations

from planning.offline import PlannedResource
from stacks.cost.model import Line, StackContext, rule


@rule("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
def _s3_bucket(bucket: PlannedResource, ctx: StackContext) -> list[Line]:
    p = ctx.prices
    return [ctx.usage_line(bucket, "S3 Standard storage", p["s3_gb_month"], "GB-month", "s3_storage_gb",
                           "per GB-month"),
            ctx.usage_line(bucket, "S3 PUT requests", p["s3_thousand_puts"], "1k requests", "s3_put_requests",
                           "per 1,000 PUT/COPY/POST/LIST", unit_size=1000),
            ctx.usage_line(bucket, "S3 GET requests", p["s3_thousand_gets"], "1k requests", "s3_get_requests",
                           "per 1,000 GET", unit_size=1000)]


@rule("aws:sqs/queue:Queue")
def _sqs_queue(queue: PlannedResource, ctx: StackContext) -> list[Line]:
    return [ctx.usage_line(queue, "SQS requests", ctx.prices["sqs_million_requests"], "1M requests", "sqs_requests",
                           "per million requests", unit_size=1e6)]


@rule("aws:sns/topic:Topic")
def _sns_topic(topic: PlannedResource, ctx: StackContext) -> list[Line]:
    return [ctx.usage_line(topic, "SNS publishes", ctx.prices["sns_million_publishes"], "1M publishes",
                           "sns_publishes", "per million publishes", unit_size=1e6)]


@rule("aws:ecr/repository:Repository")
def _ecr_repository(repository: PlannedResource, ctx: StackContext) -> list[Line]:
    return [ctx.usage_line(repository, "image storage", ctx.prices["ecr_gb_month"], "GB-month", "ecr_storage_gb",
                           "per GB-month")]
