"""ScalingContainer: an always-on web service on Fargate behind an internet-facing load balancer,
scaled between a minimum and a maximum number of tasks by Application Auto Scaling.

Target tracking on the service's average CPU (the seed's 75 %) and, optionally, on the load balancer's
requests per target. CPU reacts late: by the time a minute of high CPU is seen and a new task has passed
its health checks, the running tasks are saturated and requests fail (5xx). Tracking requests per target
scales out as traffic rises, before CPU saturates; the scaling policy whose metric asks for the most tasks
wins. Deploys keep 100 % of the tasks healthy (up to 200 % running) and roll back on the circuit breaker.

The app arrives as arguments (its Dockerfile, command, environment and health check), as CDK's
``ApplicationLoadBalancedFargateService`` takes ``taskImageOptions``; its inputs may come from a private
bucket that the task role may read (and, for state such as a checkpoint, write) and nobody else can reach.
Optionally every task registers in Cloud Map (``components/service_discovery.py``) and may reach its peers on
the app's port. Given the environment's topic, the service alarms on 5xx, slow responses, unhealthy targets,
too few running tasks, tasks that exit non-zero, and CPU outside its learnt anomaly band.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from components import alarms, iam, network, validation
from components.args import (
    Args,
    Boolean,
    InvalidArgument,
    Maybe,
    Number,
    Port,
    Text,
    Whole,
    like,
    setting,
    wiring,
)
from components.container_image import ContainerImage, ContainerImageArgs
from components.fargate_service import FargateService, FargateServiceArgs
from components.fargate_task import ContainerSpec, FargateTask, FargateTaskArgs, ecs_cluster
from components.load_balancer import WebLoadBalancer, WebLoadBalancerArgs
from components.service_discovery import NAMESPACE, ServiceDiscovery, ServiceDiscoveryArgs
from components.storage import private_bucket

MAX_TASKS = 100
COOLDOWN = Whole(0, 3600, "(seconds)")


@dataclass(frozen=True)
class ScalingContainerArgs(Args):
    vpc_id: pulumi.Input[str] = wiring("The VPC (from the network stack).")
    load_balancer_subnet_ids: pulumi.Input[Sequence[str]] = wiring("Public subnets for the load balancer.")
    load_balancer_security_group_ids: pulumi.Input[Sequence[str]] = wiring("The network's load-balancer group.")
    task_subnet_ids: pulumi.Input[Sequence[str]] = wiring("Where tasks run (the network's task_subnet_ids).")
    task_security_group_ids: pulumi.Input[Sequence[str]] = wiring(
        "The network's app group: admits only the load balancer's group, on container_port.")
    dockerfile: str = wiring("The app's Dockerfile (its directory holds the image's sources).")
    assign_public_ip: pulumi.Input[bool] = like(FargateServiceArgs, "assign_public_ip")
    command: Sequence[str] = wiring("Overrides the image's CMD (the arguments after its ENTRYPOINT).", default=())
    environment: Mapping[str, str] = wiring("The container's plain environment (secrets never: they go through "
                                            "Secrets Manager).", default={})
    health_check_command: Optional[Sequence[str]] = wiring(
        "The container's own health check (Docker CMD form); None: the load balancer's check only.", default=None)
    bucket_variable: Optional[str] = wiring("The environment variable that names the input bucket to the app.",
                                            default=None)
    bucket_name: str = wiring("The bucket's logical name after the service's (what it holds).", default="inputs")
    discovery_variable: Optional[str] = wiring("The environment variable that gets the DNS name the tasks register "
                                               "under (with discovery_namespace).", default=None)
    alarm_topic_arn: Optional[pulumi.Input[str]] = wiring(
        "The environment's alarm topic (the alerts stack's topic_arn); None: no alarms.", default=None)
    container_name: str = setting("app", Text(r"[A-Za-z0-9_-]{1,255}", "letters, digits, - and _ (1 to 255)"),
                                  "The app's container (the one the load balancer targets).")
    container_port: int = setting(network.DEFAULT_APP_PORT, Port(),
                                  "The port the app listens on: the network's app_port, the one its group admits.")
    health_check_path: str = like(WebLoadBalancerArgs, "health_check_path")
    cpu: int = like(FargateTaskArgs, "cpu")
    memory_mb: int = like(FargateTaskArgs, "memory_mb")
    cpu_architecture: str = like(FargateTaskArgs, "cpu_architecture")
    desired_count: int = setting(2, Whole(1, MAX_TASKS), "Tasks at the first deploy; Auto Scaling owns the count "
                                                         "afterwards.")
    min_count: int = setting(2, Whole(1, MAX_TASKS), "Fewest tasks Auto Scaling keeps (and below which the service "
                                                     "alarms).")
    max_count: int = setting(4, Whole(1, MAX_TASKS), "Most tasks Auto Scaling starts.")
    cpu_target_percent: float = setting(75.0, Number(10, 95, "(%)"), "Average service CPU that target tracking "
                                                                    "holds the service at.")
    requests_per_target: Optional[int] = setting(None, Maybe(Whole(1, 1_000_000)), "Requests per task per minute "
                                                 "(ALBRequestCountPerTarget) to track as well; null: CPU only.")
    scale_out_cooldown_seconds: int = setting(60, COOLDOWN, "Wait after scaling out before scaling out again.")
    scale_in_cooldown_seconds: int = setting(60, COOLDOWN, "Wait after scaling before scaling in.")
    health_check_grace_period_seconds: int = like(FargateServiceArgs, "health_check_grace_period_seconds")
    deregistration_delay_seconds: int = like(WebLoadBalancerArgs, "deregistration_delay_seconds")
    idle_timeout_seconds: int = like(WebLoadBalancerArgs, "idle_timeout_seconds")
    certificate_arn: Optional[str] = like(WebLoadBalancerArgs, "certificate_arn")
    ssl_policy: str = like(WebLoadBalancerArgs, "ssl_policy")
    deletion_protection: bool = like(WebLoadBalancerArgs, "deletion_protection")
    input_bucket: bool = setting(True, Boolean(), "Create a private bucket the service reads its inputs from (its "
                                                  "name in bucket_variable).")
    bucket_writable: bool = setting(False, Boolean(), "The task role may also write objects to the bucket (state "
                                                      "such as a checkpoint), never delete them.")
    discovery_namespace: Optional[str] = setting(None, Maybe(NAMESPACE), "Register every task in Cloud Map under "
                                                 "<discovery_name>.<this private DNS namespace>, and let tasks reach "
                                                 "each other on container_port; null: no Cloud Map.")
    discovery_name: str = like(ServiceDiscoveryArgs, "service_name")
    force_destroy: bool = setting(False, Boolean(), "Let destroy delete the bucket and the image repository with "
                                                    "their contents (dev only).")
    log_retention_days: int = like(FargateTaskArgs, "log_retention_days")
    keep_images: int = like(ContainerImageArgs, "keep_images")
    server_errors_per_minute: int = like(WebLoadBalancerArgs, "server_errors_per_minute")
    response_time_p99_seconds: float = like(WebLoadBalancerArgs, "response_time_p99_seconds")
    cpu_anomaly_band_width: float = setting(2.0, Number(1, 10, "(standard deviations)"), "Width of the CPU band "
                                            "anomaly detection expects; wider alarms less often.")
    cpu_anomaly_periods: int = setting(3, Whole(1, 24, "(5-minute periods)"), "How long CPU stays above the band "
                                       "before the service alarms.")

    def check(self) -> None:
        validation.fargate_size("cpu", self.cpu, "memory_mb", self.memory_mb)
        if self.min_count > self.max_count:
            raise InvalidArgument("min_count", self.min_count, f"at most max_count ({self.max_count})")
        if not self.min_count <= self.desired_count <= self.max_count:
            raise InvalidArgument("desired_count", self.desired_count,
                                  f"from min_count ({self.min_count}) to max_count ({self.max_count})")
        if any(not isinstance(v, str) for v in self.environment.values()):
            raise InvalidArgument("environment", dict(self.environment), "a mapping of names to strings")
        for variable, used in ((self.bucket_variable, self.input_bucket), (self.discovery_variable,
                                                                           self.discovery_namespace)):
            if used and variable in self.environment:
                raise InvalidArgument("environment", variable, f"no {variable}: the component sets it")
        self.load_balancer_args()  # the building blocks' own checks (the Dockerfile must exist)
        self.image_args()

    def load_balancer_args(self) -> WebLoadBalancerArgs:
        return WebLoadBalancerArgs(
            vpc_id=self.vpc_id, subnet_ids=self.load_balancer_subnet_ids,
            security_group_ids=self.load_balancer_security_group_ids, target_port=self.container_port,
            health_check_path=self.health_check_path, certificate_arn=self.certificate_arn,
            ssl_policy=self.ssl_policy, deletion_protection=self.deletion_protection,
            deregistration_delay_seconds=self.deregistration_delay_seconds,
            idle_timeout_seconds=self.idle_timeout_seconds, alarm_topic_arn=self.alarm_topic_arn,
            server_errors_per_minute=self.server_errors_per_minute,
            response_time_p99_seconds=self.response_time_p99_seconds)

    def image_args(self) -> ContainerImageArgs:
        return ContainerImageArgs(dockerfile=self.dockerfile, cpu_architecture=self.cpu_architecture,
                                  keep_images=self.keep_images, force_delete=self.force_destroy)


class ScalingContainer(pulumi.ComponentResource):
    image: ContainerImage
    web: WebLoadBalancer
    cluster: aws.ecs.Cluster
    task: FargateTask
    service: FargateService
    bucket: Optional[aws.s3.Bucket]
    discovery: Optional[ServiceDiscovery]
    scaling_target: aws.appautoscaling.Target
    cpu_policy: aws.appautoscaling.Policy
    request_policy: Optional[aws.appautoscaling.Policy]
    alarms: list[aws.cloudwatch.MetricAlarm]
    failed_task_rule: Optional[aws.cloudwatch.EventRule]
    url: pulumi.Output[str]

    def __init__(self, name: str, args: ScalingContainerArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("cloud-patterns:containers:ScalingContainer", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.image = ContainerImage(name, args.image_args(), opts=child)
        self.web = WebLoadBalancer(name, args.load_balancer_args(), opts=child)
        self.url = self.web.url
        self.cluster = ecs_cluster(name, self)
        self.bucket = (private_bucket(f"{name}-{args.bucket_name}", self, force_destroy=args.force_destroy)
                       if args.input_bucket else None)
        self.discovery = None if args.discovery_namespace is None else ServiceDiscovery(name, ServiceDiscoveryArgs(
            vpc_id=args.vpc_id, namespace=args.discovery_namespace, service_name=args.discovery_name,
            port=args.container_port), opts=child)
        task_groups = args.task_security_group_ids

        environment = dict(args.environment)
        statements = []
        if self.bucket is not None:
            if args.bucket_variable:
                environment[args.bucket_variable] = self.bucket.bucket
            statements = [
                iam.statement(["s3:GetObject"], [pulumi.Output.concat(self.bucket.arn, "/*")], sid="ReadInputs"),
                # ListBucket lets a missing key answer 404 (NoSuchKey) instead of 403.
                iam.statement(["s3:ListBucket"], [self.bucket.arn], sid="ListInputs")]
            if args.bucket_writable:
                statements.append(iam.statement(["s3:PutObject"], [pulumi.Output.concat(self.bucket.arn, "/*")],
                                                sid="WriteObjects"))
        if self.discovery is not None:
            if args.discovery_variable:
                environment[args.discovery_variable] = self.discovery.dns_name
            task_groups = pulumi.Output.all(pulumi.Output.from_input(args.task_security_group_ids),
                                            self.discovery.security_group.id).apply(lambda v: [*v[0], v[1]])
        container = ContainerSpec(
            args.container_name, image=self.image.image_ref, port=args.container_port, environment=environment,
            command=list(args.command), memory_mb=args.memory_mb, health_check=args.health_check_command)
        self.task = FargateTask(name, FargateTaskArgs(
            containers=[container], cpu=args.cpu, memory_mb=args.memory_mb, cpu_architecture=args.cpu_architecture,
            task_policy_statements=statements, image_repository_arns=[self.image.repository.arn],
            log_retention_days=args.log_retention_days), opts=child)
        self.service = FargateService(name, FargateServiceArgs(
            cluster_arn=self.cluster.arn, task_definition_arn=self.task.task_definition.arn,
            subnet_ids=args.task_subnet_ids, security_group_ids=task_groups,
            assign_public_ip=args.assign_public_ip, desired_count=args.desired_count,
            target_group_arn=self.web.target_group.arn, container_name=args.container_name,
            container_port=args.container_port,
            health_check_grace_period_seconds=args.health_check_grace_period_seconds,
            wait_for=self.web.listeners, auto_scaled=True, alarm_topic_arn=args.alarm_topic_arn,
            minimum_running=args.min_count,
            registry_arn=self.discovery.service.arn if self.discovery is not None else None), opts=child)
        self._scaling(name, args)
        self._alarms(name, args)
        self.register_outputs({
            "url": self.url, "service_name": self.service.service.name, "cluster_name": self.cluster.name,
            "log_group_name": self.task.log_group.name, "repository_url": self.image.repository.repository_url,
            "bucket": self.bucket.bucket if self.bucket is not None else None,
            **({"discovery_dns_name": self.discovery.dns_name} if self.discovery is not None else {})})

    def _scaling(self, name: str, args: ScalingContainerArgs) -> None:
        child = pulumi.ResourceOptions(parent=self)
        self.scaling_target = aws.appautoscaling.Target(
            name, service_namespace="ecs", scalable_dimension="ecs:service:DesiredCount",
            resource_id=pulumi.Output.concat("service/", self.cluster.name, "/", self.service.service.name),
            min_capacity=args.min_count, max_capacity=args.max_count, opts=child)
        target = pulumi.ResourceOptions(parent=self, depends_on=[self.scaling_target])

        def tracking(metric: str, value: float, label=None):
            return aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs(
                target_value=value, scale_out_cooldown=args.scale_out_cooldown_seconds,
                scale_in_cooldown=args.scale_in_cooldown_seconds, disable_scale_in=False,
                predefined_metric_specification=aws.appautoscaling
                .PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(
                    predefined_metric_type=metric, resource_label=label))

        def policy(suffix: str, configuration) -> aws.appautoscaling.Policy:
            return aws.appautoscaling.Policy(
                f"{name}-{suffix}", policy_type="TargetTrackingScaling", service_namespace="ecs",
                scalable_dimension=self.scaling_target.scalable_dimension, resource_id=self.scaling_target.resource_id,
                target_tracking_scaling_policy_configuration=configuration, opts=target)

        self.cpu_policy = policy("cpu", tracking("ECSServiceAverageCPUUtilization", float(args.cpu_target_percent)))
        self.request_policy = None
        if args.requests_per_target is not None:
            label = pulumi.Output.concat(self.web.load_balancer.arn_suffix, "/", self.web.target_group.arn_suffix)
            self.request_policy = policy("requests", tracking("ALBRequestCountPerTarget",
                                                              float(args.requests_per_target), label))

    def _alarms(self, name: str, args: ScalingContainerArgs) -> None:
        self.alarms = [*self.web.alarms, *self.service.alarms]
        self.failed_task_rule = None
        if args.alarm_topic_arn is None:
            return
        self.alarms.append(alarms.anomaly_alarm(
            f"{name}-cpu-anomaly", self, args.alarm_topic_arn, namespace="AWS/ECS", metric="CPUUtilization",
            dimensions={"ClusterName": self.cluster.name, "ServiceName": self.service.service.name},
            band_width=args.cpu_anomaly_band_width, evaluation_periods=args.cpu_anomaly_periods,
            description=f"{name}: CPU above the band anomaly detection expects ({args.cpu_anomaly_band_width:g} "
                        "standard deviations): load that scaling does not explain"))
        self.failed_task_rule = alarms.failed_task_rule(f"{name}-failed-tasks", self, args.alarm_topic_arn,
                                                        self.cluster.arn)
