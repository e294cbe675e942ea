"""Provider-shaped mock outputs for the Pulumi SDK's mock engine.

The offline plan and the unit tests run the real programs against ``pulumi.runtime.set_mocks``. For the
wiring between resources and stacks to be exercised for real, what a mock returns must look like what the
provider returns: ids with the right prefixes, ARNs with account, region and resource path, DNS names,
URLs. Ids are derived from the resource's type and name, so two plans of the same code are identical.

Invokes the programs make (availability zones, region, caller identity, policy documents, …) are answered
here too; an invoke nobody taught this module raises, so a missing mock is never silently empty.
"""
from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from typing import Any

import pulumi

ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
GCP_PROJECT_NUMBER = "123456789012"


def digest(*parts: str, length: int = 17) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def _autoname(name: str, inputs: dict, key: str = "name") -> str:
    """The provider's auto-naming: the logical name plus a random 7-character suffix."""
    return inputs.get(key) or f"{name}-{digest(name, 'autoname', length=7)}"


class ProviderMocks(pulumi.runtime.Mocks):
    """Mocks for the aws, gcp, docker-build and pulumi providers used in this project."""

    def __init__(self, region: str = DEFAULT_REGION, stack_outputs: dict[str, dict] | None = None,
                 gcp_project: str = "cloud-patterns-dev", gcp_region: str = "us-central1"):
        self.region = region
        self.stack_outputs = stack_outputs or {}
        self.gcp_project = gcp_project
        self.gcp_region = gcp_region

    # ----- resources -----
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        inputs = dict(args.inputs)
        if args.typ == "pulumi:pulumi:StackReference":
            return self._stack_reference(inputs.get("name") or args.resource_id or args.name)
        if not args.custom:
            return None, {}
        shaper = _SHAPERS.get(args.typ)
        if shaper is not None:
            resource_id, extra = shaper(self, args.name, inputs)
        elif args.typ.startswith("aws:"):
            resource_id, extra = self._generic_aws(args.typ, args.name, inputs)
        elif args.typ.startswith("gcp:"):
            resource_id, extra = self._generic_gcp(args.typ, args.name, inputs)
        else:
            resource_id, extra = f"{args.name}-{digest(args.typ, args.name, length=8)}", {}
        return resource_id, {**inputs, **extra}

    def _stack_reference(self, stack_name: str) -> tuple[str, dict]:
        short = stack_name.split("/")[-1]
        if short not in self.stack_outputs:
            raise KeyError(f"stack reference to {stack_name!r}: no outputs recorded for it (is it a declared "
                           f"upstream that was planned first?)")
        recorded = self.stack_outputs[short]
        outputs = {k: v.value if isinstance(v, SecretValue) else v for k, v in recorded.items()}
        secret_names = [k for k, v in recorded.items() if isinstance(v, SecretValue)]
        return stack_name, {"name": stack_name, "outputs": outputs, "secretOutputNames": secret_names}

    def arn(self, service: str, resource: str, region: str | None = None, account: str | None = None) -> str:
        region = self.region if region is None else region
        account = ACCOUNT_ID if account is None else account
        return f"arn:aws:{service}:{region}:{account}:{resource}"

    def _generic_aws(self, typ: str, name: str, inputs: dict) -> tuple[str, dict]:
        service = typ.split(":")[1].split("/")[0]
        resource_name = _autoname(name, inputs)
        return resource_name, {"arn": self.arn(service, f"{service}/{resource_name}"), "name": resource_name}

    def _generic_gcp(self, typ: str, name: str, inputs: dict) -> tuple[str, dict]:
        resource_name = inputs.get("name") or name
        project = inputs.get("project") or self.gcp_project
        return f"projects/{project}/{typ.split(':')[1].split('/')[0]}/{resource_name}", {"project": project}

    # ----- invokes -----
    def call(self, args: pulumi.runtime.MockCallArgs) -> dict:
        handler = _CALLS.get(args.token)
        if handler is None:
            raise NotImplementedError(f"no offline mock for the invoke {args.token}; add one to stacks/mocks.py")
        return handler(self, dict(args.args))


class SecretValue:
    """A stack output recorded as secret; StackReferences return it as a secret output."""

    def __init__(self, value: Any):
        self.value = value

    def __repr__(self) -> str:
        return "[secret]"


# ---------------------------------------------------------------------------------------------------
# Resource shapes, by type token.
Shaper = Callable[[ProviderMocks, str, dict], tuple[str, dict]]
_SHAPERS: dict[str, Shaper] = {}


def shape(*tokens: str) -> Callable[[Shaper], Shaper]:
    def register(fn: Shaper) -> Shaper:
        for token in tokens:
            _SHAPERS[token] = fn
        return fn
    return register


def _ec2(prefix: str, kind: str, **extra_fn: Callable[[ProviderMocks, str, str, dict], Any]) -> Shaper:
    def shaper(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
        resource_id = f"{prefix}-{digest(prefix, name)}"
        extra = {"arn": m.arn("ec2", f"{kind}/{resource_id}"), "ownerId": ACCOUNT_ID}
        extra.update({k: fn(m, name, resource_id, inputs) for k, fn in extra_fn.items()})
        return resource_id, extra
    return shaper


shape("aws:ec2/vpc:Vpc")(_ec2(
    "vpc", "vpc",
    defaultSecurityGroupId=lambda m, n, i, _: f"sg-{digest('default-sg', n)}",
    mainRouteTableId=lambda m, n, i, _: f"rtb-{digest('main-rtb', n)}",
    defaultNetworkAclId=lambda m, n, i, _: f"acl-{digest('default-acl', n)}"))
shape("aws:ec2/subnet:Subnet")(_ec2("subnet", "subnet"))
shape("aws:ec2/securityGroup:SecurityGroup", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")(_ec2(
    "sg", "security-group", name=lambda m, n, i, inputs: inputs.get("name") or _autoname(n, inputs)))
shape("aws:ec2/internetGateway:InternetGateway")(_ec2("igw", "internet-gateway"))
shape("aws:ec2/natGateway:NatGateway")(_ec2(
    "nat", "natgateway", publicIp=lambda m, n, i, _: f"3.{int(digest(n, length=2), 16)}.0.{len(n) % 250 + 1}"))
shape("aws:ec2/eip:Eip")(_ec2(
    "eipalloc", "elastic-ip", allocationId=lambda m, n, i, _: i,
    publicIp=lambda m, n, i, _: f"3.{int(digest(n, length=2), 16)}.1.{len(n) % 250 + 1}"))
shape("aws:ec2/routeTable:RouteTable")(_ec2("rtb", "route-table"))
shape("aws:ec2/route:Route")(_ec2("r-rtb", "route"))
shape("aws:ec2/routeTableAssociation:RouteTableAssociation")(_ec2("rtbassoc", "route-table-association"))
shape("aws:ec2/networkAcl:NetworkAcl")(_ec2("acl", "network-acl"))
shape("aws:ec2/networkAclRule:NetworkAclRule")(_ec2("nacl", "network-acl-rule"))
shape("aws:ec2/flowLog:FlowLog")(_ec2("fl", "vpc-flow-log"))
shape("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
      "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")(_ec2(
          "sgr", "security-group-rule", securityGroupRuleId=lambda m, n, i, _: i))
shape("aws:ec2/vpcEndpoint:VpcEndpoint")(_ec2(
    "vpce", "vpc-endpoint",
    dnsEntries=lambda m, n, i, inputs: [{"dnsName": f"{i}.{inputs.get('serviceName', '')}.vpce.amazonaws.com",
                                         "hostedZoneId": "Z7HUB22UULQXV"}],
    prefixListId=lambda m, n, i, _: f"pl-{digest('pl', n, length=8)}"))


@shape("aws:iam/role:Role")
def _role(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    role_name = _autoname(name, inputs)
    return role_name, {"name": role_name, "arn": f"arn:aws:iam::{ACCOUNT_ID}:role/{role_name}",
                       "uniqueId": f"AROA{digest('role', name, length=17).upper()}"}


@shape("aws:iam/rolePolicy:RolePolicy")
def _role_policy(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    policy_name = _autoname(name, inputs)
    return f"{inputs.get('role')}:{policy_name}", {"name": policy_name}


@shape("aws:cloudwatch/logGroup:LogGroup")
def _log_group(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    group = _autoname(name, inputs)
    return group, {"name": group, "arn": m.arn("logs", f"log-group:{group}")}


@shape("aws:lambda/function:Function")
def _lambda(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    function = _autoname(name, inputs)
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


@shape("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
def _bucket(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    bucket = inputs.get("bucket") or f"{name}-{digest('bucket', name, length=8)}"
    return bucket, {"bucket": bucket, "arn": f"arn:aws:s3:::{bucket}", "region": m.region,
                    "bucketDomainName": f"{bucket}.s3.amazonaws.com",
                    "bucketRegionalDomainName": f"{bucket}.s3.{m.region}.amazonaws.com",
                    "hostedZoneId": "Z3AQBSTGFYJSTF"}


@shape("aws:sqs/queue:Queue")
def _queue(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    queue = _autoname(name, inputs)
    url = f"https://sqs.{m.region}.amazonaws.com/{ACCOUNT_ID}/{queue}"
    return url, {"name": queue, "url": url, "arn": m.arn("sqs", queue)}


@shape("aws:sns/topic:Topic")
def _topic(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    topic = _autoname(name, inputs)
    return m.arn("sns", topic), {"name": topic, "arn": m.arn("sns", topic)}


@shape("aws:ecs/cluster:Cluster")
def _cluster(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    cluster = _autoname(name, inputs)
    arn = m.arn("ecs", f"cluster/{cluster}")
    return arn, {"name": cluster, "arn": arn}


@shape("aws:ecs/taskDefinition:TaskDefinition")
def _task_definition(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    family = inputs.get("family", name)
    return family, {"arn": m.arn("ecs", f"task-definition/{family}:1"), "revision": 1,
                    "arnWithoutRevision": m.arn("ecs", f"task-definition/{family}")}


@shape("aws:ecs/service:Service")
def _service(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    service = _autoname(name, inputs)
    cluster = str(inputs.get("cluster", "default")).split("/")[-1]
    arn = m.arn("ecs", f"service/{cluster}/{service}")
    return arn, {"name": service, "arn": arn}


@shape("aws:ecr/repository:Repository")
def _repository(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    repo = inputs.get("name") or f"{name}-{digest('repo', name, length=7)}"
    return repo, {"name": repo, "arn": m.arn("ecr", f"repository/{repo}"), "registryId": ACCOUNT_ID,
                  "repositoryUrl": f"{ACCOUNT_ID}.dkr.ecr.{m.region}.amazonaws.com/{repo}"}


@shape("aws:ecr/lifecyclePolicy:LifecyclePolicy", "aws:s3/bucketPolicy:BucketPolicy",
       "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
       "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
       "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
       "aws:s3/bucketNotification:BucketNotification", "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
       "aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
def _bucket_child(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    return str(inputs.get("bucket") or inputs.get("repository") or name), {}


@shape("docker-build:index:Image")
def _image(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    tags = inputs.get("tags") or [f"{name}:latest"]
    image_digest = "sha256:" + hashlib.sha256(json.dumps(tags).encode()).hexdigest()
    ref = f"{str(tags[0]).rsplit(':', 1)[0]}@{image_digest}"
    return image_digest, {"digest": image_digest, "ref": ref}


@shape("aws:lb/loadBalancer:LoadBalancer")
def _load_balancer(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    lb = inputs.get("name") or f"{name[:24]}-{digest('lb', name, length=7)}"
    suffix = f"app/{lb}/{digest('lb', name, length=16)}"
    arn = m.arn("elasticloadbalancing", f"loadbalancer/{suffix}")
    scheme = "internal-" if inputs.get("internal") else ""
    return arn, {"name": lb, "arn": arn, "arnSuffix": suffix, "zoneId": "Z35SXDOTRQ7X7K",
                 "dnsName": f"{scheme}{lb}-{int(digest('dns', name, length=8), 16) % 10**10}.{m.region}"
                            ".elb.amazonaws.com"}


@shape("aws:lb/targetGroup:TargetGroup")
def _target_group(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    group = inputs.get("name") or f"{name[:24]}-{digest('tg', name, length=7)}"
    suffix = f"targetgroup/{group}/{digest('tg', name, length=16)}"
    arn = m.arn("elasticloadbalancing", suffix)
    return arn, {"name": group, "arn": arn, "arnSuffix": suffix}


@shape("aws:lb/listener:Listener", "aws:lb/listenerRule:ListenerRule")
def _listener(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    kind = "listener-rule" if "priority" in inputs or "conditions" in inputs else "listener"
    arn = m.arn("elasticloadbalancing", f"{kind}/app/{digest('lb', name, length=16)}/{digest(kind, name, length=16)}")
    return arn, {"arn": arn}


@shape("aws:secretsmanager/secret:Secret")
def _secret(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    secret = _autoname(name, inputs)
    arn = m.arn("secretsmanager", f"secret:{secret}-{digest('secret', name, length=6)}")
    return arn, {"name": secret, "arn": arn}


@shape("aws:secretsmanager/secretVersion:SecretVersion")
def _secret_version(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    version = f"{digest('version', name, length=8)}-0000-0000-0000-{digest('v', name, length=12)}"
    return f"{inputs.get('secretId')}|{version}", {"versionId": version, "arn": inputs.get("secretId")}


@shape("aws:apigatewayv2/api:Api")
def _http_api(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    api_id = digest("api", name, length=10)
    return api_id, {"apiEndpoint": f"https://{api_id}.execute-api.{m.region}.amazonaws.com",
                    "executionArn": m.arn("execute-api", api_id), "arn": f"arn:aws:apigateway:{m.region}::/apis/{api_id}"}


@shape("aws:apigatewayv2/stage:Stage")
def _stage(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    stage = inputs.get("name", "$default")
    api_id = inputs.get("apiId", "")
    path = "" if stage == "$default" else f"/{stage}"
    return stage, {"invokeUrl": f"https://{api_id}.execute-api.{m.region}.amazonaws.com{path}",
                   "executionArn": m.arn("execute-api", f"{api_id}/{stage}"),
                   "arn": f"arn:aws:apigateway:{m.region}::/apis/{api_id}/stages/{stage}"}


@shape("aws:apigatewayv2/integration:Integration", "aws:apigatewayv2/route:Route")
def _api_child(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    return digest("api-child", name, length=7), {}


@shape("aws:cognito/userPool:UserPool")
def _user_pool(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    pool_id = f"{m.region}_{digest('pool', name, length=9)}"
    return pool_id, {"arn": m.arn("cognito-idp", f"userpool/{pool_id}"), "name": _autoname(name, inputs),
                     "endpoint": f"cognito-idp.{m.region}.amazonaws.com/{pool_id}"}


@shape("aws:cognito/userPoolClient:UserPoolClient")
def _user_pool_client(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    client_id = digest("client", name, length=26)
    return client_id, {"clientSecret": digest("client-secret", name, length=51)}


@shape("aws:cognito/userPoolDomain:UserPoolDomain")
def _user_pool_domain(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    domain = inputs.get("domain", name)
    return domain, {"cloudfrontDistribution": f"d{digest('cf', name, length=13)}.cloudfront.net",
                    "cloudfrontDistributionArn": f"arn:aws:cloudfront::{ACCOUNT_ID}:distribution/"
                                                 f"E{digest('cf', name, length=13).upper()}"}


@shape("aws:appautoscaling/target:Target")
def _scaling_target(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    resource = inputs.get("resourceId", name)
    return resource, {"arn": m.arn("application-autoscaling", f"scalable-target/{digest('st', name, length=12)}")}


@shape("aws:appautoscaling/policy:Policy")
def _scaling_policy(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    policy = _autoname(name, inputs)
    return policy, {"name": policy, "arn": m.arn(
        "autoscaling", f"scalingPolicy:{digest('sp', name, length=36)}:resource/ecs/service:policyName/{policy}")}


@shape("gcp:serviceaccount/account:Account")
def _gcp_service_account(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    project = inputs.get("project") or m.gcp_project
    email = f"{inputs.get('accountId', name)}@{project}.iam.gserviceaccount.com"
    resource = f"projects/{project}/serviceAccounts/{email}"
    return resource, {"email": email, "name": resource, "member": f"serviceAccount:{email}", "project": project,
                      "uniqueId": str(int(digest("sa", name, length=15), 16))[:21]}


@shape("gcp:serviceaccount/key:Key")
def _gcp_service_account_key(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    account = str(inputs.get("serviceAccountId") or f"projects/{m.gcp_project}/serviceAccounts/{name}")
    email = account.split("/")[-1]
    key_id = digest("sa-key", name, length=40)
    key_file = {"type": "service_account", "project_id": email.split("@")[-1].split(".")[0],
                "private_key_id": key_id, "client_email": email, "client_id": str(int(digest(email), 16))[:21],
                "private_key": "-----BEGIN PRIVATE KEY-----\nofflineplanplaceholder\n-----END PRIVATE KEY-----\n",
                "auth_uri": "https://accounts.google.com/o/oauth2/auth",
                "token_uri": "https://oauth2.googleapis.com/token",
                "universe_domain": "googleapis.com"}
    return f"{account}/keys/{key_id}", {
        "name": f"{account}/keys/{key_id}", "keyAlgorithm": "KEY_ALG_RSA_2048",
        "privateKeyType": "TYPE_GOOGLE_CREDENTIALS_FILE", "publicKeyType": "TYPE_X509_PEM_FILE",
        "privateKey": base64.b64encode(json.dumps(key_file).encode()).decode(),
        "publicKey": base64.b64encode(b"offline-plan-public-key").decode(),
        "validAfter": "2026-01-01T00:00:00Z", "validBefore": "9999-12-31T23:59:59Z"}


@shape("gcp:storage/bucket:Bucket")
def _gcs_bucket(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    bucket = _autoname(name, inputs)
    return bucket, {"name": bucket, "url": f"gs://{bucket}", "project": inputs.get("project") or m.gcp_project,
                    "selfLink": f"https://www.googleapis.com/storage/v1/b/{bucket}"}


@shape("gcp:storage/bucketObject:BucketObject")
def _gcs_object(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    bucket, obj = inputs.get("bucket", ""), inputs.get("name", name)
    return f"{bucket}-{obj}", {"name": obj, "generation": int(digest("generation", obj, length=12), 16),
                               "mediaLink": f"https://storage.googleapis.com/download/storage/v1/b/{bucket}/o/{obj}",
                               "selfLink": f"https://www.googleapis.com/storage/v1/b/{bucket}/o/{obj}"}


@shape("gcp:cloudfunctionsv2/function:Function")
def _cloud_function_v2(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    function = inputs.get("name") or name
    project = inputs.get("project") or m.gcp_project
    location = inputs.get("location") or m.gcp_region
    run_uri = f"https://{function}-{digest('run', function, length=10)}-uc.a.run.app"
    service_config = {**(inputs.get("serviceConfig") or {}), "uri": run_uri,
                      "service": f"projects/{project}/locations/{location}/services/{function}"}
    return f"projects/{project}/locations/{location}/functions/{function}", {
        "name": function, "project": project, "location": location, "environment": "GEN_2", "state": "ACTIVE",
        "url": f"https://{location}-{project}.cloudfunctions.net/{function}", "serviceConfig": service_config}


# ---------------------------------------------------------------------------------------------------
# Invokes, by token.
Call = Callable[[ProviderMocks, dict], dict]
_CALLS: dict[str, Call] = {}


def call(*tokens: str) -> Callable[[Call], Call]:
    def register(fn: Call) -> Call:
        for token in tokens:
            _CALLS[token] = fn
        return fn
    return register


@call("aws:index/getAvailabilityZones:getAvailabilityZones")
def _zones(m: ProviderMocks, args: dict) -> dict:
    letters = "abcdef"
    return {"names": [f"{m.region}{c}" for c in letters],
            "zoneIds": [f"use1-az{i + 1}" for i in range(len(letters))], "id": m.region, "groupNames": [m.region]}


@call("aws:index/getRegion:getRegion")
def _region(m: ProviderMocks, args: dict) -> dict:
    return {"region": m.region, "name": m.region, "id": m.region, "endpoint": f"ec2.{m.region}.amazonaws.com",
            "description": m.region}


@call("aws:index/getCallerIdentity:getCallerIdentity")
def _caller(m: ProviderMocks, args: dict) -> dict:
    return {"accountId": ACCOUNT_ID, "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/offline-plan",
            "userId": "AIDAOFFLINEPLAN", "id": ACCOUNT_ID}


@call("aws:index/getPartition:getPartition")
def _partition(m: ProviderMocks, args: dict) -> dict:
    return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws", "reverseDnsPrefix": "com.amazonaws"}


@call("aws:ecr/getAuthorizationToken:getAuthorizationToken")
def _ecr_token(m: ProviderMocks, args: dict) -> dict:
    return {"userName": "AWS", "password": "offline-plan-token", "authorizationToken": "QVdTOm9mZmxpbmU=",
            "proxyEndpoint": f"https://{ACCOUNT_ID}.dkr.ecr.{m.region}.amazonaws.com", "id": m.region,
            "expiresAt": "2099-01-01T00:00:00Z"}


@call("aws:iam/getPolicyDocument:getPolicyDocument")
def _policy_document(m: ProviderMocks, args: dict) -> dict:
    document = render_policy_document(args.get("statements") or [])
    text = json.dumps(document, indent=2)
    return {"json": text, "minifiedJson": json.dumps(document, separators=(",", ":")),
            "id": str(int(hashlib.sha256(text.encode()).hexdigest()[:8], 16))}


def _one_or_many(values: list) -> Any:
    return values[0] if len(values) == 1 else values


def render_policy_document(statements: list[dict]) -> dict:
    """Renders statements the way the provider's getPolicyDocument does."""
    rendered = []
    for s in statements:
        out: dict[str, Any] = {}
        if s.get("sid"):
            out["Sid"] = s["sid"]
        out["Effect"] = s.get("effect") or "Allow"
        for key, name in (("actions", "Action"), ("notActions", "NotAction"),
                          ("resources", "Resource"), ("notResources", "NotResource")):
            if s.get(key):
                out[name] = _one_or_many(list(s[key]))
        if s.get("principals"):
            principals: dict[str, Any] = {}
            for p in s["principals"]:
                if p["type"] == "*" and p.get("identifiers") == ["*"]:
                    principals = "*"  # type: ignore[assignment]
                    break
                principals[p["type"]] = _one_or_many(list(p["identifiers"]))
            out["Principal"] = principals
        if s.get("conditions"):
            conditions: dict[str, dict] = {}
            for c in s["conditions"]:
                conditions.setdefault(c["test"], {})[c["variable"]] = _one_or_many(list(c["values"]))
            out["Condition"] = conditions
        rendered.append(out)
    return {"Version": "2012-10-17", "Statement": rendered}
