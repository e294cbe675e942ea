"""Stack ``<env>-label-proxy`` (AWS): API Gateway ``GET /detect`` → Lambda → the detector stack's function.

The function's URL and the caller's key come from the ``detector`` upstream stack (``<env>-label-detector``).
"""
import pulumi

from components.cloud_proxy import CloudProxy, CloudProxyArgs
from programs.common import environment, load_args, upstream


def main() -> None:
    detector = upstream("detector")
    args = load_args("label_proxy", CloudProxyArgs, function_url=detector.require_output("function_url"),
                     caller_key_json=detector.require_output("caller_key"))
    proxy = CloudProxy(f"{environment()}-label-proxy", args)
    pulumi.export("detect_url", proxy.detect_url)
    pulumi.export("function_name", proxy.proxy.function.name)
    pulumi.export("caller_key_secret_arn", proxy.secret.arn)
    pulumi.export("log_group", proxy.proxy.log_group.name)
    pulumi.export("access_log_group", proxy.access_logs.name)
