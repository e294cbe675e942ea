"""The upload tool against moto's S3 and CloudFront: types and cache headers, only changed files uploaded, headers
fixed in place, deletions, one invalidation of what changed, nothing deleted after a failed upload."""
from __future__ import annotations

import hashlib
import json
import shutil

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from runtime.static_site import contract, upload

SAMPLE = contract.PROJECT_DIR / contract.DEFAULT_SITE_DIR
BUCKET = "site-content"
[STYLESHEET] = [p.relative_to(SAMPLE).as_posix() for p in (SAMPLE / "assets").glob("site.*.css")]


@pytest.fixture(scope="module")
def clients():
    """moto, started once for the module (each test gets its own bucket and distribution)."""
    with pytest.MonkeyPatch.context() as patch:
        for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                           "AWS_DEFAULT_REGION": "us-east-1"}.items():
            patch.setenv(key, value)
        patch.delenv("AWS_ENDPOINT_URL", raising=False)
        with mock_aws():
            yield boto3.client("s3"), boto3.client("cloudfront")


@pytest.fixture
def cloud(clients, request):
    s3, cloudfront = clients
    s3.create_bucket(Bucket=BUCKET)
    distribution = cloudfront.create_distribution(DistributionConfig={
        "CallerReference": request.node.name, "Comment": "site", "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{"Id": "site-bucket", "DomainName": f"{BUCKET}.s3.amazonaws.com",
                                              "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "site-bucket", "ViewerProtocolPolicy": "redirect-to-https",
                                 "MinTTL": 0}})["Distribution"]["Id"]
    yield s3, cloudfront, distribution
    objects = s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    if objects:
        s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": o["Key"]} for o in objects]})
    s3.delete_bucket(Bucket=BUCKET)


@pytest.fixture
def site(tmp_path):
    shutil.copytree(SAMPLE, tmp_path / "site")
    return tmp_path / "site"


def sync(site, cloud, max_age=300, **options):
    s3, cloudfront, distribution = cloud
    return upload.sync(site, BUCKET, distribution, max_age, s3=s3, cloudfront=cloudfront, **options)


def invalidations(cloud) -> list[list[str]]:
    _, cloudfront, distribution = cloud
    listed = cloudfront.list_invalidations(DistributionId=distribution)["InvalidationList"].get("Items", [])
    return [cloudfront.get_invalidation(DistributionId=distribution, Id=i["Id"])["Invalidation"][
        "InvalidationBatch"]["Paths"].get("Items", []) for i in listed]


def head(cloud, key):
    return cloud[0].head_object(Bucket=BUCKET, Key=key)


def test_every_file_is_uploaded_with_its_type_and_cache_headers(site, cloud):
    result = sync(site, cloud)
    keys = sorted(p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file())
    assert sorted(result.uploaded) == keys and result.failed == {}
    expected = {"index.html": ("text/html; charset=utf-8", "public, max-age=300"),
                "blog/index.html": ("text/html; charset=utf-8", "public, max-age=300"),
                "about-us.html": ("text/html; charset=utf-8", "public, max-age=300"),
                STYLESHEET: ("text/css; charset=utf-8", "public, max-age=31536000, immutable"),
                "favicon.svg": ("image/svg+xml; charset=utf-8", "public, max-age=300"),
                "robots.txt": ("text/plain; charset=utf-8", "public, max-age=300")}
    for key, (content_type, cache_control) in expected.items():
        answer = head(cloud, key)
        assert (answer["ContentType"], answer["CacheControl"]) == (content_type, cache_control), key
        assert answer["ETag"].strip('"') == hashlib.md5((site / key).read_bytes()).hexdigest()
    assert invalidations(cloud) == [sorted(f"/{k}" for k in keys)]


def test_an_unchanged_site_uploads_nothing_invalidates_nothing_and_reads_one_listing(site, cloud):
    sync(site, cloud)
    calls = []
    cloud[0].meta.events.register("before-call.s3.*", lambda model, **_: calls.append(model.name))
    again = sync(site, cloud)
    cloud[0].meta.events.unregister("before-call.s3.*")
    assert (again.uploaded, again.headers_updated, again.deleted, again.unchanged) == ([], [], [], 8)
    assert again.invalidation_id is None and len(invalidations(cloud)) == 1
    assert sorted(calls) == ["GetObject", "ListObjectsV2"]  # the header rules' marker, the listing


def test_headers_changed_by_hand_are_trusted_until_checked(site, cloud):
    sync(site, cloud)
    s3 = cloud[0]
    s3.copy_object(Bucket=BUCKET, Key="robots.txt", CopySource={"Bucket": BUCKET, "Key": "robots.txt"},
                   MetadataDirective="REPLACE", ContentType="application/octet-stream", CacheControl="no-cache")
    assert sync(site, cloud).headers_updated == []  # same rules as the last complete sync: no HEADs
    assert sync(site, cloud, check_headers=True).headers_updated == ["robots.txt"]
    assert head(cloud, "robots.txt")["ContentType"] == "text/plain; charset=utf-8"


def test_a_changed_file_changes_only_its_object_and_only_its_path_is_invalidated(site, cloud):
    sync(site, cloud)
    before = head(cloud, "index.html")["LastModified"]
    (site / "about-us.html").write_text((site / "about-us.html").read_text().replace("About us", "About the team"))
    result = sync(site, cloud)
    assert (result.uploaded, result.headers_updated, result.unchanged) == (["about-us.html"], [], 7)
    assert invalidations(cloud)[-1] == ["/about-us.html"]
    assert head(cloud, "index.html")["LastModified"] == before
    assert b"About the team" in cloud[0].get_object(Bucket=BUCKET, Key="about-us.html")["Body"].read()


def test_a_new_ttl_rewrites_headers_in_place_without_uploading_bytes(site, cloud):
    sync(site, cloud)
    result = sync(site, cloud, max_age=0)
    assert result.uploaded == [] and STYLESHEET not in result.headers_updated  # hashed: a year whatever the TTL
    assert len(result.headers_updated) == 7
    assert head(cloud, "index.html")["CacheControl"] == "public, max-age=0, must-revalidate"
    assert head(cloud, "index.html")["ContentType"] == "text/html; charset=utf-8"
    assert "/index.html" in invalidations(cloud)[-1]


def test_removed_files_are_deleted_unless_kept_and_hidden_files_never_uploaded(site, cloud):
    (site / ".DS_Store").write_bytes(b"\0")
    sync(site, cloud)
    (site / "blog" / "first-post.html").unlink()
    kept = sync(site, cloud, delete=False)
    assert kept.deleted == [] and kept.invalidation_id is None and upload.MARKER_KEY not in kept.deleted
    result = sync(site, cloud)
    assert result.deleted == ["blog/first-post.html"]
    assert invalidations(cloud)[-1] == ["/blog/first-post.html"]
    keys = {o["Key"] for o in cloud[0].list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert "blog/first-post.html" not in keys and ".DS_Store" not in keys


def test_many_changed_paths_are_one_wildcard(site, cloud):
    result = sync(site, cloud, max_paths=3)
    assert result.invalidated_paths == ["/*"] and invalidations(cloud) == [["/*"]]


def test_a_dry_run_changes_nothing(site, cloud):
    result = sync(site, cloud, dry_run=True)
    assert len(result.uploaded) == 8 and "Contents" not in cloud[0].list_objects_v2(Bucket=BUCKET)
    assert invalidations(cloud) == []


class FailingPuts:
    """The S3 client, but a put of ``key`` fails the way S3 refuses one."""

    def __init__(self, client, key):
        self.client, self.key = client, key

    def put_object(self, **kwargs):
        if kwargs["Key"] == self.key:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "PutObject")
        return self.client.put_object(**kwargs)

    def __getattr__(self, name):
        return getattr(self.client, name)


def test_after_a_failed_upload_nothing_is_deleted_and_only_what_changed_is_invalidated(site, cloud):
    s3, cloudfront, distribution = cloud
    s3.put_object(Bucket=BUCKET, Key="old-page.html", Body=b"stale")
    result = upload.sync(site, BUCKET, distribution, 300, s3=FailingPuts(s3, "index.html"), cloudfront=cloudfront)
    assert list(result.failed) == ["index.html"] and "AccessDenied" in result.failed["index.html"]
    assert result.deleted == [] and "old-page.html" in {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert "/index.html" not in invalidations(cloud)[-1] and len(result.uploaded) == 7
    with pytest.raises(ClientError):  # no marker: the next sync checks every object's headers
        s3.head_object(Bucket=BUCKET, Key=upload.MARKER_KEY)


def test_pages_are_put_after_every_asset(site, cloud):
    s3, cloudfront, distribution = cloud
    order = []

    class Recording(FailingPuts):
        def put_object(self, **kwargs):
            order.append(kwargs["Key"])
            return self.client.put_object(**kwargs)

    upload.sync(site, BUCKET, distribution, 300, s3=Recording(s3, None), cloudfront=cloudfront)
    assert order.pop() == upload.MARKER_KEY  # last of all
    first_page = min(i for i, key in enumerate(order) if key.endswith(".html"))
    assert all(not key.endswith(".html") for key in order[:first_page])
    assert all(key.endswith(".html") for key in order[first_page:])


def test_the_command_reads_the_stack_outputs(site, cloud, tmp_path, capsys):
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({contract.OUTPUT_BUCKET: BUCKET, contract.OUTPUT_DISTRIBUTION_ID: cloud[2],
                                   contract.OUTPUT_HTML_MAX_AGE: 0, contract.OUTPUT_SITE_DIR: str(site)}))
    assert upload.main(["--outputs", str(outputs)]) == 0
    assert capsys.readouterr().out.startswith("8 uploaded, 0 given new headers, 0 deleted, 0 unchanged")
    assert head(cloud, "about-us.html")["CacheControl"] == "public, max-age=0, must-revalidate"
    assert upload.main([str(site), "--bucket", BUCKET]) == 2
    assert "missing --html-max-age" in capsys.readouterr().err
    assert upload.main([str(tmp_path), "--bucket", BUCKET, "--html-max-age", "1"]) == 2
    assert "has no index.html and no 404.html" in capsys.readouterr().err


@pytest.mark.parametrize(("key", "content_type", "immutable"), [
    ("app-0d4e5f6a7b8c.js", "text/javascript; charset=utf-8", True),
    ("report-20240101.css", "text/css; charset=utf-8", False),  # a date, not a hash
    ("my-long-filename.css", "text/css; charset=utf-8", False),
    ("fonts/inter.3b9a1f0c.woff2", "font/woff2", True),
    ("page.3b9a1f0c.html", "text/html; charset=utf-8", False),  # pages keep their URL: never immutable
    ("data.bin", "application/octet-stream", False),
])
def test_types_and_hashed_names(key, content_type, immutable):
    assert upload.content_type(key) == content_type
    assert upload.cache_control(key, 60).endswith("immutable") is immutable
