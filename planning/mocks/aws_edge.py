"""Mock shapes: load balancers, API Gateway and Cognito."""
from __future__ import annotations

from planning.mocks import ACCOUNT_ID, ProviderMocks, autoname, digest, shape


@shape("aws:lb/loadBalancer:LoadBalancer")
def _load_balancer(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    lb = inputs.get("name") or f"{name[:24]}-{digest('lb', name, length=7)}"
    kind = "net" if inputs.get("loadBalancerType") == "network" else "app"
    suffix = f"{kind}/{lb}/{digest('lb', name, length=16)}"
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
    lb_kind = "net" if inputs.get("protocol") in ("TCP", "TLS", "UDP", "TCP_UDP") else "app"
    arn = m.arn("elasticloadbalancing", f"{kind}/{lb_kind}/{digest('lb', name, length=16)}/{digest(kind, name, length=16)}")
    return arn, {"arn": arn}


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
    return pool_id, {"arn": m.arn("cognito-idp", f"userpool/{pool_id}"), "name": autoname(name, inputs),
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
