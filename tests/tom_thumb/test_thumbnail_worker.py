"""The thumbnail worker against a local S3 emulator: positions, keys that are no URL, the URL's lifetime, the
duration from the movie header, backfill, and every way its input can be bad (each must end with a non-zero
status, a one-line reason, and nothing uploaded)."""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import boto3
import cv2
import numpy as np
import pytest

from runtime.thumbnail import contract, worker
from tests.tom_thumb.conftest import task_definition_env

REPO_ROOT = Path(__file__).resolve().parents[2]
BUCKET = "media"
VIDEO_KEY = "video/clip #1 what?.mp4"
BGR = {"red": (0, 0, 255), "lime": (0, 255, 0), "blue": (255, 0, 0)}


@pytest.fixture(scope="session")
def matroska(colour_video, ffmpeg, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("videos") / "colours.mkv"
    subprocess.run([ffmpeg, "-loglevel", "error", "-i", str(colour_video), "-c", "copy", str(path)], check=True)
    return path


@pytest.fixture
def media(aws, colour_video):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.upload_file(str(colour_video), BUCKET, VIDEO_KEY)
    return s3


def task_env(**overrides: str) -> dict[str, str]:
    return {**task_definition_env(BUCKET, "3", suffixes=(".mp4", ".mkv")), contract.ENV_KEY: VIDEO_KEY, **overrides}


def run_main(monkeypatch, capsys, env: dict[str, str]) -> tuple[int, str, str]:
    for name in vars(contract).values():
        if isinstance(name, str) and name.isupper() and name.replace("_", "").isalpha():
            monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    status = worker.main()
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def outputs(s3) -> list[str]:
    return [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET, Prefix="thumbnail/").get("Contents", [])]


def colour_of(s3, key: str) -> str:
    png = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    mean = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR).reshape(-1, 3).mean(axis=0)
    return min(BGR, key=lambda colour: np.abs(mean - BGR[colour]).max())


def assert_refused(status: int, out: str, err: str, s3, reason: str) -> None:
    assert status != 0
    assert out == ""
    assert err.startswith("thumbnail: error: ") and err.endswith("\n") and err.count("\n") == 1, err
    assert reason in err
    assert "Signature=" not in err, "a presigned URL leaked into the log"
    assert outputs(s3) == []


@pytest.mark.parametrize(("text", "seconds", "percent"), [
    ("0", 0.0, None), ("12.5", 12.5, None), ("00:00:03", 3.0, None), ("01:02:03.250", 3723.25, None),
    ("50%", None, 50.0), ("12.5%", None, 12.5), (" 7 ", 7.0, None)])
def test_position_forms(text, seconds, percent):
    assert contract.parse_position(text) == contract.Position(seconds=seconds, percent=percent)


def test_position_is_given_before_the_input_so_ffmpeg_seeks_instead_of_decoding():
    command = worker.frame_command("ffmpeg", "http://example.test/v.mp4", 144.0, Path("out.png"))
    assert command.index("-ss") < command.index("-i")
    assert command[command.index("-ss") + 1] == "144.000"
    assert command[command.index("-frames:v") + 1] == "1"


@pytest.mark.parametrize(("position", "colour"), [("1", "red"), ("00:00:03.000", "lime"), ("75%", "blue")])
def test_a_key_with_hash_and_question_mark_is_read_whole(media, monkeypatch, capsys, position, colour):
    status, out, err = run_main(monkeypatch, capsys, task_env(**{contract.ENV_POSITION: position}))
    assert status == 0, err
    written = f"thumbnail/{contract.thumbnail_name(VIDEO_KEY)}"
    assert out == f"thumbnail: wrote s3://{BUCKET}/{written}\n"
    assert outputs(media) == [written]
    assert media.head_object(Bucket=BUCKET, Key=written)["ContentType"] == "image/png"
    assert colour_of(media, written) == colour


def test_the_presigned_url_outlives_every_ffmpeg_run_for_the_video(media, matroska, monkeypatch, aws):
    # S3 checks the URL on every ranged read ffmpeg makes: no ffmpeg run may be allowed to go on past the
    # moment the URL it reads expires (before, a 900 s URL met two runs of up to 600 s each).
    run_ends, url_ends, real_run = [], [], subprocess.run
    s3 = worker.S3(aws)
    real_presign = s3.presign

    def recording_presign(method, bucket, key, expires_seconds, headers=None):
        url_ends.append(time.monotonic() + expires_seconds - contract.PRESIGNED_URL_MARGIN_SECONDS)
        return real_presign(method, bucket, key, expires_seconds, headers)

    def recording_run(command, **kwargs):
        run_ends.append(time.monotonic() + kwargs["timeout"])
        return real_run(command, **kwargs)

    monkeypatch.setattr(s3, "presign", recording_presign)
    monkeypatch.setattr(worker.subprocess, "run", recording_run)
    settings = contract.Settings.from_env(task_env(**{contract.ENV_POSITION: "50%"}))
    # Not an MP4, so the duration is probed by ffmpeg: two ffmpeg runs on one URL.
    media.upload_file(str(matroska), BUCKET, "video/clip.mkv")
    worker.make_thumbnail(settings, s3, worker.ffmpeg_binary(), "video/clip.mkv")
    assert len(run_ends) == 2 and len(url_ends) == 2  # probe and frame; the GET URL and the upload's PUT URL
    assert max(run_ends) <= min(url_ends)
    assert max(run_ends) - min(run_ends) < 5  # both bounded by one deadline, not one limit each


def test_the_duration_from_the_movie_header_is_ffmpegs(media, colour_video, aws, ffmpeg, tmp_path):
    faststart = tmp_path / "faststart.mp4"  # the index before the data, as web uploads often are
    subprocess.run([ffmpeg, "-loglevel", "error", "-i", str(colour_video), "-c", "copy", "-movflags", "+faststart",
                    str(faststart)], check=True)
    media.upload_file(str(faststart), BUCKET, "video/faststart.mp4")
    s3, deadline = worker.S3(aws), worker.Deadline.after(60)
    for key in (VIDEO_KEY, "video/faststart.mp4"):
        url = s3.readable_url(BUCKET, key, deadline)
        reader = worker.RangeReader(url, key, deadline)
        assert worker.mp4_duration(reader.read) == pytest.approx(worker.probe_duration(ffmpeg, url, key, deadline),
                                                                 abs=0.01)
        assert reader.requests <= 2  # small ranged reads, never the whole object
    assert worker.mp4_duration(lambda offset, length: b"\x1aE\xdf\xa3not an mp4"[offset:offset + length]) is None


def test_backfill_makes_the_missing_thumbnails_only(media, monkeypatch, capsys, colour_video):
    for key in ("video/b.MP4", "video/sub/c.mp4", "video/notes.txt"):
        media.upload_file(str(colour_video), BUCKET, key)
    done = f"thumbnail/{contract.thumbnail_name(VIDEO_KEY)}"
    media.put_object(Bucket=BUCKET, Key=done, Body=b"an earlier thumbnail")
    env = {**task_definition_env(BUCKET, "50%", suffixes=(".mp4",), limit=5)}

    status, out, err = run_main(monkeypatch, capsys, env)

    assert status == 0, err
    assert sorted(outputs(media)) == sorted([done, *(f"thumbnail/{contract.thumbnail_name(k)}"
                                                     for k in ("video/b.MP4", "video/sub/c.mp4"))])
    assert media.get_object(Bucket=BUCKET, Key=done)["Body"].read() == b"an earlier thumbnail"
    assert "2 without a thumbnail, 2 made, 0 failed, 0 left for the next run" in out


def test_backfill_goes_on_past_a_bad_video_and_stops_at_its_limit(media, monkeypatch, capsys, colour_video):
    media.put_object(Bucket=BUCKET, Key="video/a-broken.mp4", Body=b"not a video" * 100)
    for key in ("video/b.mp4", "video/c.mp4"):
        media.upload_file(str(colour_video), BUCKET, key)
    status, out, err = run_main(monkeypatch, capsys, task_definition_env(BUCKET, "1", limit=3))
    assert status == 1  # the failed-task rule hears it
    assert "video/a-broken.mp4 is not a readable video" in err
    assert "4 without a thumbnail, 2 made, 1 failed, 1 left for the next run" in out
    assert len(outputs(media)) == 2


@pytest.mark.parametrize(("env", "reason"), [
    ({contract.ENV_KEY: "video/missing.mp4"}, "input s3://media/video/missing.mp4 does not exist"),
    ({contract.ENV_KEY: "video/missing.mp4", contract.ENV_POSITION: "50%"}, "does not exist"),
    ({contract.ENV_BUCKET: "no-such-bucket"}, "does not exist"),
    ({contract.ENV_BUCKET: ""}, f"{contract.ENV_BUCKET} is not set"),
    ({contract.ENV_KEY: "", contract.ENV_VIDEO_PREFIX: ""}, "must be set (one video, or backfill of a prefix)"),
    ({contract.ENV_POSITION: "00:01:00"}, "past the end"),
    ({contract.ENV_POSITION: "6"}, "past the end"),
    ({contract.ENV_POSITION: "5.99"}, "past the end"),
    ({contract.ENV_POSITION: "100%"}, "is not seconds, HH:MM:SS[.ms] or a percentage below 100%"),
    ({contract.ENV_POSITION: "abc"}, "is not seconds, HH:MM:SS[.ms] or a percentage"),
    ({contract.ENV_POSITION: "1:2"}, "is not seconds, HH:MM:SS[.ms] or a percentage"),
    ({contract.ENV_POSITION: "00:61:00"}, "is not seconds, HH:MM:SS[.ms] or a percentage"),
    ({contract.ENV_POSITION: "-5"}, "is not seconds, HH:MM:SS[.ms] or a percentage"),
    ({contract.ENV_POSITION: ""}, f"{contract.ENV_POSITION} is not set"),
    ({contract.ENV_THUMBNAIL_PREFIX: ""}, f"{contract.ENV_THUMBNAIL_PREFIX} is not set"),
    ({contract.ENV_THUMBNAIL_PREFIX: "thumbnail"}, "is not a prefix such as thumbnail/"),
    ({contract.ENV_BACKFILL_LIMIT: "0"}, "is not a whole number of at least 1"),
])
def test_bad_settings_are_refused_and_nothing_is_uploaded(media, monkeypatch, capsys, env, reason):
    assert_refused(*run_main(monkeypatch, capsys, task_env(**env)), media, reason)


@pytest.mark.parametrize("position", ["3", "50%"])
def test_object_that_is_not_a_video_is_refused(media, monkeypatch, capsys, position):
    media.put_object(Bucket=BUCKET, Key="video/notes.mp4", Body=b"these are meeting notes, not a video\n" * 50)
    status, out, err = run_main(monkeypatch, capsys, task_env(**{contract.ENV_KEY: "video/notes.mp4",
                                                                 contract.ENV_POSITION: position}))
    assert_refused(status, out, err, media, "is not a readable video")


def test_image_disguised_as_video_is_refused(media, monkeypatch, capsys, ffmpeg, tmp_path):
    image = tmp_path / "still.png"
    subprocess.run([ffmpeg, "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=s=64x64:d=1", "-frames:v", "1",
                    str(image)], check=True)
    media.upload_file(str(image), BUCKET, "video/still.mp4")
    status, out, err = run_main(monkeypatch, capsys, task_env(**{contract.ENV_KEY: "video/still.mp4"}))
    assert_refused(status, out, err, media, "container is not one of mp4/mov, mkv/webm or avi")


@pytest.fixture
def request_log():
    """A loopback HTTP server that records every path asked of it."""
    paths: list[str] = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            paths.append(self.path)
            self.send_error(404)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", paths
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.parametrize("position", ["3", "50%"])
def test_playlist_disguised_as_video_cannot_make_ffmpeg_fetch_other_urls(media, monkeypatch, capsys, request_log,
                                                                         position):
    # An HLS playlist (as its content type says) would otherwise send ffmpeg to any URL from inside the VPC.
    base_url, requested = request_log
    playlist = f"#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6.0,\n{base_url}/metadata/segment.ts\n#EXT-X-ENDLIST\n"
    media.put_object(Bucket=BUCKET, Key="video/list.mp4", Body=playlist.encode(),
                     ContentType="application/vnd.apple.mpegurl")
    status, out, err = run_main(monkeypatch, capsys, task_env(**{contract.ENV_KEY: "video/list.mp4",
                                                                 contract.ENV_POSITION: position}))
    assert_refused(status, out, err, media, "container is not one of mp4/mov, mkv/webm or avi")
    assert requested == []


@pytest.mark.parametrize("position", ["1", "50%"])
def test_audio_without_picture_is_refused(media, monkeypatch, capsys, audio_only, position):
    media.upload_file(str(audio_only), BUCKET, "video/tone.mp4")
    status, out, err = run_main(monkeypatch, capsys, task_env(**{contract.ENV_KEY: "video/tone.mp4",
                                                                 contract.ENV_POSITION: position}))
    assert_refused(status, out, err, media, "has no video stream")


def test_object_urls_keep_keys_whole_and_choose_the_endpoint(aws, monkeypatch):
    s3 = worker.S3(aws)
    url = s3.presign("GET", BUCKET, "video/a#b?c d%.mp4", 660)
    parts = urlsplit(url)
    assert parts.path == f"/{BUCKET}/video/a%23b%3Fc%20d%25.mp4" and parts.fragment == ""
    assert parse_qs(parts.query)["X-Amz-Expires"] == ["660"]
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    aws_hosted = worker.S3({"AWS_REGION": "eu-west-1"})
    assert aws_hosted.object_url("media", "k") == "https://media.s3.eu-west-1.amazonaws.com/k"
    assert aws_hosted.object_url("my.media", "k") == "https://s3.eu-west-1.amazonaws.com/my.media/k"


def test_entrypoint_exits_non_zero_with_one_line_reason(media, aws):
    result = subprocess.run(
        [sys.executable, "-m", "runtime.thumbnail"], cwd=REPO_ROOT,
        env={"PATH": os.environ["PATH"], **aws, **task_env(**{contract.ENV_POSITION: "00:10:00"})},
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"thumbnail: error: position 600s (600.000s) is past the end of s3://{BUCKET}/{VIDEO_KEY}"]
    assert outputs(media) == []
