import pytest

from tests.auth_sidecar.alb_auth_support import KeyServer, SigningKey
from tests.conftest import run_program


@pytest.fixture
def key_server():
    server = KeyServer()
    yield server
    server.stop()


@pytest.fixture
def signing_key(key_server) -> SigningKey:
    return key_server.publish(SigningKey())


@pytest.fixture(scope="session")
def upstream_outputs(network_outputs) -> dict[str, dict]:
    """The outputs of the two stacks this one reads: a dev-style network and an alerts topic."""
    alerts = run_program("alerts", {"alerts": {"emails": ["ops@example.com"]}})
    return {**network_outputs, "test-alerts": alerts.outputs}
