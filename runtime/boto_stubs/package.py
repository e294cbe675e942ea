"""The stubs as a ``py.typed`` package, built into a wheel by the standard frontend (``build``, flit_core backend).

Every module is compiled before anything is written: a stub that does not parse fails the build, it is never
published. The project is written to a temporary directory and only the finished wheel is moved into the output
directory, so a failed build leaves no partial wheel behind.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from build import ProjectBuilder
from pyproject_hooks import default_subprocess_runner

from runtime.boto_stubs import contract
from runtime.boto_stubs.generator import ServiceStub, package_init

PYPROJECT = """\
[build-system]
requires = ["flit_core>=3.9,<5"]
build-backend = "flit_core.buildapi"

[project]
name = "{package}"
version = "{version}"
description = "Typed stubs of the boto3 {boto3} clients, generated from botocore {botocore}'s service models"
requires-python = ">=3.9"
classifiers = ["Typing :: Typed"]

[tool.flit.module]
name = "{module}"
"""


REPRODUCIBLE_EPOCH = "1451606400"
"""Every file of the wheel dated 2016-01-01 (flit_core reads SOURCE_DATE_EPOCH): the same boto3 gives the same
wheel, byte for byte."""


class BuildError(RuntimeError):
    """The stubs could not be packaged."""


def write_project(directory: Path, stubs: list[ServiceStub], package: str, version: str, boto3_version: str,
                  botocore_version: str) -> Path:
    """A buildable project of the stubs in ``directory``."""
    for stub in stubs:
        try:
            compile(stub.source, f"{contract.MODULE}/{stub.module}.py", "exec", dont_inherit=True)
        except SyntaxError as error:
            raise BuildError(f"the stub of {stub.service} does not parse: {error}") from None
    root = directory / contract.MODULE
    root.mkdir(parents=True)
    (root / "py.typed").write_text("")
    (root / "__init__.py").write_text(package_init(stubs, version))
    for stub in stubs:
        (root / f"{stub.module}.py").write_text(stub.source)
    (directory / "pyproject.toml").write_text(PYPROJECT.format(package=package, version=version, boto3=boto3_version,
                                                               botocore=botocore_version, module=contract.MODULE))
    return directory


def build_wheel(stubs: list[ServiceStub], out_dir: Path, package: str, boto3_version: str,
                botocore_version: str) -> Path:
    """Writes ``<package>-<0.4.boto3 version>-py3-none-any.whl`` into ``out_dir`` and returns its path."""
    version = contract.stub_version(boto3_version)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="boto-stubs-") as work:
        project = write_project(Path(work) / "project", stubs, package, version, boto3_version, botocore_version)
        built = Path(ProjectBuilder(project, runner=_reproducible).build("wheel", Path(work) / "dist"))
        target = out_dir / built.name
        shutil.move(built, target)
    return target


def _reproducible(cmd, cwd=None, extra_environ=None) -> None:
    default_subprocess_runner(cmd, cwd, {**(extra_environ or {}), "SOURCE_DATE_EPOCH": REPRODUCIBLE_EPOCH})
