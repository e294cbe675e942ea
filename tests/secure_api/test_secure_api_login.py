"""``python -m runtime.secure_api.login`` against moto's Cognito: first sign-in with the temporary password,
refresh, MFA set-up and TOTP codes; and the client-credentials grant against a local token endpoint that
speaks Cognito's documented ``/oauth2/token`` contract (moto has none)."""
from __future__ import annotations

import base64
import json
import re
import stat
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP
from typer.testing import CliRunner

from runtime.secure_api import login
from runtime.secure_api.authorizer.tokens import AccessTokens, Settings
from tests.secure_api.conftest import REGION, first_sign_in, invite, make_pool, password

runner = CliRunner()


@pytest.fixture
def cli_env(moto_endpoint, monkeypatch):
    """What a person's shell would have: a region and, here, where Cognito is; no AWS credentials at all."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")


@pytest.fixture(scope="module")
def pool(cognito, moto_endpoint):
    return make_pool(cognito, moto_endpoint, "login-cli")


def groups_of(pool, access_token: str) -> frozenset[str]:
    return AccessTokens(Settings(pool.issuer, frozenset({pool.client_id}), pool.jwks_url)).principal(
        f"Bearer {access_token}").groups


def test_first_sign_in_replaces_the_temporary_password_and_refresh_reads_the_private_cache(
        cli_env, cognito, pool, tmp_path):
    temporary, new = invite(cognito, pool.id, "cli@example.com", ["USER"]), password()
    cache = tmp_path / "tokens" / "secure-api.json"
    signed_in = runner.invoke(login.cli, ["sign-in", "--client-id", pool.client_id, "--username", "cli@example.com",
                                          "--cache", str(cache), "--stdin"], input=f"{temporary}\n{new}\n")
    assert signed_in.exit_code == 0, signed_in.stderr
    [token] = signed_in.stdout.split()
    assert groups_of(pool, token) == {"USER"}
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600 and stat.S_IMODE(cache.parent.stat().st_mode) == 0o700
    refresh_token = json.loads(cache.read_text())[pool.client_id]["refresh_token"]
    assert refresh_token not in signed_in.stdout + signed_in.stderr and temporary not in signed_in.stderr

    refreshed = runner.invoke(login.cli, ["refresh", "--client-id", pool.client_id, "--cache", str(cache)])
    assert refreshed.exit_code == 0, refreshed.stderr
    assert refreshed.stdout.strip() != token and groups_of(pool, refreshed.stdout.strip()) == {"USER"}

    again = runner.invoke(login.cli, ["sign-in", "--client-id", pool.client_id, "--username", "cli@example.com",
                                      "--cache", str(cache), "--stdin", "--show", "id"], input=f"{new}\n")
    assert again.exit_code == 0
    assert json.loads(base64.urlsafe_b64decode(again.stdout.split(".")[1] + "==="))["token_use"] == "id"


def test_a_wrong_password_or_a_missing_refresh_token_fails_with_a_clear_message(cli_env, cognito, pool, tmp_path):
    invite(cognito, pool.id, "wrong@example.com", [])
    refused = runner.invoke(login.cli, ["sign-in", "--client-id", pool.client_id, "--username", "wrong@example.com",
                                        "--cache", str(tmp_path / "c.json"), "--stdin"], input="not-the-password\n")
    assert refused.exit_code == 1 and refused.stdout == ""
    assert refused.stderr.startswith("sign-in refused: ") and "not-the-password" not in refused.stderr
    missing = runner.invoke(login.cli, ["refresh", "--client-id", pool.client_id, "--cache", str(tmp_path / "c.json")])
    assert missing.exit_code == 1 and "sign in first" in missing.stderr
    ended = runner.invoke(login.cli, ["sign-in", "--client-id", pool.client_id, "--username", "wrong@example.com",
                                      "--cache", str(tmp_path / "c.json"), "--stdin"], input="")
    assert ended.exit_code == 1 and "standard input ended before the password" in ended.stderr


def test_required_mfa_is_set_up_at_first_sign_in_and_asked_for_afterwards(cli_env, cognito, moto_endpoint,
                                                                           monkeypatch, capsys):
    monkeypatch.setenv("MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP", "true")  # moto checks the codes
    strict = make_pool(cognito, moto_endpoint, "mfa-on", mfa="ON")
    cognito.set_user_pool_mfa_config(UserPoolId=strict.id, MfaConfiguration="ON",
                                     SoftwareTokenMfaConfiguration={"Enabled": True})
    temporary, new = invite(cognito, strict.id, "mfa@example.com", ["ADMIN"]), password()
    asked, secrets = [], []

    def person(what: str) -> str:
        asked.append(what)
        if what == "TOTP code":  # read the secret off the screen once, as an authenticator app would
            if not secrets:
                secrets.append(re.search(r"secret=([A-Za-z2-7]+)&", capsys.readouterr().err).group(1))
            key = base64.b32decode(secrets[0] + "=" * (-len(secrets[0]) % 8), casefold=True)
            # moto's secret is shorter than Cognito's 160 bits, hence no key length check.
            return TOTP(key, 6, SHA1(), 30, enforce_key_length=False).generate(time.time()).decode()
        return {"password": new if secrets else temporary, "new password": new}[what]

    tokens = login.sign_in(login.cognito(REGION), strict.client_id, "mfa@example.com", person)
    assert asked == ["password", "new password", "TOTP code"]
    assert groups_of(strict, tokens.access_token) == {"ADMIN"}

    cognito.admin_set_user_mfa_preference(UserPoolId=strict.id, Username="mfa@example.com",
                                          SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True})
    asked.clear()
    tokens = login.sign_in(login.cognito(REGION), strict.client_id, "mfa@example.com", person)
    assert asked == ["password", "TOTP code"] and groups_of(strict, tokens.access_token) == {"ADMIN"}
    with pytest.raises(login.SignInError, match="sign-in refused"):
        login.sign_in(login.cognito(REGION), strict.client_id, "mfa@example.com",
                      lambda what: new if what == "password" else "000000")


def test_sign_in_needs_no_aws_credentials_and_names_what_it_cannot_answer(cli_env, cognito, pool):
    tokens, _ = first_sign_in(login.cognito(REGION), pool.client_id, "plain@example.com",
                              invite(cognito, pool.id, "plain@example.com", ["USER", "ADMIN"]))
    assert groups_of(pool, tokens.access_token) == {"USER", "ADMIN"}

    class AsksForSms:
        def initiate_auth(self, **_):
            return {"ChallengeName": "SMS_MFA", "Session": "s"}
    with pytest.raises(login.SignInError, match="SMS_MFA, which this CLI does not answer"):
        login.sign_in(AsksForSms(), "client", "someone@example.com", lambda what: "x")


class TokenEndpoint:
    """``POST /oauth2/token`` as Cognito documents it: client id and secret in HTTP Basic auth, a form body with
    ``grant_type=client_credentials`` and ``scope``; JSON ``access_token`` back, or 400 ``invalid_client``."""

    def __init__(self, client_id: str, secret: str, allowed_scopes: set[str]):
        self.seen: list[dict] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                form = parse_qs(self.rfile.read(int(self.headers["content-length"])).decode())
                endpoint.seen.append({"path": self.path, "content_type": self.headers["content-type"], **form})
                expected = "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()
                scopes = set(form.get("scope", [""])[0].split())
                if self.headers.get("authorization") != expected:
                    status, body = 400, {"error": "invalid_client"}
                elif form.get("grant_type") != ["client_credentials"] or not scopes <= allowed_scopes:
                    status, body = 400, {"error": "invalid_scope"}
                else:
                    status, body = 200, {"access_token": "eyJ.machine.token", "expires_in": 3600,
                                         "token_type": "Bearer"}
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json;charset=UTF-8")
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args):
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/oauth2/token"


def test_client_credentials_send_the_secret_only_in_basic_auth_and_print_the_token():
    endpoint = TokenEndpoint("machine", "s3cret-value", {"secure-api/write", "secure-api/read"})
    try:
        ok = runner.invoke(login.cli, ["client-credentials", "--client-id", "machine", "--token-url", endpoint.url,
                                       "--scope", "secure-api/write", "--stdin"], input="s3cret-value\n")
        assert ok.exit_code == 0 and ok.stdout.strip() == "eyJ.machine.token"
        assert endpoint.seen == [{"path": "/oauth2/token", "content_type": "application/x-www-form-urlencoded",
                                  "grant_type": ["client_credentials"], "scope": ["secure-api/write"]}]
        wrong = runner.invoke(login.cli, ["client-credentials", "--client-id", "machine", "--token-url",
                                          endpoint.url, "--scope", "secure-api/write", "--stdin"], input="guess\n")
        assert wrong.exit_code == 1 and "answered 400: invalid_client" in wrong.stderr
    finally:
        endpoint.http.shutdown()
    with pytest.raises(login.SignInError, match="must be https"):
        login.client_credentials("http://auth.example.com/oauth2/token", "machine", "s3cret", ["secure-api/write"])


def test_the_module_runs_as_a_command():
    result = subprocess.run([sys.executable, "-m", "runtime.secure_api.login", "--help"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0 and "sign-in" in result.stdout and "client-credentials" in result.stdout
