"""The api-backend program under the mock engine over planned network and alerts stacks: its exports are what the
secure API's VPC link integration needs, the dev-sized database and service, and config errors refused with
their keys before any resource."""
from __future__ import annotations

import pytest

from planning.mocks import ProviderMocks
from planning.offline import RecordingMonitor
from programs.common import ConfigError
from runtime.items_service import contract
from tests.conftest import run_program

UPSTREAM = {"network": "test-network", "alerts": "test-alerts"}
DEV = {"api_backend": {"cpu": 256, "memory_mb": 512, "desired_count": 1, "force_destroy": True},
       "api_backend_database": {"instance_class": "db.t4g.micro", "allocated_storage_gb": 20}}


@pytest.fixture(scope="module")
def upstream_outputs(network_outputs):
    alerts = run_program("alerts", {"alerts": {"emails": ["ops@example.com"]}}).outputs
    return {**network_outputs, "test-alerts": alerts}


def plan_stack(upstream_outputs, config=DEV, monitor=None):
    return run_program("api-backend", config, upstream=UPSTREAM, upstream_outputs=upstream_outputs,
                       short_name="api-backend", monitor=monitor)


@pytest.fixture(scope="module")
def plan(upstream_outputs):
    return plan_stack(upstream_outputs)


def test_exports_what_the_secure_api_and_the_dashboard_read(plan):
    outputs = plan.outputs
    assert ":listener/net/" in outputs["listener_arn"]
    [link] = plan.of_type("aws:apigatewayv2/vpcLink:VpcLink")
    assert outputs["vpc_link_id"] and link.inputs["name"] == "test-api-backend"
    assert outputs["db_endpoint"].endswith(".rds.amazonaws.com:5432")
    assert outputs["db_resource_id"].startswith("db-")
    assert ":secret:rds!db-" in outputs["db_master_secret_arn"]
    assert outputs["service_name"] and len(outputs["dashboard_widgets"]) > 8


def test_the_database_is_the_items_database_on_the_networks_data_port(plan, upstream_outputs):
    [db] = plan.of_type("aws:rds/instance:Instance")
    network = upstream_outputs["test-network"]
    assert (db.inputs["dbName"], db.inputs["username"], db.inputs["port"]) == (
        contract.DB_NAME, contract.DB_MASTER_USER, network["data_port"])
    assert db.inputs["instanceClass"] == "db.t4g.micro"


@pytest.mark.parametrize(("config", "key"), [
    ({"api_backend": {"container_port": 9090}}, "api_backend.container_port"),
    ({"api_backend": {"desired_count": 0}}, "api_backend.desired_count"),
    ({"api_backend_database": {"database_name": "other"}}, "api_backend_database.database_name"),
    ({"api_backend_database": {"backup_retention_days": 0}}, "api_backend_database.backup_retention_days"),
    ({"api_backend_database": {"multi_az": "yes"}}, "api_backend_database.multi_az"),
])
def test_bad_config_is_refused_naming_its_key_before_any_resource(upstream_outputs, config, key):
    monitor = RecordingMonitor(ProviderMocks())
    with pytest.raises(ConfigError, match=f"cloud-patterns:{key}:"):
        plan_stack(upstream_outputs, config, monitor)
    assert [r for r in monitor.recorded if r.custom and r.type != "pulumi:pulumi:StackReference"] == []
