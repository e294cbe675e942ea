"""Stack ``<env>-bean-counter``: the Bean Counter coin-value service, Scaling-Container pattern.

A Fargate service behind an internet-facing ALB, scaled by target tracking on CPU (and, if configured,
on requests per target). Reads the ``network`` upstream stack: the load balancer in its public subnets
with its load-balancer group; tasks in the app group (reachable only from that group, on the app port),
in public subnets with public IPs when the network has no NAT (dev), private subnets otherwise (prod).
Settings: ``cloud-patterns:bean_counter`` (the fields of ``ScalingContainerArgs`` that are not wiring,
plus ``workers``: gunicorn worker processes per task).
"""
from __future__ import annotations

import pulumi

from components import validation
from components.scaling_container import ScalingContainer, ScalingContainerArgs
from programs.common import (
    ConfigError,
    environment,
    load_args,
    section,
    settings_of,
    task_placement,
    upstream,
)

SECTION = "bean_counter"


def main() -> None:
    env = environment()
    network = upstream("network")
    placement = task_placement(network)
    settings = section(SECTION)
    workers = settings.pop("workers", 1)
    with settings_of(SECTION):
        validation.whole_number("workers", workers, 1, 8, "(gunicorn worker processes per task)")
    port = settings.get("container_port", 8080)
    wiring = dict(
        vpc_id=network.require_output("vpc_id"),
        load_balancer_subnet_ids=network.require_output("public_subnet_ids"),
        load_balancer_security_group_ids=[network.require_output("load_balancer_security_group_id")],
        task_subnet_ids=placement.subnet_ids, task_security_group_ids=[placement.security_group_id],
        assign_public_ip=placement.assign_public_ip,
        command=["--host", "0.0.0.0", "--port", str(port), "--workers", str(workers)])
    args = load_args(SECTION, ScalingContainerArgs, settings=settings, program_keys=("workers",),
                     fixed=("dockerfile", "environment"), **wiring)
    network.require_output("app_port").apply(lambda app_port: _same_port(app_port, args.container_port))
    service = ScalingContainer(f"{env}-bean-counter", args)

    pulumi.export("url", service.url)
    pulumi.export("load_balancer_dns_name", service.web.load_balancer.dns_name)
    pulumi.export("bucket", service.bucket.bucket if service.bucket is not None else None)
    pulumi.export("cluster_name", service.cluster.name)
    pulumi.export("service_name", service.service.service.name)
    pulumi.export("repository_url", service.image.repository.repository_url)
    pulumi.export("log_group", service.task.log_group.name)
    pulumi.export("scaling", {"min": args.min_count, "max": args.max_count, "cpu_target_percent": args.cpu_target_percent,
                              "requests_per_target": args.requests_per_target})


def _same_port(app_port, container_port: int) -> None:
    if app_port is not None and int(app_port) != container_port:
        raise ConfigError(f"cloud-patterns:{SECTION}.container_port: {container_port} is not allowed; allowed: "
                          f"{int(app_port)}, the only port the network's app security group admits")
