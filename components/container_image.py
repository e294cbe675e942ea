"""ContainerImage: an ECR repository and an image built from this project's ``runtime/`` and pushed to it.

The tag is the hash of the image's sources, so tags can be immutable: changed code gets a new tag (and a
new task definition revision), unchanged code builds nothing. Images are referenced by digest.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pulumi
import pulumi_aws as aws
import pulumi_docker_build as docker_build

from components import packaging
from components.args import Args, Boolean, Custom, OneOf, Whole, required, setting

PLATFORMS = {"X86_64": docker_build.Platform.LINUX_AMD64, "ARM64": docker_build.Platform.LINUX_ARM64}


@dataclass(frozen=True)
class ContainerImageArgs(Args):
    dockerfile: str = required(Custom(lambda path: isinstance(path, str) and packaging.project_path(path).is_file(),
                                      "an existing Dockerfile of this project"),
                               "Path of the Dockerfile, e.g. runtime/thumbnail/Dockerfile; its directory holds the "
                               "image's sources.")
    context_dir: str = setting("runtime", Custom(lambda path: isinstance(path, str)
                                                 and packaging.project_path(path).is_dir(), "an existing directory"),
                               "Build context: the runtime package, so images run python -m runtime.<name>.")
    cpu_architecture: str = setting("X86_64", OneOf(*PLATFORMS), "The image's CPU architecture.")
    keep_images: int = setting(10, Whole(1, 1000), "Tagged images kept by the lifecycle policy; untagged ones "
                                                   "expire after a day.")
    force_delete: bool = setting(False, Boolean(), "Let destroy delete the repository with its images (dev); keep "
                                                   "them otherwise.")

    @property
    def source_tag(self) -> str:
        """Hash of the image's directory and the context's shared top-level modules (what Dockerfiles copy)."""
        context = packaging.project_path(self.context_dir)
        return packaging.content_hash(Path(self.dockerfile).parent, *sorted(context.glob("*.py")))[:16]


class ContainerImage(pulumi.ComponentResource):
    repository: aws.ecr.Repository
    image: docker_build.Image
    image_ref: pulumi.Output[str]
    """``<repository>@sha256:<digest>``: what task definitions should run."""

    def __init__(self, name: str, args: ContainerImageArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("cloud-patterns:containers:ContainerImage", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.repository = aws.ecr.Repository(
            name, image_tag_mutability="IMMUTABLE", force_delete=args.force_delete,
            image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
            encryption_configurations=[aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="AES256")],
            opts=child)
        aws.ecr.LifecyclePolicy(f"{name}-lifecycle", repository=self.repository.name, policy=json.dumps({"rules": [
            {"rulePriority": 1, "description": "expire untagged images after a day",
             "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days",
                           "countNumber": 1}, "action": {"type": "expire"}},
            {"rulePriority": 2, "description": f"keep the last {args.keep_images} images",
             "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": args.keep_images},
             "action": {"type": "expire"}}]}), opts=child)
        token = aws.ecr.get_authorization_token_output(registry_id=self.repository.registry_id,
                                                       opts=pulumi.InvokeOutputOptions(parent=self))
        self.image = docker_build.Image(
            name, tags=[pulumi.Output.concat(self.repository.repository_url, ":", args.source_tag)],
            context=docker_build.BuildContextArgs(location=args.context_dir),
            dockerfile=docker_build.DockerfileArgs(location=args.dockerfile),
            platforms=[PLATFORMS[args.cpu_architecture]], push=True,
            registries=[docker_build.RegistryArgs(address=self.repository.repository_url,
                                                  username=token.user_name, password=token.password)],
            opts=child)
        self.image_ref = self.image.ref
        self.register_outputs({"repository_url": self.repository.repository_url, "image_ref": self.image_ref})
