"""The chain's rules (proof of work, validation, the order of chains), the contract's parsers, rounds and the
S3 checkpoint (moto), without servers."""
from __future__ import annotations

import threading
import time

import boto3
import pytest
from moto import mock_aws

from runtime.blockchain import chain as rules
from runtime.blockchain.checkpoint import LENGTH, Checkpoint
from runtime.blockchain.contract import (CHECKPOINT_KEY, MAX_BLOCK_TRANSACTIONS, Settings, parse_networks,
                                         peer_url)
from runtime.blockchain.rounds import Rounds

D = 2
LOCAL = parse_networks("127.0.0.0/8")


def mined(blocks, transactions=(), miner="m", difficulty=D, at=None):
    parent = blocks[-1]
    block = rules.new_block(parent, rules.block_hash(parent),
                            [*transactions, rules.reward(f"{len(blocks):032x}", miner)], at or time.time())
    block["proof"] = rules.search(rules.header(block), difficulty, 0, 10 ** 7)
    return [*blocks, block]


def transfer(n: int) -> dict:
    return {"id": f"{n:032x}", "sender": "alice", "recipient": "bob", "amount": n}


@pytest.fixture(scope="module")
def chain():
    blocks = [rules.GENESIS]
    for n in range(3):
        blocks = mined(blocks, [transfer(10 + n)])
    return blocks


def test_a_mined_chain_is_valid_and_each_hash_meets_the_difficulty(chain):
    hashes = rules.check_chain(chain, D, max_blocks=100)
    assert hashes == [rules.block_hash(b) for b in chain]
    assert all(h.startswith("00") for h in hashes[1:])
    assert [b["index"] for b in chain] == [1, 2, 3, 4]


def test_the_proof_of_work_covers_every_field_of_the_block(chain):
    block = chain[1]
    for change in ({"timestamp": block["timestamp"] + 1}, {"previous_hash": "1" * 64},
                   {"transactions": [{**block["transactions"][0], "amount": 11}, block["transactions"][1]]}):
        assert rules.block_hash({**block, **change}) != rules.block_hash(block)


def test_search_finds_the_first_proof_in_its_range_or_none():
    header = rules.header({**rules.GENESIS, "index": 2})
    proof = rules.search(header, 2, 0, 10 ** 6)
    assert rules.meets(rules.block_hash({**rules.GENESIS, "index": 2, "proof": proof}), 2)
    assert all(not rules.meets(rules.block_hash({**rules.GENESIS, "index": 2, "proof": p}), 2) for p in range(proof))
    assert rules.search(header, 2, 0, proof) is None


@pytest.mark.parametrize("tamper, message", [
    (lambda c: [{**c[0], "timestamp": 1}, *c[1:]], "genesis"),
    (lambda c: [c[0], {**c[1], "proof": c[1]["proof"] + 1}, *c[2:]], "does not start with 2 zeros"),
    (lambda c: [c[0], c[2], c[1], c[3]], "does not follow"),
    (lambda c: [c[0], c[1], {**c[2], "index": 3.0}, c[3]], "does not follow"),
    (lambda c: c[:2] + [{**c[2], "extra": 1}], "a block has exactly"),
    (lambda c: c[:2] + [{**c[2], "timestamp": c[1]["timestamp"] - 5}], "timestamp"),
    (lambda c: c[:1] + [{**c[1], "transactions": c[1]["transactions"][:1]}], "ends with its reward"),
    (lambda c: [], "a chain is a list"),
])
def test_a_broken_chain_is_refused_saying_why(chain, tamper, message):
    with pytest.raises(rules.InvalidChain, match=message):
        rules.check_chain(tamper(chain), D, max_blocks=100)


def test_future_blocks_replayed_transactions_and_oversized_blocks_are_refused(chain):
    with pytest.raises(rules.InvalidChain, match="in the future"):
        rules.check_chain(mined(chain, at=time.time() + 3600), D, max_blocks=100)
    with pytest.raises(rules.InvalidChain, match="appears twice"):
        rules.check_chain(mined(chain, [transfer(10)]), D, max_blocks=100)
    too_many = [transfer(1000 + n) for n in range(MAX_BLOCK_TRANSACTIONS + 1)]
    with pytest.raises(rules.InvalidChain, match="1 to 501 transactions"):
        rules.check_chain(mined(chain, too_many), D, max_blocks=100)
    with pytest.raises(rules.InvalidChain, match="1 to 3 blocks"):
        rules.check_chain(chain, D, max_blocks=3)


def test_the_difficulty_is_part_of_the_rules(chain):
    with pytest.raises(rules.InvalidChain, match="does not start with 6 zeros"):
        rules.check_chain(chain, 6, max_blocks=100)


def test_blocks_above_a_checked_prefix_are_checked_against_it(chain):
    hashes = rules.check_chain(chain, D, max_blocks=100)
    longer = mined(chain, [transfer(99)])
    ids = {t["id"] for b in chain for t in b["transactions"]}
    assert rules.check_chain(longer[4:], D, base=chain, base_hashes=hashes, base_ids=ids, max_blocks=100) == \
        [*hashes, rules.block_hash(longer[4])]
    with pytest.raises(rules.InvalidChain, match="appears twice"):
        rules.check_chain(mined(chain, [transfer(11)])[4:], D, base=chain, base_hashes=hashes, base_ids=ids,
                          max_blocks=100)


def test_every_node_orders_two_chains_the_same_way():
    assert rules.better(5, "ff", 4, "00") and not rules.better(4, "00", 5, "ff")
    assert rules.better(5, "0a", 5, "0b") and not rules.better(5, "0b", 5, "0a")
    assert not rules.better(5, "0a", 5, "0a")


@pytest.mark.parametrize("fields, message", [
    ([1], "JSON object"),
    ({"sender": "a", "recipient": "b"}, "missing amount"),
    ({"sender": "a", "recipient": "b", "amount": 1, "fee": 1}, "unknown fee"),
    ({"sender": "0", "recipient": "b", "amount": 1}, "reserved for mining rewards"),
    ({"sender": "", "recipient": "b", "amount": 1}, "sender must be"),
    ({"sender": "a" * 65, "recipient": "b", "amount": 1}, "sender must be"),
    ({"sender": "a", "recipient": "b c", "amount": 1}, "recipient must be"),
    ({"sender": "a", "recipient": 7, "amount": 1}, "recipient must be"),
    ({"sender": "a", "recipient": "b", "amount": 0}, "amount must be"),
    ({"sender": "a", "recipient": "b", "amount": -3}, "amount must be"),
    ({"sender": "a", "recipient": "b", "amount": True}, "amount must be"),
    ({"sender": "a", "recipient": "b", "amount": "5"}, "amount must be"),
    ({"sender": "a", "recipient": "b", "amount": float("inf")}, "amount must be"),
    ({"sender": "a", "recipient": "b", "amount": 10 ** 10}, "amount must be"),
])
def test_a_clients_transaction_is_checked(fields, message):
    with pytest.raises(rules.InvalidChain, match=message):
        rules.check_transfer(fields)


def test_json_from_peers_refuses_nan_and_infinity():
    assert rules.parse_json(b'{"a": 1.5}') == {"a": 1.5}
    for text in (b'{"a": NaN}', b'{"a": Infinity}', b"not json", b'{"a": ' + b"9" * 5000 + b"}"):
        with pytest.raises(rules.InvalidChain):
            rules.parse_json(text)


@pytest.mark.parametrize("url, normalised", [
    ("http://127.0.0.1:3000", "http://127.0.0.1:3000"),
    ("http://127.0.0.5:80/", "http://127.0.0.5:80"),
])
def test_peer_urls_are_normalised(url, normalised):
    assert peer_url(url, LOCAL) == normalised


@pytest.mark.parametrize("url, message", [
    ("https://127.0.0.1:3000", "a peer is http"),
    ("http://127.0.0.1:3000/chain", "without path"),
    ("http://user:pw@127.0.0.1:3000", "credentials"),
    ("http://localhost:3000", "an IP address"),
    ("http://127.0.0.1", "names its port"),
    ("http://127.0.0.1:99999", "port 1-65535"),
    ("http://169.254.169.254:80", "peers must be in 127.0.0.0/8"),
    ("http://10.0.0.1:3000", "peers must be in"),
    (42, "a peer is an http"),
    ("http://127.0.0.1:3000" + "0" * 200, "at most 200"),
])
def test_peers_outside_the_networks_or_not_plain_addresses_are_refused(url, message):
    with pytest.raises(ValueError, match=message):
        peer_url(url, LOCAL)


def test_settings_come_from_the_environment_and_bad_values_are_named():
    settings = Settings.from_env({"BLOCKCHAIN_DIFFICULTY": "3", "BLOCKCHAIN_PEER_NETWORKS": "10.0.0.0/16",
                                  "BLOCKCHAIN_BUCKET": "b", "BLOCKCHAIN_PEER_DNS": "nodes.chain.internal"})
    assert (settings.difficulty, settings.bucket, settings.peer_dns) == (3, "b", "nodes.chain.internal")
    assert peer_url("http://10.0.3.4:3000", settings.peer_networks) == "http://10.0.3.4:3000"
    assert Settings.from_env({}).difficulty == 4
    for env, name in (({"BLOCKCHAIN_DIFFICULTY": "9"}, "BLOCKCHAIN_DIFFICULTY"),
                      ({"BLOCKCHAIN_DIFFICULTY": "two"}, "BLOCKCHAIN_DIFFICULTY"),
                      ({"BLOCKCHAIN_METRICS_INTERVAL_SECONDS": "0"}, "BLOCKCHAIN_METRICS_INTERVAL_SECONDS")):
        with pytest.raises(ValueError, match=name):
            Settings.from_env(env)
    with pytest.raises(ValueError, match="peers must be in"):
        Settings.from_env({"BLOCKCHAIN_ADVERTISE_URL": "http://10.1.1.1:3000"})


def test_requests_made_while_a_round_runs_share_the_next_round():
    release, calls = threading.Event(), []

    def work():
        calls.append(len(calls) + 1)
        release.wait(10)
        return {"status": "done", "call": len(calls)}

    rounds = Rounds("test", work)
    rounds.start()
    try:
        first = rounds.request()
        assert first == 1
        while rounds.status(1) != {"status": "running"}:
            time.sleep(0.01)
        assert {rounds.request() for _ in range(50)} == {2}  # fifty requests, one round
        assert rounds.status(2) == {"status": "queued"} and rounds.status(3) is None
        assert rounds.wait(1, 0.05) is None
        release.set()
        assert rounds.wait(1, 5) == {"status": "done", "call": 1}
        assert rounds.wait(2, 5) == {"status": "done", "call": 2}
        assert calls == [1, 2]
    finally:
        release.set()
        rounds.stop()


@mock_aws
def test_the_checkpoint_round_trips_and_is_never_replaced_by_a_shorter_chain(chain):
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="checkpoints")
    checkpoint = Checkpoint("checkpoints", client=s3)
    assert checkpoint.load() is None
    assert checkpoint.save(chain, [transfer(1)]) is True
    assert s3.head_object(Bucket="checkpoints", Key=CHECKPOINT_KEY)["Metadata"] == {LENGTH: "4"}
    assert checkpoint.save(chain[:2], []) is False  # a node that has not caught up
    assert checkpoint.load() == {"chain": chain, "pending": [transfer(1)]}
    s3.put_object(Bucket="checkpoints", Key=CHECKPOINT_KEY, Body=b'{"chain": NaN}')
    assert checkpoint.load() is None  # unreadable: the node starts without it, and says so


@mock_aws
def test_a_missing_bucket_is_an_error_to_retry_not_an_empty_checkpoint():
    from runtime.blockchain.checkpoint import CheckpointError

    checkpoint = Checkpoint("no-such-bucket", client=boto3.client("s3", region_name="us-east-1"))
    with pytest.raises(CheckpointError, match="no-such-bucket"):
        checkpoint.load()
