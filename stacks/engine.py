"""The ``pulumi.automation`` engine: runs one stack's operation with the Pulumi CLI, for the orchestrator.

- One ``LocalWorkspace`` on the project directory: the same ``Pulumi.yaml`` and ``Pulumi.<env>-<stack>.yaml``
  files that ``pulumi up -s <env>-<stack>`` uses (the workspace is given no project settings, so it never
  rewrites ``Pulumi.yaml``).
- State in a local file backend, ``file://<project>/.pulumi-state`` (git-ignored) unless
  ``PULUMI_BACKEND_URL`` names another; secrets with the passphrase provider (``PULUMI_CONFIG_PASSPHRASE``
  or ``PULUMI_CONFIG_PASSPHRASE_FILE``, read by the CLI from the environment, never written to a file).
  Secrets per environment, so a dev credential cannot decrypt prod state: ``PULUMI_CONFIG_PASSPHRASE_<ENV>``
  (e.g. ``_PROD``) is that environment's passphrase, and ``PULUMI_SECRETS_PROVIDER_<ENV>`` names another
  provider for it, e.g. ``awskms://alias/cloud-patterns-prod?region=us-east-1`` (then no passphrase is needed).
- The policy packs in ``policies/`` run on ``up`` and ``preview`` once that directory holds a pack.
- The engine's events stream to the orchestrator as ``ResourceEvent``/``Diagnostic``/``PolicyViolation``;
  failures become one readable message (``describe_failure``).
- Cancelling sends the CLI process one SIGINT, as a terminal's Ctrl-C would: the engine finishes the
  resource operations in flight, saves the state and releases the stack's lock. The CLI runs in its own
  session, so a Ctrl-C on the driver's terminal reaches the driver only, which forwards exactly one.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from pulumi import automation as auto
from pulumi.automation import errors as auto_errors
from pulumi.automation.events import EngineEvent

from stacks.changes import ChangeCollector, action_of, is_bookkeeping, name_of
from stacks.orchestrator import (Diagnostic, Emit, Operation, PolicyViolation, ResourceEvent, StackCancelled,
                                 StackFailed, StackOutput, StackRequest, StackResult)
from planning.project import PROJECT_DIR, ProjectError

INSTALL_HINT = ("Pulumi CLI not found: install with `curl -fsSL https://get.pulumi.com | sh` (then add "
                "~/.pulumi/bin to PATH), or see https://www.pulumi.com/docs/install/.")
"""The command line adds the commands that need no CLI (``stacks.cli.no_cli_commands``)."""
STATE_DIR = ".pulumi-state"
POLICY_DIR = "policies"
MAX_MESSAGE = 4000
READ_AFTER_EXIT = 5.0
"""Seconds to keep reading a CLI process's output after it exited."""


class CliNotFound(ProjectError):
    """The Pulumi CLI is needed and missing (nothing has been started)."""


class SecretsNotConfigured(ProjectError):
    """The passphrase for the stacks' secrets is not in the environment (nothing has been started)."""


def find_cli(environ: Mapping[str, str] = os.environ) -> Path:
    """The ``pulumi`` executable: on PATH, else where the install script puts it (``~/.pulumi/bin``)."""
    found = shutil.which("pulumi", path=environ.get("PATH", os.defpath))
    if found:
        return Path(found)
    home = Path(environ["PULUMI_HOME"]) if environ.get("PULUMI_HOME") else Path.home() / ".pulumi"
    candidate = home / "bin" / "pulumi"
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return candidate
    raise CliNotFound(INSTALL_HINT)


@dataclass(frozen=True)
class EngineSettings:
    project_dir: Path
    backend_url: str
    secrets_provider: str = "passphrase"
    policy_packs: tuple[str, ...] = ()
    environment: str | None = None
    """The environment the engine runs stacks of; it chooses the secrets (see the module's docstring)."""

    @classmethod
    def for_project(cls, project_dir: Path | None = None, environ: Mapping[str, str] = os.environ,
                    environment: str | None = None) -> EngineSettings:
        project_dir = Path(project_dir or PROJECT_DIR).resolve()
        backend = environ.get("PULUMI_BACKEND_URL") or f"file://{project_dir / STATE_DIR}"
        policies = project_dir / POLICY_DIR
        packs = (str(policies),) if (policies / "PulumiPolicy.yaml").is_file() else ()
        provider = environ.get(cls.variable("PULUMI_SECRETS_PROVIDER", environment)) or "passphrase"
        return cls(project_dir, backend, provider, packs, environment)

    @staticmethod
    def variable(name: str, environment: str | None) -> str:
        """``NAME_<ENV>``: an environment's own value of a variable (``PULUMI_CONFIG_PASSPHRASE_PROD``)."""
        return f"{name}_{re.sub(r'[^A-Z0-9]', '_', environment.upper())}" if environment else name

    def passphrase_variables(self, environ: Mapping[str, str] = os.environ) -> dict[str, str]:
        """What the CLI gets for the passphrase: the environment's own when set (it wins over the shared one)."""
        own = environ.get(self.variable("PULUMI_CONFIG_PASSPHRASE", self.environment)) if self.environment else None
        return {"PULUMI_CONFIG_PASSPHRASE": own} if own else {}

    @property
    def state_dir(self) -> Path | None:
        """The directory of a ``file://`` backend (relative paths are the project's); None for others."""
        if not self.backend_url.startswith("file://"):
            return None
        path = Path(os.path.expanduser(self.backend_url[len("file://"):]))
        return path if path.is_absolute() else self.project_dir / path

    def check_secrets(self, environ: Mapping[str, str] = os.environ) -> None:
        if self.secrets_provider != "passphrase":
            return
        own = self.variable("PULUMI_CONFIG_PASSPHRASE", self.environment) if self.environment else None
        if not ({"PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE", own} & set(environ)):
            per_environment = f" or {own} (this environment's own)" if own else ""
            raise SecretsNotConfigured(
                f"PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE){per_environment} is not set: the "
                "stacks' secrets use the passphrase provider. Export it from your password manager or CI secret "
                "store; it is never written to a file by the driver.")

    def workspace_options(self, environ: Mapping[str, str] = os.environ) -> dict:
        """Keyword arguments for ``LocalWorkspace``: the project directory as it is, this backend, this
        environment's secrets."""
        return {"work_dir": str(self.project_dir), "secrets_provider": self.secrets_provider,
                "env_vars": {"PULUMI_BACKEND_URL": self.backend_url, "PULUMI_SKIP_UPDATE_CHECK": "true",
                             **self.passphrase_variables(environ)}}

    def operation_options(self, operation: Operation, diff: bool = False) -> dict:
        """Keyword arguments for the ``Stack`` method of ``operation``."""
        options: dict = {"color": "never"} if operation is not Operation.OUTPUTS else {}
        if operation in (Operation.UP, Operation.PREVIEW) and self.policy_packs:
            options["policy_packs"] = list(self.policy_packs)
        if operation is Operation.PREVIEW and diff:
            options["diff"] = True
        return options

    def lock_files(self, stack: str) -> list[Path]:
        """Lock files a file backend holds for ``stack`` (one is left behind only by a killed update)."""
        if self.state_dir is None:
            return []
        locks = self.state_dir / ".pulumi" / "locks"
        return sorted(p for p in locks.rglob("*.json") if p.parent.name == stack) if locks.is_dir() else []


# ----- running the CLI with a handle on its processes ------------------------------------------------
class RunningProcesses:
    """The CLI processes running for each stack, and the stacks whose cancellation was asked for."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._processes: dict[str | None, set[subprocess.Popen]] = {}
        self._cancelled: set[str] = set()

    def started(self, stack: str | None, process: subprocess.Popen) -> None:
        with self._lock:
            self._processes.setdefault(stack, set()).add(process)
            cancelled = stack in self._cancelled
        if cancelled:  # asked to cancel while this process was being started
            interrupt(process)

    def finished(self, stack: str | None, process: subprocess.Popen) -> None:
        with self._lock:
            self._processes.get(stack, set()).discard(process)

    def cancel(self, stack: str, force: bool = False) -> None:
        """First call: one SIGINT to the stack's processes (the engine's graceful cancel). ``force``: another
        one, which makes the CLI stop at once."""
        with self._lock:
            already = stack in self._cancelled
            self._cancelled.add(stack)
            processes = list(self._processes.get(stack, ()))
        if already and not force:
            return  # a second SIGINT would terminate the update instead of cancelling it
        for process in processes:
            interrupt(process)

    def cancelled(self, stack: str) -> bool:
        with self._lock:
            return stack in self._cancelled

    def running(self, stack: str) -> list[list[str]]:
        """The command lines of the stack's running processes."""
        with self._lock:
            return [list(p.args) for p in self._processes.get(stack, ()) if p.poll() is None]

    def forget(self, stack: str) -> None:
        with self._lock:
            self._cancelled.discard(stack)


def interrupt(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT) if os.name == "posix" else process.terminate()


def run_process(command: list[str], cwd: str, env: Mapping[str, str], on_output: Callable | None = None,
                on_error: Callable | None = None, started: Callable[[subprocess.Popen], None] = lambda p: None,
                finished: Callable[[subprocess.Popen], None] = lambda p: None) -> auto.CommandResult:
    """Runs ``command`` in its own session, streaming its lines to the callbacks, like the SDK's
    ``PulumiCommand.run`` but with the process handed to ``started`` (to cancel it) while it runs."""
    stdout_lines: list[str] = []
    stderr_lines: list[str] = []

    def consume(stream, callback, lines) -> None:
        try:
            for line in iter(stream.readline, ""):
                line = line.rstrip()
                if callback:
                    callback(line)
                lines.append(line)
        except (ValueError, OSError):  # closed under a reader that outlived the process
            return

    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd, env=dict(env),
                          encoding="utf-8", start_new_session=os.name == "posix") as process:
        started(process)
        try:
            readers = [threading.Thread(target=consume, args=(process.stdout, on_output, stdout_lines), daemon=True),
                       threading.Thread(target=consume, args=(process.stderr, on_error, stderr_lines), daemon=True)]
            for reader in readers:
                reader.start()
            process.wait()
            for reader in readers:  # the rest of the output; a leftover grandchild holding a pipe must not hang us
                reader.join(READ_AFTER_EXIT)
        finally:
            finished(process)
    return auto.CommandResult(stdout="\n".join(stdout_lines), stderr="\n".join(stderr_lines),
                              code=process.returncode)


def _stack_argument(args: list[str]) -> str | None:
    for flag in ("--stack", "-s"):
        if flag in args and args.index(flag) + 1 < len(args):
            return args[args.index(flag) + 1].rsplit("/", 1)[-1]
    return None


class CancellableCommand(auto.PulumiCommand):
    """The SDK's ``PulumiCommand`` (version check included), running each CLI process through
    ``run_process`` so that ``processes`` can cancel the ones of a stack."""

    def __init__(self, executable: Path, processes: RunningProcesses):
        in_bin = executable.parent.name == "bin"
        super().__init__(root=str(executable.parent.parent) if in_bin else None,
                         skip_version_check=os.getenv("PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK") is not None)
        self.processes = processes

    def run(self, args: list[str], cwd: str, additional_env: Mapping[str, str], on_output=None,
            on_error=None) -> auto.CommandResult:
        if "--non-interactive" not in args:
            args.insert(0, "--non-interactive")
        env = {**os.environ, **additional_env, "PULUMI_AUTOMATION_API": "true"}
        if os.path.isabs(self.command):  # plugins bundled with the CLI sit next to it
            env["PATH"] = os.pathsep.join([os.path.dirname(self.command), env.get("PATH", "")])
        stack = _stack_argument(args)
        if stack is not None and self.processes.cancelled(stack):
            raise StackCancelled("cancelled before the operation started")
        result = run_process([self.command, *args], cwd, env, on_output, on_error,
                             started=lambda p: self.processes.started(stack, p),
                             finished=lambda p: self.processes.finished(stack, p))
        if result.code != 0:
            error = auto_errors.create_command_error(result)
            error.result = result
            raise error
        return result


# ----- events and errors ------------------------------------------------------------------------------
class EventTranslator:
    """Turns the engine's events for one stack into the driver's, and keeps what a summary needs:
    the resource changes, the error diagnostics and the mandatory policy violations."""

    def __init__(self, stack: str, emit: Emit, operation: Operation):
        self.stack = stack
        self.emit = emit
        self.changes = ChangeCollector()
        self.errors: list[str] = []
        self.step_counts: dict[str, int] | None = None
        # A preview only plans: its steps are complete when announced. Other operations: when done.
        self._record_planned = operation is Operation.PREVIEW

    def __call__(self, event: EngineEvent) -> None:
        if event.resource_pre_event:
            self._step("started", event.resource_pre_event.metadata, self._record_planned)
        elif event.res_outputs_event:
            self._step("done", event.res_outputs_event.metadata, not self._record_planned)
        elif event.res_op_failed_event:
            self._step("failed", event.res_op_failed_event.metadata, False)
        elif event.diagnostic_event:
            self._diagnostic(event.diagnostic_event)
        elif event.policy_event:
            self._policy(event.policy_event)
        elif event.summary_event:
            self.step_counts = {str(getattr(op, "value", op)): n for op, n in
                                event.summary_event.resource_changes.items()}

    def _step(self, phase: str, metadata, record: bool) -> None:
        op = getattr(metadata.op, "value", metadata.op)
        action = action_of(op)
        if action is None or is_bookkeeping(metadata.type):
            return
        if record:
            properties = metadata.keys if action == "replace" else metadata.diffs
            self.changes.step(op, metadata.urn, metadata.type, properties)
        self.emit(ResourceEvent(self.stack, phase, op, metadata.type, name_of(metadata.urn), metadata.urn))

    def _diagnostic(self, diagnostic) -> None:
        if diagnostic.ephemeral or diagnostic.severity not in ("error", "warning"):
            return
        message = diagnostic.message.strip()
        if diagnostic.severity == "error" and message not in self.errors:
            self.errors.append(message)
        self.emit(Diagnostic(self.stack, diagnostic.severity, message, diagnostic.urn or None))

    def _policy(self, policy) -> None:
        message = policy.message.strip()
        self.emit(PolicyViolation(self.stack, policy.policy_pack_name, policy.policy_name, policy.enforcement_level,
                                  message, policy.resource_urn or None))
        if policy.enforcement_level == "mandatory":
            where = f" ({name_of(policy.resource_urn)})" if policy.resource_urn else ""
            self.errors.append(f"policy {policy.policy_pack_name}/{policy.policy_name}{where}: {message}")


_ERROR_LINE = re.compile(r"^\s*error: (.*)$", re.MULTILINE)
_ONLY_SUMMARY = {"update failed", "preview failed", "destroy failed", "refresh failed"}


def _command_output(error: auto.CommandError) -> tuple[str, str]:
    result = getattr(error, "result", None)
    if result is not None:
        return result.stdout, result.stderr
    match = re.search(r"stdout: (.*)\n stderr: (.*)$", str(error), re.DOTALL)
    return (match[1], match[2]) if match else ("", str(error))


def describe_failure(error: auto.CommandError, stack: str, settings: EngineSettings,
                     diagnostics: list[str] = ()) -> str:
    """One readable message for a failed CLI command: the engine's error diagnostics when it sent some,
    else the ``error:`` lines it printed; with what to do for a locked or missing stack."""
    stdout, stderr = _command_output(error)
    if isinstance(error, auto.ConcurrentUpdateError):
        locks = settings.lock_files(stack)
        hint = (f"if no update is running (one was killed), delete the stale lock: {', '.join(map(str, locks))}"
                if locks else "wait for the other update to finish")
        held = next((line.strip() for line in stderr.splitlines() if "locked" in line or "409" in line), "")
        return f"{stack} is locked by another update ({held}); {hint}"
    if isinstance(error, auto.StackNotFoundError):
        return f"{stack} does not exist in {settings.backend_url}: deploy it first with `python -m stacks up`"
    lines = [d for d in diagnostics if d.strip()]
    if not lines:
        lines = [m.strip() for m in _ERROR_LINE.findall(stderr + "\n" + stdout)]
    lines = list(dict.fromkeys(lines))
    if len(lines) > 1:
        lines = [line for line in lines if line.lower().rstrip(".") not in _ONLY_SUMMARY] or lines
    if not lines:
        lines = (stderr.strip() or stdout.strip() or str(error)).splitlines()[-20:]
    message = "\n".join(lines)
    if isinstance(error, (auto.RuntimeError, auto.CompilationError)):
        message = f"the program failed: {message}"
    return message if len(message) <= MAX_MESSAGE else "…" + message[-MAX_MESSAGE:]


# ----- the engine -----------------------------------------------------------------------------------
class PulumiEngine:
    """Runs stacks with the Automation API. Creating it checks the CLI and the passphrase first."""

    def __init__(self, settings: EngineSettings | None = None, environ: Mapping[str, str] = os.environ):
        self.settings = settings or EngineSettings.for_project(environ=environ)
        executable = find_cli(environ)
        self.settings.check_secrets(environ)
        if self.settings.state_dir is not None:
            self.settings.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.processes = RunningProcesses()
        self.workspace = auto.LocalWorkspace(**self.settings.workspace_options(environ),
                                             pulumi_command=CancellableCommand(executable, self.processes))
        self._select_lock = threading.Lock()

    def run(self, request: StackRequest, emit: Emit) -> StackResult:
        name = request.spec.name
        try:
            return self._run(request, emit)
        finally:
            self.processes.forget(name)

    def cancel(self, stack: str, force: bool = False) -> None:
        self.processes.cancel(stack, force)

    def deployed(self, stacks: list[str]) -> set[str]:
        try:
            summaries = self.workspace.list_stacks()
        except auto.CommandError as error:
            raise StackFailed(describe_failure(error, "(stack list)", self.settings)) from None
        # A stack that was never updated has no checkpoint (no count, no last update): not deployed. One with
        # a last update and no count (a backend that does not count) is taken as deployed, to be safe.
        deployed = {s.name.rsplit("/", 1)[-1] for s in summaries
                    if s.resource_count or (s.resource_count is None and s.last_update is not None)}
        return {s for s in stacks if s in deployed}

    def _run(self, request: StackRequest, emit: Emit) -> StackResult:
        name, operation = request.spec.name, request.operation
        translator = EventTranslator(name, emit, operation)
        try:
            stack = self._stack(name, create=operation in (Operation.UP, Operation.PREVIEW))
            if stack is None:
                if operation is Operation.DESTROY:
                    return StackResult(note="not deployed: nothing to destroy")
                raise StackFailed(f"{name} has no state in {self.settings.backend_url}: it was never deployed "
                                  f"(run up first)")
            self._check_cancelled(name)
            options = self.settings.operation_options(operation, request.diff)
            if operation is Operation.OUTPUTS:
                outputs = stack.outputs()
                return StackResult(outputs={k: StackOutput(v.value, v.secret) for k, v in outputs.items()})
            if operation is Operation.UP:
                counts = stack.up(on_event=translator, **options).summary.resource_changes
                diff = None
            elif operation is Operation.PREVIEW:
                preview = stack.preview(on_event=translator, **options)
                counts, diff = preview.change_summary, preview.stdout if request.diff else None
            elif operation is Operation.REFRESH:
                counts, diff = stack.refresh(on_event=translator, **options).summary.resource_changes, None
            else:
                counts, diff = stack.destroy(on_event=translator, **options).summary.resource_changes, None
        except auto.CommandError as error:
            if self.processes.cancelled(name):
                raise StackCancelled("cancelled: the engine stopped after the operations in flight and saved "
                                     "the state") from None
            raise StackFailed(describe_failure(error, name, self.settings, translator.errors)) from None
        step_counts = {str(getattr(op, "value", op)): n for op, n in (counts or translator.step_counts or {}).items()}
        return StackResult(step_counts, translator.changes.changes(), diff=diff)

    def _stack(self, name: str, create: bool) -> auto.Stack | None:
        # `stack select`/`stack init` also record the workspace's current stack: one at a time.
        with self._select_lock:
            try:
                return auto.Stack.select(name, self.workspace)
            except auto.StackNotFoundError:
                if not create:
                    return None
            return auto.Stack.create(name, self.workspace)

    def _check_cancelled(self, name: str) -> None:
        if self.processes.cancelled(name):
            raise StackCancelled("cancelled before the operation started")
