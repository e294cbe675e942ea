"""The generator on the installed botocore, for a few services (the full run is test_full_build.py): signatures,
types, docstrings, outputs, boto3's additions, and mypy on scripts that use the stubs right and wrong."""
from __future__ import annotations

import ast
import textwrap

import boto3
import botocore.session
import pytest
from mypy import api as mypy

from runtime.boto_stubs import contract, generator
from runtime.boto_stubs.package import BuildError, write_project

SERVICES = ["s3", "sqs", "dynamodb", "lambda", "logs"]


@pytest.fixture(scope="module")
def session():
    core = botocore.session.get_session()
    boto3.session.Session(botocore_session=core)
    return core


@pytest.fixture(scope="module")
def stubs(session):
    return {s.service: s for s in generator.generate(session, SERVICES)}


def method(stub, name):
    [found] = [n for n in ast.walk(ast.parse(stub.source)) if isinstance(n, ast.FunctionDef) and n.name == name]
    return found


def test_required_members_have_no_default_and_optional_ones_default_to_ellipsis(stubs):
    put = method(stubs["s3"], "put_object")
    names = [a.arg for a in put.args.kwonlyargs]
    defaults = dict(zip(names, put.args.kw_defaults))
    assert put.args.args[0].arg == "self" and len(put.args.args) == 1  # everything else keyword-only
    assert defaults["Bucket"] is None and defaults["Key"] is None
    assert isinstance(defaults["Body"], ast.Constant) and defaults["Body"].value is Ellipsis
    annotations = {a.arg: ast.unparse(a.annotation) for a in put.args.kwonlyargs}
    assert annotations["Bucket"] == "str" and annotations["ContentLength"] == "int"
    assert annotations["Body"] == "Union[bytes, bytearray, str, IO[Any]]"
    assert annotations["Metadata"] == "Mapping[str, str]" and annotations["Expires"] == "Union[datetime, str]"
    assert ast.unparse(method(stubs["sqs"], "send_message_batch").args.kwonlyargs[1].annotation) == \
        "Sequence[Mapping[str, Any]]"


def test_outputs_are_typed_dicts_of_the_top_level_members(stubs):
    source = stubs["s3"].source
    assert method(stubs["s3"], "list_objects_v2").returns.id == "ListObjectsV2Output"
    assert "ListObjectsV2Output = TypedDict('ListObjectsV2Output', {" in source
    body = source.split("ListObjectsV2Output = TypedDict(", 1)[1].split("total=False)", 1)[0]
    assert "'Contents': List[Dict[str, Any]]" in body and "'KeyCount': int" in body
    assert "'ResponseMetadata': Dict[str, Any]" in body
    assert ast.unparse(method(stubs["s3"], "get_object").returns) == "GetObjectOutput"
    assert "'Body': Any," in source.split("GetObjectOutput = TypedDict(", 1)[1].split("total=False)")[0]


def test_docstrings_are_the_model_s_documentation_without_html(stubs, session):
    doc = ast.get_docstring(method(stubs["sqs"], "send_message"))
    model = session.get_service_model("sqs").operation_model("SendMessage").documentation
    assert "<p>" in model and "<" not in doc.split(":param", 1)[0]
    assert doc.startswith(generator.plain_text(model).split("\n\n")[0])
    assert ":param QueueUrl: [REQUIRED] The URL of the Amazon SQS queue" in doc
    assert generator.plain_text("<p>A <code>x</code> &amp; <b>y</b>.</p><p>Two</p>") == "A x & y.\n\nTwo"


def test_the_client_s_other_methods_are_there_with_their_parameters(stubs):
    s3 = stubs["s3"]
    upload = method(s3, "upload_file")
    assert [a.arg for a in upload.args.args] == ["self", "Filename", "Bucket", "Key", "ExtraArgs", "Callback",
                                                 "Config"]
    for name in ("get_paginator", "get_waiter", "can_paginate", "close", "generate_presigned_url",
                 "generate_presigned_post"):
        method(s3, name)
    assert "generate_presigned_post" not in stubs["sqs"].source
    assert "    exceptions: Any\n" in s3.source and "    meta: Any\n" in s3.source
    assert "class Lambda:" in stubs["lambda"].source and stubs["lambda"].module == "lambda_"


def test_a_member_named_like_a_keyword_is_passed_through_kwargs(stubs):
    export = method(stubs["logs"], "create_export_task")
    assert "from" not in [a.arg for a in export.args.kwonlyargs] and export.args.kwarg.arg == "kwargs"
    assert "logGroupName" in [a.arg for a in export.args.kwonlyargs]
    assert ":param from: [REQUIRED]" in ast.get_docstring(export)


def test_names_become_python_names():
    assert generator.class_name("API Gateway") == "APIGateway" and generator.class_name("S3") == "S3"
    assert generator.module_name("lambda") == "lambda_" and generator.module_name("ec2-instance-connect") == \
        "ec2_instance_connect"
    assert generator.identifier("from") == "from_" and generator.identifier("2fa") == "_2fa"
    text = 'ends in a quote" and has a \\ and """ inside'
    assert ast.literal_eval(generator.docstring(text, "").strip()).strip() == text


def test_the_version_follows_boto3():
    assert contract.stub_version("1.44.5") == "0.4.1.44.5"
    with pytest.raises(ValueError, match="expected x.y.z"):
        contract.stub_version("1.44")


def test_a_stub_that_does_not_parse_fails_the_build_before_anything_is_written(stubs, tmp_path):
    broken = generator.ServiceStub("s3", "s3", "S3", stubs["s3"].source + "\n    def broken(:\n", 1)
    with pytest.raises(BuildError, match="the stub of s3 does not parse"):
        write_project(tmp_path / "project", [stubs["sqs"], broken], "p", "0.4.1.2.3", "1.2.3", "1.2.3")
    assert not (tmp_path / "project").exists()


GOOD = """
    import boto3
    from botostubs.s3 import S3
    from botostubs.sqs import SQS

    s3: S3 = boto3.client("s3")
    s3.put_object(Bucket="b", Key="k", Body=b"data", Metadata={"a": "b"})
    listing = s3.list_objects_v2(Bucket="b", MaxKeys=10)
    keys: list[str] = [o["Key"] for o in listing.get("Contents", [])]
    count: int = listing.get("KeyCount", 0)
    s3.upload_file("file", "b", "k")
    pages = s3.get_paginator("list_objects_v2")
    sqs: SQS = boto3.client("sqs")
    sqs.send_message(QueueUrl="u", MessageBody="m", DelaySeconds=3)
"""
BAD = """
    import boto3
    from botostubs.s3 import S3
    from botostubs.sqs import SQS

    s3: S3 = boto3.client("s3")
    s3.put_object(Bucket="b", Key="k", Bodyy=b"data")
    s3.get_object(Key="k")
    sqs: SQS = boto3.client("sqs")
    sqs.send_message(QueueUrl="u", MessageBody="m", DelaySeconds="3")
"""


def check_with_mypy(project, tmp_path, script: str) -> tuple[str, int]:
    path = tmp_path / "script.py"
    path.write_text(textwrap.dedent(script))
    config = tmp_path / "mypy.ini"
    config.write_text("[mypy]\nmypy_path = " + str(project) + "\n[mypy-boto3.*]\nignore_missing_imports = True\n")
    out, err, status = mypy.run([str(path), "--config-file", str(config), "--no-incremental",
                                 "--cache-dir", str(tmp_path / "cache"), "--no-error-summary"])
    return out + err, status


def test_mypy_accepts_right_use_and_reports_each_mistake(stubs, tmp_path):
    project = write_project(tmp_path / "project", list(stubs.values()), "p", "0.4.1.2.3", "1.2.3", "1.2.3")
    out, status = check_with_mypy(project, tmp_path, GOOD)
    assert (status, out) == (0, "")
    out, status = check_with_mypy(project, tmp_path, BAD)
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert status == 1 and len(errors) == 3, out
    assert 'Unexpected keyword argument "Bodyy" for "put_object" of "S3"' in errors[0]
    assert 'Missing named argument "Bucket" for "get_object" of "S3"' in errors[1]
    assert 'Argument "DelaySeconds" to "send_message" of "SQS" has incompatible type "str"; expected "int"' in errors[2]
