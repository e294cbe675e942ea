"""Loopback stand-ins for the Google side of the label detector (the OAuth token endpoint,
Cloud Run's token check in front of the function, the Cloud Vision REST API) and builders
for the two API Gateway event shapes. Every server is a real HTTP server on 127.0.0.1."""

import base64
import json
import socket
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

REPO = Path(__file__).resolve().parents[2]
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"  # what google-auth puts in the assertion's aud
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass
class Reply:
    status: int = 200
    body: object = None  # dict/list → JSON, str/bytes → as is
    delay: float = 0.0
    headers: dict = field(default_factory=dict)


@dataclass
class Received:
    client_port: int
    method: str
    path: str
    query: dict
    headers: dict
    body: bytes


class LoopbackServer:
    """A real HTTP server on 127.0.0.1 (free port) answering through `respond(Received) -> Reply`."""

    def __init__(self, respond, host: str = "127.0.0.1"):
        self.respond = respond
        self.received: list[Received] = []
        self.released = threading.Event()  # wakes handlers that are made to stall
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in two writes

            def handle_one(self):
                length = int(self.headers.get("Content-Length") or 0)
                parts = urlsplit(self.path)
                request = Received(
                    self.client_address[1], self.command, parts.path, parse_qs(parts.query, keep_blank_values=True),
                    {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length),
                )
                server.received.append(request)
                reply = server.respond(request)
                if reply.delay:
                    server.released.wait(reply.delay)
                body = reply.body
                content_type = "text/plain"
                if isinstance(body, (dict, list)):
                    body, content_type = json.dumps(body).encode(), "application/json"
                elif isinstance(body, str):
                    body = body.encode()
                body = body or b""
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", reply.headers.get("Content-Type", content_type))
                    for name, value in reply.headers.items():
                        if name != "Content-Type":
                            self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

            do_GET = do_POST = handle_one

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.released.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(private_key: rsa.RSAPrivateKey) -> str:
    return private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


class TokenEndpoint:
    """Google's OAuth 2.0 token endpoint for service-account keys: checks that the JWT-bearer
    assertion is signed by a known key, then issues an ID token (assertion with target_audience,
    signed by this endpoint's own issuer key) or an access token."""

    def __init__(self):
        self.issuer_key = rsa_key()
        self.trusted: dict[str, tuple[str, object]] = {}  # private_key_id → (client_email, public key)
        self.id_token_lifetime = 3600
        self.id_tokens: list[str] = []
        self.access_tokens: list[str] = []
        self.rejected: list[str] = []
        self.server = LoopbackServer(self._token)

    @property
    def url(self) -> str:
        return self.server.url + "/token"

    @property
    def hits(self) -> int:
        return len(self.server.received)

    def new_service_account_key(self) -> dict:
        """A service-account key file (as Google issues them) whose token_uri is this endpoint."""
        private_key = rsa_key()
        key_id = uuid.uuid4().hex
        email = "label-proxy-caller@test-project.iam.gserviceaccount.com"
        self.trusted[key_id] = (email, private_key.public_key())
        return {
            "type": "service_account",
            "project_id": "test-project",
            "private_key_id": key_id,
            "private_key": pem(private_key),
            "client_email": email,
            "client_id": "1234567890",
            "token_uri": self.url,
        }

    def verify_id_token(self, token: str, audience: str) -> dict:
        return jwt.decode(
            token, self.issuer_key.public_key(), algorithms=["RS256"],
            audience=audience, issuer="https://accounts.google.com",
        )

    def _token(self, request: Received) -> Reply:
        form = parse_qs(request.body.decode())
        if form.get("grant_type") != [JWT_BEARER_GRANT] or "assertion" not in form:
            return self._reject("unsupported_grant_type")
        assertion = form["assertion"][0]
        key_id = jwt.get_unverified_header(assertion).get("kid")
        if key_id not in self.trusted:
            return self._reject("unknown key")
        email, public_key = self.trusted[key_id]
        try:
            claims = jwt.decode(
                assertion, public_key, algorithms=["RS256"], audience=GOOGLE_TOKEN_AUDIENCE, issuer=email
            )
        except jwt.InvalidTokenError as error:
            return self._reject(f"invalid assertion: {error}")
        now = int(time.time())
        if "target_audience" in claims:
            id_token = jwt.encode(
                {
                    "iss": "https://accounts.google.com", "aud": claims["target_audience"],
                    "sub": email, "email": email, "iat": now, "exp": now + self.id_token_lifetime,
                    "jti": uuid.uuid4().hex,
                },
                self.issuer_key, algorithm="RS256",
            )
            self.id_tokens.append(id_token)
            return Reply(200, {"id_token": id_token})
        access_token = "ya29.test-" + uuid.uuid4().hex
        self.access_tokens.append(access_token)
        return Reply(200, {"access_token": access_token, "expires_in": 3600, "token_type": "Bearer"})

    def _reject(self, why: str) -> Reply:
        self.rejected.append(why)
        return Reply(400, {"error": "invalid_grant", "error_description": why})

    def __enter__(self):
        self.server.__enter__()
        return self

    def __exit__(self, *exc):
        self.server.__exit__(*exc)


class CloudRunFront:
    """The function behind Cloud Run's IAM check: 401 unless the request carries an ID token
    from the token endpoint minted for this URL; then answers like runtime/label_detector."""

    def __init__(self, token_endpoint: TokenEndpoint):
        self.token_endpoint = token_endpoint
        self.expected_audience = None  # None: its own URL, as Cloud Run does
        self.posted: list[bytes] = []
        self.server = LoopbackServer(self._serve)

    @property
    def url(self) -> str:
        return self.server.url + "/"

    @property
    def authorizations(self) -> list[str]:
        return [request.headers.get("authorization") for request in self.server.received]

    def _serve(self, request: Received) -> Reply:
        scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
        try:
            assert scheme == "Bearer"
            self.token_endpoint.verify_id_token(token, audience=self.expected_audience or self.url)
        except (AssertionError, jwt.InvalidTokenError):
            return Reply(401, "Your client does not have permission to the requested URL")
        image_uri = request.query["imageUri"][0] if request.method == "GET" else None
        self.posted.append(request.body)
        return Reply(200, {"imageUri": image_uri, "labels": [{"description": "Cat", "score": 0.97}]})

    def __enter__(self):
        self.server.__enter__()
        return self

    def __exit__(self, *exc):
        self.server.__exit__(*exc)


# imageUri → what the fake Cloud Vision API does with it
VISION_LABELS = {
    "https://images.example.com/cat.jpg": [("Cat", 0.9812), ("Whiskers", 0.9377), ("Mammal", 0.91)],
    "gs://cloud-samples-data/vision/label/wakeupcat.jpg": [("Cat", 0.99), ("Sleep", 0.8)],
    "https://images.example.com/blank.png": [],
}
# image bytes → what the fake Cloud Vision API labels them (images sent as content)
CAT_JPEG = b"\xff\xd8\xff\xe0 a cat, as far as the fake Vision API knows"
BLANK_PNG = b"\x89PNG blank"
VISION_CONTENT_LABELS = {CAT_JPEG: [("Cat", 0.9812), ("Whiskers", 0.9377), ("Mammal", 0.91)], BLANK_PNG: []}
VISION_DENIED_URI = "https://images.example.com/denied.jpg"
VISION_DENIED_GS_URI = "gs://photos/denied.jpg"
VISION_UNREACHABLE_URI = "https://images.example.com/gone.jpg"
VISION_FLAKY_URI = "https://images.example.com/flaky.jpg"
VISION_DENIED_MESSAGE = "Cloud Vision API has not been used in project 123 before or it is disabled."
VISION_UNREACHABLE_MESSAGE = "We can not access the URL currently. Please download the content and pass it in."


class FakeVisionApi:
    """Cloud Vision's REST API (POST /v1/images:annotate) for the URIs in VISION_LABELS and the
    error cases above. Requires a bearer token signed by, or issued for, the test service account."""

    def __init__(self, token_endpoint: TokenEndpoint):
        self.token_endpoint = token_endpoint
        self.flaky_calls = 0
        self.contents: list[bytes] = []
        self.server = LoopbackServer(self._annotate)

    @property
    def url(self) -> str:
        return self.server.url

    def _authorized(self, request: Received) -> bool:
        scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
        if scheme != "Bearer":
            return False
        if token in self.token_endpoint.access_tokens:
            return True
        # google-auth may sign its own JWT (self-signed JWT access) instead of asking the endpoint.
        try:
            email, public_key = self.token_endpoint.trusted[jwt.get_unverified_header(token).get("kid")]
            jwt.decode(token, public_key, algorithms=["RS256"], issuer=email, options={"verify_aud": False})
        except (KeyError, jwt.InvalidTokenError):
            return False
        return True

    def _annotate(self, request: Received) -> Reply:
        if request.method != "POST" or request.path != "/v1/images:annotate":
            return Reply(404, {"error": {"code": 404, "message": "not found", "status": "NOT_FOUND"}})
        if not self._authorized(request):
            return Reply(401, {"error": {"code": 401, "message": "bad credentials", "status": "UNAUTHENTICATED"}})
        (annotate,) = json.loads(request.body)["requests"]
        if "content" in annotate["image"]:
            content = base64.b64decode(annotate["image"]["content"])
            self.contents.append(content)
            if content not in VISION_CONTENT_LABELS:
                return Reply(200, {"responses": [{"error": {"code": 3, "message": "Bad image data."}}]})
            return Reply(200, {"responses": [{"labelAnnotations": [
                {"description": d, "score": score} for d, score in VISION_CONTENT_LABELS[content]]}]})
        uri = annotate["image"]["source"]["imageUri"]
        if uri in (VISION_DENIED_URI, VISION_DENIED_GS_URI):
            return Reply(403, {"error": {"code": 403, "message": VISION_DENIED_MESSAGE, "status": "PERMISSION_DENIED"}})
        if uri == VISION_UNREACHABLE_URI:
            return Reply(200, {"responses": [{"error": {"code": 7, "message": VISION_UNREACHABLE_MESSAGE}}]})
        if uri == VISION_FLAKY_URI:
            self.flaky_calls += 1
            if self.flaky_calls == 1:
                return Reply(503, {"error": {"code": 503, "message": "try again", "status": "UNAVAILABLE"}})
            labels = [("Flake", 0.5)]
        else:
            labels = VISION_LABELS.get(uri, [("Thing", 0.5)])
        max_results = annotate["features"][0].get("maxResults") or len(labels)
        return Reply(200, {"responses": [{"labelAnnotations": [
            {"description": description, "score": score} for description, score in labels[:max_results]
        ]}]})

    def __enter__(self):
        self.server.__enter__()
        return self

    def __exit__(self, *exc):
        self.server.__exit__(*exc)


class ImageHost:
    """Web servers of images on loopback: ``replies`` maps a path to what is answered there."""

    def __init__(self, host: str = "127.0.0.1"):
        self.replies: dict[str, Reply] = {}
        self.server = LoopbackServer(lambda request: self.replies.get(request.path, Reply(404, "no such image")), host)

    def url(self, path: str) -> str:
        return f"{self.server.url}{path}"

    @property
    def received(self) -> list[Received]:
        return self.server.received

    def __enter__(self):
        self.server.__enter__()
        return self

    def __exit__(self, *exc):
        self.server.__exit__(*exc)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_serving(url: str, process: subprocess.Popen, log_file: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"functions-framework exited:\n{log_file.read_text()}")
        try:
            requests.get(url, params={"imageUri": "ftp://probe"}, timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise RuntimeError(f"functions-framework did not start:\n{log_file.read_text()}")


def http_api_event(query: str | None = None) -> dict:
    """API Gateway HTTP API (payload 2.0) event for GET /detect?<query>."""
    event = {
        "version": "2.0", "routeKey": "GET /detect", "rawPath": "/detect", "rawQueryString": query or "",
        "headers": {"host": "abc.execute-api.eu-west-1.amazonaws.com"},
        "requestContext": {"http": {"method": "GET", "path": "/detect"}, "stage": "$default"},
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = {k: ",".join(v) for k, v in parse_qs(query, keep_blank_values=True).items()}
    return event


def rest_api_event(query: str | None = None) -> dict:
    """API Gateway REST API (v1 proxy) event for GET /detect?<query>."""
    params = parse_qs(query or "", keep_blank_values=True)
    return {
        "resource": "/detect", "path": "/detect", "httpMethod": "GET",
        "headers": {"Host": "abc.execute-api.eu-west-1.amazonaws.com"},
        "queryStringParameters": {k: v[-1] for k, v in params.items()} or None,
        "multiValueQueryStringParameters": params or None,
        "requestContext": {"resourcePath": "/detect", "httpMethod": "GET", "stage": "prod"},
        "body": None, "isBase64Encoded": False,
    }
