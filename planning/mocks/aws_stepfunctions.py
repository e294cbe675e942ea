"""Mock shapes: Step Functions state machines (ARNs ``arn:aws:states:<region>:<account>:stateMachine:<name>``)."""
from __future__ import annotations

from planning.mocks import ProviderMocks, autoname, shape


@shape("aws:sfn/stateMachine:StateMachine")
def _state_machine(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    machine = autoname(name, inputs)
    arn = m.arn("states", f"stateMachine:{machine}")
    return arn, {"name": machine, "arn": arn, "status": "ACTIVE", "revisionId": "", "stateMachineVersionArn": "",
                 "creationDate": "2026-01-01T00:00:00Z", "type": inputs.get("type") or "STANDARD"}
