"""Restructuring code leaves deployed stacks alone: dev and prod plan as main did, but for listed intents."""
from __future__ import annotations

import pytest

from planning.offline import plan_document
from planning.project import load_environment
from tests.architecture.plan_changes import Intended, before, canonical, differences, unintended
from tests.conftest import planned


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_the_offline_plan_differs_from_main_before_the_change_only_where_intended(environment):
    env = load_environment(environment)
    now = canonical(plan_document(env, list(planned(environment))))
    assert unintended(before(environment), now) == []


def test_the_comparison_sees_a_changed_input_an_added_and_a_removed_resource():
    old = {"s": {"resources": {"u1": {"type": "t", "name": "a", "parent": None, "inputs": {"x": 1}, "custom": True},
                               "u2": {"type": "t", "name": "b", "parent": None, "inputs": {}, "custom": True}},
                 "outputs": {"o": 1}}}
    new = {"s": {"resources": {"u1": {"type": "t", "name": "a", "parent": None, "inputs": {"x": 2}, "custom": True},
                               "u3": {"type": "t", "name": "c", "parent": None, "inputs": {}, "custom": True}},
                 "outputs": {"o": 2}}}
    assert differences(old, new) == [("s", "u2", "removed"), ("s", "u3", "added"), ("s", "u1", "inputs.x"),
                                      ("s", "", "outputs.o")]
    assert Intended("s", "u*", "inputs.x", "why").covers("s", "u1", "inputs.x")
    assert not Intended("s", "u*", "inputs.y", "why").covers("s", "u1", "inputs.x")
