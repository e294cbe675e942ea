"""What the private backend's tests share: a PrivateService's arguments over a planned network, and its plans."""
from __future__ import annotations

import pytest

from components.database import PostgresDatabaseArgs
from components.private_service import DatabaseVariables, PrivateService, PrivateServiceArgs
from runtime.items_service import contract
from tests.conftest import run_components

VARIABLES = DatabaseVariables(host=contract.ENV_DB_HOST, port=contract.ENV_DB_PORT, name=contract.ENV_DB_NAME,
                              master_user=contract.ENV_DB_MASTER_USER, master_password=contract.ENV_DB_MASTER_PASSWORD)
TOPIC = "arn:aws:sns:us-east-1:123456789012:alerts"


def service_args(network: dict, **database) -> PrivateServiceArgs:
    db = PostgresDatabaseArgs(vpc_id=network["vpc_id"], subnet_ids=network["isolated_subnet_ids"],
                              port=network["data_port"], database_name=contract.DB_NAME,
                              master_username=contract.DB_MASTER_USER, alarm_topic_arn=TOPIC, **database)
    return PrivateServiceArgs(
        vpc_id=network["vpc_id"], private_subnet_ids=network["private_subnet_ids"],
        task_subnet_ids=network["task_subnet_ids"], assign_public_ip=network["task_assign_public_ip"],
        database=db, database_variables=VARIABLES, database_user=contract.DB_APP_USER,
        dockerfile=contract.DOCKERFILE, container_port=contract.PORT, health_check_path=contract.HEALTH_PATH,
        desired_count=1, cpu=256, memory_mb=512, alarm_topic_arn=TOPIC,
        environment={contract.ENV_DB_USER: contract.DB_APP_USER, contract.ENV_DB_AUTH: "iam"})


@pytest.fixture(scope="module")
def network(network_outputs):
    return network_outputs["test-network"]


def plan_of(args: PrivateServiceArgs):
    return run_components(lambda: PrivateService("test-backend", args))


@pytest.fixture(scope="module")
def plan(network):
    return plan_of(service_args(network))


@pytest.fixture(scope="module")
def prod_plan(network):
    return plan_of(service_args(network, multi_az=True, deletion_protection=True, final_snapshot=True,
                                backup_retention_days=7, performance_insights=True, monitoring_interval_seconds=60))


