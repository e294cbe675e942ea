"""Stack ``<env>-label-proxy`` (AWS): API Gateway ``GET /detect`` → Lambda → the detector stack's function.

The function's URL and the caller's key come from the ``detector`` upstream stack (``<env>-label-detector``);
the alarm topic from ``alerts`` (``<env>-alerts``).
"""
from dataclasses import dataclass

import pulumi

from components.args import Args, Custom, InvalidArgument, ListOf, Whole, setting
from components.cloud_proxy import CloudProxy, CloudProxyArgs
from components.dashboard import OUTPUT, widgets
from programs.common import Section, environment, settings_of, upstream
from runtime.label_detector import contract as detector_contract
from runtime.label_proxy import contract


def _image_uri(uri: object) -> bool:
    return isinstance(uri, str) and bool(contract.check_image_uri(uri, None))


@dataclass(frozen=True)
class LabelProxySettings(Args):
    default_image_uri: str = setting(contract.DEFAULT_IMAGE_URI, Custom(
        _image_uri, "an http(s):// or gs:// URI (a gs:// bucket must be in gs_buckets)", ("ftp://x/y.jpg", 3)),
        "The image labelled when a request names none.")
    gs_buckets: tuple[str, ...] = setting(
        list(contract.DEFAULT_GS_BUCKETS), ListOf(Custom(contract.is_bucket_name, "a bucket name (without gs://)")),
        "The only buckets a gs:// imageUri may name (public sample buckets, or those the detector's "
        "readable_buckets lets it read); [] refuses gs:// altogether.")
    upstream_timeout_seconds: int = setting(int(contract.DEFAULT_UPSTREAM_TIMEOUT_SECONDS), Whole(1, 27),
                                            "How long the Lambda waits for the image and the function, together; "
                                            "at most timeout_seconds - 2, so it can still answer 504.")

    def check(self) -> None:
        if self.default_image_uri.startswith("gs://"):
            try:
                contract.check_image_uri(self.default_image_uri, self.gs_buckets)
            except contract.BadImageUri as error:
                raise InvalidArgument("default_image_uri", self.default_image_uri, str(error)) from None

    def fits(self, lambda_timeout_seconds: int) -> None:
        longest = lambda_timeout_seconds - contract.UPSTREAM_TIMEOUT_MARGIN_SECONDS
        if self.upstream_timeout_seconds > longest:
            raise InvalidArgument("upstream_timeout_seconds", self.upstream_timeout_seconds,
                                  f"at most timeout_seconds - {contract.UPSTREAM_TIMEOUT_MARGIN_SECONDS} ({longest})")


PROXY = Section("label_proxy", CloudProxyArgs, own=LabelProxySettings)


def main() -> None:
    detector, alerts = upstream("detector"), upstream("alerts")
    app = PROXY.own_settings()
    args = PROXY.load(
        source_dir=contract.SOURCE_DIR, requirements_file=contract.REQUIREMENTS_FILE, handler=contract.HANDLER,
        route=contract.ROUTE, secret_value=detector.require_output("caller_key"),
        secret_arn_variable=contract.ENV_CREDENTIALS_SECRET_ARN, alarm_topic_arn=alerts.require_output("topic_arn"),
        environment=contract.environment(detector.require_output("function_url"), app.default_image_uri,
                                         app.upstream_timeout_seconds, app.gs_buckets,
                                         detector_contract.MAX_IMAGE_BYTES),
        description=f"{contract.ROUTE}: labels an image through the GCP label-detector function",
        api_description="Image labels from the GCP label detector",
        secret_description="Service-account key the label proxy uses to call the GCP function")
    with settings_of(PROXY.name):
        app.fits(args.timeout_seconds)
    proxy = CloudProxy(f"{environment()}-label-proxy", args)
    pulumi.export("detect_url", proxy.url)
    pulumi.export("function_name", proxy.proxy.function.name)
    pulumi.export("caller_key_secret_arn", proxy.secret.arn)
    pulumi.export("log_group", proxy.proxy.log_group.name)
    pulumi.export("access_log_group", proxy.access_logs.name)
    pulumi.export("invoke_policy_arn", proxy.invoke_policy.arn)
    pulumi.export(OUTPUT, widgets(proxy.alarms))
