"""Freeze one frame of a video in S3 at a given position and write it to the same bucket as a PNG.

Two modes, chosen by the environment (every name is in ``contract``):
  one video  VIDEO_KEY is set: the task the invoker starts per upload.
  backfill   VIDEO_KEY is unset: every video under VIDEO_PREFIX that has no thumbnail under THUMBNAIL_PREFIX gets
             one, at most BACKFILL_LIMIT per run. Run nightly, it catches what failed, was throttled, was
             dead-lettered or was uploaded before the stack existed.

Fast, because the whole process is what a task costs:
- one video needs no S3 service client: credentials come from botocore's chain and URLs are signed with its
  SigV4 query signer; the upload is a presigned PUT through urllib. The S3 service model is never loaded.
- no second ffmpeg run: an absolute position needs no duration; for a percentage, an MP4/MOV's duration comes
  from its movie header (``mvhd``) in one or two small ranged reads; other containers are probed by ffmpeg.
- the position goes before ``-i`` (input seeking): ffmpeg reads the index and the bytes around the position,
  not everything before it.
The presigned URL lives as long as ffmpeg may run on it (``VIDEO_SECONDS_LIMIT``), plus clock-skew margin. Only
real video containers may be opened, so a disguised playlist cannot make ffmpeg fetch other URLs. Bad input
ends with a one-line reason, a non-zero status, and nothing uploaded.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from runtime.thumbnail import contract
from runtime.thumbnail.contract import PositionError, Settings

ALLOWED_DEMUXERS = "mov,matroska,avi"
ALLOWED_PROTOCOLS = "http,https,tcp,tls"
NETWORK_TIMEOUT_MICROSECONDS = 30_000_000
HEADER_CHUNK_BYTES = 64 * 1024
MP4_FIRST_BOXES = (b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide")

_DURATION = re.compile(r"Duration: (\d+):(\d{2}):(\d{2}(?:\.\d+)?)")
_VIDEO_STREAM = re.compile(r"^\s*Stream #\d+:\d+\S*: Video: (?!.*\(attached pic\))", re.MULTILINE)


class ThumbnailError(Exception):
    """No thumbnail can be made from this input or written to this output; the message is the one-line reason."""


@dataclass(frozen=True)
class Deadline:
    at: float
    """time.monotonic() by which everything for one video has ended."""

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + seconds)

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())


class S3:
    """Signed requests to S3 objects without a service client (see the module's why)."""

    def __init__(self, env=os.environ):
        import botocore.session  # here, not at import: the backfill and the tests' parsers do not need it

        session = botocore.session.Session()
        self.credentials = session.get_credentials()
        if self.credentials is None:
            raise ThumbnailError("no AWS credentials (task role, or AWS_ACCESS_KEY_ID for local runs)")
        self.region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
        self.endpoint = (env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL") or "").rstrip("/")

    def object_url(self, bucket: str, key: str) -> str:
        path = quote(key, safe="/")  # '#', '?', '%' and spaces are part of a key, never URL syntax
        if self.endpoint:
            return f"{self.endpoint}/{bucket}/{path}"
        if "." in bucket:  # a dotted name does not match the wildcard certificate of virtual hosts
            return f"https://s3.{self.region}.amazonaws.com/{bucket}/{path}"
        return f"https://{bucket}.s3.{self.region}.amazonaws.com/{path}"

    def presign(self, method: str, bucket: str, key: str, expires_seconds: int, headers: dict | None = None) -> str:
        from botocore.auth import S3SigV4QueryAuth
        from botocore.awsrequest import AWSRequest

        request = AWSRequest(method=method, url=self.object_url(bucket, key), headers=dict(headers or {}))
        S3SigV4QueryAuth(self.credentials, "s3", self.region, expires=expires_seconds).add_auth(request)
        return request.url

    def readable_url(self, bucket: str, key: str, deadline: Deadline) -> str:
        """A GET URL valid until after the deadline, which every read of this video ends by."""
        return self.presign("GET", bucket, key, math.ceil(deadline.remaining()) + contract.PRESIGNED_URL_MARGIN_SECONDS)

    def put_png(self, bucket: str, key: str, body: bytes, deadline: Deadline) -> None:
        """One PUT: the thumbnail appears whole or not at all."""
        headers = {"Content-Type": "image/png"}
        url = self.presign("PUT", bucket, key, math.ceil(deadline.remaining()) + contract.PRESIGNED_URL_MARGIN_SECONDS,
                           headers)
        request = urllib.request.Request(url, data=body, method="PUT", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=max(1.0, deadline.remaining())):
                pass
        except urllib.error.HTTPError as error:
            raise ThumbnailError(f"could not upload s3://{bucket}/{key}: {error.code} {_s3_code(error)}") from None
        except OSError as error:
            raise ThumbnailError(f"could not upload s3://{bucket}/{key}: {error}") from None


def _s3_code(error: urllib.error.HTTPError) -> str:
    match = re.search(rb"<Code>([^<]+)</Code>", error.read() or b"")
    return match.group(1).decode() if match else error.reason


def _missing(shown_as: str, status: int) -> ThumbnailError:
    if status == 403:
        # Without s3:ListBucket on the key's prefix S3 answers 403 for a missing key too.
        return ThumbnailError(f"input {shown_as} does not exist or this task may not read it (403)")
    return ThumbnailError(f"input {shown_as} does not exist")


class RangeReader:
    """Reads byte ranges of a URL in chunks of HEADER_CHUNK_BYTES, one request per chunk."""

    def __init__(self, url: str, shown_as: str, deadline: Deadline):
        self.url, self.shown_as, self.deadline = url, shown_as, deadline
        self.start, self.chunk = -1, b""
        self.requests = 0

    def read(self, offset: int, length: int) -> bytes:
        if not (self.start <= offset and offset + length <= self.start + len(self.chunk)):
            self._fetch(offset)
        return self.chunk[offset - self.start:offset - self.start + length]

    def _fetch(self, offset: int) -> None:
        request = urllib.request.Request(self.url, headers={"Range": f"bytes={offset}-{offset + HEADER_CHUNK_BYTES - 1}"})
        self.requests += 1
        try:
            with urllib.request.urlopen(request, timeout=min(30.0, max(1.0, self.deadline.remaining()))) as response:
                self.start, self.chunk = offset, response.read(HEADER_CHUNK_BYTES)
        except urllib.error.HTTPError as error:
            if error.code == 416:  # past the end of the object
                self.start, self.chunk = offset, b""
                return
            if error.code in (403, 404):
                raise _missing(self.shown_as, error.code) from None
            raise ThumbnailError(f"could not read {self.shown_as}: {error.code} {_s3_code(error)}") from None
        except OSError as error:
            raise ThumbnailError(f"could not read {self.shown_as}: {error}") from None


def mp4_duration(read) -> float | None:
    """Seconds from the movie header of an MP4/MOV, reading top-level box headers only; None when this is no
    MP4/MOV or the header has no duration (fragmented files)."""
    offset = 0
    for _ in range(64):
        header = read(offset, 16)
        if len(header) < 8:
            return None
        size, kind = struct.unpack(">I4s", header[:8])
        header_size = 8
        if size == 1 and len(header) == 16:
            size, header_size = struct.unpack(">Q", header[8:16])[0], 16
        if offset == 0 and kind not in MP4_FIRST_BOXES:
            return None
        if kind == b"moov":
            return _mvhd_duration(read(offset + header_size, min(size - header_size, 4096)))
        if size < header_size:  # 0: the box runs to the end, so there is no movie header after it
            return None
        offset += size
    return None


def _mvhd_duration(children: bytes) -> float | None:
    position = 0
    while position + 8 <= len(children):
        size, kind = struct.unpack(">I4s", children[position:position + 8])
        if kind == b"mvhd":
            box = children[position:position + 40]
            if len(box) < 28:
                return None
            if box[8] == 1 and len(box) >= 40:
                timescale, duration = struct.unpack(">IQ", box[28:40])
                unknown = 2 ** 64 - 1
            else:
                timescale, duration = struct.unpack(">II", box[20:28])
                unknown = 2 ** 32 - 1
            return duration / timescale if timescale and 0 < duration < unknown else None
        if size < 8:
            return None
        position += size
    return None


def ffmpeg_binary(env=os.environ) -> str:
    if configured := env.get(contract.ENV_FFMPEG):
        return configured
    if on_path := shutil.which("ffmpeg"):
        return on_path
    try:
        import imageio_ffmpeg  # local runs and tests only; the container image has the distribution's ffmpeg
    except ImportError:
        raise ThumbnailError(f"no ffmpeg: set {contract.ENV_FFMPEG} or put ffmpeg on PATH") from None
    return imageio_ffmpeg.get_ffmpeg_exe()


def _input_options() -> list[str]:
    return ["-protocol_whitelist", ALLOWED_PROTOCOLS, "-format_whitelist", ALLOWED_DEMUXERS,
            "-rw_timeout", str(NETWORK_TIMEOUT_MICROSECONDS)]


def _ffmpeg_failure(stderr: str, url: str, shown_as: str) -> ThumbnailError:
    """The most telling ffmpeg error, with the presigned URL replaced by the input's name."""
    lines = [line.strip() for line in stderr.replace(url, shown_as).splitlines() if line.strip()]
    text = "\n".join(lines)
    if "404 Not Found" in text:
        return _missing(shown_as, 404)
    if "403 Forbidden" in text:
        return _missing(shown_as, 403)
    if "not on whitelist" in text:
        return ThumbnailError(f"input {shown_as} is not a readable video: its container is not one of mp4/mov, "
                              f"mkv/webm or avi")
    if "matches no streams" in text:
        return ThumbnailError(f"input {shown_as} has no video stream")
    reason = next((line.split("] ", 1)[-1] for line in reversed(lines)
                   if "Error opening input" in line or "Invalid data" in line or "Server returned" in line),
                  lines[-1] if lines else "ffmpeg gave no reason")
    return ThumbnailError(f"input {shown_as} is not a readable video: {reason}")


def _run(command: list[str], deadline: Deadline) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(command, capture_output=True, text=True, errors="replace", timeout=deadline.remaining())
    except subprocess.TimeoutExpired:
        raise ThumbnailError(f"ffmpeg took longer than {contract.VIDEO_SECONDS_LIMIT} s") from None


def probe_duration(ffmpeg: str, url: str, shown_as: str, deadline: Deadline) -> float | None:
    """Open the input with ffmpeg alone (no output) and read the duration from its report."""
    result = _run([ffmpeg, "-hide_banner", "-nostdin", *_input_options(), "-i", url], deadline)
    if "Input #0" not in result.stderr:
        raise _ffmpeg_failure(result.stderr, url, shown_as)
    if not _VIDEO_STREAM.search(result.stderr):
        raise ThumbnailError(f"input {shown_as} has no video stream")
    match = _DURATION.search(result.stderr)
    if not match:
        return None
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def frame_command(ffmpeg: str, url: str, seconds: float, output: Path) -> list[str]:
    # -ss before -i seeks in the input (to the keyframe before the position, then decodes only up to it).
    return [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", *_input_options(),
            "-ss", f"{seconds:.3f}", "-i", url,
            "-map", "0:v:0", "-frames:v", "1", "-an", "-c:v", "png", "-f", "image2", "-update", "1", "-y", str(output)]


def seconds_into(settings: Settings, ffmpeg: str, url: str, shown_as: str, deadline: Deadline) -> float:
    position = settings.position
    if position.percent is None:
        return position.seconds
    duration = mp4_duration(RangeReader(url, shown_as, deadline).read)
    if duration is None:
        duration = probe_duration(ffmpeg, url, shown_as, deadline)
    if duration is None:
        raise ThumbnailError(f"position {position} needs the duration of {shown_as}, which is unknown")
    return duration * position.percent / 100


def make_thumbnail(settings: Settings, s3: S3, ffmpeg: str, key: str) -> str:
    """Write the thumbnail of ``key`` and return its s3:// URI; ThumbnailError with the reason it cannot."""
    shown_as = f"s3://{settings.bucket}/{key}"
    deadline = Deadline.after(contract.VIDEO_SECONDS_LIMIT)
    url = s3.readable_url(settings.bucket, key, deadline)
    seconds = seconds_into(settings, ffmpeg, url, shown_as, deadline)
    with tempfile.TemporaryDirectory(prefix="thumbnail-") as workdir:
        frame = Path(workdir) / "frame.png"
        result = _run(frame_command(ffmpeg, url, seconds, frame), deadline)
        if result.returncode != 0:
            raise _ffmpeg_failure(result.stderr, url, shown_as)
        if not frame.exists() or frame.stat().st_size == 0:
            raise ThumbnailError(f"position {settings.position} ({seconds:.3f}s) is past the end of {shown_as}")
        output = settings.thumbnail_key_of(key)
        s3.put_png(settings.bucket, output, frame.read_bytes(), deadline)
    return f"s3://{settings.bucket}/{output}"


def backfill(settings: Settings, s3: S3, ffmpeg: str) -> int:
    """Thumbnails of the videos under the prefix that have none; the exit status says whether any failed."""
    import botocore.session

    client = botocore.session.get_session().create_client("s3", region_name=s3.region)
    pages = client.get_paginator("list_objects_v2")

    def keys(prefix: str) -> list[str]:
        return [item["Key"] for page in pages.paginate(Bucket=settings.bucket, Prefix=prefix)
                for item in page.get("Contents", [])]

    existing = set(keys(settings.thumbnail_prefix))
    missing = [key for key in keys(settings.video_prefix) if key.lower().endswith(settings.video_suffixes)
               and settings.thumbnail_key_of(key) not in existing]
    chosen, failed = missing[:settings.backfill_limit], 0
    for key in chosen:
        try:
            print(f"thumbnail: wrote {make_thumbnail(settings, s3, ffmpeg, key)}", flush=True)
        except ThumbnailError as error:
            failed += 1
            print(f"thumbnail: error: {error}", file=sys.stderr, flush=True)
    print(f"thumbnail: backfill of s3://{settings.bucket}/{settings.video_prefix}: {len(missing)} without a "
          f"thumbnail, {len(chosen) - failed} made, {failed} failed, {len(missing) - len(chosen)} left for the "
          f"next run")
    return 1 if failed else 0


def main(env=os.environ) -> int:
    try:
        settings = Settings.from_env(env)
        s3, ffmpeg = S3(env), ffmpeg_binary(env)
        if settings.key is None:
            return backfill(settings, s3, ffmpeg)
        written = make_thumbnail(settings, s3, ffmpeg, settings.key)
    except (ThumbnailError, PositionError, ValueError) as error:
        print(f"thumbnail: error: {error}", file=sys.stderr)
        return 1
    print(f"thumbnail: wrote {written}")
    return 0
