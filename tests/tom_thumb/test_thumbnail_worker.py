"""The thumbnail worker against a local S3 emulator: positions, http input, and every way its input can be bad
(each must end with a non-zero status, a one-line reason, and nothing uploaded)."""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
from pathlib import Path

import boto3
import cv2
import numpy as np
import pytest
from botocore.stub import Stubber

from runtime.thumbnail import worker

REPO_ROOT = Path(__file__).resolve().parents[2]
BUCKET = "media"
VIDEO_KEY = "video/clip one.mp4"
OUTPUT_PREFIX = "thumbnail"


@pytest.fixture
def media(aws, colour_video):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.upload_file(str(colour_video), BUCKET, VIDEO_KEY)
    return s3


def task_env(**overrides: str) -> dict[str, str]:
    env = {
        "INPUT_VIDEO_FILE_URL": f"s3://{BUCKET}/{VIDEO_KEY}",
        "POSITION_TIME_DURATION": "3",
        "OUTPUT_S3_PATH": f"{BUCKET}/{OUTPUT_PREFIX}",
        "OUTPUT_THUMBS_FILE_NAME": "clip.png",
    }
    env.update(overrides)
    return env


def run_main(monkeypatch, capsys, env: dict[str, str]) -> tuple[int, str, str]:
    for name in ("INPUT_VIDEO_FILE_URL", "POSITION_TIME_DURATION", "OUTPUT_S3_PATH", "OUTPUT_THUMBS_FILE_NAME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    status = worker.main()
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def outputs(s3) -> list[str]:
    return [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET, Prefix=OUTPUT_PREFIX).get("Contents", [])]


def mean_bgr(png: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR).reshape(-1, 3).mean(axis=0)


def assert_refused(status: int, out: str, err: str, s3, reason: str) -> None:
    assert status != 0
    assert out == ""
    assert err.startswith("thumbnail: error: ") and err.endswith("\n") and err.count("\n") == 1, err
    assert reason in err
    assert "Signature=" not in err, "a presigned URL leaked into the log"
    assert outputs(s3) == []


@pytest.mark.parametrize(
    ("text", "seconds", "percent"),
    [
        ("0", 0.0, None),
        ("12.5", 12.5, None),
        ("00:00:03", 3.0, None),
        ("01:02:03.250", 3723.25, None),
        ("50%", None, 50.0),
        ("12.5%", None, 12.5),
        (" 7 ", 7.0, None),
    ],
)
def test_position_forms(text, seconds, percent):
    assert worker.parse_position(text) == worker.Position(seconds=seconds, percent=percent)


def test_position_is_given_before_the_input_so_ffmpeg_seeks_instead_of_decoding():
    command = worker.frame_command("ffmpeg", "http://example.test/v.mp4", 144.0, Path("out.png"))
    assert command.index("-ss") < command.index("-i")
    assert command[command.index("-ss") + 1] == "144.000"
    assert command[command.index("-frames:v") + 1] == "1"


def test_http_input_is_read_directly(media, monkeypatch, capsys):
    url = media.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": VIDEO_KEY})
    assert url.startswith("http://")
    status, out, err = run_main(monkeypatch, capsys, task_env(INPUT_VIDEO_FILE_URL=url, POSITION_TIME_DURATION="5"))
    assert status == 0, err
    assert out == f"thumbnail: wrote s3://{BUCKET}/{OUTPUT_PREFIX}/clip.png\n"
    thumbnail = media.get_object(Bucket=BUCKET, Key=f"{OUTPUT_PREFIX}/clip.png")
    assert thumbnail["ContentType"] == "image/png"
    assert np.abs(mean_bgr(thumbnail["Body"].read()) - (255, 0, 0)).max() < 30  # blue from 4 s on


def test_output_path_without_prefix_writes_at_bucket_root(media, monkeypatch, capsys):
    status, _, err = run_main(monkeypatch, capsys, task_env(OUTPUT_S3_PATH=BUCKET))
    assert status == 0, err
    assert media.head_object(Bucket=BUCKET, Key="clip.png")["ContentType"] == "image/png"


@pytest.mark.parametrize(
    ("env", "reason"),
    [
        ({"INPUT_VIDEO_FILE_URL": f"s3://{BUCKET}/video/missing.mp4"}, "does not exist"),
        ({"INPUT_VIDEO_FILE_URL": "s3://no-such-bucket/video/a.mp4"}, "does not exist"),
        ({"INPUT_VIDEO_FILE_URL": f"s3://{BUCKET}"}, "is not s3://bucket/key"),
        ({"INPUT_VIDEO_FILE_URL": "file:///etc/passwd"}, "must be an s3:// or http(s):// URL"),
        ({"INPUT_VIDEO_FILE_URL": ""}, "INPUT_VIDEO_FILE_URL is not set"),
        ({"POSITION_TIME_DURATION": "00:01:00"}, "past the end"),
        ({"POSITION_TIME_DURATION": "6"}, "past the end"),
        ({"POSITION_TIME_DURATION": "100%"}, "past the end"),
        ({"POSITION_TIME_DURATION": "250%"}, "past the end"),
        ({"POSITION_TIME_DURATION": "5.99"}, "past the last frame"),
        ({"POSITION_TIME_DURATION": "abc"}, "is not seconds, HH:MM:SS[.ms] or a percentage"),
        ({"POSITION_TIME_DURATION": "1:2"}, "is not seconds, HH:MM:SS[.ms] or a percentage"),
        ({"POSITION_TIME_DURATION": "00:61:00"}, "is not seconds, HH:MM:SS[.ms] or a percentage"),
        ({"POSITION_TIME_DURATION": "-5"}, "is not seconds, HH:MM:SS[.ms] or a percentage"),
        ({"POSITION_TIME_DURATION": ""}, "POSITION_TIME_DURATION is not set"),
        ({"OUTPUT_S3_PATH": ""}, "OUTPUT_S3_PATH is not set"),
        ({"OUTPUT_S3_PATH": "/thumbnail"}, "is not bucket/prefix"),
        ({"OUTPUT_S3_PATH": "Bad_Bucket/thumbnail"}, "is not bucket/prefix"),
        ({"OUTPUT_S3_PATH": f"s3://{BUCKET}/thumbnail"}, "is not bucket/prefix"),
        ({"OUTPUT_THUMBS_FILE_NAME": "nested/clip.png"}, "must be a plain file name ending in .png"),
        ({"OUTPUT_THUMBS_FILE_NAME": "clip.jpg"}, "must be a plain file name ending in .png"),
    ],
)
def test_bad_settings_are_refused_and_nothing_is_uploaded(media, monkeypatch, capsys, env, reason):
    assert_refused(*run_main(monkeypatch, capsys, task_env(**env)), media, reason)


def test_object_that_is_not_a_video_is_refused(media, monkeypatch, capsys):
    media.put_object(Bucket=BUCKET, Key="video/notes.mp4", Body=b"these are meeting notes, not a video\n" * 50)
    status, out, err = run_main(monkeypatch, capsys, task_env(INPUT_VIDEO_FILE_URL=f"s3://{BUCKET}/video/notes.mp4"))
    assert_refused(status, out, err, media, "is not a readable video")


def test_image_disguised_as_video_is_refused(media, monkeypatch, capsys, ffmpeg, tmp_path):
    image = tmp_path / "still.png"
    subprocess.run([ffmpeg, "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=s=64x64:d=1", "-frames:v", "1",
                    str(image)], check=True)
    media.upload_file(str(image), BUCKET, "video/still.mp4")
    status, out, err = run_main(monkeypatch, capsys, task_env(INPUT_VIDEO_FILE_URL=f"s3://{BUCKET}/video/still.mp4"))
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


def test_playlist_disguised_as_video_cannot_make_ffmpeg_fetch_other_urls(media, monkeypatch, capsys, request_log):
    # An HLS playlist (as its content type says) would otherwise send ffmpeg to any URL from inside the VPC.
    base_url, requested = request_log
    playlist = f"#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6.0,\n{base_url}/metadata/segment.ts\n#EXT-X-ENDLIST\n"
    media.put_object(Bucket=BUCKET, Key="video/list.mp4", Body=playlist.encode(),
                     ContentType="application/vnd.apple.mpegurl")
    status, out, err = run_main(monkeypatch, capsys, task_env(INPUT_VIDEO_FILE_URL=f"s3://{BUCKET}/video/list.mp4"))
    assert_refused(status, out, err, media, "container is not one of mp4/mov, mkv/webm or avi")
    assert requested == []


def test_audio_without_picture_is_refused(media, monkeypatch, capsys, audio_only):
    media.upload_file(str(audio_only), BUCKET, "video/tone.mp4")
    status, out, err = run_main(monkeypatch, capsys, task_env(INPUT_VIDEO_FILE_URL=f"s3://{BUCKET}/video/tone.mp4"))
    assert_refused(status, out, err, media, "has no video stream")


def test_http_input_that_is_missing_is_refused(media, monkeypatch, capsys, moto_endpoint):
    url = f"{moto_endpoint}/{BUCKET}/video/missing.mp4"
    status, out, err = run_main(monkeypatch, capsys, task_env(INPUT_VIDEO_FILE_URL=url))
    assert_refused(status, out, err, media, "404")


def test_missing_output_bucket_is_reported(media, monkeypatch, capsys):
    status, out, err = run_main(monkeypatch, capsys, task_env(OUTPUT_S3_PATH="no-such-bucket/thumbnail"))
    assert_refused(status, out, err, media, "could not upload s3://no-such-bucket/thumbnail/clip.png")


def test_entrypoint_exits_non_zero_with_one_line_reason(media, aws):
    result = subprocess.run(
        [sys.executable, "-m", "runtime.thumbnail"],
        cwd=REPO_ROOT,
        env={"PATH": os.environ["PATH"], **aws, **task_env(POSITION_TIME_DURATION="00:10:00")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"thumbnail: error: position 600s (600.000s) is past the end of s3://{BUCKET}/{VIDEO_KEY} (6.000s long)"
    ]
    assert outputs(media) == []


def test_input_the_task_may_not_read_is_refused_with_a_reason(aws):
    # moto does not enforce IAM; S3's 403 (which it also returns for a missing key when the task has no
    # s3:ListBucket) is stubbed.
    s3 = boto3.client("s3")
    with Stubber(s3) as stubber:
        stubber.add_client_error("head_object", service_error_code="403", service_message="Forbidden",
                                 http_status_code=403)
        with pytest.raises(worker.ThumbnailError, match=r"does not exist or this task may not read it \(403\)"):
            worker.readable_url(s3, f"s3://{BUCKET}/{VIDEO_KEY}")
