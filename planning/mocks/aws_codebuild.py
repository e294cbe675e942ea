"""Mock shapes: CodeBuild projects (their id is the ARN; the badge URL is CodeBuild's, with the project's UUID)."""
from __future__ import annotations

import uuid

from planning.mocks import ProviderMocks, autoname, digest, shape


@shape("aws:codebuild/project:Project")
def _project(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    project = autoname(name, inputs)
    arn = m.arn("codebuild", f"project/{project}")
    badge = (f"https://codebuild.{m.region}.amazonaws.com/badges?uuid={uuid.UUID(digest('badge', name, length=32))}"
             f"&branch={inputs.get('sourceVersion') or 'main'}") if inputs.get("badgeEnabled") else None
    return arn, {"name": project, "arn": arn, "badgeUrl": badge, "projectVisibility": "PRIVATE"}
