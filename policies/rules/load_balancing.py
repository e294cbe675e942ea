"""Load balancers: application load balancers drop invalid headers, HTTPS and TLS listeners use TLS 1.2 or
later, HTTP listeners redirect to HTTPS."""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from policies.rules.core import ADVISORY, _as_list, _true, known, resource_rule
from policies.rules.tokens import LOAD_BALANCERS

LISTENERS = ("aws:lb/listener:Listener", "aws:alb/listener:Listener")

TLS12_POLICY = re.compile(r"^ELBSecurityPolicy-(TLS13-1-[23]|TLS-1-2|FS-1-2)-")


@resource_rule("lb-drop-invalid-headers", "Application load balancers drop invalid HTTP header fields",
               *LOAD_BALANCERS)
def lb_drop_invalid_headers(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    if props.get("loadBalancerType", "application") == "application" and known(props.get("dropInvalidHeaderFields")) \
            and not _true(props.get("dropInvalidHeaderFields")):
        yield "drop_invalid_header_fields is off (request smuggling through malformed headers)"


@resource_rule("lb-https-tls12", "HTTPS and TLS listeners use a TLS 1.2+ security policy", *LISTENERS)
def lb_https_tls12(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    if props.get("protocol") not in ("HTTPS", "TLS"):
        return
    policy = props.get("sslPolicy")
    if known(policy) and not (isinstance(policy, str) and TLS12_POLICY.match(policy)):
        yield (f"{props.get('protocol')} listener with ssl policy {policy or 'the default ELBSecurityPolicy-2016-08'}, "
               "which allows TLS below 1.2; use ELBSecurityPolicy-TLS13-1-2-2021-06")


@resource_rule("lb-http-redirects-to-https", "HTTP listeners redirect to HTTPS", *LISTENERS, enforcement=ADVISORY)
def lb_http_redirects_to_https(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    if props.get("protocol", "HTTP") != "HTTP":
        return
    actions = [a for a in _as_list(props.get("defaultActions")) if isinstance(a, Mapping)]
    if actions and not all(a.get("type") == "redirect" and (a.get("redirect") or {}).get("protocol") == "HTTPS"
                           for a in actions):
        yield "serves plain HTTP instead of redirecting to HTTPS (configure a certificate)"
