"""Freeze one frame of a video at a given position and upload it to S3 as a PNG.

Configured by environment (set per task by the task invoker):
  INPUT_VIDEO_FILE_URL      s3://bucket/key, or an http(s) URL
  POSITION_TIME_DURATION    seconds ("12.5"), HH:MM:SS[.ms] ("00:01:02.250"), or a percentage of the duration ("50%")
  OUTPUT_S3_PATH            bucket/prefix the thumbnail is written under
  OUTPUT_THUMBS_FILE_NAME   file name of the thumbnail, ending in .png
  AWS_REGION                region of the S3 client (botocore honours AWS_ENDPOINT_URL, for local emulators)
  FFMPEG_BINARY             optional path of ffmpeg; default: ffmpeg on PATH, else imageio-ffmpeg's bundled binary

S3 input is handed to ffmpeg as a presigned URL, and the position is given before `-i` (input seeking), so ffmpeg
reads the container index and the byte ranges around the position instead of the whole object. Bad input ends the
process with a non-zero status and a one-line reason, and nothing is uploaded.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

# Only real video containers may be opened: this stops a disguised playlist (HLS, concat) from making ffmpeg open
# other URLs or local files on the task's behalf.
ALLOWED_DEMUXERS = "mov,matroska,avi"
ALLOWED_PROTOCOLS = "http,https,tcp,tls"
PRESIGNED_URL_TTL_SECONDS = 900
NETWORK_TIMEOUT_MICROSECONDS = 30_000_000
FFMPEG_TIMEOUT_SECONDS = 600


_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_SECONDS = re.compile(r"^\d+(?:\.\d+)?$")
_CLOCK = re.compile(r"^(\d+):([0-5]\d):([0-5]\d(?:\.\d+)?)$")
_PERCENT = re.compile(r"^(\d+(?:\.\d+)?)%$")
_DURATION = re.compile(r"Duration: (\d+):(\d{2}):(\d{2}(?:\.\d+)?)")
_VIDEO_STREAM = re.compile(r"^\s*Stream #\d+:\d+\S*: Video: (?!.*\(attached pic\))", re.MULTILINE)


class ThumbnailError(Exception):
    """No thumbnail can be made from this input or written to this output; the message is the one-line reason."""


@dataclass(frozen=True)
class Position:
    seconds: float | None = None
    percent: float | None = None

    def resolve(self, duration: float | None) -> float:
        if self.percent is None:
            return self.seconds
        if duration is None:
            raise ThumbnailError(f"position {self.percent:g}% needs the video's duration, which is unknown")
        return duration * self.percent / 100

    def __str__(self) -> str:
        return f"{self.percent:g}%" if self.percent is not None else f"{self.seconds:g}s"


@dataclass(frozen=True)
class Settings:
    input_url: str
    position: Position
    output_bucket: str
    output_key: str
    region: str | None


def parse_position(text: str) -> Position:
    text = text.strip()
    if _SECONDS.match(text):
        return Position(seconds=float(text))
    if match := _CLOCK.match(text):
        hours, minutes, seconds = match.groups()
        return Position(seconds=int(hours) * 3600 + int(minutes) * 60 + float(seconds))
    if match := _PERCENT.match(text):
        return Position(percent=float(match.group(1)))
    raise ThumbnailError(
        f"POSITION_TIME_DURATION {text!r} is not seconds, HH:MM:SS[.ms] or a percentage such as 50%"
    )


def parse_output_path(text: str) -> tuple[str, str]:
    """`bucket/prefix` (the prefix may be empty) into (bucket, prefix)."""
    bucket, _, prefix = text.strip().partition("/")
    if not _BUCKET_NAME.match(bucket) or ".." in bucket:
        raise ThumbnailError(f"OUTPUT_S3_PATH {text!r} is not bucket/prefix with a valid bucket name")
    return bucket, prefix.strip("/")


def settings_from_env(env=os.environ) -> Settings:
    def required(name: str) -> str:
        value = env.get(name, "").strip()
        if not value:
            raise ThumbnailError(f"{name} is not set")
        return value

    input_url = required("INPUT_VIDEO_FILE_URL")
    if urlsplit(input_url).scheme not in ("s3", "http", "https"):
        raise ThumbnailError("INPUT_VIDEO_FILE_URL must be an s3:// or http(s):// URL")
    position = parse_position(required("POSITION_TIME_DURATION"))
    bucket, prefix = parse_output_path(required("OUTPUT_S3_PATH"))
    file_name = required("OUTPUT_THUMBS_FILE_NAME")
    if "/" in file_name or not file_name.lower().endswith(".png") or file_name.startswith("."):
        raise ThumbnailError(f"OUTPUT_THUMBS_FILE_NAME {file_name!r} must be a plain file name ending in .png")
    return Settings(
        input_url=input_url,
        position=position,
        output_bucket=bucket,
        output_key=f"{prefix}/{file_name}" if prefix else file_name,
        region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION"),
    )


def ffmpeg_binary(env=os.environ) -> str:
    if configured := env.get("FFMPEG_BINARY"):
        return configured
    if on_path := shutil.which("ffmpeg"):
        return on_path
    try:
        import imageio_ffmpeg  # local runs and tests only; the container image has the distribution's ffmpeg
    except ImportError:
        raise ThumbnailError("no ffmpeg: set FFMPEG_BINARY or put ffmpeg on PATH") from None
    return imageio_ffmpeg.get_ffmpeg_exe()


def readable_url(s3, input_url: str) -> str:
    """The URL ffmpeg reads: a short-lived presigned GET for s3://, the URL itself for http(s)."""
    parts = urlsplit(input_url)
    if parts.scheme != "s3":
        return input_url
    bucket, key = parts.netloc, parts.path.lstrip("/")
    if not bucket or not key:
        raise ThumbnailError(f"INPUT_VIDEO_FILE_URL {input_url!r} is not s3://bucket/key")
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in ("404", "NoSuchKey", "NotFound", "NoSuchBucket"):
            raise ThumbnailError(f"input {input_url} does not exist") from None
        if code in ("403", "AccessDenied"):
            # Without s3:ListBucket (deliberately not granted) S3 answers 403 for a missing key too.
            raise ThumbnailError(f"input {input_url} does not exist or this task may not read it (403)") from None
        raise
    return s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=PRESIGNED_URL_TTL_SECONDS
    )


def _input_options() -> list[str]:
    return [
        "-protocol_whitelist", ALLOWED_PROTOCOLS,
        "-format_whitelist", ALLOWED_DEMUXERS,
        "-rw_timeout", str(NETWORK_TIMEOUT_MICROSECONDS),
    ]


def _ffmpeg_reason(stderr: str, url: str, shown_as: str) -> str:
    """The most telling ffmpeg error line, with the (possibly presigned) URL replaced by the input's name."""
    lines = [line.strip() for line in stderr.replace(url, shown_as).splitlines() if line.strip()]
    if any("not on whitelist" in line for line in lines):
        return "its container is not one of mp4/mov, mkv/webm or avi"
    for line in reversed(lines):
        if "Error opening input:" in line or "Server returned" in line or "HTTP error" in line:
            return line.split("] ", 1)[-1]
    return lines[-1] if lines else "ffmpeg gave no reason"


def probe_duration(ffmpeg: str, url: str, shown_as: str) -> float | None:
    """Open the input once with ffmpeg (no ffprobe needed) and return its duration; ThumbnailError if it is no video."""
    result = subprocess.run(
        [ffmpeg, "-hide_banner", "-nostdin", *_input_options(), "-i", url],
        capture_output=True, text=True, errors="replace", timeout=FFMPEG_TIMEOUT_SECONDS,
    )
    # Without an output ffmpeg always exits non-zero; whether the input opened shows in its report.
    if "Input #0" not in result.stderr:
        reason = _ffmpeg_reason(result.stderr, url, shown_as)
        raise ThumbnailError(f"input {shown_as} is not a readable video: {reason}")
    if not _VIDEO_STREAM.search(result.stderr):
        raise ThumbnailError(f"input {shown_as} has no video stream")
    match = _DURATION.search(result.stderr)
    if not match:
        return None
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def frame_command(ffmpeg: str, url: str, seconds: float, output: Path) -> list[str]:
    # -ss before -i seeks in the input (to the keyframe before the position, then decodes only up to it).
    return [
        ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error",
        *_input_options(), "-ss", f"{seconds:.3f}", "-i", url,
        "-map", "0:v:0", "-frames:v", "1", "-an", "-c:v", "png", "-f", "image2", "-update", "1", "-y", str(output),
    ]


def extract_frame(ffmpeg: str, url: str, shown_as: str, seconds: float, output: Path) -> None:
    result = subprocess.run(
        frame_command(ffmpeg, url, seconds, output),
        capture_output=True, text=True, errors="replace", timeout=FFMPEG_TIMEOUT_SECONDS,
    )
    if result.returncode != 0:
        reason = _ffmpeg_reason(result.stderr, url, shown_as)
        raise ThumbnailError(f"ffmpeg could not read a frame of {shown_as}: {reason}")
    if not output.exists() or output.stat().st_size == 0:
        raise ThumbnailError(f"position {seconds:.3f}s is past the last frame of {shown_as}")


def make_thumbnail(settings: Settings, env=os.environ) -> str:
    """Write the thumbnail and return its s3:// URI. Raises ThumbnailError with the reason it cannot."""
    # botocore without boto3: nothing here needs boto3's extra layers, and the task starts ~0.1 s sooner.
    s3 = botocore.session.get_session().create_client(
        "s3", region_name=settings.region, config=Config(signature_version="s3v4")
    )
    ffmpeg = ffmpeg_binary(env)
    url = readable_url(s3, settings.input_url)
    duration = probe_duration(ffmpeg, url, settings.input_url)
    seconds = settings.position.resolve(duration)
    if duration is not None and seconds >= duration:
        raise ThumbnailError(
            f"position {settings.position} ({seconds:.3f}s) is past the end of {settings.input_url} "
            f"({duration:.3f}s long)"
        )
    with tempfile.TemporaryDirectory(prefix="thumbnail-") as workdir:
        frame = Path(workdir) / "frame.png"
        extract_frame(ffmpeg, url, settings.input_url, seconds, frame)
        try:
            # One PUT: the thumbnail appears whole or not at all.
            s3.put_object(
                Bucket=settings.output_bucket, Key=settings.output_key, Body=frame.read_bytes(), ContentType="image/png"
            )
        except (ClientError, BotoCoreError) as error:
            raise ThumbnailError(
                f"could not upload s3://{settings.output_bucket}/{settings.output_key}: {error}"
            ) from None
    return f"s3://{settings.output_bucket}/{settings.output_key}"


def main(env=os.environ) -> int:
    try:
        settings = settings_from_env(env)
        written = make_thumbnail(settings, env)
    except ThumbnailError as error:
        print(f"thumbnail: error: {error}", file=sys.stderr)
        return 1
    print(f"thumbnail: wrote {written}")
    return 0
