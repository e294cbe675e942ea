"""The Automation API adapter, where no Pulumi CLI is needed: settings, events, errors, process control."""
from __future__ import annotations

import json
import os
import signal
import stat
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from pulumi import automation as auto
from pulumi.automation.errors import create_command_error
from pulumi.automation.events import EngineEvent

from stacks.engine import (INSTALL_HINT, CliNotFound, EngineSettings, EventTranslator, PulumiEngine,
                           RunningProcesses, SecretsNotConfigured, describe_failure, find_cli, run_process)
from stacks.orchestrator import (Diagnostic, Operation, PolicyViolation, ResourceEvent, StackCancelled, StackFailed,
                                 StackRequest)
from planning.project import PROJECT_DIR, load_environment

PROVIDER = "urn:pulumi:dev-network::cloud-patterns::pulumi:providers:aws::default_7_51_1::04da6b54"


def urn(type_token: str, name: str, stack: str = "dev-network") -> str:
    return f"urn:pulumi:{stack}::cloud-patterns::cloud-patterns:network:Network${type_token}::{name}"


# ----- finding the CLI, settings ------------------------------------------------------------------
def test_a_missing_cli_is_reported_with_how_to_install_it(tmp_path):
    environ = {"PATH": str(tmp_path), "PULUMI_HOME": str(tmp_path / "no-pulumi-home")}
    with pytest.raises(CliNotFound) as missing:
        find_cli(environ)
    assert str(missing.value) == INSTALL_HINT
    assert "curl -fsSL https://get.pulumi.com | sh" in INSTALL_HINT
    # the engine checks it first: nothing is created, not even the state directory
    settings = EngineSettings.for_project(tmp_path, environ)
    with pytest.raises(CliNotFound):
        PulumiEngine(settings, environ={**environ, "PULUMI_CONFIG_PASSPHRASE": "x"})
    assert not (tmp_path / ".pulumi-state").exists()


def test_the_cli_is_found_on_path_or_where_the_install_script_puts_it(tmp_path):
    on_path = tmp_path / "bin" / "pulumi"
    installed = tmp_path / "home" / "bin" / "pulumi"
    for executable in (on_path, installed):
        executable.parent.mkdir(parents=True)
        executable.write_text("#!/bin/sh\n")
        executable.chmod(0o755)
    assert find_cli({"PATH": str(on_path.parent), "PULUMI_HOME": str(tmp_path / "home")}) == on_path
    assert find_cli({"PATH": str(tmp_path / "empty"), "PULUMI_HOME": str(tmp_path / "home")}) == installed


def test_default_backend_is_the_git_ignored_state_directory_and_the_variable_overrides_it(tmp_path):
    settings = EngineSettings.for_project(tmp_path, {})
    assert settings.backend_url == f"file://{tmp_path.resolve()}/.pulumi-state"
    assert settings.state_dir == tmp_path.resolve() / ".pulumi-state"
    assert settings.secrets_provider == "passphrase"
    assert ".pulumi-state/" in (PROJECT_DIR / ".gitignore").read_text().splitlines()

    s3 = EngineSettings.for_project(tmp_path, {"PULUMI_BACKEND_URL": "s3://team-state?region=us-east-1"})
    assert s3.backend_url == "s3://team-state?region=us-east-1" and s3.state_dir is None
    home = EngineSettings.for_project(tmp_path, {"PULUMI_BACKEND_URL": "file://~/state"})
    assert home.state_dir == Path.home() / "state"


def test_workspace_options_use_the_project_files_as_they_are(tmp_path):
    settings = EngineSettings.for_project(PROJECT_DIR, {"PULUMI_CONFIG_PASSPHRASE": "do-not-copy"})
    options = settings.workspace_options()
    assert options == {"work_dir": str(PROJECT_DIR), "secrets_provider": "passphrase",
                       "env_vars": {"PULUMI_BACKEND_URL": f"file://{PROJECT_DIR}/.pulumi-state",
                                    "PULUMI_SKIP_UPDATE_CHECK": "true"}}
    assert "do-not-copy" not in json.dumps(options)  # the passphrase stays in the environment only

    # A real LocalWorkspace with these options (its command is never run here) reads this project's
    # Pulumi.yaml and stack files, and leaves Pulumi.yaml untouched.
    before = (PROJECT_DIR / "Pulumi.yaml").read_bytes()
    workspace = auto.LocalWorkspace(**options, pulumi_command=object.__new__(auto.PulumiCommand))
    assert (PROJECT_DIR / "Pulumi.yaml").read_bytes() == before
    assert workspace.project_settings().name == "cloud-patterns"
    assert workspace.project_settings().runtime.name == "python"
    stack_config = workspace.stack_settings("dev-network").config
    assert stack_config["cloud-patterns:program"] == "network"
    assert stack_config["cloud-patterns:environment"] == "dev"
    assert workspace.env_vars["PULUMI_BACKEND_URL"].endswith("/.pulumi-state")


def test_policy_packs_run_on_up_and_preview_once_the_policies_directory_holds_a_pack(tmp_path):
    assert EngineSettings.for_project(tmp_path, {}).policy_packs == ()
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "PulumiPolicy.yaml").write_text("runtime: python\n")
    settings = EngineSettings.for_project(tmp_path, {})
    packs = [str(tmp_path.resolve() / "policies")]
    assert settings.operation_options(Operation.UP) == {"color": "never", "policy_packs": packs}
    assert settings.operation_options(Operation.PREVIEW, diff=True) == {"color": "never", "policy_packs": packs,
                                                                        "diff": True}
    assert settings.operation_options(Operation.DESTROY) == {"color": "never"}
    assert settings.operation_options(Operation.REFRESH) == {"color": "never"}
    assert settings.operation_options(Operation.OUTPUTS) == {}


def test_the_passphrase_must_be_in_the_environment(tmp_path):
    settings = EngineSettings.for_project(tmp_path, {})
    with pytest.raises(SecretsNotConfigured, match="PULUMI_CONFIG_PASSPHRASE"):
        settings.check_secrets({})
    settings.check_secrets({"PULUMI_CONFIG_PASSPHRASE": ""})  # an empty passphrase is a valid choice
    settings.check_secrets({"PULUMI_CONFIG_PASSPHRASE_FILE": "/run/secrets/pulumi"})


# ----- events ------------------------------------------------------------------------------------------
def step(kind: str, op: str, type_token: str, name: str, **metadata) -> EngineEvent:
    return EngineEvent.from_json({"sequence": 1, "timestamp": 1700000000, kind: {
        "metadata": {"op": op, "urn": urn(type_token, name), "type": type_token, "provider": PROVIDER, **metadata},
        "planning": kind == "resourcePreEvent"}})


def preview_events() -> list[EngineEvent]:
    return [
        EngineEvent.from_json({"sequence": 0, "timestamp": 1, "preludeEvent": {"config": {"aws:region": "us-east-1"}}}),
        step("resourcePreEvent", "create", "pulumi:providers:aws", "default_7_51_1"),
        step("resourcePreEvent", "same", "aws:ec2/vpc:Vpc", "dev"),
        step("resourcePreEvent", "create", "aws:ec2/vpcEndpoint:VpcEndpoint", "dev-ecr-api"),
        step("resourcePreEvent", "update", "aws:cloudwatch/logGroup:LogGroup", "dev-flow-logs",
             diffs=["retentionInDays"], detailedDiff={"retentionInDays": {"diffKind": "update", "inputDiff": True}}),
        step("resourcePreEvent", "create-replacement", "aws:ec2/subnet:Subnet", "dev-public-1", keys=["cidrBlock"]),
        step("resourcePreEvent", "replace", "aws:ec2/subnet:Subnet", "dev-public-1", keys=["cidrBlock"]),
        step("resourcePreEvent", "delete-replaced", "aws:ec2/subnet:Subnet", "dev-public-1"),
        step("resourcePreEvent", "delete", "aws:ec2/natGateway:NatGateway", "dev-nat-1"),
        EngineEvent.from_json({"sequence": 9, "timestamp": 2, "diagnosticEvent": {
            "urn": urn("aws:ec2/vpc:Vpc", "dev"), "prefix": "warning: ", "message": "tags will be normalised\n",
            "color": "never", "severity": "warning"}}),
        EngineEvent.from_json({"sequence": 10, "timestamp": 2, "diagnosticEvent": {
            "message": "progress…", "color": "never", "severity": "info", "ephemeral": True}}),
        EngineEvent.from_json({"sequence": 11, "timestamp": 2, "policyEvent": {
            "resourceUrn": urn("aws:ec2/vpc:Vpc", "dev"), "message": "VPC flow logs should be kept 30 days",
            "color": "never", "policyName": "flow-log-retention", "policyPackName": "cloud-patterns",
            "policyPackVersion": "0.1.0", "policyPackVersionTag": "0.1.0", "enforcementLevel": "advisory"}}),
        EngineEvent.from_json({"sequence": 12, "timestamp": 3, "summaryEvent": {
            "maybeCorrupt": False, "durationSeconds": 2,
            "resourceChanges": {"same": 1, "create": 1, "update": 1, "replace": 1, "delete": 1}, "PolicyPacks": {}}}),
        EngineEvent.from_json({"sequence": 13, "timestamp": 3, "cancelEvent": {}}),
    ]


def test_preview_events_become_resource_changes_by_name():
    emitted = []
    translator = EventTranslator("dev-network", emitted.append, Operation.PREVIEW)
    for event in preview_events():
        translator(event)

    changes = {(c.action, c.name): c for c in translator.changes.changes()}
    assert set(changes) == {("create", "dev-ecr-api"), ("update", "dev-flow-logs"), ("replace", "dev-public-1"),
                            ("delete", "dev-nat-1")}  # no provider, no unchanged vpc; one replacement
    assert changes["update", "dev-flow-logs"].properties == ("retentionInDays",)
    assert changes["replace", "dev-public-1"].properties == ("cidrBlock",)
    assert changes["create", "dev-ecr-api"].type == "aws:ec2/vpcEndpoint:VpcEndpoint"
    assert translator.step_counts == {"same": 1, "create": 1, "update": 1, "replace": 1, "delete": 1}

    resource_events = [e for e in emitted if isinstance(e, ResourceEvent)]
    assert [(e.op, e.name) for e in resource_events] == [
        ("create", "dev-ecr-api"), ("update", "dev-flow-logs"), ("create-replacement", "dev-public-1"),
        ("replace", "dev-public-1"), ("delete-replaced", "dev-public-1"), ("delete", "dev-nat-1")]
    assert all(e.phase == "started" and e.stack == "dev-network" for e in resource_events)
    assert [e for e in emitted if isinstance(e, Diagnostic)] == [
        Diagnostic("dev-network", "warning", "tags will be normalised", urn("aws:ec2/vpc:Vpc", "dev"))]
    policy = [e for e in emitted if isinstance(e, PolicyViolation)]
    assert policy == [PolicyViolation("dev-network", "cloud-patterns", "flow-log-retention", "advisory",
                                      "VPC flow logs should be kept 30 days", urn("aws:ec2/vpc:Vpc", "dev"))]
    assert translator.errors == []  # an advisory policy and a warning are not errors


def test_an_update_records_what_was_done_and_keeps_errors_and_mandatory_policies():
    emitted = []
    translator = EventTranslator("dev-network", emitted.append, Operation.UP)
    translator(step("resourcePreEvent", "create", "aws:ec2/vpc:Vpc", "dev"))
    translator(step("resOutputsEvent", "create", "aws:ec2/vpc:Vpc", "dev"))
    translator(step("resourcePreEvent", "create", "aws:ec2/subnet:Subnet", "dev-public-1"))
    translator(EngineEvent.from_json({"sequence": 5, "timestamp": 1, "resOpFailedEvent": {
        "metadata": {"op": "create", "urn": urn("aws:ec2/subnet:Subnet", "dev-public-1"),
                     "type": "aws:ec2/subnet:Subnet", "provider": PROVIDER}, "status": 1, "steps": 1}}))
    translator(EngineEvent.from_json({"sequence": 6, "timestamp": 1, "diagnosticEvent": {
        "urn": urn("aws:ec2/subnet:Subnet", "dev-public-1"), "prefix": "error: ", "color": "never",
        "severity": "error", "message": "creating EC2 Subnet: InvalidSubnet.Conflict: overlaps 10.0.0.0/20\n"}}))
    translator(EngineEvent.from_json({"sequence": 7, "timestamp": 1, "policyEvent": {
        "resourceUrn": urn("aws:ec2/vpc:Vpc", "dev"), "message": "no public IPs in prod", "color": "never",
        "policyName": "no-public-ip", "policyPackName": "cloud-patterns", "policyPackVersion": "0.1.0",
        "policyPackVersionTag": "0.1.0", "enforcementLevel": "mandatory"}}))

    # the subnet was announced but never done: only the VPC was created
    assert [(c.action, c.name) for c in translator.changes.changes()] == [("create", "dev")]
    assert [(e.phase, e.name) for e in emitted if isinstance(e, ResourceEvent)] == [
        ("started", "dev"), ("done", "dev"), ("started", "dev-public-1"), ("failed", "dev-public-1")]
    assert translator.errors == ["creating EC2 Subnet: InvalidSubnet.Conflict: overlaps 10.0.0.0/20",
                                 "policy cloud-patterns/no-public-ip (dev): no public IPs in prod"]


# ----- errors ------------------------------------------------------------------------------------------
def command_error(stdout: str = "", stderr: str = "", code: int = 255) -> auto.CommandError:
    """The SDK's own error for a CLI result, as it raises it."""
    return create_command_error(auto.CommandResult(stdout=stdout, stderr=stderr, code=code))


def test_a_locked_stack_names_the_stale_lock_file(tmp_path):
    settings = EngineSettings.for_project(tmp_path, {})
    lock = settings.state_dir / ".pulumi" / "locks" / "organization" / "cloud-patterns" / "dev-network" / "4f1c.json"
    error = command_error(stderr="error: the stack is currently locked by 1 lock(s). Either wait for the other "
                                 "process(es) to end or delete the lock file with `pulumi cancel`.\n"
                                 f"  {lock}: created by root@ci (pid 4242) at 2026-05-01T10:00:00Z")
    assert isinstance(error, auto.ConcurrentUpdateError)
    assert "wait for the other update to finish" in describe_failure(error, "dev-network", settings)
    lock.parent.mkdir(parents=True)
    lock.write_text("{}")
    message = describe_failure(error, "dev-network", settings)
    assert message.startswith("dev-network is locked by another update (error: the stack is currently locked by")
    assert message.endswith(f"delete the stale lock: {lock}")
    assert settings.lock_files("dev-tom-thumb") == []


def test_a_missing_stack_says_to_deploy_it_first(tmp_path):
    settings = EngineSettings.for_project(tmp_path, {})
    error = command_error(stderr="error: no stack named 'dev-tom-thumb' found")
    assert isinstance(error, auto.StackNotFoundError)
    assert describe_failure(error, "dev-tom-thumb", settings) == (
        f"dev-tom-thumb does not exist in {settings.backend_url}: deploy it first with `python -m stacks up`")


def test_a_program_error_is_reported_as_the_program_failing(tmp_path):
    stdout = textwrap.dedent("""\
        Updating (dev-network):
             Type                 Name                      Status                  Info
         +   pulumi:pulumi:Stack  cloud-patterns-dev-network  **creating failed**     1 error
        Diagnostics:
          pulumi:pulumi:Stack (cloud-patterns-dev-network):
            error: Program failed with an unhandled exception:
            programs.common.ConfigError: cloud-patterns:network.nat_strategy: 'double'; allowed: one of none, single, one-per-az
            error: an unhandled error occurred: Program exited with non-zero exit code: 1
        """)
    error = command_error(stdout=stdout, stderr="error: update failed")
    assert isinstance(error, auto.RuntimeError)
    message = describe_failure(error, "dev-network", EngineSettings.for_project(tmp_path, {}))
    assert message.startswith("the program failed: Program failed with an unhandled exception:")
    assert "an unhandled error occurred: Program exited with non-zero exit code: 1" in message
    assert "update failed" not in message  # the bare summary line says nothing more

    diagnostics = ["Program failed with an unhandled exception:\nprograms.common.ConfigError: "
                   "cloud-patterns:network.nat_strategy: 'double'; allowed: one of none, single, one-per-az"]
    from_events = describe_failure(error, "dev-network", EngineSettings.for_project(tmp_path, {}), diagnostics)
    assert from_events == "the program failed: " + diagnostics[0]


def test_a_provider_error_comes_from_the_engine_diagnostics(tmp_path):
    settings = EngineSettings.for_project(tmp_path, {})
    error = command_error(stdout="Updating (dev-network)\n...", stderr="error: update failed")
    assert type(error) is auto.CommandError
    diagnostics = ["creating EC2 VPC: UnauthorizedOperation: You are not authorized", "update failed"]
    assert describe_failure(error, "dev-network", settings, diagnostics) == (
        "creating EC2 VPC: UnauthorizedOperation: You are not authorized")
    assert describe_failure(error, "dev-network", settings) == "update failed"  # all there is to say
    noisy = command_error(stderr="error: " + "x" * 9000)
    assert len(describe_failure(noisy, "dev-network", settings)) == 4001


# ----- the engine over a scripted stand-in of the CLI's process interface ------------------------------
STAND_IN = """\
#!{python}
# Plays the Pulumi CLI's process interface for the adapter: records its argv and environment, answers
# `version`, `stack ls --json` and `stack select` as the CLI does.
import json, os, sys
with open(os.environ["STAND_IN_LOG"], "a") as log:
    log.write(json.dumps({{"argv": sys.argv[1:], "backend": os.environ.get("PULUMI_BACKEND_URL"),
                          "automation": os.environ.get("PULUMI_AUTOMATION_API")}}) + "\\n")
args = [a for a in sys.argv[1:] if a != "--non-interactive"]
if args == ["version"]:
    print("v3.272.0")
elif args[:3] == ["stack", "ls", "--json"]:
    print(json.dumps([{{"name": "dev-network", "current": False, "resourceCount": 55}},
                      {{"name": "organization/cloud-patterns/dev-tom-thumb", "current": False, "resourceCount": 0}},
                      {{"name": "dev-auth-sidecar", "current": False}},
                      {{"name": "dev-label-proxy", "current": False, "lastUpdate": "2026-05-01T10:00:00.000Z"}}]))
elif args[:2] == ["stack", "select"]:
    print("error: no stack named '" + args[args.index("--stack") + 1] + "' found", file=sys.stderr)
    sys.exit(255)
else:
    print("error: unexpected command " + " ".join(args), file=sys.stderr)
    sys.exit(1)
"""


@pytest.fixture
def stand_in_engine(tmp_path, monkeypatch):
    executable = tmp_path / "cli" / "bin" / "pulumi"
    executable.parent.mkdir(parents=True)
    executable.write_text(STAND_IN.format(python=sys.executable))
    executable.chmod(executable.stat().st_mode | stat.S_IXUSR)
    log = tmp_path / "calls.jsonl"
    monkeypatch.setenv("STAND_IN_LOG", str(log))
    environ = {"PATH": str(executable.parent), "PULUMI_CONFIG_PASSPHRASE": "test"}
    settings = EngineSettings(PROJECT_DIR, f"file://{tmp_path}/state")
    engine = PulumiEngine(settings, environ)
    return engine, lambda: [json.loads(line) for line in log.read_text().splitlines()]


def test_the_engine_lists_deployed_stacks_and_handles_stacks_never_deployed(stand_in_engine, tmp_path):
    engine, calls = stand_in_engine
    assert (tmp_path / "state").is_dir() and oct((tmp_path / "state").stat().st_mode)[-3:] == "700"
    # 0 resources: destroyed; no checkpoint yet (no count, no update): never deployed; updated but not
    # counted: taken as deployed (destroy refusal errs on the safe side)
    assert engine.deployed(["dev-network", "dev-tom-thumb", "dev-auth-sidecar", "dev-label-proxy",
                            "dev-label-detector"]) == {"dev-network", "dev-label-proxy"}

    env = load_environment("dev")
    spec = env.stacks["dev-network"]
    with pytest.raises(StackFailed, match=f"dev-network has no state in file://{tmp_path}/state"):
        engine.run(StackRequest(Operation.OUTPUTS, spec), lambda event: None)
    destroyed = engine.run(StackRequest(Operation.DESTROY, spec), lambda event: None)
    assert destroyed.note == "not deployed: nothing to destroy" and not destroyed.changed

    engine.cancel("dev-network")  # Ctrl-C before the stack's turn: no CLI process is started for it
    with pytest.raises(StackCancelled):
        engine.run(StackRequest(Operation.UP, spec), lambda event: None)

    recorded = calls()
    assert len(recorded) == 4  # version, stack ls, one stack select each for outputs and destroy
    assert recorded[0]["argv"] == ["version"]
    assert ["--non-interactive", "stack", "ls", "--json"] == recorded[1]["argv"]
    assert recorded[2]["argv"] == ["--non-interactive", "stack", "select", "--stack", "dev-network"]
    assert all(c["backend"] == f"file://{tmp_path}/state" and c["automation"] == "true" for c in recorded[1:])


# ----- cancelling a running CLI process -----------------------------------------------------------------
CHILD = """\
import os, signal, sys, time
interrupts = []
def on_interrupt(signum, frame):
    interrupts.append(signum)
    print(f"interrupt {len(interrupts)}", flush=True)
signal.signal(signal.SIGINT, on_interrupt)
print(f"session {os.getsid(0)}", flush=True)
deadline = time.monotonic() + 20
needed = int(sys.argv[1])
while len(interrupts) < needed and time.monotonic() < deadline:
    time.sleep(0.01)
time.sleep(0.2)  # "finishing the operations in flight": a second SIGINT would arrive here
print(f"stopped after {len(interrupts)} interrupts", flush=True)
print("error: update canceled", file=sys.stderr)
sys.exit(255)
"""


def run_child(processes: RunningProcesses, interrupts_needed: int, lines: list[str],
              wait_for_output: bool = True) -> threading.Thread:
    result = {}

    def target():
        result["value"] = run_process([sys.executable, "-c", CHILD, str(interrupts_needed)], os.getcwd(), os.environ,
                                      on_output=lines.append, started=lambda p: processes.started("dev-app", p),
                                      finished=lambda p: processes.finished("dev-app", p))
    thread = threading.Thread(target=target)
    thread.result = result
    thread.start()
    deadline = time.monotonic() + 10
    while wait_for_output and not lines and time.monotonic() < deadline:
        time.sleep(0.01)
    return thread


def test_cancel_sends_one_sigint_to_the_cli_in_its_own_session():
    processes, lines = RunningProcesses(), []
    thread = run_child(processes, 1, lines)
    assert lines[0] == f"session {lines[0].split()[1]}" and int(lines[0].split()[1]) != os.getsid(0)

    processes.cancel("dev-app")
    processes.cancel("dev-app")  # a repeated request must not become the CLI's "terminate at once"
    thread.join(10)
    result = thread.result["value"]
    assert lines[1:] == ["interrupt 1", "stopped after 1 interrupts"]
    assert result.code == 255 and result.stderr == "error: update canceled"
    assert processes.cancelled("dev-app")


def test_force_sends_the_second_sigint():
    processes, lines = RunningProcesses(), []
    thread = run_child(processes, 2, lines)
    processes.cancel("dev-app")
    time.sleep(0.1)
    processes.cancel("dev-app", force=True)
    thread.join(10)
    assert lines[1:] == ["interrupt 1", "interrupt 2", "stopped after 2 interrupts"]


def test_a_cancel_that_arrives_while_the_process_starts_reaches_it():
    processes, lines = RunningProcesses(), []
    processes.cancel("dev-app")
    began = time.monotonic()
    thread = run_child(processes, 1, lines, wait_for_output=False)
    thread.join(10)
    # interrupted as soon as it was started (before or after it could install its handler): not 20 s later
    assert time.monotonic() - began < 10 and thread.result["value"].code != 0
    processes.forget("dev-app")
    assert not processes.cancelled("dev-app")
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the driver's own handler is untouched
