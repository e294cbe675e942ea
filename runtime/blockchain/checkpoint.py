"""The chain's checkpoint in the service's private S3 bucket: what a cold start (every task replaced at once)
recovers from.

One object, written by every node after its chain changed (at most once per interval), never over a longer
chain: a node that has not caught up yet cannot shorten the checkpoint. Read back, it is checked like a peer's
chain before it is used.
"""
from __future__ import annotations

import json
import logging
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .chain import InvalidChain, parse_json
from .contract import CHECKPOINT_KEY, MAX_CHAIN_BYTES

log = logging.getLogger("blockchain.checkpoint")
LENGTH = "chain-length"
"""Object metadata: the checkpointed chain's length, read with a HEAD before each write."""


class CheckpointError(Exception):
    """S3 failed (other than the checkpoint not existing yet): the node retries and stays unhealthy."""


class Checkpoint:
    def __init__(self, bucket: str, key: str = CHECKPOINT_KEY, client: Any = None):
        self.bucket, self.key = bucket, key
        self.s3 = client or boto3.client("s3", config=Config(connect_timeout=3, read_timeout=20,
                                                             retries={"max_attempts": 3, "mode": "standard"}))

    def load(self) -> dict | None:
        """``{"chain": [...], "pending": [...]}``, or None when no node has written one yet."""
        try:
            response = self.s3.get_object(Bucket=self.bucket, Key=self.key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise CheckpointError(f"s3://{self.bucket}/{self.key}: {error}") from None
        except BotoCoreError as error:
            raise CheckpointError(f"s3://{self.bucket}/{self.key}: {error}") from None
        if response.get("ContentLength", 0) > MAX_CHAIN_BYTES:
            raise CheckpointError(f"s3://{self.bucket}/{self.key}: larger than {MAX_CHAIN_BYTES} bytes")
        try:
            document = parse_json(response["Body"].read(MAX_CHAIN_BYTES + 1))
        except InvalidChain as error:
            log.error("the checkpoint is not JSON (%s): starting without it", error)
            return None
        if not isinstance(document, dict) or not isinstance(document.get("chain"), list):
            log.error("the checkpoint holds no chain: starting without it")
            return None
        return document

    def save(self, chain: list[dict], pending: list[dict]) -> bool:
        """Writes the chain unless the checkpoint holds a longer one; whether it wrote."""
        try:
            head = self.s3.head_object(Bucket=self.bucket, Key=self.key)
            stored = int(head.get("Metadata", {}).get(LENGTH, "0"))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in ("NoSuchKey", "404", "NotFound"):
                raise CheckpointError(f"s3://{self.bucket}/{self.key}: {error}") from None
            stored = 0
        except (BotoCoreError, ValueError) as error:
            raise CheckpointError(f"s3://{self.bucket}/{self.key}: {error}") from None
        if stored > len(chain):
            return False
        body = json.dumps({"chain": chain, "pending": pending}, separators=(",", ":")).encode()
        try:
            self.s3.put_object(Bucket=self.bucket, Key=self.key, Body=body, ContentType="application/json",
                               Metadata={LENGTH: str(len(chain))})
        except (ClientError, BotoCoreError) as error:
            raise CheckpointError(f"s3://{self.bucket}/{self.key}: {error}") from None
        return True
