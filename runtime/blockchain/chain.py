"""The chain's rules, as pure functions: blocks, their SHA-256 proof of work, transactions and validation.

A block is the seed's ``{index, timestamp, transactions, proof, previous_hash}`` (index 1 is the genesis).
Its hash is SHA-256 over the canonical JSON of the block without its proof, a colon and the proof, so the
proof of work covers every field (the seed's proof covered only the previous proof and hash, so a block's
transactions could be rewritten without redoing any work). A block is valid when its hash starts with
``difficulty`` zero hex digits. Every node starts from the same fixed genesis, so chains can be compared.

Chains are ordered: the longer wins and, between equally long ones, the one whose last hash is lower. Every node
orders any two chains the same way, so the nodes converge on one chain even when two of them mine a block at the
same height.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .contract import MAX_ADDRESS_LENGTH, MAX_AMOUNT, MAX_BLOCK_TRANSACTIONS, MINING_REWARD, REWARD_SENDER

GENESIS: dict[str, Any] = {"index": 1, "timestamp": 0, "transactions": [], "proof": 0, "previous_hash": "0" * 64}
BLOCK_KEYS = frozenset(GENESIS)
TRANSACTION_KEYS = frozenset({"id", "sender", "recipient", "amount"})
ADDRESS = re.compile(rf"[A-Za-z0-9_.:-]{{1,{MAX_ADDRESS_LENGTH}}}")
TRANSACTION_ID = re.compile(r"[0-9a-f]{32}")
HASH = re.compile(r"[0-9a-f]{64}")
MAX_PROOF = 2 ** 63
MAX_CLOCK_SKEW_SECONDS = 600
"""How far in the future a block's timestamp may be (the clocks of two tasks differ a little)."""


class InvalidChain(ValueError):
    """A block, a chain or a transaction that breaks the rules; the message says which and why."""


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()


def parse_json(data: bytes | str) -> Any:
    """JSON as peers and the checkpoint send it, refusing NaN and Infinity (which Python's parser accepts)."""
    def refuse(constant: str):
        raise InvalidChain(f"{constant} is not a JSON number")
    try:
        return json.loads(data, parse_constant=refuse)
    except (ValueError, RecursionError) as error:
        raise InvalidChain(f"not JSON: {error}") from None


def header(block: Mapping[str, Any]) -> bytes:
    """What the proof of work covers: the block without its proof."""
    return canonical({k: v for k, v in block.items() if k != "proof"}) + b":"


def block_hash(block: Mapping[str, Any]) -> str:
    return hashlib.sha256(header(block) + str(block["proof"]).encode()).hexdigest()


def meets(digest: str, difficulty: int) -> bool:
    return digest.startswith("0" * difficulty)


def search(block_header: bytes, difficulty: int, start: int, count: int) -> int | None:
    """The first proof in ``[start, start + count)`` that makes the block's hash meet the difficulty.

    Runs in the miner's own process (``node.Miner``), a range at a time, so the node can give up on a block
    whose parent is no longer the chain's tip."""
    prefix, seed = "0" * difficulty, hashlib.sha256(block_header)
    for proof in range(start, start + count):
        candidate = seed.copy()
        candidate.update(str(proof).encode())
        if candidate.hexdigest().startswith(prefix):
            return proof
    return None


def new_block(previous: Mapping[str, Any], previous_digest: str, transactions: list[dict], now: float) -> dict:
    return {"index": previous["index"] + 1, "timestamp": round(max(now, previous["timestamp"]), 3),
            "transactions": transactions, "proof": 0, "previous_hash": previous_digest}


def reward(transaction_id: str, miner: str) -> dict:
    return {"id": transaction_id, "sender": REWARD_SENDER, "recipient": miner, "amount": MINING_REWARD}


def check_transfer(fields: Any) -> dict:
    """A client's transaction ``{"sender", "recipient", "amount"}``, checked; InvalidChain says what is wrong."""
    if not isinstance(fields, Mapping):
        raise InvalidChain('a transaction is a JSON object {"sender", "recipient", "amount"}')
    unknown = sorted(set(fields) - (TRANSACTION_KEYS - {"id"}))
    missing = sorted((TRANSACTION_KEYS - {"id"}) - set(fields))
    if missing or unknown:
        raise InvalidChain(f"a transaction has exactly sender, recipient and amount"
                           f"{'; missing ' + ', '.join(missing) if missing else ''}"
                           f"{'; unknown ' + ', '.join(map(str, unknown)) if unknown else ''}")
    for key in ("sender", "recipient"):
        if not isinstance(fields[key], str) or not ADDRESS.fullmatch(fields[key]):
            raise InvalidChain(f"{key} must be 1 to {MAX_ADDRESS_LENGTH} letters, digits or _ . : -")
    if fields["sender"] == REWARD_SENDER:
        raise InvalidChain(f'sender "{REWARD_SENDER}" is reserved for mining rewards')
    amount = fields["amount"]
    if isinstance(amount, bool) or not isinstance(amount, (int, float)) or not math.isfinite(amount) \
            or not 0 < amount <= MAX_AMOUNT:
        raise InvalidChain(f"amount must be a number above 0 and at most {MAX_AMOUNT}")
    return {"sender": fields["sender"], "recipient": fields["recipient"], "amount": amount}


def check_transaction(transaction: Any, *, is_reward: bool = False) -> dict:
    """A transaction as stored in blocks and announced by peers: a transfer with its id, or a block's reward."""
    if not isinstance(transaction, Mapping) or set(transaction) != TRANSACTION_KEYS:
        raise InvalidChain("a stored transaction has exactly id, sender, recipient and amount")
    if not isinstance(transaction["id"], str) or not TRANSACTION_ID.fullmatch(transaction["id"]):
        raise InvalidChain("a transaction id is 32 lowercase hex digits")
    if is_reward:
        if transaction["sender"] != REWARD_SENDER or transaction["amount"] != MINING_REWARD \
                or not isinstance(transaction["recipient"], str) or not ADDRESS.fullmatch(transaction["recipient"]):
            raise InvalidChain(f'a block ends with its reward: sender "{REWARD_SENDER}", amount {MINING_REWARD}')
        return dict(transaction)
    return {"id": transaction["id"], **check_transfer({k: v for k, v in transaction.items() if k != "id"})}


def check_block(block: Any, previous: Mapping[str, Any], previous_digest: str, difficulty: int,
                seen_ids: set[str], now: float | None = None) -> str:
    """Checks ``block`` as the successor of ``previous``; returns its hash and adds its ids to ``seen_ids``."""
    if not isinstance(block, Mapping) or set(block) != BLOCK_KEYS:
        raise InvalidChain(f"a block has exactly {', '.join(sorted(BLOCK_KEYS))}")
    index = previous["index"] + 1
    where = f"block {index}"
    if type(block["index"]) is not int or block["index"] != index:
        raise InvalidChain(f"{where}: index {block['index']!r} does not follow {previous['index']}")
    if block["previous_hash"] != previous_digest:
        raise InvalidChain(f"{where}: previous_hash is not the hash of block {previous['index']}")
    stamp = block["timestamp"]
    latest = (time.time() if now is None else now) + MAX_CLOCK_SKEW_SECONDS
    if isinstance(stamp, bool) or not isinstance(stamp, (int, float)) or not previous["timestamp"] <= stamp <= latest:
        raise InvalidChain(f"{where}: timestamp before its parent's or in the future")
    proof = block["proof"]
    if isinstance(proof, bool) or not isinstance(proof, int) or not 0 <= proof < MAX_PROOF:
        raise InvalidChain(f"{where}: proof is a whole number from 0 to 2^63")
    transactions = block["transactions"]
    if not isinstance(transactions, list) or not 1 <= len(transactions) <= MAX_BLOCK_TRANSACTIONS + 1:
        raise InvalidChain(f"{where}: 1 to {MAX_BLOCK_TRANSACTIONS + 1} transactions, the last its reward")
    try:
        checked = [check_transaction(t, is_reward=i == len(transactions) - 1) for i, t in enumerate(transactions)]
        digest = block_hash(block)
    except (InvalidChain, TypeError, ValueError) as error:
        raise InvalidChain(f"{where}: {error}") from None
    ids = [t["id"] for t in checked]
    if len(set(ids)) != len(ids) or seen_ids.intersection(ids):
        raise InvalidChain(f"{where}: a transaction id appears twice in the chain")
    if not meets(digest, difficulty):
        raise InvalidChain(f"{where}: its hash does not start with {difficulty} zeros (no proof of work)")
    seen_ids.update(ids)
    return digest


def check_chain(blocks: Any, difficulty: int, *, base: Sequence[Mapping[str, Any]] = (),
                base_hashes: Sequence[str] = (), base_ids: Iterable[str] = (), max_blocks: int) -> list[str]:
    """Checks the blocks that follow ``base`` (a prefix already checked, with its hashes and transaction ids),
    or a whole chain from its genesis; returns the hashes of base and blocks together."""
    if not isinstance(blocks, list) or not blocks and not base or len(base) + len(blocks) > max_blocks:
        raise InvalidChain(f"a chain is a list of 1 to {max_blocks} blocks")
    if not base:
        if not isinstance(blocks[0], Mapping) or canonical(blocks[0]) != canonical(GENESIS):
            raise InvalidChain("block 1 is not this network's genesis block")
        base, base_hashes, blocks = blocks[:1], [block_hash(GENESIS)], blocks[1:]
    hashes, seen = list(base_hashes), set(base_ids)
    previous = base[-1]
    for block in blocks:
        hashes.append(check_block(block, previous, hashes[-1], difficulty, seen))
        previous = block
    return hashes


def better(length: int, last_hash: str, than_length: int, than_last_hash: str) -> bool:
    """Whether a chain of ``length`` ending in ``last_hash`` wins over the other one (the same on every node)."""
    return (length, than_last_hash) > (than_length, last_hash)
