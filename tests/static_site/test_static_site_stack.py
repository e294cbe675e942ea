"""The static-site stack under the mock engine: a private bucket read only by its distribution through OAC, the
certificate through the us-east-1 provider with its validation records, alias records that never overwrite,
the function as the runtime file, TTLs, headers, access logs and alarms; config errors before any resource."""
from __future__ import annotations

import json

import pytest

from planning.mocks import ProviderMocks
from planning.offline import RecordingMonitor
from policies.evaluate import check_plan
from programs.common import ConfigError
from runtime.static_site import contract
from tests.conftest import run_program

ACCOUNT = "123456789012"
TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:test-alerts"
APEX = {"domain": "example.com", "zone_id": "Z0123456789EXAMPLE", "access_logs": True}


def plan_site(settings: dict | None = None, region: str = "us-east-1", topic: str = TOPIC):
    """The program's plan and what the mock engine answered for each resource (ids and outputs), by name."""
    monitor = RecordingMonitor(ProviderMocks(region=region))
    plan = run_program("static-site", {"static_site": settings or {}}, upstream={"alerts": "test-alerts"},
                       upstream_outputs={"test-alerts": {"topic_arn": topic}}, region=region, monitor=monitor)
    state = {(urn.split("::")[-2].split("$")[-1], urn.split("::")[-1]): (r.id, r.state)
             for urn, r in monitor.resources.items()}
    return plan, state


def one(plan, type_token, name=None):
    found = [r for r in plan.of_type(type_token) if name is None or r.name == name]
    assert len(found) == 1, [r.name for r in found]
    return found[0]


@pytest.fixture(scope="module")
def dev():
    return plan_site({"default_ttl_seconds": 0, "force_destroy": True})


@pytest.fixture(scope="module")
def prod():
    return plan_site(APEX, region="eu-west-1")


def test_the_bucket_is_private_and_only_this_distribution_may_read_its_objects(dev):
    plan, state = dev
    block = one(plan, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    assert all(block[flag] for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                        "restrictPublicBuckets"))
    assert one(plan, "aws:s3/bucketOwnershipControls:BucketOwnershipControls").inputs["rule"] == {
        "objectOwnership": "BucketOwnerEnforced"}
    deny, read = json.loads(one(plan, "aws:s3/bucketPolicy:BucketPolicy").inputs["policy"])["Statement"]
    bucket = f"arn:aws:s3:::{plan.outputs['bucket']}"
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert read == {"Sid": "ThisDistributionReadsObjects", "Effect": "Allow", "Action": "s3:GetObject",
                    "Resource": f"{bucket}/*", "Principal": {"Service": "cloudfront.amazonaws.com"},
                    "Condition": {"StringEquals": {"AWS:SourceArn": state[(
                        "aws:cloudfront/distribution:Distribution", "test-static-site")][1]["arn"]}}}
    assert read["Condition"]["StringEquals"]["AWS:SourceArn"] == \
        f"arn:aws:cloudfront::{ACCOUNT}:distribution/{plan.outputs['distribution_id']}"


def test_the_distribution_reads_the_bucket_through_origin_access_control_not_a_website_endpoint(dev):
    plan, state = dev
    oac = one(plan, "aws:cloudfront/originAccessControl:OriginAccessControl").inputs
    assert (oac["originAccessControlOriginType"], oac["signingBehavior"], oac["signingProtocol"]) == \
        ("s3", "always", "sigv4")
    [origin] = one(plan, "aws:cloudfront/distribution:Distribution").inputs["origins"]
    oac_id = state[("aws:cloudfront/originAccessControl:OriginAccessControl", "test-static-site")][0]
    assert origin == {"originId": "site-bucket", "originAccessControlId": oac_id,
                      "domainName": f"{plan.outputs['bucket']}.s3.us-east-1.amazonaws.com"}  # no s3OriginConfig (OAI)


def test_viewers_get_https_http2_and_3_compression_security_headers_and_the_404_page(dev):
    plan, _ = dev
    distribution = one(plan, "aws:cloudfront/distribution:Distribution").inputs
    behavior = distribution["defaultCacheBehavior"]
    assert (behavior["viewerProtocolPolicy"], behavior["compress"], behavior["allowedMethods"]) == \
        ("redirect-to-https", True, ["GET", "HEAD"])
    assert behavior["responseHeadersPolicyId"] == "67f7725c-6f97-4210-82d7-5512b31e9d03"  # Managed-SecurityHeaders
    assert (distribution["httpVersion"], distribution["isIpv6Enabled"], distribution["priceClass"]) == \
        ("http2and3", True, "PriceClass_100")
    assert distribution["customErrorResponses"] == [
        {"errorCode": code, "responseCode": 404, "responsePagePath": "/404.html", "errorCachingMinTtl": 0}
        for code in (403, 404)]
    assert distribution["viewerCertificate"] == {"cloudfrontDefaultCertificate": True}
    assert "aliases" not in distribution and plan.of_type("aws:route53/record:Record") == []
    assert plan.outputs["url"] == f"https://{plan.outputs['distribution_domain_name']}/"


def test_the_function_is_the_runtime_file_on_viewer_request(dev, prod):
    for (plan, state), apex in ((dev, None), (prod, "example.com")):
        function = one(plan, "aws:cloudfront/function:Function").inputs
        assert (function["runtime"], function["publish"]) == ("cloudfront-js-2.0", True)
        assert function["code"] == contract.function_code(apex)
        [association] = one(plan, "aws:cloudfront/distribution:Distribution").inputs["defaultCacheBehavior"][
            "functionAssociations"]
        function_arn = state[("aws:cloudfront/function:Function", "test-static-site-viewer-request")][1]["arn"]
        assert association == {"eventType": "viewer-request", "functionArn": function_arn}
        assert function_arn.startswith(f"arn:aws:cloudfront::{ACCOUNT}:function/")


def test_ttls_come_from_config_and_only_the_path_is_the_cache_key(dev, prod):
    for (plan, _), ttl in ((dev, 0), (prod, 300)):
        policy = one(plan, "aws:cloudfront/cachePolicy:CachePolicy").inputs
        assert (policy["minTtl"], policy["defaultTtl"], policy["maxTtl"]) == \
            (0, ttl, contract.IMMUTABLE_MAX_AGE_SECONDS)
        key = policy["parametersInCacheKeyAndForwardedToOrigin"]
        assert (key["cookiesConfig"], key["headersConfig"], key["queryStringsConfig"]) == (
            {"cookieBehavior": "none"}, {"headerBehavior": "none"}, {"queryStringBehavior": "none"})
        assert key["enableAcceptEncodingGzip"] and key["enableAcceptEncodingBrotli"]
        assert plan.outputs[contract.OUTPUT_HTML_MAX_AGE] == ttl


def test_the_certificate_is_made_through_the_us_east_1_provider_in_any_stack_region(prod):
    plan, state = prod
    provider = one(plan, "pulumi:providers:aws")
    assert provider.inputs["region"] == "us-east-1"
    certificate = one(plan, "aws:acm/certificate:Certificate").inputs
    assert (certificate["domainName"], certificate["subjectAlternativeNames"], certificate["validationMethod"]) == \
        ("example.com", ["www.example.com"], "DNS")
    assert plan.outputs["certificate_arn"].startswith(f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/")
    assert plan.outputs["bucket"] in one(plan, "aws:cloudfront/distribution:Distribution").inputs["origins"][0][
        "domainName"] and ".s3.eu-west-1." in plan.outputs["url"] + one(
        plan, "aws:cloudfront/distribution:Distribution").inputs["origins"][0]["domainName"]
    viewer = one(plan, "aws:cloudfront/distribution:Distribution").inputs["viewerCertificate"]
    assert viewer == {"acmCertificateArn": plan.outputs["certificate_arn"], "sslSupportMethod": "sni-only",
                      "minimumProtocolVersion": "TLSv1.2_2021"}


def test_validation_records_are_the_ones_acm_asked_for_and_never_overwrite(prod):
    plan, state = prod
    options = state[("aws:acm/certificate:Certificate", "test-static-site-certificate")][1]["domainValidationOptions"]
    records = [one(plan, "aws:route53/record:Record", f"test-static-site-certificate-validation-{host}").inputs
               for host in ("example.com", "www.example.com")]
    asked = {(o["resourceRecordName"], o["resourceRecordValue"]) for o in options}
    assert {(r["name"], r["records"][0]) for r in records} == asked
    assert all((r["type"], r["zoneId"], r["allowOverwrite"]) == ("CNAME", "Z0123456789EXAMPLE", False)
               for r in records)
    validation = one(plan, "aws:acm/certificateValidation:CertificateValidation").inputs
    assert sorted(validation["validationRecordFqdns"]) == sorted(r["name"].rstrip(".") for r in records)


def test_the_apex_and_www_get_a_and_aaaa_aliases_that_never_overwrite(prod):
    plan, _ = prod
    distribution = one(plan, "aws:cloudfront/distribution:Distribution").inputs
    assert distribution["aliases"] == ["example.com", "www.example.com"]
    aliases = {(r.inputs["name"], r.inputs["type"]): r.inputs for r in plan.of_type("aws:route53/record:Record")
               if "aliases" in r.inputs}
    assert set(aliases) == {(h, t) for h in ("example.com", "www.example.com") for t in ("A", "AAAA")}
    for record in aliases.values():
        assert record["allowOverwrite"] is False and record["zoneId"] == "Z0123456789EXAMPLE"
        assert record["aliases"] == [{"name": plan.outputs["distribution_domain_name"], "zoneId": "Z2FDTNDATAQYW2",
                                      "evaluateTargetHealth": False}]


def test_a_subdomain_site_has_no_www_and_an_apex_elsewhere_can_ask_for_it():
    plan, _ = plan_site({"domain": "my-site.example.com", "zone_id": "Z0123456789EXAMPLE"})
    assert plan.outputs["aliases"] == ["my-site.example.com"]
    assert "subjectAlternativeNames" not in one(plan, "aws:acm/certificate:Certificate").inputs
    assert len(plan.of_type("aws:route53/record:Record")) == 3  # one validation CNAME, A, AAAA
    assert one(plan, "aws:cloudfront/function:Function").inputs["code"] == contract.function_code(None)
    plan, _ = plan_site({"domain": "example.co.uk", "zone_id": "Z0123456789EXAMPLE", "redirect_www": True})
    assert plan.outputs["aliases"] == ["example.co.uk", "www.example.co.uk"]
    assert one(plan, "aws:cloudfront/function:Function").inputs["code"] == contract.function_code("example.co.uk")


def test_access_logs_go_from_us_east_1_to_a_private_bucket_only_this_delivery_writes(prod):
    plan, state = prod
    source = one(plan, "aws:cloudwatch/logDeliverySource:LogDeliverySource")
    source_arn = state[(source.type, source.name)][1]["arn"]
    assert source_arn.startswith(f"arn:aws:logs:us-east-1:{ACCOUNT}:delivery-source:")
    distribution = plan.outputs["distribution_id"]
    assert source.inputs["resourceArn"] == f"arn:aws:cloudfront::{ACCOUNT}:distribution/{distribution}"
    logs = f"arn:aws:s3:::{plan.outputs['log_bucket']}"
    destination = one(plan, "aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination").inputs
    assert destination["deliveryDestinationConfiguration"] == {"destinationResourceArn": logs}
    policy = one(plan, "aws:s3/bucketPolicy:BucketPolicy", "test-static-site-logs").inputs["policy"]
    write = {s["Sid"]: s for s in json.loads(policy)["Statement"]}["LogDeliveryWrite"]
    assert write["Resource"] == f"{logs}/AWSLogs/{ACCOUNT}/*"
    assert write["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT,
                                                   "s3:x-amz-acl": "bucket-owner-full-control"},
                                  "ArnLike": {"aws:SourceArn": source_arn}}
    rules = one(plan, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
                "test-static-site-logs").inputs["rules"]
    assert {"id": "expire", "status": "Enabled", "filter": {"prefix": ""}, "expiration": {"days": 90}} in rules


def test_alarms_watch_5xx_and_the_function_in_us_east_1_and_notify_the_topic(prod):
    plan, state = prod
    alarms = {a.name: a.inputs for a in plan.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert set(alarms) == {f"test-static-site-{n}" for n in ("5xx-rate", "function-errors", "function-invalid")}
    rate = alarms["test-static-site-5xx-rate"]
    assert (rate["namespace"], rate["metricName"], rate["threshold"], rate["statistic"]) == \
        ("AWS/CloudFront", "5xxErrorRate", 5, "Average")
    assert rate["dimensions"] == {"DistributionId": plan.outputs["distribution_id"], "Region": "Global"}
    for name, alarm in alarms.items():
        assert alarm["alarmActions"] == [TOPIC] and alarm["okActions"] == [TOPIC]
        arn = state[("aws:cloudwatch/metricAlarm:MetricAlarm", name)][1]["arn"]
        assert arn.startswith("arn:aws:cloudwatch:us-east-1:")


@pytest.mark.parametrize(("settings", "key", "allowed"), [
    ({"domain": "example.com"}, "zone_id", "set, since the other of domain and zone_id is"),
    ({"zone_id": "Z0123456789EXAMPLE"}, "domain", "set, since the other"),
    ({"redirect_www": True}, "redirect_www", "false or null without a domain"),
    ({"domain": "www.example.com", "zone_id": "Z0123456789EXAMPLE", "redirect_www": True}, "redirect_www",
     "a www. name itself"),
    ({"domain": "Example.COM", "zone_id": "Z0123456789EXAMPLE"}, "domain", "a lower-case host name"),
    ({"domain": "example.com", "zone_id": "zone-1"}, "zone_id", "a Route 53 hosted zone id"),
    ({"site_dir": "sites/no-such-site"}, "site_dir", "holding index.html and 404.html"),
    ({"default_ttl": 300}, "default_ttl", "unknown setting; allowed: access_log_days"),
])
def test_bad_config_is_refused_naming_its_key_before_any_resource(settings, key, allowed):
    monitor = RecordingMonitor(ProviderMocks())
    with pytest.raises(ConfigError) as error:
        run_program("static-site", {"static_site": settings}, upstream={"alerts": "test-alerts"},
                    upstream_outputs={"test-alerts": {"topic_arn": TOPIC}}, monitor=monitor)
    assert str(error.value).startswith(f"cloud-patterns:static_site.{key}:") and allowed in str(error.value)
    assert [r for r in monitor.recorded if r.custom and r.type != "pulumi:pulumi:StackReference"] == []


def test_the_policy_pack_refuses_an_alerts_topic_outside_us_east_1_before_deployment():
    plan, _ = plan_site(topic=f"arn:aws:sns:eu-west-1:{ACCOUNT}:test-alerts", region="eu-west-1")
    found = {(v.policy, v.resource_name) for v in check_plan(plan).mandatory}
    assert found == {("alarm-topic-same-region", f"test-static-site-{n}")
                     for n in ("5xx-rate", "function-errors", "function-invalid")}
    clean, _ = plan_site(APEX)
    assert check_plan(clean).mandatory == []
