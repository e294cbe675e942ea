"""GcpFunction: a 2nd-generation Cloud Function (HTTP) that only one dedicated caller may invoke.

What it builds, in a GCP project and region:
- the platform's APIs (Cloud Functions, Cloud Run, Cloud Build, Artifact Registry) and the ones the app's code
  calls (``apis``);
- a private source bucket holding the function's directory as a zip whose object name is the content
  hash, so any code change replaces the object and redeploys the function;
- three service accounts: the function's own identity (no project roles; read access only to the
  buckets named in ``readable_buckets``), the build's identity (logs, Artifact Registry, read on the
  source bucket), and the caller, which alone holds ``roles/run.invoker`` on the function — never
  ``allUsers`` — and gets a key, exposed as a secret output for the stack that calls the function.
"""
from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_gcp as gcp

from components import packaging
from components.args import Args, InvalidArgument, ListOf, OneOf, Text, Whole, setting, wiring

PLATFORM_APIS = ("cloudfunctions.googleapis.com", "run.googleapis.com", "cloudbuild.googleapis.com",
                 "artifactregistry.googleapis.com")
MEMORY_MB = (128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768)
INGRESS = ("ALLOW_ALL", "ALLOW_INTERNAL_ONLY", "ALLOW_INTERNAL_AND_GCLB")
RUNTIMES = ("python312", "python313")
BUILD_ROLES = ("roles/logging.logWriter", "roles/artifactregistry.writer")
# Service-account ids: 6-30 characters; the longest suffix added to the component's name is "-caller".
NAME = re.compile(r"^[a-z][a-z0-9-]{4,21}[a-z0-9]$")
BUCKET = r"[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]"
API = re.compile(r"^[a-z][a-z0-9-]*\.googleapis\.com$")


@dataclass(frozen=True)
class GcpFunctionArgs(Args):
    project: str = wiring("GCP project id (the stack's ``gcp:project``).")
    region: str = wiring("GCP region of the function and its source bucket (the stack's ``gcp:region``).")
    source_dir: str = wiring("Directory with main.py and requirements.txt, zipped as the function's source.")
    entry_point: str = wiring("The function in main.py that serves requests.")
    description: str = wiring("What the function does.", default="")
    apis: Sequence[str] = wiring("Google APIs the function's code calls (enabled in the project).", default=())
    environment: Mapping[str, str] = wiring("The function's environment variables.", default={})
    runtime: str = setting("python312", OneOf(*RUNTIMES), "The Python runtime.")
    memory_mb: int = setting(512, OneOf(*MEMORY_MB), "Memory of an instance (MiB); CPU grows with it.")
    timeout_seconds: int = setting(30, Whole(10, 3600), "How long a request may take before it is answered 504.")
    max_instances: int = setting(5, Whole(1, 1000), "Caps the cost of a flood of requests (each one may be a "
                                 "billed API call).")
    min_instances: int = setting(0, Whole(0, 1000), "Instances kept warm (billed while idle); at most "
                                 "max_instances.")
    ingress: str = setting("ALLOW_ALL", OneOf(*INGRESS), "ALLOW_ALL when the caller is outside Google Cloud (it "
                           "is on AWS here); who may invoke is decided by IAM (the caller account only).")
    readable_buckets: Sequence[str] = setting(
        [], ListOf(Text(BUCKET, "a bucket name (without gs://)")),
        "Buckets whose objects the function may read (object viewer for the function's account).")
    caller_key_generation: int = setting(1, Whole(1, 10**6), "Raise by one to rotate the caller's key (a new key "
                                         "replaces the old one).")

    def check(self) -> None:
        if not packaging.project_path(self.source_dir).joinpath("requirements.txt").is_file():
            raise InvalidArgument("source_dir", self.source_dir, "a project directory with main.py and "
                                  "requirements.txt")
        if self.min_instances > self.max_instances:
            raise InvalidArgument("min_instances", self.min_instances, f"at most max_instances "
                                  f"({self.max_instances})")
        for api in self.apis:
            if not API.match(api):
                raise InvalidArgument("apis", api, "service names such as vision.googleapis.com")


class GcpFunction(pulumi.ComponentResource):
    function: gcp.cloudfunctionsv2.Function
    runtime_account: gcp.serviceaccount.Account
    build_account: gcp.serviceaccount.Account
    caller_account: gcp.serviceaccount.Account
    invoker: gcp.cloudrunv2.ServiceIamMember
    url: pulumi.Output[str]
    """The function's Cloud Run URL: where to call it, and the audience of the caller's ID tokens."""
    caller_key_json: pulumi.Output[str]
    """The caller's service-account key file (JSON), secret."""

    def __init__(self, name: str, args: GcpFunctionArgs, opts: Optional[pulumi.ResourceOptions] = None):
        if not NAME.match(name):
            raise InvalidArgument("name", name, "6-23 lower-case letters, digits and -, starting with a "
                                             "letter (service-account ids are derived from it)")
        super().__init__("cloud-patterns:gcp:GcpFunction", name, None, opts)
        self.args = args
        child = pulumi.ResourceOptions(parent=self)

        apis = dict.fromkeys((*PLATFORM_APIS, *args.apis))  # in order, without repeats
        self.apis = [gcp.projects.Service(f"{name}-api-{api.split('.')[0]}", project=args.project, service=api,
                                          disable_on_destroy=False, opts=child) for api in apis]
        self.runtime_account = self._account(name, "run", "Identity of the function at run time")
        self.build_account = self._account(name, "build", "Builds the function's container")
        self.caller_account = self._account(name, "caller", "The only identity allowed to invoke the function")

        self.source_bucket = gcp.storage.Bucket(
            f"{name}-source", project=args.project, location=args.region, uniform_bucket_level_access=True,
            public_access_prevention="enforced", force_destroy=True, opts=child)
        self.source_object = gcp.storage.BucketObject(
            f"{name}-source", bucket=self.source_bucket.name,
            name=f"{name}-{packaging.content_hash(args.source_dir)[:16]}.zip",
            source=pulumi.AssetArchive({
                str(path.relative_to(packaging.project_path(args.source_dir))):
                    pulumi.FileAsset(str(path.relative_to(packaging.PROJECT_DIR)))
                for path in packaging.source_files(args.source_dir)}),
            opts=child)
        build_grants = [gcp.projects.IAMMember(f"{name}-build-{role.split('/')[1].split('.')[0]}",
                                               project=args.project, role=role, member=self.build_account.member,
                                               opts=child) for role in BUILD_ROLES]
        build_grants.append(gcp.storage.BucketIAMMember(
            f"{name}-build-reads-source", bucket=self.source_bucket.name, role="roles/storage.objectViewer",
            member=self.build_account.member, opts=child))
        self.bucket_readers = [gcp.storage.BucketIAMMember(
            f"{name}-reads-{bucket}", bucket=bucket, role="roles/storage.objectViewer",
            member=self.runtime_account.member, opts=child) for bucket in args.readable_buckets]

        self.function = gcp.cloudfunctionsv2.Function(
            name, name=name, project=args.project, location=args.region,
            description=args.description,
            build_config=gcp.cloudfunctionsv2.FunctionBuildConfigArgs(
                runtime=args.runtime, entry_point=args.entry_point, service_account=self.build_account.id,
                source=gcp.cloudfunctionsv2.FunctionBuildConfigSourceArgs(
                    storage_source=gcp.cloudfunctionsv2.FunctionBuildConfigSourceStorageSourceArgs(
                        bucket=self.source_bucket.name, object=self.source_object.name))),
            service_config=gcp.cloudfunctionsv2.FunctionServiceConfigArgs(
                available_memory=f"{args.memory_mb}Mi", timeout_seconds=args.timeout_seconds,
                max_instance_count=args.max_instances, min_instance_count=args.min_instances,
                ingress_settings=args.ingress, all_traffic_on_latest_revision=True,
                service_account_email=self.runtime_account.email,
                environment_variables=dict(args.environment)),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*self.apis, *build_grants, *self.bucket_readers]))

        # 2nd-gen functions are Cloud Run services: invoking one is run.invoker on the service.
        self.invoker = gcp.cloudrunv2.ServiceIamMember(
            f"{name}-invoker", project=args.project, location=self.function.location, name=self.function.name,
            role="roles/run.invoker", member=self.caller_account.member, opts=child)
        self.caller_key = gcp.serviceaccount.Key(
            f"{name}-caller-key", service_account_id=self.caller_account.name,
            keepers={"generation": str(args.caller_key_generation)},
            opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["privateKey"]))
        self.caller_key_json = pulumi.Output.secret(
            self.caller_key.private_key.apply(lambda encoded: base64.b64decode(encoded).decode()))
        self.url = self.function.service_config.apply(lambda config: config.uri)

        self.register_outputs({"url": self.url, "function_name": self.function.name,
                               "caller_email": self.caller_account.email, "caller_key_json": self.caller_key_json,
                               "runtime_email": self.runtime_account.email})

    def _account(self, name: str, role: str, description: str) -> gcp.serviceaccount.Account:
        return gcp.serviceaccount.Account(
            f"{name}-{role}", project=self.args.project, account_id=f"{name}-{role}",
            display_name=f"{name} ({role})", description=description, opts=pulumi.ResourceOptions(parent=self))
