"""The certificate building block on its own, as the API's CloudFront domain (issue 18) uses it: its own
us-east-1 provider when given none, validation records matched to ACM's options by name, and alias records."""
from __future__ import annotations

import pytest

from components.args import InvalidArgument
from components.certificate import Certificate, CertificateArgs, alias_records
from planning.mocks import ProviderMocks
from planning.offline import RecordingMonitor
from tests.conftest import run_components


def test_a_certificate_without_a_provider_makes_its_own_in_us_east_1_and_validates_every_name():
    made = {}

    def main():
        # The alternative name sorts before the domain: ACM's options come back in another order than asked.
        made["certificate"] = Certificate("api", CertificateArgs(
            domain_name="www2.example.com", zone_id="Z0123456789EXAMPLE", alternative_names=["alpha.example.com"]))
        alias_records("api", made["certificate"], "Z0123456789EXAMPLE", ["www2.example.com"],
                      "d111111abcdef8.cloudfront.net", "Z2FDTNDATAQYW2")

    monitor = RecordingMonitor(ProviderMocks(region="eu-central-1"))
    plan = run_components(main, monitor=monitor, config={"aws:region": "eu-central-1"})
    [provider] = plan.of_type("pulumi:providers:aws")
    assert (provider.name, provider.inputs["region"]) == ("api-us-east-1", "us-east-1")
    [certificate] = plan.of_type("aws:acm/certificate:Certificate")
    assert certificate.provider.startswith(provider.urn + "::")
    state = {(urn.split("::")[-2].split("$")[-1], urn.rsplit("::", 1)[-1]): r.state
             for urn, r in monitor.resources.items()}
    options = {o["domainName"]: o for o in state[(certificate.type, "api")]["domainValidationOptions"]}
    assert [o for o in options] == ["alpha.example.com", "www2.example.com"]
    for host in ("www2.example.com", "alpha.example.com"):
        record = state[("aws:route53/record:Record", f"api-validation-{host}")]
        assert (record["name"], record["records"]) == (options[host]["resourceRecordName"],
                                                       [options[host]["resourceRecordValue"]])
        assert record["allowOverwrite"] is False
    assert state[(certificate.type, "api")]["arn"].startswith("arn:aws:acm:us-east-1:")
    aliases = [r for r in plan.of_type("aws:route53/record:Record") if "aliases" in r.inputs]
    assert sorted((r.name, r.inputs["type"]) for r in aliases) == [("api-www2.example.com-a", "A"),
                                                                  ("api-www2.example.com-aaaa", "AAAA")]
    assert all(r.provider is None for r in aliases)  # the caller's provider: Route 53 is global


@pytest.mark.parametrize(("fields", "key"), [
    ({"domain_name": "example.com", "zone_id": "Z0123456789EXAMPLE", "alternative_names": ["example.com"]},
     "alternative_names"),
    ({"domain_name": "-bad-.example.com", "zone_id": "Z0123456789EXAMPLE"}, "domain_name"),
    ({"domain_name": "example.com", "zone_id": "/hostedzone/Z0123"}, "zone_id"),
])
def test_bad_names_are_refused(fields, key):
    with pytest.raises(InvalidArgument) as error:
        CertificateArgs(**fields)
    assert error.value.key == key
