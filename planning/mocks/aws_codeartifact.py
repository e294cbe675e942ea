"""Mock shapes: CodeArtifact domains and repositories (ids are their ARNs; the domain's owner is the account, its
key SSE's AWS managed key unless one is given)."""
from __future__ import annotations

import uuid

from planning.mocks import ACCOUNT_ID, ProviderMocks, digest, shape


@shape("aws:codeartifact/domain:Domain")
def _domain(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    domain = inputs.get("domain") or name
    arn = m.arn("codeartifact", f"domain/{domain}")
    key = inputs.get("encryptionKey") or m.arn("kms", f"key/{uuid.UUID(digest('codeartifact-key', name, length=32))}")
    return arn, {"domain": domain, "arn": arn, "owner": ACCOUNT_ID, "encryptionKey": key, "assetSizeBytes": "0",
                 "repositoryCount": 0}


@shape("aws:codeartifact/repository:Repository")
def _repository(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    domain, repository = inputs.get("domain"), inputs.get("repository") or name
    arn = m.arn("codeartifact", f"repository/{domain}/{repository}")
    return arn, {"repository": repository, "arn": arn, "administratorAccount": ACCOUNT_ID,
                 "domainOwner": inputs.get("domainOwner") or ACCOUNT_ID}
