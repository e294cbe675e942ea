import pytest

from tests.auth_sidecar.alb_auth_support import KeyServer, SigningKey


@pytest.fixture
def key_server():
    server = KeyServer()
    yield server
    server.stop()


@pytest.fixture
def signing_key(key_server) -> SigningKey:
    return key_server.publish(SigningKey())
