"""Every setting of every program: refused with its key named when of the wrong type or out of range, before
any resource is registered; and documented in docs/<program>.md exactly as its Args declare it."""
from __future__ import annotations

import pytest

from components.args import SETTING
from planning.mocks import ProviderMocks
from planning.offline import RecordingMonitor, evaluate_stack
from planning.project import load_environment
from programs.common import ConfigError
from stacks import settings_docs
from tests.conftest import planned

DEV = load_environment("dev")


def _cases():
    for name, spec in DEV.stacks.items():
        for section in settings_docs.sections(spec.program):
            for args_type in filter(None, (section.args, section.own)):
                for field in args_type.__dataclass_fields__.values():
                    if field.metadata.get("kind") != SETTING or field.name in section.fixed:
                        continue
                    for index, wrong in enumerate(field.metadata["rule"].wrong_values):
                        yield pytest.param(name, section.name, field.name, wrong,
                                           id=f"{spec.program}-{section.name}.{field.name}-{index}")


@pytest.fixture(scope="module")
def dev_outputs():
    return {plan.spec.name: plan.outputs for plan in planned("dev")}


@pytest.mark.parametrize(("stack", "section", "key", "wrong"), list(_cases()))
def test_a_wrong_value_is_refused_naming_its_key_before_any_resource(dev_outputs, stack, section, key, wrong):
    spec = DEV.stacks[stack]
    settings = dict(spec.config.get(f"cloud-patterns:{section}") or {})
    settings[key] = wrong
    config = {**spec.config, f"cloud-patterns:{section}": settings}
    changed = type(spec)(**{**spec.__dict__, "config": config})
    monitor = RecordingMonitor(ProviderMocks(region=spec.region))
    with pytest.raises(ConfigError) as error:
        evaluate_stack(changed, {u: dev_outputs[u] for u in spec.depends_on}, monitor)
    assert f"cloud-patterns:{section}.{key}:" in str(error.value)
    assert [r for r in monitor.recorded if r.custom and r.type != "pulumi:pulumi:StackReference"] == []


def test_the_settings_tables_in_the_docs_are_generated_from_the_args():
    assert settings_docs.stale() == []
