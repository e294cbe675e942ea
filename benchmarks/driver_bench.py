"""Driver benchmark: does running stacks along the graph take the critical path, not the sum?

1. A simulated engine whose stacks take known times, on a 10-stack graph: wall time of `up` at several
   --parallel bounds, side by side with the critical path (the least any schedule can take) and the sum
   (what running one stack after another takes). "bound" is max(critical path, sum / --parallel): no
   schedule with that many workers can take less.
2. The real dev environment's graph, each stack taking 4 ms per resource of its offline plan (--no-dev skips
   it: it plans dev offline first).

How long the offline plan itself takes is benchmarks/plan_speed.py.

Run: .venv/bin/python benchmarks/driver_bench.py [--repeats 3] [--parallel 8 4 2 1] [--no-dev]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from planning.offline import plan_environment  # noqa: E402
from planning.project import load_environment  # noqa: E402
from stacks.orchestrator import Operation, Orchestrator, critical_path  # noqa: E402
from stacks.simulated import SimulatedEngine  # noqa: E402

# short name -> (upstream stacks, seconds)
SYNTHETIC = {
    "network": ([], 0.8), "data": ([], 0.5), "registry": ([], 0.3), "label-detector": ([], 0.4),
    "api": (["network", "data"], 0.6), "worker": (["network", "registry"], 0.7), "tom-thumb": (["network"], 0.9),
    "label-proxy": (["label-detector"], 0.3), "web": (["api"], 0.4), "monitoring": (["api", "worker"], 0.2),
}


def synthetic_environment(directory: Path):
    for short, (upstream, _) in SYNTHETIC.items():
        lines = ["config:", "  cloud-patterns:program: network", "  cloud-patterns:environment: bench"]
        if upstream:
            lines += ["  cloud-patterns:upstream:"] + [f"    {u}: bench-{u}" for u in upstream]
        (directory / f"Pulumi.bench-{short}.yaml").write_text("\n".join(lines) + "\n")
    return load_environment("bench", directory)


def timed_up(env, durations: dict[str, float], parallel: int, repeats: int) -> float:
    walls = []
    for _ in range(repeats):
        engine = SimulatedEngine(durations)
        began = time.perf_counter()
        summary = Orchestrator(engine, parallel=parallel).run(env, Operation.UP, list(env.stacks))
        walls.append(time.perf_counter() - began)
        assert summary.ok
    return statistics.median(walls)


def report_schedule(title: str, env, durations: dict[str, float], bounds: list[int], repeats: int) -> None:
    names = list(env.stacks)
    path, total = critical_path(env, names, durations), sum(durations.values())
    print(f"\n{title}: {len(names)} stacks; critical path {path:.3f} s, sum {total:.3f} s")
    print(f"{'--parallel':>10} {'wall s':>8} {'wall/critical path':>19} {'wall/sum':>9} {'bound s':>8}  "
          f"within 10% of critical path")
    for bound in bounds:
        wall = timed_up(env, durations, bound, repeats)
        least = max(path, total / bound)  # no schedule with this many workers can beat this
        print(f"{bound:>10} {wall:>8.3f} {wall / path:>19.3f} {wall / total:>9.3f} {least:>8.3f}  "
              f"{'yes' if wall <= path * 1.1 else 'no (bounded by --parallel)'}")


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Wall time of up along the stack graph (simulated engine), beside "
                                                 "the critical path and the sum of the stacks' times.")
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement; the median is shown")
    parser.add_argument("--parallel", type=int, nargs="+", default=[8, 4, 2, 1], help="--parallel bounds to time")
    parser.add_argument("--dev", action=argparse.BooleanOptionalAction, default=True,
                        help="also time the dev environment's graph (plans dev offline first)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    options = arguments(argv)
    with tempfile.TemporaryDirectory() as directory:
        env = synthetic_environment(Path(directory))
        durations = {f"bench-{short}": seconds for short, (_, seconds) in SYNTHETIC.items()}
        report_schedule("Synthetic graph, known durations", env, durations, options.parallel, options.repeats)
    if not options.dev:
        return
    dev = load_environment("dev")
    resources = {plan.spec.name: len(plan.resources) for plan in plan_environment(dev)}
    report_schedule("dev graph, 4 ms per planned resource", dev,
                    {name: 0.004 * count for name, count in resources.items()}, options.parallel, options.repeats)


if __name__ == "__main__":
    main()
