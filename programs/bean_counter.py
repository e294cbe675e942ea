"""Stack ``<env>-bean-counter``: the Bean Counter coin-value service, Scaling-Container pattern.

A Fargate service behind an internet-facing ALB, scaled by target tracking on CPU (and, if configured, on
requests per target). Reads the ``network`` upstream stack (where the load balancer and the tasks go, and the
app port its security group admits) and the ``alerts`` stack (the topic its alarms notify).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pulumi

from components.args import Args, Whole, setting
from components.dashboard import OUTPUT, widgets
from components.scaling_container import ScalingContainer, ScalingContainerArgs
from programs.common import PROJECT, ConfigError, Section, environment, require_app_port, task_placement, upstream
from runtime.bean_counter import contract


@dataclass(frozen=True)
class BeanCounterSettings(Args):
    workers: int = setting(1, Whole(1, contract.MAX_WORKERS, "(gunicorn worker processes per task)"),
                           f"Worker processes per task, each needing {contract.WORKER_BASE_MB} MiB plus its decode "
                           f"budget of {contract.DEFAULT_DECODE_BUDGET_MB} MiB of the task's memory_mb.")


BEAN_COUNTER = Section("bean_counter", ScalingContainerArgs, fixed=("health_check_path",), own=BeanCounterSettings)


def main() -> None:
    network, alerts = upstream("network"), upstream("alerts")
    placement = task_placement(network)
    own = BEAN_COUNTER.own_settings()
    args = BEAN_COUNTER.load(
        vpc_id=network.require_output("vpc_id"), load_balancer_subnet_ids=network.require_output("public_subnet_ids"),
        load_balancer_security_group_ids=[network.require_output("load_balancer_security_group_id")],
        task_subnet_ids=placement.subnet_ids, task_security_group_ids=[placement.security_group_id],
        assign_public_ip=placement.assign_public_ip, dockerfile=contract.DOCKERFILE,
        health_check_path=contract.HEALTH_PATH, bucket_variable=contract.ENV_BUCKET,
        alarm_topic_arn=alerts.require_output("topic_arn"))
    require_app_port(network, BEAN_COUNTER.name, "container_port", args.container_port)
    _check_memory(args, own)
    args = dataclasses.replace(args, command=contract.command(args.container_port, own.workers),
                               health_check_command=contract.health_check(args.container_port))
    service = ScalingContainer(f"{environment()}-bean-counter", args)

    pulumi.export("url", service.url)
    pulumi.export("load_balancer_dns_name", service.web.load_balancer.dns_name)
    pulumi.export("bucket", service.bucket.bucket if service.bucket is not None else None)
    pulumi.export("cluster_name", service.cluster.name)
    pulumi.export("service_name", service.service.service.name)
    pulumi.export("repository_url", service.image.repository.repository_url)
    pulumi.export("log_group", service.task.log_group.name)
    pulumi.export("scaling", {"min": args.min_count, "max": args.max_count,
                              "cpu_target_percent": args.cpu_target_percent,
                              "requests_per_target": args.requests_per_target})
    pulumi.export(OUTPUT, widgets(service.alarms, rules=[(service.failed_task_rule, "tasks stopped with a failed "
                                                                                    "container")]))


def _check_memory(args: ScalingContainerArgs, own: BeanCounterSettings) -> None:
    key = f"{PROJECT}:{BEAN_COUNTER.name}"
    if contract.memory_needed_mb(own.workers) > args.memory_mb:
        fitting = args.memory_mb // contract.memory_needed_mb(1)
        raise ConfigError(f"{key}.workers: {own.workers} is not allowed; allowed: at most {fitting} with memory_mb "
                          f"{args.memory_mb} (each worker may hold {contract.memory_needed_mb(1)} MiB)")
