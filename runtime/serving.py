"""How every HTTP container of this project serves its WSGI app: gunicorn with threaded workers.

Shared by the images that serve HTTP (their Dockerfiles copy this file next to their package).
"""
from __future__ import annotations

import urllib.request
from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication

# Longer than the idle timeout of whatever sits in front (the ALB's 60 s, nginx's upstream keepalive), so the
# front always closes an idle connection first and never reuses one the server is closing (a 502/503).
KEEPALIVE_SECONDS = 75


class WsgiServer(BaseApplication):
    """gunicorn, configured from a dict, serving the app ``load_app`` returns (called in each worker)."""

    def __init__(self, load_app: Callable[[], Any], options: dict[str, Any]):
        self._load_app = load_app
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for name, value in self._options.items():
            self.cfg.set(name, value)

    def load(self) -> Any:
        return self._load_app()


def json_error(status: int, message: str):
    """The services' one error answer: ``{"error": message}`` with ``status`` (inside a Flask request)."""
    from flask import jsonify  # the Flask services' dependency, not this module's

    response = jsonify(error=message)
    response.status_code = status
    return response


def bind_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def serve(load_app: Callable[[], Any], host: str, port: int, **options: Any) -> None:
    """Runs until stopped. ``options`` are gunicorn settings (workers, threads, accesslog, …)."""
    WsgiServer(load_app, {
        "bind": bind_address(host, port),
        "worker_class": "gthread",
        "keepalive": KEEPALIVE_SECONDS,
        "control_socket_disable": True,  # no admin socket: containers have no home directory for it
        **options,
    }).run()


def healthcheck(host: str, port: int, path: str = "/healthz") -> int:
    """Exit status for a container health check (slim images have no curl): 0 when ``path`` answers 200."""
    try:
        with urllib.request.urlopen(f"http://{bind_address(host, port)}{path}", timeout=2) as response:
            return 0 if response.status == 200 else 1
    except OSError:
        return 1
