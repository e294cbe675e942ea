"""Stack ``<env>-tom-thumb``: Container-on-Demand video thumbnails (S3 upload -> Lambda -> Fargate task -> PNG).

Reads the ``network`` upstream stack for the VPC and where tasks run: public subnets with a public IP when the
network has no NAT (dev), private subnets otherwise (prod).
"""
import pulumi

from components.container_on_demand import ContainerOnDemand, ContainerOnDemandArgs
from programs.common import environment, load_args, task_placement, upstream


def main() -> None:
    network = upstream("network")
    placement = task_placement(network)
    args = load_args("tom_thumb", ContainerOnDemandArgs, vpc_id=network.require_output("vpc_id"),
                     subnet_ids=placement.subnet_ids, assign_public_ip=placement.assign_public_ip)
    thumbs = ContainerOnDemand(f"{environment()}-tom-thumb", args)
    pulumi.export("bucket", thumbs.bucket.bucket)
    pulumi.export("upload_prefix", args.input_prefix)
    pulumi.export("thumbnail_prefix", args.output_prefix)
    pulumi.export("cluster_arn", thumbs.cluster.arn)
    pulumi.export("task_definition_arn", thumbs.task.task_definition.arn)
    pulumi.export("invoker_function", thumbs.invoker.function.name)
    pulumi.export("dead_letter_queue_url", thumbs.dead_letter_queue.url)
    pulumi.export("repository_url", thumbs.image.repository.repository_url)
    pulumi.export("task_log_group", thumbs.task.log_group.name)
    pulumi.export("invoker_log_group", thumbs.invoker.log_group.name)
