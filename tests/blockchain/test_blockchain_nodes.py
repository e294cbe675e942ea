"""Real nodes on loopback agree on one chain: three register each other, take transactions on one, mine on
another and resolve to one identical chain; a tampered chain offered by a peer is refused; a fourth node
joining late syncs before it reports healthy; a node started cold recovers the chain from the S3 checkpoint
(moto); mining never holds up requests; the nodes emit their metrics as EMF."""
from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest

from runtime.blockchain import chain as rules
from runtime.blockchain.contract import CHECKPOINT_KEY
from tests.blockchain.blockchain_support import DIFFICULTY, start, stop_all, wait_for, wait_healthy, wait_listening
from tests.conftest import moto_server

BUCKET = "test-blockchain-checkpoints"


@pytest.fixture(scope="module")
def s3():
    with moto_server() as endpoint:
        env = {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_DEFAULT_REGION": "us-east-1", "BLOCKCHAIN_BUCKET": BUCKET}
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                              aws_secret_access_key="testing")
        client.create_bucket(Bucket=BUCKET)
        yield client, env


@pytest.fixture(scope="module")
def nodes(s3):
    """Three nodes that start knowing no peers (the test registers them with each other), sharing the bucket."""
    _, env = s3
    started = [start(name, env=env) for name in ("a", "b", "c")]
    try:
        wait_listening(*started)
        for node in started:
            wait_healthy(node)
        for node in started:
            others = [n.url for n in started if n is not node]
            response = node.post("/nodes/register", {"nodes": others})
            assert response.status_code == 201, response.text
        yield started
    finally:
        stop_all(started)


def resolve_everywhere(nodes) -> None:
    for node in nodes:
        assert node.get("/nodes/resolve").status_code == 200


def transaction_ids(blocks) -> list[str]:
    return [t["id"] for b in blocks for t in b["transactions"] if t["sender"] != "0"]


def test_registered_nodes_know_each_other(nodes):
    for node in nodes:
        assert node.get("/nodes/").json()["nodes"] == sorted(n.url for n in nodes if n is not node)


def test_transactions_posted_to_one_and_mined_on_another_end_in_one_chain_everywhere(nodes):
    a, b, c = nodes
    posted = []
    for amount in (5, 2.5, 100):
        response = a.post("/chain/new", {"sender": "alice", "recipient": "bob", "amount": amount})
        assert response.status_code == 201, response.text
        posted.append(response.json()["transaction"]["id"])
    # announced to the peers off the request path: c has them to mine
    wait_for(lambda: c.health()[1]["pending"] >= 3, 10, "the transactions never reached c")
    mined = c.get("/chain/mine", params={"wait": 30})
    assert mined.status_code == 201, mined.text
    assert set(posted) <= {t["id"] for t in mined.json()["transactions"]}
    resolve_everywhere(nodes)
    chains = [node.chain() for node in nodes]
    assert chains[0] == chains[1] == chains[2]
    assert set(posted) <= set(transaction_ids(chains[0]))
    assert chains[0][-1]["index"] == mined.json()["index"]
    assert all(node.health()[1]["pending"] == 0 for node in nodes)


def test_nodes_that_mine_at_once_converge_and_lose_no_transaction(nodes):
    posted = [node.post("/chain/new", {"sender": f"s{i}", "recipient": "r", "amount": i + 1}).json()["transaction"]["id"]
              for i, node in enumerate(nodes)]
    with ThreadPoolExecutor(3) as pool:  # three blocks at one height: a fork the tie-break settles
        answers = list(pool.map(lambda node: node.get("/chain/mine", params={"wait": 30}), nodes))
    assert [r.status_code for r in answers] == [201] * 3
    resolve_everywhere(nodes)
    chains = [node.chain() for node in nodes]
    assert chains[0] == chains[1] == chains[2]
    # the transactions of a block that lost the tie-break went back to pending: one more block takes them
    if any(node.health()[1]["pending"] for node in nodes):
        assert nodes[0].get("/chain/mine", params={"wait": 30}).status_code == 201
        resolve_everywhere(nodes)
    final = nodes[0].chain()
    assert set(posted) <= set(transaction_ids(final))
    assert len(transaction_ids(final)) == len(set(transaction_ids(final)))  # none twice
    assert [node.chain() for node in nodes[1:]] == [final, final]


# --- a peer offering a tampered chain -----------------------------------------------------------------------

class FakePeer:
    """A peer run by the test that answers GET /chain with whatever chain it is given (honouring ?from)."""

    def __init__(self):
        self.blocks: list[dict] = []
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                first = int(parse_qs(urlsplit(self.path).query).get("from", ["1"])[0])
                body = json.dumps({"chain": peer.blocks[first - 1:], "length": len(peer.blocks)}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def mine_on(blocks: list[dict], count: int, transactions=()) -> list[dict]:
    """``count`` valid blocks on top of ``blocks``, mined by the test with the chain's own rules."""
    blocks = [dict(b) for b in blocks]
    for n in range(count):
        parent = blocks[-1]
        block = rules.new_block(parent, rules.block_hash(parent),
                                [*(transactions if n == 0 else ()), rules.reward(f"{len(blocks):032x}", "forger")],
                                time.time())
        block["proof"] = rules.search(rules.header(block), DIFFICULTY, 0, 10 ** 7)
        blocks.append(block)
    return blocks


def forged_without_work(blocks: list[dict]) -> list[dict]:
    parent = blocks[-1]
    block = rules.new_block(parent, rules.block_hash(parent), [rules.reward("f" * 32, "forger")], time.time())
    block["proof"] = next(p for p in range(1000) if not rules.meets(rules.block_hash({**block, "proof": p}), DIFFICULTY))
    return [*blocks, block]


def amount_rewritten(blocks: list[dict]) -> list[dict]:
    """A longer valid chain in which one earlier transfer's amount was raised afterwards, and that block's proof
    of work redone: the blocks after it still name the old block's hash."""
    longer = mine_on(blocks, 3, [{"id": "e" * 32, "sender": "mallory", "recipient": "mallory", "amount": 1}])
    target = len(blocks)  # the first block the forger mined
    rewritten = {**longer[target], "transactions": [{**longer[target]["transactions"][0], "amount": 10 ** 6},
                                                    *longer[target]["transactions"][1:]]}
    rewritten["proof"] = rules.search(rules.header(rewritten), DIFFICULTY, 0, 10 ** 7)
    longer[target] = rewritten
    return longer


def replayed(blocks: list[dict]) -> list[dict]:
    """A longer chain (with real work) that includes a transaction the chain already holds."""
    old = next(t for b in blocks for t in b["transactions"] if t["sender"] != "0")
    return mine_on(blocks, 2, [dict(old)])


def foreign_genesis(blocks: list[dict]) -> list[dict]:
    other = {**rules.GENESIS, "previous_hash": "1" * 64}
    return mine_on([other], len(blocks) + 2)


@pytest.mark.parametrize("tamper, reason", [
    (forged_without_work, "does not start with 2 zeros"),
    (amount_rewritten, "previous_hash is not the hash of block"),
    (replayed, "a transaction id appears twice"),
    (foreign_genesis, "not this network's genesis"),
])
def test_a_tampered_chain_offered_by_a_peer_is_refused(nodes, tamper, reason):
    _, b, _ = nodes
    if b.get("/chain").json()["length"] < 2:
        b.post("/chain/new", {"sender": "alice", "recipient": "carol", "amount": 1})
        assert b.get("/chain/mine", params={"wait": 30}).status_code == 201
    honest = b.chain()
    peer = FakePeer()
    try:
        peer.blocks = tamper(honest)
        assert len(peer.blocks) > len(honest)
        assert b.post("/nodes/register", {"nodes": [peer.url]}).status_code == 201
        answer = b.get("/nodes/resolve").json()
        assert answer["replaced"] is False
        assert b.chain()[:len(honest)] == honest and len(b.chain()) < len(peer.blocks)
        wait_for(lambda: any(reason in line and peer.url in line for line in b.log), 5, "no refusal logged")
    finally:
        peer.close()


def test_the_same_peer_with_an_untampered_longer_chain_is_followed(nodes):
    _, b, _ = nodes
    peer = FakePeer()
    try:
        peer.blocks = mine_on(b.chain(), 2)
        assert b.post("/nodes/register", {"nodes": [peer.url]}).status_code == 201
        answer = b.get("/nodes/resolve").json()
        assert answer["replaced"] is True and b.chain() == peer.blocks
    finally:
        peer.close()
    resolve_everywhere(nodes)
    assert nodes[0].chain() == nodes[2].chain() == b.chain()


def test_an_announced_block_without_proof_of_work_is_refused(nodes):
    a = nodes[0]
    forged = forged_without_work(a.chain())[-1]
    response = a.post("/nodes/blocks", {"block": forged})
    assert response.status_code == 400 and "no proof of work" in response.json()["error"]
    assert a.chain()[-1] != forged


# --- a node joining late, a cold start ------------------------------------------------------------------------

def test_a_node_joining_late_syncs_before_it_reports_healthy(nodes):
    a = nodes[0]
    a.post("/chain/new", {"sender": "dave", "recipient": "erin", "amount": 3})
    assert a.get("/chain/mine", params={"wait": 30}).status_code == 201
    resolve_everywhere(nodes)
    expected = a.chain()
    late = start("d", peers=[n.url for n in nodes])
    try:
        wait_listening(late)
        first_healthy = wait_healthy(late)
        assert first_healthy["length"] == len(expected)  # never healthy with a shorter chain
        assert late.chain() == expected
        for node in nodes:  # it registered itself with its peers at start
            wait_for(lambda node=node: late.url in node.get("/nodes/").json()["nodes"], 10, "d not registered")
        mined = late.get("/chain/mine", params={"wait": 30}).json()
        # its block is announced to its peers: they append it without being asked to resolve
        wait_for(lambda: all(n.chain()[-1]["index"] == mined["index"] for n in nodes), 10, "block not announced")
        assert all(n.chain() == late.chain() for n in nodes)
    finally:
        late.stop()


def test_a_cold_start_recovers_the_chain_and_pending_transactions_from_the_checkpoint(nodes, s3):
    client, env = s3
    a = nodes[0]
    a.post("/chain/new", {"sender": "frank", "recipient": "grace", "amount": 7})
    assert a.get("/chain/mine", params={"wait": 30}).status_code == 201
    waiting = a.post("/chain/new", {"sender": "heidi", "recipient": "ivan", "amount": 9}).json()["transaction"]
    expected = a.chain()

    def checkpoint():
        document = json.loads(client.get_object(Bucket=BUCKET, Key=CHECKPOINT_KEY)["Body"].read())
        return document if document["chain"] == expected and waiting in document["pending"] else None

    wait_for(checkpoint, 10, "the checkpoint never caught up")
    cold = start("cold", env=env)  # no peers at all: every task was replaced
    try:
        wait_listening(cold)
        assert wait_healthy(cold)["length"] == len(expected)
        assert cold.chain() == expected
        assert cold.health()[1]["pending"] == 1
        mined = cold.get("/chain/mine", params={"wait": 30}).json()
        assert waiting["id"] in [t["id"] for t in mined["transactions"]]
    finally:
        cold.stop()


# --- mining off the request path, metrics -----------------------------------------------------------------

def test_mining_runs_off_the_request_path():
    node = start("busy", env={"BLOCKCHAIN_DIFFICULTY": "7"})  # about 270 million hashes: it never finishes here
    try:
        wait_listening(node)
        wait_healthy(node)
        started = time.monotonic()
        response = node.get("/chain/mine")
        assert response.status_code == 202 and time.monotonic() - started < 2
        job = response.json()["job"]
        wait_for(lambda: node.get(f"/chain/mine/{job}").json()["status"] == "running", 10, "never mined")
        for _ in range(5):
            started = time.monotonic()
            assert node.get("/chain").status_code == 200 and node.health()[0] == 200
            assert node.post("/chain/new", {"sender": "a", "recipient": "b", "amount": 1}).status_code == 201
            assert time.monotonic() - started < 2, "a request waited for the miner"
        assert node.get(f"/chain/mine/{job}").json()["status"] == "running"
        assert node.get("/chain/mine").json()["job"] == job + 1  # requests while it mines share the next round
        assert node.get("/chain/mine").json()["job"] == job + 1
    finally:
        node.stop()


def test_each_node_emits_its_metrics_in_embedded_metric_format(nodes):
    miner = nodes[1]
    miner.post("/chain/new", {"sender": "judy", "recipient": "ken", "amount": 2})
    assert miner.get("/chain/mine", params={"wait": 30}).status_code == 201
    length = miner.health()[1]["length"]

    def emitted():
        lines = miner.metrics()
        return lines if any(line.get("Blocks") == [float(length)] for line in lines) else None

    lines = wait_for(emitted, 10, "no EMF line with the chain's length")
    for line in lines:
        [directive] = line["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "CloudPatterns/Blockchain" and directive["Dimensions"] == [["service"]]
        assert line["service"] == "b"
        assert {m["Name"] for m in directive["Metrics"]} >= {"Blocks", "MiningSuccesses", "MiningFailures",
                                                            "Transactions", "TransactionsPerSecond"}
    total = {name: sum(sum(line.get(name, [])) for line in lines)
             for name in ("MiningSuccesses", "Transactions", "TransactionsPerSecond")}
    assert total["MiningSuccesses"] >= 1 and total["Transactions"] >= 1 and total["TransactionsPerSecond"] > 0
    times = [v for line in lines for v in line.get("TimeToMine", [])]
    assert times and all(v > 0 for v in times)
    units = {m["Name"]: m["Unit"] for line in lines for m in line["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert units["TimeToMine"] == units["TimeToResolve"] == "Milliseconds"
    assert units["TransactionsPerSecond"] == "Count/Second"
