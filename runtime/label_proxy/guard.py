"""The label proxy's SSRF guard: where an http(s) image may be fetched from, and the fetch itself.

A host is refused unless its name and every address it resolves to are public (globally routable unicast,
judged by the IPv4 address an IPv6 one carries); the connection goes to exactly the address that was judged, so
a second lookup (DNS rebinding) cannot move it; redirects are followed by hand, each target judged like the
first. Every refusal is a ``contract.BadImageUri`` (the handler answers 400).
"""

import ipaddress
import socket
from urllib.parse import urljoin

import urllib3

try:
    from . import contract
except ImportError:  # deployed: the package root is this directory
    import contract

BadImageUri = contract.BadImageUri
CONNECT_TIMEOUT_SECONDS = 3.05
MAX_REDIRECTS = 3
REDIRECTS = (301, 302, 303, 307, 308)
# Names that mean "this machine" or a cloud's metadata service whatever they resolve to where they are looked up.
REFUSED_NAMES = ("localhost", "metadata", "metadata.google.internal", "instance-data")
REFUSED_SUFFIXES = (".localhost", ".internal", ".local", ".home.arpa")
# IPv6 prefixes that carry an IPv4 address in their last 32 bits: IPv4-compatible (deprecated), NAT64
# (well-known and local-use). 6to4 and IPv4-mapped are read by ipaddress itself.
IPV4_CARRIERS = tuple(ipaddress.ip_network(n) for n in ("::/96", "64:ff9b::/96", "64:ff9b:1::/48"))


class ImageTooLarge(BadImageUri):
    """The image is larger than the function accepts (answered with 413)."""


Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def literal_ip(host: str) -> Address | None:
    """The address a host name denotes by itself, including the shorthand forms resolvers accept
    (127.1, 0x7f000001, 2130706433, 0177.0.0.1); None for a DNS name."""
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])  # drop an IPv6 zone id
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def is_public(address: Address) -> bool:
    """Globally routable unicast, judged by the IPv4 address an IPv6 one carries, if any."""
    if address.version == 6:
        inner = address.ipv4_mapped or address.sixtofour or next(
            (ipaddress.IPv4Address(int(address) & 0xFFFFFFFF) for net in IPV4_CARRIERS if address in net), None)
        if inner is not None:
            return is_public(inner)
    return address.is_global and not address.is_multicast


def resolve(host: str, port: int) -> list[Address]:
    """Every address the resolver gives for host (the system's resolver, as the connection would use)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise BadImageUri(f"imageUri's host {host} does not resolve") from None
    return [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]


def checked_address(host: str, port: int) -> Address:
    """The address to connect to for host: refused unless the name and every address it resolves to are
    public. The connection uses this very address, so a second lookup (DNS rebinding) cannot move it."""
    name = host.strip("[]").rstrip(".").lower()
    if name in REFUSED_NAMES or name.endswith(REFUSED_SUFFIXES):
        raise BadImageUri(f"imageUri must not point at this machine or a metadata service ({name})")
    literal = literal_ip(name)
    addresses = [literal] if literal is not None else resolve(name, port)
    refused = [a for a in addresses if not is_public(a)]
    if refused or not addresses:
        shown = refused[0] if refused else name
        raise BadImageUri(f"imageUri must not point at a private or reserved address ({shown})")
    return addresses[0]


class GuardedConnection(urllib3.connection.HTTPConnection):
    def _new_conn(self):
        host = self._dns_host
        self._dns_host = str(checked_address(host, self.port))
        try:
            return super()._new_conn()
        finally:
            self._dns_host = host  # TLS still checks the certificate against the name


class GuardedTlsConnection(GuardedConnection, urllib3.connection.HTTPSConnection):
    pass


class GuardedPool(urllib3.HTTPConnectionPool):
    ConnectionCls = GuardedConnection


class GuardedTlsPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = GuardedTlsConnection


IMAGES = urllib3.PoolManager(num_pools=4, retries=False)
IMAGES.pool_classes_by_scheme = {"http": GuardedPool, "https": GuardedTlsPool}


def fetch_image(uri: str, seconds: float, max_bytes: int) -> bytes:
    """The image's bytes, through the guard on every hop: each redirect's target is checked as the first."""
    timeout = urllib3.Timeout(connect=min(CONNECT_TIMEOUT_SECONDS, seconds), read=seconds)
    for _ in range(MAX_REDIRECTS + 1):
        scheme, _host = contract.check_image_uri(uri, None)
        if scheme == "gs":
            raise BadImageUri("imageUri redirects to gs://, which is not fetched")
        try:
            response = IMAGES.request("GET", uri, redirect=False, preload_content=False, timeout=timeout,
                                      headers={"Accept": "image/*"})
        except urllib3.exceptions.HTTPError as error:
            raise BadImageUri(f"imageUri could not be fetched ({type(error).__name__})") from None
        try:
            if response.status in REDIRECTS and response.headers.get("Location"):
                uri = urljoin(uri, response.headers["Location"])
                continue
            if response.status != 200:
                raise BadImageUri(f"imageUri answered HTTP {response.status}")
            content = response.read(max_bytes + 1)
            if len(content) > max_bytes:
                raise ImageTooLarge(f"the image is larger than {max_bytes} bytes")
            return content
        except urllib3.exceptions.HTTPError as error:
            raise BadImageUri(f"imageUri could not be read ({type(error).__name__})") from None
        finally:
            response.close()  # a new host each time: nothing to keep alive, and no unread body left behind
            response.release_conn()
    raise BadImageUri(f"imageUri redirects more than {MAX_REDIRECTS} times")
