"""Typed stubs for boto3 clients, written from botocore's service models (the "botostubs" approach).

One module per service, each with one class: a method per operation, its input shape's members as keyword-only
parameters (required ones without a default, optional ones ``= ...``), typed from the shapes' types, and its
documentation (HTML stripped) as the docstring. What an operation returns is a ``TypedDict`` of its output shape's
top-level members (``total=False``: services leave members out); nested structures stay ``Dict[str, Any]``, which
keeps the package a few MB instead of a typed copy of every shape. The methods boto3 and botocore add to a client
(``get_paginator``, S3's ``upload_file``…) are the ones boto3 would give the client class, with their real
parameter names, untyped.

The modules are plain ``.py`` files (importable at run time, for annotations such as ``s3: S3``) whose method
bodies are ``...``; each tells mypy so (``empty-body``), or it would report every method of the stubs.
"""
from __future__ import annotations

import inspect
import keyword
import re
from dataclasses import dataclass
from html import unescape
from typing import Any

import botocore
from botocore import xform_name
from botocore.client import BaseClient

from runtime.boto_stubs import contract

INPUT_TYPES = {"string": "str", "integer": "int", "long": "int", "boolean": "bool", "double": "float",
               "float": "float", "timestamp": "Union[datetime, str]",
               "blob": "Union[bytes, bytearray, str, IO[Any]]"}
"""What a client accepts for each scalar shape type (botocore serialises a datetime or an ISO text as a
timestamp, and bytes, text or a file object as a blob)."""
OUTPUT_TYPES = {**INPUT_TYPES, "timestamp": "datetime", "blob": "bytes"}
HEADER = '''"""{title}: typed stubs of the boto3 client ({service}), generated from botocore {botocore}."""
# mypy: disable-error-code="empty-body"
from __future__ import annotations

from datetime import datetime
from typing import IO, Any, Dict, List, Mapping, Sequence, TypedDict, Union

'''
TYPING_NAMES = ("Any", "Dict", "List", "IO", "Mapping", "Sequence", "TypedDict", "Union", "datetime")
CLIENT_ATTRIBUTES = ("exceptions", "meta", "waiter_names")
"""Attributes (not methods) every client has."""


BREAK = re.compile(r"</?(p|li|ul|ol|br|note|important|dd|dt|dl|h\d)\b[^>]*>", re.I)
TAG = re.compile(r"<[^>]*>")


def plain_text(html: str | None) -> str:
    """HTML documentation as plain paragraphs (whitespace collapsed, one blank line between them). Tags are cut
    with regular expressions: the models escape every ``<`` of their text, and an HTML parser is ten times
    slower over the 20 MB of documentation."""
    text = unescape(TAG.sub("", BREAK.sub("\n\n", html or "")))
    paragraphs = (" ".join(p.split()) for p in text.split("\n\n"))
    return "\n\n".join(p for p in paragraphs if p)


def summary(html: str | None, limit: int = 200) -> str:
    """The first sentence of the documentation's first paragraph, cut at ``limit`` characters."""
    paragraph = plain_text((html or "").split("</p>", 1)[0]).split("\n\n", 1)[0]
    match = re.match(r"(.+?[.!?])(\s|$)", paragraph)
    sentence = match.group(1) if match else paragraph
    return sentence if len(sentence) <= limit else sentence[:limit - 1].rstrip() + "…"


def identifier(name: str) -> str:
    """A valid Python name for a model's name (a keyword gets a trailing _)."""
    name = re.sub(r"\W", "_", name)
    if not name or name[0].isdigit():
        name = "_" + name
    return name + "_" if keyword.iskeyword(name) else name


def docstring(text: str, indent: str) -> str:
    """A triple-quoted literal of ``text``, indented, that parses back to the same words."""
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    if text.endswith('"'):
        text += " "
    lines = text.split("\n")
    body = ("\n" + indent).join(lines).replace(indent + "\n", "\n")
    return f'{indent}"""{body}"""\n' if len(lines) == 1 else f'{indent}"""{body}\n{indent}"""\n'


def type_of(shape: Any, scalars: dict[str, str], output: bool) -> str:
    """The annotation of a shape: scalars by type, lists and maps by their members, structures as mappings."""
    kind = shape.type_name
    if kind in scalars:
        if kind == "blob" and output and shape.serialization.get("streaming"):
            return "Any"  # a botocore StreamingBody
        return scalars[kind]
    if kind == "list":
        return f"{'List' if output else 'Sequence'}[{type_of(shape.member, scalars, output)}]"
    if kind == "map":
        return f"{'Dict' if output else 'Mapping'}[{type_of(shape.key, scalars, output)}, " \
               f"{type_of(shape.value, scalars, output)}]"
    if kind == "structure" and not getattr(shape, "is_document_type", False):
        return "Dict[str, Any]" if output else "Mapping[str, Any]"
    return "Any"  # documents and unions of anything


@dataclass(frozen=True)
class ServiceStub:
    service: str
    """The client's name (``boto3.client("s3")``)."""
    module: str
    class_name: str
    source: str
    operations: int


def class_name(service_id: str) -> str:
    """``S3`` for "S3", ``APIGateway`` for "API Gateway"."""
    return identifier("".join(part[:1].upper() + part[1:] for part in re.split(r"[^0-9A-Za-z]+", service_id)))


def module_name(service: str) -> str:
    return identifier(service.replace("-", "_"))


def service_stub(session: Any, service: str) -> ServiceStub:
    """The module of one service's client. ``session``: a botocore session that boto3 has registered its
    handlers on (``boto3.Session(botocore_session=session)``)."""
    model = session.get_service_model(service)
    name = class_name(model.service_id)
    methods, extras = _client_methods(session, model)
    outputs: dict[str, str] = {}
    operations = [_operation(model.operation_model(op), outputs, reserved={name}) for op in methods]
    title = model.metadata.get("serviceFullName") or model.service_id
    lines = [HEADER.format(title=title.replace('"', "'"), service=model.service_name,
                           botocore=botocore.__version__)]
    lines += outputs.values()
    lines.append(f"\nclass {name}:\n")
    lines.append(docstring(summary(model.documentation, 400) or title, "    "))
    lines += [f"    {attribute}: Any\n" for attribute in CLIENT_ATTRIBUTES]
    lines += operations + [_extra_method(n, f) for n, f in extras]
    return ServiceStub(model.service_name, module_name(model.service_name), name, "".join(lines), len(operations))


def _client_methods(session: Any, model: Any) -> tuple[list[str], list[tuple[str, Any]]]:
    """The operations a client of ``model`` has, and its other methods by name: those of every client, and what
    botocore's and boto3's ``creating-client-class`` handlers add (S3's ``upload_file``) or take away."""
    attributes: dict[str, Any] = {xform_name(op): op for op in model.operation_names}
    session.emit(f"creating-client-class.{model.service_id.hyphenize()}", class_attributes=attributes,
                 base_classes=[BaseClient])
    operations = [op for op in model.operation_names if attributes.get(xform_name(op)) == op]
    added = {n: f for n, f in attributes.items() if callable(f) and not n.startswith("_")}
    common = {n: f for n, f in vars(BaseClient).items() if inspect.isfunction(f) and not n.startswith("_")}
    return operations, sorted({**common, **added}.items())


def _operation(operation: Any, outputs: dict[str, str], reserved: set[str]) -> str:
    shape = operation.input_shape
    members = dict(shape.members) if shape is not None else {}
    required = set(shape.required_members) if shape is not None else set()
    typed = [(n, m) for n, m in members.items() if n.isidentifier() and not keyword.iskeyword(n)]
    parameters = [f"{n}: {type_of(m, INPUT_TYPES, False)}{'' if n in required else ' = ...'}" for n, m in typed]
    if len(typed) < len(members):
        parameters.append("**kwargs: Any")  # a member named like a keyword (``from``) can only be passed so
    signature = ", ".join(["self", *(["*"] if typed else []), *parameters])
    returns = _output(operation.output_shape, outputs, reserved)
    notes = [f":param {n}: {'[REQUIRED] ' if n in required else ''}{summary(m.documentation)}"
             for n, m in members.items()]
    text = "\n\n".join(p for p in (plain_text(operation.documentation), "\n".join(notes)) if p) or operation.name
    return f"\n    def {xform_name(operation.name)}({signature}) -> {returns}:\n{docstring(text, '        ')}" \
           f"        ...\n"


def _output(shape: Any, outputs: dict[str, str], reserved: set[str]) -> str:
    if shape is None or not shape.members:
        return "Dict[str, Any]"
    name = identifier(shape.name)
    while name in reserved or name in TYPING_NAMES:
        name += "_"
    if shape.name not in outputs:
        fields = [f"    {m!r}: {type_of(s, OUTPUT_TYPES, True)},\n" for m, s in shape.members.items()]
        fields.append("    'ResponseMetadata': Dict[str, Any],\n")
        outputs[shape.name] = f"\n{name} = TypedDict({name!r}, {{\n{''.join(fields)}}}, total=False)\n"
    return name


def _extra_method(name: str, function: Any) -> str:
    """A method with the parameters of the function that implements it, typed ``Any``."""
    parameters: list[str] = []
    for p in inspect.signature(function).parameters.values():
        if p.kind is inspect.Parameter.KEYWORD_ONLY and not any(q.startswith("*") for q in parameters):
            parameters.append("*")
        prefix = {inspect.Parameter.VAR_POSITIONAL: "*", inspect.Parameter.VAR_KEYWORD: "**"}.get(p.kind, "")
        default = "" if p.default is inspect.Parameter.empty else " = ..."
        parameters.append(p.name if not parameters else f"{prefix}{p.name}: Any{default}")
    return f"\n    def {name}({', '.join(parameters)}) -> Any:\n        ...\n"


def package_init(stubs: list[ServiceStub], version: str) -> str:
    """``botostubs/__init__.py``: the version, and where each service's class is."""
    index = "".join(f"    {s.service!r}: ({s.module!r}, {s.class_name!r}),\n" for s in stubs)
    return (f'"""Typed stubs of boto3 clients: ``from {contract.MODULE}.s3 import S3``, then '
            f'``s3: S3 = boto3.client("s3")``."""\n\n__version__ = {version!r}\n\n'
            f"SERVICES = {{\n{index}}}\n\"\"\"Client name -> (module, class).\"\"\"\n")


def generate(session: Any, services: list[str] | None = None) -> list[ServiceStub]:
    """The stubs of every service the session knows (or of ``services``)."""
    return [service_stub(session, service) for service in services or session.get_available_services()]
