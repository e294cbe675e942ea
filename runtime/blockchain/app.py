"""The node's HTTP API (WSGI, served by gunicorn; see __main__.py): the seed's six endpoints, what peers
announce to each other, and the health check.

    GET  /chain[?from=N]          the chain (from block N): {"chain": [...], "length": n}
    POST /chain/new               {"sender", "recipient", "amount"} -> 201, the transaction with its id
    GET  /chain/mine[?wait=S]     202: a block will be mined (off the request path) -> {"job", "status_url"};
                                  with wait (up to 30 s), 201 and the block if it is mined by then
    GET  /chain/mine/<job>        the job: queued, running, mined (the block) or failed
    GET  /nodes/                  {"nodes": [peer URLs]}
    POST /nodes/register          {"nodes": ["http://<ip>:<port>", ...]} -> 201 {"total_nodes": [...]}
    GET  /nodes/resolve           consensus: adopt the best valid chain of the peers -> {"replaced", "length"}
    POST /nodes/blocks            {"block": {...}} a peer's newly mined block
    POST /nodes/transactions      {"transactions": [...]} a peer's new transactions
    GET  /healthz                 200 once the node has synced with its peers (503 "syncing" before)

Every client mistake is a 4xx with {"error": "..."}; bodies, lists and waits are bounded (``contract``).
"""
from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from runtime.serving import json_error as _error
from .chain import InvalidChain, check_transfer, parse_json
from .contract import (HEALTH_PATH, MAX_ANNOUNCE_BYTES, MAX_ANNOUNCED_TRANSACTIONS, MAX_CHAIN_BLOCKS,
                       MAX_NODES_PER_REQUEST, MAX_PEERS, MAX_REQUEST_BYTES, MAX_WAIT_SECONDS, peer_url)
from .node import Node, PeersFull, PoolFull

log = logging.getLogger("blockchain")
RESOLVE_WAIT_SECONDS = 20
HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}


class ClientError(Exception):
    def __init__(self, status: int, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.status, self.message, self.retry_after = status, message, retry_after


def create_app(node: Node) -> Flask:
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_ANNOUNCE_BYTES
    app.extensions["node"] = node

    @app.get("/chain")
    def chain():
        first = _whole_arg("from", 1, 1, MAX_CHAIN_BLOCKS)
        return Response(node.chain_document(first), mimetype="application/json")

    @app.post("/chain/new")
    def new_transaction():
        try:
            transfer = check_transfer(_json_body(MAX_REQUEST_BYTES))
        except InvalidChain as error:
            raise ClientError(400, str(error)) from None
        try:
            transaction, index = node.add_transaction(transfer)
        except PoolFull:
            raise ClientError(503, "too many transactions wait for a block: retry after the next one is mined",
                              retry_after=5) from None
        return jsonify(message=f"Transaction will be added to Block {index}", transaction=transaction), 201

    @app.get("/chain/mine")
    def mine():
        wait = _whole_arg("wait", 0, 0, MAX_WAIT_SECONDS)
        if not node.synced.is_set():
            raise ClientError(503, "this node is still syncing with its peers", retry_after=2)
        job = node.miner.request()
        result = node.miner.wait(job, wait) if wait else None
        if result is not None and result.get("status") == "failed":
            raise ClientError(503, f"mining failed: {result['reason']}", retry_after=1)
        if result is not None:
            return _job(job, result)
        return jsonify(message="a block will be mined", job=job, status="queued",
                       status_url=f"/chain/mine/{job}"), 202

    @app.get("/chain/mine/<int:job>")
    def mining_job(job: int):
        status = node.miner.status(job)
        if status is None:
            raise ClientError(404, f"no mining job {job}")
        return _job(job, status)

    @app.get("/nodes/", strict_slashes=False)
    def nodes():
        return jsonify(nodes=node.peers())

    @app.post("/nodes/register")
    def register():
        body = _json_body(MAX_REQUEST_BYTES)
        urls = body.get("nodes") if isinstance(body, dict) else None
        if not isinstance(urls, list) or not 1 <= len(urls) <= MAX_NODES_PER_REQUEST:
            raise ClientError(400, f'send {{"nodes": [1 to {MAX_NODES_PER_REQUEST} peer URLs]}}')
        try:
            peers = [peer_url(url, node.settings.peer_networks) for url in urls]
        except ValueError as error:
            raise ClientError(400, str(error)) from None
        try:
            known = node.register(peers)
        except PeersFull:
            raise ClientError(409, f"this node keeps at most {MAX_PEERS} peers") from None
        return jsonify(message="New nodes have been added", total_nodes=known), 201

    @app.get("/nodes/resolve")
    def resolve():
        result = node.resolver.wait(node.resolver.request(), RESOLVE_WAIT_SECONDS)
        if result is None:
            raise ClientError(503, "consensus is taking longer than usual: retry", retry_after=5)
        message = "Our chain was replaced" if result["replaced"] else "Our chain is authoritative"
        return jsonify(message=message, replaced=result["replaced"], length=result["length"],
                       last_hash=result["last_hash"])

    @app.post("/nodes/blocks")
    def announced_block():
        body = _json_body(MAX_ANNOUNCE_BYTES)
        try:
            outcome = node.receive_block(body.get("block") if isinstance(body, dict) else None)
        except InvalidChain as error:
            log.warning("refused an announced block: %s", error)
            raise ClientError(400, f"block refused: {error}") from None
        return jsonify(result=outcome)

    @app.post("/nodes/transactions")
    def announced_transactions():
        body = _json_body(MAX_ANNOUNCE_BYTES)
        transactions = body.get("transactions") if isinstance(body, dict) else None
        if not isinstance(transactions, list) or not 1 <= len(transactions) <= MAX_ANNOUNCED_TRANSACTIONS:
            raise ClientError(400, f'send {{"transactions": [1 to {MAX_ANNOUNCED_TRANSACTIONS}]}}')
        try:
            accepted = node.receive_transactions(transactions)
        except InvalidChain as error:
            raise ClientError(400, f"transactions refused: {error}") from None
        return jsonify(accepted=accepted)

    @app.get(HEALTH_PATH)
    def healthz():
        if not node.synced.is_set():
            return jsonify(status="syncing", **node.summary()), 503
        return jsonify(status="ok", **node.summary())

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers.update(HEADERS)
        return response

    @app.errorhandler(ClientError)
    def client_error(error: ClientError):
        response = _error(error.status, error.message)
        if error.retry_after:
            response.headers["Retry-After"] = str(error.retry_after)
        return response

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code == 413:
            return _error(413, f"the body is larger than this endpoint's {request.max_content_length} bytes")
        return _error(error.code or 500, error.description or error.name)

    @app.errorhandler(Exception)
    def unexpected(_: Exception):
        log.exception("unexpected error")
        return _error(500, "internal error")

    return app


def _job(job: int, status: dict):
    if status.get("status") != "mined":
        return jsonify(job=job, **status)
    block = status["block"]
    return jsonify(message="New Block Forged", job=job, status="mined", index=block["index"],
                   transactions=block["transactions"], proof=block["proof"], previous_hash=block["previous_hash"],
                   hash=status["hash"]), 201


def _json_body(limit: int) -> Any:
    request.max_content_length = limit
    try:
        return parse_json(request.get_data(cache=False))
    except InvalidChain:
        raise ClientError(400, "the body must be JSON") from None


def _whole_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 10) or not low <= int(raw) <= high:
        raise ClientError(400, f"{name} must be a whole number from {low} to {high}")
    return int(raw)


