"""Issue 16, delivery: the driver treats SIGTERM like Ctrl-C; secrets are per environment; the workflow is clean."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from planning.project import PROJECT_DIR
from stacks.engine import EngineSettings, SecretsNotConfigured

SUPERVISED_RUN = textwrap.dedent("""
    import threading
    from stacks.driver import run_interruptibly

    class Orchestrator:
        def __init__(self):
            self.cancelled = threading.Event()
            self.calls = []
        def cancel(self, force=False):
            self.calls.append(force)
            self.cancelled.set()

    orchestrator = Orchestrator()
    def work():
        print("running", flush=True)
        if not orchestrator.cancelled.wait(20):
            return "never cancelled"
        return "cancelled cleanly"
    print(run_interruptibly(work, orchestrator), orchestrator.calls, flush=True)
""")


def test_sigterm_cancels_the_running_stacks_cleanly_instead_of_killing_the_driver():
    process = subprocess.Popen([sys.executable, "-c", SUPERVISED_RUN], cwd=PROJECT_DIR, stdout=subprocess.PIPE,
                               text=True, env={**os.environ, "PYTHONPATH": str(PROJECT_DIR)})
    assert process.stdout.readline().strip() == "running"
    time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=30)
    assert process.returncode == 0, "SIGTERM killed the driver and left the engines unsupervised"
    assert out.strip() == "cancelled cleanly [False]"


def test_each_environment_has_its_own_secrets(tmp_path):
    environ = {"PULUMI_CONFIG_PASSPHRASE_DEV": "dev-only",
               "PULUMI_SECRETS_PROVIDER_PROD": "awskms://alias/cloud-patterns-prod?region=us-east-1"}
    dev = EngineSettings.for_project(tmp_path, environ, environment="dev")
    dev.check_secrets(environ)
    assert dev.secrets_provider == "passphrase"
    assert dev.workspace_options(environ)["env_vars"]["PULUMI_CONFIG_PASSPHRASE"] == "dev-only"
    prod = EngineSettings.for_project(tmp_path, environ, environment="prod")
    prod.check_secrets(environ)  # a KMS key needs no passphrase
    assert prod.secrets_provider == "awskms://alias/cloud-patterns-prod?region=us-east-1"
    assert "PULUMI_CONFIG_PASSPHRASE" not in prod.workspace_options(environ)["env_vars"]  # dev's never reaches prod


def test_an_environment_without_its_passphrase_is_refused_naming_the_variable(tmp_path):
    settings = EngineSettings.for_project(tmp_path, {"PULUMI_CONFIG_PASSPHRASE_DEV": "x"}, environment="prod")
    with pytest.raises(SecretsNotConfigured, match="PULUMI_CONFIG_PASSPHRASE_PROD"):
        settings.check_secrets({"PULUMI_CONFIG_PASSPHRASE_DEV": "x"})


def test_zizmor_finds_nothing_in_the_workflows():
    zizmor = Path(sys.executable).with_name("zizmor")
    result = subprocess.run([str(zizmor), "--offline", "--no-progress", *sorted(
        str(p) for p in (PROJECT_DIR / ".github" / "workflows").glob("*.yml"))], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_pull_request_code_gets_secrets_and_the_cloud_role_only_in_the_protected_environment():
    import yaml
    text = (PROJECT_DIR / ".github" / "workflows" / "ci.yml").read_text()
    jobs = yaml.safe_load(text)["jobs"]
    offline = jobs["offline-diff"]
    assert "secrets." not in yaml.safe_dump(offline) and "id-token" not in offline["permissions"]
    cloud = jobs["cloud-preview"]
    assert cloud["environment"] == "preview-dev"
    assert "github.event.pull_request.head.repo.full_name == github.repository" in cloud["if"]
    secrets_used = {job for job, spec in jobs.items() if "secrets." in yaml.safe_dump(spec)}
    assert secrets_used == {"cloud-preview"}
    assert "${{ github.base_ref }}" not in "".join(step.get("run", "") for job in jobs.values()
                                                  for step in job["steps"])


def test_every_base_image_is_pinned_by_digest_and_a_bump_changes_the_image_tag():
    """A tag like python:3.12-slim moves under us: pinned by digest, a base-image fix is a change to the
    Dockerfile, which the image's source tag hashes, so the image rebuilds (docs/deploying.md: bumping)."""
    import re

    from components.container_image import ContainerImageArgs
    dockerfiles = sorted((PROJECT_DIR / "runtime").glob("*/Dockerfile"))
    assert len(dockerfiles) >= 5
    for dockerfile in dockerfiles:
        for line in dockerfile.read_text().splitlines():
            if line.startswith("FROM "):
                image = line.split()[1]
                assert re.fullmatch(r"[\w./-]+(:[\w.-]+)?@sha256:[0-9a-f]{64}", image) or image in {
                    stage.split()[-1] for stage in dockerfile.read_text().splitlines() if " AS " in stage}, \
                    f"{dockerfile.relative_to(PROJECT_DIR)}: {image} is not pinned by digest"
    import shutil
    import tempfile
    (PROJECT_DIR / ".build").mkdir(exist_ok=True)
    context = Path(tempfile.mkdtemp(dir=PROJECT_DIR / ".build", prefix="tag-test-")) / "runtime"
    (context / "app").mkdir(parents=True)
    dockerfile = context / "app" / "Dockerfile"
    dockerfile.write_text("FROM python:3.12-slim-bookworm@sha256:" + "a" * 64 + "\n")
    before = ContainerImageArgs(dockerfile=str(dockerfile), context_dir=str(context)).source_tag
    dockerfile.write_text("FROM python:3.12-slim-bookworm@sha256:" + "b" * 64 + "\n")
    after = ContainerImageArgs(dockerfile=str(dockerfile), context_dir=str(context)).source_tag
    shutil.rmtree(context.parent)
    assert after != before
