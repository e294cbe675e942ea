"""The node: one chain in memory with its pending transactions and its peers, and the threads beside the
request threads that keep the nodes of a service on one chain.

- The resolver (``Rounds``) first registers peers (the ``--peers`` list and the Cloud Map name; each new peer
  is told this node's address), then asks each peer for the blocks it lacks and adopts the best valid chain
  (``chain.better``). A new node runs it, after restoring the S3 checkpoint, before it reports healthy.
- The miner (``Rounds``) searches the proof of work in its own process, a range of proofs at a time, and gives
  up on a block whose parent stopped being the tip; request threads never hash.
- The announcer sends new transactions (in batches) and mined blocks to every peer; a peer appends a block
  that extends its chain and resolves when it finds itself behind.
- The checkpointer writes the chain to S3 after it changed, at most once per interval.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context

from . import chain as rules
from .checkpoint import Checkpoint, CheckpointError
from .contract import MAX_ANNOUNCED_TRANSACTIONS, MAX_BLOCK_TRANSACTIONS, MAX_CHAIN_BLOCKS, MAX_PEERS, MAX_PENDING, \
    Settings
from .metrics import Metrics
from .peers import PeerClient, PeerError, discover
from .rounds import Rounds

log = logging.getLogger("blockchain.node")

SYNC_WINDOW = 16
"""Blocks below its own tip a node asks a peer for: a fork shallower than this costs no full chain."""
PROOFS_PER_SEARCH = 20_000
MAX_MINING_SECONDS = 120
MAX_PEER_FAILURES = 3
"""Consecutive failures after which a peer is forgotten (discovery brings live ones back)."""
STALE = -1


class PoolFull(Exception):
    """MAX_PENDING transactions wait already."""


class PeersFull(Exception):
    """The node knows MAX_PEERS peers."""


class Node:
    def __init__(self, settings: Settings, *, port: int, static_peers: tuple[str, ...] = (),
                 metrics: Metrics, checkpoint: Checkpoint | None = None, client: PeerClient | None = None):
        self.settings, self.port, self.static_peers = settings, port, tuple(static_peers)
        self.checkpoint, self.client, self.metrics = checkpoint, client or PeerClient(), metrics
        self.node_id = uuid.uuid4().hex
        self.address: str | None = None
        self.synced = threading.Event()
        self._lock = threading.RLock()
        self._chain: list[dict] = [rules.GENESIS]
        self._hashes: list[str] = [rules.block_hash(rules.GENESIS)]
        self._ids: set[str] = set()
        self._pending: dict[str, dict] = {}
        self._peers: dict[str, int] = {}
        self._document: bytes | None = None
        self._dirty = threading.Event()
        self._stop = threading.Event()
        self._announcements: queue.Queue = queue.Queue(maxsize=100_000)
        self._senders = ThreadPoolExecutor(max_workers=4, thread_name_prefix="announce")
        self._miner_pool: ProcessPoolExecutor | None = None
        self.miner, self.resolver = Rounds("miner", self._mine), Rounds("resolver", self._resolve)
        self._threads = [threading.Thread(target=self._announce_loop, name="announcer", daemon=True),
                         threading.Thread(target=self._checkpoint_loop, name="checkpointer", daemon=True)]

    # --- lifecycle ----------------------------------------------------------------------------------

    def start(self, address: str | None) -> None:
        """Starts the threads and the sync; ``healthy`` once the node has the best chain it can find."""
        self.address = address
        for worker in (self.miner, self.resolver, self.metrics, *self._threads):
            worker.start()
        threading.Thread(target=self._sync_at_start, name="sync", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        for rounds in (self.miner, self.resolver):
            rounds.stop()
        self._save_checkpoint()
        self.metrics.stop()
        self._senders.shutdown(wait=False, cancel_futures=True)
        if self._miner_pool is not None:
            self._miner_pool.shutdown(wait=False, cancel_futures=True)

    def _sync_at_start(self) -> None:
        delay = 1.0
        while not self._stop.is_set():
            try:
                self._restore_checkpoint()
                result = self.resolver.wait(self.resolver.request(), timeout=300)
                if result is not None:
                    self.synced.set()
                    log.info("synced: %d blocks from %d peers; serving", result["length"], len(self.peers()))
                    return
            except CheckpointError as error:
                log.error("cannot read the checkpoint (%s); retrying in %.0f s", error, delay)
            self._stop.wait(delay)
            delay = min(delay * 2, 30)

    def _restore_checkpoint(self) -> None:
        if self.checkpoint is None:
            return
        document = self.checkpoint.load()
        if document is None:
            log.info("no checkpoint yet")
            return
        try:
            hashes = rules.check_chain(document["chain"], self.settings.difficulty, max_blocks=MAX_CHAIN_BLOCKS)
        except rules.InvalidChain as error:
            log.error("the checkpoint's chain is invalid (%s): not used", error)
            return
        with self._lock:
            self._adopt([rules.GENESIS, *document["chain"][1:]], hashes)
        pending = document.get("pending")
        try:
            accepted = self.receive_transactions(pending[:MAX_PENDING] if isinstance(pending, list) else [],
                                                 quiet=True)
        except rules.InvalidChain as error:
            log.error("the checkpoint's pending transactions are invalid (%s): not used", error)
            accepted = 0
        log.info("restored %d blocks and %d pending transactions from the checkpoint", len(hashes), accepted)

    # --- reading -------------------------------------------------------------------------------------

    def summary(self) -> dict:
        with self._lock:
            return {"length": len(self._chain), "last_hash": self._hashes[-1], "pending": len(self._pending),
                    "peers": len(self._peers)}

    def chain_document(self, first_index: int = 1) -> bytes:
        """``{"chain": [...], "length": n}`` as JSON bytes; the whole chain's is cached until it changes."""
        with self._lock:
            if first_index > 1:
                return rules.canonical({"chain": self._chain[first_index - 1:], "length": len(self._chain),
                                        "from": first_index})
            if self._document is None:
                self._document = rules.canonical({"chain": self._chain, "length": len(self._chain)})
            return self._document

    def peers(self) -> list[str]:
        with self._lock:
            return sorted(self._peers)

    # --- transactions --------------------------------------------------------------------------------

    def add_transaction(self, transfer: dict) -> tuple[dict, int]:
        """A client's checked transfer, given an id; the index of the block it is expected in."""
        transaction = {"id": uuid.uuid4().hex, **transfer}
        with self._lock:
            if len(self._pending) >= MAX_PENDING:
                raise PoolFull()
            self._pending[transaction["id"]] = transaction
            index = len(self._chain) + 1
        self.metrics.count("Transactions")
        self._dirty.set()
        self._announce("transactions", transaction)
        return transaction, index

    def receive_transactions(self, transactions: list, quiet: bool = False) -> int:
        """Transactions announced by a peer (or kept in the checkpoint): checked, added unless known."""
        checked = [rules.check_transaction(t) for t in transactions]
        accepted = 0
        with self._lock:
            for transaction in checked:
                if len(self._pending) >= MAX_PENDING:
                    break
                if transaction["id"] not in self._ids and transaction["id"] not in self._pending:
                    self._pending[transaction["id"]] = transaction
                    accepted += 1
        if accepted and not quiet:
            self._dirty.set()
        return accepted

    # --- blocks and chains ---------------------------------------------------------------------------

    def receive_block(self, block: object) -> str:
        """A block a peer mined: ``appended`` (or replaced a tip it beats), ``resolving`` when it shows this
        node is behind or on another branch, ``ignored`` when it is not better. InvalidChain when invalid."""
        if not isinstance(block, dict) or type(block.get("index")) is not int:
            raise rules.InvalidChain("an announced block has an index")
        with self._lock:
            index, length = block["index"], len(self._chain)
            if 2 <= index <= length + 1 and block.get("previous_hash") == self._hashes[index - 2]:
                base = self._chain[:index - 1]
                base_ids = self._ids.difference(t["id"] for b in self._chain[index - 1:] for t in b["transactions"])
                hashes = rules.check_chain([block], self.settings.difficulty, base=base,
                                           base_hashes=self._hashes[:index - 1], base_ids=base_ids,
                                           max_blocks=MAX_CHAIN_BLOCKS)
                return "appended" if self._adopt([*base, block], hashes) else "ignored"
        if index >= length:
            self.resolver.request()
            return "resolving"
        return "ignored"

    def _adopt(self, blocks: list[dict], hashes: list[str]) -> bool:
        """Makes a checked chain this node's if it is better (under the lock); dropped blocks' transactions go
        back to the pending ones, so a fork loses none."""
        if not rules.better(len(blocks), hashes[-1], len(self._chain), self._hashes[-1]):
            return False
        common = _common_prefix(self._hashes, hashes)
        dropped = [t for b in self._chain[common:] for t in b["transactions"][:-1]]
        self._ids.difference_update(t["id"] for b in self._chain[common:] for t in b["transactions"])
        added = [t["id"] for b in blocks[common:] for t in b["transactions"]]
        self._ids.update(added)
        replaced = common < len(self._chain)
        self._chain, self._hashes, self._document = blocks, hashes, None
        for transaction_id in added:
            self._pending.pop(transaction_id, None)
        for transaction in dropped:
            if transaction["id"] not in self._ids:
                self._pending.setdefault(transaction["id"], transaction)
        self._dirty.set()
        self.metrics.chain_length(len(blocks))
        if replaced:
            self.metrics.count("ChainReplacements")
            log.info("chain replaced from block %d: now %d blocks, %d transactions back to pending", common + 1,
                     len(blocks), len(dropped))
        return True

    # --- consensus -----------------------------------------------------------------------------------

    def register(self, urls: list[str]) -> list[str]:
        """Adds peers (told this node's address in turn); PeersFull when they would be too many."""
        with self._lock:
            new = [u for u in dict.fromkeys(urls) if u not in self._peers and u != self.address]
            if len(self._peers) + len(new) > MAX_PEERS:
                raise PeersFull()
            for url in new:
                self._peers[url] = 0
        for url in new:
            self._announce("introduce", url)
        return self.peers()

    def _refresh_peers(self) -> None:
        found = list(self.static_peers)
        if self.settings.peer_dns:
            found += discover(self.settings.peer_dns, self.port, self.settings.peer_networks, self.address)
        try:
            self.register(found)
        except PeersFull:
            log.warning("discovery found more than %d peers; keeping those known", MAX_PEERS)

    def _resolve(self) -> dict:
        started = time.perf_counter()
        self._refresh_peers()
        replaced = False
        for peer in self.peers():
            try:
                candidate = self._better_chain_of(peer)
            except (PeerError, rules.InvalidChain) as error:
                self._peer_failed(peer, error)
                continue
            self._peer_answered(peer)
            if candidate is not None:
                with self._lock:
                    replaced = self._adopt(*candidate) or replaced
        self.metrics.timing("TimeToResolve", (time.perf_counter() - started) * 1000)
        return {"status": "resolved", "replaced": replaced, **self.summary()}

    def _better_chain_of(self, peer: str) -> tuple[list[dict], list[str]] | None:
        """The peer's chain if it may beat ours: the blocks above our tip's window, joined to our prefix when
        they grow from it, else its whole chain. Checked; InvalidChain when tampered with."""
        with self._lock:
            length = len(self._chain)
            first = max(2, length - SYNC_WINDOW + 1)
            base, base_hashes = self._chain[:first - 1], self._hashes[:first - 1]
            base_ids = {t["id"] for b in base for t in b["transactions"]}
            last_hash = self._hashes[-1]
        answer = self.client.chain(peer, first)
        blocks = answer["chain"]
        if answer["length"] < length or answer["length"] == length and (not blocks or _hash(blocks[-1]) == last_hash):
            return None  # shorter, or the same chain
        if not blocks or not isinstance(blocks[0], dict) or blocks[0].get("previous_hash") != base_hashes[-1]:
            base, base_hashes, base_ids = [], [], set()
            blocks = self.client.chain(peer, 1)["chain"]  # a deeper fork (or a peer that answered oddly)
        hashes = rules.check_chain(blocks, self.settings.difficulty, base=base, base_hashes=base_hashes,
                                   base_ids=base_ids, max_blocks=MAX_CHAIN_BLOCKS)
        return ([*base, *blocks] if base else [rules.GENESIS, *blocks[1:]]), hashes

    def _peer_answered(self, peer: str) -> None:
        with self._lock:
            if peer in self._peers:
                self._peers[peer] = 0

    def _peer_failed(self, peer: str, error: Exception) -> None:
        with self._lock:
            if peer not in self._peers:
                return
            self._peers[peer] += 1
            forget = self._peers[peer] >= MAX_PEER_FAILURES
            if forget:
                del self._peers[peer]
        log.warning("peer %s: %s%s", peer, error, " (forgotten)" if forget else "")

    # --- mining --------------------------------------------------------------------------------------

    def _mine(self) -> dict:
        started = time.perf_counter()
        deadline = time.monotonic() + MAX_MINING_SECONDS
        while True:
            with self._lock:
                parent, parent_hash = self._chain[-1], self._hashes[-1]
                transactions = list(self._pending.values())[:MAX_BLOCK_TRANSACTIONS]
            block = rules.new_block(parent, parent_hash, [*transactions, rules.reward(uuid.uuid4().hex, self.node_id)],
                                    time.time())
            proof = self._search(block, parent_hash, deadline)
            if proof is None:
                self.metrics.count("MiningFailures")
                return {"status": "failed", "reason": f"no proof within {MAX_MINING_SECONDS} s"}
            if proof != STALE:
                block["proof"] = proof
                with self._lock:
                    if self._hashes[-1] == parent_hash:
                        self._adopt([*self._chain, block], [*self._hashes, rules.block_hash(block)])
                        digest = self._hashes[-1]
                        break
            self.metrics.count("MiningFailures")  # a peer's block arrived first: mine on the new tip
            log.info("block %d was mined elsewhere first; mining on the new tip", block["index"])
        self.metrics.count("MiningSuccesses")
        self.metrics.timing("TimeToMine", (time.perf_counter() - started) * 1000)
        self._announce("block", block)
        return {"status": "mined", "block": block, "hash": digest}

    def _search(self, block: dict, parent_hash: str, deadline: float) -> int | None:
        header = rules.header(block)
        start = 0
        while time.monotonic() < deadline and not self._stop.is_set():
            try:
                proof = self._pool().submit(rules.search, header, self.settings.difficulty, start,
                                            PROOFS_PER_SEARCH).result()
            except BrokenProcessPool:
                log.error("the mining process died; starting another")
                self._miner_pool = None
                continue
            if proof is not None:
                return proof
            start += PROOFS_PER_SEARCH
            with self._lock:
                if self._hashes[-1] != parent_hash:
                    return STALE
        return None

    def _pool(self) -> ProcessPoolExecutor:
        if self._miner_pool is None:  # spawn: a fork of this threaded process could inherit a held lock
            self._miner_pool = ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn"))
        return self._miner_pool

    # --- announcing and checkpointing ----------------------------------------------------------------

    def _announce(self, kind: str, item: object) -> None:
        try:
            self._announcements.put_nowait((kind, item))
        except queue.Full:  # peers learn of it at their next resolve; nothing is lost here
            log.warning("announcement queue full: %s not announced", kind)

    def _announce_loop(self) -> None:
        held = None
        while not self._stop.is_set():
            kind, item = held or self._announcements.get()
            held = None
            if kind == "introduce":
                if self.address:
                    self._send([item], "/nodes/register", {"nodes": [self.address]})
            elif kind == "block":
                self._send(self.peers(), "/nodes/blocks", {"block": item})
            else:
                batch = [item]
                while len(batch) < MAX_ANNOUNCED_TRANSACTIONS:
                    try:
                        following = self._announcements.get_nowait()
                    except queue.Empty:
                        break
                    if following[0] != "transactions":
                        held = following  # sent after this batch: a block never overtakes its transactions
                        break
                    batch.append(following[1])
                self._send(self.peers(), "/nodes/transactions", {"transactions": batch})

    def _send(self, peers: list[str], path: str, body: dict) -> None:
        def post(peer: str) -> None:
            try:
                status = self.client.post(peer, path, body)
                if status >= 400:
                    log.warning("peer %s refused %s: HTTP %d", peer, path, status)
            except PeerError as error:
                self._peer_failed(peer, error)
        try:
            list(self._senders.map(post, peers))
        except RuntimeError:  # stopping: the pool is shut down
            pass

    def _checkpoint_loop(self) -> None:
        while not self._stop.wait(self.settings.checkpoint_interval or 0.05):
            if self.synced.is_set():
                self._save_checkpoint()

    def _save_checkpoint(self) -> None:
        if self.checkpoint is None or not self.synced.is_set() or not self._dirty.is_set():
            return
        self._dirty.clear()
        with self._lock:
            blocks, pending = list(self._chain), list(self._pending.values())
        try:
            if not self.checkpoint.save(blocks, pending):
                log.info("the checkpoint holds a longer chain than this node's %d blocks: not overwritten",
                         len(blocks))
        except CheckpointError as error:
            self._dirty.set()
            log.error("checkpoint not written (%s); retrying", error)


def _hash(block: object) -> str | None:
    try:
        return rules.block_hash(block)  # type: ignore[arg-type]
    except (KeyError, TypeError, ValueError):
        return None  # not a block: checking the answer says why


def _common_prefix(ours: list[str], theirs: list[str]) -> int:
    """Blocks the two chains share. A block's hash covers its parent's, so equal hashes at a height mean equal
    chains up to it: a binary search suffices."""
    low, high = 0, min(len(ours), len(theirs))
    while low < high:
        middle = (low + high + 1) // 2
        if ours[middle - 1] == theirs[middle - 1]:
            low = middle
        else:
            high = middle - 1
    return low
