"""Benchmark: images a minute through the image processor, and what an image costs, each beside its baseline.

  throughput  N uploads (JPEG photos of --width x --height) under raw/ in moto: S3 -> EventBridge -> the
              processor's definition as the dev plan emits it, executed by moto's Step Functions, each Task
              running its handler in this process (tests/image_workflow/workflow_support.py). Baseline: the same
              handlers called one after another on the same images, without Step Functions (the image work alone).
  cost        the cost model's price of one execution (``python -m stacks cost``): dev (Standard, per state
              transition) beside prod (Express, per request and duration), Lambda time included.

    .venv/bin/python benchmarks/image_workflow_throughput.py [--images N] [--width W] [--height H]

Executions run concurrently, as uploads would; the Pillow work is CPU-bound and the machine is shared (2 cores),
so compare figures within one run. moto's orchestration is no measure of AWS's latency.
"""
from __future__ import annotations

import argparse
import io
import os
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # so the script runs from any directory


def photo(width: int, height: int, seed: int) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    draw = ImageDraw.Draw(image)
    for index in range(40):
        x, y = (seed * 97 + index * 53) % width, (seed * 31 + index * 71) % height
        draw.ellipse((x, y, x + width // 8, y + height // 8), fill=((index * 40) % 255, (seed * 17) % 255, 120))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def plans():
    from planning.offline import plan_environment
    from planning.project import load_environment

    found = {}
    for environment in ("dev", "prod"):
        env = load_environment(environment)
        found[environment] = {p.spec.short_name: p for p in plan_environment(
            env, env.dependencies([f"{environment}-image-workflow"]))}
    return found


def throughput(plan, images: list[bytes]) -> tuple[float, float]:
    import boto3
    from moto import mock_aws

    from runtime.image_workflow import contract
    from runtime.image_workflow.handlers import Handlers
    from tests.image_workflow.workflow_support import deploy, executions, finished, stand_ins

    os.environ.update(AWS_DEFAULT_REGION="us-east-1", AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench")
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}), stand_ins():
        stack = deploy(plan)
        s3 = boto3.client("s3")
        started = time.perf_counter()
        for index, data in enumerate(images):
            s3.put_object(Bucket=stack["bucket"], Key=f"raw/bench/{index}.jpg", Body=data)
        done = [finished(e["executionArn"], timeout=600) for e in executions(stack["processor"])]
        workflow = time.perf_counter() - started
        assert [d["status"] for d in done] == ["SUCCEEDED"] * len(images), [d.get("error") for d in done]

        handlers = Handlers(contract.Settings(stack["bucket"]))
        started = time.perf_counter()
        for index in range(len(images)):
            upload = {"bucket": stack["bucket"], "key": f"raw/bench/{index}.jpg"}
            validation = handlers.validate_image(upload)
            handlers.resize_image({**upload, "format": validation["format"]})
            handlers.apply_filters({**upload, "format": validation["format"]})
            handlers.optimize_image({**upload, "format": validation["format"],
                                     "resized": f"processed/resized/bench/{index}.jpg"})
        direct = time.perf_counter() - started
    return len(images) / workflow * 60, len(images) / direct * 60


def execution_price(plan) -> tuple[float, str]:
    from stacks.cost import estimate_environment

    [stack] = estimate_environment([plan]).stacks
    [line] = [u for u in stack.usage if u.usage_key == "workflow_executions" and u.resource.endswith("-processor")]
    return line.price, line.basis


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=24, help="uploads to process (default 24)")
    parser.add_argument("--width", type=int, default=2400, help="photo width (default 2400)")
    parser.add_argument("--height", type=int, default=1600, help="photo height (default 1600)")
    args = parser.parse_args()

    planned = plans()
    images = [photo(args.width, args.height, seed) for seed in range(args.images)]
    size = sum(map(len, images)) // len(images)
    workflow, direct = throughput(planned["dev"]["image-workflow"], images)
    print(f"\nthroughput: {args.images} JPEG uploads of {args.width}x{args.height} (~{size // 1024} KB each), "
          f"{os.cpu_count()} cores")
    print(f"{'':<34} {'images/min':>10}")
    print(f"{'through the workflow (moto)':<34} {workflow:>10,.0f}")
    print(f"{'baseline: handlers called directly':<34} {direct:>10,.0f}")
    print(f"{'workflow / baseline':<34} {workflow / direct:>9.2f}×")

    standard, standard_basis = execution_price(planned["dev"]["image-workflow"])
    express, express_basis = execution_price(planned["prod"]["image-workflow"])
    print("\ncost per image (the cost model; Lambda at its assumed 200 ms per step):")
    print(f"  dev  Standard  ${standard:.7f}  per million ${standard * 1e6:,.2f}  ({standard_basis})")
    print(f"  prod Express   ${express:.7f}  per million ${express * 1e6:,.2f}  ({express_basis})")
    print(f"  Standard / Express  {standard / express:.1f}×")


if __name__ == "__main__":
    main()
