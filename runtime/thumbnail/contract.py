"""What the thumbnail worker and the tom-thumb program share (standard library only): the image's sources, the
container's name and user, every environment variable, the time one video may take, and the parsers of the
inputs that config carries too (``parse_position``) or that both the worker's modes need (``thumbnail_name``).
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

SOURCE_DIR = "runtime/thumbnail"
DOCKERFILE = f"{SOURCE_DIR}/Dockerfile"
CONTAINER_NAME = "thumbnail"
CONTAINER_USER = "10001"  # the USER of the Dockerfile

ENV_BUCKET = "MEDIA_BUCKET"
"""The bucket videos are read from and thumbnails written to."""
ENV_KEY = "VIDEO_KEY"
"""One video to make a thumbnail of (a task per upload). Unset: backfill mode."""
ENV_VIDEO_PREFIX = "VIDEO_PREFIX"
"""Backfill mode: every video under this prefix that has no thumbnail yet gets one."""
ENV_VIDEO_SUFFIXES = "VIDEO_SUFFIXES"
"""What counts as a video in backfill mode (comma-separated, matched in any case)."""
ENV_THUMBNAIL_PREFIX = "THUMBNAIL_PREFIX"
ENV_POSITION = "POSITION_TIME_DURATION"
ENV_BACKFILL_LIMIT = "BACKFILL_LIMIT"
"""The most videos one backfill run makes thumbnails of; the rest wait for the next run."""
ENV_FFMPEG = "FFMPEG_BINARY"

VIDEO_SECONDS_LIMIT = 600
"""The most one video may take: every ffmpeg run for it ends by then, and the URL it reads expires after it."""
PRESIGNED_URL_MARGIN_SECONDS = 60
"""Clock skew between the task and S3 that the presigned URL tolerates beyond the deadline."""

_SECONDS = re.compile(r"^\d+(?:\.\d+)?$")
_CLOCK = re.compile(r"^(\d+):([0-5]\d):([0-5]\d(?:\.\d+)?)$")
_PERCENT = re.compile(r"^(\d+(?:\.\d+)?)%$")
POSITION_FORMS = "seconds, HH:MM:SS[.ms] or a percentage below 100% (e.g. 10%)"


class PositionError(ValueError):
    """A position that is none of the accepted forms."""


@dataclass(frozen=True)
class Position:
    seconds: float | None = None
    percent: float | None = None

    def resolve(self, duration: float | None) -> float | None:
        """Seconds into the video; None when a percentage meets an unknown duration."""
        if self.percent is None:
            return self.seconds
        return None if duration is None else duration * self.percent / 100

    def __str__(self) -> str:
        return f"{self.percent:g}%" if self.percent is not None else f"{self.seconds:g}s"


def parse_position(text: str) -> Position:
    text = str(text).strip()
    if _SECONDS.match(text):
        return Position(seconds=float(text))
    if match := _CLOCK.match(text):
        hours, minutes, seconds = match.groups()
        return Position(seconds=int(hours) * 3600 + int(minutes) * 60 + float(seconds))
    if (match := _PERCENT.match(text)) and float(match.group(1)) < 100:
        return Position(percent=float(match.group(1)))
    raise PositionError(f"{ENV_POSITION} {text!r} is not {POSITION_FORMS}")


def thumbnail_name(source_key: str) -> str:
    """A file name that depends only on the source key: readable stem plus a hash that keeps distinct keys apart,
    so a re-upload or a second run overwrites the same thumbnail, and backfill can tell which videos have one."""
    stem = source_key.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    readable = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-.")[:80] or "video"
    digest = hashlib.sha256(source_key.encode("utf-8")).hexdigest()[:16]
    return f"{readable}-{digest}.png"


def task_environment(*, video_suffixes: Sequence[str], position: str, backfill_limit: int) -> dict[str, str]:
    """The container's own fixed variables; the pattern adds the bucket, the prefixes and, per upload, the key
    (under ENV_BUCKET, ENV_VIDEO_PREFIX, ENV_THUMBNAIL_PREFIX and ENV_KEY)."""
    return {ENV_VIDEO_SUFFIXES: ",".join(video_suffixes), ENV_POSITION: str(position),
            ENV_BACKFILL_LIMIT: str(backfill_limit)}


@dataclass(frozen=True)
class Settings:
    bucket: str
    key: str | None
    video_prefix: str
    video_suffixes: tuple[str, ...]
    thumbnail_prefix: str
    position: Position
    backfill_limit: int

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Raises ValueError naming the variable that is missing or wrong."""
        def value(name: str, default: str | None = None) -> str:
            text = (env.get(name) or "").strip() or default
            if not text:
                raise ValueError(f"{name} is not set")
            return text

        thumbnail_prefix = value(ENV_THUMBNAIL_PREFIX)
        if not thumbnail_prefix.endswith("/") or thumbnail_prefix.startswith("/"):
            raise ValueError(f"{ENV_THUMBNAIL_PREFIX} {thumbnail_prefix!r} is not a prefix such as thumbnail/")
        limit = value(ENV_BACKFILL_LIMIT, "100")
        if not limit.isdigit() or int(limit) < 1:
            raise ValueError(f"{ENV_BACKFILL_LIMIT} {limit!r} is not a whole number of at least 1")
        key = env.get(ENV_KEY) or None  # used as it is: spaces and '#' are part of keys
        video_prefix = (env.get(ENV_VIDEO_PREFIX) or "").strip()
        if key is None and not video_prefix:
            raise ValueError(f"{ENV_KEY} or {ENV_VIDEO_PREFIX} must be set (one video, or backfill of a prefix)")
        if video_prefix and video_prefix == thumbnail_prefix:
            raise ValueError(f"{ENV_VIDEO_PREFIX} and {ENV_THUMBNAIL_PREFIX} must differ")
        return cls(bucket=value(ENV_BUCKET), key=key, video_prefix=video_prefix, thumbnail_prefix=thumbnail_prefix,
                   video_suffixes=tuple(s.strip().lower() for s in value(ENV_VIDEO_SUFFIXES, ".mp4").split(",")
                                        if s.strip()),
                   position=parse_position(value(ENV_POSITION)), backfill_limit=int(limit))

    @property
    def thumbnail_key(self) -> str:
        assert self.key is not None
        return self.thumbnail_key_of(self.key)

    def thumbnail_key_of(self, video_key: str) -> str:
        return f"{self.thumbnail_prefix}{thumbnail_name(video_key)}"
