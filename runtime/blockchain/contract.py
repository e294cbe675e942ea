"""What the blockchain node's runtime and its program (``programs/blockchain.py``) share, written once.

Standard library only: the program imports it without the runtime's requirements.
"""
from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

DOCKERFILE = "runtime/blockchain/Dockerfile"
PORT = 3000
"""The seed's port: what the node listens on unless told otherwise (``--port``)."""
HEALTH_PATH = "/healthz"

ENV_DIFFICULTY = "BLOCKCHAIN_DIFFICULTY"
ENV_BUCKET = "BLOCKCHAIN_BUCKET"
"""The private bucket of the chain's checkpoint; unset: no checkpoint (a node alone loses its chain)."""
ENV_PEER_DNS = "BLOCKCHAIN_PEER_DNS"
"""The DNS name (Cloud Map) whose A records are the other tasks of the service."""
ENV_PEER_NETWORKS = "BLOCKCHAIN_PEER_NETWORKS"
"""Comma-separated CIDRs a peer's address must be in (the VPC); the node never calls anything else."""
ENV_ADVERTISE_URL = "BLOCKCHAIN_ADVERTISE_URL"
"""How peers reach this node; unset: from the ECS task metadata, else the address the server bound."""
ENV_SERVICE = "BLOCKCHAIN_SERVICE"
"""The metrics' ``service`` dimension."""
ENV_METRICS_INTERVAL = "BLOCKCHAIN_METRICS_INTERVAL_SECONDS"
ENV_CHECKPOINT_INTERVAL = "BLOCKCHAIN_CHECKPOINT_INTERVAL_SECONDS"

METRICS_NAMESPACE = "CloudPatterns/Blockchain"
CHECKPOINT_KEY = "checkpoint/chain.json"

DEFAULT_DIFFICULTY = 4
"""Leading zero hex digits of a block's SHA-256 (the seed's "0000": about 65,000 hashes a block)."""
MAX_DIFFICULTY = 8
LOCAL_NETWORKS = ("127.0.0.0/8",)
DEFAULT_METRICS_INTERVAL = 60
DEFAULT_CHECKPOINT_INTERVAL = 5
MINING_REWARD = 1
REWARD_SENDER = "0"
"""The seed's sender of mining rewards; clients may not send as it."""

MAX_REQUEST_BYTES = 16 * 1024
"""A transaction or a peer list from a client."""
MAX_ANNOUNCE_BYTES = 1024 * 1024
"""A block (up to MAX_BLOCK_TRANSACTIONS) or a batch of transactions announced by a peer."""
MAX_CHAIN_BYTES = 64 * 1024 * 1024
"""A peer's (or the checkpoint's) chain; a larger answer is refused, not read."""
MAX_CHAIN_BLOCKS = 200_000
MAX_BLOCK_TRANSACTIONS = 500
"""Client transactions in a block, besides its reward."""
MAX_PENDING = 10_000
"""Transactions waiting for a block; one more is refused with 503 until a block is mined."""
MAX_PEERS = 64
MAX_NODES_PER_REQUEST = 16
MAX_ANNOUNCED_TRANSACTIONS = 500
MAX_URL_LENGTH = 200
MAX_ADDRESS_LENGTH = 64
MAX_AMOUNT = 1_000_000_000
MAX_WAIT_SECONDS = 30
THREADS = 8
"""Request threads of the one worker process (the chain lives in its memory: never more than one worker)."""


def command(port: int) -> list[str]:
    """The container's arguments (after its ENTRYPOINT ``python -m runtime.blockchain``)."""
    return ["--host", "0.0.0.0", "--port", str(port)]


def health_check(port: int) -> list[str]:
    """The container's own health check (the slim image has no curl): healthy once the node has synced."""
    return ["CMD", "python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen("
            f"'http://127.0.0.1:{port}{HEALTH_PATH}', timeout=4).status != 200)"]


def parse_networks(text: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    networks = tuple(ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip())
    if not networks:
        raise ValueError("at least one CIDR")
    return networks


def peer_url(text: object, networks: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> str:
    """``http://<ip>:<port>`` of a peer, normalised; ValueError (with the reason) for anything else.

    Only IP addresses inside ``networks`` are peers: the node fetches chains from its peers, so a peer list
    open to any host would let a client point it at metadata endpoints or other people's servers."""
    if not isinstance(text, str) or not text or len(text) > MAX_URL_LENGTH:
        raise ValueError(f"a peer is an http://<ip>:<port> URL of at most {MAX_URL_LENGTH} characters")
    parts = urlsplit(text.strip())
    if parts.scheme != "http" or parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ValueError(f"{text!r}: a peer is http://<ip>:<port>, without path, query or credentials")
    try:
        address = ipaddress.ip_address(parts.hostname or "")
        port = parts.port
    except ValueError:
        raise ValueError(f"{text!r}: a peer's host is an IP address and its port 1-65535") from None
    if not port:
        raise ValueError(f"{text!r}: a peer names its port")
    if not any(address in network for network in networks):
        raise ValueError(f"{text!r}: peers must be in {', '.join(map(str, networks))}")
    host = f"[{address}]" if address.version == 6 else str(address)
    return f"http://{host}:{port}"


@dataclass(frozen=True)
class Settings:
    difficulty: int = DEFAULT_DIFFICULTY
    bucket: str | None = None
    peer_dns: str | None = None
    peer_networks: tuple = tuple(parse_networks(",".join(LOCAL_NETWORKS)))
    advertise_url: str | None = None
    service: str = "blockchain"
    metrics_interval: float = DEFAULT_METRICS_INTERVAL
    checkpoint_interval: float = DEFAULT_CHECKPOINT_INTERVAL

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Settings:
        difficulty = _number(env, ENV_DIFFICULTY, DEFAULT_DIFFICULTY, 1, MAX_DIFFICULTY, whole=True)
        networks = parse_networks(env.get(ENV_PEER_NETWORKS) or ",".join(LOCAL_NETWORKS))
        advertise = env.get(ENV_ADVERTISE_URL) or None
        return cls(difficulty=int(difficulty), bucket=env.get(ENV_BUCKET) or None,
                   peer_dns=env.get(ENV_PEER_DNS) or None, peer_networks=networks,
                   advertise_url=peer_url(advertise, networks) if advertise else None,
                   service=env.get(ENV_SERVICE) or "blockchain",
                   metrics_interval=_number(env, ENV_METRICS_INTERVAL, DEFAULT_METRICS_INTERVAL, 0.1, 3600),
                   checkpoint_interval=_number(env, ENV_CHECKPOINT_INTERVAL, DEFAULT_CHECKPOINT_INTERVAL, 0, 3600))


def _number(env: Mapping[str, str], name: str, default: float, low: float, high: float, whole: bool = False) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw) if whole else float(raw)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise ValueError(f"{name} must be {'a whole number' if whole else 'a number'} from {low:g} to {high:g}, "
                         f"got {raw!r}")
    return value
