"""Start a blockchain node under gunicorn: python -m runtime.blockchain --host H --port P [--peers URL,...]

Settings come from the environment (names in contract.py): BLOCKCHAIN_DIFFICULTY, BLOCKCHAIN_BUCKET (the S3
checkpoint), BLOCKCHAIN_PEER_DNS (Cloud Map), BLOCKCHAIN_PEER_NETWORKS, BLOCKCHAIN_ADVERTISE_URL,
BLOCKCHAIN_SERVICE, BLOCKCHAIN_METRICS_INTERVAL_SECONDS, BLOCKCHAIN_CHECKPOINT_INTERVAL_SECONDS.

One worker process: the chain lives in its memory (two workers would be two nodes behind one port). Its
threads serve requests while the miner hashes in a process of its own.
"""
from __future__ import annotations

import argparse
import logging
import sys

from runtime.blockchain import contract
from runtime.serving import serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m runtime.blockchain", description="Blockchain node")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=contract.PORT, help="0 picks a free port (printed in the log)")
    parser.add_argument("--peers", default="", help="comma-separated peer URLs, e.g. http://127.0.0.1:3001")
    parser.add_argument("--threads", type=int, default=contract.THREADS, help="request threads")
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535 or args.threads < 1:
        parser.error("--port must be 0-65535 and --threads at least 1")
    try:
        settings = contract.Settings.from_env()
        peers = tuple(contract.peer_url(p, settings.peer_networks) for p in args.peers.split(",") if p.strip())
    except ValueError as error:
        parser.error(str(error))
    holder: dict = {}

    def load_app():
        from runtime.blockchain.app import create_app
        from runtime.blockchain.checkpoint import Checkpoint
        from runtime.blockchain.metrics import Metrics
        from runtime.blockchain.node import Node

        logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        metrics = Metrics(contract.METRICS_NAMESPACE, settings.service, settings.metrics_interval)
        checkpoint = Checkpoint(settings.bucket) if settings.bucket else None
        holder["node"] = Node(settings, port=args.port, static_peers=peers, checkpoint=checkpoint, metrics=metrics)
        return create_app(holder["node"])

    def post_worker_init(worker) -> None:
        from runtime.blockchain.peers import own_address

        bound = worker.sockets[0].getsockname()[:2]
        node = holder["node"]
        node.port = bound[1]
        node.start(settings.advertise_url or own_address(bound[1], bound, settings.peer_networks))

    def worker_exit(server, worker) -> None:
        if "node" in holder:
            holder["node"].stop()  # the last checkpoint, the last metrics

    serve(load_app, args.host, args.port, workers=1, threads=args.threads, timeout=60, graceful_timeout=20,
          accesslog="-", errorlog="-", loglevel="info", post_worker_init=post_worker_init, worker_exit=worker_exit)


if __name__ == "__main__":
    main()
