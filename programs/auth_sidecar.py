"""Stack ``<env>-auth-sidecar``: a demo app behind an ALB + Cognito sign-in, with the identity checked
again inside the task by an auth sidecar.

One task, three containers: ``auth-front`` (nginx, the only one the load balancer reaches) asks
``auth-sidecar`` to validate the ALB's signed identity token on every request (nginx auth_request) and
passes the identity on to ``app``. Settings: ``cloud-patterns:auth_front`` (host name, certificate,
sign-in domain, session timeout) and ``cloud-patterns:auth_sidecar`` (allowed e-mail domains, sizes).
Google sign-in: ``pulumi config set --secret google_client_id ...`` and ``google_client_secret``.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components import validation
from components.cognito_front import CognitoFront, CognitoFrontArgs
from components.container_image import ContainerImage, ContainerImageArgs
from components.dashboard import OUTPUT, metric_graph, widgets
from components.fargate_task import ContainerSpec
from components.sidecar_assembly import SidecarAssembly, SidecarAssemblyArgs
from programs.common import config, environment, load_args, task_placement, upstream

FRONT_PORT, SIDECAR_PORT, APP_PORT = 8080, 9000, 8000  # FRONT_PORT: the port the network's app group admits
IMAGES = ("auth_demo_app", "auth_sidecar", "auth_front")
DEFAULT_SIZES = {"app": {"cpu": 256, "memory_mb": 512}, "auth-sidecar": {"cpu": 128, "memory_mb": 256},
                 "auth-front": {"cpu": 128, "memory_mb": 256}}


@dataclass(frozen=True)
class AuthSidecarSettings:
    valid_domains: Sequence[str]
    """E-mail domains whose users may pass (``["*"]``: any signed-in user)."""
    auth_required: bool = True
    """false: a soft launch; requests without a valid identity pass, without identity headers."""
    cpu: int = 512
    memory_mb: int = 1024
    containers: Mapping[str, Mapping[str, int]] = field(default_factory=lambda: DEFAULT_SIZES)
    """cpu and memory_mb reserved per container (app, auth-sidecar, auth-front); they must fit the task."""
    desired_count: int = 2
    log_retention_days: int = 30

    def __post_init__(self) -> None:
        if not self.valid_domains or not all(isinstance(d, str) and d.strip() for d in self.valid_domains):
            raise validation.InvalidArgument("valid_domains", self.valid_domains, 'a list of e-mail domains, or ["*"]')
        if not isinstance(self.auth_required, bool):
            raise validation.InvalidArgument("auth_required", self.auth_required, "true or false")
        validation.all_of("containers", self.containers, DEFAULT_SIZES)
        for name, size in self.containers.items():
            if not isinstance(size, Mapping):
                raise validation.InvalidArgument(f"containers.{name}", size, "a mapping with cpu and memory_mb")
            validation.all_of(f"containers.{name}", size, ("cpu", "memory_mb"))
        # The assembly's own checks (sizes that fit the task, start order), before any resource exists.
        assembly_args(self, dict.fromkeys(IMAGES, ""), alb_arn="", subnet_ids=[], security_group_ids=[])

    def size(self, container: str) -> dict[str, int]:
        return {**DEFAULT_SIZES[container], **self.containers.get(container, {})}


def main() -> None:
    env = environment()
    network = upstream("network")
    placement = task_placement(network)
    settings = load_args("auth_sidecar", AuthSidecarSettings)
    front = CognitoFront(f"{env}-auth", load_args(
        "auth_front", CognitoFrontArgs, vpc_id=network.require_output("vpc_id"),
        subnet_ids=network.require_output("public_subnet_ids"),
        security_group_ids=[network.require_output("load_balancer_security_group_id")], target_port=FRONT_PORT,
        google_client_id=config().get_secret("google_client_id"),
        google_client_secret=config().get_secret("google_client_secret")))
    images = {name: ContainerImage(f"{env}-{name.replace('_', '-')}", ContainerImageArgs(
        dockerfile=f"runtime/{name}/Dockerfile", force_delete=env == "dev")) for name in IMAGES}
    assembly = SidecarAssembly(f"{env}-auth-sidecar", assembly_args(
        settings, {name: image.image_ref for name, image in images.items()}, alb_arn=front.web.load_balancer.arn,
        subnet_ids=placement.subnet_ids, security_group_ids=[placement.security_group_id],
        assign_public_ip=placement.assign_public_ip, target_group_arn=front.web.target_group.arn,
        wait_for=front.web.listeners, image_repository_arns=[image.repository.arn for image in images.values()]))

    pulumi.export("url", front.url)
    pulumi.export("load_balancer_dns_name", front.web.load_balancer.dns_name)
    pulumi.export("load_balancer_arn", front.web.load_balancer.arn)
    pulumi.export("user_pool_id", front.user_pool.id)
    pulumi.export("sign_in_domain", front.user_pool_domain.domain)
    pulumi.export("service_name", assembly.service.service.name)
    pulumi.export("log_group", assembly.task.log_group.name)
    pulumi.export(OUTPUT, widgets(graphs=sidecar_graphs(f"{env}-auth-sidecar")))


def assembly_args(settings: AuthSidecarSettings, images: Mapping[str, pulumi.Input[str]], alb_arn: pulumi.Input[str],
                  **wiring) -> SidecarAssemblyArgs:
    """The task: the app, with the auth sidecar and the nginx front as its sidecars."""
    app, sidecar, nginx = task_containers(settings, images, alb_arn)
    return SidecarAssemblyArgs(main=app, sidecars=[sidecar, nginx], ingress_container=nginx.name,
                               cpu=settings.cpu, memory_mb=settings.memory_mb, desired_count=settings.desired_count,
                               log_retention_days=settings.log_retention_days, **wiring)


def task_containers(settings: AuthSidecarSettings, images: Mapping[str, pulumi.Input[str]],
                    alb_arn: pulumi.Input[str]) -> tuple[ContainerSpec, ContainerSpec, ContainerSpec]:
    """The app and the sidecar listen on 127.0.0.1 only: nothing reaches them but nginx."""

    def python_container(name: str, module: str, port: int, **spec) -> ContainerSpec:
        serve = ["python", "-m", f"runtime.{module}", "--host", "127.0.0.1", "--port", str(port)]
        return ContainerSpec(name, image=images[module], command=serve, health_check=["CMD", *serve, "--healthcheck"],
                             **settings.size(name), **spec)

    app = python_container("app", "auth_demo_app", APP_PORT)
    sidecar = python_container("auth-sidecar", "auth_sidecar", SIDECAR_PORT, environment={
        "ALB_ARN": alb_arn, "AWS_REGION": aws.get_region().region,
        "VALID_DOMAINS": ",".join(settings.valid_domains), "AUTH_REQUIRED": str(settings.auth_required).lower()})
    nginx = ContainerSpec(
        "auth-front", image=images["auth_front"], port=FRONT_PORT, **settings.size("auth-front"),
        health_check=["CMD-SHELL", f"wget -q -O /dev/null http://127.0.0.1:{FRONT_PORT}/healthz || exit 1"],
        environment={"AUTH_FRONT_LISTEN": str(FRONT_PORT), "AUTH_FRONT_SIDECAR": f"127.0.0.1:{SIDECAR_PORT}",
                     "AUTH_FRONT_APP": f"127.0.0.1:{APP_PORT}"},
        depends_on={sidecar.name: "HEALTHY", app.name: "HEALTHY"})
    return app, sidecar, nginx


# The sidecar's metrics: the seed's awsjwtauth statsd names, as CloudWatch embedded metric format on its stdout,
# dimensioned by service (and refusals by reason too).
METRICS_NAMESPACE, SERVICE_DIMENSION, REASON_DIMENSION = "awsjwtauth", "service", "reason"
ALLOWED, REFUSED, RESTARTS = "info.auth_user", "error", "restart"
KEY_FETCH_MS, KEY_CACHE_HITS, KEY_CACHE_MISSES = "get_pub_key", "cache.keys.hits", "cache.keys.misses"


def sidecar_graphs(service: str) -> list[pulumi.Output[dict]]:
    """Sign-ins allowed and refused by reason, the signing-key fetch time, the key cache and restarts."""
    def metric(name: str, label: str, **options) -> list:
        return [METRICS_NAMESPACE, name, SERVICE_DIMENSION, service, {"label": label, **options}]

    refused = (f"SEARCH('{{{METRICS_NAMESPACE},{REASON_DIMENSION},{SERVICE_DIMENSION}}} MetricName=\"{REFUSED}\" "
               f"{SERVICE_DIMENSION}=\"{service}\"', 'Sum', 60)")
    return [
        metric_graph("identities allowed, and refused by reason",
                     [metric(ALLOWED, "allowed"), [{"expression": refused, "id": "refused", "label": ""}]]),
        metric_graph("signing-key fetch (ms; spikes when the ALB rotates its key)",
                     [metric(KEY_FETCH_MS, "p50", stat="p50"), metric(KEY_FETCH_MS, "p99", stat="p99"),
                      metric(KEY_FETCH_MS, "max", stat="Maximum")], stat="p99"),
        metric_graph("key cache and restarts", [
            metric(KEY_CACHE_HITS, "cache hits"), metric(KEY_CACHE_MISSES, "cache misses"), metric(RESTARTS, "restarts")]),
    ]
