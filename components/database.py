"""PostgresDatabase: one RDS for PostgreSQL instance in the isolated subnets, reachable from one security group.

Secure by default, as an app's only copy of its data must be: storage encrypted (the account's ``aws/rds`` key),
never publicly accessible, every connection over TLS (a parameter group with ``rds.force_ssl=1`` and TLS 1.2 at
least), IAM database authentication on (the app connects with 15-minute tokens, so no password of the app's
exists), and the master password generated and rotated by RDS in Secrets Manager (``manage_master_user_password``:
it never passes through config, the plan or the state). Automated backups are kept ``backup_retention_days``;
Multi-AZ, deletion protection and a final snapshot are settings (prod turns them on). Its security group admits
the data port from the one group given (the service's tasks) and nothing else; it has no egress rule at all.
The PostgreSQL and upgrade logs go to CloudWatch log groups made here first, so they have a retention. Alarms:
CPU, connections, free storage and free memory, thresholds as settings.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from components import alarms, iam
from components.args import (Args, Boolean, InvalidArgument, Number, OneOf, Port, Retention, Text, Whole, setting,
                             wiring)
from components.logs import log_group

ENGINE_VERSIONS = ("15", "16", "17")
LOG_EXPORTS = ("postgresql", "upgrade")
MONITORING_INTERVALS = (0, 1, 5, 10, 15, 30, 60)
GIB = 1024 ** 3
IDENTIFIER = Text(r"[a-z][a-z0-9_]{0,62}", "lower-case letters, digits and _, starting with a letter (1 to 63)")


@dataclass(frozen=True)
class PostgresDatabaseArgs(Args):
    vpc_id: pulumi.Input[str] = wiring("The VPC (from the network stack).")
    subnet_ids: pulumi.Input[Sequence[str]] = wiring("The network's isolated subnets (no route out of the VPC).")
    client_security_group_id: Optional[pulumi.Input[str]] = wiring(
        "The only group admitted on the data port (the tasks'); set by the component that makes that group.",
        default=None)
    port: int = setting(5432, Port(), "The port PostgreSQL listens on (the network's data_port).")
    database_name: str = setting("app", IDENTIFIER, "The database created with the instance.")
    master_username: str = setting("admin_user", IDENTIFIER, "The master user (its password is managed by RDS in "
                                                            "Secrets Manager).")
    engine_version: str = setting("16", OneOf(*ENGINE_VERSIONS), "PostgreSQL major version (minor versions are "
                                  "upgraded in the maintenance window).")
    instance_class: str = setting("db.t4g.micro", Text(r"db\.[a-z0-9]+\.[a-z0-9]+", "an RDS instance class such "
                                  "as db.t4g.micro or db.m7g.large"), "The instance size.")
    allocated_storage_gb: int = setting(20, Whole(20, 65536, "(GB)"), "gp3 storage at creation.")
    max_allocated_storage_gb: int = setting(0, Whole(0, 65536, "(GB)"), "Storage autoscaling's ceiling; 0: off.")
    multi_az: bool = setting(False, Boolean(), "A synchronous standby in another AZ, failed over to automatically "
                                               "(doubles the instance and storage price).")
    deletion_protection: bool = setting(False, Boolean(), "Refuse to delete the instance (prod).")
    final_snapshot: bool = setting(False, Boolean(), "Take a snapshot when the instance is deleted; false: none "
                                                     "(dev).")
    backup_retention_days: int = setting(1, Whole(1, 35, "(days)"), "How long automated backups (point-in-time "
                                         "recovery) are kept.")
    performance_insights: bool = setting(False, Boolean(), "Performance Insights (7 days of history, free).")
    monitoring_interval_seconds: int = setting(0, OneOf(*MONITORING_INTERVALS), "Enhanced monitoring's interval "
                                               "(OS metrics to CloudWatch Logs); 0: off.")
    slow_statement_ms: int = setting(1000, Whole(-1, 3600000, "(ms)"), "Statements slower than this are logged "
                                     "(log_min_duration_statement); -1: none.")
    log_retention_days: int = setting(30, Retention(), "Retention of the exported PostgreSQL and upgrade logs.")
    alarm_topic_arn: Optional[pulumi.Input[str]] = wiring("The environment's alarm topic; None: no alarms.",
                                                          default=None)
    cpu_alarm_percent: float = setting(80.0, Number(10, 100, "(%)"), "Average CPU over 15 minutes that alarms.")
    connections_alarm: int = setting(80, Whole(1, 10000), "Database connections that alarm.")
    free_storage_alarm_gb: float = setting(2.0, Number(0.5, 10000, "(GB)"), "Free storage below which it alarms.")
    free_memory_alarm_mb: int = setting(64, Whole(16, 1048576, "(MB)"), "Freeable memory below which it alarms.")

    def check(self) -> None:
        if self.max_allocated_storage_gb and self.max_allocated_storage_gb <= self.allocated_storage_gb:
            raise InvalidArgument("max_allocated_storage_gb", self.max_allocated_storage_gb,
                                  f"0 or more than allocated_storage_gb ({self.allocated_storage_gb})")
        if self.free_storage_alarm_gb >= self.allocated_storage_gb:
            raise InvalidArgument("free_storage_alarm_gb", self.free_storage_alarm_gb,
                                  f"less than allocated_storage_gb ({self.allocated_storage_gb})")
        if self.database_name == self.master_username:
            raise InvalidArgument("master_username", self.master_username, "a name other than database_name")


class PostgresDatabase(pulumi.ComponentResource):
    security_group: aws.ec2.SecurityGroup
    subnet_group: aws.rds.SubnetGroup
    parameter_group: aws.rds.ParameterGroup
    log_groups: list[aws.cloudwatch.LogGroup]
    monitoring_role: Optional[aws.iam.Role]
    instance: aws.rds.Instance
    master_secret_arn: pulumi.Output[str]
    alarms: list[aws.cloudwatch.MetricAlarm]

    def __init__(self, name: str, args: PostgresDatabaseArgs, opts: Optional[pulumi.ResourceOptions] = None):
        if args.client_security_group_id is None:
            raise InvalidArgument("client_security_group_id", None, "the group of the database's clients")
        super().__init__("cloud-patterns:data:PostgresDatabase", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-db", vpc_id=args.vpc_id, description=f"{name}: PostgreSQL, port {args.port} from the "
                                                           f"service's tasks only", opts=child)
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-db-in-clients", security_group_id=self.security_group.id, ip_protocol="tcp", from_port=args.port,
            to_port=args.port, referenced_security_group_id=args.client_security_group_id,
            description="from the service's tasks", opts=pulumi.ResourceOptions(parent=self.security_group))
        self.subnet_group = aws.rds.SubnetGroup(name, subnet_ids=args.subnet_ids,
                                                description=f"{name}: the isolated subnets", opts=child)
        self.parameter_group = aws.rds.ParameterGroup(
            name, family=f"postgres{args.engine_version}", description=f"{name}: TLS only, slow statements logged",
            parameters=[aws.rds.ParameterGroupParameterArgs(name=key, value=value) for key, value in (
                ("rds.force_ssl", "1"), ("ssl_min_protocol_version", "TLSv1.2"),
                ("log_min_duration_statement", str(args.slow_statement_ms)))], opts=child)
        # RDS writes the exports to these names; made first, they have a retention instead of "never expire".
        self.log_groups = [log_group(f"{name}-{kind}", args.log_retention_days, self,
                                     log_group_name=f"/aws/rds/instance/{name}/{kind}") for kind in LOG_EXPORTS]
        self.monitoring_role = self._monitoring_role(name) if args.monitoring_interval_seconds else None
        self.instance = aws.rds.Instance(
            name, identifier=name, engine="postgres", engine_version=args.engine_version,
            instance_class=args.instance_class, allocated_storage=args.allocated_storage_gb,
            max_allocated_storage=args.max_allocated_storage_gb or None, storage_type="gp3", storage_encrypted=True,
            db_name=args.database_name, username=args.master_username, manage_master_user_password=True,
            iam_database_authentication_enabled=True, publicly_accessible=False, port=args.port,
            db_subnet_group_name=self.subnet_group.name, vpc_security_group_ids=[self.security_group.id],
            parameter_group_name=self.parameter_group.name, multi_az=args.multi_az,
            backup_retention_period=args.backup_retention_days, copy_tags_to_snapshot=True,
            deletion_protection=args.deletion_protection, skip_final_snapshot=not args.final_snapshot,
            final_snapshot_identifier=f"{name}-final" if args.final_snapshot else None,
            auto_minor_version_upgrade=True, allow_major_version_upgrade=False,
            enabled_cloudwatch_logs_exports=list(LOG_EXPORTS),
            performance_insights_enabled=args.performance_insights,
            performance_insights_retention_period=7 if args.performance_insights else None,
            monitoring_interval=args.monitoring_interval_seconds,
            monitoring_role_arn=self.monitoring_role.arn if self.monitoring_role else None,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*self.log_groups, *(
                self.monitoring_role.permissions if self.monitoring_role else [])]))
        self.master_secret_arn = self.instance.master_user_secrets.apply(lambda secrets: secrets[0].secret_arn)
        self.alarms = [] if args.alarm_topic_arn is None else self._alarms(name, args, args.alarm_topic_arn)
        self.register_outputs({"endpoint": self.instance.endpoint, "address": self.instance.address,
                               "resource_id": self.instance.resource_id, "master_secret_arn": self.master_secret_arn})

    def connect_arn(self, user: str) -> pulumi.Output[str]:
        """What ``rds-db:connect`` names to let a role sign in as ``user`` (and as nobody else) with IAM tokens."""
        return iam.arn_of("rds-db", pulumi.Output.concat("dbuser:", self.instance.resource_id, "/", user), self)

    def _monitoring_role(self, name: str) -> aws.iam.Role:
        """What enhanced monitoring may do: write OS metrics to the ``RDSOSMetrics`` log group only (the actions
        of AWS's managed ``AmazonRDSEnhancedMonitoringRole``, on its one group)."""
        group = iam.arn_of("logs", "log-group:RDSOSMetrics", self)
        policy = iam.policy_document([
            iam.statement(["logs:CreateLogGroup", "logs:PutRetentionPolicy"], [group], sid="MetricsGroup"),
            iam.statement(["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams",
                           "logs:GetLogEvents"], [pulumi.Output.concat(group, ":log-stream:*")], sid="MetricsStreams")],
            self)
        return iam.service_role(f"{name}-monitoring", "monitoring.rds.amazonaws.com", policy, self,
                                f"Enhanced monitoring of {name}: writes its OS metrics")

    def _alarms(self, name: str, args: PostgresDatabaseArgs, topic: pulumi.Input[str]) -> list:
        db = {"DBInstanceIdentifier": self.instance.identifier}

        def alarm(suffix: str, metric: str, threshold: float, comparison: str, description: str, periods: int = 3):
            return alarms.metric_alarm(f"{name}-{suffix}", self, topic, namespace="AWS/RDS", metric=metric,
                                       dimensions=db, statistic="Average", period_seconds=300,
                                       evaluation_periods=periods, threshold=threshold, comparison=comparison,
                                       description=f"{name}: {description}")
        return [
            alarm("cpu", "CPUUtilization", args.cpu_alarm_percent, "GreaterThanThreshold",
                  f"CPU above {args.cpu_alarm_percent:g} % for 15 minutes"),
            alarm("connections", "DatabaseConnections", args.connections_alarm, "GreaterThanThreshold",
                  f"more than {args.connections_alarm} connections"),
            alarm("free-storage", "FreeStorageSpace", args.free_storage_alarm_gb * GIB, "LessThanThreshold",
                  f"less than {args.free_storage_alarm_gb:g} GB of storage free", periods=1),
            alarm("free-memory", "FreeableMemory", args.free_memory_alarm_mb * 1024 ** 2, "LessThanThreshold",
                  f"less than {args.free_memory_alarm_mb} MB of memory free"),
        ]
