"""Misconfigurations planted in a stack of real resources, each of which Checkov must find through the export."""
from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

PUBLIC_READ = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
     "Resource": "arn:aws:s3:::planted-public/*"}]})
IAM_ADMIN = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "iam:*", "Resource": "*"}]})
LAMBDA_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def main() -> None:
    bucket = aws.s3.Bucket("planted-public", bucket="planted-public")
    aws.s3.BucketPolicy("planted-public", bucket=bucket.id, policy=PUBLIC_READ,
                        opts=pulumi.ResourceOptions(parent=bucket))
    vpc = aws.ec2.Vpc("planted", cidr_block="10.9.0.0/16")
    group = aws.ec2.SecurityGroup("planted-ssh", vpc_id=vpc.id, description="planted: ssh from anywhere")
    aws.vpc.SecurityGroupIngressRule("planted-ssh-from-anywhere", security_group_id=group.id, ip_protocol="tcp",
                                     from_port=22, to_port=22, cidr_ipv4="0.0.0.0/0",
                                     opts=pulumi.ResourceOptions(parent=group))
    aws.sqs.Queue("planted-plaintext", sqs_managed_sse_enabled=False)
    role = aws.iam.Role("planted-admin", assume_role_policy=LAMBDA_TRUST)
    aws.iam.RolePolicy("planted-admin", role=role.id, policy=IAM_ADMIN, opts=pulumi.ResourceOptions(parent=role))
    api = aws.apigatewayv2.Api("planted-api", protocol_type="HTTP")
    aws.apigatewayv2.Route("planted-open-route", api_id=api.id, route_key="GET /open", authorization_type="NONE",
                           opts=pulumi.ResourceOptions(parent=api))
