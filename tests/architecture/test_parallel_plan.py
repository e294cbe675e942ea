"""Independent stacks plan in parallel processes with exactly the result of planning them one by one."""
from __future__ import annotations

import json

import pytest

from planning.offline import plan_document, plan_environment
from planning.project import load_environment
from programs.common import ConfigError


def test_planning_in_parallel_processes_gives_the_same_document_as_in_one_process():
    env = load_environment("dev")
    some = ["dev-network", "dev-alerts", "dev-label-proxy", "dev-static-site"]  # two levels, with secrets
    serial = json.dumps(plan_document(env, plan_environment(env, some, workers=1)), sort_keys=True)
    parallel = json.dumps(plan_document(env, plan_environment(env, some, workers=3)), sort_keys=True)
    assert parallel == serial


def test_a_programs_config_error_in_a_worker_process_reaches_the_caller_as_itself(tmp_path):
    env = load_environment("dev")
    network = env.stacks["dev-network"]
    broken = type(network)(**{**network.__dict__, "config": {**network.config,
                                                             "cloud-patterns:network": {"az_count": 9}}})
    stacks = {**env.stacks, "dev-network": broken}
    with pytest.raises(ConfigError, match="cloud-patterns:network.az_count"):
        plan_environment(type(env)(env.name, stacks), workers=2)
