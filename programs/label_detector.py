"""Stack ``<env>-label-detector`` (GCP): the Cloud Function that labels images with Cloud Vision.

Its ``function_url`` and the secret ``caller_key`` are read by ``<env>-label-proxy`` on AWS.
"""
from dataclasses import dataclass, replace

import pulumi

from components.args import Args, Custom, Whole, setting
from components.gcp_function import GcpFunction, GcpFunctionArgs
from programs.common import Section, environment
from runtime.label_detector import contract


def _image_uri(uri: object) -> bool:
    return isinstance(uri, str) and contract.validate_image_uri(uri) == uri


@dataclass(frozen=True)
class LabelDetectorSettings(Args):
    default_image_uri: str = setting(contract.DEFAULT_IMAGE_URI, Custom(
        _image_uri, "an http(s):// or gs://bucket/object URI", ("ftp://x/y.jpg", "gs://bucket-only", 3)),
        "The image labelled when a request names none.")
    max_labels: int = setting(contract.DEFAULT_MAX_LABELS, Whole(1, 100), "Labels returned per image at most.")


DETECTOR = Section("label_detector", GcpFunctionArgs, own=LabelDetectorSettings)


def main() -> None:
    gcp_config = pulumi.Config("gcp")
    app = DETECTOR.own_settings()
    args = DETECTOR.load(project=gcp_config.require("project"), region=gcp_config.require("region"),
                         source_dir=contract.SOURCE_DIR, entry_point=contract.ENTRY_POINT, apis=contract.APIS,
                         description="Labels the image at ?imageUri= with Cloud Vision")
    # Vision's deadline follows the function's timeout, which config sets.
    args = replace(args, environment=contract.environment(app.default_image_uri, app.max_labels,
                                                          args.timeout_seconds))
    detector = GcpFunction(f"{environment()}-label-detector", args)
    pulumi.export("function_url", detector.url)
    pulumi.export("function_name", detector.function.name)
    pulumi.export("runtime_service_account", detector.runtime_account.email)
    pulumi.export("caller_service_account", detector.caller_account.email)
    pulumi.export("caller_key", detector.caller_key_json)
