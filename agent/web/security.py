"""What keeps the web run page to its user: the access token, cross-site form checks, confined paths.

The server runs the agent with the rights of whoever started it, so every request is treated as
hostile: off loopback nothing is answered without the token, a form is accepted only from the page's
own origin with the CSRF cookie echoed in a hidden field, and a path taken from a request is used only
after it resolved inside the folder it belongs to.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from pathlib import Path

TOKEN_COOKIE = "agent_token"
CSRF_COOKIE = "agent_csrf"
TOKEN_HEADER = "x-agent-token"


class Refused(Exception):
    """A request the server will not serve; ``status`` is the HTTP status, the message says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def is_loopback(host: str) -> bool:
    """Only this machine can reach the address (127.0.0.0/8, ::1 or the name localhost)."""
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def same_secret(given: str | None, expected: str) -> bool:
    """Constant-time comparison, so response times do not leak how much of a guess was right."""
    if not given:
        return False
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass"))


def bearer(header: str | None) -> str | None:
    if header and header[:7].lower() == "bearer ":
        return header[7:].strip()
    return None


def new_csrf() -> str:
    return secrets.token_urlsafe(32)


def host_name(host_header: str) -> str:
    """The host part of a Host header ("127.0.0.1:8765", "[::1]:8765", "localhost")."""
    if host_header.startswith("["):
        return host_header[1:].partition("]")[0].lower()
    return host_header.rpartition(":")[0].lower() if host_header.count(":") == 1 else host_header.lower()


def check_form_origin(*, origin: str | None, fetch_site: str | None, host: str, scheme: str) -> None:
    """Refuse a form posted from another site: browsers send Origin and Sec-Fetch-Site with every POST."""
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        raise Refused(403, "this form was sent from another site; open the page here and submit it again.")
    if origin is not None and origin != f"{scheme}://{host}":
        raise Refused(403, "this form was sent from another origin; open the page here and submit it again.")


def check_csrf(cookie: str | None, field: str | None) -> None:
    """The hidden field must echo the cookie (a cross-site page can read neither)."""
    if not cookie or not same_secret(field, cookie):
        raise Refused(403, "the form's security token is missing or stale; reload the page and submit it again.")


def subfolders(root: Path) -> list[str]:
    """Names of the policy folders offered under ``root``: visible sub-folders that stay inside it."""
    base = root.resolve()
    names = []
    try:
        entries = sorted(root.iterdir(), key=lambda p: p.name)
    except OSError:
        return []
    for entry in entries:
        if entry.name.startswith("."):
            continue
        try:
            if entry.is_dir() and entry.resolve().is_relative_to(base):
                names.append(entry.name)
        except OSError:
            continue
    return names


def profile_files(root: Path, depth: int = 3, limit: int = 200) -> list[str]:
    """Firm profiles (``*.toml``) under ``root``, as paths relative to it; never one that resolves outside."""
    base = root.resolve()
    found: list[str] = []

    def walk(folder: Path, level: int) -> None:
        try:
            entries = sorted(folder.iterdir(), key=lambda p: p.name)
        except OSError:
            return
        for entry in entries:
            if len(found) >= limit or entry.name.startswith("."):
                continue
            try:
                if not entry.resolve().is_relative_to(base):
                    continue
                if entry.is_dir() and not entry.is_symlink() and level < depth:
                    walk(entry, level + 1)
                elif entry.is_file() and entry.suffix.lower() == ".toml":
                    found.append(entry.relative_to(root).as_posix())
            except OSError:
                continue

    walk(root, 1)
    return found


def confined(root: Path, relative: str, allowed: list[str]) -> Path:
    """``root/relative`` resolved, when ``relative`` is one of the offered choices and stays inside ``root``."""
    if relative not in allowed:
        raise Refused(400, "choose one of the listed entries.")
    target = (root / relative).resolve()
    if not target.is_relative_to(root.resolve()):
        raise Refused(403, "that entry leads outside the configured folder.")
    return target


def confined_file(base: Path, relative: str) -> Path:
    """A file inside ``base``: the resolved path (symlinks followed) must stay inside ``base``'s resolved path."""
    rel = Path(relative)
    if rel.is_absolute() or ".." in rel.parts:
        raise Refused(404, "no such file for this run.")
    root = base.resolve()
    target = (base / rel).resolve()
    if not target.is_relative_to(root):
        raise Refused(403, "that file leads outside the run's output folder.")
    if not target.is_file():
        raise Refused(404, "the file is no longer in the run's output folder.")
    return target
