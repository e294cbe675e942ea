"""Sync a site directory to the static site's bucket, then invalidate at CloudFront only what changed.

    pulumi stack output --json -s prod-static-site > outputs.json
    python -m runtime.static_site.upload --outputs outputs.json            # the site_dir the stack names
    python -m runtime.static_site.upload sites/my-site --bucket B --distribution-id E123 --html-max-age 300

Each file is put with its Content-Type (a fixed table, the same on every machine) and Cache-Control: a year and
``immutable`` for hashed assets (``app.3f9a1c2b.js``: a change gets a new name), the stack's HTML max-age for
everything else, so pages and unhashed files are never older than the site's cache TTL (0 in dev).

A file is uploaded only when its bytes changed (its MD5 against the object's ETag: objects are put in one request
with SSE-S3) and copied onto itself when only its headers changed (a new TTL); objects no file matches are
deleted (``--no-delete`` keeps them). Headers are checked object by object (a HEAD each) only when the header
rules changed since the last complete sync: that sync left their fingerprint in the object ``.static-site-sync``
(hidden names are never site files), so an unchanged site costs one LIST and one GET. ``--check-headers``
checks every object anyway (after someone changed headers by hand). Assets go first and pages last, so no page
ever refers to an asset not yet there; nothing is deleted when an upload failed. One invalidation covers the
changed paths — the keys themselves, because the viewer-request function rewrites ``/about-us`` to
``/about-us.html`` before the cache — or ``/*`` when more than ``--max-paths`` changed (a wildcard is billed as
one path).
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import mimetypes
import re
import sys
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from runtime.static_site import contract

HASHED = re.compile(r"[.-](?=[0-9a-f]*[0-9])(?=[0-9a-f]*[a-f])[0-9a-f]{8,64}\.[A-Za-z0-9]+$")
"""A name with a content hash before its extension (``site.3f9a1c2b.css``, ``app-0d4e5f6a7b8c.js``): hex of 8 to 64
digits with at least one digit and one letter, so dates (``-20240101``) and words are not taken for hashes."""
TYPES = {".html": "text/html", ".css": "text/css", ".js": "text/javascript", ".mjs": "text/javascript",
         ".json": "application/json", ".map": "application/json", ".txt": "text/plain", ".xml": "application/xml",
         ".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
         ".gif": "image/gif", ".webp": "image/webp", ".avif": "image/avif", ".ico": "image/vnd.microsoft.icon",
         ".woff": "font/woff", ".woff2": "font/woff2", ".ttf": "font/ttf", ".otf": "font/otf",
         ".webmanifest": "application/manifest+json", ".wasm": "application/wasm", ".pdf": "application/pdf",
         ".mp4": "video/mp4", ".webm": "video/webm"}
_BUILT_IN_TYPES = mimetypes.MimeTypes().types_map[True]  # Python's own table, never the machine's mime.types
TEXT_TYPES = re.compile(r"^(text/.*|application/(json|xml|manifest\+json)|image/svg\+xml)$")
DEFAULT_MAX_PATHS = 100
MARKER_KEY = ".static-site-sync"
RULES_VERSION = 1
WORKERS = 8


class SyncError(Exception):
    """The site cannot be synced as asked (bad input, no access); nothing was changed."""


@dataclass(frozen=True)
class LocalFile:
    key: str
    path: Path
    md5: str
    content_type: str
    cache_control: str

    @property
    def is_page(self) -> bool:
        return self.content_type.startswith("text/html")


@dataclass
class Plan:
    uploads: list[LocalFile] = field(default_factory=list)
    header_updates: list[LocalFile] = field(default_factory=list)
    deletions: list[str] = field(default_factory=list)
    unchanged: int = 0


@dataclass
class Result:
    uploaded: list[str] = field(default_factory=list)
    headers_updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    invalidation_id: str | None = None
    invalidated_paths: list[str] = field(default_factory=list)

    @property
    def changed_keys(self) -> list[str]:
        return sorted({*self.uploaded, *self.headers_updated, *self.deleted})


def rules_fingerprint(html_max_age: int) -> str:
    """Changes whenever the headers a file would get may change: the tables, the hash pattern, the ages."""
    rules = [RULES_VERSION, sorted(TYPES.items()), HASHED.pattern, TEXT_TYPES.pattern,
             contract.IMMUTABLE_MAX_AGE_SECONDS, html_max_age]
    return hashlib.sha256(json.dumps(rules).encode()).hexdigest()[:32]


def content_type(key: str) -> str:
    suffix = Path(key).suffix.lower()
    kind = TYPES.get(suffix) or _BUILT_IN_TYPES.get(suffix) or "application/octet-stream"
    return f"{kind}; charset=utf-8" if TEXT_TYPES.match(kind) else kind


def cache_control(key: str, html_max_age: int) -> str:
    if HASHED.search(Path(key).name) and Path(key).suffix.lower() != ".html":
        return f"public, max-age={contract.IMMUTABLE_MAX_AGE_SECONDS}, immutable"
    return f"public, max-age={html_max_age}" + (", must-revalidate" if html_max_age == 0 else "")


def local_files(site_dir: Path, html_max_age: int) -> dict[str, LocalFile]:
    """Every file under ``site_dir`` but hidden ones (``.git``, ``.DS_Store``), by object key."""
    files = {}
    for path in sorted(site_dir.rglob("*")):
        relative = path.relative_to(site_dir)
        if not path.is_file() or any(part.startswith(".") for part in relative.parts):
            continue
        key = relative.as_posix()
        files[key] = LocalFile(key, path, hashlib.md5(path.read_bytes()).hexdigest(), content_type(key),
                               cache_control(key, html_max_age))
    return files


def remote_objects(s3, bucket: str) -> dict[str, str]:
    """Key -> ETag (without quotes) of every object in the bucket."""
    objects = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            objects[item["Key"]] = item["ETag"].strip('"')
    objects.pop(MARKER_KEY, None)
    return objects


def synced_rules(s3, bucket: str) -> str | None:
    """The header rules' fingerprint the last complete sync left; None when there is none."""
    try:
        return s3.get_object(Bucket=bucket, Key=MARKER_KEY)["Body"].read().decode().strip()
    except ClientError as error:
        if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
            return None
        raise


def plan(s3, bucket: str, files: Mapping[str, LocalFile], objects: Mapping[str, str], delete: bool,
         check_headers: bool = True) -> Plan:
    result = Plan(deletions=sorted(set(objects) - set(files)) if delete else [])
    same_bytes = [f for key, f in files.items() if objects.get(key) == f.md5]
    result.uploads = [f for key, f in files.items() if objects.get(key) != f.md5]
    if not check_headers:  # the headers are those the same rules gave them
        result.unchanged = len(same_bytes)
        return result
    with ThreadPoolExecutor(WORKERS) as pool:
        heads = list(pool.map(lambda f: s3.head_object(Bucket=bucket, Key=f.key), same_bytes))
    for local, head in zip(same_bytes, heads):
        if (head.get("ContentType"), head.get("CacheControl")) != (local.content_type, local.cache_control):
            result.header_updates.append(local)
        else:
            result.unchanged += 1
    return result


def invalidation_paths(keys: Iterable[str], max_paths: int) -> list[str]:
    paths = sorted("/" + quote(key, safe="/~-._") for key in keys)
    return ["/*"] if len(paths) > max_paths else paths


def sync(site_dir: Path, bucket: str, distribution_id: str | None, html_max_age: int, *, delete: bool = True,
         dry_run: bool = False, max_paths: int = DEFAULT_MAX_PATHS, check_headers: bool = False, s3=None,
         cloudfront=None) -> Result:
    problem = contract.site_dir_problem(str(site_dir))
    if problem:
        raise SyncError(problem)
    config = Config(retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=WORKERS)
    s3 = s3 or boto3.client("s3", config=config)
    fingerprint = rules_fingerprint(html_max_age)
    try:
        check = check_headers or synced_rules(s3, bucket) != fingerprint
        todo = plan(s3, bucket, local_files(site_dir, html_max_age), remote_objects(s3, bucket), delete, check)
    except (ClientError, BotoCoreError) as error:
        raise SyncError(f"cannot read bucket {bucket}: {error}") from None
    result = Result(unchanged=todo.unchanged)
    if dry_run:
        result.uploaded = [f.key for f in todo.uploads]
        result.headers_updated = [f.key for f in todo.header_updates]
        result.deleted = todo.deletions
        return result
    assets = [f for f in todo.uploads if not f.is_page] + [f for f in todo.header_updates if not f.is_page]
    pages = [f for f in todo.uploads if f.is_page] + [f for f in todo.header_updates if f.is_page]
    uploads = {f.key for f in todo.uploads}
    for batch in (assets, pages):  # pages only once every asset is there
        with ThreadPoolExecutor(WORKERS) as pool:
            for local, error in zip(batch, pool.map(lambda f: _put(s3, bucket, f, f.key in uploads), batch)):
                if error:
                    result.failed[local.key] = error
                else:
                    (result.uploaded if local.key in uploads else result.headers_updated).append(local.key)
    if not result.failed:
        for start in range(0, len(todo.deletions), 1000):
            chunk = todo.deletions[start:start + 1000]
            s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True})
            result.deleted += chunk
    if not result.failed and check:
        # Written last, and only once every object has its headers: the next sync may then trust them.
        s3.put_object(Bucket=bucket, Key=MARKER_KEY, Body=fingerprint.encode(), ContentType="text/plain",
                      CacheControl="no-store")
    if distribution_id and result.changed_keys:
        cloudfront = cloudfront or boto3.client("cloudfront", config=config)
        result.invalidated_paths = invalidation_paths(result.changed_keys, max_paths)
        reference = hashlib.sha256(json.dumps([time.time_ns(), result.invalidated_paths]).encode()).hexdigest()
        answer = cloudfront.create_invalidation(DistributionId=distribution_id, InvalidationBatch={
            "Paths": {"Quantity": len(result.invalidated_paths), "Items": result.invalidated_paths},
            "CallerReference": f"sync-{reference[:32]}"})
        result.invalidation_id = answer["Invalidation"]["Id"]
    return result


def _put(s3, bucket: str, local: LocalFile, upload: bool) -> str | None:
    """Puts the file (or, when only its headers changed, copies the object onto itself); the error, or None."""
    headers = {"Bucket": bucket, "Key": local.key, "ContentType": local.content_type,
               "CacheControl": local.cache_control}
    try:
        if upload:
            body = local.path.read_bytes()
            s3.put_object(Body=body, ContentMD5=base64.b64encode(hashlib.md5(body).digest()).decode(), **headers)
        else:
            s3.copy_object(CopySource={"Bucket": bucket, "Key": local.key}, MetadataDirective="REPLACE", **headers)
    except (ClientError, BotoCoreError, OSError) as error:
        return str(error)
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m runtime.static_site.upload", description=__doc__.split("\n")[0])
    parser.add_argument("site_dir", nargs="?",
                        help=f"the directory to serve (default: the stack's {contract.OUTPUT_SITE_DIR})")
    parser.add_argument("--outputs", type=Path, help="the stack's outputs as JSON (pulumi stack output --json)")
    parser.add_argument("--bucket")
    parser.add_argument("--distribution-id")
    parser.add_argument("--html-max-age", type=int, help="max-age (s) of pages and unhashed files")
    parser.add_argument("--no-delete", action="store_true", help="keep objects no local file matches")
    parser.add_argument("--dry-run", action="store_true", help="say what would change, change nothing")
    parser.add_argument("--check-headers", action="store_true",
                        help="compare every object's headers, even when the header rules have not changed")
    parser.add_argument("--max-paths", type=int, default=DEFAULT_MAX_PATHS,
                        help="above this many changed paths, invalidate /* instead")
    args = parser.parse_args(argv)
    try:
        outputs = json.loads(args.outputs.read_text()) if args.outputs else {}
        site_dir = args.site_dir or outputs.get(contract.OUTPUT_SITE_DIR)
        bucket = args.bucket or outputs.get(contract.OUTPUT_BUCKET)
        distribution = args.distribution_id or outputs.get(contract.OUTPUT_DISTRIBUTION_ID)
        max_age = args.html_max_age if args.html_max_age is not None else outputs.get(contract.OUTPUT_HTML_MAX_AGE)
        missing = [name for name, value in (("site_dir", site_dir), ("--bucket", bucket),
                                            ("--html-max-age", max_age)) if value is None]
        if missing:
            raise SyncError(f"missing {', '.join(missing)} (give them, or --outputs with the stack's outputs)")
        if not isinstance(max_age, int) or max_age < 0:
            raise SyncError(f"--html-max-age: {max_age!r}; a whole number of seconds, 0 or more")
        path = Path(site_dir) if Path(site_dir).is_absolute() else contract.PROJECT_DIR / site_dir
        result = sync(path, bucket, distribution, max_age, delete=not args.no_delete, dry_run=args.dry_run,
                      max_paths=args.max_paths, check_headers=args.check_headers)
    except (SyncError, OSError, json.JSONDecodeError) as error:
        print(f"upload: {error}", file=sys.stderr)
        return 2
    except (ClientError, BotoCoreError) as error:  # S3 or CloudFront refused midway: what was put stays put
        print(f"upload: {error}", file=sys.stderr)
        return 1
    verb = "would be " if args.dry_run else ""
    print(f"{len(result.uploaded)} {verb}uploaded, {len(result.headers_updated)} {verb}given new headers, "
          f"{len(result.deleted)} {verb}deleted, {result.unchanged} unchanged")
    if result.invalidation_id:
        print(f"invalidation {result.invalidation_id}: {', '.join(result.invalidated_paths)}")
    for key, error in sorted(result.failed.items()):
        print(f"failed {key}: {error}", file=sys.stderr)
    return 1 if result.failed else 0


if __name__ == "__main__":
    sys.exit(main())
