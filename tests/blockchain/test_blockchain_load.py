"""The load benchmark (``benchmarks/blockchain_load.py``) at a tiny size: three real nodes behind real nginx take
the seeded mix of every endpoint, settle on one chain and lose no transaction; and its verdict (the exit status)
fails a run with an unexpected answer, a connection error, a lost transaction or chains that disagree."""
from __future__ import annotations

import argparse
import copy

import pytest

from benchmarks import blockchain_load

REQUESTS = 60


@pytest.fixture(scope="module")
def outcome():
    args = argparse.Namespace(duration=10, requests=REQUESTS, clients=2, difficulty=2, seed=24)
    return blockchain_load.run("nginx", args)


def test_a_tiny_run_through_nginx_sends_the_mix_and_ends_with_one_chain_holding_every_transaction(outcome):
    latencies = [r["latencies"] for r in outcome["results"]]
    assert sum(len(v) for per_client in latencies for v in per_client.values()) == REQUESTS
    sent = {name for per_client in latencies for name, values in per_client.items() if values}
    assert {"POST /chain/new", "GET /healthz", "GET /nodes/"} <= sent
    assert all(not r["unexpected"] and not r["errors"] for r in outcome["results"])
    accepted = sum(len(per_client["POST /chain/new"]) for per_client in latencies)
    assert accepted == outcome["accepted"] > 0  # every good transaction got its 201 ...
    assert outcome["agree"] and outcome["lost"] == 0 and outcome["twice"] == 0  # ... and is in the one chain, once
    assert outcome["blocks"] >= 2


def test_the_report_passes_a_clean_run_and_fails_each_kind_of_fault(outcome, capsys):
    assert blockchain_load.report([outcome]) is True
    assert "chains agree: yes" in capsys.readouterr().out
    faults = {"unexpected": lambda o: o["results"][0]["unexpected"].update({"GET /chain -> 502": [1, "bad gateway"]}),
              "error": lambda o: o["results"][0].update(errors=1),
              "lost": lambda o: o.update(lost=1),
              "disagree": lambda o: o.update(agree=False)}
    for name, fault in faults.items():
        broken = copy.deepcopy(outcome)
        fault(broken)
        assert blockchain_load.report([broken]) is False, name
    assert "chains agree: no" in capsys.readouterr().out
