"""Every client mistake gets a 4xx with a JSON error, bodies and counts are bounded: the API through Flask's
test client, on a node whose threads are not started (nothing here needs a peer or a miner)."""
from __future__ import annotations

import io

import pytest

from runtime.blockchain import contract
from runtime.blockchain.app import create_app
from runtime.blockchain.chain import GENESIS, block_hash
from runtime.blockchain.contract import Settings
from runtime.blockchain.metrics import Metrics
from runtime.blockchain.node import Node


@pytest.fixture()
def node():
    return Node(Settings(difficulty=2), port=3000, metrics=Metrics("test", "test", 60, stream=io.StringIO()))


@pytest.fixture()
def client(node):
    return create_app(node).test_client()


GENESIS_HASH = block_hash(GENESIS).encode()
GOOD = {"sender": "alice", "recipient": "bob", "amount": 5}


@pytest.mark.parametrize("method, path, body, status, message", [
    ("post", "/chain/new", b"not json", 400, "must be JSON"),
    ("post", "/chain/new", b'{"sender": "a", "recipient": "b", "amount": NaN}', 400, "must be JSON"),
    ("post", "/chain/new", b'["a"]', 400, "JSON object"),
    ("post", "/chain/new", b'{"sender": "a", "recipient": "b"}', 400, "missing amount"),
    ("post", "/chain/new", b'{"sender": "a", "recipient": "b", "amount": -1}', 400, "amount must be"),
    ("post", "/chain/new", b'{"sender": "0", "recipient": "b", "amount": 1}', 400, "reserved"),
    ("post", "/chain/new", b'{"sender": "' + b"a" * 20000 + b'"}', 413, "larger than this endpoint's 16384"),
    ("post", "/nodes/register", b'{"nodes": "http://127.0.0.1:3001"}', 400, "peer URLs"),
    ("post", "/nodes/register", b'{"nodes": []}', 400, "1 to 16"),
    ("post", "/nodes/register", b'{"peers": ["http://127.0.0.1:3001"]}', 400, "1 to 16"),
    ("post", "/nodes/register", b'{"nodes": ["http://127.0.0.1:3001", "file:///etc/passwd"]}', 400, "a peer is http"),
    ("post", "/nodes/register", b'{"nodes": ["http://169.254.170.2:80"]}', 400, "peers must be in"),
    ("post", "/nodes/blocks", b'{"block": {"index": 2, "previous_hash": "%s"}}' % GENESIS_HASH, 400,
     "a block has exactly"),
    ("post", "/nodes/blocks", b'{"block": {"index": "2"}}', 400, "has an index"),
    ("post", "/nodes/blocks", b'{"block": "x"}', 400, "block refused"),
    ("post", "/nodes/transactions", b'{"transactions": []}', 400, "1 to 500"),
    ("post", "/nodes/transactions", b'{"transactions": [{"id": "x", "sender": "a", "recipient": "b", "amount": 1}]}',
     400, "32 lowercase hex"),
    ("get", "/chain?from=0", None, 400, "from must be a whole number from 1"),
    ("get", "/chain?from=abc", None, 400, "from must be"),
    ("get", "/chain?from=%C2%B2", None, 400, "from must be"),
    ("get", "/chain/mine?wait=31", None, 400, "wait must be a whole number from 0 to 30"),
    ("get", "/chain/mine/7", None, 404, "no mining job 7"),
    ("get", "/nowhere", None, 404, "not found"),
    ("delete", "/chain", None, 405, "not allowed"),
])
def test_client_mistakes_are_4xx_with_a_json_error(client, method, path, body, status, message):
    response = getattr(client, method)(path, data=body, content_type="application/json")
    assert response.status_code == status
    assert message.lower() in response.get_json()["error"].lower()


def test_a_registration_of_more_than_sixteen_nodes_is_refused(client):
    urls = [f"http://127.0.0.1:{3000 + n}" for n in range(17)]
    response = client.post("/nodes/register", json={"nodes": urls})
    assert response.status_code == 400 and "1 to 16" in response.get_json()["error"]


def test_a_full_peer_table_answers_409_and_keeps_the_peers(client, node):
    for start in range(0, contract.MAX_PEERS, 16):
        assert client.post("/nodes/register", json={
            "nodes": [f"http://127.0.0.1:{4000 + n}" for n in range(start, start + 16)]}).status_code == 201
    response = client.post("/nodes/register", json={"nodes": ["http://127.0.0.1:9999"]})
    assert response.status_code == 409 and "at most 64 peers" in response.get_json()["error"]
    assert len(client.get("/nodes/").get_json()["nodes"]) == contract.MAX_PEERS
    # registering known peers again is not growth
    assert client.post("/nodes/register", json={"nodes": ["http://127.0.0.1:4000"]}).status_code == 201


def test_a_full_pool_answers_503_with_retry_after_and_loses_nothing(client, node, monkeypatch):
    monkeypatch.setattr("runtime.blockchain.node.MAX_PENDING", 3)
    for _ in range(3):
        assert client.post("/chain/new", json=GOOD).status_code == 201
    response = client.post("/chain/new", json=GOOD)
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert node.summary()["pending"] == 3


def test_a_syncing_node_is_unhealthy_and_does_not_mine(client, node):
    health = client.get("/healthz")
    assert health.status_code == 503 and health.get_json()["status"] == "syncing"
    response = client.get("/chain/mine")
    assert response.status_code == 503 and "syncing" in response.get_json()["error"]
    node.synced.set()
    assert client.get("/healthz").get_json() == {"status": "ok", "length": 1, "pending": 0, "peers": 0,
                                                 "last_hash": node.summary()["last_hash"]}


def test_the_seeds_endpoints_answer_in_the_seeds_shapes(client):
    created = client.post("/chain/new", json=GOOD)
    assert created.status_code == 201
    assert created.get_json()["message"] == "Transaction will be added to Block 2"
    transaction = created.get_json()["transaction"]
    assert {k: transaction[k] for k in GOOD} == GOOD and len(transaction["id"]) == 32
    chain = client.get("/chain").get_json()
    assert chain["length"] == 1 and chain["chain"][0]["previous_hash"] == "0" * 64
    assert client.get("/chain?from=2").get_json() == {"chain": [], "length": 1, "from": 2}
    assert client.get("/nodes").get_json() == client.get("/nodes/").get_json() == {"nodes": []}
    registered = client.post("/nodes/register", json={"nodes": ["http://127.0.0.1:3001/"]})
    assert registered.get_json() == {"message": "New nodes have been added", "total_nodes": ["http://127.0.0.1:3001"]}
    assert client.get("/chain").headers["X-Content-Type-Options"] == "nosniff"
