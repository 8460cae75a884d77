"""`agent serve`: the web run page on uvicorn."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from agent.web.app import LOOPBACK_NAMES, WebConfig, create_app
from agent.web.security import is_loopback


class ServeError(ValueError):
    """The server cannot start as asked; the message says why and what to do."""


def web_config(*, host: str, db_path: str | Path, out_dir: Path, policies_root: Path | None, token: str | None) -> WebConfig:
    """The configuration for ``host``: off loopback a token is required and any Host header is answered."""
    if token is not None and not token.strip():
        token = None
    loopback = is_loopback(host)
    if not loopback and token is None:
        raise ServeError(f"binding {host} lets other machines reach the server: give an access token with "
                         "--token or AGENT_SERVE_TOKEN (every request must then carry it), or bind 127.0.0.1.")
    if token is not None and len(token) < 16:
        raise ServeError("the access token must be at least 16 characters; e.g. python3 -c "
                         "'import secrets; print(secrets.token_urlsafe())'")
    return WebConfig(db_path=db_path, out_dir=out_dir,
                     policies_root=policies_root.resolve() if policies_root is not None else None,
                     token=SecretStr(token) if token is not None else None,
                     allowed_hosts=tuple(dict.fromkeys((*LOOPBACK_NAMES, host.strip("[]").lower()))) if loopback else None)


def serve(config: WebConfig, host: str, port: int) -> None:
    import uvicorn

    # A few seconds for open pages (live progress streams) to close when Ctrl-C stops the server.
    uvicorn.run(create_app(config), host=host, port=port, log_level="info", access_log=False,
                timeout_graceful_shutdown=3, server_header=False)
