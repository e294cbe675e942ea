"""Stack ``<env>-blockchain``: blockchain nodes that agree on one chain, Scaling-Container pattern.

A Fargate service behind an internet-facing ALB, scaled on CPU and on requests per task. Every task registers
in Cloud Map (``nodes.<env>-blockchain.internal``), finds its peers there, syncs before it reports healthy and
checkpoints the chain to a private bucket. Reads the ``network`` stack (where tasks run: private subnets where
it has NAT; the app port its group admits; the VPC's CIDR, the only addresses a node calls) and ``alerts``.
"""
from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.args import Args, Whole, setting
from components.dashboard import OUTPUT, metric_graph, widgets
from components.scaling_container import ScalingContainer, ScalingContainerArgs
from programs.common import ConfigError, PROJECT, Section, environment, task_placement, upstream, upstream_value
from runtime.blockchain import contract


@dataclass(frozen=True)
class BlockchainSettings(Args):
    difficulty: int = setting(contract.DEFAULT_DIFFICULTY, Whole(1, contract.MAX_DIFFICULTY, "(leading zero hex "
                              "digits)"), "Proof of work of a block: each digit more takes 16 times the hashes.")
    metrics_interval_seconds: int = setting(contract.DEFAULT_METRICS_INTERVAL, Whole(10, 3600, "(seconds)"),
                                            "How often each node writes its metrics (one EMF log line).")


BLOCKCHAIN = Section("blockchain", ScalingContainerArgs, own=BlockchainSettings, fixed=(
    "health_check_path", "container_port", "input_bucket", "bucket_writable", "discovery_namespace"))


def main() -> None:
    network, alerts = upstream("network"), upstream("alerts")
    placement, name = task_placement(network), f"{environment()}-blockchain"
    own, port, cidr = BLOCKCHAIN.own_settings(), int(_known(network, "app_port")), _known(network, "vpc_cidr")
    args = BLOCKCHAIN.load(
        vpc_id=network.require_output("vpc_id"), load_balancer_subnet_ids=network.require_output("public_subnet_ids"),
        load_balancer_security_group_ids=[network.require_output("load_balancer_security_group_id")],
        task_subnet_ids=placement.subnet_ids, task_security_group_ids=[placement.security_group_id],
        assign_public_ip=placement.assign_public_ip, dockerfile=contract.DOCKERFILE, container_port=port,
        health_check_path=contract.HEALTH_PATH, input_bucket=True, bucket_writable=True, bucket_name="checkpoints",
        bucket_variable=contract.ENV_BUCKET, discovery_namespace=f"{name}.internal",
        discovery_variable=contract.ENV_PEER_DNS, alarm_topic_arn=alerts.require_output("topic_arn"),
        command=contract.command(port), health_check_command=contract.health_check(port), environment={
            contract.ENV_DIFFICULTY: str(own.difficulty), contract.ENV_SERVICE: name,
            contract.ENV_METRICS_INTERVAL: str(own.metrics_interval_seconds),
            contract.ENV_PEER_NETWORKS: str(cidr)})
    service = ScalingContainer(name, args)

    pulumi.export("url", service.url)
    pulumi.export("load_balancer_dns_name", service.web.load_balancer.dns_name)
    pulumi.export("checkpoint_bucket", service.bucket.bucket if service.bucket is not None else None)
    pulumi.export("peer_dns_name", service.discovery.dns_name if service.discovery is not None else None)
    pulumi.export("cluster_name", service.cluster.name)
    pulumi.export("service_name", service.service.service.name)
    pulumi.export("repository_url", service.image.repository.repository_url)
    pulumi.export("log_group", service.task.log_group.name)
    pulumi.export("scaling", {"min": args.min_count, "max": args.max_count,
                              "cpu_target_percent": args.cpu_target_percent,
                              "requests_per_target": args.requests_per_target})
    pulumi.export(OUTPUT, widgets(service.alarms, rules=[(service.failed_task_rule, "tasks stopped with a failed "
                                                                                    "container")], graphs=[
        metric_graph("chain length and blocks mined", [
            [contract.METRICS_NAMESPACE, "Blocks", "service", name, {"stat": "Maximum", "label": "chain length"}],
            [contract.METRICS_NAMESPACE, "MiningSuccesses", "service", name, {"label": "blocks mined"}],
            [contract.METRICS_NAMESPACE, "ChainReplacements", "service", name, {"label": "chains replaced"}]]),
        metric_graph("transactions accepted", [[contract.METRICS_NAMESPACE, "Transactions", "service", name]])]))


def _known(network: pulumi.StackReference, output: str):
    """The node is configured with the network's port and CIDR as plain values, so they must be known now."""
    value = upstream_value(network, output)
    if value is None:
        raise ConfigError(f"{PROJECT}:upstream.network: its output {output} is not known yet; deploy the network "
                          f"stack before the blockchain stack")
    return value
