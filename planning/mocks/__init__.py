"""Provider-shaped mock outputs for the Pulumi SDK's mock engine.

The offline plan and the unit tests run the real programs against ``pulumi.runtime.set_mocks``. For the
wiring between resources and stacks to be exercised for real, what a mock returns must look like what the
provider returns: ids with the right prefixes, ARNs with account, region and resource path, DNS names,
URLs. Ids are derived from the resource's type and name, so two plans of the same code are identical.

Invokes the programs make (availability zones, region, caller identity, policy documents, …) are answered
here too; an invoke nobody taught this package raises, so a missing mock is never silently empty.

Each module of this package shapes one group of services (``aws_network``, ``aws_compute``, …) with the
``shape`` and ``call`` decorators; a new service gets a module of its own, found without being listed.
"""
from __future__ import annotations

import copy
import hashlib
import importlib
import pkgutil
from collections.abc import Callable
from typing import Any

import pulumi

ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
GCP_PROJECT_NUMBER = "123456789012"


def digest(*parts: str, length: int = 17) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def autoname(name: str, inputs: dict, key: str = "name") -> str:
    """The provider's auto-naming: the logical name plus a random 7-character suffix."""
    return inputs.get(key) or f"{name}-{digest(name, 'autoname', length=7)}"


class ProviderMocks(pulumi.runtime.Mocks):
    """Mocks for the aws, gcp, docker-build and pulumi providers used in this project."""

    def __init__(self, region: str = DEFAULT_REGION, stack_outputs: dict[str, dict] | None = None,
                 gcp_project: str = "cloud-patterns-dev", gcp_region: str = "us-central1"):
        self.region = region
        self.stack_outputs = stack_outputs or {}
        self.gcp_project = gcp_project
        self.gcp_region = gcp_region
        self.provider_regions: dict[str, str] = {}
        """Region of each explicit ``aws.Provider``, by its id: what it creates carries that region."""

    # ----- resources -----
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        inputs = dict(args.inputs)
        if args.typ == "pulumi:pulumi:StackReference":
            return self._stack_reference(inputs.get("name") or args.resource_id or args.name)
        if not args.custom:
            return None, {}
        if args.typ == "pulumi:providers:aws":
            resource_id = f"{args.name}-{digest(args.typ, args.name, length=8)}"
            if inputs.get("region"):
                self.provider_regions[resource_id] = str(inputs["region"])
            return resource_id, inputs
        mocks = self.through(args.provider)
        shaper = _SHAPERS.get(args.typ)
        if shaper is not None:
            resource_id, extra = shaper(mocks, args.name, inputs)
        elif args.typ.startswith("aws:"):
            resource_id, extra = mocks._generic_aws(args.typ, args.name, inputs)
        elif args.typ.startswith("gcp:"):
            resource_id, extra = self._generic_gcp(args.typ, args.name, inputs)
        else:
            resource_id, extra = f"{args.name}-{digest(args.typ, args.name, length=8)}", {}
        return resource_id, {**inputs, **extra}

    def through(self, provider: str | None) -> "ProviderMocks":
        """These mocks as seen through an explicit provider (``<urn>::<id>``): ARNs and endpoints in its region."""
        region = self.provider_regions.get((provider or "").rsplit("::", 1)[-1])
        if region is None or region == self.region:
            return self
        view = copy.copy(self)
        view.region = region
        return view

    def _stack_reference(self, stack_name: str) -> tuple[str, dict]:
        short = stack_name.split("/")[-1]
        if short not in self.stack_outputs:
            raise KeyError(f"stack reference to {stack_name!r}: no outputs recorded for it (is it a declared "
                           f"upstream that was planned first?)")
        recorded = self.stack_outputs[short]
        outputs = {k: v.value if isinstance(v, SecretValue) else v for k, v in recorded.items()}
        secret_names = [k for k, v in recorded.items() if isinstance(v, SecretValue)]
        return stack_name, {"name": stack_name, "outputs": outputs, "secretOutputNames": secret_names}

    def arn(self, service: str, resource: str, region: str | None = None, account: str | None = None) -> str:
        region = self.region if region is None else region
        account = ACCOUNT_ID if account is None else account
        return f"arn:aws:{service}:{region}:{account}:{resource}"

    def _generic_aws(self, typ: str, name: str, inputs: dict) -> tuple[str, dict]:
        service = typ.split(":")[1].split("/")[0]
        resource_name = autoname(name, inputs)
        return resource_name, {"arn": self.arn(service, f"{service}/{resource_name}"), "name": resource_name}

    def _generic_gcp(self, typ: str, name: str, inputs: dict) -> tuple[str, dict]:
        resource_name = inputs.get("name") or name
        project = inputs.get("project") or self.gcp_project
        return f"projects/{project}/{typ.split(':')[1].split('/')[0]}/{resource_name}", {"project": project}

    # ----- invokes -----
    def call(self, args: pulumi.runtime.MockCallArgs) -> dict:
        handler = _CALLS.get(args.token)
        if handler is None:
            raise NotImplementedError(f"no offline mock for the invoke {args.token}; add one to planning/mocks/")
        return handler(self.through(args.provider), dict(args.args))


class SecretValue:
    """A stack output recorded as secret; StackReferences return it as a secret output."""

    def __init__(self, value: Any):
        self.value = value

    def __repr__(self) -> str:
        return "[secret]"


# ---------------------------------------------------------------------------------------------------
# Resource shapes, by type token.
Shaper = Callable[[ProviderMocks, str, dict], tuple[str, dict]]
_SHAPERS: dict[str, Shaper] = {}


def shape(*tokens: str) -> Callable[[Shaper], Shaper]:
    def register(fn: Shaper) -> Shaper:
        for token in tokens:
            if token in _SHAPERS:  # two modules shaping one type: one of them would silently lose
                raise RuntimeError(f"{token} is shaped twice: in {_SHAPERS[token].__module__} and {fn.__module__}")
            _SHAPERS[token] = fn
        return fn
    return register



# ---------------------------------------------------------------------------------------------------
# Invokes, by token.
Call = Callable[[ProviderMocks, dict], dict]
_CALLS: dict[str, Call] = {}


def call(*tokens: str) -> Callable[[Call], Call]:
    def register(fn: Call) -> Call:
        for token in tokens:
            if token in _CALLS:
                raise RuntimeError(f"{token} is answered twice: in {_CALLS[token].__module__} and {fn.__module__}")
            _CALLS[token] = fn
        return fn
    return register




def _register_services() -> None:
    """Imports every module of this package: each registers the shapes and invokes of one group of services."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


_register_services()

