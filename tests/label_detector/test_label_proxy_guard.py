"""The proxy's SSRF guard and gs:// allow-list, end to end through the handler: refused URIs never reach the
function (a scripted stand-in on loopback) nor any other server; names are resolved and every address they
resolve to is judged; the connection goes to the address that was judged; every redirect's target is judged
as the first URI was."""

import ipaddress
import json
import socket
import subprocess
import sys

import pytest
import requests

from tests.label_detector.label_fakes import CAT_JPEG, REPO, ImageHost, LoopbackServer, Reply


def body(response: dict) -> dict:
    return json.loads(response["body"])


def quoted(uri: str) -> str:
    return f"imageUri={requests.utils.quote(uri, safe='')}"


@pytest.fixture
def upstream():
    """A scripted stand-in for the function that labels whatever it is sent."""
    server = LoopbackServer(lambda request: Reply(200, {"imageUri": None, "labels": [
        {"description": "Thing", "score": 0.5}]}))
    with server:
        yield server


@pytest.fixture
def secret_host():
    """A server on 127.0.0.2 (loopback, so refused): stands for anything private a URI might lead to."""
    with ImageHost("127.0.0.2") as host:
        yield host


@pytest.fixture
def dns(monkeypatch):
    """The system resolver with a few names of our own (DNS itself is not under test; the handler asks the
    system resolver, as on Lambda). ``dns.names[name]`` is a list of answers, one per lookup, the last repeated;
    ``dns.lookups`` counts the lookups of each name."""
    real = socket.getaddrinfo

    class Names:
        names: dict[str, list[list[str]]] = {}
        lookups: dict[str, int] = {}

    def getaddrinfo(host, port, *args, **kwargs):
        answers = Names.names.get(host)
        if answers is None:
            return real(host, port, *args, **kwargs)
        n = Names.lookups[host] = Names.lookups.get(host, 0) + 1
        addresses = answers[min(n, len(answers)) - 1]
        if not addresses:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port or 0))
                for a in addresses]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return Names


REFUSED = [
    # schemes and shapes
    "ftp://images.example.com/cat.jpg", "file:///etc/passwd", "javascript:alert(1)", "http://[::1/cat.jpg",
    "https://images.example.com/" + "a" * 2048,
    # loopback, private, shared, link-local, reserved, multicast, as plain literals
    "http://127.0.0.1/cat.jpg", "http://0.0.0.0/cat.jpg", "http://10.1.2.3/cat.jpg", "http://172.16.0.9/cat.jpg",
    "https://192.168.1.20/cat.jpg", "http://100.64.0.1/cat.jpg", "http://240.0.0.1/cat.jpg", "http://224.0.0.1/cat.jpg",
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/", "http://[::1]/cat.jpg",
    "http://[fe80::1%25eth0]/cat.jpg", "http://[fd00:ec2::254]/latest/meta-data/",
    # other spellings of the same addresses: shorthand, decimal, octal, hex, trailing dot
    "http://127.1:8080/cat.jpg", "http://2130706433/cat.jpg", "http://017700000001/cat.jpg",
    "http://0x7f000001/cat.jpg", "http://0x7f.0.0.1/cat.jpg", "http://0251.0376.0251.0376/latest/meta-data/",
    "http://127.0.0.1./cat.jpg", "http://169.254.169.254./latest/meta-data/",
    # IPv6 carrying IPv4: mapped, compatible, NAT64 (well-known and local-use), 6to4
    "http://[::ffff:127.0.0.1]/cat.jpg", "http://[::ffff:a9fe:a9fe]/", "http://[::7f00:1]/cat.jpg",
    "http://[::127.0.0.1]/cat.jpg", "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/",
    "http://[64:ff9b::10.0.0.1]/cat.jpg", "http://[64:ff9b:1::a9fe:a9fe]/", "http://[2002:a9fe:a9fe::1]/",
    # names that mean this machine or a metadata service wherever they are resolved
    "http://localhost/cat.jpg", "http://LOCALHOST./cat.jpg", "http://app.localhost/cat.jpg",
    "http://metadata.google.internal/computeMetadata/v1/", "http://metadata.google.internal./computeMetadata/v1/",
    "http://metadata/computeMetadata/v1/", "http://printer.local/cat.jpg",
]


@pytest.mark.parametrize("image_uri", REFUSED)
def test_an_unsafe_or_invalid_uri_is_refused_with_400(upstream, cold_proxy, api_event, lambda_context, image_uri):
    proxy = cold_proxy(GFUNC_URL=upstream.url)

    response = proxy.handler(api_event(quoted(image_uri)), lambda_context)

    assert response["statusCode"] == 400
    assert body(response)["imageAnalyzed"] == image_uri
    assert body(response)["labels"] == []
    assert body(response)["message"].startswith("imageUri ")
    assert upstream.received == []


@pytest.mark.parametrize("name, answers, message", [
    ("169.254.169.254.nip.io", [["169.254.169.254"]], "(169.254.169.254)"),
    ("metadata.attacker.example", [["::ffff:169.254.169.254"]], "(::ffff:a9fe:a9fe)"),
    ("nat64.attacker.example", [["64:ff9b::a9fe:a9fe"]], "(64:ff9b::a9fe:a9fe)"),
    ("half.attacker.example", [["93.184.215.14", "10.0.0.5"]], "(10.0.0.5)"),  # any private answer refuses
    ("nowhere.example", [[]], "does not resolve"),
], ids=["nip.io", "mapped", "nat64", "mixed", "nxdomain"])
def test_a_name_is_judged_by_every_address_it_resolves_to(
    upstream, cold_proxy, dns, api_event, lambda_context, name, answers, message
):
    dns.names[name] = answers
    proxy = cold_proxy(GFUNC_URL=upstream.url)

    response = proxy.handler(api_event(quoted(f"http://{name}/latest/meta-data/")), lambda_context)

    assert (response["statusCode"], upstream.received) == (400, [])
    assert message in body(response)["message"]
    assert dns.lookups[name] == 1


def test_the_connection_goes_to_the_address_that_was_judged(
    upstream, cold_proxy, loopback_host_allowed, images, secret_host, dns, api_event, lambda_context
):
    # DNS rebinding: the first answer is allowed, every later one is a private address.
    dns.names["images.example"] = [["127.0.0.1"], ["127.0.0.2"]]
    secret_host.replies["/cat.jpg"] = Reply(200, b"secret")
    proxy = loopback_host_allowed(cold_proxy(GFUNC_URL=upstream.url))
    port = images.url("").rsplit(":", 1)[1]

    response = proxy.handler(api_event(quoted(f"http://images.example:{port}/cat.jpg")), lambda_context)

    assert response["statusCode"] == 200
    assert dns.lookups["images.example"] == 1
    assert [r.path for r in images.received] == ["/cat.jpg"]
    assert images.received[0].headers["host"] == f"images.example:{port}"  # the name, not the address
    assert secret_host.received == []
    assert upstream.received[0].body == CAT_JPEG


@pytest.mark.parametrize("location, message", [
    ("{secret}/latest/meta-data/", "private or reserved address (127.0.0.2)"),
    ("http://169.254.169.254/latest/meta-data/", "private or reserved address (169.254.169.254)"),
    ("http://[64:ff9b::a9fe:a9fe]/", "private or reserved address (64:ff9b::a9fe:a9fe)"),
    ("http://metadata.google.internal/computeMetadata/v1/", "metadata service (metadata.google.internal)"),
    ("gs://other-bucket/cat.jpg", "redirects to gs://"),
    ("file:///etc/passwd", "must use http://, https:// or gs://"),
], ids=["loopback", "link-local", "nat64", "metadata-name", "gs", "file"])
def test_a_redirect_cannot_lead_to_a_refused_target(
    upstream, cold_proxy, loopback_host_allowed, images, secret_host, api_event, lambda_context, location, message
):
    images.replies["/hop"] = Reply(302, "", headers={"Location": location.format(secret=secret_host.url(""))})
    proxy = loopback_host_allowed(cold_proxy(GFUNC_URL=upstream.url))

    response = proxy.handler(api_event(quoted(images.url("/hop"))), lambda_context)

    assert response["statusCode"] == 400
    assert message in body(response)["message"]
    assert (secret_host.received, upstream.received) == ([], [])


def test_redirects_to_allowed_targets_are_followed_a_few_times(
    upstream, cold_proxy, loopback_host_allowed, images, api_event, lambda_context
):
    images.replies.update({"/moved": Reply(301, "", headers={"Location": "/cat.jpg"}),
                           **{f"/loop{n}": Reply(302, "", headers={"Location": f"/loop{n + 1}"}) for n in range(5)}})
    proxy = loopback_host_allowed(cold_proxy(GFUNC_URL=upstream.url))

    moved = proxy.handler(api_event(quoted(images.url("/moved"))), lambda_context)
    looping = proxy.handler(api_event(quoted(images.url("/loop0"))), lambda_context)

    assert moved["statusCode"] == 200 and upstream.received[0].body == CAT_JPEG
    assert (looping["statusCode"], body(looping)["message"]) == (400, "imageUri redirects more than 3 times")
    assert [r.path for r in images.received] == ["/moved", "/cat.jpg", "/loop0", "/loop1", "/loop2", "/loop3"]


@pytest.mark.parametrize("reply, status, message", [
    (Reply(404, "gone"), 400, "imageUri answered HTTP 404"),
    (Reply(200, b"x" * 101), 413, "the image is larger than 100 bytes"),
], ids=["404", "too-large"])
def test_an_image_that_cannot_be_used_is_refused_before_the_function(
    upstream, cold_proxy, loopback_host_allowed, images, api_event, lambda_context, reply, status, message
):
    images.replies["/image"] = reply
    proxy = loopback_host_allowed(cold_proxy(GFUNC_URL=upstream.url, MAX_IMAGE_BYTES=100))

    response = proxy.handler(api_event(quoted(images.url("/image"))), lambda_context)

    assert (response["statusCode"], body(response)["message"], upstream.received) == (status, message, [])


@pytest.mark.parametrize("image_uri, allowed", [
    ("gs://photos/cat.jpg", True), ("gs://cloud-samples-data/vision/label/wakeupcat.jpg", True),
    ("gs://payroll-exports/2025.csv", False), ("gs://photos.evil/cat.jpg", False), ("gs://PHOTOS/cat.jpg", False),
])
def test_gs_uris_are_passed_on_only_for_allow_listed_buckets(
    upstream, cold_proxy, api_event, lambda_context, image_uri, allowed
):
    proxy = cold_proxy(GFUNC_URL=upstream.url)

    response = proxy.handler(api_event(quoted(image_uri)), lambda_context)

    if allowed:
        assert response["statusCode"] == 200
        assert [(r.method, r.query) for r in upstream.received] == [("GET", {"imageUri": [image_uri]})]
    else:
        assert response["statusCode"] == 400
        assert "which this proxy does not serve" in body(response)["message"]
        assert upstream.received == []


def test_an_empty_allow_list_refuses_every_gs_uri(upstream, cold_proxy, api_event, lambda_context):
    proxy = cold_proxy(GFUNC_URL=upstream.url, ALLOWED_GS_BUCKETS="")

    response = proxy.handler(api_event(quoted("gs://cloud-samples-data/vision/label/wakeupcat.jpg")), lambda_context)

    assert (response["statusCode"], upstream.received) == (400, [])


@pytest.mark.parametrize("address, public", [
    ("8.8.8.8", True), ("2606:4700::1111", True), ("64:ff9b::808:808", True), ("::ffff:8.8.8.8", True),
    ("2002:808:808::1", True), ("169.254.169.254", False), ("::7f00:1", False), ("64:ff9b:1::a00:1", False),
    ("::", False), ("ff02::1", False), ("192.0.2.1", False), ("2001:db8::1", False),
])
def test_public_means_globally_routable_unicast_judged_by_any_carried_ipv4(cold_proxy, address, public):
    assert cold_proxy().guard.is_public(ipaddress.ip_address(address)) is public


def test_the_handler_imports_as_lambda_loads_it_from_the_package_root():
    # In Lambda the package root is runtime/label_proxy: handler, contract and guard are top-level modules.
    result = subprocess.run([sys.executable, "-c", "import handler; print(handler.guard.__name__, "
                             "handler.contract.ROUTE)"], cwd=REPO / "runtime/label_proxy", capture_output=True,
                            text=True, timeout=60, env={"PATH": "/usr/bin:/bin", "GFUNC_URL": "https://x.example"})
    assert (result.returncode, result.stdout.strip()) == (0, "guard GET /detect"), result.stderr
