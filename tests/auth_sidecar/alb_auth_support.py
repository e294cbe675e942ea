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

REPO_ROOT = Path(__file__).resolve().parents[2]
FRONT_TEMPLATE = REPO_ROOT / "runtime" / "auth_front" / "templates" / "default.conf.template"
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
    claims = {
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
    def __init__(self, name: str, command: list[str], log_path: Path, env: dict | None = None, cwd: Path = REPO_ROOT):
        self.name = name
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT, env=env, cwd=cwd)

    def log_text(self) -> str:
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


def start_sidecar(work_dir: Path, *, key_url_template: str, auth_required: bool = True,
                  valid_domains: str = "example.com") -> tuple[ManagedProcess, str]:
    port = free_port()
    env = {
        **os.environ,
        "ALB_ARN": ALB_ARN,
        "VALID_DOMAINS": valid_domains,
        "AUTH_REQUIRED": "true" if auth_required else "false",
        "KEY_URL_TEMPLATE": key_url_template,
        "AWS_REGION": "eu-west-1",
        "KEY_FETCH_TIMEOUT_SECONDS": "2",
    }
    process = ManagedProcess(
        "auth sidecar",
        [sys.executable, "-m", "runtime.auth_sidecar", "--host", "127.0.0.1", "--port", str(port)],
        work_dir / f"sidecar-{port}.log",
        env=env,
    )
    address = f"127.0.0.1:{port}"
    process.wait_until_serving(f"http://{address}/healthz")
    return process, address


def start_demo_app(work_dir: Path) -> tuple[ManagedProcess, str]:
    port = free_port()
    process = ManagedProcess(
        "demo app",
        [sys.executable, "-m", "runtime.auth_demo_app", "--host", "127.0.0.1", "--port", str(port)],
        work_dir / f"demo-app-{port}.log",
    )
    address = f"127.0.0.1:{port}"
    process.wait_until_serving(f"http://{address}/healthz")
    return process, address


def nginx_binary() -> str:
    binary = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if binary is None:
        raise RuntimeError("nginx is required for the auth front tests: apt-get install -y nginx")
    return binary


def render_front_config(listen_port: int, sidecar: str, app: str) -> str:
    """Renders the template with envsubst limited to the AUTH_FRONT_* names, as the image does."""
    envsubst = shutil.which("envsubst")
    if envsubst is None:
        raise RuntimeError("envsubst is required to render the nginx template: apt-get install -y gettext-base")
    env = {
        **os.environ,
        "AUTH_FRONT_LISTEN": f"127.0.0.1:{listen_port}",
        "AUTH_FRONT_SIDECAR": sidecar,
        "AUTH_FRONT_APP": app,
    }
    return subprocess.run(
        [envsubst, "${AUTH_FRONT_LISTEN} ${AUTH_FRONT_SIDECAR} ${AUTH_FRONT_APP}"],
        input=FRONT_TEMPLATE.read_text(), capture_output=True, text=True, env=env, check=True,
    ).stdout


def start_nginx(work_dir: Path, *, sidecar: str, app: str) -> tuple[ManagedProcess, str]:
    """Real nginx in the foreground with a private prefix; the main config mirrors the image's
    nginx.conf (events, http {} including conf.d) with every path under the prefix."""
    port = free_port()
    prefix = work_dir / f"nginx-{port}"
    (prefix / "conf.d").mkdir(parents=True)
    (prefix / "conf.d" / "default.conf").write_text(render_front_config(port, sidecar, app))
    temp_paths = "\n".join(
        f"    {name}_temp_path {prefix / ('tmp-' + name)};" for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (prefix / "nginx.conf").write_text(
        f"""
{"user root;" if os.geteuid() == 0 else ""}
daemon off;
worker_processes 1;
pid {prefix / 'nginx.pid'};
error_log {prefix / 'error.log'} warn;
events {{ worker_connections 512; }}
http {{
    default_type application/octet-stream;
{temp_paths}
    include {prefix / 'conf.d'}/*.conf;
}}
"""
    )
    process = ManagedProcess(
        "nginx",
        [nginx_binary(), "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", str(prefix / "error.log")],
        prefix / "stdout.log",
    )
    base_url = f"http://127.0.0.1:{port}"
    process.wait_until_serving(f"{base_url}/healthz")
    return process, base_url
