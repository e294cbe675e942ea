"""The api-edge stack under the mock engine: the WAFv2 web ACL (scope CLOUDFRONT, through the us-east-1 provider)
with the three managed groups, the rate rule and the IP sets, count mode overriding every rule, logging that
redacts authorization; the distribution over the API's host with the origin secret header (a Pulumi secret, the
value stored in Secrets Manager under the name the API knows), no caching but on /public, geo restriction, the
certificate and aliases with a domain; alarms; every config error refused before any resource."""
from __future__ import annotations

import json

import pytest

from planning.mocks import ProviderMocks
from planning.offline import SECRET, RecordingMonitor
from policies.evaluate import check_plan
from programs.common import ConfigError
from runtime.secure_api import contract
from tests.conftest import run_program

ACCOUNT = "123456789012"
TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:test-alerts"
API_HOST = "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com"
PROD = {"domain": "api.example.com", "zone_id": "Z0123456789EXAMPLE", "mode": "block", "rate_limit": 1500,
        "blocked_cidrs": ["192.0.2.0/24", "2001:db8::/32", "198.51.100.0/24"], "geo_restriction": "deny",
        "geo_countries": ["KP", "IR"]}
WAF = "aws:wafv2/webAcl:WebAcl"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"


class CallRecordingMocks(ProviderMocks):
    """The project's mocks, keeping each invoke the program makes and what it was answered."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.calls: list[dict] = []

    def call(self, args):
        answer = super().call(args)
        self.calls.append({"token": args.token, "args": dict(args.args), **answer})
        return answer


def monitor_calls(planned) -> list[dict]:
    return planned[1]["calls"]


def plan_edge(settings: dict | None = None, region: str = "eu-west-1", monitor: RecordingMonitor | None = None):
    outputs = {"test-alerts": {"topic_arn": TOPIC}, "test-api": {"url": f"https://{API_HOST}"}}
    mocks = CallRecordingMocks(region=region, stack_outputs=outputs)
    monitor = monitor or RecordingMonitor(mocks)
    plan = run_program("api-edge", {"api_edge": settings or {}}, upstream={"alerts": "test-alerts", "api": "test-api"},
                       upstream_outputs=outputs, region=region, monitor=monitor, mocks=mocks)
    state = {(urn.split("::")[-2].split("$")[-1], urn.split("::")[-1]): {**r.state, "id": r.id}
             for urn, r in monitor.resources.items()}
    state["calls"] = mocks.calls
    return plan, state


def one(plan, type_token, name=None):
    found = [r for r in plan.of_type(type_token) if name is None or r.name == name]
    assert len(found) == 1, [r.name for r in found]
    return found[0]


def us_east_1_provider(plan) -> str:
    [provider] = [r for r in plan.of_type("pulumi:providers:aws") if r.inputs.get("region") == "us-east-1"]
    return provider.urn


@pytest.fixture(scope="module")
def dev():
    return plan_edge({"mode": "count", "rate_limit": 500})


@pytest.fixture(scope="module")
def prod():
    return plan_edge(PROD)


def test_the_web_acl_is_for_cloudfront_made_in_us_east_1_with_managed_groups_and_a_rate_rule(prod):
    plan, _ = prod
    acl = one(plan, WAF)
    assert acl.inputs["scope"] == "CLOUDFRONT" and acl.provider.startswith(us_east_1_provider(plan) + "::")
    assert acl.inputs["defaultAction"] == {"allow": {}}
    rules = {r["name"]: r for r in acl.inputs["rules"]}
    for group in ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesSQLiRuleSet"):
        assert rules[group]["statement"] == {"managedRuleGroupStatement": {"name": group, "vendorName": "AWS"}}
        assert rules[group]["overrideAction"] == {"none": {}}
    assert rules["rate-per-ip"]["statement"] == {"rateBasedStatement": {
        "limit": 1500, "aggregateKeyType": "IP", "evaluationWindowSec": 300}}
    assert rules["rate-per-ip"]["action"] == {"block": {}}
    assert len({r["priority"] for r in acl.inputs["rules"]}) == len(acl.inputs["rules"]) == 6
    assert all(r["visibilityConfig"]["cloudwatchMetricsEnabled"] and r["visibilityConfig"]["sampledRequestsEnabled"]
               for r in acl.inputs["rules"])


def test_the_block_list_is_one_ip_set_per_address_family_referenced_by_a_blocking_rule(prod):
    plan, state = prod
    sets = {s.inputs["ipAddressVersion"]: s for s in plan.of_type("aws:wafv2/ipSet:IpSet")}
    assert sets["IPV4"].inputs["addresses"] == ["192.0.2.0/24", "198.51.100.0/24"]
    assert sets["IPV6"].inputs["addresses"] == ["2001:db8::/32"]
    assert all(s.inputs["scope"] == "CLOUDFRONT" and s.provider.startswith(us_east_1_provider(plan))
               for s in sets.values())
    rules = {r["name"]: r for r in one(plan, WAF).inputs["rules"]}
    for version, ip_set in sets.items():
        rule = rules[f"blocked-ipv{version[-1]}"]
        assert rule["action"] == {"block": {}}
        assert rule["statement"] == {"ipSetReferenceStatement": {
            "arn": state[("aws:wafv2/ipSet:IpSet", ip_set.name)]["arn"]}}
        assert ":global/ipset/" in rule["statement"]["ipSetReferenceStatement"]["arn"]


def test_count_mode_makes_every_rule_count_only_and_no_ip_set_without_a_block_list(dev):
    plan, _ = dev
    rules = one(plan, WAF).inputs["rules"]
    assert plan.of_type("aws:wafv2/ipSet:IpSet") == []
    assert len(rules) == 4
    for rule in rules:
        assert rule.get("overrideAction", rule.get("action")) == {"count": {}}, rule["name"]
    assert one(plan, "aws:cloudwatch/metricAlarm:MetricAlarm", "test-api-edge-waf-counted").inputs["metricName"] == \
        "CountedRequests"


def test_waf_logs_go_to_an_aws_waf_logs_group_in_us_east_1_with_authorization_redacted(prod):
    plan, state = prod
    group = one(plan, "aws:cloudwatch/logGroup:LogGroup")
    assert group.inputs["name"] == "aws-waf-logs-test-api-edge" and group.provider.startswith(us_east_1_provider(plan))
    logging = one(plan, "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration").inputs
    assert logging["resourceArn"] == state[(WAF, "test-api-edge")]["arn"]
    assert logging["logDestinationConfigs"] == [state[("aws:cloudwatch/logGroup:LogGroup", group.name)]["arn"]]
    assert {"singleHeader": {"name": "authorization"}} in logging["redactedFields"]
    assert {"singleHeader": {"name": "cookie"}} in logging["redactedFields"]
    [grant] = json.loads(one(plan, "aws:cloudwatch/logResourcePolicy:LogResourcePolicy").inputs["policyDocument"])[
        "Statement"]
    assert grant["Principal"] == {"Service": "delivery.logs.amazonaws.com"}
    assert grant["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}


def test_the_distribution_uses_the_web_acl_and_sends_the_origin_secret_to_the_api_host_over_tls(prod):
    plan, state = prod
    distribution = one(plan, DISTRIBUTION).inputs
    assert distribution["webAclId"] == state[(WAF, "test-api-edge")]["arn"]
    assert distribution["origins"] == SECRET  # the header's value is a Pulumi secret: the plan never shows it
    [origin] = state[(DISTRIBUTION, "test-api-edge")]["origins"]["value"]  # what the engine was sent (wrapped)
    assert origin["domainName"] == API_HOST
    assert origin["customOriginConfig"]["originProtocolPolicy"] == "https-only"
    assert origin["customOriginConfig"]["originSslProtocols"] == ["TLSv1.2"]
    password = state[("random:index/randomPassword:RandomPassword", "test-api-edge-origin-secret")]["result"]
    assert len(password) == 48
    [read] = [c for c in monitor_calls(prod) if c["token"] == "aws:secretsmanager/getSecretVersion:getSecretVersion"]
    secret_arn = state[("aws:secretsmanager/secret:Secret", "test-api-edge-origin-secret")]["arn"]
    assert (read["args"]["secretId"], read["args"]["versionStage"]) == (secret_arn, "AWSCURRENT")
    assert origin["customHeaders"] == [{"name": contract.ORIGIN_SECRET_HEADER, "value": read["secretString"]}]
    secret = one(plan, "aws:secretsmanager/secret:Secret").inputs
    assert secret["name"] == contract.origin_secret_name("test")
    assert one(plan, "aws:secretsmanager/secretVersion:SecretVersion").inputs["secretString"] == SECRET
    assert state[("aws:secretsmanager/secretVersion:SecretVersion", "test-api-edge-origin-secret")][
        "secretString"]["value"] == password
    assert password not in json.dumps(plan.to_json()) and read["secretString"] not in json.dumps(plan.to_json())
    assert plan.outputs["origin_secret_arn"].startswith(
        f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:{contract.origin_secret_name('test')}-")


def test_a_second_plan_is_identical(prod):
    again, _ = plan_edge(PROD)
    assert json.dumps(again.to_json(), sort_keys=True) == json.dumps(prod[0].to_json(), sort_keys=True)


def test_nothing_is_cached_but_the_public_paths_which_get_a_short_ttl(prod):
    plan, state = prod
    distribution = one(plan, DISTRIBUTION).inputs
    default = distribution["defaultCacheBehavior"]
    assert default["cachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # CachingDisabled
    assert default["originRequestPolicyId"] == "b689b0a8-53d0-40ab-baf2-68738e2966ac"  # AllViewerExceptHostHeader
    assert default["viewerProtocolPolicy"] == "redirect-to-https"
    assert set(default["allowedMethods"]) == {"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"}
    public = one(plan, "aws:cloudfront/cachePolicy:CachePolicy")
    assert (public.inputs["defaultTtl"], public.inputs["maxTtl"]) == (60, 60)
    cached = {b["pathPattern"]: b for b in distribution["orderedCacheBehaviors"]}
    assert set(cached) == {"/public", "/public/*"}
    assert all(b["cachePolicyId"] == state[("aws:cloudfront/cachePolicy:CachePolicy", public.name)]["id"]
               and b["allowedMethods"] == ["GET", "HEAD", "OPTIONS"] for b in cached.values())


def test_geo_restriction_certificate_in_us_east_1_and_aliases_with_a_domain(prod, dev):
    plan, _ = prod
    distribution = one(plan, DISTRIBUTION).inputs
    assert distribution["restrictions"] == {"geoRestriction": {"restrictionType": "blacklist",
                                                               "locations": ["KP", "IR"]}}
    assert distribution["aliases"] == ["api.example.com"]
    assert distribution["viewerCertificate"]["minimumProtocolVersion"] == "TLSv1.2_2021"
    certificate = one(plan, "aws:acm/certificate:Certificate")
    assert certificate.inputs["domainName"] == "api.example.com"
    assert certificate.provider.startswith(us_east_1_provider(plan))
    records = {(r.inputs["name"], r.inputs["type"]) for r in plan.of_type("aws:route53/record:Record")
               if r.inputs.get("aliases")}
    assert records == {("api.example.com", "A"), ("api.example.com", "AAAA")}
    assert plan.outputs["url"] == "https://api.example.com"
    dev_plan, _ = dev
    dev_distribution = one(dev_plan, DISTRIBUTION).inputs
    assert dev_distribution["viewerCertificate"] == {"cloudfrontDefaultCertificate": True}
    assert dev_distribution["restrictions"]["geoRestriction"]["restrictionType"] == "none"
    assert dev_plan.of_type("aws:acm/certificate:Certificate") == []


def test_alarms_on_blocked_requests_and_5xx_rate_live_in_us_east_1_and_notify_the_topic(prod):
    plan, _ = prod
    found = {a.name: a for a in plan.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert set(found) == {"test-api-edge-waf-blocked", "test-api-edge-5xx-rate"}
    blocked = found["test-api-edge-waf-blocked"].inputs
    assert (blocked["namespace"], blocked["metricName"], blocked["threshold"]) == ("AWS/WAFV2", "BlockedRequests", 100)
    assert blocked["dimensions"] == {"WebACL": "test-api-edge", "Rule": "ALL"}
    assert all(a.inputs["alarmActions"] == [TOPIC] and a.provider.startswith(us_east_1_provider(plan))
               for a in found.values())
    assert check_plan(plan).mandatory == []


@pytest.mark.parametrize("settings, key, allowed", [
    ({"mode": "detect"}, "mode", "one of"),
    ({"rate_limit": 5}, "rate_limit", "10"),
    ({"blocked_cidrs": ["203.0.113.7/24"]}, "blocked_cidrs", "canonical form"),
    ({"blocked_cidrs": ["not-an-ip"]}, "blocked_cidrs", "a CIDR block"),
    ({"geo_restriction": "allow"}, "geo_countries", "one or more codes with allow or deny"),
    ({"geo_countries": ["DE"]}, "geo_countries", "empty with geo_restriction none"),
    ({"geo_restriction": "deny", "geo_countries": ["de"]}, "geo_countries", "ISO 3166-1"),
    ({"geo_restriction": "some"}, "geo_restriction", "one of"),
    ({"domain": "api.example.com"}, "zone_id", "set, since the other"),
    ({"price_class": "PriceClass_50"}, "price_class", "one of"),
    ({"waf_log_days": 10}, "waf_log_days", "the periods CloudWatch Logs accepts"),
    ({"secret_recovery_days": 3}, "secret_recovery_days", "one of"),
    ({"public_ttl_seconds": 0}, "public_ttl_seconds", "1"),
    ({"ttl": 5}, "ttl", "unknown setting"),
])
def test_bad_config_is_refused_naming_its_key_before_any_resource(settings, key, allowed):
    monitor = RecordingMonitor(ProviderMocks())
    with pytest.raises(ConfigError) as error:
        plan_edge(settings, monitor=monitor)
    assert str(error.value).startswith(f"cloud-patterns:api_edge.{key}:") and allowed in str(error.value)
    assert [r for r in monitor.recorded if r.custom and r.type != "pulumi:pulumi:StackReference"] == []
