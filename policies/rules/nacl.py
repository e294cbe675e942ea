"""Network ACLs: where tasks run with public IPs, the app and data ports stay closed to the internet.

The network tags the NACL of the public subnets its tasks run in when it has no NAT (``public-tasks``, with the
``app-port`` and ``data-port``). NACL rules are evaluated in rule-number order and the first that matches decides, so the rule
replays that order for a packet from the internet (IPv4 and IPv6) to each port.
"""
from __future__ import annotations

from collections.abc import Iterable

from policies.rules.core import Finding, Resource, Stack, _number, _tags, _true, known, stack_rule

NACL = "aws:ec2/networkAcl:NetworkAcl"
NACL_RULE = "aws:ec2/networkAclRule:NetworkAclRule"
INTERNET = {"cidrBlock": "0.0.0.0/0", "ipv6CidrBlock": "::/0"}


def _matches(rule: Resource, family: str, port: int) -> bool:
    props = rule.props
    if _true(props.get("egress")) or props.get(family) != INTERNET[family]:
        return False
    if str(props.get("protocol")) in ("-1", "all"):
        return True
    low, high = _number(props.get("fromPort")), _number(props.get("toPort"))
    return str(props.get("protocol")) in ("tcp", "6") and low is not None and high is not None and low <= port <= high


def first_internet_rule(rules: list[Resource], family: str, port: int) -> Resource | None:
    ordered = sorted((r for r in rules if _number(r.props.get("ruleNumber")) is not None),
                     key=lambda r: _number(r.props.get("ruleNumber")))
    return next((r for r in ordered if _matches(r, family, port)), None)


@stack_rule("nacl-task-ports-closed-to-internet",
            "NACLs of public subnets where tasks run deny the app and data ports from the internet (IPv4 and IPv6)")
def nacl_task_ports_closed_to_internet(stack: Stack) -> Iterable[Finding]:
    for acl in stack.of_type(NACL):
        tags = _tags(acl.props)
        if str(tags.get("public-tasks")) != "true":
            continue
        rules = stack.referring_to(acl, (NACL_RULE,), "networkAclId")
        for port_name in ("app-port", "data-port"):
            port = _number(tags.get(port_name))
            if port is None:
                continue
            for family in INTERNET:
                deciding = first_internet_rule(rules, family, int(port))
                if deciding is not None and known(deciding.props.get("ruleAction")) and \
                        deciding.props.get("ruleAction") == "allow":
                    yield Finding(acl, f"rule {int(_number(deciding.props['ruleNumber']))} admits port {int(port)} "
                                       f"({port_name}) from {INTERNET[family]}; deny it with a lower rule number")
