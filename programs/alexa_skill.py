"""Stack ``<env>-alexa-skill``: the horse-racing Alexa skill's backend, a Lambda only that skill may invoke.

Paste the ``function_arn`` output into the skill's endpoint (``skill-package/skill.json``, or the developer
console); the skill id in the stack file must be the skill's own (the shipped one is a placeholder).
"""
from dataclasses import dataclass

import pulumi

from components.alexa_skill import AlexaSkillFunction, AlexaSkillFunctionArgs
from components.args import Args, Custom, Number, Whole, required, setting
from components.dashboard import OUTPUT, widgets
from programs.common import PROJECT, ConfigError, Section, environment, upstream
from runtime.alexa_skill import contract


@dataclass(frozen=True)
class RaceDataSettings(Args):
    race_data_url: str = required(Custom(contract.is_service_url, contract.SERVICE_URL),
                                  "Base URL of the race-data service the skill asks for race cards and stakes races.")
    race_data_timeout_seconds: float = setting(contract.DEFAULT_TIMEOUT_SECONDS, Number(*contract.TIMEOUT_SECONDS,
                                               "seconds"), "How long one call to the service may wait to connect, "
                                               "and then to read; below timeout_seconds by at least 1 s.")
    race_data_cache_seconds: int = setting(contract.DEFAULT_CACHE_SECONDS, Whole(*contract.CACHE_SECONDS, "seconds"),
                                           "How long a warm function reuses an answer of the service; 0: never.")


SKILL = Section("alexa_skill", AlexaSkillFunctionArgs, own=RaceDataSettings,
                fixed=("source_dir", "keep_path", "handler", "description", "requirements_file"))


def main() -> None:
    data = SKILL.own_settings()
    args = SKILL.load(
        source_dir=contract.SOURCE_DIR, keep_path=True, handler=contract.HANDLER,
        requirements_file=contract.REQUIREMENTS_FILE, description="Horse-racing Alexa skill",
        skill_id_variable=contract.ENV_SKILL_ID, alarm_topic_arn=upstream("alerts").require_output("topic_arn"),
        environment={contract.ENV_RACE_DATA_URL: data.race_data_url,
                     contract.ENV_RACE_DATA_TIMEOUT: f"{data.race_data_timeout_seconds:g}",
                     contract.ENV_RACE_DATA_CACHE: str(data.race_data_cache_seconds)})
    if data.race_data_timeout_seconds > args.timeout_seconds - 1:
        raise ConfigError(f"{PROJECT}:{SKILL.name}.race_data_timeout_seconds: {data.race_data_timeout_seconds!r} "
                          f"is not allowed; allowed: at most timeout_seconds - 1 ({args.timeout_seconds - 1}), so the "
                          "skill can still apologise")
    skill = AlexaSkillFunction(f"{environment()}-alexa-skill", args)
    pulumi.export("function_arn", skill.function.function.arn)
    pulumi.export("function_name", skill.function.function.name)
    pulumi.export("skill_id", args.skill_id)
    pulumi.export("log_group", skill.function.log_group.name)
    pulumi.export("alarms", [alarm.name for alarm in skill.alarms])
    pulumi.export(OUTPUT, widgets(skill.alarms))
