"""Stack ``<env>-api-backend``: the secure API's private backend, Private-Service pattern (issue #18).

The items service (``runtime/items_service/``) on Fargate behind an internal NLB that only the API's VPC link
reaches, with its own RDS PostgreSQL in the network's isolated subnets. Reads the ``network`` stack (private
and isolated subnets, where tasks run, the app and data ports) and ``alerts``; the secure API reads this
stack's ``vpc_link_id`` and ``listener_arn``. Settings: ``cloud-patterns:api_backend`` (the service) and
``cloud-patterns:api_backend_database`` (the database).
"""
from __future__ import annotations

import pulumi

from components.dashboard import OUTPUT, widgets
from components.database import PostgresDatabaseArgs
from components.private_service import DatabaseVariables, PrivateService, PrivateServiceArgs
from programs.common import (ConfigError, PROJECT, Section, environment, require_app_port, task_placement,
                             upstream, upstream_value)
from runtime.items_service import contract

SERVICE = Section("api_backend", PrivateServiceArgs, fixed=("container_port", "health_check_path"))
DATABASE = Section("api_backend_database", PostgresDatabaseArgs, fixed=("port", "database_name", "master_username"))
VARIABLES = DatabaseVariables(host=contract.ENV_DB_HOST, port=contract.ENV_DB_PORT, name=contract.ENV_DB_NAME,
                              master_user=contract.ENV_DB_MASTER_USER, master_password=contract.ENV_DB_MASTER_PASSWORD)


def main() -> None:
    network, alerts = upstream("network"), upstream("alerts")
    placement, name, topic = task_placement(network), f"{environment()}-api-backend", alerts.require_output("topic_arn")
    data_port = upstream_value(network, "data_port")
    if data_port is None:
        raise ConfigError(f"{PROJECT}:upstream.network: its output data_port is not known yet; deploy the network "
                          f"stack before the api-backend stack")
    require_app_port(network, SERVICE.name, "container_port", contract.PORT)
    database = DATABASE.load(vpc_id=network.require_output("vpc_id"), port=int(data_port),
                             subnet_ids=network.require_output("isolated_subnet_ids"), database_name=contract.DB_NAME,
                             master_username=contract.DB_MASTER_USER, alarm_topic_arn=topic)
    args = SERVICE.load(
        vpc_id=network.require_output("vpc_id"), private_subnet_ids=network.require_output("private_subnet_ids"),
        task_subnet_ids=placement.subnet_ids, assign_public_ip=placement.assign_public_ip, database=database,
        database_variables=VARIABLES, database_user=contract.DB_APP_USER, dockerfile=contract.DOCKERFILE,
        container_port=contract.PORT, health_check_path=contract.HEALTH_PATH, alarm_topic_arn=topic, environment={
            contract.ENV_DB_USER: contract.DB_APP_USER, contract.ENV_DB_AUTH: "iam",
            contract.ENV_DB_SSLMODE: "verify-full", contract.ENV_SERVICE: name})
    service = PrivateService(name, args)

    pulumi.export("vpc_link_id", service.vpc_link.id)
    pulumi.export("listener_arn", service.load_balancer.listener.arn)
    pulumi.export("db_endpoint", service.database.instance.endpoint)
    pulumi.export("db_resource_id", service.database.instance.resource_id)
    pulumi.export("db_master_secret_arn", service.database.master_secret_arn)
    pulumi.export("service_name", service.service.service.name)
    pulumi.export(OUTPUT, widgets(service.alarms, rules=[(service.failed_task_rule, "tasks stopped with a failed "
                                                                                    "container")]))
