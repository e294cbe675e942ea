"""Benchmark: what syncing the static site costs against uploading everything, in one run.

Against moto's S3 and CloudFront served over HTTP (ThreadedMotoServer on an ephemeral port), with a generated site
of --pages HTML pages and --assets hashed assets, four runs side by side:
  baseline    every file put again, with as many threads (what ``aws s3 cp --recursive`` does), invalidating /*;
  first sync  the upload tool on an empty bucket;
  unchanged   the tool again with nothing changed;
  one edit    the tool after one page changed.
Each row: wall time, S3 requests by kind, bytes put, paths invalidated.

    .venv/bin/python benchmarks/static_site_sync.py [--pages 300] [--assets 100] [--asset-kb 20]

Loopback figures: real S3 adds 10-50 ms a request, so what counts is the request and byte columns.
"""
from __future__ import annotations

import argparse
import collections
import logging
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # so the script runs from any directory


def generate_site(root: Path, pages: int, assets: int, asset_kb: int) -> None:
    import hashlib
    sample = REPO_ROOT / "sites" / "example-website"
    shutil.copytree(sample, root)
    for n in range(assets):
        body = (f"/* asset {n} */\n" + "a{color:#%06x}\n" % n * (asset_kb * 1024 // 16)).encode()
        (root / "assets" / f"part-{n}.{hashlib.sha256(body).hexdigest()[:10]}.css").write_bytes(body)
    (root / "posts").mkdir()
    for n in range(pages):
        (root / "posts" / f"post-{n}.html").write_text(f"<!doctype html><title>Post {n}</title><p>{'text ' * 400}\n")


class Counter:
    """S3 requests by operation and bytes put, from botocore's events."""

    def __init__(self, client):
        self.calls: collections.Counter[str] = collections.Counter()
        self.bytes = 0
        client.meta.events.register("before-call.s3.*", self._count)
        client.meta.events.register("before-parameter-build.s3.PutObject", self._count_bytes)

    def _count(self, model, **_):
        self.calls[model.name] += 1

    def _count_bytes(self, params, **_):
        self.bytes += len(params.get("Body") or b"")

    def reset(self) -> None:
        self.calls.clear()
        self.bytes = 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--assets", type=int, default=100)
    parser.add_argument("--asset-kb", type=int, default=20)
    args = parser.parse_args()

    import boto3
    from moto.server import ThreadedMotoServer

    from runtime.static_site import upload

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1",
                      AWS_ENDPOINT_URL=f"http://{host}:{port}")
    try:
        s3, cloudfront = boto3.client("s3"), boto3.client("cloudfront")
        counter = Counter(s3)
        s3.create_bucket(Bucket="bench-site")
        distribution = cloudfront.create_distribution(DistributionConfig={
            "CallerReference": "bench", "Comment": "bench", "Enabled": True,
            "Origins": {"Quantity": 1, "Items": [{"Id": "o", "DomainName": "bench-site.s3.amazonaws.com",
                                                  "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
            "DefaultCacheBehavior": {"TargetOriginId": "o", "ViewerProtocolPolicy": "redirect-to-https",
                                     "MinTTL": 0}})["Distribution"]["Id"]
        with tempfile.TemporaryDirectory() as directory:
            site = Path(directory) / "site"
            generate_site(site, args.pages, args.assets, args.asset_kb)
            files = upload.local_files(site, 300)
            print(f"site: {len(files)} files, {sum(f.path.stat().st_size for f in files.values()) / 1e6:.1f} MB; "
                  f"moto over HTTP on {host}:{port}")
            print(f"{'run':<11} {'seconds':>8} {'PUT':>5} {'HEAD':>5} {'LIST':>5} {'GET':>4} {'COPY':>5} {'MB put':>7} "
                  f"{'paths invalidated':>18}")

            def row(name: str, seconds: float, invalidated: str) -> None:
                c = counter.calls
                print(f"{name:<11} {seconds:>8.2f} {c['PutObject']:>5} {c['HeadObject']:>5} {c['ListObjectsV2']:>5} "
                      f"{c['GetObject']:>4} {c['CopyObject']:>5} {counter.bytes / 1e6:>7.2f} {invalidated:>18}")
                counter.reset()

            started = time.perf_counter()
            with ThreadPoolExecutor(upload.WORKERS) as pool:  # the baseline: everything, every time, as concurrent
                list(pool.map(lambda local: s3.put_object(
                    Bucket="bench-site", Key=local.key, Body=local.path.read_bytes(), ContentType=local.content_type,
                    CacheControl=local.cache_control), files.values()))
            cloudfront.create_invalidation(DistributionId=distribution, InvalidationBatch={
                "Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": "baseline"})
            row("baseline", time.perf_counter() - started, "/* (all)")
            s3.delete_objects(Bucket="bench-site", Delete={"Objects": [{"Key": k} for k in files]})
            counter.reset()

            for name, edit in (("first sync", None), ("unchanged", None), ("one edit", "posts/post-7.html")):
                if edit:
                    (site / edit).write_text((site / edit).read_text() + "<p>edited</p>\n")
                started = time.perf_counter()
                result = upload.sync(site, "bench-site", distribution, 300, s3=s3, cloudfront=cloudfront)
                paths = result.invalidated_paths
                row(name, time.perf_counter() - started, "none" if not paths else
                    ", ".join(paths) if len(paths) < 3 else f"{len(paths)} ({'/*' if paths == ['/*'] else 'keys'})")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
