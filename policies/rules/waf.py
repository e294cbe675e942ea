"""WAFv2: web ACL logs never carry credentials (the Authorization header is redacted before WAF writes a log)."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from policies.rules.core import _as_list, known, resource_rule

WAF_LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"


@resource_rule("waf-logs-redact-authorization", "WAF logging redacts the Authorization header (tokens never "
                                                "reach the logs)", WAF_LOGGING)
def waf_logs_redact_authorization(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    fields = props.get("redactedFields")
    if not known(fields):
        return
    headers = {str((f.get("singleHeader") or {}).get("name", "")).lower() for f in _as_list(fields)
               if isinstance(f, Mapping) and isinstance(f.get("singleHeader"), Mapping)}
    if "authorization" not in headers:
        yield "the authorization header is not in redacted_fields: bearer tokens would be written to the WAF logs"
