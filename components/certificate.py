"""Certificate: a public ACM certificate for a CloudFront distribution, validated through Route 53; and the
alias records that point names at the distribution.

CloudFront takes certificates from us-east-1 only, whatever the stack's region, so the certificate and its
validation are made through an explicit us-east-1 provider (``us_east_1``; pass one to share it). An explicit
provider reads no ``aws:*`` stack config, so the stack's ``aws:profile`` is handed on; other provider settings
(assumed roles, default tags) must be given to the provider passed in.

Route 53 records never overwrite one that exists (``allow_overwrite=False``): a name already in use, or a
validation CNAME left by another certificate, stops the deployment instead of being taken over. Import the
record into the stack to manage it (``pulumi import aws:route53/record:Record <name> <zone>_<name>_<type>``).
Route 53 is global: the validation records, children of the certificate, go through its provider; alias
records through the caller's.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from components.args import Args, InvalidArgument, ListOf, OneOf, Text, required, setting, wiring

CERTIFICATE_REGION = "us-east-1"
HOST_NAME = r"(?=.{1,253}$)(?:(?!-)[a-z0-9-]{1,63}(?<!-)\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]"
HOST_NAME_TEXT = "a lower-case host name such as example.com or my-site.example.com"
ZONE_ID = r"Z[A-Z0-9]{4,31}"
ZONE_ID_TEXT = "a Route 53 hosted zone id such as Z0123456789EXAMPLE"
VALIDATION_TTL_SECONDS = 300


def us_east_1(name: str, parent: pulumi.Resource) -> aws.Provider:
    """The provider CloudFront's certificates (and its metrics' alarms and log deliveries) are made through."""
    return aws.Provider(f"{name}-{CERTIFICATE_REGION}", region=CERTIFICATE_REGION, profile=aws.config.profile,
                        opts=pulumi.ResourceOptions(parent=parent))


@dataclass(frozen=True)
class CertificateArgs(Args):
    domain_name: str = required(Text(HOST_NAME, HOST_NAME_TEXT), "The name the certificate is for.")
    zone_id: str = required(Text(ZONE_ID, ZONE_ID_TEXT),
                            "The public hosted zone the names are in; the validation records are written there.")
    alternative_names: Sequence[str] = setting([], ListOf(Text(HOST_NAME, HOST_NAME_TEXT)),
                                               "Other names the certificate covers (www.example.com).")
    key_algorithm: str = setting("RSA_2048", OneOf("RSA_2048", "EC_prime256v1"),
                                 "RSA_2048 works with every client; EC_prime256v1 is smaller and faster.")
    provider: Optional[aws.Provider] = wiring("A us-east-1 provider; one is made when none is given.", default=None)

    def check(self) -> None:
        object.__setattr__(self, "alternative_names", tuple(self.alternative_names))
        if self.domain_name in self.alternative_names:
            raise InvalidArgument("alternative_names", list(self.alternative_names),
                                  f"names other than the domain name {self.domain_name}")

    @property
    def names(self) -> list[str]:
        return [self.domain_name, *self.alternative_names]


class Certificate(pulumi.ComponentResource):
    """The certificate, one validation CNAME per name, and the validation that waits until ACM has issued it.

    ``arn`` resolves only once the certificate is issued: a distribution given it waits for that."""

    provider: aws.Provider
    certificate: aws.acm.Certificate
    validation_records: list[aws.route53.Record]
    validation: aws.acm.CertificateValidation
    arn: pulumi.Output[str]

    def __init__(self, name: str, args: CertificateArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("cloud-patterns:edge:Certificate", name, None, opts)
        self.provider = args.provider or us_east_1(name, self)
        in_us_east_1 = pulumi.ResourceOptions(parent=self, provider=self.provider)
        self.certificate = aws.acm.Certificate(
            name, domain_name=args.domain_name, subject_alternative_names=list(args.alternative_names) or None,
            validation_method="DNS", key_algorithm=args.key_algorithm, opts=in_us_east_1)
        self.validation_records = [self._validation_record(name, args.zone_id, host) for host in args.names]
        self.validation = aws.acm.CertificateValidation(
            name, certificate_arn=self.certificate.arn,
            validation_record_fqdns=[record.fqdn for record in self.validation_records], opts=in_us_east_1)
        self.arn = self.validation.certificate_arn
        self.register_outputs({"certificate_arn": self.arn})

    def _validation_record(self, name: str, zone_id: str, host: str) -> aws.route53.Record:
        option = self.certificate.domain_validation_options.apply(lambda options: _option_for(options, host))
        return aws.route53.Record(
            f"{name}-validation-{host}", zone_id=zone_id, name=option.apply(lambda o: o.resource_record_name),
            type=option.apply(lambda o: o.resource_record_type),
            records=[option.apply(lambda o: o.resource_record_value)],
            ttl=VALIDATION_TTL_SECONDS, allow_overwrite=False, opts=pulumi.ResourceOptions(parent=self.certificate))


def _option_for(options: Sequence, host: str):
    """ACM lists the validation options as a set: find the one of ``host`` by name, never by position."""
    for option in options:
        if option.domain_name == host:
            return option
    raise ValueError(f"ACM returned no DNS validation option for {host}")


def alias_records(name: str, parent: pulumi.Resource, zone_id: pulumi.Input[str], hosts: Sequence[str],
                  target_domain_name: pulumi.Input[str], target_zone_id: pulumi.Input[str]
                  ) -> list[aws.route53.Record]:
    """A and AAAA alias records for each of ``hosts`` to a target (a CloudFront distribution's domain name and
    hosted zone), never overwriting a record that exists. Alias queries to CloudFront are free."""
    alias = aws.route53.RecordAliasArgs(name=target_domain_name, zone_id=target_zone_id,
                                        evaluate_target_health=False)  # CloudFront targets take only false
    return [aws.route53.Record(f"{name}-{host}-{kind.lower()}", zone_id=zone_id, name=host, type=kind,
                               aliases=[alias], allow_overwrite=False, opts=pulumi.ResourceOptions(parent=parent))
            for host in hosts for kind in ("A", "AAAA")]
