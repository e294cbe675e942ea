"""Stack ``<env>-auth-sidecar``: a demo app behind an ALB + Cognito sign-in (``CognitoFront``), with the identity
checked again inside the task by an auth sidecar (``SidecarAssembly``).

One task, three containers: ``auth-front`` (nginx, the only one the load balancer reaches) asks ``auth-sidecar``
to validate the ALB's signed identity token (nginx auth_request) and passes the identity on to ``app``; names,
ports, commands and environments come from the three contracts. Reads the ``network`` and ``alerts`` stacks.
Google sign-in: ``pulumi config set --secret google_client_id ...`` and ``google_client_secret``.
"""
from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.args import Args, Boolean, Custom, InvalidArgument, MappingOf, OneOf, Port, Whole, required, setting
from components.cognito_front import CognitoFront, CognitoFrontArgs
from components.container_image import ContainerImage, ContainerImageArgs
from components.dashboard import OUTPUT, metric_graph, widgets
from components.fargate_task import ContainerSpec
from components.sidecar_assembly import SidecarAssembly, SidecarAssemblyArgs
from programs.common import Section, config, environment, require_app_port, task_placement, upstream
from runtime.auth_demo_app import contract as demo
from runtime.auth_front import contract as front
from runtime.auth_sidecar import contract as sidecar

APPS = (demo, sidecar, front)
SIZES = {demo.CONTAINER: {"cpu": 256, "memory_mb": 512}, sidecar.CONTAINER: {"cpu": 128, "memory_mb": 256},
         front.CONTAINER: {"cpu": 128, "memory_mb": 256}}


def _domains(value: object) -> bool:
    return isinstance(value, list) and bool(sidecar.parse_domains(value))


@dataclass(frozen=True)
class AuthSidecarSettings(Args):
    valid_domains: list[str] = required(Custom(_domains, 'a list of e-mail domains, or ["*"] (any signed-in user)',
                                               ([], "example.com", ["*", "example.com"])),
                                        "Domains whose users may pass: the e-mail's, and with Google sign-in the "
                                        "Workspace's (hd) as well.")
    auth_required: bool = setting(True, Boolean(), "false: a soft launch; requests without a valid identity pass, "
                                                   "without identity headers.")
    port: int = setting(front.PORT, Port(), "The port nginx (auth-front) listens on and the load balancer targets: "
                                            "the network's app_port.")
    containers: dict = setting(SIZES, MappingOf(MappingOf(Whole(1, 122880), OneOf("cpu", "memory_mb")),
                                                OneOf(*SIZES)),
                               "cpu and memory_mb reserved per container; together they must fit the task.")
    decision_cache_seconds: int = setting(30, Whole(*sidecar.DECISION_CACHE_SECONDS, "seconds"),
                                          "How long nginx and the sidecar reuse an allowed identity for the same "
                                          "token (never past its exp); 0: every request is validated.")
    key_cache_seconds: int = setting(300, Whole(*sidecar.KEY_CACHE_SECONDS, "seconds"),
                                     "How long a signing key is trusted before it is fetched again: a key the ALB "
                                     "key endpoint stops serving admits no token after this.")

    def check(self) -> None:
        if self.port in (sidecar.PORT, demo.PORT):
            raise InvalidArgument("port", self.port, f"a port other than {sidecar.PORT} and {demo.PORT} (the "
                                                     "sidecar's and the app's, inside the task)")

    def size(self, container: str) -> dict[str, int]:
        return {**SIZES[container], **self.containers.get(container, {})}


FRONT = Section("auth_front", CognitoFrontArgs, fixed=("target_port", "health_check_path"))
SIDECAR = Section("auth_sidecar", SidecarAssemblyArgs, own=AuthSidecarSettings)


def main() -> None:
    env, network, alerts = environment(), upstream("network"), upstream("alerts")
    placement, topic, service = task_placement(network), alerts.require_output("topic_arn"), f"{env}-auth-sidecar"
    settings = SIDECAR.own_settings()
    require_app_port(network, SIDECAR.name, "port", settings.port)
    front_args = FRONT.load(
        vpc_id=network.require_output("vpc_id"), subnet_ids=network.require_output("public_subnet_ids"),
        security_group_ids=[network.require_output("load_balancer_security_group_id")], target_port=settings.port,
        health_check_path=front.HEALTH_PATH, google_client_id=config().get_secret("google_client_id"),
        google_client_secret=config().get_secret("google_client_secret"), token_claims=sidecar.CLAIMS,
        hosted_domain_claim=sidecar.HOSTED_DOMAIN_CLAIM, alarm_topic_arn=topic)
    wiring = dict(subnet_ids=placement.subnet_ids, security_group_ids=[placement.security_group_id],
                  assign_public_ip=placement.assign_public_ip, alarm_topic_arn=topic)
    # The task's checks (sizes that fit, start order) before any resource exists.
    SIDECAR.load(**_task(settings, dict.fromkeys(SIZES, ""), "", service), target_group_arn="", **wiring)

    web = CognitoFront(f"{env}-auth", front_args)
    images = {app.CONTAINER: ContainerImage(f"{env}-{app.IMAGE}", ContainerImageArgs(
        dockerfile=app.DOCKERFILE, force_delete=env == "dev")) for app in APPS}
    assembly = SidecarAssembly(service, SIDECAR.load(
        **_task(settings, {name: image.image_ref for name, image in images.items()}, web.web.load_balancer.arn,
                service), target_group_arn=web.web.target_group.arn, wait_for=web.web.listeners,
        image_repository_arns=[image.repository.arn for image in images.values()], **wiring))

    pulumi.export("url", web.url)
    pulumi.export("load_balancer_dns_name", web.web.load_balancer.dns_name)
    pulumi.export("load_balancer_arn", web.web.load_balancer.arn)
    pulumi.export("user_pool_id", web.user_pool.id)
    pulumi.export("sign_in_domain", web.user_pool_domain.domain)
    pulumi.export("service_name", assembly.service.service.name)
    pulumi.export("log_group", assembly.task.log_group.name)
    pulumi.export(OUTPUT, widgets([*web.alarms, *assembly.alarms], rules=[(assembly.failed_tasks, "tasks stopped "
                  "with a failed container")], graphs=sidecar_graphs(service)))


def _task(settings: AuthSidecarSettings, images: dict, alb_arn: pulumi.Input[str], service: str) -> dict:
    """The app, with the auth sidecar and the nginx front as its sidecars; only the front has a port mapping."""
    def spec(app, **how) -> ContainerSpec:
        return ContainerSpec(app.CONTAINER, images[app.CONTAINER], **settings.size(app.CONTAINER), **how)

    checker = spec(sidecar, **sidecar.container(
        alb_arn=alb_arn, region=aws.get_region().region, valid_domains=settings.valid_domains,
        auth_required=settings.auth_required, decision_cache_seconds=settings.decision_cache_seconds,
        key_cache_seconds=settings.key_cache_seconds, metrics_service=service))
    nginx = spec(front, **front.container(settings.port, sidecar.ADDRESS, demo.ADDRESS),
                 depends_on={sidecar.CONTAINER: "HEALTHY", demo.CONTAINER: "HEALTHY"})
    return dict(main=spec(demo, **demo.container()), sidecars=[checker, nginx], ingress_container=front.CONTAINER)


def sidecar_graphs(service: str) -> list[pulumi.Output[dict]]:
    """The sidecar's awsjwtauth metrics: identities allowed and refused by reason, the signing-key fetch time
    (usually under 1 ms, near 100 ms when the ALB rotates its key), the key cache and restarts."""
    def metric(name: str, label: str, **options) -> list:
        return [sidecar.METRICS_NAMESPACE, name, sidecar.SERVICE_DIMENSION, service, {"label": label, **options}]

    refused = (f"SEARCH('{{{sidecar.METRICS_NAMESPACE},{sidecar.REASON_DIMENSION},{sidecar.SERVICE_DIMENSION}}} "
               f"MetricName=\"{sidecar.METRIC_REFUSED}\" {sidecar.SERVICE_DIMENSION}=\"{service}\"', 'Sum', 60)")
    fetch = sidecar.METRIC_KEY_FETCH_MS
    return [
        metric_graph("identities allowed, and refused by reason", [
            metric(sidecar.METRIC_ALLOWED, "allowed"), [{"expression": refused, "id": "refused", "label": ""}]]),
        metric_graph("signing-key fetch (ms)", [metric(fetch, "p50", stat="p50"), metric(fetch, "p99", stat="p99"),
                                                metric(fetch, "max", stat="Maximum")], stat="p99"),
        metric_graph("key cache and restarts", [metric(sidecar.METRIC_KEY_CACHE_HITS, "cache hits"),
                                                metric(sidecar.METRIC_KEY_CACHE_MISSES, "cache misses"),
                                                metric(sidecar.METRIC_RESTARTS, "restarts")]),
    ]
