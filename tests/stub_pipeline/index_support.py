"""A real package index for the tests: pypiserver on 127.0.0.1 (an ephemeral port), uploads, listing and downloads
all behind basic authentication, as a private index is."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pypiserver
from passlib.apache import HtpasswdFile

USER, PASSWORD = "publisher", "correct-horse"


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args) -> None:
        pass


@dataclass(frozen=True)
class LocalIndex:
    url: str
    packages: Path

    @property
    def simple_url(self) -> str:
        return self.url + "simple/"


@contextmanager
def local_index(directory: Path, protect: tuple[str, ...] = ("update", "download", "list"),
                user: str = USER) -> Iterator[LocalIndex]:
    """``protect``: what needs the password (pypiserver's update, download, list); ``user``: who has it."""
    packages = directory / "packages"
    packages.mkdir(parents=True)
    passwords = HtpasswdFile(str(directory / "htpasswd"), new=True)
    passwords.set_password(user, PASSWORD)
    passwords.save()
    app = pypiserver.app(roots=[str(packages)], password_file=str(directory / "htpasswd"),
                         authenticate=list(protect))
    server = make_server("127.0.0.1", 0, app, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LocalIndex(f"http://127.0.0.1:{server.server_port}/", packages)
    finally:
        server.shutdown()
        server.server_close()
