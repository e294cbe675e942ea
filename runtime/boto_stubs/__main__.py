"""The stub build, as a person runs it and as ``buildspec.yml`` runs it in CodeBuild.

    python -m runtime.boto_stubs build --out dist     # stubs of every service of the installed boto3, as a wheel
    python -m runtime.boto_stubs publish dist         # to the index the environment names, unless it has it

``build`` reads the installed boto3 and botocore; ``publish`` reads the index from the environment
(``runtime/boto_stubs/contract.py``). A failure prints one line saying why and exits 1.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

from runtime.boto_stubs import contract


def build(out: Path, services: list[str] | None) -> Path:
    import boto3
    import botocore
    import botocore.session

    from runtime.boto_stubs.generator import generate
    from runtime.boto_stubs.package import build_wheel

    started = time.perf_counter()
    session = botocore.session.get_session()
    boto3.session.Session(botocore_session=session)  # boto3's client additions (S3's upload_file…)
    unknown = sorted(set(services or ()) - set(session.get_available_services()))
    if unknown:
        raise ValueError(f"--services: botocore {botocore.__version__} has no service {unknown[0]!r}")
    stubs = generate(session, services)
    package = contract.Settings.package_name(os.environ)
    wheel = build_wheel(stubs, out, package, boto3.__version__, botocore.__version__)
    print(f"built {wheel.name}: {len(stubs)} services, {sum(s.operations for s in stubs)} operations, "
          f"{sum(len(s.source) for s in stubs) / 1e6:.1f} MB of stubs, {wheel.stat().st_size / 1e6:.1f} MB wheel, "
          f"in {time.perf_counter() - started:.1f} s")
    return wheel


def publish(dist: Path) -> str:
    from runtime.boto_stubs.publish import publish as publish_wheel

    wheels = sorted(dist.glob("*.whl"))
    if len(wheels) != 1:
        raise ValueError(f"{dist}: expected one wheel, found {len(wheels)} (run build into an empty directory)")
    return publish_wheel(wheels[0], contract.Settings.from_env(os.environ))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m runtime.boto_stubs", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    build_command = commands.add_parser("build", help="generate the stubs and build the wheel")
    build_command.add_argument("--out", type=Path, default=Path("dist"), help="where the wheel goes (default dist)")
    build_command.add_argument("--services", nargs="+", help="only these services (default: every one)")
    publish_command = commands.add_parser("publish", help="upload the wheel unless the index has its version")
    publish_command.add_argument("dist", type=Path, help="the directory build wrote the wheel into")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from runtime.boto_stubs.package import BuildError
    from runtime.boto_stubs.publish import PublishError
    try:
        if args.command == "build":
            build(args.out, args.services)
        else:
            print(f"{publish(args.dist)}")
    except (ValueError, BuildError, PublishError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
