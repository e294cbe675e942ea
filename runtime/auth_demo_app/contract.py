"""What the demo app and the program that deploys it share. Standard library only."""

from __future__ import annotations

CONTAINER = "app"
IMAGE = "auth-demo-app"
DOCKERFILE = "runtime/auth_demo_app/Dockerfile"
MODULE = "runtime.auth_demo_app"
HOST = "127.0.0.1"  # loopback only: nothing but the auth front may call it
PORT = 8000
ADDRESS = f"{HOST}:{PORT}"


def command(host: str = HOST, port: int = PORT) -> list[str]:
    return ["python", "-m", MODULE, "--host", host, "--port", str(port)]


def health_check() -> list[str]:
    return ["CMD", *command(), "--healthcheck"]


def container() -> dict:
    """How the task runs the app: command and health check."""
    return {"command": command(), "health_check": health_check()}
