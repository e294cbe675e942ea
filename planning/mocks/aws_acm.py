"""Mock shapes: ACM certificates (DNS validated) and their validations.

A certificate's ARN carries the region of the provider that made it (CloudFront takes only us-east-1 ones);
``domainValidationOptions`` lists, for the domain and each alternative name, the CNAME ACM asks for.
"""
from __future__ import annotations

from planning.mocks import ProviderMocks, digest, shape


def validation_record(domain: str) -> dict:
    """The CNAME ACM asks for to prove control of ``domain`` (the same for a domain in one account)."""
    return {"domainName": domain, "resourceRecordName": f"_{digest('acm-name', domain, length=32)}.{domain}.",
            "resourceRecordType": "CNAME",
            "resourceRecordValue": f"_{digest('acm-value', domain, length=32)}."
                                   f"{digest('acm-zone', domain, length=10)}.acm-validations.aws."}


@shape("aws:acm/certificate:Certificate")
def _certificate(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    h = digest("certificate", name, length=32)
    arn = m.arn("acm", f"certificate/{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}")
    domain = str(inputs.get("domainName", ""))
    names = list(dict.fromkeys([domain, *(inputs.get("subjectAlternativeNames") or [])]))
    return arn, {"arn": arn, "region": m.region, "status": "PENDING_VALIDATION", "type": "AMAZON_ISSUED",
                 "keyAlgorithm": inputs.get("keyAlgorithm") or "RSA_2048", "subjectAlternativeNames": names,
                 "domainValidationOptions": [validation_record(n) for n in sorted(names)],
                 "renewalEligibility": "INELIGIBLE", "validationEmails": []}


@shape("aws:acm/certificateValidation:CertificateValidation")
def _certificate_validation(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    return "2026-01-01 00:00:00 +0000 UTC", {"region": m.region}


