"""Turning a directory of runtime code into something a cloud can run: archives and content hashes.

File lists exclude caches (``__pycache__``, ``*.pyc``), so running the tests never changes what deploys.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pulumi

PROJECT_DIR = Path(__file__).resolve().parent.parent
BUILD_DIR = PROJECT_DIR / ".build"
IGNORED_DIRS = {"__pycache__", ".pytest_cache", "tests"}
IGNORED_SUFFIXES = {".pyc", ".pyo"}


def project_path(path: str | Path) -> Path:
    path = Path(path)
    return path if path.is_absolute() else PROJECT_DIR / path


def source_files(directory: str | Path) -> list[Path]:
    """Files under ``directory`` that belong in a package, sorted, caches excluded."""
    root = project_path(directory)
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in IGNORED_DIRS)
        files += [Path(dirpath, f) for f in sorted(filenames) if Path(f).suffix not in IGNORED_SUFFIXES]
    return files


def content_hash(*paths: str | Path) -> str:
    """SHA-256 over the relative names and bytes of every file under ``paths`` (files or directories)."""
    sha = hashlib.sha256()
    for path in paths:
        path = project_path(path)
        for file in ([path] if path.is_file() else source_files(path)):
            sha.update(str(file.relative_to(PROJECT_DIR)).encode() + b"\0" + file.read_bytes() + b"\0")
    return sha.hexdigest()


def source_archive(directory: str | Path, keep_path: bool = False) -> pulumi.AssetArchive:
    """The directory's files at the archive root (a Lambda handler ``handler.handler`` lives in handler.py), or
    with ``keep_path`` under their project path (``runtime/app/handler.py``: handler ``runtime.app.handler.x``),
    so a package whose modules import each other by their full names runs as it does in the project."""
    root = project_path(directory)
    base = PROJECT_DIR if keep_path else root
    files = [f for f in source_files(root) if f.name != "requirements.txt"]
    if keep_path:  # the parents' __init__.py too, so the path imports as regular packages, not namespace ones
        parents = [PROJECT_DIR / p / "__init__.py" for p in reversed(root.relative_to(PROJECT_DIR).parents)]
        files = [f for f in parents if f.parent != PROJECT_DIR and f.is_file()] + files
    return pulumi.AssetArchive({str(f.relative_to(base)): pulumi.FileAsset(str(f.relative_to(PROJECT_DIR)))
                                for f in files})


def python_dependencies(requirements_file: str | Path, python_version: str, architecture: str) -> Path:
    """A Lambda layer directory (``python/…``) with the requirements installed for the target platform.

    Built once per (requirements, Python version, architecture) under ``.build/``; binary wheels only,
    for the Lambda platform, so the result is the same whatever machine runs the program.
    """
    requirements = project_path(requirements_file)
    key = hashlib.sha256(requirements.read_bytes() + f"{python_version}/{architecture}".encode()).hexdigest()[:16]
    target = BUILD_DIR / "lambda-layers" / key
    if target.exists():
        return target
    machine = {"arm64": "aarch64", "x86_64": "x86_64"}[architecture]
    # Lambda's Python 3.12+ runtimes run on Amazon Linux 2023 (glibc 2.34): manylinux_2_28 wheels run there too,
    # and some packages (Pillow 12+) publish no manylinux2014 wheel any more.
    platforms = [f"manylinux2014_{machine}", f"manylinux_2_28_{machine}"]
    BUILD_DIR.mkdir(exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=BUILD_DIR, prefix="layer-"))
    try:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-compile", "--disable-pip-version-check",
                        "--target", str(staging / "python"), *[a for p in platforms for a in ("--platform", p)],
                        "--implementation", "cp",
                        "--python-version", python_version, "--only-binary=:all:", "-r", str(requirements)],
                       check=True, stdout=subprocess.DEVNULL)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            staging.rename(target)  # atomic: a failed build never leaves a half-filled layer behind
        except OSError:
            if not target.is_dir():  # not a concurrent build (parallel stacks or tests) that finished first
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
