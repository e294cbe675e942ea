"""Driver benchmark: does running stacks along the graph take the critical path, not the sum?

1. A simulated engine whose stacks take known times, on a 10-stack graph: wall time of `up` at several
   --parallel bounds, side by side with the critical path (the least any schedule can take) and the sum
   (what running one stack after another takes). "bound" is max(critical path, sum / --parallel): no
   schedule with that many workers can take less.
2. The real dev environment's graph, each stack taking 4 ms per resource of its offline plan.
3. The wall time of `python -m stacks plan dev --offline` for the whole environment (a fresh interpreter,
   as a user or CI runs it) and of the plan alone, in-process.

Run: .venv/bin/python benchmarks/driver_bench.py
"""
from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from planning.offline import plan_environment  # noqa: E402
from stacks.orchestrator import Operation, Orchestrator, critical_path  # noqa: E402
from planning.project import PROJECT_DIR, load_environment  # noqa: E402
from stacks.simulated import SimulatedEngine  # noqa: E402

# short name -> (upstream stacks, seconds)
SYNTHETIC = {
    "network": ([], 0.8), "data": ([], 0.5), "registry": ([], 0.3), "label-detector": ([], 0.4),
    "api": (["network", "data"], 0.6), "worker": (["network", "registry"], 0.7), "tom-thumb": (["network"], 0.9),
    "label-proxy": (["label-detector"], 0.3), "web": (["api"], 0.4), "monitoring": (["api", "worker"], 0.2),
}
REPEATS = 3


def synthetic_environment(directory: Path):
    for short, (upstream, _) in SYNTHETIC.items():
        lines = ["config:", "  cloud-patterns:program: network", "  cloud-patterns:environment: bench"]
        if upstream:
            lines += ["  cloud-patterns:upstream:"] + [f"    {u}: bench-{u}" for u in upstream]
        (directory / f"Pulumi.bench-{short}.yaml").write_text("\n".join(lines) + "\n")
    return load_environment("bench", directory)


def timed_up(env, durations: dict[str, float], parallel: int) -> float:
    walls = []
    for _ in range(REPEATS):
        engine = SimulatedEngine(durations)
        began = time.perf_counter()
        summary = Orchestrator(engine, parallel=parallel).run(env, Operation.UP, list(env.stacks))
        walls.append(time.perf_counter() - began)
        assert summary.ok
    return statistics.median(walls)


def report_schedule(title: str, env, durations: dict[str, float], bounds: list[int]) -> None:
    names = list(env.stacks)
    path, total = critical_path(env, names, durations), sum(durations.values())
    print(f"\n{title}: {len(names)} stacks; critical path {path:.3f} s, sum {total:.3f} s")
    print(f"{'--parallel':>10} {'wall s':>8} {'wall/critical path':>19} {'wall/sum':>9} {'bound s':>8}  "
          f"within 10% of critical path")
    for bound in bounds:
        wall = timed_up(env, durations, bound)
        least = max(path, total / bound)  # no schedule with this many workers can beat this
        print(f"{bound:>10} {wall:>8.3f} {wall / path:>19.3f} {wall / total:>9.3f} {least:>8.3f}  "
              f"{'yes' if wall <= path * 1.1 else 'no (bounded by --parallel)'}")


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        env = synthetic_environment(Path(directory))
        durations = {f"bench-{short}": seconds for short, (_, seconds) in SYNTHETIC.items()}
        report_schedule("Synthetic graph, known durations", env, durations, [8, 4, 2, 1])

    dev = load_environment("dev")
    began = time.perf_counter()
    plans = plan_environment(dev)
    in_process = time.perf_counter() - began
    resources = {plan.spec.name: len(plan.resources) for plan in plans}
    report_schedule("dev graph, 4 ms per planned resource", dev,
                    {name: 0.004 * count for name, count in resources.items()}, [8, 2, 1])

    walls = []
    for _ in range(REPEATS):
        began = time.perf_counter()
        subprocess.run([sys.executable, "-m", "stacks", "plan", "dev", "--offline", "--json"], cwd=PROJECT_DIR,
                       check=True, capture_output=True)
        walls.append(time.perf_counter() - began)
    print(f"\nplan dev --offline: {len(plans)} stacks, {sum(resources.values())} resources")
    print(f"  python -m stacks plan dev --offline --json: {statistics.median(walls):.2f} s wall (median of {REPEATS}, "
          f"fresh interpreter)")
    print(f"  plan_environment(dev) in-process:           {in_process:.2f} s")


if __name__ == "__main__":
    main()
