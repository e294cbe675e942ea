"""Reads images from the service's S3 bucket with the task role's credentials.

boto3 finds the credentials (ECS task role) and honours AWS_ENDPOINT_URL, so tests point it at a
local S3 server. The object's size is checked before its body is read.
"""

from __future__ import annotations

import threading

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError


class StorageError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class ObjectStore:
    def __init__(self, bucket: str | None, client=None):
        self.bucket = bucket
        self._client = client
        self._lock = threading.Lock()

    def _s3(self):
        with self._lock:  # gthread workers: create the client once
            if self._client is None:
                self._client = boto3.client("s3", config=Config(retries={"mode": "standard", "max_attempts": 3},
                                                                connect_timeout=5, read_timeout=20))
            return self._client

    def read(self, key: str, max_bytes: int) -> bytes:
        if not self.bucket:
            raise StorageError(503, "this service has no bucket configured (BUCKET is not set)")
        try:
            response = self._s3().get_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404", "NotFound"):
                raise StorageError(404, f"no object under key {key!r}") from None
            if code in ("AccessDenied", "403"):
                raise StorageError(403, f"not allowed to read key {key!r}") from None
            if code in ("InvalidObjectState",):
                raise StorageError(409, f"object {key!r} is archived and cannot be read now") from None
            raise StorageError(502, f"storage error reading {key!r}: {code or 'unknown'}") from None
        except BotoCoreError as error:
            raise StorageError(502, f"storage unavailable: {error.__class__.__name__}") from None
        body = response["Body"]
        try:
            if response.get("ContentLength", 0) > max_bytes:
                raise StorageError(413, f"object {key!r} is {response['ContentLength']} bytes, over the limit of "
                                        f"{max_bytes} bytes")
            data = body.read(max_bytes + 1)
        finally:
            body.close()
        if len(data) > max_bytes:
            raise StorageError(413, f"object {key!r} is over the limit of {max_bytes} bytes")
        return data
