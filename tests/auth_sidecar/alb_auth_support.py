"""Test helpers for the auth sidecar: ALB-style tokens, a local key server, and the processes
(sidecar, demo app, real nginx) run on loopback."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from runtime.auth_demo_app import contract as demo_contract
from runtime.auth_front import contract as front_contract
from runtime.auth_sidecar import contract as sidecar_contract

REPO_ROOT = Path(__file__).resolve().parents[2]
FRONT_TEMPLATE = REPO_ROOT / front_contract.TEMPLATE
FRONT_ENTRYPOINT = REPO_ROOT / front_contract.ENTRYPOINT
ALB_ARN = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/backoffice/50dc6c495c0c9188"
OTHER_ALB_ARN = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/other/0123456789abcdef"


# --- tokens -----------------------------------------------------------------------------------

@dataclass
class SigningKey:
    """An ES256 key pair under an ALB-style kid (a UUID)."""

    private_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    kid: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def public_pem(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign_es256(self, signing_input: bytes) -> bytes:
        r, s = decode_dss_signature(self.private_key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def b64url(data: bytes, *, pad: bool) -> str:
    encoded = base64.urlsafe_b64encode(data).decode("ascii")
    return encoded if pad else encoded.rstrip("=")


def alb_header(key: SigningKey, *, signer: str = ALB_ARN, alg: str = "ES256", **extra) -> dict:
    """The header ALB puts on X-Amzn-Oidc-Data."""
    header = {
        "typ": "JWT",
        "kid": key.kid,
        "alg": alg,
        "iss": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example",
        "client": "5example0client0id",
        "signer": signer,
        "exp": int(time.time()) + 120,
    }
    header.update(extra)
    return header


def user_claims(email: str = "ada@example.com", *, expires_in: float = 120, **extra) -> dict:
    """A Google Workspace user as Cognito's user info describes them (``custom:hd``: the Workspace domain, mapped
    from Google's ``hd``); ``None`` drops a claim."""
    claims = {
        "custom:hd": email.rpartition("@")[2] if isinstance(email, str) else None,
        "sub": str(uuid.uuid4()),
        "email_verified": "true",
        "email": email,
        "given_name": "Zoë",
        "family_name": "Lovelace",
        "picture": "https://lh3.googleusercontent.com/a/photo.jpg",
        "username": "Google_1234567890",
        "exp": int(time.time() + expires_in),
        "iss": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example",
    }
    claims.update(extra)
    return {name: value for name, value in claims.items() if value is not None}


def encode_token(header: dict, claims: dict, sign, *, pad: bool = True) -> str:
    """ALB encodes each segment as base64url *with* '=' padding; pad=False gives the RFC 7515 form."""
    signing_input = ".".join(
        b64url(json.dumps(part, separators=(",", ":"), ensure_ascii=False).encode("utf-8"), pad=pad)
        for part in (header, claims)
    )
    return f"{signing_input}.{b64url(sign(signing_input.encode('ascii')), pad=pad)}"


def alb_token(key: SigningKey, claims: dict | None = None, *, pad: bool = True, **header_fields) -> str:
    return encode_token(alb_header(key, **header_fields), claims or user_claims(), key.sign_es256, pad=pad)


def unsigned_token(key: SigningKey, claims: dict | None = None) -> str:
    return encode_token(alb_header(key, alg="none"), claims or user_claims(), lambda _: b"")


def hs256_token_keyed_with_public_pem(key: SigningKey, claims: dict | None = None) -> str:
    """The key-confusion attack: HMAC over the token with the (public) PEM as the shared secret."""
    return encode_token(
        alb_header(key, alg="HS256"),
        claims or user_claims(),
        lambda data: hmac.new(key.public_pem, data, hashlib.sha256).digest(),
    )


def with_payload(token: str, claims: dict) -> str:
    """The token with its payload swapped and the original signature kept."""
    header, _, signature = token.split(".")
    payload = b64url(json.dumps(claims, separators=(",", ":")).encode("utf-8"), pad=True)
    return f"{header}.{payload}.{signature}"


# --- the key server -------------------------------------------------------------------------

class KeyServer:
    """Serves PEM public keys at /<kid> like the ALB key endpoint; answers 404 for unknown kids."""

    def __init__(self):
        self.keys: dict[str, bytes] = {}
        self.requests: Counter[str] = Counter()
        self.status_override: int | None = None
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                kid = self.path.lstrip("/")
                server.requests[kid] += 1
                body = server.keys.get(kid)
                status = server.status_override or (200 if body is not None else 404)
                payload = body if status == 200 and body is not None else b"<Error>NoSuchKey</Error>"
                self.send_response(status)
                self.send_header("Content-Type", "application/x-pem-file")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.url_template = f"http://127.0.0.1:{self.port}/{{kid}}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def publish(self, key: SigningKey) -> SigningKey:
        self.keys[key.kid] = key.public_pem
        return key

    def stop(self) -> None:
        """Stops serving; the port is closed, so fetches fail as they do when the endpoint is down."""
        if self._thread.is_alive():
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join(timeout=5)


# --- processes --------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ManagedProcess:
    def __init__(self, name: str, command: list[str], log_path: Path, env: dict | None = None, cwd: Path = REPO_ROOT,
                 cleanup: Path | None = None, **popen):
        self.name = name
        self.log_path = log_path
        self._cleanup = cleanup
        self._log = open(log_path, "wb")
        if "user" in popen:  # a process reopening /dev/stdout (nginx) must be allowed to write its log
            os.chown(log_path, popen["user"], popen["group"])
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT, env=env, cwd=cwd, **popen)

    def log_text(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def wait_until_serving(self, url: str, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log_text()}")
            try:
                if requests.get(url, timeout=1).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not serve {url} within {timeout}s:\n{self.log_text()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self._log.close()
        if self._cleanup is not None:
            shutil.rmtree(self._cleanup, ignore_errors=True)


def start_sidecar(work_dir: Path, *, key_url_template: str, auth_required: bool = True,
                  valid_domains: str = "example.com", **settings: str) -> tuple[ManagedProcess, str]:
    """The sidecar as its container runs it (``python -m runtime.auth_sidecar``), on a free port; ``settings`` add
    environment variables by their contract names (e.g. ``ENV_DECISION_CACHE_SECONDS="5"``)."""
    port = free_port()
    env = {
        **os.environ,
        sidecar_contract.ENV_ALB_ARN: ALB_ARN,
        sidecar_contract.ENV_VALID_DOMAINS: valid_domains,
        sidecar_contract.ENV_AUTH_REQUIRED: "true" if auth_required else "false",
        sidecar_contract.ENV_KEY_URL_TEMPLATE: key_url_template,
        sidecar_contract.ENV_REGION: "eu-west-1",
        sidecar_contract.ENV_KEY_FETCH_TIMEOUT_SECONDS: "2",
        **{getattr(sidecar_contract, name): value for name, value in settings.items()},
    }
    process = ManagedProcess(
        "auth sidecar", [sys.executable, *sidecar_contract.command(port=port)[1:]], work_dir / f"sidecar-{port}.log",
        env=env)
    address = f"127.0.0.1:{port}"
    process.wait_until_serving(f"http://{address}/healthz")
    return process, address


def start_demo_app(work_dir: Path) -> tuple[ManagedProcess, str]:
    port = free_port()
    process = ManagedProcess("demo app", [sys.executable, *demo_contract.command(port=port)[1:]],
                             work_dir / f"demo-app-{port}.log")
    address = f"127.0.0.1:{port}"
    process.wait_until_serving(f"http://{address}/healthz")
    return process, address


def start_nginx(work_dir: Path, *, sidecar: str, app: str) -> tuple[ManagedProcess, str]:
    """The front as its container runs it: the image's entrypoint renders the repo's template and starts nginx
    in the foreground, as an unprivileged user (root here runs it as nobody, the image as uid 101)."""
    if shutil.which("nginx", path="/usr/sbin:/usr/bin:/sbin") is None or shutil.which("envsubst") is None:
        raise RuntimeError("the auth front tests need nginx, its set-misc module and envsubst: "
                           "apt-get install -y nginx libnginx-mod-http-set-misc gettext-base")
    port = free_port()
    run_dir = Path(tempfile.mkdtemp(prefix=f"auth-front-{port}-", dir="/tmp"))
    user = {}
    if os.geteuid() == 0:
        os.chown(run_dir, 65534, 65534)
        user = {"user": 65534, "group": 65534, "extra_groups": []}
    env = {**os.environ, "PATH": f"{os.environ.get('PATH', '')}:/usr/sbin", "AUTH_FRONT_TEMPLATE": str(FRONT_TEMPLATE),
           **front_contract.environment(f"127.0.0.1:{port}", sidecar, app), front_contract.ENV_RUN_DIR: str(run_dir)}
    process = ManagedProcess("nginx", ["/bin/sh", str(FRONT_ENTRYPOINT)], work_dir / f"nginx-{port}.log", env=env,
                             cleanup=run_dir, **user)
    base_url = f"http://127.0.0.1:{port}"
    process.wait_until_serving(f"{base_url}{front_contract.HEALTH_PATH}")
    return process, base_url
