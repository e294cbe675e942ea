"""What the auth front's image (nginx.conf.template, entrypoint.sh) and the program that deploys it share.
Standard library only. The template and the entrypoint spell the same environment names (a test compares)."""

from __future__ import annotations

from collections.abc import Mapping

CONTAINER = "auth-front"
IMAGE = "auth-front"
DOCKERFILE = "runtime/auth_front/Dockerfile"
TEMPLATE = "runtime/auth_front/nginx.conf.template"
ENTRYPOINT = "runtime/auth_front/entrypoint.sh"
PORT = 8080  # the default; it must be the network's app_port, the only port the load balancer may reach
HEALTH_PATH = "/healthz"

ENV_LISTEN = "AUTH_FRONT_LISTEN"  # an nginx `listen` value: port, or address:port
ENV_SIDECAR = "AUTH_FRONT_SIDECAR"  # host:port of the auth sidecar
ENV_APP = "AUTH_FRONT_APP"  # host:port of the app
ENV_RUN_DIR = "AUTH_FRONT_RUN_DIR"  # where the rendered config, the pid, temp files and the decision cache live
ENV_CACHE_SECRET = "AUTH_FRONT_CACHE_SECRET"  # made by the entrypoint at each start; never set from outside
TEMPLATE_VARIABLES = (ENV_LISTEN, ENV_SIDECAR, ENV_APP, ENV_RUN_DIR, ENV_CACHE_SECRET)


def health_check(port: int) -> list[str]:
    return ["CMD-SHELL", f"wget -q -O /dev/null http://127.0.0.1:{port}{HEALTH_PATH} || exit 1"]


def environment(listen: int | str, sidecar: str, app: str) -> Mapping[str, str]:
    return {ENV_LISTEN: str(listen), ENV_SIDECAR: sidecar, ENV_APP: app}


def container(port: int, sidecar: str, app: str) -> dict:
    """How the task runs the front (the image's entrypoint is its command): port, health check, environment."""
    return {"port": port, "health_check": health_check(port), "environment": environment(port, sidecar, app)}
