"""Type tokens that rules of several services name (a bucket's policy for S3 and IAM, compute with security groups
for the network rules, ...). A token only one service's rules name stays in that service's module."""
from __future__ import annotations

BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
BUCKET_POLICY = ("aws:s3/bucketPolicy:BucketPolicy",)
LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
LAMBDA_FUNCTION = "aws:lambda/function:Function"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ECS_SERVICE = "aws:ecs/service:Service"
