"""Every rule against a resource that breaks it and one that keeps it, in the engine's property shapes
(camelCase inputs, policy documents and container definitions as JSON strings)."""
from __future__ import annotations

import json

import pytest

from planning.mocks.aws_identity import render_policy_document
from policies import rules
from policies.rules import UNKNOWN, Resource, Stack

ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
VPC_INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
SG = "aws:ec2/securityGroup:SecurityGroup"
BUCKET = "aws:s3/bucket:Bucket"
PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
COGNITO_CLIENT = "aws:cognito/userPoolClient:UserPoolClient"
ACCOUNT = "123456789012"
FIREHOSE = "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream"


def policy(*statements: dict) -> str:
    """A policy document as getPolicyDocument renders it (statements in its camelCase argument shape)."""
    return json.dumps(render_policy_document(list(statements)), indent=2)


def allow(actions, resources, **extra) -> dict:
    return {"effect": "Allow", "actions": list(actions), "resources": list(resources), **extra}


def containers(*definitions: dict) -> str:
    return json.dumps(list(definitions))


def container(name="app", **extra) -> dict:
    return {"name": name, "image": f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/{name}@sha256:abc", "essential": True,
            "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": "app-logs", "awslogs-region": "us-east-1", "awslogs-stream-prefix": name}},
            **extra}


def fargate_task(*definitions: dict, cpu="256", memory="1024", **extra) -> dict:
    return {"family": "app", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": cpu,
            "memory": memory, "containerDefinitions": containers(*(definitions or (container(),))), **extra}


DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
CERTIFICATE = f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/9b3e4a61-0c2d-4f7e-a8b5-6d1c3e2f4a90"


def distribution(viewer="redirect-to-https", **extra) -> dict:
    """A distribution's inputs as StaticSite makes them (one private S3 origin through an access control)."""
    return {"enabled": True, "origins": [{"originId": "site", "domainName": "site.s3.us-east-1.amazonaws.com",
                                          "originAccessControlId": "E2QWRUHAPOMQZL"}],
            "defaultCacheBehavior": {"targetOriginId": "site", "viewerProtocolPolicy": viewer},
            "viewerCertificate": {"cloudfrontDefaultCertificate": True}, **extra}


TLS_ONLY = {"sid": "DenyInsecureTransport", "effect": "Deny", "actions": ["s3:*"],
            "resources": ["arn:aws:s3:::videos", "arn:aws:s3:::videos/*"],
            "principals": [{"type": "*", "identifiers": ["*"]}],
            "conditions": [{"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]}]}

# (rule, type token, engine inputs, a fragment of the expected message)
RDS = "aws:rds/instance:Instance"
RDS_GOOD = {"storageEncrypted": True, "publiclyAccessible": False, "iamDatabaseAuthenticationEnabled": True,
            "manageMasterUserPassword": True, "backupRetentionPeriod": 7}

FAILING_RESOURCES = [
    ("security-group-rules-as-resources", SG, {"vpcId": "vpc-1", "ingress": [], "egress": []},
     "inline ingress (0 rules) beside rule resources"),
    ("security-group-no-remote-admin", VPC_INGRESS,
     {"securityGroupId": "sg-1", "ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "cidrIpv4": "10.0.0.0/8"},
     "SSH (port 22) open to 10.0.0.0/8"),
    ("security-group-no-remote-admin", SG,
     {"ingress": [{"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["0.0.0.0/0"]}]}, "RDP (port 3389)"),
    ("security-group-no-remote-admin", SG_RULE,
     {"type": "ingress", "protocol": "tcp", "fromPort": 3000, "toPort": 3500, "ipv6CidrBlocks": ["::/0"],
      "securityGroupId": "sg-1"}, "RDP (port 3389) open to ::/0 (tcp 3000-3500)"),
    ("iam-no-wildcard-actions", ROLE_POLICY, {"role": "r", "policy": policy(allow(["s3:*"], ["arn:aws:s3:::b/*"]))},
     "allows s3:*"),
    ("iam-no-wildcard-actions", "aws:iam/role:Role",
     {"inlinePolicies": [{"name": "admin", "policy": policy(allow(["*"], ["*"], sid="Everything"))}]},
     "statement 'Everything' allows *"),
    ("iam-no-wildcard-actions", ROLE_POLICY,
     {"policy": policy({"effect": "Allow", "notActions": ["iam:*"], "resources": ["*"]})},
     "allows every action except iam:*"),
    ("iam-no-wildcard-actions", "aws:s3/bucketPolicy:BucketPolicy",
     {"bucket": "b", "policy": policy(allow(["s3:*"], ["arn:aws:s3:::b/*"], principals=[
         {"type": "AWS", "identifiers": [f"arn:aws:iam::{ACCOUNT}:root"]}]))}, "allows s3:*"),
    ("iam-no-wildcard-resource-on-data", ROLE_POLICY,
     {"policy": policy(allow(["secretsmanager:GetSecretValue"], ["*"]))}, "secretsmanager:GetSecretValue on *"),
    ("iam-no-wildcard-resource-on-data", ROLE_POLICY,
     {"policy": policy(allow(["s3:Get*"], ["arn:aws:s3:::*"]))}, "allows s3:Get* on arn:aws:s3:::*"),
    ("iam-no-wildcard-resource-on-data", ROLE_POLICY,
     {"policy": policy({"effect": "Allow", "actions": ["dynamodb:PutItem"], "notResources": ["arn:aws:dynamodb:*"]})},
     "on every resource but"),
    ("iam-pass-role-named-roles", ROLE_POLICY,
     {"policy": policy(allow(["iam:PassRole"], ["arn:aws:iam::*:role/tom-thumb-task"]))},  # the seed's flaw
     "iam:PassRole on arn:aws:iam::*:role/tom-thumb-task"),
    ("iam-pass-role-named-roles", ROLE_POLICY, {"policy": policy(allow(["iam:Pass*"], ["*"]))}, "iam:PassRole on *"),
    ("iam-no-managed-full-access", "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
     {"role": "task", "policyArn": "arn:aws:iam::aws:policy/AmazonS3FullAccess"}, "AmazonS3FullAccess"),
    ("iam-no-managed-full-access", "aws:iam/role:Role",
     {"managedPolicyArns": ["arn:aws:iam::aws:policy/AdministratorAccess"]}, "AdministratorAccess"),
    ("lambda-timeout-bounded", rules.LAMBDA_FUNCTION, {"timeout": 900}, "timeout 900 s is above 300 s"),
    ("lambda-no-plaintext-secrets", rules.LAMBDA_FUNCTION,
     {"environment": {"variables": {"DB_PASSWORD": "hunter2"}}}, "DB_PASSWORD looks like a secret"),
    ("lambda-no-plaintext-secrets", rules.LAMBDA_FUNCTION,
     {"environment": {"variables": {"SETTINGS": "id=AKIAIOSFODNN7EXAMPLE"}}}, "an AWS access key id"),
    ("lambda-no-plaintext-secrets", rules.LAMBDA_FUNCTION,
     {"environment": {"variables": {"UPSTREAM": "https://admin:pa55@db.internal/app"}}}, "credentials in a URL"),
    ("lambda-no-plaintext-secrets", rules.LAMBDA_FUNCTION,
     {"environment": {"variables": {
         "SESSION": "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlX2hlcmU"}}},
     "a JWT"),
    ("lambda-no-plaintext-secrets", rules.LAMBDA_FUNCTION,
     {"environment": {"variables": {"SIGNING": rules.SECRET}}}, "holds a Pulumi secret"),
    ("lambda-permission-not-public", rules.LAMBDA_PERMISSION,
     {"action": "lambda:InvokeFunction", "function": "f", "principal": "*"}, "anyone may call"),
    ("lambda-permission-source-scoped", rules.LAMBDA_PERMISSION,
     {"action": "lambda:InvokeFunction", "function": "f", "principal": "s3.amazonaws.com"}, "on behalf of any account"),
    ("lambda-alexa-permission-skill-scoped", rules.LAMBDA_PERMISSION,
     {"action": "lambda:InvokeFunction", "function": "f", "principal": "alexa-appkit.amazon.com"}, "any Alexa skill"),
    ("log-group-retention", rules.LOG_GROUP, {"name": "app"}, "keeps logs forever"),
    ("log-group-retention", rules.LOG_GROUP, {"retentionInDays": 10}, "which CloudWatch does not accept"),
    ("ecs-task-awslogs", rules.TASK_DEFINITION, fargate_task({"name": "app", "image": "app:1"}),
     "container app logs with no log driver"),
    ("ecs-task-awslogs", rules.TASK_DEFINITION,
     fargate_task(container(logConfiguration={"logDriver": "awslogs", "options": {
         "awslogs-group": "g", "awslogs-create-group": "true"}})), "lets awslogs create its group"),
    ("ecs-fargate-size", rules.TASK_DEFINITION, fargate_task(cpu="256", memory="4096"),
     "memory '4096' is not offered with 256 cpu units"),
    ("ecs-fargate-size", rules.TASK_DEFINITION, fargate_task(cpu="300"), "cpu '300' is not a Fargate size"),
    ("ecs-fargate-size", rules.TASK_DEFINITION, fargate_task(networkMode="bridge"), "Fargate requires awsvpc"),
    ("ecs-no-privileged", rules.TASK_DEFINITION, fargate_task(container(privileged=True)),
     "container app is privileged"),
    ("ecs-no-privileged", rules.TASK_DEFINITION, {**fargate_task(), "requiresCompatibilities": ["EC2"],
                                                  "networkMode": "host"}, "network mode host"),
    ("ecs-no-privileged", rules.TASK_DEFINITION,
     fargate_task(container(linuxParameters={"capabilities": {"add": ["SYS_ADMIN"]}})), "adds SYS_ADMIN"),
    ("ecs-no-plaintext-secrets", rules.TASK_DEFINITION,
     fargate_task(container(environment=[{"name": "STRIPE_API_KEY", "value": "sk_live_123"}])),
     "STRIPE_API_KEY looks like a secret"),
    ("ecs-service-circuit-breaker", rules.ECS_SERVICE, {"cluster": "c", "desiredCount": 2},
     "without enable and rollback"),
    ("ecs-service-circuit-breaker", rules.ECS_SERVICE,
     {"deploymentCircuitBreaker": {"enable": True, "rollback": False}}, "without rollback"),
    ("ecs-service-public-ip", rules.ECS_SERVICE,
     {"networkConfiguration": {"subnets": ["subnet-1"], "assignPublicIp": True}}, "tasks get public IPs"),
    ("ecr-scan-on-push", rules.ECR_REPOSITORY, {"imageTagMutability": "IMMUTABLE"}, "not scanned on push"),
    ("ecr-scan-on-push", rules.ECR_REPOSITORY, {"imageScanningConfiguration": {"scanOnPush": False}},
     "not scanned on push"),
    ("ecr-immutable-tags", rules.ECR_REPOSITORY, {"imageScanningConfiguration": {"scanOnPush": True}},
     "mutability is MUTABLE"),
    ("lb-drop-invalid-headers", "aws:lb/loadBalancer:LoadBalancer", {"internal": False, "subnets": ["s1", "s2"]},
     "drop_invalid_header_fields is off"),
    ("lb-https-tls12", "aws:lb/listener:Listener",
     {"protocol": "HTTPS", "port": 443, "certificateArn": "arn:aws:acm:x"},
     "the default ELBSecurityPolicy-2016-08"),
    ("lb-https-tls12", "aws:alb/listener:Listener",
     {"protocol": "HTTPS", "sslPolicy": "ELBSecurityPolicy-TLS13-1-0-2021-06"}, "allows TLS below 1.2"),
    ("lb-http-redirects-to-https", "aws:lb/listener:Listener",
     {"protocol": "HTTP", "port": 80, "defaultActions": [{"type": "forward", "targetGroupArn": "tg"}]},
     "serves plain HTTP"),
    ("gcp-no-public-members", "gcp:cloudfunctionsv2/functionIamMember:FunctionIamMember",
     {"cloudFunction": "f", "role": "roles/cloudfunctions.invoker", "member": "allUsers"}, "to allUsers"),
    ("gcp-no-public-members", "gcp:cloudrunv2/serviceIamBinding:ServiceIamBinding",
     {"name": "f", "role": "roles/run.invoker", "members": ["allAuthenticatedUsers"]}, "to allAuthenticatedUsers"),
    ("gcp-no-public-members", "gcp:storage/bucketIAMPolicy:BucketIAMPolicy",
     {"bucket": "b", "policyData": json.dumps({"bindings": [{"role": "roles/storage.objectViewer",
                                                            "members": ["allUsers"]}]})}, "to allUsers"),
    ("gcp-no-public-members", "gcp:storage/bucketACL:BucketACL",
     {"bucket": "b", "roleEntities": ["OWNER:project-owners-1", "READER:allUsers"]}, "to allUsers"),
    ("gcp-no-public-members", "gcp:storage/bucketACL:BucketACL", {"bucket": "b", "predefinedAcl": "publicRead"},
     "makes objects public"),
    ("gcp-bucket-public-access-prevention", rules.GCP_BUCKET,
     {"publicAccessPrevention": "inherited", "uniformBucketLevelAccess": True}, "not enforced"),
    ("iam-trust-source-conditions", "aws:iam/role:Role", {"assumeRolePolicy": json.dumps({"Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "lambda.amazonaws.com"}}]})},
     "without aws:SourceAccount"),
    ("iam-pass-role-to-named-service", ROLE_POLICY,
     {"policy": policy(allow(["iam:PassRole"], [f"arn:aws:iam::{ACCOUNT}:role/task"]))}, "to any service"),
    ("iam-no-escalation-on-every-resource", ROLE_POLICY, {"policy": policy(allow(["iam:PutRolePolicy"], ["*"]))},
     "iam:PutRolePolicy on every resource"),
    ("resource-policy-not-public", "aws:sqs/queuePolicy:QueuePolicy", {"policy": policy(
        {"effect": "Allow", "actions": ["sqs:SendMessage"], "resources": ["arn:aws:sqs:us-east-1:1:q"],
         "principals": [{"type": "*", "identifiers": ["*"]}]})}, "to every principal"),
    ("firehose-encrypted", FIREHOSE, {"destination": "extended_s3"}, "buffered unencrypted"),
    ("firehose-encrypted", FIREHOSE, {"serverSideEncryption": {"enabled": False}}, "buffered unencrypted"),
    ("firehose-delivery-error-logging", FIREHOSE, {"extendedS3Configuration": {"bucketArn": "arn:aws:s3:::b"}},
     "not logged"),
    ("codebuild-no-plaintext-secrets", "aws:codebuild/project:Project", {"environment": {"environmentVariables": [
        {"name": "INDEX_TOKEN", "value": "pypi-AgEIcHlwaS5vcmc", "type": "PLAINTEXT"}]}}, "INDEX_TOKEN looks like"),
    ("codebuild-not-privileged", "aws:codebuild/project:Project", {"environment": {"privilegedMode": True}},
     "runs privileged"),
    ("waf-logs-redact-authorization", "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration",
     {"redactedFields": [{"singleHeader": {"name": "cookie"}}]}, "authorization header is not in redacted_fields"),
    ("waf-logs-redact-authorization", "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration",
     {"logDestinationConfigs": ["arn:aws:logs:us-east-1:1:log-group:aws-waf-logs-x"]}, "bearer tokens"),
    ("cloudfront-viewers-https", DISTRIBUTION, distribution(viewer="allow-all"), "default behavior has "
     "viewer_protocol_policy allow-all"),
    ("cloudfront-viewers-https", DISTRIBUTION, distribution(orderedCacheBehaviors=[
        {"pathPattern": "/api/*", "viewerProtocolPolicy": "allow-all"}]), "/api/* has viewer_protocol_policy"),
    ("cloudfront-tls12", DISTRIBUTION, distribution(viewerCertificate={
        "acmCertificateArn": CERTIFICATE, "sslSupportMethod": "sni-only", "minimumProtocolVersion": "TLSv1.1_2016"}),
     "TLSv1.1_2016 allows TLS below 1.2"),
    ("cloudfront-tls12", DISTRIBUTION, distribution(viewerCertificate={
        "acmCertificateArn": CERTIFICATE.replace("us-east-1", "eu-west-1"), "sslSupportMethod": "sni-only",
        "minimumProtocolVersion": "TLSv1.2_2021"}), "is not in us-east-1"),
    ("cloudfront-s3-origin-access-control", DISTRIBUTION, distribution(origins=[
        {"originId": "site", "domainName": "site.s3.us-east-1.amazonaws.com"}]), "origin site has no origin access "
     "control"),
    ("cloudfront-s3-origin-access-control", DISTRIBUTION, distribution(origins=[
        {"originId": "site", "domainName": "site.s3.amazonaws.com",
         "s3OriginConfig": {"originAccessIdentity": "origin-access-identity/cloudfront/E1"}}]),
     "origin access identity"),
    ("cloudfront-s3-origin-access-control", DISTRIBUTION, distribution(origins=[
        {"originId": "site", "domainName": "site.s3-website-us-east-1.amazonaws.com"}]), "public website endpoint"),
    ("route53-no-overwrite", "aws:route53/record:Record",
     {"zoneId": "Z1", "name": "example.com", "type": "A", "allowOverwrite": True}, "A example.com has allow_overwrite"),
    ("cognito-users-cannot-write-identity", COGNITO_CLIENT,
     {"supportedIdentityProviders": ["COGNITO"], "allowedOauthScopes": ["openid", "email"]},
     "users may write every standard attribute (writeAttributes unset) of their own"),
    ("cognito-users-cannot-write-identity", COGNITO_CLIENT,
     {"writeAttributes": ["email", "given_name"], "supportedIdentityProviders": ["COGNITO"],
      "allowedOauthScopes": ["openid"]}, "users may write email of their own"),
    ("cognito-users-cannot-write-identity", COGNITO_CLIENT,
     {"writeAttributes": ["email", "email_verified"], "supportedIdentityProviders": ["COGNITO", "Google"],
      "allowedOauthScopes": ["openid", "aws.cognito.signin.user.admin"]},
     "through the aws.cognito.signin.user.admin scope"),
    ("rds-private-encrypted", RDS, {"storageEncrypted": False, "publiclyAccessible": False}, "not encrypted"),
    ("rds-private-encrypted", RDS, {"storageEncrypted": True, "publiclyAccessible": True}, "publicly accessible"),
    ("rds-managed-credentials", RDS, {"iamDatabaseAuthenticationEnabled": False, "manageMasterUserPassword": True},
     "IAM database authentication is off"),
    ("rds-managed-credentials", RDS, {"iamDatabaseAuthenticationEnabled": True, "password": "[secret]"},
     "set by hand"),
    ("rds-backups", RDS, {"backupRetentionPeriod": 0}, "no point-in-time recovery"),
]

PASSING_RESOURCES = [
    ("waf-logs-redact-authorization", "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration",
     {"redactedFields": [{"singleHeader": {"name": "Authorization"}}, {"queryString": {}}]}),
    ("security-group-rules-as-resources", SG, {"vpcId": "vpc-1", "description": "rules are separate resources"}),
    ("security-group-no-remote-admin", VPC_INGRESS,
     {"securityGroupId": "sg-1", "ipProtocol": "tcp", "fromPort": 22, "toPort": 22,
      "referencedSecurityGroupId": "sg-2"}),
    ("security-group-no-remote-admin", SG_RULE,
     {"type": "egress", "protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["0.0.0.0/0"]}),
    ("security-group-no-remote-admin", SG,
     {"ingress": [{"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["0.0.0.0/0"]}]}),
    ("iam-no-wildcard-actions", ROLE_POLICY,
     {"policy": policy(allow(["s3:GetObject"], ["arn:aws:s3:::videos/video/*"]), TLS_ONLY)}),
    ("iam-no-wildcard-resource-on-data", ROLE_POLICY,
     {"policy": policy(allow(["ecr:GetAuthorizationToken"], ["*"]),  # account-wide by design
                       allow(["s3:GetObject"], ["arn:aws:s3:::videos/video/*"]),
                       allow(["logs:CreateLogStream", "logs:PutLogEvents"],
                             ["arn:aws:logs:us-east-1:123456789012:log-group:app:*"]))}),
    ("iam-pass-role-named-roles", ROLE_POLICY,
     {"policy": policy(allow(["iam:PassRole"],
                             [f"arn:aws:iam::{ACCOUNT}:role/task", f"arn:aws:iam::{ACCOUNT}:role/exec"],
                             conditions=[{"test": "StringEquals", "variable": "iam:PassedToService",
                                          "values": ["ecs-tasks.amazonaws.com"]}]))}),
    ("iam-no-managed-full-access", "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
     {"role": "r", "policyArn": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"}),
    ("iam-no-managed-full-access", "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
     {"role": "r", "policyArn": f"arn:aws:iam::{ACCOUNT}:policy/BucketFullAccess"}),  # our own, not AWS managed
    ("lambda-timeout-bounded", rules.LAMBDA_FUNCTION, {"timeout": 60}),
    ("lambda-timeout-bounded", rules.LAMBDA_FUNCTION, {}),  # the default is 3 s
    ("lambda-timeout-bounded", rules.LAMBDA_FUNCTION,
     {"timeout": 900, "tags": {"timeout-justification": "transcodes an hour of video"}}),
    ("lambda-no-plaintext-secrets", rules.LAMBDA_FUNCTION, {"environment": {"variables": {
        "GCP_CREDENTIALS_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:caller-key-AbCdEf",
        "OBJECT_KEY": "thumbnail/", "TOKEN_URL": "https://oauth2.googleapis.com/token", "JWT_PUBLIC_KEY_URL": "x",
        "GFUNC_TIMEOUT_SECONDS": "25"}}}),
    ("lambda-permission-not-public", rules.LAMBDA_PERMISSION,
     {"principal": "s3.amazonaws.com", "sourceArn": "arn:aws:s3:::videos", "sourceAccount": ACCOUNT}),
    ("lambda-permission-source-scoped", rules.LAMBDA_PERMISSION,
     {"principal": "apigateway.amazonaws.com", "sourceArn": "arn:aws:execute-api:us-east-1:123456789012:abc/*/*"}),
    ("lambda-alexa-permission-skill-scoped", rules.LAMBDA_PERMISSION,
     {"principal": "alexa-appkit.amazon.com",
      "eventSourceToken": "amzn1.ask.skill.8f3c2a1e-5b7d-4c9e-a1f2-3d4e5f6a7b8c"}),
    ("log-group-retention", rules.LOG_GROUP, {"retentionInDays": 30}),
    ("ecs-task-awslogs", rules.TASK_DEFINITION, fargate_task(container("app"), container("sidecar"))),
    ("ecs-fargate-size", rules.TASK_DEFINITION, fargate_task(cpu="1 vCPU", memory="2 GB")),
    ("ecs-fargate-size", rules.TASK_DEFINITION, {**fargate_task(cpu="300"), "requiresCompatibilities": ["EC2"]}),
    ("ecs-no-privileged", rules.TASK_DEFINITION,
     fargate_task(container(linuxParameters={"capabilities": {"add": ["SYS_PTRACE"]}}))),
    ("ecs-no-plaintext-secrets", rules.TASK_DEFINITION, fargate_task(container(
        environment=[{"name": "LOG_LEVEL", "value": "info"}],
        secrets=[{"name": "STRIPE_API_KEY", "valueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:s"}]))),
    ("ecs-service-circuit-breaker", rules.ECS_SERVICE,
     {"deploymentCircuitBreaker": {"enable": True, "rollback": True}}),
    ("ecs-service-circuit-breaker", rules.ECS_SERVICE, {"deploymentController": {"type": "CODE_DEPLOY"}}),
    ("ecs-service-public-ip", rules.ECS_SERVICE, {"networkConfiguration": {"subnets": ["s"], "assignPublicIp": False}}),
    ("ecr-scan-on-push", rules.ECR_REPOSITORY, {"imageScanningConfiguration": {"scanOnPush": True}}),
    ("ecr-immutable-tags", rules.ECR_REPOSITORY, {"imageTagMutability": "IMMUTABLE"}),
    ("lb-drop-invalid-headers", "aws:lb/loadBalancer:LoadBalancer", {"dropInvalidHeaderFields": True}),
    ("lb-drop-invalid-headers", "aws:lb/loadBalancer:LoadBalancer", {"loadBalancerType": "network"}),
    ("lb-https-tls12", "aws:lb/listener:Listener",
     {"protocol": "HTTPS", "sslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06"}),
    ("lb-https-tls12", "aws:lb/listener:Listener", {"protocol": "HTTP", "port": 80}),
    ("lb-http-redirects-to-https", "aws:lb/listener:Listener",
     {"protocol": "HTTP", "defaultActions": [{"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443",
                                                                                "statusCode": "HTTP_301"}}]}),
    ("gcp-no-public-members", "gcp:cloudrunv2/serviceIamMember:ServiceIamMember",
     {"name": "f", "role": "roles/run.invoker", "member": "serviceAccount:caller@p.iam.gserviceaccount.com"}),
    ("gcp-no-public-members", "gcp:storage/bucket:Bucket", {"uniformBucketLevelAccess": True}),
    ("gcp-bucket-public-access-prevention", rules.GCP_BUCKET,
     {"publicAccessPrevention": "enforced", "uniformBucketLevelAccess": True}),
    ("iam-trust-source-conditions", "aws:iam/role:Role", {"assumeRolePolicy": json.dumps({"Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "lambda.amazonaws.com"},
         "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}}]})}),
    ("iam-pass-role-to-named-service", ROLE_POLICY, {"policy": policy(allow(
        ["iam:PassRole"], [f"arn:aws:iam::{ACCOUNT}:role/task"], conditions=[
            {"test": "StringEquals", "variable": "iam:PassedToService", "values": ["ecs-tasks.amazonaws.com"]}]))}),
    ("iam-no-escalation-on-every-resource", ROLE_POLICY,
     {"policy": policy(allow(["iam:PutRolePolicy"], [f"arn:aws:iam::{ACCOUNT}:role/worker"]))}),
    ("resource-policy-not-public", "aws:sqs/queuePolicy:QueuePolicy", {"policy": policy(
        {"effect": "Allow", "actions": ["sqs:SendMessage"], "resources": ["arn:aws:sqs:us-east-1:1:q"],
         "principals": [{"type": "*", "identifiers": ["*"]}],
         "conditions": [{"test": "ArnEquals", "variable": "aws:SourceArn", "values": ["arn:aws:sns:us-east-1:1:t"]}]})}),
    ("firehose-encrypted", FIREHOSE, {"serverSideEncryption": {"enabled": True, "keyType": "AWS_OWNED_CMK"}}),
    ("firehose-encrypted", FIREHOSE, {"kinesisSourceConfiguration": {"kinesisStreamArn": "arn:aws:kinesis:s"}}),
    ("firehose-delivery-error-logging", FIREHOSE, {"extendedS3Configuration": {"cloudwatchLoggingOptions": {
        "enabled": True, "logGroupName": "/aws/kinesisfirehose/s", "logStreamName": "DestinationDelivery"}}}),
    ("codebuild-no-plaintext-secrets", "aws:codebuild/project:Project", {"environment": {"environmentVariables": [
        {"name": "INDEX_TOKEN", "value": "/p/INDEX_TOKEN", "type": "PARAMETER_STORE"}]}}),
    ("codebuild-not-privileged", "aws:codebuild/project:Project", {"environment": {"privilegedMode": False}}),
    ("cloudfront-viewers-https", DISTRIBUTION, distribution()),
    ("cloudfront-tls12", DISTRIBUTION, distribution()),  # the *.cloudfront.net certificate: CloudFront's minimum
    ("cloudfront-tls12", DISTRIBUTION, distribution(viewerCertificate={
        "acmCertificateArn": CERTIFICATE, "sslSupportMethod": "sni-only", "minimumProtocolVersion": "TLSv1.2_2021"})),
    ("cloudfront-s3-origin-access-control", DISTRIBUTION, distribution()),
    ("cloudfront-s3-origin-access-control", DISTRIBUTION, distribution(origins=[
        {"originId": "api", "domainName": "abc.execute-api.us-east-1.amazonaws.com",
         "customOriginConfig": {"originProtocolPolicy": "https-only"}}])),
    ("route53-no-overwrite", "aws:route53/record:Record", {"zoneId": "Z1", "name": "example.com", "type": "A",
                                                            "allowOverwrite": False}),
    ("cognito-users-cannot-write-identity", COGNITO_CLIENT,
     {"writeAttributes": ["family_name", "given_name"], "supportedIdentityProviders": ["COGNITO"],
      "allowedOauthScopes": ["openid", "email", "profile"]}),
    ("cognito-users-cannot-write-identity", COGNITO_CLIENT,
     {"writeAttributes": ["custom:hd", "email", "email_verified"], "supportedIdentityProviders": ["COGNITO", "Google"],
      "allowedOauthScopes": ["openid", "email"]}),
    ("rds-private-encrypted", RDS, RDS_GOOD),
    ("rds-managed-credentials", RDS, RDS_GOOD),
    ("rds-backups", RDS, RDS_GOOD),
]


def resource_messages(rule_name: str, type_: str, props: dict) -> list[str]:
    rule = rules.rule(rule_name)
    return [f.message for f in rule.findings([Resource(type_, "subject", props)], Stack([]))]


@pytest.mark.parametrize("rule_name, type_, props, expected", FAILING_RESOURCES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(FAILING_RESOURCES)])
def test_a_resource_breaking_the_rule_is_reported(rule_name, type_, props, expected):
    messages = resource_messages(rule_name, type_, props)
    assert any(expected in m for m in messages), messages


@pytest.mark.parametrize("rule_name, type_, props", PASSING_RESOURCES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(PASSING_RESOURCES)])
def test_a_resource_keeping_the_rule_passes(rule_name, type_, props):
    assert resource_messages(rule_name, type_, props) == []


def test_a_rule_ignores_other_types():
    assert resource_messages("ecr-immutable-tags", rules.LOG_GROUP, {}) == []


def test_values_unknown_during_preview_are_never_reported():
    assert resource_messages("ecr-immutable-tags", rules.ECR_REPOSITORY, {"imageTagMutability": UNKNOWN}) == []
    assert resource_messages("ecs-task-awslogs", rules.TASK_DEFINITION,
                             {"requiresCompatibilities": ["FARGATE"], "containerDefinitions": UNKNOWN}) == []
    assert resource_messages("log-group-retention", rules.LOG_GROUP, {"retentionInDays": UNKNOWN}) == []
    # ...while what is known is still judged
    assert resource_messages("ecr-immutable-tags", rules.ECR_REPOSITORY,
                             {"name": UNKNOWN, "imageTagMutability": "MUTABLE"}) != []


def test_every_tls_policy_the_load_balancer_component_allows_passes():
    from components.load_balancer import TLS12_POLICIES
    for ssl_policy in TLS12_POLICIES:
        assert resource_messages("lb-https-tls12", "aws:lb/listener:Listener",
                                 {"protocol": "HTTPS", "sslPolicy": ssl_policy}) == [], ssl_policy


# ---------------------------------------------------------------------------------------------------
# Stack rules: resources as the engine reports them after an update (outputs, ids included).
def res(type_: str, name: str, /, **props) -> Resource:
    dependencies = props.pop("dependencies", {})
    return Resource(type_, name, props, urn=f"urn:pulumi:dev::cloud-patterns::{type_}::{name}",
                    dependencies=dependencies)


def stack_messages(rule_name: str, *resources: Resource) -> list[str]:
    findings = rules.rule(rule_name).findings(list(resources), Stack(resources))
    return [f"{f.resource.name}: {f.message}" for f in findings]


def bucket(name="videos", **props) -> Resource:
    return res(BUCKET, name, **{"id": name, "bucket": name, "arn": f"arn:aws:s3:::{name}", **props})


def public_access_block(of: str, **flags) -> Resource:
    settings = {flag: True for flag in rules.PUBLIC_ACCESS_FLAGS}
    return res(PAB, f"{of}-pab", id=of, bucket=of, **{**settings, **flags})


def encryption(of: str, algorithm="aws:kms") -> Resource:
    return res(rules.BUCKET_ENCRYPTION[1], f"{of}-sse", id=of, bucket=of,
               rules=[{"applyServerSideEncryptionByDefault": {"sseAlgorithm": algorithm}, "bucketKeyEnabled": True}])


def bucket_policy(of: str, *statements: dict) -> Resource:
    return res("aws:s3/bucketPolicy:BucketPolicy", f"{of}-policy", id=of, bucket=of, policy=policy(*statements))


def group(name: str, **props) -> Resource:
    return res(SG, name, id=f"sg-{name}", arn=f"arn:aws:ec2:us-east-1:{ACCOUNT}:security-group/sg-{name}", **props)


def ingress(name: str, group_id: str, port: int, **source) -> Resource:
    return res(VPC_INGRESS, name, id=f"sgr-{name}", securityGroupId=group_id, ipProtocol="tcp", fromPort=port,
               toPort=port, **source)


LB_TAGS = {"role": "load-balancer", "tier": "public"}


def function(name="invoker", **props) -> Resource:
    return res(rules.LAMBDA_FUNCTION, name, **{"id": name, "name": name, "timeout": 30,
                                               "arn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}", **props})


def log_group(name: str, retention=30, **props) -> Resource:
    extra = {"retentionInDays": retention} if retention is not None else {}
    return res(rules.LOG_GROUP, name, id=name, name=name, arn=f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{name}",
               **extra, **props)


REST_RESOURCE = "aws:apigateway/resource:Resource"


def http_route(stack: str, route_key: str, authorization: str | None) -> Resource:
    props = {"routeKey": route_key, "apiId": "a1b2c3",
             **({"authorizationType": authorization} if authorization else {})}
    return Resource("aws:apigatewayv2/route:Route", "route", props,
                    urn=f"urn:pulumi:{stack}::cloud-patterns::aws:apigatewayv2/route:Route::route")


def rest_method(stack: str, http_method: str, authorization: str, resource_id: str, **props) -> Resource:
    return Resource("aws:apigateway/method:Method", f"{http_method.lower()}-method",
                    {"httpMethod": http_method, "authorization": authorization, "resourceId": resource_id,
                     "restApi": "api-1", **props},
                    urn=f"urn:pulumi:{stack}::cloud-patterns::aws:apigateway/method:Method::{http_method.lower()}")


FAILING_STACKS = [
    ("s3-public-access-blocked", [bucket()], "videos: no aws.s3.BucketPublicAccessBlock"),
    ("s3-public-access-blocked", [bucket(), public_access_block("videos", blockPublicPolicy=False)],
     "leaves blockPublicPolicy off"),
    ("s3-public-access-blocked", [bucket(), public_access_block("other-bucket")],
     "videos: no aws.s3.BucketPublicAccessBlock"),
    ("s3-default-encryption", [bucket()], "videos: no server-side encryption"),
    ("s3-default-encryption", [bucket(), encryption("other-bucket")], "videos: no server-side encryption"),
    ("s3-tls-only-policy", [bucket()], "videos: no bucket policy with a Deny"),
    ("s3-tls-only-policy", [bucket(), bucket_policy("videos", {**TLS_ONLY, "conditions": []})], "no bucket policy"),
    ("s3-tls-only-policy", [bucket(), bucket_policy("videos", {**TLS_ONLY, "resources": ["arn:aws:s3:::videos"]})],
     "no bucket policy"),  # the objects are left out
    ("security-group-no-public-ingress",  # the seed's flaw: the app's port open to the world
     [group("app", tags={"role": "app"}), ingress("app-in", "sg-app", 8080, cidrIpv4="0.0.0.0/0")],
     "app-in: tcp 8080 open to the internet on a group that is not a load-balancer group"),
    ("security-group-no-public-ingress", [group("lb", tags=LB_TAGS), ingress("lb-in", "sg-lb", 8080, cidrIpv6="::/0")],
     "lb-in: tcp 8080 open to the internet on a load-balancer group (only 80 and 443 may be)"),
    ("security-group-no-public-ingress",
     [group("web", ingress=[{"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["0.0.0.0/0"]}])],
     "web: tcp 443 open to the internet on a group that is not"),
    ("security-group-no-public-ingress",  # tagged for a load balancer, but tasks use it
     [group("lb", tags=LB_TAGS), ingress("lb-in", "sg-lb", 443, cidrIpv4="0.0.0.0/0"),
      res(rules.ECS_SERVICE, "svc", networkConfiguration={"securityGroups": ["sg-lb"], "subnets": ["s"]})],
     "lb-in: tcp 443 open to the internet on a group that is not"),
    ("security-group-no-public-ingress", [ingress("in", "sg-of-another-stack", 443, cidrIpv4="0.0.0.0/0")],
     "in: tcp 443 open to the internet"),
    ("lambda-log-group-retention",
     [function(loggingConfig={"logFormat": "JSON", "logGroup": "invoker-logs"}),
      log_group("invoker-logs", retention=None)],
     "invoker: its log group invoker-logs keeps logs forever"),
    ("lambda-log-group-retention", [function(loggingConfig={"logGroup": "/shared/somewhere"})],
     "logs to /shared/somewhere, which is not a log group of this stack"),
    ("lambda-log-group-retention", [function()], "logs to /aws/lambda/invoker, which this stack does not create"),
    ("lambda-log-group-retention",  # a preview: the group's name is not known yet, the engine says which it is
     [function(loggingConfig={"logGroup": UNKNOWN}, dependencies={
         "loggingConfig": [f"urn:pulumi:dev::cloud-patterns::{rules.LOG_GROUP}::logs"]}),
      log_group("logs", retention=0)],
     "its log group logs keeps logs forever"),
    ("nacl-task-ports-closed-to-internet", [res("aws:ec2/networkAcl:NetworkAcl", "public", id="acl-1", tags={"public-tasks": "true", "app-port": "8080", "data-port": "5432"}),
                                            res("aws:ec2/networkAclRule:NetworkAclRule", "r400", networkAclId="acl-1", ruleNumber=400, egress=False, protocol="tcp", ruleAction="allow", fromPort=1024, toPort=65535, cidrBlock="0.0.0.0/0")],
     "rule 400 admits port 8080"),
    ("api-route-authorized", [http_route("dev-label-proxy", "GET /detect", "NONE")],
     "GET /detect has authorization NONE, so anyone may call it"),
    ("api-route-authorized", [http_route("dev-label-proxy", "GET /public", None)],  # NONE is the provider's default
     "GET /public has authorization NONE"),  # public in *-secure-api stacks only
    ("api-route-authorized", [rest_method("dev-legacy", "POST", "NONE", resource_id="r-1"),
                              res(REST_RESOURCE, "items", id="r-1", path="/items")],
     "POST /items has authorization NONE"),
    ("alarm-topic-same-region", [res("aws:cloudwatch/metricAlarm:MetricAlarm", "cdn-5xx",
                                     arn=f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:cdn-5xx",
                                     alarmActions=[f"arn:aws:sns:eu-west-1:{ACCOUNT}:alerts"])],
     "alarmActions notifies arn:aws:sns:eu-west-1:123456789012:alerts, a topic outside the alarm's region us-east-1"),
    ("pattern-alarms-notify-a-topic",  # more cases in test_alarm_rules.py
     [res("cloud-patterns:patterns:ContainerOnDemand", "jobs"), res("aws:sqs/queue:Queue", "jobs-failures")],
     "jobs: no alarm of this stack notifies a topic"),
]

PASSING_STACKS = [
    ("s3-public-access-blocked", [bucket(), public_access_block("videos")]),
    ("s3-public-access-blocked",  # a preview: the bucket's id is not known yet
     [bucket(id=UNKNOWN, bucket=UNKNOWN), res(PAB, "pab", bucket=UNKNOWN, dependencies={"bucket": [
         f"urn:pulumi:dev::cloud-patterns::{BUCKET}::videos"]}, **{f: True for f in rules.PUBLIC_ACCESS_FLAGS})]),
    ("s3-public-access-blocked",  # a preview by an engine without property dependencies: nothing is proven
     [bucket(id=UNKNOWN, bucket=UNKNOWN),
      res(PAB, "pab", bucket=UNKNOWN, **{f: True for f in rules.PUBLIC_ACCESS_FLAGS})]),
    ("s3-default-encryption", [bucket(), encryption("videos")]),
    ("s3-default-encryption", [bucket(serverSideEncryptionConfiguration={"rule": {
        "applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}})]),
    ("s3-tls-only-policy", [bucket(), bucket_policy("videos", TLS_ONLY, allow(["s3:GetObject"], [
        "arn:aws:s3:::videos/*"], principals=[{"type": "AWS", "identifiers": [f"arn:aws:iam::{ACCOUNT}:role/r"]}]))]),
    ("security-group-no-public-ingress",
     [group("lb", tags=LB_TAGS), *[ingress(f"lb-{p}-{v}", "sg-lb", p, **{f"cidrIpv{v}": cidr})
                                  for p in (80, 443) for v, cidr in ((4, "0.0.0.0/0"), (6, "::/0"))]]),
    ("security-group-no-public-ingress",  # an untagged group is a load-balancer group when a load balancer uses it
     [group("front"), ingress("front-in", "sg-front", 443, cidrIpv4="0.0.0.0/0"),
      res("aws:lb/loadBalancer:LoadBalancer", "alb", securityGroups=["sg-front"])]),
    ("security-group-no-public-ingress",
     [group("app"), ingress("app-in", "sg-app", 8080, referencedSecurityGroupId="sg-lb"),
      ingress("app-vpc", "sg-app", 8080, cidrIpv4="10.0.0.0/16")]),
    ("lambda-log-group-retention",
     [function(loggingConfig={"logFormat": "JSON", "logGroup": "invoker-logs"}), log_group("invoker-logs", 14)]),
    ("lambda-log-group-retention", [function(), log_group("/aws/lambda/invoker", 7)]),
    ("lambda-log-group-retention",
     [function(loggingConfig={"logGroup": UNKNOWN}, dependencies={
         "loggingConfig": [f"urn:pulumi:dev::cloud-patterns::{rules.LOG_GROUP}::logs"]}), log_group("logs")]),
    ("nacl-task-ports-closed-to-internet", [res("aws:ec2/networkAcl:NetworkAcl", "public", id="acl-1", tags={"public-tasks": "true", "app-port": "8080", "data-port": "5432"}),
                                            res("aws:ec2/networkAclRule:NetworkAclRule", "r350", networkAclId="acl-1", ruleNumber=350, egress=False, protocol="tcp", ruleAction="deny", fromPort=8080, toPort=8080, cidrBlock="0.0.0.0/0"),
                                            res("aws:ec2/networkAclRule:NetworkAclRule", "r360", networkAclId="acl-1", ruleNumber=360, egress=False, protocol="tcp", ruleAction="deny", fromPort=5432, toPort=5432, cidrBlock="0.0.0.0/0"),
                                            res("aws:ec2/networkAclRule:NetworkAclRule", "r400", networkAclId="acl-1", ruleNumber=400, egress=False, protocol="tcp", ruleAction="allow", fromPort=1024, toPort=65535, cidrBlock="0.0.0.0/0")]),
    ("api-route-authorized", [http_route("dev-label-proxy", "GET /detect", "AWS_IAM"),
                              http_route("prod-secure-api", "GET /private", "JWT")]),
    ("api-route-authorized", [http_route("dev-secure-api", "GET /public", "NONE")]),  # listed as public
    ("api-route-authorized", [rest_method("dev-legacy", "GET", "NONE", resource_id="root-1", apiKeyRequired=True),
                              rest_method("dev-legacy", "POST", "AWS_IAM", resource_id="root-1")]),
    ("alarm-topic-same-region", [res("aws:cloudwatch/metricAlarm:MetricAlarm", "cdn-5xx",
                                     arn=f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:cdn-5xx",
                                     alarmActions=[f"arn:aws:sns:us-east-1:{ACCOUNT}:alerts"],
                                     okActions=[f"arn:aws:sns:us-east-1:{ACCOUNT}:alerts"])]),
    ("pattern-alarms-notify-a-topic",
     [res("cloud-patterns:patterns:ContainerOnDemand", "jobs"),
      res("aws:cloudwatch/metricAlarm:MetricAlarm", "jobs-errors", alarmActions=[f"arn:aws:sns:us-east-1:{ACCOUNT}:a"])]),
]


@pytest.mark.parametrize("rule_name, resources, expected", FAILING_STACKS,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(FAILING_STACKS)])
def test_a_stack_breaking_the_rule_is_reported(rule_name, resources, expected):
    messages = stack_messages(rule_name, *resources)
    assert any(expected in m for m in messages), messages


@pytest.mark.parametrize("rule_name, resources", PASSING_STACKS,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(PASSING_STACKS)])
def test_a_stack_keeping_the_rule_passes(rule_name, resources):
    assert stack_messages(rule_name, *resources) == []


def image_build(repository: str, dockerfile) -> Resource:
    return res("docker-build:index:Image", repository, tags=[f"{repository}:3f2a"],
               dockerfile={"location": str(dockerfile)}, ref=f"{repository}@sha256:abc")


def task(*definitions: dict) -> Resource:
    return res(rules.TASK_DEFINITION, "task", **fargate_task(*definitions))


def test_containers_running_as_root_are_advised_against(tmp_path):
    no_user = tmp_path / "Dockerfile.plain"
    no_user.write_text("FROM python:3.12-slim\nCMD [\"python\"]\n")
    messages = stack_messages(
        "ecs-non-root-user", image_build("repo/plain", no_user),
        task(container("explicit-root", user="0:0"), {**container("third-party"), "image": "nginx:1.27"},
             {**container("plain"), "image": "repo/plain@sha256:abc"}))
    assert any("explicit-root runs as 0:0" in m for m in messages), messages
    assert any("third-party sets no user and its image nginx:1.27 is not built by this stack" in m for m in messages)
    assert any(f"plain sets no user and {no_user} sets no USER" in m for m in messages), messages


def test_containers_with_a_non_root_user_pass(tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM python:3.12-slim AS build\nUSER root\nRUN true\nFROM python:3.12-slim\nUSER 10001\n")
    assert stack_messages(
        "ecs-non-root-user", image_build("repo/worker", dockerfile),
        task({**container("worker"), "image": "repo/worker@sha256:abc"},
             container("sidecar", user="65532:65532"))) == []


def test_every_rule_has_a_failing_and_a_passing_case():
    failing = {c[0] for c in FAILING_RESOURCES + FAILING_STACKS} | {"ecs-non-root-user"}
    passing = {c[0] for c in PASSING_RESOURCES + PASSING_STACKS} | {"ecs-non-root-user"}
    names = {r.name for r in rules.RULES}
    assert names - failing == set() and names - passing == set()
    assert len(names) == len(rules.RULES), "rule names must be unique"
