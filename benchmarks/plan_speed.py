"""How long the offline plan of an environment takes: each stack, all stacks one by one, and in parallel processes.

    .venv/bin/python benchmarks/plan_speed.py [dev|prod] [--workers N] [--repeat K]

Prints each stack's evaluation time and resource count (one process, upstream first), then the whole
environment planned one by one against the same in parallel (``plan_environment(workers=N)``), best of K runs,
side by side in the same run; and the cost per resource, to see that time grows no worse than linearly.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from planning.offline import evaluate_stack, plan_environment  # noqa: E402
from planning.project import load_environment  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("environment", nargs="?", default="dev")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="parallel processes (default: cores)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each whole-environment plan (best is shown)")
    args = parser.parse_args()
    env = load_environment(args.environment)

    print(f"{'stack':<28} {'resources':>9} {'seconds':>8} {'ms/resource':>12}")
    outputs, total_resources = {}, 0
    for name, spec in env.stacks.items():
        start = time.perf_counter()
        plan = evaluate_stack(spec, {u: outputs[u] for u in spec.depends_on})
        elapsed = time.perf_counter() - start
        outputs[name] = plan.outputs
        total_resources += len(plan.resources)
        print(f"{name:<28} {len(plan.resources):>9} {elapsed:>8.2f} {1000 * elapsed / max(1, len(plan.resources)):>12.1f}")

    def best(workers: int) -> float:
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            plan_environment(env, workers=workers)
            times.append(time.perf_counter() - start)
        return min(times)

    serial, parallel = best(1), best(args.workers)
    print(f"\n{args.environment}: {len(env.stacks)} stacks, {total_resources} resources")
    print(f"{'one by one (baseline)':<28} {serial:>8.2f} s  {1000 * serial / total_resources:.1f} ms/resource")
    print(f"{f'{args.workers} processes':<28} {parallel:>8.2f} s  {serial / parallel:.2f}x faster")


if __name__ == "__main__":
    main()
