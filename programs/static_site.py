"""Stack ``<env>-static-site``: a static website from a private bucket through CloudFront, over HTTPS only.

Settings: ``cloud-patterns:static_site``. The stack makes the bucket, the distribution, its function and (with a
domain) the certificate and DNS records; the content is synced by ``python -m runtime.static_site.upload
--outputs <the stack's outputs as JSON>``, which reads the bucket, distribution and TTL exported here.
"""
from dataclasses import dataclass

import pulumi

from components.args import Args, Custom, setting
from components.dashboard import OUTPUT, widgets
from components.static_site import StaticSite, StaticSiteArgs
from programs.common import Section, environment, upstream
from runtime.static_site import contract


@dataclass(frozen=True)
class SiteContent(Args):
    site_dir: str = setting(contract.DEFAULT_SITE_DIR, Custom(
        lambda d: isinstance(d, str) and contract.site_dir_problem(d) is None,
        f"a directory (of the project, or absolute) holding {contract.INDEX_DOCUMENT} and {contract.NOT_FOUND_PAGE}",
        ("no/such/directory", 12)), "The directory the upload tool syncs to the bucket.")


SITE = Section("static_site", StaticSiteArgs, own=SiteContent)


def main() -> None:
    content = SITE.own_settings()
    args = SITE.load(viewer_request_code=contract.function_code,
                     alarm_topic_arn=upstream("alerts").require_output("topic_arn"),
                     index_document=contract.INDEX_DOCUMENT, not_found_page=contract.NOT_FOUND_PAGE,
                     max_ttl_seconds=contract.IMMUTABLE_MAX_AGE_SECONDS)
    site = StaticSite(f"{environment()}-static-site", args)
    pulumi.export("url", site.url)
    pulumi.export("aliases", args.aliases)
    pulumi.export(contract.OUTPUT_BUCKET, site.bucket.bucket)
    pulumi.export(contract.OUTPUT_DISTRIBUTION_ID, site.distribution.id)
    pulumi.export(contract.OUTPUT_HTML_MAX_AGE, args.default_ttl_seconds)
    pulumi.export(contract.OUTPUT_SITE_DIR, content.site_dir)
    pulumi.export("distribution_domain_name", site.distribution.domain_name)
    pulumi.export("certificate_arn", site.certificate.arn if site.certificate else None)
    pulumi.export("log_bucket", site.log_bucket.bucket if site.log_bucket else None)
    pulumi.export(OUTPUT, widgets(site.alarms))
