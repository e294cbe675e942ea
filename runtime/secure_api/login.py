"""Get and refresh a token for the secure API, to try it with curl:

    TOKEN=$(python -m runtime.secure_api.login sign-in --client-id <user_client_id> --username me@example.com)
    curl -H "Authorization: Bearer $TOKEN" "$API_URL/private"
    TOKEN=$(python -m runtime.secure_api.login refresh --client-id <user_client_id>)

Cognito has no OAuth2 password grant: ``sign-in`` uses the ``USER_PASSWORD_AUTH`` flow and answers the challenges
Cognito sets on the way (a new password in place of the temporary one Cognito e-mailed; a TOTP code, or setting
TOTP up when MFA is required). The refresh token is kept in a file only its owner may read (``--cache``), never
printed; ``refresh`` trades it for a new access token. Machine clients use ``client-credentials`` against the
sign-in domain's token endpoint. Tokens go to standard output, everything else to standard error. Passwords,
codes and client secrets are prompted for without echo, or read one per line from standard input with
``--stdin`` (for scripts); never from arguments, which other users of the machine can see.
"""
from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Optional
from urllib.parse import quote, urlsplit

import boto3
import requests
import typer
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

DEFAULT_CACHE = Path.home() / ".cache" / "cloud-patterns" / "secure-api-tokens.json"
TOKEN_ENDPOINT_TIMEOUT_SECONDS = 10
Answer = Callable[[str], str]
"""Asked for a challenge's answer: ``password``, ``new password``, ``TOTP code`` -> what the user typed."""


class SignInError(Exception):
    """Cognito refused, or asked for something this CLI cannot answer; the message is safe to print."""


@dataclass(frozen=True)
class Tokens:
    access_token: str
    id_token: Optional[str]
    refresh_token: Optional[str]
    expires_in: int


def cognito(region: Optional[str]):
    """Sign-in calls are not SigV4-signed: they need no AWS credentials (``AWS_ENDPOINT_URL`` is honoured)."""
    return boto3.client("cognito-idp", region_name=region, config=Config(signature_version=UNSIGNED))


def sign_in(client, client_id: str, username: str, answer: Answer) -> Tokens:
    try:
        response = client.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                                        AuthParameters={"USERNAME": username, "PASSWORD": answer("password")})
        while "AuthenticationResult" not in response:
            response = _respond(client, client_id, username, response, answer)
    except ClientError as error:
        raise SignInError(f"sign-in refused: {error.response['Error'].get('Message', error)}") from None
    except BotoCoreError as error:
        raise SignInError(f"cannot reach Cognito: {error}") from None
    return _tokens(response["AuthenticationResult"])


def _respond(client, client_id: str, username: str, challenge: dict, answer: Answer) -> dict:
    name, session = challenge.get("ChallengeName"), challenge.get("Session")
    if name == "NEW_PASSWORD_REQUIRED":
        responses = {"USERNAME": username, "NEW_PASSWORD": answer("new password")}
    elif name == "SOFTWARE_TOKEN_MFA":
        responses = {"USERNAME": username, "SOFTWARE_TOKEN_MFA_CODE": answer("TOTP code")}
    elif name == "MFA_SETUP":
        secret = client.associate_software_token(Session=session)
        print(f"MFA is required: add this to an authenticator app, then type its code:\n"
              f"  otpauth://totp/secure-api:{quote(username)}?secret={secret['SecretCode']}&issuer=secure-api",
              file=sys.stderr)
        verified = client.verify_software_token(Session=secret.get("Session", session), UserCode=answer("TOTP code"),
                                                FriendlyDeviceName="secure-api-login")
        session, responses = verified["Session"], {"USERNAME": username}
    else:
        raise SignInError(f"Cognito asks for {name}, which this CLI does not answer; use the hosted sign-in page")
    return client.respond_to_auth_challenge(ClientId=client_id, ChallengeName=name, Session=session,
                                            ChallengeResponses=responses)


def refresh(client, client_id: str, refresh_token: str) -> Tokens:
    try:
        response = client.initiate_auth(ClientId=client_id, AuthFlow="REFRESH_TOKEN_AUTH",
                                        AuthParameters={"REFRESH_TOKEN": refresh_token})
    except ClientError as error:
        raise SignInError(f"refresh refused: {error.response['Error'].get('Message', error)}; sign in "
                          "again") from None
    tokens = _tokens(response["AuthenticationResult"])
    return Tokens(tokens.access_token, tokens.id_token, tokens.refresh_token or refresh_token, tokens.expires_in)


def client_credentials(token_url: str, client_id: str, client_secret: str, scopes: list[str]) -> Tokens:
    """The OAuth2 client-credentials grant at the sign-in domain's ``/oauth2/token``."""
    parts = urlsplit(token_url)
    if parts.scheme != "https" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SignInError(f"{token_url}: the token endpoint must be https (the client secret travels to it)")
    try:
        response = requests.post(token_url, auth=(client_id, client_secret), timeout=TOKEN_ENDPOINT_TIMEOUT_SECONDS,
                                 data={"grant_type": "client_credentials", "scope": " ".join(scopes)})
    except requests.RequestException as error:
        raise SignInError(f"cannot reach {token_url}: {type(error).__name__}") from None
    body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
    if response.status_code != 200 or "access_token" not in body:
        raise SignInError(f"token endpoint answered {response.status_code}: {body.get('error', 'no token')}")
    return Tokens(body["access_token"], None, None, int(body.get("expires_in", 0)))


def _tokens(result: dict) -> Tokens:
    return Tokens(result["AccessToken"], result.get("IdToken"), result.get("RefreshToken"),
                  int(result.get("ExpiresIn", 0)))


# ----- the refresh-token cache: a JSON file only its owner may read --------------------------------------------

def load_cache(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        raise SignInError(f"{path}: unreadable token cache ({error}); delete it and sign in again") from None


def save_refresh_token(path: Path, client_id: str, username: str, refresh_token: str) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    entries = {**load_cache(path), client_id: {"username": username, "refresh_token": refresh_token}}
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(entries, file, indent=2, sort_keys=True)
    os.chmod(path, 0o600)


# ----- the command line ----------------------------------------------------------------------------------------

cli = typer.Typer(help="Get and refresh tokens for the secure API (see docs/secure-api.md).", add_completion=False)
CLIENT_ID = typer.Option(..., "--client-id", envvar="SECURE_API_CLIENT_ID", help="The app client (stack output).")
REGION = typer.Option(None, "--region", envvar="AWS_REGION", help="The user pool's region.")
CACHE = typer.Option(DEFAULT_CACHE, "--cache", help="Where the refresh token is kept (mode 0600).")
STDIN = typer.Option(False, "--stdin", help="Read password, new password and codes from standard input, one a "
                                            "line, instead of prompting.")


def _answers(from_stdin: bool) -> Answer:
    def answer(what: str) -> str:
        if from_stdin:
            line = sys.stdin.readline()
            if not line:
                raise SignInError(f"standard input ended before the {what}")
            return line.rstrip("\n")
        return typer.prompt(what.capitalize(), hide_input=True, err=True)
    return answer


def _run(action: Callable[[], Tokens], show: str = "access") -> Tokens:
    try:
        tokens = action()
    except SignInError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from None
    token = tokens.id_token if show == "id" else tokens.access_token
    typer.echo(token)
    typer.echo(f"(expires in {tokens.expires_in} s)", err=True)
    return tokens


@cli.command("sign-in")
def sign_in_command(client_id: str = CLIENT_ID, username: str = typer.Option(..., help="Your e-mail address."),
                    region: Optional[str] = REGION, cache: Path = CACHE, stdin: bool = STDIN,
                    show: str = typer.Option("access", help="access (what the API takes) or id.")) -> None:
    """Sign in with your e-mail and password; prints an access token."""
    tokens = _run(lambda: sign_in(cognito(region), client_id, username, _answers(stdin)), show)
    if tokens.refresh_token:
        save_refresh_token(cache, client_id, username, tokens.refresh_token)


@cli.command("refresh")
def refresh_command(client_id: str = CLIENT_ID, region: Optional[str] = REGION, cache: Path = CACHE) -> None:
    """A new access token from the refresh token kept by sign-in."""
    def action() -> Tokens:
        entry = load_cache(cache).get(client_id)
        if not entry:
            raise SignInError(f"no refresh token for client {client_id} in {cache}; sign in first")
        return refresh(cognito(region), client_id, entry["refresh_token"])
    _run(action)


@cli.command("client-credentials")
def client_credentials_command(
        client_id: str = CLIENT_ID,
        token_url: str = typer.Option(..., envvar="SECURE_API_TOKEN_URL", help="The stack output token_url."),
        scope: list[str] = typer.Option(..., help="A scope to ask for, e.g. secure-api/write (repeatable)."),
        stdin: bool = STDIN) -> None:
    """A machine client's access token (OAuth2 client credentials); the client secret is prompted for."""
    _run(lambda: client_credentials(token_url, client_id, _answers(stdin)("client secret"), scope))


if __name__ == "__main__":
    cli()
