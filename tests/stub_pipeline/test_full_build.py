"""The build as buildspec.yml runs it: its own commands, for every service of the installed botocore, then published
to a real local index (pypiserver) twice and fetched back with pip.

The full build runs once per test session, whichever xdist worker comes first; the others wait on a lock and reuse
its wheel (the directory above each worker's temporary root is shared by the session)."""
from __future__ import annotations

import ast
import fcntl
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import boto3
import botocore.session
import pytest
import yaml

from planning.project import PROJECT_DIR
from runtime.boto_stubs import contract
from tests.stub_pipeline.index_support import PASSWORD, USER, local_index

BUILDSPEC = yaml.safe_load((PROJECT_DIR / contract.BUILDSPEC).read_text())
BUILD, PUBLISH = BUILDSPEC["phases"]["build"]["commands"]


def run(command: str, cwd: Path, **environment: str) -> subprocess.CompletedProcess:
    """One buildspec command, through a shell as CodeBuild runs it, from a directory outside the project (the
    project is on PYTHONPATH, as the clone is the working directory in CodeBuild)."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT_DIR), **environment}
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"  # `python` is the project's interpreter
    return subprocess.run(command, shell=True, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="session")
def full_build(tmp_path_factory) -> tuple[Path, str]:
    shared = tmp_path_factory.getbasetemp().parent / "boto-stubs-full-build"
    shared.mkdir(exist_ok=True)
    with open(shared / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (shared / "build.log").is_file():
            result = run(BUILD, shared)
            assert result.returncode == 0, result.stderr
            (shared / "build.log").write_text(result.stdout)
    [wheel] = (shared / "dist").glob("*.whl")
    return wheel, (shared / "build.log").read_text()


def test_the_buildspec_runs_the_commands_a_person_runs():
    assert BUILDSPEC["phases"]["build"]["on-failure"] == "ABORT"
    assert BUILD == "python -m runtime.boto_stubs build --out dist"
    assert PUBLISH == "python -m runtime.boto_stubs publish dist"
    assert BUILDSPEC["phases"]["install"]["commands"][-1] == \
        "python -m pip install --quiet -r runtime/boto_stubs/requirements.txt"


def test_every_service_has_a_module_that_parses_in_a_wheel_versioned_after_boto3(full_build):
    wheel, log = full_build
    services = botocore.session.get_session().get_available_services()
    assert wheel.name == f"{contract.normalized(contract.DEFAULT_PACKAGE).replace('-', '_')}-" \
                         f"{contract.stub_version(boto3.__version__)}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        modules = {n for n in archive.namelist() if n.startswith(f"{contract.MODULE}/") and n.endswith(".py")}
        init = archive.read(f"{contract.MODULE}/__init__.py").decode()
        assert f"{contract.MODULE}/py.typed" in archive.namelist()
        for name in sorted(modules):
            ast.parse(archive.read(name), name)  # raises on the first stub that does not parse
    index = ast.literal_eval(init.split("SERVICES = ", 1)[1].split("\n}\n", 1)[0] + "\n}")
    assert sorted(index) == sorted(services) and len(modules) == len(services) + 1
    assert {f"{contract.MODULE}/{module}.py" for module, _ in index.values()} | {f"{contract.MODULE}/__init__.py"} \
        == modules
    assert f"built {wheel.name}: {len(services)} services" in log


def test_publish_uploads_once_then_skips_and_pip_gets_it_back(full_build, tmp_path):
    wheel, _ = full_build
    with local_index(tmp_path / "index") as index:
        variables = {contract.ENV_INDEX_URL: index.url, contract.ENV_INDEX_USERNAME: USER,
                     contract.ENV_INDEX_TOKEN: PASSWORD}
        first = run(PUBLISH, wheel.parent.parent, **variables)
        assert (first.returncode, first.stdout.splitlines()[-1]) == (0, "published"), first.stderr
        assert [p.name for p in index.packages.iterdir()] == [wheel.name]
        second = run(PUBLISH, wheel.parent.parent, **variables)
        assert (second.returncode, second.stdout.splitlines()[-1]) == (0, "skipped"), second.stderr
        authenticated = index.simple_url.replace("//", f"//{USER}:{PASSWORD}@", 1)
        fetched = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--index-url",
                                  authenticated, "-d", str(tmp_path / "fetched"),
                                  f"{contract.DEFAULT_PACKAGE}=={contract.stub_version(boto3.__version__)}"],
                                 capture_output=True, text=True, timeout=300)
        assert fetched.returncode == 0, fetched.stderr
        assert (tmp_path / "fetched" / wheel.name).read_bytes() == wheel.read_bytes()
    assert PASSWORD not in first.stdout + first.stderr + second.stdout + second.stderr
