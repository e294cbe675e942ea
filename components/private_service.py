"""PrivateService: a container service with its own PostgreSQL database, reachable only through a VPC link.

    HTTP API ──VPC link (private subnets)──▶ internal NLB ──▶ Fargate tasks ──▶ RDS PostgreSQL (isolated subnets)

Nothing here has a public address or a public route in: the API's VPC link is the only way to the load balancer,
the load balancer the only way to the tasks, the tasks the only way to the database. Each hop has a security
group of its own that admits exactly the previous hop's group on one port, rather than the network's shared app
and data tiers (which every service of the VPC sits in): another stack's tasks cannot reach this database.

The app signs in to the database as one user with IAM tokens: the task role may ``rds-db:connect`` as
``database_user`` on this instance only. The master password exists only in the secret RDS manages; ECS injects
its ``password`` key into the container (for the migrations that create the app's user and schema) and the
execution role may read that one secret. The master secret is encrypted with Secrets Manager's AWS managed key,
which grants decryption through the service itself: no ``kms:Decrypt`` statement is needed.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from components import alarms, iam, validation
from components.args import Args, Boolean, InvalidArgument, Port, Text, Whole, like, setting, wiring
from components.container_image import ContainerImage, ContainerImageArgs
from components.database import IDENTIFIER, PostgresDatabase, PostgresDatabaseArgs
from components.fargate_service import FargateService, FargateServiceArgs
from components.fargate_task import ContainerSpec, FargateTask, FargateTaskArgs, ecs_cluster
from components.internal_load_balancer import InternalLoadBalancer, InternalLoadBalancerArgs

ANYWHERE = "0.0.0.0/0"


@dataclass(frozen=True)
class DatabaseVariables:
    """The environment variables (named by the app) that tell the container where its database is."""

    host: str
    port: str
    name: str
    master_user: str
    master_password: str
    """An ECS secret: the ``password`` key of the RDS-managed master secret."""


@dataclass(frozen=True)
class PrivateServiceArgs(Args):
    vpc_id: pulumi.Input[str] = wiring("The VPC (from the network stack).")
    private_subnet_ids: pulumi.Input[Sequence[str]] = wiring("The network's private subnets: the VPC link's and "
                                                             "the load balancer's.")
    task_subnet_ids: pulumi.Input[Sequence[str]] = wiring("Where tasks run (the network's task_subnet_ids).")
    database: PostgresDatabaseArgs = wiring("The database's arguments (its client group is the tasks', set here).")
    database_variables: DatabaseVariables = wiring("Where the container finds its database.")
    database_user: str = wiring("The one database user the task role may sign in as with IAM tokens.")
    dockerfile: str = wiring("The app's Dockerfile (its directory holds the image's sources).")
    assign_public_ip: pulumi.Input[bool] = like(FargateServiceArgs, "assign_public_ip")
    command: Sequence[str] = wiring("Overrides the image's CMD.", default=())
    environment: Mapping[str, str] = wiring("The container's plain environment (never secrets).", default={})
    alarm_topic_arn: Optional[pulumi.Input[str]] = wiring("The environment's alarm topic; None: no alarms.",
                                                          default=None)
    container_name: str = setting("app", Text(r"[A-Za-z0-9_-]{1,255}", "letters, digits, - and _ (1 to 255)"),
                                  "The app's container (the one the load balancer targets).")
    container_port: int = setting(8080, Port(), "The port the app listens on, and the load balancer's.")
    health_check_path: str = like(InternalLoadBalancerArgs, "health_check_path")
    cpu: int = like(FargateTaskArgs, "cpu")
    memory_mb: int = like(FargateTaskArgs, "memory_mb")
    cpu_architecture: str = like(FargateTaskArgs, "cpu_architecture")
    desired_count: int = setting(2, Whole(1, 100), "Tasks to run (and below which the service alarms).")
    health_check_grace_period_seconds: int = like(FargateServiceArgs, "health_check_grace_period_seconds")
    deregistration_delay_seconds: int = like(InternalLoadBalancerArgs, "deregistration_delay_seconds")
    deletion_protection: bool = like(InternalLoadBalancerArgs, "deletion_protection")
    force_destroy: bool = setting(False, Boolean(),
                                  "Let destroy delete the image repository with its images (dev only).")
    log_retention_days: int = like(FargateTaskArgs, "log_retention_days")
    keep_images: int = like(ContainerImageArgs, "keep_images")

    def check(self) -> None:
        validation.fargate_size("cpu", self.cpu, "memory_mb", self.memory_mb)
        IDENTIFIER.check("database_user", self.database_user)
        if self.database_user == self.database.master_username:
            raise InvalidArgument("database_user", self.database_user, "a user other than the master user")
        if any(not isinstance(v, str) for v in self.environment.values()):
            raise InvalidArgument("environment", dict(self.environment), "a mapping of names to strings")
        taken = sorted(set(self.environment) & set(dataclasses.asdict(self.database_variables).values()))
        if taken:
            raise InvalidArgument("environment", taken, "no database variable: the component sets them")
        self.image_args()

    def image_args(self) -> ContainerImageArgs:
        return ContainerImageArgs(dockerfile=self.dockerfile, cpu_architecture=self.cpu_architecture,
                                  keep_images=self.keep_images, force_delete=self.force_destroy)


class PrivateService(pulumi.ComponentResource):
    image: ContainerImage
    cluster: aws.ecs.Cluster
    vpc_link_security_group: aws.ec2.SecurityGroup
    task_security_group: aws.ec2.SecurityGroup
    load_balancer: InternalLoadBalancer
    database: PostgresDatabase
    task: FargateTask
    service: FargateService
    vpc_link: aws.apigatewayv2.VpcLink
    failed_task_rule: Optional[aws.cloudwatch.EventRule]
    alarms: list[aws.cloudwatch.MetricAlarm]

    def __init__(self, name: str, args: PrivateServiceArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("cloud-patterns:containers:PrivateService", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        port = args.container_port
        self.image = ContainerImage(name, args.image_args(), opts=child)
        self.cluster = ecs_cluster(name, self)
        self.vpc_link_security_group = aws.ec2.SecurityGroup(
            f"{name}-vpc-link", vpc_id=args.vpc_id, description=f"{name}: the API's VPC link, out to the NLB only",
            opts=child)
        self.load_balancer = InternalLoadBalancer(name, InternalLoadBalancerArgs(
            vpc_id=args.vpc_id, subnet_ids=args.private_subnet_ids, port=port,
            source_security_group_ids=[self.vpc_link_security_group.id], health_check_path=args.health_check_path,
            deregistration_delay_seconds=args.deregistration_delay_seconds,
            deletion_protection=args.deletion_protection, alarm_topic_arn=args.alarm_topic_arn), opts=child)
        self._egress(f"{name}-vpc-link-out-nlb", self.vpc_link_security_group, port, "to the internal NLB",
                     referenced_security_group_id=self.load_balancer.security_group.id)
        self.task_security_group = aws.ec2.SecurityGroup(
            f"{name}-tasks", vpc_id=args.vpc_id, description=f"{name}: tasks, port {port} from the NLB only",
            opts=child)
        self.load_balancer.allow_to_targets(name, self.task_security_group.id, port)
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-tasks-in-nlb", security_group_id=self.task_security_group.id, ip_protocol="tcp", from_port=port,
            to_port=port, referenced_security_group_id=self.load_balancer.security_group.id,
            description="from the internal NLB", opts=pulumi.ResourceOptions(parent=self.task_security_group))
        self._egress(f"{name}-tasks-out-https", self.task_security_group, 443, "AWS APIs and ECR", cidr_ipv4=ANYWHERE)
        self.database = PostgresDatabase(name, dataclasses.replace(
            args.database, client_security_group_id=self.task_security_group.id), opts=child)
        self._egress(f"{name}-tasks-out-db", self.task_security_group, args.database.port, "to the database",
                     referenced_security_group_id=self.database.security_group.id)
        self.vpc_link = aws.apigatewayv2.VpcLink(
            name, name=name, subnet_ids=args.private_subnet_ids, security_group_ids=[self.vpc_link_security_group.id],
            opts=child)
        self._service(name, args)
        self.alarms = [*self.load_balancer.alarms, *self.service.alarms, *self.database.alarms]
        self.failed_task_rule = None if args.alarm_topic_arn is None else alarms.failed_task_rule(
            f"{name}-failed-tasks", self, args.alarm_topic_arn, self.cluster.arn)
        self.register_outputs({
            "vpc_link_id": self.vpc_link.id, "listener_arn": self.load_balancer.listener.arn,
            "service_name": self.service.service.name, "db_endpoint": self.database.instance.endpoint,
            "db_resource_id": self.database.instance.resource_id, "db_master_secret_arn": self.database.master_secret_arn})

    def _service(self, name: str, args: PrivateServiceArgs) -> None:
        child = pulumi.ResourceOptions(parent=self)
        db, variables = self.database, args.database_variables
        container = ContainerSpec(
            args.container_name, image=self.image.image_ref, port=args.container_port, command=list(args.command),
            memory_mb=args.memory_mb, environment={
                **args.environment, variables.host: db.instance.address, variables.port: str(args.database.port),
                variables.name: args.database.database_name, variables.master_user: args.database.master_username},
            secrets={variables.master_password: pulumi.Output.concat(db.master_secret_arn, ":password::")})
        self.task = FargateTask(name, FargateTaskArgs(
            containers=[container], cpu=args.cpu, memory_mb=args.memory_mb, cpu_architecture=args.cpu_architecture,
            image_repository_arns=[self.image.repository.arn], log_retention_days=args.log_retention_days,
            task_policy_statements=[iam.statement(["rds-db:connect"], [db.connect_arn(args.database_user)],
                                                  sid="ConnectAsTheAppUser")]), opts=child)
        self.service = FargateService(name, FargateServiceArgs(
            cluster_arn=self.cluster.arn, task_definition_arn=self.task.task_definition.arn,
            subnet_ids=args.task_subnet_ids, security_group_ids=[self.task_security_group.id],
            assign_public_ip=args.assign_public_ip, desired_count=args.desired_count,
            target_group_arn=self.load_balancer.target_group.arn, container_name=args.container_name,
            container_port=args.container_port, wait_for=[self.load_balancer.listener],
            health_check_grace_period_seconds=args.health_check_grace_period_seconds,
            alarm_topic_arn=args.alarm_topic_arn, minimum_running=args.desired_count), opts=child)

    def _egress(self, name: str, group: aws.ec2.SecurityGroup, port: int, description: str, **destination) -> None:
        aws.vpc.SecurityGroupEgressRule(name, security_group_id=group.id, ip_protocol="tcp", from_port=port,
                                        to_port=port, description=description, **destination,
                                        opts=pulumi.ResourceOptions(parent=group))
