"""Stack ``<env>-label-detector`` (GCP): the Cloud Function that labels images with Cloud Vision.

Its ``function_url`` and the secret ``caller_key`` are read by ``<env>-label-proxy`` on AWS.
"""
import pulumi

from components.gcp_function import GcpFunction, GcpFunctionArgs
from programs.common import environment, load_args


def main() -> None:
    gcp_config = pulumi.Config("gcp")
    args = load_args("label_detector", GcpFunctionArgs,
                     project=gcp_config.require("project"), region=gcp_config.require("region"))
    detector = GcpFunction(f"{environment()}-label-detector", args)
    pulumi.export("function_url", detector.url)
    pulumi.export("function_name", detector.function.name)
    pulumi.export("runtime_service_account", detector.runtime_account.email)
    pulumi.export("caller_service_account", detector.caller_account.email)
    pulumi.export("caller_key", detector.caller_key_json)
