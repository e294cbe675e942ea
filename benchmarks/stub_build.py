"""The stub build's cost for every service of the installed botocore, beside its floor from the same run.

The floor is what any generator must pay: loading each service's model. Then: generating every module, compiling
them (the build's own check), and the wheel. Prints seconds (wall and CPU) and sizes.

    .venv/bin/python benchmarks/stub_build.py [--services s3 sqs]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def timed(what: str, function, rows: list):
    wall, cpu = time.perf_counter(), time.process_time()
    result = function()
    rows.append((what, time.perf_counter() - wall, time.process_time() - cpu))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", nargs="+", help="only these services (default: every one)")
    args = parser.parse_args()

    import boto3
    import botocore
    import botocore.session

    from runtime.boto_stubs import contract
    from runtime.boto_stubs.generator import generate
    from runtime.boto_stubs.package import build_wheel

    rows: list[tuple[str, float, float]] = []
    floor = botocore.session.get_session()
    names = args.services or floor.get_available_services()
    timed("baseline: load every service model", lambda: [floor.get_service_model(n) for n in names], rows)
    session = botocore.session.get_session()
    boto3.session.Session(botocore_session=session)
    stubs = timed("generate every module (loads the models too)", lambda: generate(session, names), rows)
    timed("compile every module", lambda: [compile(s.source, s.module, "exec") for s in stubs], rows)
    with tempfile.TemporaryDirectory() as out:
        wheel = timed("build the wheel (compiles again)", lambda: build_wheel(
            stubs, Path(out), contract.DEFAULT_PACKAGE, boto3.__version__, botocore.__version__), rows)
        size = wheel.stat().st_size
    print(f"botocore {botocore.__version__}: {len(stubs)} services, {sum(s.operations for s in stubs)} operations, "
          f"{sum(len(s.source) for s in stubs) / 1e6:.1f} MB of stubs, {size / 1e6:.1f} MB wheel")
    print(f"{'step':48} {'wall s':>8} {'CPU s':>8}")
    for what, wall, cpu in rows:
        print(f"{what:48} {wall:8.1f} {cpu:8.1f}")


if __name__ == "__main__":
    main()
