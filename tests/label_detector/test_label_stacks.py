"""The label-detector (GCP) and label-proxy (AWS) stacks under the SDK's mock engine: IAM, function,
API route and stage settings, and the wiring from the detector's outputs into the proxy."""
from __future__ import annotations

import json
import shutil
import uuid

import pytest
import yaml

from components import packaging
from components.args import InvalidArgument
from components.cloud_proxy import CloudProxy, CloudProxyArgs
from components.gcp_function import PLATFORM_APIS, GcpFunction, GcpFunctionArgs
from planning.mocks import SecretValue
from programs.common import ConfigError
from tests.conftest import run_components, run_program

GCP = {"gcp:project": "labels-test", "gcp:region": "europe-west1"}
CALLER = "serviceAccount:test-label-detector-caller@labels-test.iam.gserviceaccount.com"
RUNTIME = "serviceAccount:test-label-detector-run@labels-test.iam.gserviceaccount.com"
BUILD = "serviceAccount:test-label-detector-build@labels-test.iam.gserviceaccount.com"


def plan_detector(**settings):
    return run_program("label-detector", {**GCP, "label_detector": settings})


TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:test-alerts-5f1c2a9"


def plan_proxy(detector_outputs=None, **settings):
    detector_outputs = detector_outputs or plan_detector().outputs
    return run_program("label-proxy", {"label_proxy": settings},
                       upstream={"detector": "test-label-detector", "alerts": "test-alerts"},
                       upstream_outputs={"test-label-detector": detector_outputs,
                                         "test-alerts": {"topic_arn": TOPIC_ARN}})


def only(plan, type_token):
    [resource] = plan.of_type(type_token)
    return resource.inputs


def strings_in(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)
    elif isinstance(value, str):
        yield value


@pytest.fixture(scope="module")
def detector():
    return plan_detector(memory_mb=1024, timeout_seconds=40, max_instances=7, min_instances=1,
                         ingress="ALLOW_INTERNAL_AND_GCLB", readable_buckets=["label-inbox"])


@pytest.fixture(scope="module")
def proxy(detector):
    return plan_proxy(detector.outputs, authorization="AWS_IAM", throttling_rate_limit=3, throttling_burst_limit=6,
                      log_retention_days=60, timeout_seconds=20, upstream_timeout_seconds=15, memory_mb=512)


# --- GCP: the function --------------------------------------------------------------------------------


def test_only_the_caller_account_may_invoke_the_function(detector):
    everything = [text for resource in detector.resources for text in strings_in(resource.inputs)]
    assert not [text for text in everything if "allUsers" in text or "allAuthenticatedUsers" in text]
    invokers = [r.inputs for r in detector.resources if "roles/run.invoker" in r.inputs.values()
                or "roles/cloudfunctions.invoker" in r.inputs.values()]
    assert invokers == [{"project": "labels-test", "location": "europe-west1", "name": "test-label-detector",
                         "role": "roles/run.invoker", "member": CALLER}]
    assert only(detector, "gcp:cloudrunv2/serviceIamMember:ServiceIamMember") == invokers[0]


def test_function_settings_come_from_config(detector):
    function = only(detector, "gcp:cloudfunctionsv2/function:Function")
    service = function["serviceConfig"]
    assert function["name"] == "test-label-detector" and function["location"] == "europe-west1"
    assert {k: service[k] for k in ("availableMemory", "timeoutSeconds", "maxInstanceCount", "minInstanceCount",
                                    "ingressSettings", "allTrafficOnLatestRevision")} == {
        "availableMemory": "1024Mi", "timeoutSeconds": 40, "maxInstanceCount": 7, "minInstanceCount": 1,
        "ingressSettings": "ALLOW_INTERNAL_AND_GCLB", "allTrafficOnLatestRevision": True}
    assert service["environmentVariables"] == {
        "DEFAULT_IMAGE_URI": "gs://cloud-samples-data/vision/label/wakeupcat.jpg",
        "VISION_DEADLINE_SECONDS": "35", "MAX_LABELS": "10"}
    assert function["description"] == "Labels the image at ?imageUri= with Cloud Vision"
    assert service["serviceAccountEmail"] == RUNTIME.split(":", 1)[1]
    build = function["buildConfig"]
    assert (build["runtime"], build["entryPoint"]) == ("python312", "detect")
    assert build["serviceAccount"] == f"projects/labels-test/serviceAccounts/{BUILD.split(':', 1)[1]}"


def test_function_defaults_are_bounded():
    service = only(plan_detector(), "gcp:cloudfunctionsv2/function:Function")["serviceConfig"]
    assert (service["maxInstanceCount"], service["timeoutSeconds"], service["ingressSettings"]) == (5, 30, "ALLOW_ALL")


def test_source_is_a_content_named_zip_of_the_function_directory(detector):
    bucket = only(detector, "gcp:storage/bucket:Bucket")
    assert bucket["uniformBucketLevelAccess"] and bucket["publicAccessPrevention"] == "enforced"
    source = only(detector, "gcp:storage/bucketObject:BucketObject")
    digest = packaging.content_hash("runtime/label_detector")[:16]
    assert source["name"] == f"test-label-detector-{digest}.zip"
    assert {"main.py", "requirements.txt"} <= set(source["source"]["assets"])
    assert not any("__pycache__" in path for path in source["source"]["assets"])
    function = only(detector, "gcp:cloudfunctionsv2/function:Function")
    storage_source = function["buildConfig"]["source"]["storageSource"]
    assert storage_source == {"bucket": source["bucket"], "object": source["name"]}
    assert storage_source["bucket"].startswith("test-label-detector-source-")


def gcp_function(source_dir: str, **args):
    def main():
        GcpFunction("test-function", GcpFunctionArgs(project="labels-test", region="europe-west1",
                                                     source_dir=source_dir, entry_point="detect", **args))
    return run_components(main)


def test_a_code_change_renames_the_source_object():
    scratch = packaging.BUILD_DIR / f"test-function-{uuid.uuid4().hex[:8]}"
    shutil.copytree(packaging.project_path("runtime/label_detector"), scratch,
                    ignore=shutil.ignore_patterns("__pycache__"))
    try:
        names = []
        for code in ("def detect(request):\n    return 'one'\n", "def detect(request):\n    return 'two'\n"):
            (scratch / "main.py").write_text(code)
            names.append(only(gcp_function(str(scratch)), "gcp:storage/bucketObject:BucketObject")["name"])
    finally:
        shutil.rmtree(scratch)
    assert names[0] != names[1]


def test_the_function_component_knows_no_app():
    plan = gcp_function("runtime/label_detector", environment={"GREETING": "hello"}, apis=["translate.googleapis.com"])
    function = only(plan, "gcp:cloudfunctionsv2/function:Function")
    assert function["serviceConfig"]["environmentVariables"] == {"GREETING": "hello"}
    services = [r.inputs["service"] for r in plan.of_type("gcp:projects/service:Service")]
    assert sorted(services) == sorted([*PLATFORM_APIS, "translate.googleapis.com"])
    with pytest.raises(InvalidArgument, match="apis"):
        GcpFunctionArgs(project="p", region="r", source_dir="runtime/label_detector", entry_point="detect",
                        apis=["vision"])


def test_apis_are_enabled_and_left_on_at_destroy(detector):
    services = [r.inputs for r in detector.of_type("gcp:projects/service:Service")]
    assert sorted(s["service"] for s in services) == sorted([*PLATFORM_APIS, "vision.googleapis.com"])
    assert all(s["project"] == "labels-test" and s["disableOnDestroy"] is False for s in services)


def test_service_accounts_get_least_privilege(detector):
    project_grants = sorted((r.inputs["member"], r.inputs["role"])
                            for r in detector.of_type("gcp:projects/iAMMember:IAMMember"))
    assert project_grants == [(BUILD, "roles/artifactregistry.writer"), (BUILD, "roles/logging.logWriter")]
    bucket_grants = sorted((r.inputs["member"], r.inputs["role"], r.inputs["bucket"])
                           for r in detector.of_type("gcp:storage/bucketIAMMember:BucketIAMMember"))
    source_bucket = only(detector, "gcp:storage/bucketObject:BucketObject")["bucket"]
    assert bucket_grants == [(BUILD, "roles/storage.objectViewer", source_bucket),
                             (RUNTIME, "roles/storage.objectViewer", "label-inbox")]
    accounts = {r.inputs["accountId"] for r in detector.of_type("gcp:serviceaccount/account:Account")}
    assert accounts == {"test-label-detector-run", "test-label-detector-build", "test-label-detector-caller"}


def test_caller_key_is_a_secret_output_holding_a_key_file(detector):
    key = detector.outputs["caller_key"]
    assert isinstance(key, SecretValue)
    key_file = json.loads(key.value)
    assert key_file["type"] == "service_account"
    assert key_file["client_email"] == CALLER.split(":", 1)[1]
    assert detector.outputs["function_url"].startswith("https://test-label-detector-")
    assert detector.outputs["function_url"].endswith(".a.run.app")


@pytest.mark.parametrize("settings, key", [
    ({"ingress": "PUBLIC"}, "ingress"), ({"memory_mb": 300}, "memory_mb"), ({"timeout_seconds": 5}, "timeout_seconds"),
    ({"min_instances": 9, "max_instances": 2}, "min_instances"), ({"readable_buckets": ["gs://x"]}, "readable_buckets"),
    ({"allow_unauthenticated": True}, "allow_unauthenticated"), ({"default_image_uri": "gs://bucket-only"},
                                                                "default_image_uri"),
    ({"max_labels": 0}, "max_labels"), ({"source_dir": "runtime/label_proxy"}, "source_dir")])
def test_invalid_detector_settings_are_refused(settings, key):
    with pytest.raises(ConfigError, match=f"cloud-patterns:label_detector.{key}"):
        plan_detector(**settings)


# --- AWS: the proxy -----------------------------------------------------------------------------------


def test_lambda_gets_the_function_url_from_the_detector_stack_and_the_key_only_by_secret_arn(detector, proxy):
    [function] = [r.inputs for r in proxy.of_type("aws:lambda/function:Function")]
    secret = only(proxy, "aws:secretsmanager/secret:Secret")
    [secret_resource] = proxy.of_type("aws:secretsmanager/secret:Secret")
    variables = function["environment"]["variables"]
    assert variables["GFUNC_URL"] == detector.outputs["function_url"]
    assert variables["GCP_CREDENTIALS_SECRET_ARN"] == proxy.outputs["caller_key_secret_arn"]
    assert variables["GFUNC_TIMEOUT_SECONDS"] == "15"
    assert variables["ALLOWED_GS_BUCKETS"] == "cloud-samples-data"
    assert variables["MAX_IMAGE_BYTES"] == str(7 * 1024 * 1024)
    assert function["description"] == "GET /detect: labels an image through the GCP label-detector function"
    assert not [value for value in variables.values() if "PRIVATE KEY" in value]
    assert only(proxy, "aws:secretsmanager/secretVersion:SecretVersion") == {
        "secretId": proxy.outputs["caller_key_secret_arn"], "secretString": "[secret]"}
    assert secret["recoveryWindowInDays"] == 7 and secret_resource.name == "test-label-proxy-gcp-caller-key"
    assert (function["timeout"], function["memorySize"], function["runtime"]) == (20, 512, "python3.12")
    assert function["layers"]  # google-auth and requests


def test_secret_is_readable_only_by_the_proxy_role(proxy):
    secret_arn = proxy.outputs["caller_key_secret_arn"]
    policies = {r.inputs["role"]: json.loads(r.inputs["policy"])
                for r in proxy.of_type("aws:iam/rolePolicy:RolePolicy")}
    readers = {role: [s for s in policy["Statement"] if "secretsmanager" in json.dumps(s)]
               for role, policy in policies.items()}
    readers = {role: statements for role, statements in readers.items() if statements}
    assert list(readers.values()) == [[{"Sid": "ReadGcpCallerKey", "Effect": "Allow",
                                        "Action": "secretsmanager:GetSecretValue", "Resource": secret_arn}]]
    [(reader_role, _)] = readers.items()
    [function] = [r.inputs for r in proxy.of_type("aws:lambda/function:Function")]
    assert function["role"].endswith(f":role/{reader_role}")
    assert not proxy.of_type("aws:secretsmanager/secretPolicy:SecretPolicy")


def test_api_route_invokes_the_lambda_with_iam_auth(proxy):
    api = only(proxy, "aws:apigatewayv2/api:Api")
    assert api["protocolType"] == "HTTP"
    route = only(proxy, "aws:apigatewayv2/route:Route")
    assert (route["routeKey"], route["authorizationType"]) == ("GET /detect", "AWS_IAM")
    integration = only(proxy, "aws:apigatewayv2/integration:Integration")
    assert route["target"].startswith("integrations/") and integration["apiId"] == route["apiId"]
    assert (integration["integrationType"], integration["payloadFormatVersion"]) == ("AWS_PROXY", "2.0")
    assert integration["integrationUri"].endswith(f":function:{proxy.outputs['function_name']}/invocations")
    permission = only(proxy, "aws:lambda/permission:Permission")
    assert permission["principal"] == "apigateway.amazonaws.com"
    assert permission["function"] == proxy.outputs["function_name"]
    assert permission["sourceArn"].endswith(f":{route['apiId']}/*/GET/detect")
    assert proxy.outputs["detect_url"] == f"https://{route['apiId']}.execute-api.us-east-1.amazonaws.com/detect"


def test_stage_logs_access_as_json_and_throttles(proxy):
    stage = only(proxy, "aws:apigatewayv2/stage:Stage")
    assert (stage["name"], stage["autoDeploy"]) == ("$default", True)
    assert stage["defaultRouteSettings"] == {"throttlingRateLimit": 3, "throttlingBurstLimit": 6,
                                             "detailedMetricsEnabled": True}
    access_groups = {r.inputs["name"] if r.inputs.get("name") else r.name: r.inputs
                     for r in proxy.of_type("aws:cloudwatch/logGroup:LogGroup")}
    assert {group["retentionInDays"] for group in access_groups.values()} == {60}
    assert stage["accessLogSettings"]["destinationArn"].endswith(f":log-group:{proxy.outputs['access_log_group']}")
    log_format = json.loads(stage["accessLogSettings"]["format"])
    assert {"requestId", "status", "routeKey", "integrationError"} <= set(log_format)
    assert not [v for v in log_format.values() if "querystring" in v.lower() or "path" in v.lower()]


PROJECT_DIR = packaging.PROJECT_DIR


def stack_file_settings(stack: str) -> dict:
    return yaml.safe_load((PROJECT_DIR / f"Pulumi.{stack}.yaml").read_text())["config"]["cloud-patterns:label_proxy"]


@pytest.mark.parametrize("stack", ["dev-label-proxy", "prod-label-proxy"])
def test_every_environment_requires_signed_requests(stack):
    # dev was open (authorization NONE): anyone could drive billed Vision calls at the throttle.
    plan = plan_proxy(**stack_file_settings(stack))
    assert only(plan, "aws:apigatewayv2/route:Route")["authorizationType"] == "AWS_IAM"


def test_proxy_requires_iam_auth_by_default():
    assert only(plan_proxy(), "aws:apigatewayv2/route:Route")["authorizationType"] == "AWS_IAM"


def test_callers_get_invoke_on_this_route_only(proxy):
    [policy] = proxy.of_type("aws:iam/policy:Policy")
    route = only(proxy, "aws:apigatewayv2/route:Route")
    document = json.loads(policy.inputs["policy"])
    assert document["Statement"] == [{"Sid": "InvokeRoute", "Effect": "Allow", "Action": "execute-api:Invoke",
                                      "Resource": f"arn:aws:execute-api:us-east-1:123456789012:{route['apiId']}"
                                                  "/$default/GET/detect"}]
    assert proxy.outputs["invoke_policy_arn"].startswith("arn:aws:iam::123456789012:policy/test-label-proxy-invoke")


def test_alarms_notify_the_environments_topic(proxy):
    alarms = {r.name: r.inputs for r in proxy.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert sorted(alarms) == ["test-label-proxy-5xx", "test-label-proxy-errors", "test-label-proxy-throttles"]
    assert all(a["alarmActions"] == [TOPIC_ARN] and a["okActions"] == [TOPIC_ARN] for a in alarms.values())
    api = only(proxy, "aws:apigatewayv2/route:Route")["apiId"]
    five_xx = alarms["test-label-proxy-5xx"]
    assert {k: five_xx[k] for k in ("namespace", "metricName", "dimensions", "statistic", "period", "threshold",
                                    "comparisonOperator", "evaluationPeriods", "datapointsToAlarm")} == {
        "namespace": "AWS/ApiGateway", "metricName": "5xx", "dimensions": {"ApiId": api, "Stage": "$default"},
        "statistic": "Sum", "period": 60, "threshold": 5, "comparisonOperator": "GreaterThanOrEqualToThreshold",
        "evaluationPeriods": 2, "datapointsToAlarm": 2}
    function_name = proxy.outputs["function_name"]
    assert {(a["namespace"], a["metricName"], a["dimensions"]["FunctionName"])
            for name, a in alarms.items() if name != "test-label-proxy-5xx"} == {
        ("AWS/Lambda", "Errors", function_name), ("AWS/Lambda", "Throttles", function_name)}
    tuned = {r.name: r.inputs for r in plan_proxy(server_errors_per_minute=20).of_type(
        "aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert tuned["test-label-proxy-5xx"]["threshold"] == 20


def test_the_proxy_component_knows_no_app():
    def main():
        CloudProxy("things", CloudProxyArgs(
            source_dir="runtime/label_proxy", route="POST /v1/things", secret_value="{}",
            secret_arn_variable="UPSTREAM_SECRET_ARN", environment={"UPSTREAM_URL": "https://things.example.com"}))
    plan = run_components(main)
    route = only(plan, "aws:apigatewayv2/route:Route")
    [route_resource] = plan.of_type("aws:apigatewayv2/route:Route")
    assert (route_resource.name, route["routeKey"]) == ("things-v1-things", "POST /v1/things")
    assert only(plan, "aws:lambda/permission:Permission")["sourceArn"].endswith("/*/POST/v1/things")
    [function] = [r.inputs for r in plan.of_type("aws:lambda/function:Function")]
    assert set(function["environment"]["variables"]) == {"UPSTREAM_URL", "UPSTREAM_SECRET_ARN"}
    assert not plan.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")  # no topic, no alarms
    for route_key in ("GET detect", "FETCH /x", "GET /a b"):
        with pytest.raises(InvalidArgument, match="route"):
            CloudProxyArgs(source_dir="runtime/label_proxy", route=route_key, secret_value="{}",
                           secret_arn_variable="S_ARN")


@pytest.mark.parametrize("settings, key", [
    ({"authorization": "NONE"}, "authorization"), ({"authorization": "COGNITO"}, "authorization"),
    ({"timeout_seconds": 30}, "timeout_seconds"),
    ({"timeout_seconds": 10, "upstream_timeout_seconds": 9}, "upstream_timeout_seconds"),
    ({"log_retention_days": 2}, "log_retention_days"),
    ({"secret_recovery_window_days": 3}, "secret_recovery_window_days"),
    ({"gs_buckets": ["gs://photos"]}, "gs_buckets"),
    ({"gs_buckets": ["photos"]}, "default_image_uri"),  # the default image's bucket is no longer served
    ({"default_image_uri": "ftp://images.example.com/cat.jpg"}, "default_image_uri"),
    ({"server_errors_per_minute": 0}, "server_errors_per_minute"), ({"route": "GET /x"}, "route")])
def test_invalid_proxy_settings_are_refused(settings, key):
    with pytest.raises(ConfigError, match=f"cloud-patterns:label_proxy.{key}"):
        plan_proxy(**settings)
