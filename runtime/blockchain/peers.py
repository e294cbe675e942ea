"""Talking to other nodes: their chains (bounded reads), announcements, discovery through DNS (Cloud Map) and
this node's own address."""
from __future__ import annotations

import ipaddress
import logging
import os
import socket
from collections.abc import Sequence
from typing import Any

import requests

from .chain import InvalidChain, parse_json
from .contract import MAX_CHAIN_BYTES, peer_url

log = logging.getLogger("blockchain.peers")

CONNECT_TIMEOUT, READ_TIMEOUT = 2, 10
ECS_METADATA = "ECS_CONTAINER_METADATA_URI_V4"


class PeerError(Exception):
    """A peer that did not answer, or answered something that is not a chain."""


class PeerClient:
    """HTTP to peers over one pooled session (connections are reused across resolves)."""

    def __init__(self, session: requests.Session | None = None):
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = "cloud-patterns-blockchain"

    def chain(self, peer: str, first_index: int = 1) -> dict[str, Any]:
        """``GET /chain?from=first_index``: ``{"chain": [blocks from first_index], "length": n}``."""
        document = self._get_json(f"{peer}/chain", {"from": first_index} if first_index > 1 else None)
        if not isinstance(document, dict) or not isinstance(document.get("chain"), list) \
                or type(document.get("length")) is not int:
            raise PeerError(f"{peer}: /chain did not answer a chain")
        return document

    def post(self, peer: str, path: str, body: dict) -> int:
        try:
            response = self.session.post(f"{peer}{path}", json=body, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT))
            response.content  # read, so the connection goes back to the pool  # noqa: B018
            return response.status_code
        except requests.RequestException as error:
            raise PeerError(f"{peer}{path}: {type(error).__name__}") from None

    def _get_json(self, url: str, params: dict | None) -> Any:
        try:
            with self.session.get(url, params=params, stream=True, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT)) as response:
                if response.status_code != 200:
                    raise PeerError(f"{url}: HTTP {response.status_code}")
                declared = response.headers.get("Content-Length")
                if declared and declared.isdigit() and int(declared) > MAX_CHAIN_BYTES:
                    raise PeerError(f"{url}: {declared} bytes is more than the {MAX_CHAIN_BYTES} a chain may take")
                body = bytearray()
                for chunk in response.iter_content(chunk_size=256 * 1024):
                    body += chunk
                    if len(body) > MAX_CHAIN_BYTES:
                        raise PeerError(f"{url}: more than the {MAX_CHAIN_BYTES} bytes a chain may take")
        except requests.RequestException as error:
            raise PeerError(f"{url}: {type(error).__name__}") from None
        try:
            return parse_json(bytes(body))
        except InvalidChain as error:
            raise PeerError(f"{url}: {error}") from None


def discover(dns_name: str, port: int, networks: Sequence, own: str | None) -> list[str]:
    """The peers a DNS name resolves to (Cloud Map answers the healthy tasks' addresses), without this node."""
    try:
        answers = socket.getaddrinfo(dns_name, port, type=socket.SOCK_STREAM)
    except OSError as error:
        log.info("no peers from %s: %s", dns_name, error)
        return []
    found = []
    for *_, address in answers:
        try:
            url = peer_url(f"http://{_host(address[0])}:{port}", networks)
        except ValueError as error:
            log.warning("ignoring a discovered address: %s", error)
            continue
        if url != own and url not in found:
            found.append(url)
    return sorted(found)


def own_address(port: int, bound: tuple[str, int] | None, networks: Sequence) -> str | None:
    """How peers reach this node: the task's address from the ECS metadata endpoint, else the bound socket."""
    metadata = os.environ.get(ECS_METADATA)
    if metadata:
        try:
            networks_of_task = requests.get(metadata, timeout=2).json().get("Networks") or []
            address = networks_of_task[0]["IPv4Addresses"][0]
            return peer_url(f"http://{address}:{port}", networks)
        except (requests.RequestException, ValueError, KeyError, IndexError, TypeError) as error:
            log.warning("no address from the task metadata (%s): peers cannot be told this node's", error)
            return None
    if bound is None:
        return None
    host = bound[0] if bound[0] not in ("0.0.0.0", "::") else "127.0.0.1"
    try:
        return peer_url(f"http://{_host(host)}:{bound[1]}", networks)
    except ValueError as error:
        log.warning("this node's address is not a peer address (%s)", error)
        return None


def _host(address: str) -> str:
    return f"[{address}]" if ipaddress.ip_address(address).version == 6 else address
