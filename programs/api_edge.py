"""Stack ``<env>-api-edge``: the secure API's front door. CloudFront with a WAFv2 web ACL over the API of stack
``<env>-secure-api`` (upstream ``api``), and the origin secret the API's authorizer checks (``require_origin_secret``
in the secure API's settings), so requests that skip CloudFront are refused. Settings: ``cloud-patterns:api_edge``.
"""
from urllib.parse import urlparse

import pulumi

from components.api_front_door import ApiFrontDoor, ApiFrontDoorArgs
from components.dashboard import OUTPUT, widgets
from programs.common import Section, environment, upstream
from runtime.secure_api import contract

EDGE = Section("api_edge", ApiFrontDoorArgs)


def main() -> None:
    env = environment()
    public = sorted({p for key, access in contract.ROUTES.items() if access.public
                     for p in (key.split(" ", 1)[1], key.split(" ", 1)[1] + "/*")})
    args = EDGE.load(origin_domain_name=upstream("api").require_output("url").apply(lambda u: urlparse(u).hostname),
                     origin_secret_name=contract.origin_secret_name(env),
                     origin_secret_header=contract.ORIGIN_SECRET_HEADER, public_paths=public,
                     alarm_topic_arn=upstream("alerts").require_output("topic_arn"))
    edge = ApiFrontDoor(f"{env}-api-edge", args)
    pulumi.export("url", edge.url)
    pulumi.export("aliases", [args.domain] if args.domain else [])
    pulumi.export("distribution_id", edge.distribution.id)
    pulumi.export("distribution_domain_name", edge.distribution.domain_name)
    pulumi.export("web_acl_arn", edge.web_acl.arn)
    pulumi.export("waf_log_group", edge.waf_logs.name)
    pulumi.export("origin_secret_arn", edge.secret.arn)
    pulumi.export(OUTPUT, widgets(edge.alarms))
