"""The safe fetch tool: http(s) only, public addresses only, bounded in size and time, text only.

Every URL, the first and each redirect target, passes :func:`check_url` before it is requested:
http/https scheme, no credentials, no local names, no odd numeric host spellings, and every address
the host resolves to must be public. Redirects are followed by hand so each ``Location`` is checked.
The body is streamed and abandoned at ``max_bytes``; an overall wall-clock deadline covers the whole
fetch, redirects included. HTML is reduced to its main text (trafilatura), PDF to its text (pypdf).

The returned text is untrusted data. This module never acts on it: no links, refreshes or
embedded URLs from a page are followed.

DNS rebinding. A check that resolves a name and a client that resolves it again leave a window
in which the answer can change to a private address. With the default client this window is
closed: its transport dials only addresses it has just resolved *and* vetted itself (the
connection goes to the vetted IP; TLS still verifies the certificate against the host name).
That pinning replaces httpx's private connection pool (``HTTPTransport._pool``, httpx 0.28), because
httpx has no resolver hook. When a caller passes its own ``client`` we cannot pin: the URL is
re-checked immediately before each request, and the residual risk is a rebinding between that
check and the client's own lookup (milliseconds, but not zero). Other known limits: the DNS lookup
itself is not bounded by ``timeout_s``; environment proxies are ignored by the default client
(a proxy would resolve names itself, out of reach of the check).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import io
import ipaddress
import re
import socket
import time
from collections.abc import Callable
from typing import Any, Literal, NamedTuple
from urllib.parse import urlsplit

import httpcore
import httpx

from agent.models import Frozen

FetchErrorKind = Literal["blocked", "timeout", "too_large", "http", "unsupported", "network"]
Resolver = Callable[..., list[tuple[Any, ...]]]

USER_AGENT = "compliance-agent/0.1 (+research; respects robots)"
_HEADERS = {
    "User-Agent": USER_AGENT,
    "Accept": "text/html,application/xhtml+xml,text/plain;q=0.9,application/pdf;q=0.8",
    # Identity keeps the size cap honest: a compressed body could expand far beyond it per chunk.
    "Accept-Encoding": "identity",
}
_ACCEPTED_TYPES = frozenset({"text/html", "application/xhtml+xml", "text/plain", "application/pdf"})
_REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})

_BLOCKED_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
_BLOCKED_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa")
# Not all of these are flagged by ipaddress's is_private/is_global on every Python version.
_BLOCKED_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "100.64.0.0/10",  # carrier-grade NAT
        "169.254.0.0/16",  # link-local, incl. the 169.254.169.254 metadata service
        "fc00::/7",  # unique local, incl. the fd00:ec2::254 metadata service
        "fe80::/10",
        "fec0::/10",  # deprecated site-local
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_HOST_CHARS = re.compile(r"[a-z0-9_.-]+")
_NUMERIC_LABEL = re.compile(r"(0x[0-9a-f]*|[0-9]+)")
_UNSAFE_URL_CHARS = re.compile(r"[\x00-\x20\x7f\\]")


class FetchError(Exception):
    """A fetch that was refused or failed; ``kind`` says which, ``str(e)`` names the URL."""

    def __init__(self, kind: FetchErrorKind, message: str) -> None:
        super().__init__(" ".join(message.split()))  # one line, always
        self.kind: FetchErrorKind = kind


class FetchedPage(Frozen):
    url: str
    final_url: str
    status: int
    content_type: str
    title: str | None
    text: str
    content_hash: str
    retrieved_at: str


class _Target(NamedTuple):
    host: str  # ASCII (IDNA) host name or IP literal, lower case, no brackets
    port: int
    is_ip: bool


# --- address and URL checks ---------------------------------------------------


def _shown(url: str) -> str:
    """The URL for messages: no credentials, query or fragment (they may carry secrets)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        shown = f"{parts.scheme}://{host}{port}{parts.path}" if parts.scheme else url.split("?")[0]
    except ValueError:
        shown = url.split("?")[0].split("@")[-1]
    shown = _UNSAFE_URL_CHARS.sub("", shown)
    return shown if len(shown) <= 200 else shown[:197] + "..."


def _addr_is_public(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(addr, ipaddress.IPv6Address):
        # Addresses that embed an IPv4 address are judged by that address.
        if addr.ipv4_mapped is not None:
            return _addr_is_public(addr.ipv4_mapped)
        if addr.sixtofour is not None and not _addr_is_public(addr.sixtofour):
            return False
        if addr in _NAT64 and not _addr_is_public(ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)):
            return False
        if addr.is_site_local:
            return False
    if any(addr in net for net in _BLOCKED_NETWORKS if net.version == addr.version):
        return False
    return addr.is_global and not (
        addr.is_private
        or addr.is_loopback
        or addr.is_link_local
        or addr.is_multicast
        or addr.is_reserved
        or addr.is_unspecified
    )


def is_public_ip(ip: str) -> bool:
    """True only for a well-formed, globally routable unicast address."""
    try:
        addr = ipaddress.ip_address(ip.split("%", 1)[0])  # drop an IPv6 zone id
    except ValueError:
        return False
    return _addr_is_public(addr)


def _ascii_host(host: str, url: str) -> str:
    try:
        ascii_host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        raise FetchError("blocked", f"refused {_shown(url)}: host name is not valid") from None
    if not _HOST_CHARS.fullmatch(ascii_host) or ".." in ascii_host:
        raise FetchError("blocked", f"refused {_shown(url)}: host name is not valid")
    return ascii_host


def _check_numeric_host(host: str, url: str) -> bool:
    """True if ``host`` is a canonical dotted-quad IPv4; refuse other numeric spellings."""
    if not _NUMERIC_LABEL.fullmatch(host.rsplit(".", 1)[-1]):
        return False
    try:
        canonical = str(ipaddress.IPv4Address(host))
    except ValueError:
        canonical = None
    if canonical != host:
        # 2130706433, 0177.0.0.1, 0x7f.1 and friends: browsers and libc read them as addresses.
        try:
            meant = f" (means {socket.inet_ntoa(socket.inet_aton(host))})"
        except OSError:
            meant = ""
        raise FetchError("blocked", f"refused {_shown(url)}: non-canonical numeric host{meant}")
    return True


def _vet_syntax(url: str) -> _Target:
    """Every check that needs no DNS; returns the host to resolve."""
    if not isinstance(url, str) or not url:
        raise FetchError("blocked", "refused an empty URL")
    if _UNSAFE_URL_CHARS.search(url):
        raise FetchError("blocked", f"refused {_shown(url)}: whitespace, control character or backslash in URL")
    try:
        parts = urlsplit(url)
        port = parts.port
        host = parts.hostname
    except ValueError:
        raise FetchError("blocked", f"refused {_shown(url)}: malformed URL") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchError("blocked", f"refused {_shown(url)}: scheme {scheme or '(none)'!r} is not http(s)")
    if "@" in parts.netloc or parts.username is not None or parts.password is not None:
        raise FetchError("blocked", f"refused {_shown(url)}: credentials in URL")
    if not host:
        raise FetchError("blocked", f"refused {_shown(url)}: no host")
    port = port or (443 if scheme == "https" else 80)
    if ":" in host:  # IPv6 literal (urlsplit removed the brackets)
        if not is_public_ip(host):
            raise FetchError("blocked", f"refused {_shown(url)}: {host} is not a public address")
        return _Target(host, port, True)
    host = _ascii_host(host.rstrip("."), url)
    if _check_numeric_host(host, url):
        if not is_public_ip(host):
            raise FetchError("blocked", f"refused {_shown(url)}: {host} is not a public address")
        return _Target(host, port, True)
    if host in _BLOCKED_NAMES or host.endswith(_BLOCKED_SUFFIXES):
        raise FetchError("blocked", f"refused {_shown(url)}: local host name")
    if "." not in host:
        # Single labels are completed by the resolver's search domains: intranet names.
        raise FetchError("blocked", f"refused {_shown(url)}: single-label host name")
    return _Target(host, port, False)


def check_url_syntax(url: str) -> None:
    """Raise FetchError("blocked") for a URL that fails any check not needing DNS."""
    _vet_syntax(url)


def _public_addresses(host: str, port: int, resolver: Resolver, url: str) -> list[str]:
    """Resolve ``host``; every address must be public (one private answer taints the name)."""
    try:
        infos = resolver(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise FetchError("network", f"could not resolve {host} for {_shown(url)}: {type(exc).__name__}") from None
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise FetchError("network", f"could not resolve {host} for {_shown(url)}: no addresses")
    for address in addresses:
        if not is_public_ip(address):
            raise FetchError("blocked", f"refused {_shown(url)}: {host} resolves to non-public address {address}")
    return list(dict.fromkeys(addresses))


def check_url(url: str, *, resolver: Resolver = socket.getaddrinfo) -> None:
    """Raise FetchError("blocked") unless ``url`` is http(s) to a host with only public addresses.

    A name that does not resolve raises FetchError("network").
    """
    target = _vet_syntax(url)
    if not target.is_ip:
        _public_addresses(target.host, target.port, resolver, url)


# --- pinned transport -----------------------------------------------------------


class _VettingBackend(httpcore.NetworkBackend):
    """httpcore network backend that dials only addresses it has resolved and vetted itself."""

    def __init__(self, resolver: Resolver) -> None:
        self._inner = httpcore.SyncBackend()
        self._resolver = resolver

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> Any:
        shown = f"{host}:{port}"
        if is_public_ip(host):
            addresses = [host]
        else:
            try:
                ipaddress.ip_address(host)
            except ValueError:
                addresses = _public_addresses(host, port, self._resolver, shown)
            else:
                raise FetchError("blocked", f"refused {shown}: not a public address")
        last_error: Exception | None = None
        for address in addresses:
            try:
                return self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:  # try the next vetted address, as a browser would
                last_error = exc
        assert last_error is not None
        raise last_error

    def connect_unix_socket(self, *args: Any, **kwargs: Any) -> Any:
        raise FetchError("blocked", "refused a unix-socket connection")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _PinnedTransport(httpx.HTTPTransport):
    """HTTP transport whose connections go to vetted public addresses only."""

    def __init__(self, resolver: Resolver) -> None:
        super().__init__(trust_env=False)
        # httpx 0.28 offers no resolver hook, so swap the pool for one built on the vetting backend.
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            network_backend=_VettingBackend(resolver),
            max_connections=4,
        )


def _default_client(resolver: Resolver) -> httpx.Client:
    return httpx.Client(transport=_PinnedTransport(resolver), trust_env=False, follow_redirects=False)


# --- fetching ---------------------------------------------------------------------


def _remaining(deadline: float, url: str) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise FetchError("timeout", f"timed out fetching {_shown(url)}")
    return left


def _send(http: httpx.Client, url: str, deadline: float) -> httpx.Response:
    # A bare Request, not client.build_request: no client cookies or default headers are merged in.
    request = httpx.Request(
        "GET",
        url,
        headers=_HEADERS,
        extensions={"timeout": httpx.Timeout(_remaining(deadline, url)).as_dict()},
    )
    try:
        return http.send(request, stream=True, follow_redirects=False, auth=None)
    except httpx.TimeoutException:
        raise FetchError("timeout", f"timed out fetching {_shown(url)}") from None
    except httpx.HTTPError as exc:
        raise FetchError("network", f"could not fetch {_shown(url)}: {type(exc).__name__}") from None


def _open(
    http: httpx.Client, url: str, deadline: float, max_redirects: int, resolver: Resolver
) -> tuple[httpx.Response, str]:
    """GET ``url``, following at most ``max_redirects`` redirects, each target checked first."""
    current = url
    for _ in range(max_redirects + 1):
        check_url(current, resolver=resolver)
        response = _send(http, current, deadline)
        status = response.status_code
        location = response.headers.get("location")
        if status in _REDIRECT_CODES and location:
            response.close()
            try:
                current = str(httpx.URL(current).join(location))
            except (httpx.InvalidURL, ValueError):
                raise FetchError("blocked", f"refused a malformed redirect from {_shown(current)}") from None
            continue
        if not 200 <= status < 300:
            response.close()
            raise FetchError("http", f"HTTP {status} from {_shown(current)}")
        return response, current
    raise FetchError("http", f"more than {max_redirects} redirects starting at {_shown(url)}")


def _read_capped(response: httpx.Response, max_bytes: int, deadline: float, url: str) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FetchError("too_large", f"{_shown(url)} declares {declared} bytes, over the {max_bytes}-byte cap")
    chunks: list[bytes] = []
    total = 0
    try:
        for chunk in response.iter_bytes():
            total += len(chunk)
            if total > max_bytes:
                raise FetchError("too_large", f"{_shown(url)} is larger than the {max_bytes}-byte cap")
            # httpx's timeouts are per read; this bounds a body that trickles in.
            _remaining(deadline, url)
            chunks.append(chunk)
    except httpx.TimeoutException:
        raise FetchError("timeout", f"timed out reading {_shown(url)}") from None
    except httpx.HTTPError as exc:
        raise FetchError("network", f"could not read {_shown(url)}: {type(exc).__name__}") from None
    return b"".join(chunks)


# --- text extraction ----------------------------------------------------------------

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.I)
_DROP_BLOCKS = re.compile(
    r"<(script|style|noscript|template|svg|iframe|object|head)\b.*?(?:</\1\s*>|$)", re.I | re.S
)
_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.S)
_BLOCK_TAG = re.compile(r"</?(?:p|div|br|li|tr|h[1-6]|section|article|table|ul|ol|blockquote|pre)\b[^>]*>", re.I)
_TAG = re.compile(r"<[A-Za-z/!?][^>]*(?:>|$)")
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)


def _decode(body: bytes, charset: str | None) -> str:
    if charset is None:
        match = _META_CHARSET.search(body[:4096])
        charset = match.group(1).decode("ascii") if match else "utf-8"
    try:
        return body.decode(charset, errors="replace")
    except LookupError:  # unknown charset name from the server
        return body.decode("utf-8", errors="replace")


def _tidy(text: str) -> str:
    lines = (" ".join(line.split()) for line in text.replace("\x00", "").splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _strip_tags(markup: str) -> str:
    """Crude fallback: drop non-text elements and comments, then every tag."""
    markup = _COMMENT.sub(" ", markup)
    markup = _DROP_BLOCKS.sub(" ", markup)
    markup = _BLOCK_TAG.sub("\n", markup)
    return _tidy(html.unescape(_TAG.sub(" ", markup)))


def _html_text(markup: str, url: str) -> tuple[str | None, str]:
    import trafilatura

    doc = trafilatura.bare_extraction(
        markup,
        url=url,
        favor_precision=True,
        include_tables=True,
        include_comments=False,
        include_links=False,
        include_images=False,
        with_metadata=True,
    )
    title_match = _TITLE.search(markup)
    fallback_title = _tidy(html.unescape(_TAG.sub(" ", title_match.group(1)))) if title_match else None
    text = getattr(doc, "text", None) if doc is not None else None
    if not text:
        return fallback_title or None, _strip_tags(markup)
    return (getattr(doc, "title", None) or fallback_title or None), _tidy(text)


def _pdf_text(body: bytes, url: str) -> tuple[str | None, str]:
    import pypdf
    from pypdf.errors import PyPdfError

    try:
        reader = pypdf.PdfReader(io.BytesIO(body))
        if reader.is_encrypted:
            reader.decrypt("")  # many "protected" PDFs use an empty user password
        text = "\n\n".join(page.extract_text() or "" for page in reader.pages)
        title = reader.metadata.title if reader.metadata else None
    except (PyPdfError, ValueError, KeyError, TypeError, NotImplementedError) as exc:
        raise FetchError("unsupported", f"could not read the PDF at {_shown(url)}: {type(exc).__name__}") from None
    return (str(title).strip() or None) if title else None, _tidy(text)


def _extract(body: bytes, media_type: str, charset: str | None, url: str) -> tuple[str | None, str]:
    if media_type == "application/pdf":
        return _pdf_text(body, url)
    if media_type == "text/plain":
        return None, _tidy(_decode(body, charset or "utf-8"))
    return _html_text(_decode(body, charset), url)


def fetch(
    url: str,
    *,
    max_bytes: int = 2_000_000,
    timeout_s: float = 15.0,
    max_redirects: int = 5,
    client: httpx.Client | None = None,
    resolver: Resolver = socket.getaddrinfo,
) -> FetchedPage:
    """Fetch ``url`` safely and return its main text; raise FetchError on refusal or failure."""
    deadline = time.monotonic() + timeout_s
    http = client if client is not None else _default_client(resolver)
    try:
        response, final_url = _open(http, url, deadline, max_redirects, resolver)
        try:
            media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
            if media_type not in _ACCEPTED_TYPES:
                kind = media_type or "of unknown type"
                raise FetchError("unsupported", f"{_shown(final_url)} is {kind}, not HTML, text or PDF")
            body = _read_capped(response, max_bytes, deadline, final_url)
        finally:
            response.close()
        title, text = _extract(body, media_type, response.charset_encoding, final_url)
    finally:
        if client is None:
            http.close()
    return FetchedPage(
        url=url,
        final_url=final_url,
        status=response.status_code,
        content_type=media_type,
        title=title,
        text=text,
        content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        retrieved_at=dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
    )
